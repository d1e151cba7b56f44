package stacks

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"
)

func TestVarintVectors(t *testing.T) {
	v := loadVectors(t)
	wantCount(t, v, "message_signing.varints", "varints", len(v.MessageSigning.Varints), 11)
	for _, tc := range v.MessageSigning.Varints {
		if got := hex.EncodeToString(AppendVarint(nil, tc.Length)); got != tc.VarintHex {
			t.Errorf("AppendVarint(%d) = %s, want %s", tc.Length, got, tc.VarintHex)
		}
	}
}

func TestVarintBoundaries(t *testing.T) {
	for _, tc := range []struct {
		n    uint64
		want string
	}{
		{0xfc, "fc"},
		{0xfd, "fdfd00"},
		{0xffff, "fdffff"},
		{0x10000, "fe00000100"},
		{0xffffffff, "feffffffff"},
		{0x100000000, "ff0000000001000000"},
		{^uint64(0), "ffffffffffffffffff"},
	} {
		if got := hex.EncodeToString(AppendVarint([]byte{}, tc.n)); got != tc.want {
			t.Errorf("AppendVarint(%#x) = %s, want %s", tc.n, got, tc.want)
		}
	}
	if got := AppendVarint([]byte{0xaa}, 1); !bytes.Equal(got, []byte{0xaa, 1}) {
		t.Errorf("AppendVarint must append, got %x", got)
	}
}

func TestPrefixes(t *testing.T) {
	if hex.EncodeToString([]byte(PrefixCurrent)) != "17537461636b73205369676e6564204d6573736167653a0a" {
		t.Error("PrefixCurrent bytes differ from meta.algorithm.prefix_current")
	}
	if hex.EncodeToString([]byte(PrefixLegacy)) != "18537461636b73204d657373616765205369676e696e673a0a" {
		t.Error("PrefixLegacy bytes differ from meta.algorithm.prefix_legacy")
	}
}

// TestMessagePositiveVectors checks, for every stacks.js signature: the
// encoding, the hash, RSV and VRS verification against both addresses, the
// recovered key and the decoded r/s/v.
func TestMessagePositiveVectors(t *testing.T) {
	v := loadVectors(t)
	wantCount(t, v, "message_signing.positive", "message_positive", len(v.MessageSigning.Positive), 91)
	var current, legacy int
	for _, tc := range v.MessageSigning.Positive {
		t.Run(tc.ID, func(t *testing.T) {
			msg := []byte(tc.Message)
			prefix := prefixFor(t, tc.Prefix)
			if tc.Prefix == "current" {
				current++
			} else {
				legacy++
			}
			if len(msg) != tc.ByteLength {
				t.Fatalf("message is %d bytes, vector says %d", len(msg), tc.ByteLength)
			}
			if tc.MessageUTF8Hex != "" && hex.EncodeToString(msg) != tc.MessageUTF8Hex {
				t.Errorf("UTF-8 bytes differ")
			}
			if hex.EncodeToString([]byte(prefix)) != tc.PrefixHex {
				t.Errorf("prefix bytes differ")
			}
			varint := AppendVarint(nil, uint64(len(msg)))
			if hex.EncodeToString(varint) != tc.VarintHex {
				t.Errorf("varint = %x, want %s", varint, tc.VarintHex)
			}
			encoded := append(append([]byte(prefix), varint...), msg...)
			switch {
			case tc.EncodedHex != "":
				if hex.EncodeToString(encoded) != tc.EncodedHex {
					t.Errorf("encoding differs")
				}
			case tc.EncodedHeadHex != "":
				if !strings.HasPrefix(hex.EncodeToString(encoded), tc.EncodedHeadHex) {
					t.Errorf("encoding head differs")
				}
			default:
				t.Fatal("vector has neither encoded_hex nor encoded_head_hex")
			}
			hash := HashMessageWithPrefix(prefix, msg)
			if hex.EncodeToString(hash[:]) != tc.HashHex {
				t.Fatalf("hash = %x, want %s", hash, tc.HashHex)
			}
			if tc.Prefix == "current" && HashMessage(msg) != hash {
				t.Errorf("HashMessage differs from HashMessageWithPrefix(PrefixCurrent)")
			}

			sigs, err := DecodeSignature(tc.RSV)
			if err != nil {
				t.Fatalf("DecodeSignature(RSV): %v", err)
			}
			want := Signature{R: [32]byte(mustHex(t, tc.RHex)), S: [32]byte(mustHex(t, tc.SHex)), RecoveryID: tc.RecoveryID}
			if sigs[0] != want {
				t.Errorf("DecodeSignature(RSV)[0] = %+v, want %+v", sigs[0], want)
			}
			if sigs[0].String() != tc.RSV {
				t.Errorf("String() = %s, want %s", sigs[0].String(), tc.RSV)
			}
			if !tc.SIsLow {
				t.Errorf("vector signature is not low-S")
			}
			pub, err := RecoverPublicKey(hash, want)
			if err != nil || hex.EncodeToString(pub) != tc.LibraryChecks.Recovered || tc.LibraryChecks.Recovered != tc.PublicKeyHex {
				t.Errorf("RecoverPublicKey = %x, %v; want %s", pub, err, tc.LibraryChecks.Recovered)
			}
			for _, addr := range []string{tc.AddressMainnet, tc.AddressTestnet} {
				a := mustAddress(t, addr)
				for form, sig := range map[string]string{"RSV": tc.RSV, "VRS": tc.VRS} {
					pub, err := VerifyMessage(msg, sig, a)
					if err != nil {
						t.Errorf("VerifyMessage(%s, %s): %v", form, addr, err)
						continue
					}
					if hex.EncodeToString(pub) != tc.PublicKeyHex {
						t.Errorf("VerifyMessage(%s, %s) recovered %x, want %s", form, addr, pub, tc.PublicKeyHex)
					}
					if _, err := VerifyHash(hash, sig, a); err != nil {
						t.Errorf("VerifyHash(%s, %s): %v", form, addr, err)
					}
				}
			}
			if err := CheckPublicKey(tc.PublicKeyHex, pub); err != nil {
				t.Errorf("CheckPublicKey: %v", err)
			}
		})
	}
	if current != 64 || legacy != 27 {
		t.Errorf("checked %d current and %d legacy vectors, want 64 and 27", current, legacy)
	}
}

// TestMessageDeterministicSigning: RFC 6979 makes every stacks.js signature
// reproducible from its key, byte for byte (random-* keys included, since
// their private keys are in the file).
func TestMessageDeterministicSigning(t *testing.T) {
	v := loadVectors(t)
	keys := keysByID(v)
	n := 0
	for _, tc := range v.MessageSigning.Positive {
		key, ok := keys[tc.KeyID]
		if !ok {
			t.Fatalf("%s: unknown key %q", tc.ID, tc.KeyID)
		}
		k := mustKey(t, key.PrivateKeyHex)
		var got string
		if tc.Prefix == "current" {
			got = must(SignMessage(k, []byte(tc.Message)))
		} else {
			got = must(SignHash(k, HashMessageWithPrefix(PrefixLegacy, []byte(tc.Message)))).String()
		}
		if got != tc.RSV {
			t.Errorf("%s: signed %s, want %s", tc.ID, got, tc.RSV)
		}
		n++
	}
	if n != 91 {
		t.Errorf("signed %d vectors, want 91", n)
	}
}

func TestMessageUpstreamKnownAnswers(t *testing.T) {
	v := loadVectors(t)
	wantCount(t, v, "message_signing.upstream_known_answers", "message_upstream_known_answers", len(v.MessageSigning.UpstreamKnownAnswers), 3)
	for _, tc := range v.MessageSigning.UpstreamKnownAnswers {
		t.Run(tc.ID, func(t *testing.T) {
			msg := []byte(tc.Message)
			hash := HashMessageWithPrefix(prefixFor(t, tc.Prefix), msg)
			if hex.EncodeToString(hash[:]) != tc.HashHex {
				t.Fatalf("hash = %x, want %s", hash, tc.HashHex)
			}
			if tc.RSV == "" {
				return
			}
			for _, addr := range []string{tc.AddressTestnet, tc.AddressMainnet} {
				pub, err := VerifyMessage(msg, tc.RSV, mustAddress(t, addr))
				if err != nil {
					t.Fatalf("VerifyMessage(%s): %v", addr, err)
				}
				if hex.EncodeToString(pub) != tc.Recovered || tc.Recovered != tc.PublicKeyHex {
					t.Errorf("recovered %x, want %s", pub, tc.Recovered)
				}
			}
			a, err := AddressFromPublicKey(mustHex(t, tc.PublicKeyHex), Testnet)
			if err != nil || a.String() != tc.AddressTestnet {
				t.Errorf("AddressFromPublicKey = %v, %v; want %s", a, err, tc.AddressTestnet)
			}
		})
	}
}

func TestHashMessageLargeMatchesStreaming(t *testing.T) {
	// The stack-buffer and streaming paths must agree around the switch-over.
	for _, n := range []int{0, 1, 252, 253, 400, 470, 479, 480, 481, 512, 513, 70000} {
		msg := bytes.Repeat([]byte{'x'}, n)
		enc := append(AppendVarint([]byte(PrefixCurrent), uint64(n)), msg...)
		want := sha256Sum(enc)
		if got := HashMessage(msg); got != want {
			t.Errorf("len %d: HashMessage differs from sha256 of the encoding", n)
		}
	}
}
