package web

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestMakeTestE2EInstallsChromium: `make chromium` (the first step of
// `make test-e2e`) installs Debian's chromium when the browser is missing —
// apt-get update first, then a non-interactive install — and does nothing
// when it is there. apt-get is a stand-in on PATH that records its calls.
func TestMakeTestE2EInstallsChromium(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("make is not installed")
		}
		t.Skip("make is not installed")
	}
	dir := t.TempDir()
	calls := filepath.Join(dir, "calls")
	browser := filepath.Join(dir, "chromium")
	fake := `#!/bin/sh
echo "DEBIAN_FRONTEND=$DEBIAN_FRONTEND $*" >> "` + calls + `"
case "$*" in *install*chromium*) printf '#!/bin/sh\n' > "` + browser + `"; chmod +x "` + browser + `";; esac
`
	bin := filepath.Join(dir, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bin, "apt-get"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	makeChromium := func() string {
		t.Helper()
		cmd := exec.Command("make", "-s", "-C", "../..", "chromium", "CHROMIUM_PATH="+browser, "SUDO=")
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, "DEBIAN_FRONTEND=") && !strings.HasPrefix(kv, "PATH=") {
				cmd.Env = append(cmd.Env, kv)
			}
		}
		cmd.Env = append(cmd.Env, "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("make chromium: %v\n%s", err, out)
		}
		return string(out)
	}

	out := makeChromium()
	if want := "chromium: " + browser + " is missing: installing Debian's chromium\n"; out != want {
		t.Fatalf("make chromium printed %q, want %q", out, want)
	}
	got, err := os.ReadFile(calls)
	if err != nil {
		t.Fatal(err)
	}
	if want := "DEBIAN_FRONTEND= update -qq\nDEBIAN_FRONTEND=noninteractive install -y -qq chromium\n"; string(got) != want {
		t.Fatalf("apt-get calls:\n%s\nwant:\n%s", got, want)
	}

	if out := makeChromium(); out != "" {
		t.Fatalf("with chromium present, make chromium printed %q", out)
	}
	if again, _ := os.ReadFile(calls); string(again) != string(got) {
		t.Fatalf("apt-get ran again with chromium present:\n%s", again)
	}
}
