package stacks_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/stxgate/stxgate/pkg/stacks"
)

// txFuzzSeeds are the vectors (positive and negative) and a signed call
// carrying every post-condition kind.
func txFuzzSeeds(f *testing.F) [][]byte {
	f.Helper()
	file := loadTxVectors(f)
	var seeds [][]byte
	for _, v := range file.Transactions {
		seeds = append(seeds, mustHexT(f, v.Serialized))
	}
	for _, v := range file.Negative {
		seeds = append(seeds, mustHexT(f, v.Serialized))
	}
	contract, owner := mustPrincipal(f, testContract), mustPrincipal(f, testOwner)
	asset := stacks.AssetInfo{Contract: contract, Name: "ticket"}
	tx, err := stacks.NewContractCall(stacks.Testnet, contract, "bump", []stacks.Value{stacks.UInt(1)}, stacks.TxOptions{
		PostConditions: []stacks.PostCondition{
			&stacks.STXPostCondition{Principal: stacks.OriginPrincipal(), Condition: stacks.SentEqual, Amount: 1},
			stacks.FungibleSentAtMost(contract, asset, 2),
			&stacks.NonFungiblePostCondition{Principal: stacks.PrincipalOf(owner), Asset: asset, AssetID: stacks.UInt(3), Condition: stacks.NFTNotSent},
		},
	})
	if err != nil {
		f.Fatal(err)
	}
	if err := tx.Sign(mustTestKey(f)); err != nil {
		f.Fatal(err)
	}
	raw, err := tx.Serialize()
	if err != nil {
		f.Fatal(err)
	}
	return append(seeds, raw)
}

// FuzzParseTransaction: no input panics; a refused input is refused with a
// sentinel; an accepted one serialises back to exactly its bytes, hashes to
// the same txid, and its origin signature either verifies as the signer or
// is refused with a signature sentinel.
func FuzzParseTransaction(f *testing.F) {
	for _, s := range txFuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		tx, err := stacks.ParseTransaction(b)
		if err != nil {
			if tx != nil || !errors.Is(err, stacks.ErrMalformedTransaction) && !errors.Is(err, stacks.ErrUnsupportedTransaction) {
				t.Fatalf("refused with %v and %v", err, tx)
			}
			return
		}
		if err := tx.Validate(); err != nil {
			t.Fatalf("decoded a transaction Validate refuses: %v", err)
		}
		again, err := tx.Serialize()
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("round trip: %x, %v", again, err)
		}
		if id, err := tx.TxID(); err != nil || id != stacks.TxIDOf(b) {
			t.Fatalf("txid %s, %v", id, err)
		}
		pub, err := tx.VerifyOrigin()
		switch {
		case err == nil:
			if stacks.Hash160(pub) != tx.Origin.Signer {
				t.Fatalf("verified a key that is not the signer's")
			}
		case !errors.Is(err, stacks.ErrMalformedSignature) && !errors.Is(err, stacks.ErrHighS) && !errors.Is(err, stacks.ErrInvalidSignature):
			t.Fatalf("VerifyOrigin: %v", err)
		}
	})
}

// FuzzParseValue: a decoded Clarity value serialises back to its bytes.
func FuzzParseValue(f *testing.F) {
	for _, v := range loadTxVectors(f).Transactions {
		for _, a := range v.Args {
			f.Add(mustHexT(f, a))
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := stacks.ParseValue(b)
		if err != nil {
			if v != nil || !errors.Is(err, stacks.ErrClarityValue) {
				t.Fatalf("refused with %v and %v", err, v)
			}
			return
		}
		if got := stacks.Serialize(v); !bytes.Equal(got, b) {
			t.Fatalf("round trip: %x", got)
		}
	})
}
