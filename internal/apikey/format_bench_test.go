package apikey

import (
	"testing"

	"github.com/stxgate/stxgate/pkg/stacks"
)

// The keyed hot path runs ParseSecret (shape, prefix, checksum) and Hash on
// every request before the cache lookup; these measure that cost.

func benchSecret(b *testing.B) string {
	b.Helper()
	s, err := NewSecret(stacks.Mainnet)
	if err != nil {
		b.Fatal(err)
	}
	return s.String()
}

func BenchmarkParseSecret(b *testing.B) {
	raw := benchSecret(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseSecret(raw, stacks.Mainnet); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSecretHash(b *testing.B) {
	s, err := ParseSecret(benchSecret(b), stacks.Mainnet)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		s.Hash()
	}
}

// BenchmarkParseAndHash is what keyauth does per request: parse + checksum + hash.
func BenchmarkParseAndHash(b *testing.B) {
	raw := benchSecret(b)
	b.ReportAllocs()
	for b.Loop() {
		s, err := ParseSecret(raw, stacks.Mainnet)
		if err != nil {
			b.Fatal(err)
		}
		s.Hash()
	}
}

// BenchmarkParseSecretMistyped is the refusal of a key with a bad checksum:
// no database read, so it must stay as cheap as a good key.
func BenchmarkParseSecretMistyped(b *testing.B) {
	raw := []byte(benchSecret(b))
	if raw[20] == 'A' { // one substituted base62 character: CRC-32 always changes
		raw[20] = 'B'
	} else {
		raw[20] = 'A'
	}
	bad := string(raw)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseSecret(bad, stacks.Mainnet); err == nil {
			b.Fatal("mistyped key parsed")
		}
	}
}
