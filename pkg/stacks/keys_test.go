package stacks

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

func TestKeyVectors(t *testing.T) {
	v := loadVectors(t)
	wantCount(t, v, "keys", "keys", len(v.Keys), 9)
	for _, tc := range v.Keys {
		t.Run(tc.ID, func(t *testing.T) {
			k := mustKey(t, tc.PrivateKeyHex)
			if k.Hex() != tc.PrivateKeyHex {
				t.Errorf("Hex() = %s", k.Hex())
			}
			pub := k.PublicKey()
			if hex.EncodeToString(pub) != tc.PublicKeyHex {
				t.Errorf("PublicKey = %x, want %s", pub, tc.PublicKeyHex)
			}
			if h := Hash160(pub); hex.EncodeToString(h[:]) != tc.Hash160Hex {
				t.Errorf("Hash160 = %x, want %s", h, tc.Hash160Hex)
			}
			if a := k.Address(Mainnet); a.String() != tc.AddressMainnet {
				t.Errorf("mainnet = %s, want %s", a, tc.AddressMainnet)
			}
			if a := k.Address(Testnet); a.String() != tc.AddressTestnet {
				t.Errorf("testnet = %s, want %s", a, tc.AddressTestnet)
			}
			h := Hash160(pub)
			if a := (Address{VersionMainnetMultiSig, h}); a.String() != tc.AddressMainnetMulti {
				t.Errorf("SM = %s", a)
			}
			if a := (Address{VersionTestnetMultiSig, h}); a.String() != tc.AddressTestnetMulti {
				t.Errorf("SN = %s", a)
			}
			if c := c32Checksum(VersionMainnetSingleSig, h[:]); hex.EncodeToString(c[:]) != tc.C32Check.Mainnet {
				t.Errorf("mainnet checksum %x", c)
			}
			if c := c32Checksum(VersionTestnetSingleSig, h[:]); hex.EncodeToString(c[:]) != tc.C32Check.Testnet {
				t.Errorf("testnet checksum %x", c)
			}
			for _, n := range []Network{Mainnet, Testnet} {
				a, err := AddressFromPublicKey(pub, n)
				if err != nil || a != k.Address(n) {
					t.Errorf("AddressFromPublicKey(%s) = %v, %v", n, a, err)
				}
			}
			if _, err := AddressFromPublicKey(mustHex(t, tc.PublicKeyUncompressed), Mainnet); !errors.Is(err, ErrUncompressedPublicKey) {
				t.Errorf("uncompressed key: %v", err)
			}
			if _, err := ParsePrivateKey(tc.PrivateKeyScalarHex); !errors.Is(err, ErrMalformedPrivateKey) {
				t.Errorf("64-hex key accepted: %v", err)
			}
			for _, form := range []string{"0x" + tc.PrivateKeyHex, strings.ToUpper(tc.PrivateKeyHex)} {
				if k2, err := ParsePrivateKey(form); err != nil || k2.Hex() != tc.PrivateKeyHex {
					t.Errorf("ParsePrivateKey(%s): %v", form, err)
				}
			}
		})
	}
}

func TestParsePrivateKeyErrors(t *testing.T) {
	n := "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141"
	for _, tc := range []struct{ in, why string }{
		{"", "0 hex"},
		{strings.Repeat("11", 32), "only compressed"},
		{strings.Repeat("11", 32) + "02", "suffix 0x02"},
		{strings.Repeat("11", 32) + "00", "suffix 0x00"},
		{strings.Repeat("00", 32) + "01", "0 or not below"},
		{n + "01", "0 or not below"},
		{strings.Repeat("ff", 32) + "01", "0 or not below"},
		{"zz" + strings.Repeat("11", 31) + "01", "non-hex"},
		{strings.Repeat("11", 33) + "01", "68 hex"},
	} {
		_, err := ParsePrivateKey(tc.in)
		if !errors.Is(err, ErrMalformedPrivateKey) || !strings.Contains(err.Error(), tc.why) {
			t.Errorf("ParsePrivateKey(%q) = %v, want %q", tc.in, err, tc.why)
		}
	}
}

func TestGeneratePrivateKey(t *testing.T) {
	k, err := GeneratePrivateKey()
	if err != nil {
		t.Fatal(err)
	}
	k2, err := ParsePrivateKey(k.Hex())
	if err != nil || k2.Hex() != k.Hex() {
		t.Fatalf("round trip: %v", err)
	}
	msg := []byte("generated")
	pub, err := VerifyMessage(msg, must(SignMessage(k, msg)), k.Address(Testnet))
	if err != nil || hex.EncodeToString(pub) != hex.EncodeToString(k.PublicKey()) {
		t.Fatalf("sign/verify: %v", err)
	}
}

func TestZeroPrivateKey(t *testing.T) {
	for _, k := range []*PrivateKey{nil, {}} {
		if k.Hex() != "" || k.PublicKey() != nil || k.Address(Mainnet) != (Address{}) {
			t.Error("zero key must have no material")
		}
		if sig, err := SignMessage(k, []byte("x")); sig != "" || !errors.Is(err, ErrNoPrivateKey) {
			t.Errorf("SignMessage with a zero key: %q, %v; want no signature and ErrNoPrivateKey", sig, err)
		}
		if sig, err := SignHash(k, [32]byte{1}); sig != (Signature{}) || !errors.Is(err, ErrNoPrivateKey) {
			t.Errorf("SignHash with a zero key: %+v, %v; want no signature and ErrNoPrivateKey", sig, err)
		}
		if sig, err := SignStructuredData(k, UInt(1), UInt(2)); sig != "" || !errors.Is(err, ErrNoPrivateKey) {
			t.Errorf("SignStructuredData with a zero key: %q, %v; want no signature and ErrNoPrivateKey", sig, err)
		}
	}
}
