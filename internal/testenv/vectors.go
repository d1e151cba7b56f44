package testenv

import (
	"os"
	"path/filepath"
	"testing"
)

// VectorsPath finds shared/vectors/stacks-vectors.json (made by the real
// Stacks JavaScript libraries) by walking up from the working directory.
// Missing vectors skip the test, or fail it under CI=true.
func VectorsPath(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		p := filepath.Join(dir, "shared", "vectors", "stacks-vectors.json")
		if _, err := os.Stat(p); err == nil {
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	if InCI() {
		t.Fatal("CI=true: shared/vectors/stacks-vectors.json not found above the working directory")
	}
	t.Skip("SKIPPED — shared/vectors/stacks-vectors.json not found above the working directory")
	return ""
}
