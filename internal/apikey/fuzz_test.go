package apikey_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stxgate/stxgate/internal/apikey"
	"github.com/stxgate/stxgate/pkg/stacks"
)

// keyLen is ck_live_ + 43 base62 body characters + 6 checksum characters.
const keyLen = len(apikey.PrefixLive) + 43 + 6

// FuzzParseSecret: ParseSecret never panics, accepts only well-formed keys of
// its network, and every generated key parses (from any random bytes).
func FuzzParseSecret(f *testing.F) {
	f.Add("ck_live_0000000000000000000000000000000000000000000000000", []byte{})
	f.Add("ck_test_zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz", bytes.Repeat([]byte{0xff}, 32))
	f.Add("ck_live_", bytes.Repeat([]byte{1}, 40))
	f.Add("", []byte("0123456789abcdef0123456789abcdef"))
	f.Add(strings.Repeat("ü", 30), []byte{})
	f.Fuzz(func(t *testing.T, s string, random []byte) {
		for _, n := range []stacks.Network{stacks.Mainnet, stacks.Testnet} {
			sec, err := apikey.ParseSecret(s, n)
			if err == nil {
				if len(s) != keyLen || !strings.HasPrefix(s, apikey.PrefixFor(n)) || sec.String() != s ||
					!strings.HasPrefix(s, sec.Display()) || len(sec.Display()) != apikey.DisplayLen {
					t.Fatalf("accepted malformed key %q on %s", s, n)
				}
				if _, err := apikey.ParseSecret(s, other(n)); err == nil {
					t.Fatalf("key %q accepted on both networks", s)
				}
				// One changed character must break it (CRC-32 catches every single-character change).
				b := []byte(s)
				i := len(apikey.PrefixLive) + int(sec.Hash()[0])%(keyLen-len(apikey.PrefixLive))
				b[i] = flip(b[i])
				if _, err := apikey.ParseSecret(string(b), n); err == nil {
					t.Fatalf("key with character %d changed still parses: %q", i, b)
				}
			} else if strings.Contains(err.Error(), s) && len(s) > 8 {
				t.Fatalf("error text echoes the presented key: %v", err)
			}
			if len(random) < 32 {
				continue
			}
			gen, err := apikey.Generate(bytes.NewReader(random), n)
			if err != nil {
				t.Fatalf("generate: %v", err)
			}
			back, err := apikey.ParseSecret(gen.String(), n)
			if err != nil || back.Hash() != gen.Hash() || len(gen.String()) != keyLen {
				t.Fatalf("generated key %q does not parse: %v", gen, err)
			}
		}
	})
}

func other(n stacks.Network) stacks.Network {
	if n == stacks.Mainnet {
		return stacks.Testnet
	}
	return stacks.Mainnet
}

// flip changes a base62 character into another base62 character.
func flip(c byte) byte {
	if c == 'z' {
		return '0'
	}
	if c == '9' {
		return 'A'
	}
	if c == 'Z' {
		return 'a'
	}
	return c + 1
}
