package stacks_test

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stxgate/stxgate/pkg/stacks"
)

// Offsets in call-uint-mainnet (171 bytes): the header fields, then the
// contract-call payload of SP2ZNGJ85ENDY6QRHQ5P2D4FXKGZWCKTB2T0Z55KS.counter::bump(u1).
const (
	offVersion     = 0
	offAuth        = 5
	offHashMode    = 6
	offKeyEncoding = 43
	offSignature   = 44
	offAnchor      = 109
	offPCMode      = 110
	offPCCount     = 111
	offPayload     = 115
	offContractVer = 116
	offNameLen     = 137
	offFuncLen     = 145
	offArgCount    = 150
	offArg         = 154
)

func vectorBytes(t *testing.T, name string) []byte {
	t.Helper()
	for _, v := range loadTxVectors(t).Transactions {
		if v.Name == name {
			return mustHexT(t, v.Serialized)
		}
	}
	t.Fatalf("no vector %q", name)
	return nil
}

// with returns a copy of b with b[off:] starting with patch.
func with(b []byte, off int, patch ...byte) []byte {
	c := bytes.Clone(b)
	copy(c[off:], patch)
	return c
}

// splice returns a copy of b with b[from:to] replaced by repl.
func splice(b []byte, from, to int, repl ...byte) []byte {
	c := append(bytes.Clone(b[:from]), repl...)
	return append(c, b[to:]...)
}

func TestParseTransactionRefuses(t *testing.T) {
	base := vectorBytes(t, "call-uint-mainnet")
	transfer := vectorBytes(t, "stx-transfer-mainnet")
	arg := func(hexValue string) []byte { // call-uint-mainnet with its one argument replaced
		return splice(base, offArg, len(base), mustHexT(t, hexValue)...)
	}
	u32 := func(n uint32) []byte { return binary.BigEndian.AppendUint32(nil, n) }
	nftCode := func(code byte) []byte { // one origin post-condition on NFT true of SP000….a::b, code at byte 143
		pc := append(u32(1), 0x02, 0x01, 22)
		pc = append(pc, make([]byte, 20)...)
		return splice(base, offPCCount, offPayload, append(pc, 1, 'a', 1, 'b', 0x03, code)...)
	}
	malformed, unsupported := stacks.ErrMalformedTransaction, stacks.ErrUnsupportedTransaction
	for _, tc := range []struct {
		name string
		b    []byte
		want string
		is   error
	}{
		{"Empty", nil, "stacks: byte 0: version: want 1 bytes, 0 left: malformed Stacks transaction", malformed},
		{"UnknownVersion", with(base, offVersion, 0x01), "stacks: byte 0: unknown version 0x01 (0x00 mainnet, 0x80 testnet): malformed Stacks transaction", malformed},
		{"Sponsored", with(base, offAuth, 0x05), "stacks: byte 5: sponsored authorization is not supported: unsupported Stacks transaction", unsupported},
		{"UnknownAuth", with(base, offAuth, 0x06), "stacks: byte 5: unknown authorization type 0x06: malformed Stacks transaction", malformed},
		{"MultiSig", with(base, offHashMode, 0x01), "stacks: byte 6: P2SH multi-sig spending condition is not supported (single-sig P2PKH only): unsupported Stacks transaction", unsupported},
		{"Segwit", with(base, offHashMode, 0x02), "stacks: byte 6: P2WPKH-P2SH spending condition is not supported (single-sig P2PKH only): unsupported Stacks transaction", unsupported},
		{"UnknownHashMode", with(base, offHashMode, 0x04), "stacks: byte 6: unknown hash mode 0x04: malformed Stacks transaction", malformed},
		{"UncompressedKey", with(base, offKeyEncoding, 0x01), "stacks: byte 43: uncompressed public key encoding: uncompressed public key: unsupported Stacks transaction", stacks.ErrUncompressedPublicKey},
		{"UnknownKeyEncoding", with(base, offKeyEncoding, 0x02), "stacks: byte 43: unknown key encoding 0x02: malformed Stacks transaction", malformed},
		{"AnchorZero", with(base, offAnchor, 0x00), "stacks: byte 109: unknown anchor mode 0x00: malformed Stacks transaction", malformed},
		{"AnchorFour", with(base, offAnchor, 0x04), "stacks: byte 109: unknown anchor mode 0x04: malformed Stacks transaction", malformed},
		{"PostConditionModeOriginator", with(base, offPCMode, 0x03), "stacks: byte 110: post-condition mode 0x03 (SIP-040 originator) is not supported: unsupported Stacks transaction", unsupported},
		{"PostConditionModeZero", with(base, offPCMode, 0x00), "stacks: byte 110: unknown post-condition mode 0x00: malformed Stacks transaction", malformed},
		{"PostConditionCountBeyondInput", with(base, offPCCount, 0xff, 0xff, 0xff, 0xff), "stacks: byte 111: post-condition count 4294967295 does not fit in the 56 bytes left: malformed Stacks transaction", malformed},
		{"PostConditionUnknownType", splice(base, offPCCount, offPayload, append(u32(1), 0x03, 0x01, 0x01, 0, 0, 0, 0, 0, 0, 0, 0)...), "stacks: byte 115: unknown post-condition type 0x03: malformed Stacks transaction", malformed},
		{"PostConditionUnknownPrincipal", splice(base, offPCCount, offPayload, append(u32(1), 0x00, 0x04, 0x01, 0, 0, 0, 0, 0, 0, 0, 0)...), "stacks: byte 116: unknown post-condition principal id 0x04: malformed Stacks transaction", malformed},
		{"PostConditionUnknownCode", splice(base, offPCCount, offPayload, append(u32(1), 0x00, 0x01, 0x06, 0, 0, 0, 0, 0, 0, 0, 0)...), "stacks: byte 117: unknown fungible condition code 0x06: malformed Stacks transaction", malformed},
		{"PostConditionCodeZero", splice(base, offPCCount, offPayload, append(u32(1), 0x00, 0x01, 0x00, 0, 0, 0, 0, 0, 0, 0, 0)...), "stacks: byte 117: unknown fungible condition code 0x00: malformed Stacks transaction", malformed},
		{"PostConditionNFTMaySend", nftCode(0x12), "stacks: byte 143: non-fungible condition code 0x12 (SIP-040 \"may send\") is not supported: unsupported Stacks transaction", unsupported},
		{"PostConditionNFTUnknownCode", nftCode(0x13), "stacks: byte 143: unknown non-fungible condition code 0x13: malformed Stacks transaction", malformed},
		{"SmartContractPayload", with(base, offPayload, 0x01), "stacks: byte 115: smart-contract payload is not supported (contract-call and token-transfer only): unsupported Stacks transaction", unsupported},
		{"CoinbasePayload", with(base, offPayload, 0x04), "stacks: byte 115: coinbase payload is not supported (contract-call and token-transfer only): unsupported Stacks transaction", unsupported},
		{"UnknownPayload", with(base, offPayload, 0x09), "stacks: byte 115: unknown payload type 0x09: malformed Stacks transaction", malformed},
		{"ContractVersionNotC32", with(base, offContractVer, 0x20), "stacks: byte 116: contract address version 32 is not a c32 version (0..31): malformed Stacks transaction", malformed},
		{"ContractNameEmpty", splice(base, offNameLen, offFuncLen, 0x00), "stacks: byte 137: contract name \"\": empty contract name: malformed Stacks transaction", malformed},
		{"ContractNameBadCharacter", with(base, offNameLen+1, '9'), "stacks: byte 137: contract name \"9ounter\": contract name must start with a letter: malformed Stacks transaction", malformed},
		{"ContractNameTooLong", splice(base, offNameLen, offFuncLen, append([]byte{129}, strings.Repeat("a", 129)...)...), "stacks: byte 137: contract name \"" + strings.Repeat("a", 80) + "\"…: contract name is 129 characters, at most 128 allowed: malformed Stacks transaction", malformed},
		{"FunctionNameBad", with(base, offFuncLen+1, '.'), "stacks: byte 145: function name \".ump\": name must start with a letter: malformed Stacks transaction", malformed},
		{"ArgCountBeyondInput", with(base, offArgCount, 0, 0, 0, 18), "stacks: byte 150: argument count 18 does not fit in the 17 bytes left: malformed Stacks transaction", malformed},
		{"Truncated", base[:len(base)-1], "stacks: byte 155: Clarity integer: want 16 bytes, 15 left: malformed Stacks transaction", malformed},
		{"TrailingByte", append(bytes.Clone(base), 0x00), "stacks: byte 171: 1 bytes after the transaction: malformed Stacks transaction", malformed},
		{"TooLarge", make([]byte, stacks.MaxTransactionSize+1), "stacks: transaction is 2097153 bytes, at most 2097152 allowed: malformed Stacks transaction", malformed},

		// Clarity arguments.
		{"ClarityUnknownType", arg("0f"), "stacks: byte 154: unknown Clarity type id 0x0f: malformed Stacks transaction", malformed},
		{"ClarityBufferTooLong", arg("0200100001"), "stacks: byte 155: buff of 1048577 bytes exceeds 1048576: malformed Stacks transaction", malformed},
		{"ClarityBufferTruncated", arg("020000000300ff"), "stacks: byte 159: buff: want 3 bytes, 2 left: malformed Stacks transaction", malformed},
		{"ClarityASCIINotPrintable", arg("0d000000026101"), "stacks: byte 154: string-ascii has byte 0x01 at 1 (printable ASCII and \\t \\n \\f \\r only): malformed Stacks transaction", malformed},
		{"ClarityUTF8Invalid", arg("0e00000002c328"), "stacks: byte 154: string-utf8 is not valid UTF-8: malformed Stacks transaction", malformed},
		{"ClarityUTF8Surrogate", arg("0e00000003eda080"), "stacks: byte 154: string-utf8 is not valid UTF-8: malformed Stacks transaction", malformed},
		{"ClarityPrincipalVersion", arg("05ff" + strings.Repeat("00", 20)), "stacks: byte 155: standard principal version 255 is not a c32 version (0..31): malformed Stacks transaction", malformed},
		{"ClarityEmptyTuple", arg("0c00000000"), "stacks: byte 155: empty tuple (Clarity has none): malformed Stacks transaction", malformed},
		{"ClarityTupleUnsorted", arg("0c00000002016203016103"), "stacks: byte 162: tuple key \"a\" after \"b\": keys must be unique and in byte order: malformed Stacks transaction", malformed},
		{"ClarityTupleDuplicate", arg("0c00000002016103016103"), "stacks: byte 162: tuple key \"a\" after \"a\": keys must be unique and in byte order: malformed Stacks transaction", malformed},
		{"ClarityTupleBadKey", arg("0c0000000101200301"), "stacks: byte 159: tuple key \" \": name must start with a letter: malformed Stacks transaction", malformed},
		{"ClarityListCountBeyondInput", arg("0b0000000203"), "stacks: byte 155: list count 2 does not fit in the 1 bytes left: malformed Stacks transaction", malformed},
		{"ClarityTooDeep", arg(strings.Repeat("0a", 32) + "09"), "stacks: byte 186: Clarity value nested deeper than 32: malformed Stacks transaction", malformed},

		// Token transfers.
		{"TransferRecipientNotPrincipal", with(transfer, offPayload+1, 0x01), "stacks: byte 116: token transfer recipient has Clarity type id 0x01, not a principal: malformed Stacks transaction", malformed},
		{"TransferMemoShort", transfer[:len(transfer)-1], "stacks: byte 146: memo: want 34 bytes, 33 left: malformed Stacks transaction", malformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tx, err := stacks.ParseTransaction(tc.b)
			if err == nil || tx != nil {
				t.Fatalf("accepted: %+v", tx)
			}
			if err.Error() != tc.want || !errors.Is(err, tc.is) {
				t.Fatalf("error\n got %q\nwant %q (wrapping %v)", err, tc.want, tc.is)
			}
		})
	}
}

// Clarity's deepest value still decodes.
func TestParseValueDepthLimit(t *testing.T) {
	ok := strings.Repeat("0a", 31) + "09" // 31 somes around a none: 32 levels
	if _, err := stacks.ParseValueHex(ok); err != nil {
		t.Fatalf("32 levels: %v", err)
	}
	if _, err := stacks.ParseValueHex("0a" + ok); err == nil || !errors.Is(err, stacks.ErrClarityValue) {
		t.Fatalf("33 levels: %v", err)
	}
}

// Every proper prefix of every vector is refused (as truncated), never a panic.
func TestParseTransactionEveryPrefixRefused(t *testing.T) {
	for _, v := range loadTxVectors(t).Transactions {
		raw := mustHexT(t, v.Serialized)
		for n := range len(raw) {
			tx, err := stacks.ParseTransaction(raw[:n])
			if err == nil || tx != nil || !errors.Is(err, stacks.ErrMalformedTransaction) || !strings.Contains(err.Error(), " left: ") {
				t.Fatalf("%s[:%d]: %v", v.Name, n, err)
			}
		}
	}
}

// The decoded transaction does not alias the input: reusing the buffer does
// not change it.
func TestParseTransactionCopiesInput(t *testing.T) {
	raw := vectorBytes(t, "call-all-types-mainnet")
	want := bytes.Clone(raw)
	tx, err := stacks.ParseTransaction(raw)
	if err != nil {
		t.Fatal(err)
	}
	for i := range raw {
		raw[i] = 0xee
	}
	got, err := tx.Serialize()
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("changed with its input: %v", err)
	}
}

func TestValueHexRoundTrip(t *testing.T) {
	for _, v := range loadTxVectors(t).Transactions {
		for _, a := range v.Args {
			val, err := stacks.ParseValueHex("0x" + strings.ToUpper(a))
			if err != nil || hex.EncodeToString(stacks.Serialize(val)) != a {
				t.Fatalf("%s: %v", a, err)
			}
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"01", "stacks: byte 1: Clarity integer: want 16 bytes, 0 left: invalid Clarity value"},
		{"0300", "stacks: byte 1: 1 bytes after the value: invalid Clarity value"},
		{"0", "stacks: odd number of hex digits: invalid Clarity value"},
		{"zz", "stacks: non-hex character at 0: invalid Clarity value"},
	} {
		if _, err := stacks.ParseValueHex(tc.in); err == nil || err.Error() != tc.want {
			t.Errorf("ParseValueHex(%q) = %v, want %q", tc.in, err, tc.want)
		}
	}
}

// Every byte enum names its wire values, and shows an unknown one as Type(n).
func TestEnumStrings(t *testing.T) {
	for _, tc := range []struct {
		got  fmt.Stringer
		want string
	}{
		{stacks.Mainnet, "mainnet"}, {stacks.Testnet, "testnet"}, {stacks.Network(0), "Network(0)"},
		{stacks.AnchorOnChainOnly, "on-chain-only"}, {stacks.AnchorOffChainOnly, "off-chain-only"},
		{stacks.AnchorAny, "any"}, {stacks.AnchorMode(4), "AnchorMode(4)"},
		{stacks.PostConditionAllow, "allow"}, {stacks.PostConditionDeny, "deny"},
		{stacks.PostConditionMode(0), "PostConditionMode(0)"},
		{stacks.SentEqual, "eq"}, {stacks.SentGreaterThan, "gt"}, {stacks.SentGreaterThanOrEqual, "gte"},
		{stacks.SentLessThan, "lt"}, {stacks.SentLessThanOrEqual, "lte"},
		{stacks.FungibleCondition(6), "FungibleCondition(6)"},
		{stacks.NFTSent, "sent"}, {stacks.NFTNotSent, "not-sent"},
		{stacks.NonFungibleCondition(0x12), "NonFungibleCondition(18)"},
	} {
		if s := tc.got.String(); s != tc.want {
			t.Errorf("%T %d: String() = %q, want %q", tc.got, tc.got, s, tc.want)
		}
	}
}
