package apikey

import (
	"bytes"
	"hash/crc32"
	"strings"
	"testing"

	"github.com/stxgate/stxgate/pkg/stacks"
)

func TestGeneratedKeysParse(t *testing.T) {
	for _, n := range []stacks.Network{stacks.Mainnet, stacks.Testnet} {
		s, err := NewSecret(n)
		if err != nil {
			t.Fatal(err)
		}
		if len(s.String()) != keyLen || !strings.HasPrefix(s.String(), PrefixFor(n)) {
			t.Fatalf("%s key %q", n, s)
		}
		p, err := ParseSecret(s.String(), n)
		if err != nil || p.Hash() != s.Hash() || p.Display() != s.String()[:16] {
			t.Fatalf("parse own key: %v", err)
		}
	}
}

func TestGenerateIsDeterministicForAReader(t *testing.T) {
	a, _ := Generate(bytes.NewReader(make([]byte, 32)), stacks.Mainnet)
	b, _ := Generate(bytes.NewReader(make([]byte, 32)), stacks.Mainnet)
	if a.String() != b.String() || a.String()[:51] != "ck_live_"+strings.Repeat("0", 43) {
		t.Fatalf("all-zero key %q", a)
	}
	if _, err := Generate(bytes.NewReader(make([]byte, 31)), stacks.Mainnet); err == nil {
		t.Fatal("short random source accepted")
	}
}

func TestParseSecretRejects(t *testing.T) {
	good, _ := NewSecret(stacks.Mainnet)
	k := good.String()
	flip := func(i int) string {
		b := []byte(k)
		if b[i] == 'a' {
			b[i] = 'b'
		} else {
			b[i] = 'a'
		}
		return string(b)
	}
	cases := map[string]string{
		"Empty":           "",
		"Short":           k[:len(k)-1],
		"Long":            k + "0",
		"OtherNetwork":    strings.Replace(k, PrefixLive, PrefixTest, 1),
		"NoPrefix":        "xx_live_" + k[8:],
		"NonBase62":       k[:20] + "-" + k[21:],
		"TypoInBody":      flip(20),
		"TypoInChecksum":  flip(len(k) - 1),
		"Whitespace":      " " + k[1:],
		"UpperCasePrefix": strings.ToUpper(k[:8]) + k[8:],
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := ParseSecret(in, stacks.Mainnet); err == nil {
				t.Fatalf("accepted %q", in)
			}
		})
	}
}

// The fast checksum must equal the generic base62 encoding of the CRC.
func TestChecksumMatchesBigIntEncoding(t *testing.T) {
	for _, head := range []string{"", "ck_live_", "ck_test_abc", strings.Repeat("z", 51)} {
		v := crc32.ChecksumIEEE([]byte(head))
		want := encodeBase62([]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}, checkLen)
		if got := checksum(head); got != want {
			t.Fatalf("checksum(%q) = %q, want %q", head, got, want)
		}
	}
}

// crcIEEE is crc32.ChecksumIEEE, for heads of every length and byte.
func TestCRCIEEEMatchesHashCRC32(t *testing.T) {
	var b []byte
	for n := range 300 {
		if got, want := crcIEEE(string(b)), crc32.ChecksumIEEE(b); got != want {
			t.Fatalf("crcIEEE(%q) = %#x, want %#x", b, got, want)
		}
		b = append(b, byte(n*151+7))
	}
}

func TestValidID(t *testing.T) {
	for _, id := range []string{"3f1c0a52-9d4e-4b7a-8c21-5e6f7a8b9c0d", "00000000-0000-0000-0000-000000000000"} {
		if !ValidID(id) {
			t.Errorf("%q refused", id)
		}
	}
	for _, id := range []string{"", "nope", "3F1C0A52-9D4E-4B7A-8C21-5E6F7A8B9C0D", "3f1c0a52-9d4e-4b7a-8c21-5e6f7a8b9c0\x00",
		"3f1c0a52-9d4e-4b7a-8c21-5e6f7a8b9c0\xff", "3f1c0a529d4e4b7a8c215e6f7a8b9c0d", "3f1c0a52-9d4e-4b7a-8c21-5e6f7a8b9c0d0",
		"3f1c0a52_9d4e-4b7a-8c21-5e6f7a8b9c0d", strings.Repeat("a", 1<<20)} {
		if ValidID(id) {
			t.Errorf("%q accepted", id)
		}
	}
}
