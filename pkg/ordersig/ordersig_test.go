package ordersig

import (
	"encoding/hex"
	"errors"
	"math/big"
	"strconv"
	"strings"
	"testing"

	"github.com/stxgate/stxgate/pkg/stacks"
)

// orderFromFields builds an Order from vector fields, ignoring their declared
// Clarity types (the Order decides the types).
func orderFromFields(t *testing.T, fields []vecField) Order {
	t.Helper()
	var o Order
	text := map[string]*string{"owner": &o.Owner, "input-token": &o.InputToken, "output-token": &o.OutputToken,
		"amount-in": &o.AmountIn, "target-price": &o.TargetPrice, "direction": &o.Direction,
		"condition-token": &o.ConditionToken, "recipient": &o.Recipient, "uuid": &o.UUID}
	times := map[string]*int64{"valid-from": &o.ValidFrom, "valid-to": &o.ValidTo}
	seen := map[string]bool{}
	for _, f := range fields {
		seen[f.Name] = true
		if p, ok := text[f.Name]; ok {
			*p = f.Value
			continue
		}
		p, ok := times[f.Name]
		if !ok {
			t.Fatalf("unexpected field %q", f.Name)
		}
		n, err := strconv.ParseInt(f.Value, 10, 64)
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		*p = n
	}
	if len(seen) != 11 {
		t.Fatalf("order has %d fields, want 11", len(seen))
	}
	return o
}

// orderTypes is DESIGN.md's order tuple schema.
var orderTypes = map[string]string{
	"owner": "principal", "input-token": "principal", "output-token": "principal",
	"amount-in": "uint", "target-price": "string-ascii", "direction": "string-ascii",
	"condition-token": "principal", "recipient": "principal", "uuid": "string-ascii",
	"valid-from": "uint", "valid-to": "uint",
}

func domainFor(t *testing.T, serialized string) stacks.Domain {
	t.Helper()
	for _, version := range []string{"1", "2"} {
		for _, n := range []stacks.Network{stacks.Mainnet, stacks.Testnet} {
			d := stacks.NewDomain("stxgate", version, n)
			v, err := d.Value()
			if err != nil {
				t.Fatal(err)
			}
			if hex.EncodeToString(stacks.Serialize(v)) == serialized {
				return d
			}
		}
	}
	t.Fatalf("no known domain serialises to %s", serialized)
	return stacks.Domain{}
}

func TestOrderPositiveVectors(t *testing.T) {
	v := loadVectors(t)
	if len(v.SIP018.Positive) != 42 {
		t.Fatalf("%d positive order vectors, want 42", len(v.SIP018.Positive))
	}
	keys := map[string]string{}
	for _, k := range v.Keys {
		keys[k.ID] = k.PrivateKeyHex
	}
	for _, tc := range v.SIP018.Positive {
		t.Run(tc.ID, func(t *testing.T) {
			for _, f := range tc.Fields {
				if orderTypes[f.Name] != f.Type {
					t.Fatalf("field %s is %s, schema says %s", f.Name, f.Type, orderTypes[f.Name])
				}
			}
			o := orderFromFields(t, tc.Fields)
			n, err := stacks.ParseNetwork(tc.Network)
			if err != nil {
				t.Fatal(err)
			}
			d := stacks.NewDomain("stxgate", "1", n)
			if got := domainFor(t, tc.DomainSerializedHex); got != d {
				t.Fatalf("domain %+v, want %+v", got, d)
			}
			tuple, err := o.Tuple()
			if err != nil {
				t.Fatal(err)
			}
			if got := hex.EncodeToString(stacks.Serialize(tuple)); got != tc.MessageSerializedHex {
				t.Fatalf("tuple = %s\nwant    %s", got, tc.MessageSerializedHex)
			}
			hash, err := Hash(o, d)
			if err != nil || hex.EncodeToString(hash[:]) != tc.FinalHashHex {
				t.Fatalf("Hash = %x, %v; want %s", hash, err, tc.FinalHashHex)
			}
			k, err := stacks.ParsePrivateKey(keys[tc.KeyID])
			if err != nil {
				t.Fatal(err)
			}
			if sig, err := Sign(k, o, d); err != nil || sig != tc.RSV {
				t.Errorf("Sign = %s, %v; want %s", sig, err, tc.RSV)
			}
			if o.Owner != tc.SignerAddress {
				t.Fatalf("owner %s is not the signer %s", o.Owner, tc.SignerAddress)
			}
			for _, sig := range []string{tc.RSV, tc.VRS, "0x" + tc.RSV, strings.ToUpper(tc.RSV)} {
				if err := Verify(o, d, sig); err != nil {
					t.Errorf("Verify(%s): %v", sig, err)
				}
			}
			// Any change to the order or the domain breaks the signature.
			other := stacks.NewDomain("stxgate", "1", 3-n)
			if err := Verify(o, other, tc.RSV); !errors.Is(err, stacks.ErrInvalidSignature) {
				t.Errorf("other network's domain: %v", err)
			}
			o2 := o
			o2.ValidTo++
			if err := Verify(o2, d, tc.RSV); !errors.Is(err, stacks.ErrInvalidSignature) {
				t.Errorf("changed valid-to: %v", err)
			}
			// The malleated (n-s, v^1) form of a valid signature is refused as high-S.
			if err := Verify(o, d, malleate(t, tc.RSV)); !errors.Is(err, stacks.ErrHighS) {
				t.Errorf("high-S: %v", err)
			}
		})
	}
}

func TestOrderNegativeVectors(t *testing.T) {
	v := loadVectors(t)
	if len(v.SIP018.Negative) != 10 {
		t.Fatalf("%d negative order vectors, want 10", len(v.SIP018.Negative))
	}
	for _, tc := range v.SIP018.Negative {
		t.Run(tc.ID, func(t *testing.T) {
			o := orderFromFields(t, tc.Fields)
			d := domainFor(t, tc.DomainSerializedHex)
			schema := true
			for _, f := range tc.Fields {
				schema = schema && orderTypes[f.Name] == f.Type
			}
			hash, err := Hash(o, d)
			if err != nil {
				t.Fatal(err)
			}
			// An Order can only express the schema's types; the type-confusion
			// vectors hash differently as a result and are rejected all the same.
			if matches := hex.EncodeToString(hash[:]) == tc.FinalHashHex; matches != schema {
				t.Errorf("hash matches vector: %v, schema types: %v", matches, schema)
			}
			err = Verify(o, d, tc.RSV)
			if !schema {
				// The signature in these vectors is the original order's. An Order
				// always re-types its fields per the schema, so the type-confused
				// message cannot be presented: the Order built from the same text is
				// the original order, and its signature is genuine. (pkg/stacks tests
				// that the type-confused tuple itself is rejected.)
				if err != nil {
					t.Errorf("Verify of the re-typed (original) order: %v", err)
				}
				return
			}
			if !errors.Is(err, stacks.ErrInvalidSignature) {
				t.Errorf("Verify = %v, want ErrInvalidSignature", err)
			}
		})
	}
}

// malleate turns a low-S RSV signature into its high-S twin (n-s, v^1).
func malleate(t *testing.T, rsv string) string {
	t.Helper()
	b, err := hex.DecodeString(rsv)
	if err != nil || len(b) != 65 {
		t.Fatalf("bad signature %q", rsv)
	}
	n, _ := new(big.Int).SetString("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141", 16)
	s := new(big.Int).Sub(n, new(big.Int).SetBytes(b[32:64]))
	s.FillBytes(b[32:64])
	b[64] ^= 1
	return hex.EncodeToString(b)
}

func validOrder() Order {
	return Order{
		Owner:          "SP1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRCBGD7R",
		InputToken:     "SM3VDXK3WZZSA84XXFKAFAF15NNZX32CTSG82JFQ4.sbtc-token",
		OutputToken:    "SP102V8P0F7JX67ARQ77WEA3D3CFB5XW39REDT0AM.token-wstx",
		AmountIn:       "1000000",
		TargetPrice:    "0.000123",
		Direction:      "gt",
		ConditionToken: "SM3VDXK3WZZSA84XXFKAFAF15NNZX32CTSG82JFQ4.sbtc-token",
		Recipient:      "SP1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRCBGD7R",
		UUID:           "550e8400-e29b-41d4-a716-446655440000",
		ValidFrom:      1700000000,
		ValidTo:        1700003600,
	}
}

func TestTupleErrors(t *testing.T) {
	if _, err := validOrder().Tuple(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		mod  func(o *Order)
		want error
		says string
	}{
		{"owner", func(o *Order) { o.Owner = "sp1" }, stacks.ErrMalformedPrincipal, "owner:"},
		{"input-token", func(o *Order) { o.InputToken = "" }, stacks.ErrMalformedPrincipal, "input-token:"},
		{"output-token", func(o *Order) { o.OutputToken += ".x" }, stacks.ErrMalformedPrincipal, "output-token:"},
		{"condition-token", func(o *Order) { o.ConditionToken = "x" }, stacks.ErrMalformedPrincipal, "condition-token:"},
		{"recipient", func(o *Order) { o.Recipient = "SP" }, stacks.ErrMalformedPrincipal, "recipient:"},
		{"amount", func(o *Order) { o.AmountIn = "-1" }, stacks.ErrClarityValue, "amount-in:"},
		{"amount empty", func(o *Order) { o.AmountIn = "" }, stacks.ErrClarityValue, "amount-in:"},
		{"amount 2^128", func(o *Order) { o.AmountIn = "340282366920938463463374607431768211456" }, stacks.ErrClarityValue, "amount-in:"},
		{"price", func(o *Order) { o.TargetPrice = "1\x00" }, stacks.ErrClarityValue, "target-price:"},
		{"direction", func(o *Order) { o.Direction = "↑" }, stacks.ErrClarityValue, "direction:"},
		{"uuid", func(o *Order) { o.UUID = "é" }, stacks.ErrClarityValue, "uuid:"},
		{"valid-from", func(o *Order) { o.ValidFrom = -1 }, stacks.ErrClarityValue, "valid-from:"},
		{"valid-to", func(o *Order) { o.ValidTo = -1 << 63 }, stacks.ErrClarityValue, "valid-to:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := validOrder()
			tc.mod(&o)
			_, err := o.Tuple()
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("Tuple = %v, want %v mentioning %q", err, tc.want, tc.says)
			}
			if _, err := Hash(o, stacks.NewDomain("stxgate", "1", stacks.Mainnet)); !errors.Is(err, tc.want) {
				t.Errorf("Hash = %v", err)
			}
		})
	}
	// Every bad field is reported at once, on one line.
	o := validOrder()
	o.AmountIn, o.ValidTo = "x", -1
	_, err := o.Tuple()
	if err == nil || !strings.Contains(err.Error(), "amount-in:") || !strings.Contains(err.Error(), "valid-to:") || strings.Contains(err.Error(), "\n") {
		t.Errorf("combined error: %v", err)
	}
}

func TestVerifyOwnerAndSignErrors(t *testing.T) {
	d := stacks.NewDomain("stxgate", "1", stacks.Mainnet)
	k, err := stacks.ParsePrivateKey("753b7cc01a1a2e86221266a154af739463fce51219d97e4f856cd7200c3bd2a601")
	if err != nil {
		t.Fatal(err)
	}
	o := validOrder()
	sig, err := Sign(k, o, d)
	if err != nil {
		t.Fatal(err)
	}
	if err := Verify(o, d, sig); err != nil {
		t.Fatal(err)
	}
	// Contracts cannot sign: a contract-principal owner is refused up front.
	c := o
	c.Owner = o.Owner + ".vault"
	if _, err := c.Tuple(); err != nil {
		t.Fatalf("a contract owner is still a valid tuple: %v", err)
	}
	if err := Verify(c, d, sig); !errors.Is(err, stacks.ErrMalformedAddress) {
		t.Errorf("contract owner: %v", err)
	}
	// Same key, testnet owner address, mainnet domain: the hash differs.
	tn := o
	tn.Owner = k.Address(stacks.Testnet).String()
	if err := Verify(tn, d, sig); !errors.Is(err, stacks.ErrInvalidSignature) {
		t.Errorf("testnet owner: %v", err)
	}
	for _, bad := range []string{"", "0x", "zz", sig[:128]} {
		if err := Verify(o, d, bad); !errors.Is(err, stacks.ErrMalformedSignature) {
			t.Errorf("Verify(%q) = %v", bad, err)
		}
	}
	if _, err := Sign(nil, o, d); err == nil {
		t.Error("Sign(nil) succeeded")
	}
	if _, err := Sign(k, Order{}, d); err == nil {
		t.Error("Sign of an empty order succeeded")
	}
	if _, err := Hash(o, stacks.Domain{Name: "\x00"}); !errors.Is(err, stacks.ErrClarityValue) {
		t.Errorf("bad domain: %v", err)
	}
}

func BenchmarkVerify(b *testing.B) {
	d := stacks.NewDomain("stxgate", "1", stacks.Mainnet)
	k, _ := stacks.ParsePrivateKey("753b7cc01a1a2e86221266a154af739463fce51219d97e4f856cd7200c3bd2a601")
	o := validOrder()
	sig, _ := Sign(k, o, d)
	b.ReportAllocs()
	for b.Loop() {
		if err := Verify(o, d, sig); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkHash(b *testing.B) {
	d := stacks.NewDomain("stxgate", "1", stacks.Mainnet)
	o := validOrder()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Hash(o, d); err != nil {
			b.Fatal(err)
		}
	}
}
