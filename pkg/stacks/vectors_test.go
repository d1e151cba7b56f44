package stacks

import (
	"encoding/hex"
	"testing"

	"github.com/stxgate/stxgate/pkg/vectors"
)

// The shared vectors were produced by stacks.js (see shared/vectors/README.md).

// The vector model and loader live in pkg/vectors (shared with the
// other packages' tests); these aliases keep this file's names short.
type (
	vecKey       = vectors.Key
	vecMsgPolicy = vectors.MessagePolicy
	vecClarity   = vectors.ClarityValue
	vecField     = vectors.Field
	vectorFile   = vectors.File
)

func loadVectors(t testing.TB) *vectorFile { return vectors.Load(t) }

// wantCount pins the size of a vector section so that a regenerated file with
// more or fewer entries is noticed.
func wantCount(t *testing.T, v *vectorFile, section, countKey string, got, want int) {
	t.Helper()
	if got != want {
		t.Fatalf("%s: %d entries, this test was written for %d", section, got, want)
	}
	if countKey != "" && v.Meta.Counts[countKey] != want {
		t.Fatalf("%s: meta.counts.%s = %d, want %d", section, countKey, v.Meta.Counts[countKey], want)
	}
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex in vectors %q: %v", s, err)
	}
	return b
}

func mustHash(t testing.TB, s string) [32]byte {
	t.Helper()
	b := mustHex(t, s)
	if len(b) != 32 {
		t.Fatalf("hash %q is %d bytes", s, len(b))
	}
	return [32]byte(b)
}

func mustAddress(t testing.TB, s string) Address {
	t.Helper()
	a, err := ParseAddress(s)
	if err != nil {
		t.Fatalf("ParseAddress(%q): %v", s, err)
	}
	return a
}

// must unwraps a signature of a known-good key.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func mustKey(t testing.TB, s string) *PrivateKey {
	t.Helper()
	k, err := ParsePrivateKey(s)
	if err != nil {
		t.Fatalf("ParsePrivateKey(%q): %v", s, err)
	}
	return k
}

// keysByID indexes the vector keys.
func keysByID(v *vectorFile) map[string]vecKey {
	m := make(map[string]vecKey, len(v.Keys))
	for _, k := range v.Keys {
		m[k.ID] = k
	}
	return m
}

func prefixFor(t testing.TB, name string) string {
	t.Helper()
	switch name {
	case "current":
		return PrefixCurrent
	case "legacy":
		return PrefixLegacy
	}
	t.Fatalf("unknown prefix %q", name)
	return ""
}
