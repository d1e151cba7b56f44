package readme

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stxgate/stxgate/internal/testenv"
)

const marker = "<!-- readme-roundtrip:"

// roundTripBlock returns the shell block that follows the marker comment.
func roundTripBlock(t *testing.T, readme string) string {
	t.Helper()
	_, after, ok := strings.Cut(readme, marker)
	if !ok {
		t.Fatalf("README.md has no %q comment before its round trip", marker)
	}
	m := regexp.MustCompile("(?s)\\A[^\\n]*-->\\n```sh\\n(.*?)\\n```\\n").FindStringSubmatch(after)
	if m == nil {
		t.Fatal("the readme-roundtrip comment is not followed by a ```sh block")
	}
	return m[1]
}

// copyCheckout copies the source tree (no .git, node_modules, bin or logs)
// so the block's make build and stxgate.log land in a scratch directory.
func copyCheckout(t *testing.T, from, to string) {
	t.Helper()
	skip := map[string]bool{".git": true, "node_modules": true, "bin": true, "screenshots": true}
	err := filepath.WalkDir(from, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, path)
		if d.IsDir() {
			if skip[d.Name()] && rel != "." {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		if !d.Type().IsRegular() || strings.HasSuffix(d.Name(), ".log") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), b, info.Mode().Perm())
	})
	if err != nil {
		t.Fatal(err)
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func need(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			if testenv.InCI() {
				t.Fatalf("CI=true: %s is not installed (the README's round trip needs it)", tool)
			}
			t.Skipf("SKIPPED — %s is not installed (the README's round trip needs it)", tool)
		}
	}
}

// TestReadmeRoundTrip pastes the README's round trip into bash, as one
// block, in a fresh copy of the checkout with a newcomer's environment (no
// DATABASE_URL, no keys), moved to a free port the way the README says
// (STXGATE_LISTEN). It checks what the terminal shows, that the gateway's
// log went to its file and not the terminal, and that neither holds a
// secret.
func TestReadmeRoundTrip(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binaries and runs a gateway")
	}
	need(t, "bash", "make", "jq", "go")
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	block := roundTripBlock(t, string(readme))
	dir := t.TempDir()
	copyCheckout(t, "../..", dir)

	gocache, err := exec.Command("go", "env", "GOCACHE", "GOMODCACHE", "GOPATH").Output()
	if err != nil {
		t.Fatal(err)
	}
	goenv := strings.Split(strings.TrimSpace(string(gocache)), "\n")
	listen, metrics := freePort(t), freePort(t)
	env := []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "LANG=C.UTF-8", "TERM=dumb",
		"GOCACHE=" + goenv[0], "GOMODCACHE=" + goenv[1], "GOPATH=" + goenv[2], "GOFLAGS=-mod=readonly", "GOTOOLCHAIN=local",
		"STXGATE_LISTEN=" + listen, "STXGATE_METRICS_LISTEN=" + metrics, // the README's "another port" advice
	}
	if p := os.Getenv("GOPROXY"); p != "" {
		env = append(env, "GOPROXY="+p)
	}
	// After the block: hand the secrets to the test (to look for them), stop the gateway.
	script := block + "\n" + `printf '%s\n%s\n' "$STXGATE_PRIVATE_KEY" "$STXGATE_API_KEY" > .secrets` + "\n" +
		`kill "$GATEWAY"; wait "$GATEWAY" || true` + "\n"

	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", script)
	cmd.Dir, cmd.Env = dir, env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // the gateway too is killed if the test ends early
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	t.Cleanup(func() {
		if cmd.Process != nil {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
	})
	var terminal bytes.Buffer // stdout and stderr interleaved, as a terminal shows them
	cmd.Stdout, cmd.Stderr = &terminal, &terminal
	err = cmd.Run()
	out := terminal.String()
	if err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "stxgate.log"))
		var exit *exec.ExitError
		errors.As(err, &exit)
		t.Fatalf("the block failed: %v\nterminal:\n%s\nstxgate.log:\n%s", err, out, log)
	}

	secrets, err := os.ReadFile(filepath.Join(dir, ".secrets"))
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(strings.TrimSpace(string(secrets)), "\n")
	if len(parts) != 2 || !regexp.MustCompile(`^[0-9a-f]{64}01$`).MatchString(parts[0]) || !strings.HasPrefix(parts[1], "ck_live_") {
		t.Fatalf("after the block the shell holds STXGATE_PRIVATE_KEY / STXGATE_API_KEY %d values, want a key and a ck_live_ key", len(parts))
	}
	privateKey, apiKey := parts[0], parts[1]

	wantInOrder := []*regexp.Regexp{
		regexp.MustCompile(`(?m)^The gateway at http://` + regexp.QuoteMeta(listen) + ` is ready\.$`),
		regexp.MustCompile(`(?m)^New wallet (SP[0-9A-Z]{38,40}) \(mainnet\)\. Its private key is in the export line: keep it secret\.$`),
		regexp.MustCompile(`(?m)^Created API key "My Trading Bot" \(key id [0-9a-f-]{36}, create,execute,cancel\)\. The key is in the export line and shown only once\.$`),
		regexp.MustCompile(`(?m)^KEY ID +NAME +PREFIX +STATUS +PERMISSIONS`),
		regexp.MustCompile(`(?m)^[0-9a-f-]{36} +My Trading Bot +ck_live_\S+… +active +create,execute,cancel +100/1000/10000 `),
		regexp.MustCompile(`(?m)^WINDOW +LIMIT +REMAINING +RESETS$`),
		regexp.MustCompile(`(?m)^txid: +0x[0-9a-f]{64} \(simulated\)\nstate: +filled\nsettlement: simulated$`),
		regexp.MustCompile(`(?m)^API key 'My Trading Bot' has been revoked$`),
	}
	rest := out
	for _, re := range wantInOrder {
		loc := re.FindStringIndex(rest)
		if loc == nil {
			t.Fatalf("the terminal does not show %s (in order); it shows:\n%s", re, out)
		}
		rest = rest[loc[1]:]
	}
	log, err := os.ReadFile(filepath.Join(dir, "stxgate.log"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`using the embedded in-memory store`, `executions use the SIMULATED settlement`, `"msg":"listening"`} {
		if !bytes.Contains(log, []byte(want)) {
			t.Errorf("stxgate.log lacks %s:\n%s", want, log)
		}
	}
	if strings.Contains(out, `"level":"`) {
		t.Errorf("gateway log lines reached the terminal:\n%s", out)
	}
	for name, secret := range map[string]string{"private key": privateKey, "API key": apiKey} {
		if strings.Contains(out, secret) {
			t.Errorf("the %s was printed to the terminal", name)
		}
		if bytes.Contains(log, []byte(secret)) {
			t.Errorf("the %s is in the gateway's log", name)
		}
	}
}
