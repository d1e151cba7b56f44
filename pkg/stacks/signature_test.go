package stacks

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"math/big"
	"strings"
	"testing"
)

// negativeOutcome is stxgate's decision for each message_signing.negative
// vector: the sentinel VerifyMessage must return, or nil to accept.
var negativeOutcome = map[string]error{
	"other-key":                       ErrInvalidSignature,
	"tampered-message-timestamp":      ErrInvalidSignature,
	"tampered-message-trailing-space": ErrInvalidSignature,
	"json-keys-reordered":             ErrInvalidSignature,
	"unicode-nfd-vs-nfc":              ErrInvalidSignature,
	"tampered-r":                      ErrInvalidSignature,
	"tampered-s":                      ErrInvalidSignature,
	"no-prefix-sha256":                ErrInvalidSignature,
	"der-signECDSA":                   ErrMalformedSignature,
	"sip018-sig-as-message-sig":       ErrInvalidSignature,
	"pubkey-parity-flipped":           ErrInvalidSignature,
	"pubkey-not-on-curve":             ErrMalformedPublicKey, // from AddressFromPublicKey
	"malformed-non-hex":               ErrMalformedSignature,
	"malformed-odd-length":            ErrMalformedSignature,
	"malformed-64-bytes":              ErrMalformedSignature,
	"malformed-66-bytes-trailing":     ErrMalformedSignature,
	"malformed-empty":                 ErrMalformedSignature,
	// Policy (DESIGN.md "Wallet signatures": "an optional 0x"; README: "accept
	// ... an optional 0x"): stacks.js throws on it, stxgate strips it and accepts.
	"malformed-0x-prefix":      nil,
	"malformed-zero-signature": ErrMalformedSignature,
	"malformed-r-equals-n":     ErrMalformedSignature,
	"message-as-bytes-pitfall": ErrInvalidSignature, // see the special case below
}

func TestMessageNegativeVectors(t *testing.T) {
	v := loadVectors(t)
	wantCount(t, v, "message_signing.negative", "message_negative", len(v.MessageSigning.Negative), 21)
	for _, tc := range v.MessageSigning.Negative {
		t.Run(tc.ID, func(t *testing.T) {
			want, known := negativeOutcome[tc.ID]
			if !known {
				t.Fatalf("no stxgate decision recorded for negative vector %q", tc.ID)
			}
			if tc.ExpectedValid {
				t.Fatalf("vector is marked valid")
			}
			msg := []byte(tc.Message)

			// The address: the claimed one, else the mainnet P2PKH address of the key.
			var addr Address
			if tc.ClaimedAddress != "" {
				addr = mustAddress(t, tc.ClaimedAddress)
			} else {
				a, err := AddressFromPublicKey(mustHex(t, tc.PublicKeyHex), Mainnet)
				if tc.ID == "pubkey-not-on-curve" {
					if !errors.Is(err, want) {
						t.Fatalf("AddressFromPublicKey(not on curve) = %v, want %v", err, want)
					}
					if err := CheckPublicKey(tc.PublicKeyHex, nil); !errors.Is(err, ErrMalformedPublicKey) {
						t.Errorf("CheckPublicKey(not on curve) = %v", err)
					}
					return
				}
				if err != nil {
					t.Fatalf("AddressFromPublicKey: %v", err)
				}
				addr = a
			}

			if tc.ID == "message-as-bytes-pitfall" {
				// stacks.js treats a Uint8Array "message" as the finished hash.
				// Neither sha256(msg) nor the raw bytes are the message hash...
				for name, h := range map[string][32]byte{
					"sha256(msg)":  sha256.Sum256(msg),
					"msg[:32]":     [32]byte(msg[:32]),
					"no-prefix":    sha256.Sum256(append(AppendVarint(nil, uint64(len(msg))), msg...)),
					"legacy-of-32": HashMessageWithPrefix(PrefixLegacy, msg[:32]),
				} {
					if _, err := VerifyHash(h, tc.RSV, addr); !errors.Is(err, ErrInvalidSignature) {
						t.Errorf("VerifyHash(%s) = %v, want ErrInvalidSignature", name, err)
					}
				}
				// ...while hashing the message the stx_signMessage way verifies.
				if _, err := VerifyMessage(msg, tc.RSV, addr); err != nil {
					t.Errorf("VerifyMessage with the message hashed properly: %v", err)
				}
				return
			}

			pub, err := VerifyMessage(msg, tc.RSV, addr)
			if want == nil {
				if err != nil {
					t.Fatalf("policy says accept, got %v", err)
				}
				if hex.EncodeToString(pub) != tc.PublicKeyHex {
					t.Errorf("recovered %x, want %s", pub, tc.PublicKeyHex)
				}
				return
			}
			if !errors.Is(err, want) {
				t.Fatalf("VerifyMessage = %v, want %v", err, want)
			}
			if pub != nil {
				t.Errorf("a rejected signature returned a public key")
			}
			if tc.SignedMessage != "" { // the originally signed text does verify
				if _, err := VerifyMessage([]byte(tc.SignedMessage), tc.RSV, addr); err != nil {
					t.Errorf("signed_message should verify: %v", err)
				}
			}
		})
	}
}

func TestMessagePolicyVectors(t *testing.T) {
	v := loadVectors(t)
	wantCount(t, v, "message_signing.policy", "message_policy", len(v.MessageSigning.Policy), 7)
	seen := map[string]bool{}
	for _, tc := range v.MessageSigning.Policy {
		seen[tc.ID] = true
		t.Run(tc.ID, func(t *testing.T) {
			msg := []byte(tc.Message)
			switch tc.ID {
			case "high-s":
				addr := addrOf(t, tc.PublicKeyHex, Mainnet)
				if _, err := VerifyMessage(msg, tc.RSV, addr); !errors.Is(err, ErrHighS) {
					t.Fatalf("VerifyMessage = %v, want ErrHighS", err)
				}
				sigs, err := DecodeSignature(tc.RSV)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := RecoverPublicKey(HashMessage(msg), sigs[0]); !errors.Is(err, ErrHighS) {
					t.Errorf("RecoverPublicKey = %v, want ErrHighS", err)
				}
			case "recovery-id-flipped":
				addr := addrOf(t, tc.PublicKeyHex, Mainnet)
				if _, err := VerifyMessage(msg, tc.RSV, addr); !errors.Is(err, ErrInvalidSignature) {
					t.Fatalf("VerifyMessage = %v, want ErrInvalidSignature", err)
				}
				sigs, _ := DecodeSignature(tc.RSV)
				pub, err := RecoverPublicKey(HashMessage(msg), sigs[0])
				if err != nil || hex.EncodeToString(pub) != tc.LibraryRecovered {
					t.Errorf("RecoverPublicKey = %x, %v; want the other key %s", pub, err, tc.LibraryRecovered)
				}
			case "recovery-id-plus-27", "recovery-id-plus-31", "uppercase-hex":
				// Accepted: v normalised (27..34 → 0..3), hex case-insensitive.
				for _, n := range []Network{Mainnet, Testnet} {
					pub, err := VerifyMessage(msg, tc.RSV, addrOf(t, tc.PublicKeyHex, n))
					if err != nil || hex.EncodeToString(pub) != tc.PublicKeyHex {
						t.Fatalf("VerifyMessage(%s) = %x, %v; want accept", n, pub, err)
					}
				}
			case "legacy-prefix":
				addr := addrOf(t, tc.PublicKeyHex, Mainnet)
				pub, err := VerifyMessage(msg, tc.RSV, addr)
				if err != nil || hex.EncodeToString(pub) != tc.PublicKeyHex {
					t.Fatalf("VerifyMessage = %x, %v; want accept via the legacy prefix", pub, err)
				}
				if _, err := VerifyHash(HashMessage(msg), tc.RSV, addr); !errors.Is(err, ErrInvalidSignature) {
					t.Errorf("current-prefix hash should not verify: %v", err)
				}
				if _, err := VerifyHash(HashMessageWithPrefix(PrefixLegacy, msg), tc.RSV, addr); err != nil {
					t.Errorf("legacy-prefix hash: %v", err)
				}
			case "uncompressed-public-key":
				checkUncompressedPolicy(t, tc)
			default:
				t.Fatalf("no stxgate decision recorded for policy vector %q", tc.ID)
			}
		})
	}
	if len(seen) != 7 {
		t.Errorf("saw %d distinct policy ids", len(seen))
	}
}

func checkUncompressedPolicy(t *testing.T, tc vecMsgPolicy) {
	msg := []byte(tc.Message)
	unc := mustHex(t, tc.PublicKeyUncompressedHex)
	comp := mustHex(t, tc.PublicKeyCompressedHex)
	if _, err := AddressFromPublicKey(unc, Mainnet); !errors.Is(err, ErrUncompressedPublicKey) {
		t.Errorf("AddressFromPublicKey(uncompressed) = %v, want ErrUncompressedPublicKey", err)
	}
	if err := CheckPublicKey(tc.PublicKeyUncompressedHex, comp); !errors.Is(err, ErrUncompressedPublicKey) {
		t.Errorf("CheckPublicKey(uncompressed) = %v, want ErrUncompressedPublicKey", err)
	}
	// The stacks.js address of the uncompressed key is hash160 of the 65 bytes.
	if a := (Address{VersionMainnetSingleSig, Hash160(unc)}); a.String() != tc.MainnetFromUncompressed {
		t.Errorf("hash160(uncompressed) address = %s, want %s", a, tc.MainnetFromUncompressed)
	}
	if a := (Address{VersionTestnetSingleSig, Hash160(unc)}); a.String() != tc.TestnetFromUncompressed {
		t.Errorf("hash160(uncompressed) testnet address = %s, want %s", a, tc.TestnetFromUncompressed)
	}
	for _, c := range []struct {
		n    Network
		want string
	}{{Mainnet, tc.MainnetFromCompressed}, {Testnet, tc.TestnetFromCompressed}} {
		a, err := AddressFromPublicKey(comp, c.n)
		if err != nil || a.String() != c.want {
			t.Fatalf("AddressFromPublicKey(compressed, %s) = %v, %v; want %s", c.n, a, err, c.want)
		}
		pub, err := VerifyMessage(msg, tc.RSV, a)
		if err != nil || hex.EncodeToString(pub) != tc.RecoveredPublicKeyHex {
			t.Errorf("VerifyMessage(compressed address %s) = %x, %v", a, pub, err)
		}
		if err := CheckPublicKey(tc.PublicKeyCompressedHex, pub); err != nil {
			t.Errorf("CheckPublicKey(compressed): %v", err)
		}
	}
	if _, err := VerifyMessage(msg, tc.RSV, mustAddress(t, tc.MainnetFromUncompressed)); !errors.Is(err, ErrInvalidSignature) {
		t.Errorf("the uncompressed-key address must not verify: %v", err)
	}
	if h := HashMessage(msg); hex.EncodeToString(h[:]) != tc.HashHex {
		t.Errorf("hash = %x, want %s", h, tc.HashHex)
	}
	// The 64-hex private key is stacks.js's uncompressed form: refused with a reason.
	_, err := ParsePrivateKey(tc.PrivateKeyHex)
	if !errors.Is(err, ErrMalformedPrivateKey) || !strings.Contains(err.Error(), "compressed") {
		t.Errorf("ParsePrivateKey(64 hex) = %v, want ErrMalformedPrivateKey naming compressed keys", err)
	}
	// Same scalar with the 01 suffix: same RFC 6979 signature, compressed key.
	k := mustKey(t, tc.PrivateKeyHex+"01")
	if hex.EncodeToString(k.PublicKey()) != tc.PublicKeyCompressedHex {
		t.Errorf("PublicKey = %x", k.PublicKey())
	}
	if got := must(SignMessage(k, msg)); got != tc.RSV {
		t.Errorf("SignMessage = %s, want %s", got, tc.RSV)
	}
}

func addrOf(t testing.TB, pubHex string, n Network) Address {
	t.Helper()
	a, err := AddressFromPublicKey(mustHex(t, pubHex), n)
	if err != nil {
		t.Fatalf("AddressFromPublicKey(%s): %v", pubHex, err)
	}
	return a
}

// Fixed test material: the Clarinet devnet wallet_1 key (public test key).
const (
	testKeyHex  = "7287ba251d44a4d3fd9276c88ce34c5c52a038955511cccaf77e61068649c17801"
	testAddrHex = "SP1SJ3DTE5DN7X54YDH5D64R3BCB6A2AG2XG1V316"
)

func TestDecodeSignatureForms(t *testing.T) {
	k := mustKey(t, testKeyHex)
	hash := HashMessage([]byte("decode"))
	sig := must(SignHash(k, hash))
	rsv := sig.RSV()
	rsvHex := hex.EncodeToString(rsv[:])
	vrsHex := hex.EncodeToString(append([]byte{sig.RecoveryID}, rsv[:64]...))
	for _, tc := range []struct {
		name, in string
		want     error
	}{
		{"rsv", rsvHex, nil},
		{"rsv 0x", "0x" + rsvHex, nil},
		{"rsv 0X upper", "0X" + strings.ToUpper(rsvHex), nil},
		{"vrs", vrsHex, nil},
		{"vrs 0x", "0x" + vrsHex, nil},
		{"v+27", rsvHex[:128] + hex.EncodeToString([]byte{sig.RecoveryID + 27}), nil},
		{"v+31", rsvHex[:128] + hex.EncodeToString([]byte{sig.RecoveryID + 31}), nil},
		{"vrs v+27", hex.EncodeToString([]byte{sig.RecoveryID + 27}) + rsvHex[:128], nil},
		{"double 0x", "0x0x" + rsvHex, ErrMalformedSignature},
		{"whitespace", " " + rsvHex, ErrMalformedSignature},
		{"trailing newline", rsvHex + "\n", ErrMalformedSignature},
		{"empty", "", ErrMalformedSignature},
		{"0x only", "0x", ErrMalformedSignature},
		{"odd", rsvHex[:129], ErrMalformedSignature},
		{"64 bytes", rsvHex[:128], ErrMalformedSignature},
		{"66 bytes", rsvHex + "00", ErrMalformedSignature},
		{"v=4", rsvHex[:128] + "04", ErrMalformedSignature},
		{"v=26", rsvHex[:128] + "1a", ErrMalformedSignature},
		{"v=35", rsvHex[:128] + "23", ErrMalformedSignature},
		{"non-hex", "g" + rsvHex[1:], ErrMalformedSignature},
		{"unicode", "é" + rsvHex[2:], ErrMalformedSignature},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sigs, err := DecodeSignature(tc.in)
			if tc.want != nil {
				if !errors.Is(err, tc.want) || sigs != nil {
					t.Fatalf("DecodeSignature = %v, %v; want %v", sigs, err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, s := range sigs {
				found = found || s == sig
			}
			if !found {
				t.Errorf("interpretations %+v do not include the signature", sigs)
			}
			if _, err := VerifyHash(hash, tc.in, k.Address(Mainnet)); err != nil {
				t.Errorf("VerifyHash: %v", err)
			}
		})
	}
}

func TestDecodeSignatureOrderAndDedup(t *testing.T) {
	// Both ends valid: RSV first, then VRS.
	in := "01" + strings.Repeat("11", 63) + "1b"
	sigs, err := DecodeSignature(in)
	if err != nil || len(sigs) != 2 {
		t.Fatalf("got %v, %v", sigs, err)
	}
	if sigs[0].RecoveryID != 0 || sigs[0].R[0] != 0x01 || sigs[1].RecoveryID != 1 || sigs[1].R[0] != 0x11 || sigs[1].S[31] != 0x1b {
		t.Errorf("wrong interpretations: %+v", sigs)
	}
	// All zero: RSV and VRS are the same reading; returned once.
	sigs, err = DecodeSignature(strings.Repeat("00", 65))
	if err != nil || len(sigs) != 1 {
		t.Errorf("all-zero: %v, %v", sigs, err)
	}
}

func TestRecoverPublicKeyRanges(t *testing.T) {
	n := secpN()
	hash := HashMessage([]byte("ranges"))
	k := mustKey(t, testKeyHex)
	good := must(SignHash(k, hash))
	set := func(b *big.Int) [32]byte { var out [32]byte; b.FillBytes(out[:]); return out }
	half := new(big.Int).Rsh(n, 1)
	for _, tc := range []struct {
		name string
		mod  func(s *Signature)
		want error
	}{
		{"r=0", func(s *Signature) { s.R = [32]byte{} }, ErrMalformedSignature},
		{"s=0", func(s *Signature) { s.S = [32]byte{} }, ErrMalformedSignature},
		{"r=n", func(s *Signature) { s.R = set(n) }, ErrMalformedSignature},
		{"s=n", func(s *Signature) { s.S = set(n) }, ErrMalformedSignature},
		{"r=2^256-1", func(s *Signature) { s.R = [32]byte(mustHex(t, strings.Repeat("ff", 32))) }, ErrMalformedSignature},
		{"s=n-1 (high)", func(s *Signature) { s.S = set(new(big.Int).Sub(n, big.NewInt(1))) }, ErrHighS},
		{"s=n/2+1 (high)", func(s *Signature) { s.S = set(new(big.Int).Add(half, big.NewInt(1))) }, ErrHighS},
		{"v=4", func(s *Signature) { s.RecoveryID = 4 }, ErrMalformedSignature},
		{"v=2 (r+n overflow impossible)", func(s *Signature) { s.RecoveryID = 2 }, ErrInvalidSignature},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := good
			tc.mod(&s)
			if _, err := RecoverPublicKey(hash, s); !errors.Is(err, tc.want) {
				t.Fatalf("RecoverPublicKey = %v, want %v", err, tc.want)
			}
		})
	}
	// s = n/2 exactly is low.
	s := good
	s.S = set(half)
	if _, err := RecoverPublicKey(hash, s); errors.Is(err, ErrHighS) || errors.Is(err, ErrMalformedSignature) {
		t.Errorf("s = n/2 must pass the range checks: %v", err)
	}
}

func TestVerifyErrorPrecedence(t *testing.T) {
	k := mustKey(t, testKeyHex)
	addr := k.Address(Mainnet)
	hash := HashMessage([]byte("precedence"))
	sig := must(SignHash(k, hash))
	other := must(SignHash(mustKey(t, strings.Repeat("a5", 32)+"01"), hash))
	high := sig
	high.S = [32]byte(new(big.Int).Sub(secpN(), new(big.Int).SetBytes(sig.S[:])).FillBytes(make([]byte, 32)))
	high.RecoveryID ^= 1

	if _, err := VerifyHash(hash, high.String(), addr); !errors.Is(err, ErrHighS) {
		t.Errorf("high-S alone: %v", err)
	}
	if _, err := VerifyHash(hash, other.String(), addr); !errors.Is(err, ErrInvalidSignature) {
		t.Errorf("other key: %v", err)
	}
	if _, err := VerifyHash(hash, strings.Repeat("00", 65), addr); !errors.Is(err, ErrMalformedSignature) {
		t.Errorf("zero: %v", err)
	}
	// A wrong-key RSV whose VRS reading is high-S reports the wrong key, not high-S.
	for i := 0; i < 200; i++ {
		h := HashMessage([]byte{byte(i), 'p'})
		o := must(SignHash(mustKey(t, strings.Repeat("a5", 32)+"01"), h))
		if _, ok := normaliseV(o.R[0]); !ok {
			continue
		}
		rsv := o.RSV()
		var vrs Signature
		vrs.RecoveryID, _ = normaliseV(rsv[0])
		copy(vrs.R[:], rsv[1:33])
		copy(vrs.S[:], rsv[33:65])
		if _, err := RecoverPublicKey(h, vrs); !errors.Is(err, ErrHighS) {
			continue
		}
		if _, err := VerifyHash(h, o.String(), addr); !errors.Is(err, ErrInvalidSignature) {
			t.Fatalf("wrong-key signature with a high-S VRS reading: %v, want ErrInvalidSignature", err)
		}
		return
	}
	t.Fatal("no suitable signature found for the mixed case")
}

// A malleated signature of the right key is reported as high-S even when its
// VRS reading happens to be well-formed and recovers some other key.
func TestVerifyMalleatedWithSecondReading(t *testing.T) {
	k := mustKey(t, testKeyHex)
	for i := 0; i < 400; i++ {
		h := HashMessage([]byte{byte(i), byte(i >> 8), 'm'})
		sig := must(SignHash(k, h))
		if _, ok := normaliseV(sig.R[0]); !ok {
			continue
		}
		high := sig
		high.S = [32]byte(new(big.Int).Sub(secpN(), new(big.Int).SetBytes(sig.S[:])).FillBytes(make([]byte, 32)))
		high.RecoveryID ^= 1
		sigs, err := DecodeSignature(high.String())
		if err != nil || len(sigs) != 2 {
			continue
		}
		if _, err := VerifyHash(h, high.String(), k.Address(Mainnet)); !errors.Is(err, ErrHighS) {
			t.Fatalf("malleated signature with a second reading: %v, want ErrHighS", err)
		}
		if _, err := VerifyHash(h, high.String(), k.Address(Testnet)); !errors.Is(err, ErrHighS) {
			t.Fatalf("testnet: %v", err)
		}
		return
	}
	t.Fatal("no suitable signature found")
}

func TestVerifyRejectsNonSingleSig(t *testing.T) {
	k := mustKey(t, testKeyHex)
	msg := []byte("multisig")
	sig := must(SignMessage(k, msg))
	a := k.Address(Mainnet)
	a.Version = VersionMainnetMultiSig
	_, err := VerifyMessage(msg, sig, a)
	if !errors.Is(err, ErrInvalidSignature) || !strings.Contains(err.Error(), "single-sig") {
		t.Errorf("multisig address: %v", err)
	}
	a.Version = 0
	if _, err := VerifyMessage(msg, sig, a); !errors.Is(err, ErrInvalidSignature) {
		t.Errorf("version 0 address: %v", err)
	}
	// Wrong-key error names the actual signer.
	_, err = VerifyMessage(msg, sig, mustAddress(t, "SP10J81WVGVB3M4PHQN4Q4G0R8586TBJH948RESDR"))
	if !errors.Is(err, ErrInvalidSignature) || !strings.Contains(err.Error(), testAddrHex) {
		t.Errorf("mismatch error should name the signer %s: %v", testAddrHex, err)
	}
}

func TestCheckPublicKey(t *testing.T) {
	k := mustKey(t, testKeyHex)
	pub := k.PublicKey()
	pubHex := hex.EncodeToString(pub)
	other := hex.EncodeToString(mustKey(t, strings.Repeat("a5", 32)+"01").PublicKey())
	for _, tc := range []struct {
		name, in string
		want     error
	}{
		{"exact", pubHex, nil},
		{"0x", "0x" + pubHex, nil},
		{"upper", strings.ToUpper(pubHex), nil},
		{"other key", other, ErrPublicKeyMismatch},
		{"parity flipped", "02" + pubHex[2:], ErrPublicKeyMismatch},
		{"uncompressed", "04" + strings.Repeat("11", 64), ErrUncompressedPublicKey},
		{"empty", "", ErrMalformedPublicKey},
		{"junk", "zz" + pubHex[2:], ErrMalformedPublicKey},
		{"odd", pubHex[:65], ErrMalformedPublicKey},
		{"32 bytes", pubHex[2:], ErrMalformedPublicKey},
		{"bad prefix", "05" + pubHex[2:], ErrMalformedPublicKey},
		{"too long", pubHex + pubHex, ErrMalformedPublicKey},
		{"not on curve", "02" + strings.Repeat("00", 31) + "05", ErrMalformedPublicKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckPublicKey(tc.in, pub)
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("CheckPublicKey(%q) = %v, want %v", tc.in, err, tc.want)
			}
		})
	}
}

// secpN is the secp256k1 group order (tests only).
func secpN() *big.Int {
	n, _ := new(big.Int).SetString("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141", 16)
	return n
}
