package scaletest

import (
	"os"
	"path/filepath"
	"testing"
)

// TestMain removes the gateway binary the process tests built.
func TestMain(m *testing.M) {
	code := m.Run()
	if buildOnce.path != "" {
		_ = os.RemoveAll(filepath.Dir(buildOnce.path))
	}
	os.Exit(code)
}
