package stacks

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

// malformedAddressIDs are the addresses.checks entries ParseAddress must refuse.
var malformedAddressIDs = map[string]bool{
	"lowercase-all":      true,
	"lowercase-after-S":  true, // stacks.js normalises it; we require the canonical spelling
	"letter-O-for-zero":  true, // stacks.js maps O→0; we do not
	"bad-checksum":       true,
	"contract-principal": true,
	"empty":              true,
}

func TestAddressCheckVectors(t *testing.T) {
	v := loadVectors(t)
	wantCount(t, v, "addresses.checks", "address_checks", len(v.Addresses.Checks), 12)
	// A real signature by the key all checks use (stacksjs-doc).
	var msg, sig string
	for _, p := range v.MessageSigning.Positive {
		if p.PublicKeyHex == v.Addresses.Checks[0].PublicKeyHex && p.Prefix == "current" {
			msg, sig = p.Message, p.RSV
			break
		}
	}
	if sig == "" {
		t.Fatal("no positive vector for the address-check key")
	}
	for _, tc := range v.Addresses.Checks {
		t.Run(tc.ID, func(t *testing.T) {
			n, err := ParseNetwork(tc.ExpectedNetwork)
			if err != nil {
				t.Fatal(err)
			}
			derived, err := AddressFromPublicKey(mustHex(t, tc.PublicKeyHex), n)
			if err != nil || derived.String() != tc.DerivedAddress {
				t.Fatalf("AddressFromPublicKey = %v, %v; want %s", derived, err, tc.DerivedAddress)
			}
			a, err := ParseAddress(tc.ClaimedAddress)
			if malformedAddressIDs[tc.ID] {
				if !errors.Is(err, ErrMalformedAddress) {
					t.Fatalf("ParseAddress = %v, %v; want ErrMalformedAddress", a, err)
				}
				if tc.ExpectedMatch {
					t.Fatal("vector expects a match for an address we refuse")
				}
				if _, err := ParsePrincipal(tc.ClaimedAddress); tc.ID != "contract-principal" && !errors.Is(err, ErrMalformedPrincipal) {
					t.Errorf("ParsePrincipal = %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseAddress: %v", err)
			}
			if a.String() != tc.ClaimedAddress {
				t.Errorf("String() = %s", a)
			}
			if tc.LibraryDecode.Version == nil || a.Version != *tc.LibraryDecode.Version || hex.EncodeToString(a.Hash160[:]) != tc.LibraryDecode.Hash160Hex {
				t.Errorf("decoded %d/%x, stacks.js %v/%s", a.Version, a.Hash160, tc.LibraryDecode.Version, tc.LibraryDecode.Hash160Hex)
			}
			netErr := CheckAddressNetwork(a, n)
			_, verr := VerifyMessage([]byte(msg), sig, a)
			match := netErr == nil && verr == nil && a == derived
			if match != tc.ExpectedMatch {
				t.Errorf("match = %v (network: %v, verify: %v), want %v", match, netErr, verr, tc.ExpectedMatch)
			}
			switch tc.ID {
			case "wrong-network-testnet-on-mainnet":
				if !errors.Is(netErr, ErrWrongNetwork) || !strings.Contains(netErr.Error(), "testnet address on a mainnet gateway") {
					t.Errorf("CheckAddressNetwork = %v", netErr)
				}
			case "wrong-network-mainnet-on-testnet":
				if !errors.Is(netErr, ErrWrongNetwork) || !strings.Contains(netErr.Error(), "mainnet address on a testnet gateway") {
					t.Errorf("CheckAddressNetwork = %v", netErr)
				}
			case "multisig-version-same-hash":
				if a.IsSingleSig() || netErr != nil || !errors.Is(verr, ErrInvalidSignature) {
					t.Errorf("multisig: single=%v net=%v verify=%v", a.IsSingleSig(), netErr, verr)
				}
			case "other-key":
				if !errors.Is(verr, ErrInvalidSignature) {
					t.Errorf("verify = %v", verr)
				}
			}
		})
	}
}

func TestC32Vectors(t *testing.T) {
	v := loadVectors(t)
	wantCount(t, v, "addresses.c32", "c32_vectors", len(v.Addresses.C32), 24)
	for _, tc := range v.Addresses.C32 {
		t.Run(tc.Address, func(t *testing.T) {
			hash := mustHex(t, tc.Hash160Hex)
			sum := mustHex(t, tc.ChecksumHex)
			if got := c32Checksum(tc.Version, hash); hex.EncodeToString(got[:]) != tc.ChecksumHex {
				t.Errorf("checksum = %x, want %s", got, tc.ChecksumHex)
			}
			if got := C32CheckEncode(tc.Version, hash); "S"+got != tc.Address {
				t.Errorf("C32CheckEncode = %s", got)
			}
			payload := append(append([]byte{}, hash...), sum...)
			if got := C32Encode(payload); got != tc.Address[2:] {
				t.Errorf("C32Encode = %s, want %s", got, tc.Address[2:])
			}
			if got, err := C32Decode(tc.Address[2:]); err != nil || hex.EncodeToString(got) != hex.EncodeToString(payload) {
				t.Errorf("C32Decode = %x, %v", got, err)
			}
			ver, data, err := C32CheckDecode(tc.Address[1:])
			if err != nil || ver != tc.Version || hex.EncodeToString(data) != tc.Hash160Hex {
				t.Errorf("C32CheckDecode = %d, %x, %v", ver, data, err)
			}
			a := Address{Version: tc.Version, Hash160: [20]byte(hash)}
			if a.String() != tc.Address {
				t.Errorf("Address.String() = %s", a)
			}
			if got, err := ParseAddress(tc.Address); err != nil || got != a {
				t.Errorf("ParseAddress = %v, %v", got, err)
			}
			n, ok := a.Network()
			wantNet := map[byte]Network{22: Mainnet, 20: Mainnet, 26: Testnet, 21: Testnet}[tc.Version]
			if !ok || n != wantNet {
				t.Errorf("Network() = %v, %v", n, ok)
			}
			if a.IsSingleSig() != (tc.Version == 22 || tc.Version == 26) {
				t.Errorf("IsSingleSig() = %v", a.IsSingleSig())
			}
			if err := CheckAddressNetwork(a, wantNet); err != nil {
				t.Errorf("CheckAddressNetwork: %v", err)
			}
		})
	}
}

func TestC32EdgeCases(t *testing.T) {
	for _, tc := range []struct {
		hex, c32 string
	}{
		{"", ""},
		{"00", "0"},
		{"0000", "00"},
		{"01", "1"},
		{"1f", "Z"},
		{"20", "10"},
		{"0001", "01"},
		{"ff", "7Z"},
		{"ffff", "1ZZZ"},
		{"000000ff", "0007Z"},
	} {
		b := mustHex(t, tc.hex)
		if got := C32Encode(b); got != tc.c32 {
			t.Errorf("C32Encode(%s) = %q, want %q", tc.hex, got, tc.c32)
		}
		got, err := C32Decode(tc.c32)
		if err != nil || hex.EncodeToString(got) != tc.hex || got == nil {
			t.Errorf("C32Decode(%q) = %x, %v", tc.c32, got, err)
		}
	}
	for _, bad := range []string{"o", "O", "I", "L", "U", "a", "-", " ", "é"} {
		if _, err := C32Decode("0" + bad); err == nil {
			t.Errorf("C32Decode accepted %q", bad)
		}
	}
	if C32CheckEncode(32, []byte{1}) != "" {
		t.Error("version 32 must not encode")
	}
	for _, bad := range []string{"", "P", "P0", "P000", "p00000000", "PZZZZZZZ"} {
		if _, _, err := C32CheckDecode(bad); err == nil {
			t.Errorf("C32CheckDecode(%q) accepted", bad)
		}
	}
}

func TestParseAddressStrict(t *testing.T) {
	const good = "SP10J81WVGVB3M4PHQN4Q4G0R8586TBJH948RESDR"
	if _, err := ParseAddress(good); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ in, why string }{
		{"", "empty"},
		{"S", "too short"},
		{"SP", "too short"},
		{"XP10J81WVGVB3M4PHQN4Q4G0R8586TBJH948RESDR", `start with "S"`},
		{"sP10J81WVGVB3M4PHQN4Q4G0R8586TBJH948RESDR", `start with "S"`},
		{"Sp10J81WVGVB3M4PHQN4Q4G0R8586TBJH948RESDR", "invalid character 'p' at position 1"},
		{"SP1OJ81WVGVB3M4PHQN4Q4G0R8586TBJH948RESDR", "invalid character 'O' at position 3"},
		{"SP1IJ81WVGVB3M4PHQN4Q4G0R8586TBJH948RESDR", "invalid character 'I'"},
		{"SP10J81WVGVB3M4PHQN4Q4G0R8586TBJH948RESDS", "checksum"},
		{"SP10J81WVGVB3M4PHQN4Q4G0R8586TBJH948RESD", "checksum"},
		{"SP10J81WVGVB3M4PHQN4Q4G0R8586TBJH948", "wrong length"},
		{"SP10J81WVGVB3M4PHQN4Q4G0R8586TBJH948RESDR0", "wrong length"},
		{"SP010J81WVGVB3M4PHQN4Q4G0R8586TBJH948RESDR", "wrong length"},
		{good + ".c", "contract principal"},
		{" " + good, `start with "S"`},
		{good + " ", "invalid character ' '"},
		{good + strings.Repeat("0", 40), "too long"},
		{"ST10J81WVGVB3M4PHQN4Q4G0R8586TBJH948RESDR", "checksum"}, // version swapped
	} {
		_, err := ParseAddress(tc.in)
		if !errors.Is(err, ErrMalformedAddress) || !strings.Contains(err.Error(), tc.why) {
			t.Errorf("ParseAddress(%q) = %v, want ErrMalformedAddress saying %q", tc.in, err, tc.why)
		}
	}
}

func TestCheckAddressNetworkUnknownVersion(t *testing.T) {
	a := Address{Version: 0}
	if err := CheckAddressNetwork(a, Mainnet); !errors.Is(err, ErrWrongNetwork) {
		t.Errorf("version 0: %v", err)
	}
	if _, ok := a.Network(); ok {
		t.Error("version 0 has no network")
	}
	if (Address{Version: 40}).String() != "" {
		t.Error("version 40 must not render")
	}
}

func TestAddressFromPublicKeyErrors(t *testing.T) {
	pub := mustKey(t, testKeyHex).PublicKey()
	if a, err := AddressFromPublicKey(pub, Mainnet); err != nil || a.String() != testAddrHex {
		t.Fatalf("AddressFromPublicKey = %v, %v", a, err)
	}
	for _, tc := range []struct {
		name string
		pub  []byte
		n    Network
		want error
	}{
		{"nil", nil, Mainnet, ErrMalformedPublicKey},
		{"32 bytes", pub[1:], Mainnet, ErrMalformedPublicKey},
		{"bad prefix", append([]byte{0x04}, pub[1:]...), Mainnet, ErrMalformedPublicKey},
		{"uncompressed", append([]byte{0x04}, make([]byte, 64)...), Mainnet, ErrUncompressedPublicKey},
		{"hybrid", append([]byte{0x06}, make([]byte, 64)...), Mainnet, ErrUncompressedPublicKey},
		{"x >= p", append([]byte{0x02}, mustHex(t, strings.Repeat("ff", 32))...), Mainnet, ErrMalformedPublicKey},
		{"no network", pub, 0, ErrWrongNetwork},
		{"network 3", pub, 3, ErrWrongNetwork},
	} {
		if _, err := AddressFromPublicKey(tc.pub, tc.n); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestNetwork(t *testing.T) {
	for _, tc := range []struct {
		s       string
		n       Network
		version byte
		chain   uint64
	}{
		{"mainnet", Mainnet, 22, 1},
		{"testnet", Testnet, 26, 2147483648},
	} {
		n, err := ParseNetwork(tc.s)
		if err != nil || n != tc.n || n.String() != tc.s || n.AddressVersion() != tc.version || n.ChainID() != tc.chain {
			t.Errorf("%s: %v %v %v %v", tc.s, n, err, n.AddressVersion(), n.ChainID())
		}
	}
	for _, bad := range []string{"", "Mainnet", "main", "devnet", " testnet"} {
		if _, err := ParseNetwork(bad); err == nil {
			t.Errorf("ParseNetwork(%q) accepted", bad)
		}
	}
	if Network(0).String() != "Network(0)" || Network(9).AddressVersion() != 0 || Network(9).ChainID() != 0 {
		t.Error("invalid networks")
	}
}
