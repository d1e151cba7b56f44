package vectors

import (
	"bytes"
	"os"
	"testing"
)

// The committed copy must be the workspace's shared/vectors, byte for byte.
func TestCopyMatchesShared(t *testing.T) {
	p := SharedPath()
	if p == "" {
		t.Skip("no shared/vectors above this checkout (a bare clone): the committed copy is what the tests use")
	}
	shared, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(shared, Embedded()) {
		t.Fatalf("pkg/vectors/stacks-vectors.json differs from %s: copy it again", p)
	}
}

func TestLoadHasEverySection(t *testing.T) {
	f := Load(t)
	if len(f.Keys) != 9 || len(f.MessageSigning.Positive) != 91 || len(f.MessageSigning.Negative) != 21 ||
		len(f.MessageSigning.Policy) != 7 || len(f.SIP018.Positive) != 42 || len(f.SIP018.Negative) != 10 {
		t.Fatalf("sections: keys %d, message +%d -%d policy %d, sip018 +%d -%d", len(f.Keys),
			len(f.MessageSigning.Positive), len(f.MessageSigning.Negative), len(f.MessageSigning.Policy),
			len(f.SIP018.Positive), len(f.SIP018.Negative))
	}
}
