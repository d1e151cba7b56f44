package stacks_test

import (
	"testing"

	"github.com/stxgate/stxgate/pkg/stacks"
)

// benchOrderVector is the execute-order call with three post-conditions: what
// the executor builds per order.
func benchOrderVector(b *testing.B) txVector {
	for _, v := range loadTxVectors(b).Transactions {
		if v.Name == "call-order-pc-testnet" {
			return v
		}
	}
	b.Fatal("no call-order-pc-testnet vector")
	return txVector{}
}

// BenchmarkExecuteOrderBuildSignSerialize is the executor's per-order work:
// build the call, sign it, serialise it and compute its txid.
func BenchmarkExecuteOrderBuildSignSerialize(b *testing.B) {
	v := benchOrderVector(b)
	order, err := stacks.ParseValueHex(v.Args[0])
	if err != nil {
		b.Fatal(err)
	}
	sig := [65]byte(mustHexT(b, v.Args[1][10:]))
	contract := mustPrincipal(b, v.Contract)
	caps := []stacks.PostCondition{stacks.FungibleSentAtMost(contract, stacks.AssetInfo{Contract: mustPrincipal(b, testToken), Name: "charisma"}, 1000000)}
	key, err := stacks.ParsePrivateKey(v.SenderKey)
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		tx, err := stacks.NewExecuteOrder(stacks.Testnet, contract, stacks.ExecuteOrderArgs(order, sig), caps, stacks.TxOptions{Nonce: uint64(i), Fee: 3000})
		if err != nil {
			b.Fatal(err)
		}
		if err := tx.Sign(key); err != nil {
			b.Fatal(err)
		}
		raw, err := tx.AppendSerialized(buf[:0])
		if err != nil {
			b.Fatal(err)
		}
		_ = stacks.TxIDOf(raw)
	}
}

func BenchmarkParseTransaction(b *testing.B) {
	raw := mustHexT(b, benchOrderVector(b).Serialized)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := stacks.ParseTransaction(raw); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyOrigin(b *testing.B) {
	tx, err := stacks.ParseTransactionHex(benchOrderVector(b).Serialized)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tx.VerifyOrigin(); err != nil {
			b.Fatal(err)
		}
	}
}
