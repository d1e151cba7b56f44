package faulttest

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

var (
	binDir    string
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "stxgate-faulttest-")
	if err != nil {
		panic(err)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// gatewayBinary builds the stxgate binary once per package run (with the
// race detector when the tests have it) and returns its path.
func gatewayBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		bin := filepath.Join(binDir, "stxgate")
		args := []string{"build", "-o", bin}
		if raceEnabled {
			args = append(args, "-race")
		}
		args = append(args, "github.com/stxgate/stxgate/cmd/stxgate")
		goBin, err := exec.LookPath("go") // go test puts its own go first on PATH
		if err != nil {
			buildErr = err
			return
		}
		out, err := exec.Command(goBin, args...).CombinedOutput()
		if err != nil {
			buildErr = err
			builtBin = string(out)
			return
		}
		builtBin = bin
	})
	if buildErr != nil {
		t.Fatalf("build stxgate: %v\n%s", buildErr, builtBin)
	}
	return builtBin
}
