package ordersig

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/stxgate/stxgate/pkg/stacks"
)

// For every wallet-signed order vector, execute-order's arguments are the
// signed tuple and the wallet's RSV signature, whichever accepted form the
// signature arrives in; the resulting transaction signs, decodes and verifies.
func TestExecuteOrderArgsFromWalletSignatures(t *testing.T) {
	v := loadVectors(t)
	executor, err := stacks.ParsePrivateKey("000000000000000000000000000000000000000000000000000000000000000101")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range v.SIP018.Positive {
		t.Run(tc.ID, func(t *testing.T) {
			o := orderFromFields(t, tc.Fields)
			n, _ := stacks.ParseNetwork(tc.Network)
			d := stacks.NewDomain("stxgate", "1", n)
			rsv := mustDecode(t, tc.RSV)
			v27 := append(append([]byte{}, rsv[:64]...), rsv[64]+27)
			for _, sig := range []string{tc.RSV, tc.VRS, "0x" + strings.ToUpper(tc.RSV), hex.EncodeToString(v27)} {
				args, err := ExecuteOrderArgs(o, d, sig)
				if err != nil {
					t.Fatalf("ExecuteOrderArgs(%s): %v", sig, err)
				}
				if len(args) != 2 || hex.EncodeToString(stacks.Serialize(args[0])) != tc.MessageSerializedHex ||
					hex.EncodeToString(stacks.Serialize(args[1])) != "02"+"00000041"+tc.RSV {
					t.Fatalf("args for %s: %x %x", sig, stacks.Serialize(args[0]), stacks.Serialize(args[1]))
				}
			}
			contract, err := stacks.ParsePrincipal(executor.Address(n).String() + ".stxgate-settlement")
			if err != nil {
				t.Fatal(err)
			}
			args, _ := ExecuteOrderArgs(o, d, tc.RSV)
			tx, err := stacks.NewContractCall(n, contract, stacks.ExecuteOrderFunction, args, stacks.TxOptions{Nonce: 1, Fee: 1000})
			if err != nil {
				t.Fatal(err)
			}
			if err := tx.Sign(executor); err != nil {
				t.Fatal(err)
			}
			raw, err := tx.Serialize()
			if err != nil {
				t.Fatal(err)
			}
			back, err := stacks.ParseTransaction(raw)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := back.VerifyOrigin(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestExecuteOrderArgsRefuses(t *testing.T) {
	tc := loadVectors(t).SIP018.Positive[0]
	o := orderFromFields(t, tc.Fields)
	n, _ := stacks.ParseNetwork(tc.Network)
	d := stacks.NewDomain("stxgate", "1", n)

	if _, err := ExecuteOrderArgs(o, stacks.NewDomain("stxgate", "2", n), tc.RSV); !errors.Is(err, stacks.ErrInvalidSignature) ||
		!strings.HasPrefix(err.Error(), "ordersig: stacks: signature was made by ") {
		t.Errorf("another domain: %v", err)
	}
	tampered := o
	tampered.AmountIn += "0"
	if _, err := ExecuteOrderArgs(tampered, d, tc.RSV); !errors.Is(err, stacks.ErrInvalidSignature) {
		t.Errorf("tampered amount: %v", err)
	}
	if _, err := ExecuteOrderArgs(o, d, tc.RSV[:128]); err == nil ||
		err.Error() != "ordersig: stacks: signature is 128 hex characters, want 130 (65 bytes: r, s, recovery id): malformed signature" {
		t.Errorf("short signature: %v", err)
	}
	contractOwner := o
	contractOwner.Owner = o.InputToken
	if _, err := ExecuteOrderArgs(contractOwner, d, tc.RSV); !errors.Is(err, stacks.ErrMalformedAddress) ||
		!strings.HasPrefix(err.Error(), "ordersig: owner must be a standard principal: ") {
		t.Errorf("contract owner: %v", err)
	}
	bad := o
	bad.Direction = "\x00"
	if _, err := ExecuteOrderArgs(bad, d, tc.RSV); !errors.Is(err, stacks.ErrClarityValue) {
		t.Errorf("invalid field: %v", err)
	}
}

func TestInputCap(t *testing.T) {
	o := Order{InputToken: "SP2ZNGJ85ENDY6QRHQ5P2D4FXKGZWCKTB2T0Z55KS.charisma-token", AmountIn: "18446744073709551615"}
	spender, err := stacks.ParsePrincipal("SP2ZNGJ85ENDY6QRHQ5P2D4FXKGZWCKTB2T0Z55KS.stxgate-settlement")
	if err != nil {
		t.Fatal(err)
	}
	c, err := InputCap(o, spender, "charisma")
	if err != nil {
		t.Fatal(err)
	}
	if c.Principal != stacks.PrincipalOf(spender) || c.Asset.String() != o.InputToken+"::charisma" ||
		c.Condition != stacks.SentLessThanOrEqual || c.Amount != 18446744073709551615 {
		t.Fatalf("cap %+v", c)
	}
	for _, tc := range []struct {
		o     Order
		asset string
		want  string
	}{
		{Order{InputToken: o.InputToken, AmountIn: "18446744073709551616"}, "charisma",
			`ordersig: amount-in "18446744073709551616" is not a decimal in 0..2^64-1, which a post-condition needs: invalid Clarity value`},
		{Order{InputToken: o.InputToken, AmountIn: "-1"}, "charisma",
			`ordersig: amount-in "-1" is not a decimal in 0..2^64-1, which a post-condition needs: invalid Clarity value`},
		{Order{InputToken: o.InputToken, AmountIn: "1"}, "",
			`ordersig: input-token: stacks: asset "SP2ZNGJ85ENDY6QRHQ5P2D4FXKGZWCKTB2T0Z55KS.charisma-token::": asset name "": empty name: malformed principal`},
		{Order{InputToken: "SP2ZNGJ85ENDY6QRHQ5P2D4FXKGZWCKTB2T0Z55KS", AmountIn: "1"}, "charisma",
			`ordersig: input-token: stacks: asset "SP2ZNGJ85ENDY6QRHQ5P2D4FXKGZWCKTB2T0Z55KS::charisma": asset contract SP2ZNGJ85ENDY6QRHQ5P2D4FXKGZWCKTB2T0Z55KS is not a contract principal: malformed principal`},
	} {
		if _, err := InputCap(tc.o, spender, tc.asset); err == nil || err.Error() != tc.want {
			t.Errorf("InputCap(%+v, %q) = %v\nwant %s", tc.o, tc.asset, err, tc.want)
		}
	}
}

func TestTokenTraitArgs(t *testing.T) {
	o := Order{InputToken: "SP2ZNGJ85ENDY6QRHQ5P2D4FXKGZWCKTB2T0Z55KS.charisma-token", OutputToken: "SP2ZNGJ85ENDY6QRHQ5P2D4FXKGZWCKTB2T0Z55KS.token-wstx"}
	args, err := TokenTraitArgs(o)
	if err != nil || len(args) != 2 || stacks.Repr(args[0]) != o.InputToken || stacks.Repr(args[1]) != o.OutputToken ||
		hex.EncodeToString(stacks.Serialize(args[0])) != "0616bf584905755be35f11b96c2691fd9c3fc64f4b160e6368617269736d612d746f6b656e" {
		t.Fatalf("TokenTraitArgs = %v, %v", args, err)
	}
	for _, tc := range []struct {
		o    Order
		want string
	}{
		{Order{InputToken: "SP2ZNGJ85ENDY6QRHQ5P2D4FXKGZWCKTB2T0Z55KS", OutputToken: o.OutputToken},
			`ordersig: input-token "SP2ZNGJ85ENDY6QRHQ5P2D4FXKGZWCKTB2T0Z55KS" is not a contract principal: malformed principal`},
		{Order{InputToken: o.InputToken, OutputToken: "nope"},
			`ordersig: output-token "nope" is not a contract principal: malformed principal`},
	} {
		if _, err := TokenTraitArgs(tc.o); err == nil || err.Error() != tc.want || !errors.Is(err, stacks.ErrMalformedPrincipal) {
			t.Errorf("TokenTraitArgs(%+v) = %v, want %s", tc.o, err, tc.want)
		}
	}
}

func mustDecode(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
