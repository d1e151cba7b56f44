package stacks_test

import (
	"fmt"
	"testing"

	"github.com/stxgate/stxgate/pkg/stacks"
)

// Repr writes what stacks.js's cvToString wrote for every vector argument;
// tuples differ only in field order (stacks.js keeps the order they were
// given in, Repr the serialised order).
func TestReprMatchesStacksJS(t *testing.T) {
	sortedTuples := map[string]string{
		`(tuple (b u2) (a u1) (a-b "x"))`: `(tuple (a u1) (a-b "x") (b u2))`,
	}
	n := 0
	for _, v := range loadTxVectors(t).Transactions {
		for i, a := range v.Args {
			val, err := stacks.ParseValueHex(a)
			if err != nil {
				t.Fatal(err)
			}
			want := v.ArgsRepr[i]
			if sorted, ok := sortedTuples[want]; ok {
				want = sorted
			} else if v.FunctionName == stacks.ExecuteOrderFunction && i == 0 {
				continue // the order tuple: checked field by field below
			}
			if got := stacks.Repr(val); got != want || fmt.Sprint(val) != want {
				t.Errorf("%s arg %d: Repr %s, want %s", v.Name, i, got, want)
			}
			n++
		}
	}
	if n != 2*18+2*1+4*1 { // all types, the uint calls, the order signatures
		t.Fatalf("checked %d arguments", n)
	}
	order, err := stacks.ParseValueHex(loadTxVectors(t).Transactions[1].Args[0])
	if err != nil {
		t.Fatal(err)
	}
	const want = `(tuple (amount-in u1000000) (condition-token SP2ZNGJ85ENDY6QRHQ5P2D4FXKGZWCKTB2T0Z55KS.charisma-token) (direction "gt") ` +
		`(input-token SP2ZNGJ85ENDY6QRHQ5P2D4FXKGZWCKTB2T0Z55KS.charisma-token) (output-token SP2ZNGJ85ENDY6QRHQ5P2D4FXKGZWCKTB2T0Z55KS.token-wstx) ` +
		`(owner SP3FBR2AGK5H9QBDH3EEN6DF8EK8JY7RX8QJ5SVTE) (recipient SP3FBR2AGK5H9QBDH3EEN6DF8EK8JY7RX8QJ5SVTE) (target-price "0.30") ` +
		`(uuid "6f1d2c3a-8b7e-4f10-9a2b-3c4d5e6f7a8b") (valid-from u1768471200) (valid-to u1768557600))`
	if got := stacks.Repr(order); got != want {
		t.Fatalf("order Repr:\n%s\nwant\n%s", got, want)
	}
	if got := stacks.Repr(stacks.Int(-1 << 63)); got != "-9223372036854775808" {
		t.Fatalf("min int64: %s", got)
	}
	if got := stacks.Repr(nil); got != "none" {
		t.Fatalf("nil: %s", got)
	}
}

// A contract call's result, as GET /extended/v1/tx/{txid} gives it in hex.
func TestResponseOf(t *testing.T) {
	for _, tc := range []struct {
		hex        string
		isResponse bool
		ok         bool
		code       uint64
		codeOK     bool
	}{
		{"0703", true, true, 0, false},                                   // (ok true)
		{"080100000000000000000000000000000066", true, false, 102, true}, // (err u102)
		{"0801ffffffffffffffff0000000000000000", true, false, 0, false},  // (err u2^127…): no 64-bit code
		{"0100000000000000000000000000000066", false, false, 0, false},   // u102, not a response
	} {
		v, err := stacks.ParseValueHex(tc.hex)
		if err != nil {
			t.Fatal(err)
		}
		isResponse, ok, inner := stacks.ResponseOf(v)
		code, codeOK := stacks.UInt64Of(inner)
		if isResponse != tc.isResponse || ok != tc.ok || code != tc.code || codeOK != tc.codeOK {
			t.Errorf("%s (%s): response %v ok %v code %d/%v", tc.hex, stacks.Repr(v), isResponse, ok, code, codeOK)
		}
	}
}
