package order

import (
	"math/big"
	"regexp"
	"strings"
	"time"

	"github.com/stxgate/stxgate/internal/fault"
	"github.com/stxgate/stxgate/pkg/ordersig"
	"github.com/stxgate/stxgate/pkg/stacks"
)

// NewOrder is a create request as the client sent it: the API's wire type.
type NewOrder = ordersig.SignedOrder

var (
	uuidPattern  = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	pricePattern = regexp.MustCompile(`^[0-9]{1,40}(\.[0-9]{1,40})?$`)
	maxAmount    = new(big.Int).Lsh(big.NewInt(1), 128)
)

// ValidUUID reports whether s may be an order uuid (1–64 of [A-Za-z0-9_-]).
func ValidUUID(s string) bool { return uuidPattern.MatchString(s) }

// validated is a create request that passed every field check.
type validated struct {
	order *Order
	sig   ordersig.Order
}

// validate checks every field of n; the first failure names its field.
func validate(n NewOrder, network stacks.Network, now time.Time, maxLifetime time.Duration) (*validated, error) {
	owner, err := principal("owner", n.Owner, network)
	if err != nil {
		return nil, err
	}
	if owner.IsContract() {
		return nil, fault.Invalid("owner", "owner must be a wallet address, not a contract")
	}
	// Tokens are SIP-010 contracts; a plain address holds tokens but is none.
	for _, p := range []struct{ field, value string }{
		{"inputToken", n.InputToken}, {"outputToken", n.OutputToken}, {"conditionToken", n.ConditionToken},
	} {
		token, err := principal(p.field, p.value, network)
		if err != nil {
			return nil, err
		}
		if !token.IsContract() {
			return nil, fault.Invalidf(p.field, "%s must be a token contract (address.contract-name), not a wallet address", p.field)
		}
	}
	if n.InputToken == n.OutputToken {
		return nil, fault.Invalid("outputToken", "outputToken must differ from inputToken: an order swaps one token for another")
	}
	if _, err := principal("recipient", n.Recipient, network); err != nil {
		return nil, err
	}
	if err := amount(n.AmountIn); err != nil {
		return nil, err
	}
	if err := price(n.TargetPrice); err != nil {
		return nil, err
	}
	if n.Direction != "gt" && n.Direction != "lt" {
		return nil, fault.Invalid("direction", `direction must be "gt" or "lt"`)
	}
	if n.UUID == "" {
		return nil, fault.Invalid("uuid", "uuid is required")
	}
	if !ValidUUID(n.UUID) {
		return nil, fault.Invalid("uuid", "uuid must be 1-64 characters of A-Z, a-z, 0-9, _ and -")
	}
	from, err := rfc3339("validFrom", n.ValidFrom)
	if err != nil {
		return nil, err
	}
	to, err := rfc3339("validTo", n.ValidTo)
	if err != nil {
		return nil, err
	}
	// The signed tuple carries whole seconds, so the window's order and start
	// are judged in whole seconds (a window empty once signed is refused);
	// "in the future" and the lifetime use the times as given, which the
	// order keeps to the microsecond.
	fromS, toS := from.Unix(), to.Unix()
	switch {
	case fromS < 0:
		return nil, fault.Invalid("validFrom", "validFrom must not be before 1970")
	case fromS >= toS:
		return nil, fault.Invalid("validTo", "validTo must be later than validFrom")
	case !to.After(now):
		return nil, fault.Invalid("validTo", "validTo must be in the future")
	case to.Sub(from) > maxLifetime:
		return nil, fault.Invalidf("validTo", "an order may be valid for at most %s", maxLifetime)
	}
	if n.Signature == "" {
		return nil, fault.Invalid("signature", "signature is required")
	}
	o := &Order{
		UUID: n.UUID, Owner: n.Owner, InputToken: n.InputToken, OutputToken: n.OutputToken,
		AmountIn: n.AmountIn, TargetPrice: n.TargetPrice, Direction: string(n.Direction),
		ConditionToken: n.ConditionToken, Recipient: n.Recipient,
		ValidFrom: from.UTC().Truncate(time.Microsecond), ValidTo: to.UTC().Truncate(time.Microsecond),
		Status: StatusOpen,
	}
	sig := ordersig.Order{
		Owner: n.Owner, InputToken: n.InputToken, OutputToken: n.OutputToken, AmountIn: n.AmountIn,
		TargetPrice: n.TargetPrice, Direction: string(n.Direction), ConditionToken: n.ConditionToken,
		Recipient: n.Recipient, UUID: n.UUID, ValidFrom: fromS, ValidTo: toS,
	}
	return &validated{order: o, sig: sig}, nil
}

func principal(field, s string, network stacks.Network) (stacks.Principal, error) {
	if s == "" {
		return stacks.Principal{}, fault.Invalidf(field, "%s is required", field)
	}
	p, err := stacks.ParsePrincipal(s)
	if err != nil {
		return stacks.Principal{}, fault.Invalidf(field, "%s is not a valid Stacks principal", field).Wrap(err)
	}
	if err := stacks.CheckAddressNetwork(p.Address, network); err != nil {
		return stacks.Principal{}, fault.Invalidf(field, "%s belongs to another network (this gateway runs on %s)", field, network).Wrap(err)
	}
	return p, nil
}

func amount(s string) error {
	if s == "" {
		return fault.Invalid("amountIn", "amountIn is required")
	}
	if len(s) > 39 || strings.TrimLeft(s, "0123456789") != "" || (len(s) > 1 && s[0] == '0') {
		return fault.Invalid("amountIn", "amountIn must be an integer string without sign or leading zeros")
	}
	v, _ := new(big.Int).SetString(s, 10)
	if v.Sign() <= 0 || v.Cmp(maxAmount) >= 0 {
		return fault.Invalid("amountIn", "amountIn must be positive and below 2^128")
	}
	return nil
}

func price(s string) error {
	if s == "" {
		return fault.Invalid("targetPrice", "targetPrice is required")
	}
	if !pricePattern.MatchString(s) {
		return fault.Invalid("targetPrice", "targetPrice must be a plain decimal string such as \"0.30\"")
	}
	if strings.Trim(s, "0.") == "" {
		return fault.Invalid("targetPrice", "targetPrice must be positive")
	}
	return nil
}

func rfc3339(field, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, fault.Invalidf(field, "%s is required", field)
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fault.Invalidf(field, "%s must be an RFC 3339 time such as 2026-01-15T10:00:00Z", field)
	}
	return t, nil
}
