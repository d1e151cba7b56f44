package stacks_test

import (
	"bytes"
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/stxgate/stxgate/pkg/stacks"
)

// Fixed public test material (the vectors' keys and principals).
const (
	testKey        = "e494f188c2d35887531ba474c433b1e41fadd8eb824aca983447fd4bb8b277a801"
	testContract   = "ST2ZNGJ85ENDY6QRHQ5P2D4FXKGZWCKTB2SYCBMRR.stxgate-settlement"
	testToken      = "ST2ZNGJ85ENDY6QRHQ5P2D4FXKGZWCKTB2SYCBMRR.charisma-token"
	testOwner      = "ST3FBR2AGK5H9QBDH3EEN6DF8EK8JY7RX8NQXMNRQ"
	mainnetAccount = "SP3FBR2AGK5H9QBDH3EEN6DF8EK8JY7RX8QJ5SVTE"
)

func mustPrincipal(t testing.TB, s string) stacks.Principal {
	t.Helper()
	p, err := stacks.ParsePrincipal(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func mustTestKey(t testing.TB) *stacks.PrivateKey {
	t.Helper()
	k, err := stacks.ParsePrivateKey(testKey)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func testCall(t testing.TB, opts stacks.TxOptions) *stacks.Transaction {
	t.Helper()
	tx, err := stacks.NewContractCall(stacks.Testnet, mustPrincipal(t, testContract), "bump", []stacks.Value{stacks.UInt(1)}, opts)
	if err != nil {
		t.Fatal(err)
	}
	return tx
}

func TestNewContractCallDefaults(t *testing.T) {
	tx := testCall(t, stacks.TxOptions{})
	if tx.Network != stacks.Testnet || tx.ChainID != 0x80000000 || tx.AnchorMode != stacks.AnchorAny ||
		tx.PostConditionMode != stacks.PostConditionDeny || tx.PostConditions != nil || tx.Origin != (stacks.SpendingCondition{}) {
		t.Fatalf("defaults: %+v", tx)
	}
	main, err := stacks.NewTokenTransfer(stacks.Mainnet, mustPrincipal(t, mainnetAccount), 5, "", stacks.TxOptions{ChainID: 7, AnchorMode: stacks.AnchorOnChainOnly, PostConditionMode: stacks.PostConditionAllow})
	if err != nil {
		t.Fatal(err)
	}
	if main.ChainID != 7 || main.AnchorMode != stacks.AnchorOnChainOnly || main.PostConditionMode != stacks.PostConditionAllow {
		t.Fatalf("options ignored: %+v", main)
	}
}

// The builder copies the caller's slices.
func TestNewContractCallCopiesSlices(t *testing.T) {
	args := []stacks.Value{stacks.UInt(1)}
	pcs := []stacks.PostCondition{stacks.STXSentAtMost(mustPrincipal(t, testOwner), 1)}
	tx, err := stacks.NewContractCall(stacks.Testnet, mustPrincipal(t, testContract), "bump", args, stacks.TxOptions{PostConditions: pcs})
	if err != nil {
		t.Fatal(err)
	}
	before, _ := tx.Serialize()
	args[0], pcs[0] = stacks.UInt(2), nil
	if after, err := tx.Serialize(); err != nil || !bytes.Equal(before, after) {
		t.Fatalf("changed with the caller's slices: %v", err)
	}
}

func TestBuilderRefuses(t *testing.T) {
	contract, owner := mustPrincipal(t, testContract), mustPrincipal(t, testOwner)
	one := []stacks.Value{stacks.UInt(1)}
	asset := stacks.AssetInfo{Contract: mustPrincipal(t, testToken), Name: "charisma"}
	call := func(c stacks.Principal, fn string, args []stacks.Value, pcs ...stacks.PostCondition) error {
		_, err := stacks.NewContractCall(stacks.Testnet, c, fn, args, stacks.TxOptions{PostConditions: pcs})
		return err
	}
	longName := stacks.Principal{Address: contract.Address, ContractName: strings.Repeat("n", 129)}
	for _, tc := range []struct {
		name string
		err  error
		want string
		is   error
	}{
		{"ContractOnOtherNetwork", call(mustPrincipal(t, "SP2ZNGJ85ENDY6QRHQ5P2D4FXKGZWCKTB2T0Z55KS.stxgate-settlement"), "bump", one),
			"stacks: contract SP2ZNGJ85ENDY6QRHQ5P2D4FXKGZWCKTB2T0Z55KS is not a testnet address: wrong network", stacks.ErrWrongNetwork},
		{"ContractIsStandardPrincipal", call(owner, "bump", one),
			"stacks: transaction: contract-call target " + testOwner + " is not a contract principal: malformed Stacks transaction", stacks.ErrMalformedTransaction},
		{"ContractNameTooLong", call(longName, "bump", one),
			"stacks: transaction: contract-call target: contract name is 129 characters, at most 128 allowed: malformed Stacks transaction", stacks.ErrMalformedTransaction},
		{"FunctionName", call(contract, "", one),
			"stacks: transaction: function name \"\": empty name: malformed Stacks transaction", stacks.ErrMalformedTransaction},
		{"NilArgument", call(contract, "bump", []stacks.Value{stacks.UInt(1), nil}),
			"stacks: transaction: argument 1 is nil (use None() for none): malformed Stacks transaction", stacks.ErrMalformedTransaction},
		{"ArgumentBadPrincipal", call(contract, "bump", []stacks.Value{stacks.List(stacks.PrincipalValue(stacks.Principal{Address: stacks.Address{Version: 40}}))}),
			"stacks: transaction: argument 0: stacks: principal version 40 is not a c32 version (0..31): invalid Clarity value: malformed Stacks transaction", stacks.ErrClarityValue},
		{"ArgumentTooDeep", call(contract, "bump", []stacks.Value{nested(33)}),
			"stacks: transaction: argument 0: stacks: value nested deeper than 32: invalid Clarity value: malformed Stacks transaction", stacks.ErrClarityValue},
		{"NilPostCondition", call(contract, "bump", one, nil),
			"stacks: transaction: post-condition 0 is nil: malformed Stacks transaction", stacks.ErrMalformedTransaction},
		{"PostConditionCode", call(contract, "bump", one, &stacks.STXPostCondition{Principal: stacks.OriginPrincipal(), Condition: 6}),
			"stacks: transaction: post-condition 0: STX condition code 0x06 is not 0x01..0x05: malformed Stacks transaction", stacks.ErrMalformedTransaction},
		{"PostConditionOriginWithPrincipal", call(contract, "bump", one, &stacks.STXPostCondition{Principal: stacks.PostConditionPrincipal{Origin: true, Principal: owner}, Condition: stacks.SentEqual}),
			"stacks: transaction: post-condition 0: an origin post-condition principal also names " + testOwner + ": malformed Stacks transaction", stacks.ErrMalformedTransaction},
		{"AssetNotContract", call(contract, "bump", one, stacks.FungibleSentAtMost(owner, stacks.AssetInfo{Contract: owner, Name: "x"}, 1)),
			"stacks: transaction: post-condition 0: asset contract " + testOwner + " is not a contract principal: malformed Stacks transaction", stacks.ErrMalformedTransaction},
		{"AssetName", call(contract, "bump", one, stacks.FungibleSentAtMost(owner, stacks.AssetInfo{Contract: contract, Name: "1x"}, 1)),
			"stacks: transaction: post-condition 0: asset name \"1x\": name must start with a letter: malformed Stacks transaction", stacks.ErrMalformedTransaction},
		{"NFTWithoutID", call(contract, "bump", one, &stacks.NonFungiblePostCondition{Principal: stacks.PrincipalOf(owner), Asset: asset, Condition: stacks.NFTSent}),
			"stacks: transaction: post-condition 0: non-fungible post-condition without an asset id: malformed Stacks transaction", stacks.ErrMalformedTransaction},
		{"NFTCode", call(contract, "bump", one, &stacks.NonFungiblePostCondition{Principal: stacks.PrincipalOf(owner), Asset: asset, AssetID: stacks.UInt(1), Condition: 0x12}),
			"stacks: transaction: post-condition 0: non-fungible condition code 0x12 is not 0x10 or 0x11: malformed Stacks transaction", stacks.ErrMalformedTransaction},
		{"RecipientOnOtherNetwork", func() error {
			_, err := stacks.NewTokenTransfer(stacks.Testnet, mustPrincipal(t, mainnetAccount), 1, "", stacks.TxOptions{})
			return err
		}(), "stacks: recipient " + mainnetAccount + " is not a testnet address: wrong network", stacks.ErrWrongNetwork},
		{"MemoTooLong", func() error {
			_, err := stacks.NewTokenTransfer(stacks.Testnet, owner, 1, strings.Repeat("m", 35), stacks.TxOptions{})
			return err
		}(), "stacks: memo is 35 bytes, at most 34 allowed: malformed Stacks transaction", stacks.ErrMalformedTransaction},
		{"NoNetwork", func() error {
			_, err := stacks.NewContractCall(0, contract, "bump", one, stacks.TxOptions{})
			return err
		}(), "stacks: Network(0) is neither mainnet nor testnet: wrong network", stacks.ErrWrongNetwork},
		{"AnchorMode", func() error {
			_, err := stacks.NewContractCall(stacks.Testnet, contract, "bump", one, stacks.TxOptions{AnchorMode: 4})
			return err
		}(), "stacks: transaction: anchor mode 4 is not 1..3: malformed Stacks transaction", stacks.ErrMalformedTransaction},
		{"PostConditionMode", func() error {
			_, err := stacks.NewContractCall(stacks.Testnet, contract, "bump", one, stacks.TxOptions{PostConditionMode: 3})
			return err
		}(), "stacks: transaction: post-condition mode 3 is not allow (1) or deny (2): malformed Stacks transaction", stacks.ErrMalformedTransaction},
		{"TooLarge", func() error {
			big := stacks.Buffer(make([]byte, 1<<20))
			tx, err := stacks.NewContractCall(stacks.Testnet, contract, "bump", []stacks.Value{big, big}, stacks.TxOptions{})
			if err != nil {
				return err
			}
			_, err = tx.Serialize()
			return err
		}(), "stacks: transaction is 2097327 bytes, at most 2097152 allowed: malformed Stacks transaction", stacks.ErrMalformedTransaction},
		{"NoPayload", (&stacks.Transaction{Network: stacks.Mainnet, AnchorMode: stacks.AnchorAny, PostConditionMode: stacks.PostConditionDeny}).Validate(),
			"stacks: transaction: no payload: malformed Stacks transaction", stacks.ErrMalformedTransaction},
		{"NilTransaction", (*stacks.Transaction)(nil).Sign(mustTestKey(t)),
			"stacks: transaction: nil transaction: malformed Stacks transaction", stacks.ErrMalformedTransaction},
		{"SignWithoutKey", testCall(t, stacks.TxOptions{}).Sign(nil),
			"stacks: sign transaction: no private key: malformed private key", stacks.ErrMalformedPrivateKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.err == nil || tc.err.Error() != tc.want || !errors.Is(tc.err, tc.is) {
				t.Fatalf("error\n got %v\nwant %q (wrapping %v)", tc.err, tc.want, tc.is)
			}
		})
	}
}

// nested returns depth levels of (some …) ending in none.
func nested(depth int) stacks.Value {
	v := stacks.None()
	for range depth - 1 {
		v = stacks.Some(v)
	}
	return v
}

// Every post-condition kind and principal kind survives serialise → parse.
func TestPostConditionsRoundTrip(t *testing.T) {
	contract, owner := mustPrincipal(t, testContract), mustPrincipal(t, testOwner)
	asset, err := stacks.ParseAssetInfo(testToken + "::charisma")
	if err != nil || asset.String() != testToken+"::charisma" {
		t.Fatalf("ParseAssetInfo: %v %v", asset, err)
	}
	nft := stacks.AssetInfo{Contract: contract, Name: "ticket"}
	id, _ := stacks.StringASCII("seat-12")
	pcs := []stacks.PostCondition{
		&stacks.STXPostCondition{Principal: stacks.OriginPrincipal(), Condition: stacks.SentEqual, Amount: 0},
		&stacks.STXPostCondition{Principal: stacks.PrincipalOf(contract), Condition: stacks.SentGreaterThan, Amount: 1 << 63},
		&stacks.FungiblePostCondition{Principal: stacks.PrincipalOf(owner), Asset: asset, Condition: stacks.SentLessThan, Amount: 7},
		stacks.FungibleSentAtMost(contract, asset, 1000000),
		stacks.FungibleSentAtLeast(contract, asset, 1),
		stacks.STXSentAtMost(owner, 5),
		&stacks.NonFungiblePostCondition{Principal: stacks.PrincipalOf(owner), Asset: nft, AssetID: id, Condition: stacks.NFTSent},
		&stacks.NonFungiblePostCondition{Principal: stacks.OriginPrincipal(), Asset: nft, AssetID: stacks.UInt(3), Condition: stacks.NFTNotSent},
	}
	tx := testCall(t, stacks.TxOptions{PostConditions: pcs, Nonce: 9, Fee: 300})
	if err := tx.Sign(mustTestKey(t)); err != nil {
		t.Fatal(err)
	}
	raw, err := tx.Serialize()
	if err != nil {
		t.Fatal(err)
	}
	back, err := stacks.ParseTransaction(raw)
	if err != nil {
		t.Fatalf("ParseTransaction: %v", err)
	}
	if again, _ := back.Serialize(); !bytes.Equal(again, raw) {
		t.Fatal("round trip differs")
	}
	if _, err := back.VerifyOrigin(); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, pc := range back.PostConditions {
		switch c := pc.(type) {
		case *stacks.STXPostCondition:
			got = append(got, c.Principal.String()+" stx "+c.Condition.String())
		case *stacks.FungiblePostCondition:
			got = append(got, c.Principal.String()+" "+c.Asset.String()+" "+c.Condition.String())
		case *stacks.NonFungiblePostCondition:
			got = append(got, c.Principal.String()+" "+c.Asset.String()+" "+c.Condition.String())
		}
	}
	want := []string{
		"origin stx eq",
		testContract + " stx gt",
		testOwner + " " + testToken + "::charisma lt",
		testContract + " " + testToken + "::charisma lte",
		testContract + " " + testToken + "::charisma gte",
		testOwner + " stx lte",
		testOwner + " " + testContract + "::ticket sent",
		"origin " + testContract + "::ticket not-sent",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("post-conditions:\n%s", strings.Join(got, "\n"))
	}
}

func TestSignAndVerifyOrigin(t *testing.T) {
	k := mustTestKey(t)
	tx := testCall(t, stacks.TxOptions{Nonce: 3, Fee: 1000})

	// Unsigned: the zero signature is malformed (r = 0).
	if _, err := tx.VerifyOrigin(); err == nil || err.Error() != "stacks: origin signature: stacks: signature r is 0 or not below the curve order: malformed signature" {
		t.Fatalf("unsigned: %v", err)
	}
	if err := tx.Sign(k); err != nil {
		t.Fatal(err)
	}
	if tx.OriginAddress() != k.Address(stacks.Testnet) {
		t.Fatalf("origin %s, want %s", tx.OriginAddress(), k.Address(stacks.Testnet))
	}
	first, _ := tx.TxID()
	sig := tx.Origin.Signature

	// Deterministic: signing again gives the same bytes.
	if err := tx.Sign(k); err != nil || tx.Origin.Signature != sig {
		t.Fatal("signing is not deterministic")
	}

	// Replace by fee: same nonce, higher fee, a new signature and txid.
	tx.Origin.Fee = 2000
	if _, err := tx.VerifyOrigin(); !errors.Is(err, stacks.ErrInvalidSignature) {
		t.Fatalf("fee changed, old signature: %v", err)
	}
	if err := tx.Sign(k); err != nil {
		t.Fatal(err)
	}
	if second, _ := tx.TxID(); second == first || tx.Origin.Signature == sig {
		t.Fatal("re-signing with a new fee kept the txid or signature")
	}
	pub, err := tx.VerifyOrigin()
	if err != nil || !bytes.Equal(pub, k.PublicKey()) {
		t.Fatalf("VerifyOrigin = %x, %v", pub, err)
	}
	signed := tx.Origin.Signature

	// High S: the malleated twin (n - s, other recovery id) recovers the same key but is refused.
	n, _ := new(big.Int).SetString("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141", 16)
	s := new(big.Int).SetBytes(signed[33:65])
	s.Sub(n, s).FillBytes(tx.Origin.Signature[33:65])
	tx.Origin.Signature[0] ^= 1
	if _, err := tx.VerifyOrigin(); err == nil || !errors.Is(err, stacks.ErrHighS) {
		t.Fatalf("high S: %v", err)
	}

	// A recovery id beyond 3.
	tx.Origin.Signature = signed
	tx.Origin.Signature[0] = 4
	if _, err := tx.VerifyOrigin(); err == nil || err.Error() != "stacks: origin signature: stacks: recovery id 4 is not 0..3: malformed signature" {
		t.Fatalf("v = 4: %v", err)
	}

	// Another origin: the signer is part of the signed bytes, so the
	// signature now recovers some unrelated key.
	tx.Origin.Signature = signed
	tx.Origin.Signer[0] ^= 0xff
	_, err = tx.VerifyOrigin()
	if err == nil || !errors.Is(err, stacks.ErrInvalidSignature) || !strings.HasPrefix(err.Error(), "stacks: origin signature was made by ST") ||
		!strings.HasSuffix(err.Error(), ", not the origin "+tx.OriginAddress().String()+": invalid signature") {
		t.Fatalf("other origin: %v", err)
	}
}

func TestSerializePayloadIsTheTail(t *testing.T) {
	for _, v := range loadTxVectors(t).Transactions {
		tx, err := stacks.ParseTransactionHex(v.Serialized)
		if err != nil {
			t.Fatal(err)
		}
		p, err := stacks.SerializePayload(tx.Payload)
		raw := mustHexT(t, v.Serialized)
		if err != nil || !bytes.HasSuffix(raw, p) || raw[len(raw)-len(p)] != map[string]byte{"contract-call": 0x02, "token-transfer": 0x00}[v.Kind] {
			t.Fatalf("%s: payload %x, %v", v.Name, p, err)
		}
	}
	if _, err := stacks.SerializePayload(nil); err == nil || err.Error() != "stacks: no payload: malformed Stacks transaction" {
		t.Fatalf("nil payload: %v", err)
	}
	if _, err := stacks.SerializePayload(&stacks.ContractCall{Contract: mustPrincipal(t, testContract)}); err == nil ||
		err.Error() != "stacks: payload: function name \"\": empty name: malformed Stacks transaction" {
		t.Fatalf("bad payload: %v", err)
	}
}

func TestTxIDText(t *testing.T) {
	const h = "6f560227a223dae481d2e1e4e4ba3751b193a1a50737c2b25d0e6a547934e076"
	for _, in := range []string{h, "0x" + h, "0X" + strings.ToUpper(h)} {
		id, err := stacks.ParseTxID(in)
		if err != nil || id.Hex() != h || id.String() != "0x"+h {
			t.Fatalf("ParseTxID(%q) = %s, %v", in, id, err)
		}
	}
	for in, want := range map[string]string{
		"":             "stacks: txid is 0 hex digits, want 64: malformed Stacks transaction",
		h[:63]:         "stacks: txid is 63 hex digits, want 64: malformed Stacks transaction",
		"g" + h[1:]:    "stacks: txid has a non-hex character at 0: malformed Stacks transaction",
		"0x" + h + "0": "stacks: txid is 65 hex digits, want 64: malformed Stacks transaction",
	} {
		if _, err := stacks.ParseTxID(in); err == nil || err.Error() != want {
			t.Errorf("ParseTxID(%q) = %v, want %q", in, err, want)
		}
	}
}

func TestMemo(t *testing.T) {
	m, err := stacks.MemoFromString("héllo")
	if err != nil || m.String() != "héllo" || m[6] != 0 || len(m) != 34 {
		t.Fatalf("memo %q, %v", m, err)
	}
	if full, err := stacks.MemoFromString(strings.Repeat("x", 34)); err != nil || full.String() != strings.Repeat("x", 34) {
		t.Fatalf("34 bytes: %v", err)
	}
}

func TestParseAssetInfoRefuses(t *testing.T) {
	for in, want := range map[string]string{
		testToken:                "stacks: asset \"" + testToken + "\": want <contract>::<asset name>: malformed principal",
		testOwner + "::x":        "stacks: asset \"" + testOwner + "::x\": asset contract " + testOwner + " is not a contract principal: malformed principal",
		testToken + "::":         "stacks: asset \"" + testToken + "::\": asset name \"\": empty name: malformed principal",
		"SPX.token::x":           "stacks: asset \"SPX.token::x\": stacks: principal \"SPX.token\": malformed principal: stacks: address \"SPX\": wrong length: decodes to 1 bytes, want a 20-byte hash160 and a 4-byte checksum: malformed Stacks address",
		testToken + "::a b":      "stacks: asset \"" + testToken + "::a b\": asset name \"a b\": invalid character ' ' at 1: malformed principal",
		testToken + "::charisma": "",
	} {
		_, err := stacks.ParseAssetInfo(in)
		if (err == nil) != (want == "") || err != nil && err.Error() != want {
			t.Errorf("ParseAssetInfo(%q) = %v, want %q", in, err, want)
		}
	}
}

func TestNewExecuteOrderIsDenyMode(t *testing.T) {
	order, err := stacks.Tuple(map[string]stacks.Value{"amount-in": stacks.UInt(5)})
	if err != nil {
		t.Fatal(err)
	}
	cap := stacks.FungibleSentAtMost(mustPrincipal(t, testContract), stacks.AssetInfo{Contract: mustPrincipal(t, testToken), Name: "charisma"}, 5)
	tx, err := stacks.NewExecuteOrder(stacks.Testnet, mustPrincipal(t, testContract), stacks.ExecuteOrderArgs(order, [65]byte{64: 1}), []stacks.PostCondition{cap},
		stacks.TxOptions{PostConditionMode: stacks.PostConditionAllow, Nonce: 1, Fee: 2})
	if err != nil {
		t.Fatal(err)
	}
	call := tx.Payload.(*stacks.ContractCall)
	if tx.PostConditionMode != stacks.PostConditionDeny || len(tx.PostConditions) != 1 || tx.PostConditions[0] != cap ||
		call.Function != "execute-order" || len(call.Args) != 2 || tx.Origin.Nonce != 1 || tx.Origin.Fee != 2 {
		t.Fatalf("execute-order transaction: %+v", tx)
	}
	if got := stacks.Serialize(call.Args[1]); len(got) != 5+65 || got[0] != 0x02 || got[4] != 65 || got[69] != 1 {
		t.Fatalf("signature argument %x", got)
	}
}
