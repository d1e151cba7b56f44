package ordersig

import (
	"fmt"
	"strconv"

	"github.com/stxgate/stxgate/pkg/stacks"
)

// ExecuteOrderArgs returns the arguments of the settlement contract's
// execute-order for o: the order tuple exactly as signed, and sigHex as the
// 65-byte RSV buffer (recovery id 0..3) that secp256k1-recover? takes. The
// signature is verified as o.Owner's under d first, which also settles
// whether the wallet sent it as RSV or VRS, with v 0..3 or 27..34: the
// contract gets the one reading that recovers the owner. Errors as Verify.
func ExecuteOrderArgs(o Order, d stacks.Domain, sigHex string) ([]stacks.Value, error) {
	owner, err := stacks.ParseAddress(o.Owner)
	if err != nil {
		return nil, fmt.Errorf("ordersig: owner must be a standard principal: %w", err)
	}
	domain, message, err := values(o, d)
	if err != nil {
		return nil, err
	}
	sig, err := stacks.VerifyHashSignature(stacks.StructuredDataHash(domain, message), sigHex, owner)
	if err != nil {
		return nil, fmt.Errorf("ordersig: %w", err)
	}
	return stacks.ExecuteOrderArgs(message, sig.RSV()), nil
}

// TokenTraitArgs returns o's input and output tokens as contract-principal
// values: the arguments that follow ExecuteOrderArgs for a settlement
// contract that, like the reference one in contracts/, takes the tokens it
// moves as SIP-010 trait references (Clarity calls no other contract).
func TokenTraitArgs(o Order) ([]stacks.Value, error) {
	in, err := stacks.ParsePrincipal(o.InputToken)
	if err != nil || !in.IsContract() {
		return nil, fmt.Errorf("ordersig: input-token %q is not a contract principal: %w", o.InputToken, stacks.ErrMalformedPrincipal)
	}
	out, err := stacks.ParsePrincipal(o.OutputToken)
	if err != nil || !out.IsContract() {
		return nil, fmt.Errorf("ordersig: output-token %q is not a contract principal: %w", o.OutputToken, stacks.ErrMalformedPrincipal)
	}
	return []stacks.Value{stacks.PrincipalValue(in), stacks.PrincipalValue(out)}, nil
}

// InputCap is the deny-mode post-condition that caps what spender sends of
// o's input token at o.AmountIn ("sent less than or equal"). spender is the
// principal whose balance the settlement contract spends for the owner (the
// contract itself when owners deposit into it); assetName is the input
// token's define-fungible-token name (SP….charisma-token::charisma), which
// the order does not carry. An amount-in above 2^64-1 cannot be expressed in
// a post-condition and is refused.
func InputCap(o Order, spender stacks.Principal, assetName string) (*stacks.FungiblePostCondition, error) {
	asset, err := stacks.ParseAssetInfo(o.InputToken + "::" + assetName)
	if err != nil {
		return nil, fmt.Errorf("ordersig: input-token: %w", err)
	}
	amount, err := strconv.ParseUint(o.AmountIn, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("ordersig: amount-in %q is not a decimal in 0..2^64-1, which a post-condition needs: %w", o.AmountIn, stacks.ErrClarityValue)
	}
	return stacks.FungibleSentAtMost(spender, asset, amount), nil
}
