package stacks

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math/big"
	"strings"
	"testing"
)

// Seeds beyond these come from testdata/fuzz/<FuzzName>/, taken from the
// stacks.js vectors. Every target checks properties, not only "no panic".

func FuzzDecodeSignature(f *testing.F) {
	f.Add("b4ff9ed8a324c5ceb7e543832347f591a8ce085f3f1a793223d71c55d0f5931c32a5fa708b5209bf1105919cbfc2e4a2ad6542f2ccfc1f6b5ca78401e102894c01")
	f.Add("0x01" + strings.Repeat("11", 64))
	f.Add(strings.Repeat("00", 65))
	f.Add("")
	hash := HashMessage([]byte("fuzz"))
	f.Fuzz(func(t *testing.T, s string) {
		sigs, err := DecodeSignature(s)
		raw, herr := hex.DecodeString(trim0x(s))
		if err != nil {
			if !errors.Is(err, ErrMalformedSignature) || sigs != nil {
				t.Fatalf("error %v with %d readings", err, len(sigs))
			}
			if herr == nil && len(raw) == 65 {
				_, okLast := normaliseV(raw[64])
				_, okFirst := normaliseV(raw[0])
				if okLast || okFirst {
					t.Fatalf("rejected a well-formed signature: %v", err)
				}
			}
			return
		}
		if herr != nil || len(raw) != 65 || len(sigs) < 1 || len(sigs) > 2 {
			t.Fatalf("accepted %q as %d readings (hex err %v)", s, len(sigs), herr)
		}
		if v, ok := normaliseV(raw[64]); ok {
			want := Signature{R: [32]byte(raw[:32]), S: [32]byte(raw[32:64]), RecoveryID: v}
			if sigs[0] != want {
				t.Fatalf("first reading is not RSV")
			}
		}
		for _, sig := range sigs {
			again, err := DecodeSignature(sig.String())
			if err != nil || again[0] != sig || sig.String() != strings.ToLower(sig.String()) {
				t.Fatalf("String() does not round-trip: %v", err)
			}
			pub, err := RecoverPublicKey(hash, sig)
			if err == nil {
				if _, err := AddressFromPublicKey(pub, Mainnet); err != nil {
					t.Fatalf("recovered an invalid key: %v", err)
				}
			} else if !errors.Is(err, ErrMalformedSignature) && !errors.Is(err, ErrHighS) && !errors.Is(err, ErrInvalidSignature) {
				t.Fatalf("unexpected error %v", err)
			}
		}
	})
}

func FuzzParseAddress(f *testing.F) {
	f.Add("SP10J81WVGVB3M4PHQN4Q4G0R8586TBJH948RESDR")
	f.Add("sp10j81wvgvb3m4phqn4q4g0r8586tbjh948resdr")
	f.Add("SP000000000000000000002Q6VF78")
	f.Add("S")
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseAddress(s)
		if err != nil {
			if !errors.Is(err, ErrMalformedAddress) {
				t.Fatalf("error without ErrMalformedAddress: %v", err)
			}
			// Nothing the generic c32check decoder accepts as an address may be refused.
			if len(s) > 1 && s[0] == 'S' {
				if _, data, err2 := C32CheckDecode(s[1:]); err2 == nil && len(data) == 20 {
					t.Fatalf("C32CheckDecode accepts %q but ParseAddress says %v", s, err)
				}
			}
			return
		}
		if a.String() != s {
			t.Fatalf("ParseAddress(%q).String() = %q", s, a.String())
		}
		v, data, err := C32CheckDecode(s[1:])
		if err != nil || v != a.Version || !bytes.Equal(data, a.Hash160[:]) {
			t.Fatalf("C32CheckDecode disagrees: %d %x %v", v, data, err)
		}
		p, err := ParsePrincipal(s)
		if err != nil || p.Address != a || p.IsContract() {
			t.Fatalf("ParsePrincipal disagrees: %v", err)
		}
	})
}

func FuzzC32CheckDecode(f *testing.F) {
	f.Add("P10J81WVGVB3M4PHQN4Q4G0R8586TBJH948RESDR")
	f.Add("0000000")
	f.Add("P0O1IL")
	f.Fuzz(func(t *testing.T, s string) {
		if data, err := C32Decode(s); err == nil {
			if C32Encode(data) != s {
				t.Fatalf("C32Encode(C32Decode(%q)) = %q", s, C32Encode(data))
			}
		} else {
			for i := 0; i < len(s); i++ {
				if _, ok := c32Value(s[i]); !ok {
					return
				}
			}
			t.Fatalf("C32Decode refused an all-canonical string: %v", err)
		}
		v, data, err := C32CheckDecode(s)
		if err != nil {
			return
		}
		if got := C32CheckEncode(v, data); got != s {
			t.Fatalf("C32CheckEncode(C32CheckDecode(%q)) = %q", s, got)
		}
	})
}

func FuzzC32CheckRoundTrip(f *testing.F) {
	f.Add(byte(22), []byte("\x41\x24\x07\x9b\x86\xd6\x3a\x12\xd1\xbd\x49\x72\x40\x18\x41\x50\x6d\x2e\x51\x49"))
	f.Add(byte(26), make([]byte, 20))
	f.Add(byte(0), []byte{})
	f.Fuzz(func(t *testing.T, version byte, data []byte) {
		dec, err := C32Decode(C32Encode(data))
		if err != nil || !bytes.Equal(dec, data) {
			t.Fatalf("C32 round trip of %x: %x, %v", data, dec, err)
		}
		v := version % 32
		enc := C32CheckEncode(v, data)
		gv, gd, err := C32CheckDecode(enc)
		if err != nil || gv != v || !bytes.Equal(gd, data) {
			t.Fatalf("C32Check round trip of %d/%x via %q: %d/%x, %v", v, data, enc, gv, gd, err)
		}
		if len(data) == 20 {
			a := Address{Version: v, Hash160: [20]byte(data)}
			b, err := ParseAddress(a.String())
			if err != nil || b != a {
				t.Fatalf("address round trip %s: %v", a, err)
			}
		}
	})
}

func FuzzParsePrincipal(f *testing.F) {
	f.Add("SM3VDXK3WZZSA84XXFKAFAF15NNZX32CTSG82JFQ4.sbtc-token")
	f.Add("SP10J81WVGVB3M4PHQN4Q4G0R8586TBJH948RESDR")
	f.Add("SP10J81WVGVB3M4PHQN4Q4G0R8586TBJH948RESDR.")
	f.Add("SP10J81WVGVB3M4PHQN4Q4G0R8586TBJH948RESDR.a.b")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePrincipal(s)
		if err != nil {
			if !errors.Is(err, ErrMalformedPrincipal) {
				t.Fatalf("error without ErrMalformedPrincipal: %v", err)
			}
			return
		}
		if p.String() != s {
			t.Fatalf("ParsePrincipal(%q).String() = %q", s, p.String())
		}
		if p.IsContract() && checkContractName(p.ContractName) != nil {
			t.Fatalf("accepted contract name %q", p.ContractName)
		}
		ser := Serialize(PrincipalValue(p))
		want := 22
		if p.IsContract() {
			want = 23 + len(p.ContractName)
		}
		if len(ser) != want {
			t.Fatalf("serialised %d bytes, want %d", len(ser), want)
		}
	})
}

func FuzzVerifyMessage(f *testing.F) {
	f.Add([]byte("hello world"), "7b9376d9a3881b421d98ae80f351a418b7e4bf756597677f6dbef5c83cf0c56c2864284fed41d09e5d9f2f6ee83643e820cc8d97977ea061f74fbd9e51a0768401")
	f.Add([]byte{}, "")
	f.Add([]byte("x"), strings.Repeat("ff", 65))
	k, err := ParsePrivateKey(testKeyHex)
	if err != nil {
		f.Fatal(err)
	}
	addr := k.Address(Mainnet)
	other := mustAddress(f, "SP10J81WVGVB3M4PHQN4Q4G0R8586TBJH948RESDR")
	f.Fuzz(func(t *testing.T, msg []byte, sig string) {
		pub, err := VerifyMessage(msg, sig, addr)
		switch {
		case err == nil:
			if !bytes.Equal(pub, k.PublicKey()) {
				t.Fatalf("verified with a foreign key %x", pub)
			}
		case !errors.Is(err, ErrMalformedSignature) && !errors.Is(err, ErrHighS) && !errors.Is(err, ErrInvalidSignature):
			t.Fatalf("unexpected error %v", err)
		case pub != nil:
			t.Fatal("a failed verification returned a key")
		}
		good := must(SignMessage(k, msg))
		if pub, err := VerifyMessage(msg, good, addr); err != nil || !bytes.Equal(pub, k.PublicKey()) {
			t.Fatalf("own signature does not verify: %v", err)
		}
		if _, err := VerifyMessage(msg, good, other); !errors.Is(err, ErrInvalidSignature) {
			t.Fatalf("own signature verifies for another address: %v", err)
		}
	})
}

func FuzzUIntFromString(f *testing.F) {
	f.Add("0")
	f.Add("340282366920938463463374607431768211455")
	f.Add("340282366920938463463374607431768211456")
	f.Add("-170141183460469231731687303715884105728")
	f.Add("+1")
	two128 := new(big.Int).Lsh(big.NewInt(1), 128)
	two127 := new(big.Int).Lsh(big.NewInt(1), 127)
	f.Fuzz(func(t *testing.T, s string) {
		digits := func(d string) bool {
			if d == "" {
				return false
			}
			for i := 0; i < len(d); i++ {
				if d[i] < '0' || d[i] > '9' {
					return false
				}
			}
			return true
		}
		want, _ := new(big.Int).SetString(s, 10)

		u, err := UIntFromString(s)
		uok := digits(s) && want != nil && want.Cmp(two128) < 0
		if (err == nil) != uok {
			t.Fatalf("UIntFromString(%q) err = %v, want ok=%v", s, err, uok)
		}
		if err != nil && !errors.Is(err, ErrClarityValue) {
			t.Fatalf("error without ErrClarityValue: %v", err)
		}
		if uok && hex.EncodeToString(Serialize(u)) != "01"+hex.EncodeToString(want.FillBytes(make([]byte, 16))) {
			t.Fatalf("UIntFromString(%q) = %x", s, Serialize(u))
		}

		i, err := IntFromString(s)
		iok := (digits(s) || len(s) > 1 && s[0] == '-' && digits(s[1:])) && want != nil &&
			want.Cmp(two127) < 0 && want.Cmp(new(big.Int).Neg(two127)) >= 0
		if (err == nil) != iok {
			t.Fatalf("IntFromString(%q) err = %v, want ok=%v", s, err, iok)
		}
		if iok {
			tc := new(big.Int).Set(want)
			if tc.Sign() < 0 {
				tc.Add(tc, two128)
			}
			if hex.EncodeToString(Serialize(i)) != "00"+hex.EncodeToString(tc.FillBytes(make([]byte, 16))) {
				t.Fatalf("IntFromString(%q) = %x", s, Serialize(i))
			}
		}
	})
}
