package stacks_test

import (
	"bytes"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stxgate/stxgate/pkg/ordersig"
	"github.com/stxgate/stxgate/pkg/stacks"
)

// txVectorsJSON is this repository's copy of shared/vectors/stacks-tx-vectors.json
// (made by @stacks/transactions 7.6.0); only this package's tests read it.
//
//go:embed testdata/stacks-tx-vectors.json
var txVectorsJSON []byte

type txVectorFile struct {
	Library      string     `json:"library"`
	Transactions []txVector `json:"transactions"`
	Negative     []struct {
		Name       string `json:"name"`
		Serialized string `json:"serialized"`
		ByteOffset int    `json:"byteOffset"`
		Expect     string `json:"expect"`
	} `json:"negative"`
}

type txVector struct {
	Name              string   `json:"name"`
	Network           string   `json:"network"`
	Kind              string   `json:"kind"`
	SenderKey         string   `json:"senderKey"`
	SenderAddress     string   `json:"senderAddress"`
	PublicKey         string   `json:"publicKey"`
	SignerHash160     string   `json:"signerHash160"`
	Nonce             string   `json:"nonce"`
	Fee               string   `json:"fee"`
	Contract          string   `json:"contract"`
	FunctionName      string   `json:"functionName"`
	Args              []string `json:"args"`
	ArgsRepr          []string `json:"argsRepr"`
	PostConditionMode string   `json:"postConditionMode"`
	PostConditions    []struct {
		Type      string `json:"type"`
		Address   string `json:"address"`
		Condition string `json:"condition"`
		Amount    string `json:"amount"`
		Asset     string `json:"asset"`
	} `json:"postConditions"`
	Recipient      string `json:"recipient"`
	Amount         string `json:"amount"`
	Memo           string `json:"memo"`
	InitialSighash string `json:"initialSighash"`
	PresignSighash string `json:"presignSighash"`
	SignatureVRS   string `json:"signatureVRS"`
	Serialized     string `json:"serialized"`
	TxID           string `json:"txid"`
}

func loadTxVectors(t testing.TB) *txVectorFile {
	t.Helper()
	var f txVectorFile
	if err := json.Unmarshal(txVectorsJSON, &f); err != nil {
		t.Fatalf("parse testdata/stacks-tx-vectors.json: %v", err)
	}
	return &f
}

// The committed copy must be the workspace's shared/vectors file, byte for byte.
func TestTxVectorCopyMatchesShared(t *testing.T) {
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		p := filepath.Join(dir, "shared", "vectors", "stacks-tx-vectors.json")
		if shared, err := os.ReadFile(p); err == nil {
			if !bytes.Equal(shared, txVectorsJSON) {
				t.Fatalf("pkg/stacks/testdata/stacks-tx-vectors.json differs from %s: copy it again", p)
			}
			return
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("no shared/vectors above this checkout (a bare clone): the committed copy is what the tests use")
		}
		dir = parent
	}
}

func TestTxVectorCounts(t *testing.T) {
	f := loadTxVectors(t)
	if f.Library != "@stacks/transactions 7.6.0" || len(f.Transactions) != 10 || len(f.Negative) != 4 {
		t.Fatalf("library %q, %d transactions, %d negatives: this test was written for 10 and 4 from 7.6.0",
			f.Library, len(f.Transactions), len(f.Negative))
	}
	kinds := map[string]int{}
	for _, v := range f.Transactions {
		kinds[v.Network+"/"+v.Kind]++
	}
	if kinds["mainnet/contract-call"] != 4 || kinds["testnet/contract-call"] != 4 ||
		kinds["mainnet/token-transfer"] != 1 || kinds["testnet/token-transfer"] != 1 {
		t.Fatalf("kinds: %v", kinds)
	}
}

// Every vector is rebuilt with the builder API from its inputs, signed with
// its key, and must match stacks.js byte for byte at every step.
func TestTxVectorsBuildSignSerialize(t *testing.T) {
	for _, v := range loadTxVectors(t).Transactions {
		t.Run(v.Name, func(t *testing.T) {
			tx := buildVector(t, v)
			key, err := stacks.ParsePrivateKey(v.SenderKey)
			if err != nil {
				t.Fatal(err)
			}
			if err := tx.Sign(key); err != nil {
				t.Fatalf("Sign: %v", err)
			}
			// The sighashes clear the signature, so they are the ones Sign signed.
			initial, err := tx.InitialSighash()
			if err != nil || hex.EncodeToString(initial[:]) != v.InitialSighash {
				t.Fatalf("InitialSighash = %x, %v; want %s", initial, err, v.InitialSighash)
			}
			presign, err := tx.PresignSighash()
			if err != nil || hex.EncodeToString(presign[:]) != v.PresignSighash {
				t.Fatalf("PresignSighash = %x, %v; want %s", presign, err, v.PresignSighash)
			}
			if got := hex.EncodeToString(tx.Origin.Signature[:]); got != v.SignatureVRS {
				t.Fatalf("signature %s, want %s", got, v.SignatureVRS)
			}
			if got := hex.EncodeToString(tx.Origin.Signer[:]); got != v.SignerHash160 {
				t.Fatalf("signer %s, want %s", got, v.SignerHash160)
			}
			if got := tx.OriginAddress().String(); got != v.SenderAddress {
				t.Fatalf("origin %s, want %s", got, v.SenderAddress)
			}
			raw, err := tx.Serialize()
			if err != nil || hex.EncodeToString(raw) != v.Serialized {
				t.Fatalf("Serialize = %x, %v\nwant        %s", raw, err, v.Serialized)
			}
			id, err := tx.TxID()
			if err != nil || id.Hex() != v.TxID || id.String() != "0x"+v.TxID || stacks.TxIDOf(raw) != id {
				t.Fatalf("TxID = %s, %v; want %s", id.Hex(), err, v.TxID)
			}
			pub, err := tx.VerifyOrigin()
			if err != nil || hex.EncodeToString(pub) != v.PublicKey {
				t.Fatalf("VerifyOrigin = %x, %v; want %s", pub, err, v.PublicKey)
			}
		})
	}
}

// Every vector decodes, serialises back to the same bytes, verifies, and
// decodes to the fields it was made from.
func TestTxVectorsParseRoundTrip(t *testing.T) {
	for _, v := range loadTxVectors(t).Transactions {
		t.Run(v.Name, func(t *testing.T) {
			raw := mustHexT(t, v.Serialized)
			tx, err := stacks.ParseTransaction(raw)
			if err != nil {
				t.Fatalf("ParseTransaction: %v", err)
			}
			again, err := tx.Serialize()
			if err != nil || !bytes.Equal(again, raw) {
				t.Fatalf("round trip: %x, %v", again, err)
			}
			if id, _ := tx.TxID(); id.Hex() != v.TxID {
				t.Fatalf("txid %s, want %s", id.Hex(), v.TxID)
			}
			if pub, err := tx.VerifyOrigin(); err != nil || hex.EncodeToString(pub) != v.PublicKey {
				t.Fatalf("VerifyOrigin = %x, %v", pub, err)
			}
			fromHex, err := stacks.ParseTransactionHex("0x" + strings.ToUpper(v.Serialized))
			if err != nil {
				t.Fatalf("ParseTransactionHex: %v", err)
			}
			if b, _ := fromHex.Serialize(); !bytes.Equal(b, raw) {
				t.Fatalf("ParseTransactionHex differs")
			}

			// Field by field against the vector's inputs.
			want := buildVector(t, v)
			want.Origin = tx.Origin
			wantBytes, _ := want.Serialize()
			if !bytes.Equal(wantBytes, raw) {
				t.Fatalf("decoded fields differ from the vector's inputs")
			}
			if tx.Network.String() != v.Network || tx.ChainID != uint32(tx.Network.ChainID()) ||
				tx.AnchorMode != stacks.AnchorAny || strconv.FormatUint(tx.Origin.Nonce, 10) != v.Nonce ||
				strconv.FormatUint(tx.Origin.Fee, 10) != v.Fee || tx.OriginAddress().String() != v.SenderAddress {
				t.Fatalf("header fields: %+v", tx)
			}
			switch p := tx.Payload.(type) {
			case *stacks.ContractCall:
				if p.Contract.String() != v.Contract || p.Function != v.FunctionName || len(p.Args) != len(v.Args) {
					t.Fatalf("contract call %s.%s with %d args", p.Contract, p.Function, len(p.Args))
				}
				for i, a := range p.Args {
					if got := hex.EncodeToString(stacks.Serialize(a)); got != v.Args[i] {
						t.Fatalf("arg %d = %s, want %s", i, got, v.Args[i])
					}
				}
			case *stacks.TokenTransfer:
				if p.Recipient.String() != v.Recipient || strconv.FormatUint(p.Amount, 10) != v.Amount || p.Memo.String() != v.Memo {
					t.Fatalf("transfer %s %d %q", p.Recipient, p.Amount, p.Memo)
				}
			default:
				t.Fatalf("payload %T", p)
			}
			if len(tx.PostConditions) != len(v.PostConditions) || tx.PostConditionMode.String() != cmpOr(v.PostConditionMode, "deny") {
				t.Fatalf("post-conditions: mode %s, %d", tx.PostConditionMode, len(tx.PostConditions))
			}
			for i, pc := range tx.PostConditions {
				w := v.PostConditions[i]
				switch c := pc.(type) {
				case *stacks.STXPostCondition:
					if w.Type != "stx-postcondition" || c.Principal.String() != w.Address || c.Condition.String() != w.Condition || strconv.FormatUint(c.Amount, 10) != w.Amount {
						t.Fatalf("post-condition %d: %+v", i, c)
					}
				case *stacks.FungiblePostCondition:
					if w.Type != "ft-postcondition" || c.Principal.String() != w.Address || c.Asset.String() != w.Asset ||
						c.Condition.String() != w.Condition || strconv.FormatUint(c.Amount, 10) != w.Amount {
						t.Fatalf("post-condition %d: %+v", i, c)
					}
				default:
					t.Fatalf("post-condition %d: %T", i, pc)
				}
			}
		})
	}
}

// The order vectors' arguments are exactly what ordersig and the
// execute-order helpers produce from the order of DESIGN.md.
func TestTxVectorsExecuteOrderArgs(t *testing.T) {
	for _, v := range loadTxVectors(t).Transactions {
		if v.FunctionName != stacks.ExecuteOrderFunction {
			continue
		}
		t.Run(v.Name, func(t *testing.T) {
			n, _ := stacks.ParseNetwork(v.Network)
			tuple, err := vectorOrder(t, v).Tuple()
			if err != nil {
				t.Fatal(err)
			}
			sig := [65]byte(mustHexT(t, strings.Repeat("ab", 64)+"01"))
			args := stacks.ExecuteOrderArgs(tuple, sig)
			if len(args) != 2 || hex.EncodeToString(stacks.Serialize(args[0])) != v.Args[0] || hex.EncodeToString(stacks.Serialize(args[1])) != v.Args[1] {
				t.Fatalf("execute-order args differ from the vector")
			}
			contract, _ := stacks.ParsePrincipal(v.Contract)
			caps := vectorPostConditions(t, v)
			tx, err := stacks.NewExecuteOrder(n, contract, args, caps, stacks.TxOptions{Nonce: mustU64(t, v.Nonce), Fee: mustU64(t, v.Fee), PostConditionMode: stacks.PostConditionAllow})
			if err != nil {
				t.Fatal(err)
			}
			key, _ := stacks.ParsePrivateKey(v.SenderKey)
			if err := tx.Sign(key); err != nil {
				t.Fatal(err)
			}
			if id, _ := tx.TxID(); id.Hex() != v.TxID {
				t.Fatalf("NewExecuteOrder txid %s, want %s", id.Hex(), v.TxID)
			}
		})
	}
}

// A flipped byte anywhere the signature covers (or in the signature) makes
// the origin signature fail, while the bytes still decode.
func TestTxVectorsNegativeRefused(t *testing.T) {
	f := loadTxVectors(t)
	want := map[string]string{ // the exact explanation for each flipped byte
		"signature":     "stacks: origin signature was made by SP",
		"nonce":         "stacks: origin signature was made by SP",
		"fee":           "stacks: origin signature was made by SP",
		"last-argument": "stacks: origin signature was made by SP",
	}
	for _, v := range f.Negative {
		t.Run(v.Name, func(t *testing.T) {
			if v.Expect != "origin signature does not verify" {
				t.Fatalf("expect %q", v.Expect)
			}
			raw := mustHexT(t, v.Serialized)
			orig := mustHexT(t, f.Transactions[1].Serialized) // call-order-mainnet
			if len(raw) != len(orig) || raw[v.ByteOffset] == orig[v.ByteOffset] ||
				!bytes.Equal(raw[:v.ByteOffset], orig[:v.ByteOffset]) || !bytes.Equal(raw[v.ByteOffset+1:], orig[v.ByteOffset+1:]) {
				t.Fatalf("not call-order-mainnet with byte %d flipped", v.ByteOffset)
			}
			tx, err := stacks.ParseTransaction(raw)
			if err != nil {
				t.Fatalf("ParseTransaction: %v", err)
			}
			pub, err := tx.VerifyOrigin()
			if err == nil || pub != nil || !errors.Is(err, stacks.ErrInvalidSignature) {
				t.Fatalf("VerifyOrigin = %x, %v; want ErrInvalidSignature", pub, err)
			}
			field := strings.TrimSuffix(strings.TrimPrefix(v.Name, "call-order-mainnet with "), "-byte flipped")
			prefix, ok := want[field]
			if !ok || !strings.HasPrefix(err.Error(), prefix) ||
				!strings.HasSuffix(err.Error(), ", not the origin SP3KC0MTNW34S1ZXD36JYKFD3JJMWA01M54BYX1JY: invalid signature") {
				t.Fatalf("error %q", err)
			}
		})
	}
}

// buildVector rebuilds a vector's unsigned transaction from its inputs.
func buildVector(t *testing.T, v txVector) *stacks.Transaction {
	t.Helper()
	n, err := stacks.ParseNetwork(v.Network)
	if err != nil {
		t.Fatal(err)
	}
	opts := stacks.TxOptions{
		Nonce:          mustU64(t, v.Nonce),
		Fee:            mustU64(t, v.Fee),
		PostConditions: vectorPostConditions(t, v),
	}
	switch v.PostConditionMode {
	case "allow":
		opts.PostConditionMode = stacks.PostConditionAllow
	case "deny":
		opts.PostConditionMode = stacks.PostConditionDeny
	case "": // a transfer: the builder's default, deny
	default:
		t.Fatalf("post-condition mode %q", v.PostConditionMode)
	}
	var tx *stacks.Transaction
	switch v.Kind {
	case "contract-call":
		contract, err := stacks.ParsePrincipal(v.Contract)
		if err != nil {
			t.Fatal(err)
		}
		args := make([]stacks.Value, len(v.Args))
		for i, a := range v.Args {
			if args[i], err = stacks.ParseValueHex(a); err != nil {
				t.Fatalf("arg %d: %v", i, err)
			}
		}
		tx, err = stacks.NewContractCall(n, contract, v.FunctionName, args, opts)
		if err != nil {
			t.Fatalf("NewContractCall: %v", err)
		}
	case "token-transfer":
		recipient, err := stacks.ParsePrincipal(v.Recipient)
		if err != nil {
			t.Fatal(err)
		}
		tx, err = stacks.NewTokenTransfer(n, recipient, mustU64(t, v.Amount), v.Memo, opts)
		if err != nil {
			t.Fatalf("NewTokenTransfer: %v", err)
		}
	default:
		t.Fatalf("kind %q", v.Kind)
	}
	return tx
}

func vectorPostConditions(t *testing.T, v txVector) []stacks.PostCondition {
	t.Helper()
	var pcs []stacks.PostCondition
	for _, w := range v.PostConditions {
		p, err := stacks.ParsePrincipal(w.Address)
		if err != nil {
			t.Fatal(err)
		}
		code := map[string]stacks.FungibleCondition{
			"eq": stacks.SentEqual, "gt": stacks.SentGreaterThan, "gte": stacks.SentGreaterThanOrEqual,
			"lt": stacks.SentLessThan, "lte": stacks.SentLessThanOrEqual,
		}[w.Condition]
		switch w.Type {
		case "stx-postcondition":
			pcs = append(pcs, &stacks.STXPostCondition{Principal: stacks.PrincipalOf(p), Condition: code, Amount: mustU64(t, w.Amount)})
		case "ft-postcondition":
			asset, err := stacks.ParseAssetInfo(w.Asset)
			if err != nil {
				t.Fatal(err)
			}
			pcs = append(pcs, &stacks.FungiblePostCondition{Principal: stacks.PrincipalOf(p), Asset: asset, Condition: code, Amount: mustU64(t, w.Amount)})
		default:
			t.Fatalf("post-condition type %q", w.Type)
		}
	}
	return pcs
}

// vectorOrder is the order of the vectors' execute-order calls (argsRepr).
func vectorOrder(t *testing.T, v txVector) ordersig.Order {
	t.Helper()
	owner, deployer := "SP3FBR2AGK5H9QBDH3EEN6DF8EK8JY7RX8QJ5SVTE", "SP2ZNGJ85ENDY6QRHQ5P2D4FXKGZWCKTB2T0Z55KS"
	if v.Network == "testnet" {
		owner, deployer = "ST3FBR2AGK5H9QBDH3EEN6DF8EK8JY7RX8NQXMNRQ", "ST2ZNGJ85ENDY6QRHQ5P2D4FXKGZWCKTB2SYCBMRR"
	}
	return ordersig.Order{
		Owner: owner, Recipient: owner,
		InputToken: deployer + ".charisma-token", ConditionToken: deployer + ".charisma-token",
		OutputToken: deployer + ".token-wstx", AmountIn: "1000000", TargetPrice: "0.30", Direction: "gt",
		UUID: "6f1d2c3a-8b7e-4f10-9a2b-3c4d5e6f7a8b", ValidFrom: 1768471200, ValidTo: 1768557600,
	}
}

func mustHexT(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("hex %q: %v", s, err)
	}
	return b
}

func mustU64(t testing.TB, s string) uint64 {
	t.Helper()
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		t.Fatalf("uint64 %q: %v", s, err)
	}
	return n
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
