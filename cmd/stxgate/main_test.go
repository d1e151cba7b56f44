package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"testing"

	"github.com/stxgate/stxgate/internal/config"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Fatalf("%s differs (go test -update rewrites it):\n--- got\n%s", name, got)
	}
}

func noEnv(string) string { return "" }

// help, -h, --help and migrate -h print the same help on stdout and start nothing.
func TestHelpGolden(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"-h"}, {"--help"}, {"migrate", "-h"}, {"-listen", "127.0.0.1:1", "-h"}} {
		var out, errOut bytes.Buffer
		if err := run(context.Background(), args, noEnv, nil, &out, &errOut); err != nil {
			t.Fatalf("%q: %v", args, err)
		}
		if errOut.Len() != 0 {
			t.Fatalf("%q wrote to stderr: %s", args, errOut.String())
		}
		golden(t, "help.golden", out.String())
	}
}

// The report: -h printed DATABASE_READ_URL's password.
func TestHelpMasksTheEnvironment(t *testing.T) {
	env := map[string]string{
		"DATABASE_READ_URL":      "postgres://ro:replicaPassw0rd@replica:5432/gw",
		"STXGATE_RELAYER_URL":    "https://relayUser:relayT0ken@relayer.example/v1",
		"STXGATE_OPERATOR_TOKEN": "op_3f9a0c1d5e7b2468ace0bdf13579abcdef0123456789",
		"STXGATE_LISTEN":         "0.0.0.0:8080",
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"-h"}, func(k string) string { return env[k] }, nil, &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"replicaPassw0rd", "relayUser", "relayT0ken", env["STXGATE_OPERATOR_TOKEN"]} {
		if strings.Contains(out.String(), secret) {
			t.Fatalf("-h shows %q", secret)
		}
	}
	for _, shown := range []string{
		`(env DATABASE_READ_URL, default none; set in the environment to "postgres://xxxxx@replica:5432/gw")`,
		`(env STXGATE_RELAYER_URL, default none; set in the environment to "https://xxxxx@relayer.example/v1")`,
		`(default none; set in the environment to "xxxxx")`,
		`(env STXGATE_LISTEN, default "127.0.0.1:8080"; set in the environment to "0.0.0.0:8080")`,
	} {
		if !strings.Contains(out.String(), shown) {
			t.Errorf("-h lacks %s", shown)
		}
	}
}

func TestVersionLine(t *testing.T) {
	platform := " " + runtime.GOOS + "/" + runtime.GOARCH
	stamped := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.4.0"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "7416985c0ffee"}, {Key: "vcs.time", Value: "2026-12-02T09:00:00Z"}, {Key: "vcs.modified", Value: "true"},
	}}
	for _, tt := range []struct {
		version, commit string
		info            *debug.BuildInfo
		want            string
	}{
		{"v1.2.3", "abc123", nil, "stxgate v1.2.3 (commit abc123) " + runtime.Version() + platform},
		{"", "", stamped, "stxgate v1.4.0 (commit 7416985c0ffee, 2026-12-02T09:00:00Z, modified) go1.26.8" + platform},
		{"v2.0.0", "feed", stamped, "stxgate v2.0.0 (commit feed, 2026-12-02T09:00:00Z, modified) go1.26.8" + platform},
		{"", "", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}}, "stxgate (devel) (commit unknown) go1.26.8" + platform},
	} {
		if got := describe(tt.version, tt.commit, tt.info); got != tt.want {
			t.Errorf("got  %s\nwant %s", got, tt.want)
		}
	}
}

// Bad settings: one error naming all of them; typos of variable names are
// warned about in the JSON log with the nearest setting.
func TestConfigProblemsAndTypos(t *testing.T) {
	env := map[string]string{"STXGATE_MIGRATE": "yes", "STXGATE_RATE_LIMIT_HOUR": "ten"}
	err := run(context.Background(), nil, func(k string) string { return env[k] }, nil, &bytes.Buffer{}, &bytes.Buffer{})
	var cfgErr *config.Error
	if !errors.As(err, &cfgErr) || err.Error() != "invalid configuration (2 problems):\n  STXGATE_MIGRATE=\"yes\": want true or false\n  STXGATE_RATE_LIMIT_HOUR=\"ten\": not a whole number" {
		t.Fatalf("got %v", err)
	}

	var log bytes.Buffer
	err = run(context.Background(), []string{"migrate"}, noEnv, []string{"STXGATE_SIGNATURE_WINDOWS=10m", "HOME=/root"}, &bytes.Buffer{}, &log)
	if err == nil || err.Error() != "migrate: DATABASE_URL is not set" {
		t.Fatalf("migrate: %v", err)
	}
	want := `"level":"WARN","msg":"STXGATE_SIGNATURE_WINDOWS is not a stxgate setting and is ignored: did you mean STXGATE_SIGNATURE_WINDOW?","variable":"STXGATE_SIGNATURE_WINDOWS","did_you_mean":"STXGATE_SIGNATURE_WINDOW"}`
	if !strings.Contains(log.String(), want) {
		t.Fatalf("log lacks the warning:\n%s", log.String())
	}
}

// The built binary: version from -ldflags, -h and help exit 0, a bad
// setting exits 2.
func TestBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "stxgate")
	// -buildvcs=false: a build stamped from the checkout (GOFLAGS decides
	// by default) would add its commit time to the version line.
	build := exec.Command("go", "build", "-buildvcs=false", "-ldflags", "-X main.version=v9.9.9 -X main.commit=0123abcd", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	runBin := func(env []string, args ...string) (string, string, int) {
		cmd := exec.Command(bin, args...)
		cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, env...)
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		code := 0
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			code = exit.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return out.String(), errOut.String(), code
	}
	out, _, code := runBin(nil, "version")
	if want := "stxgate v9.9.9 (commit 0123abcd) "; code != 0 || !strings.HasPrefix(out, want) {
		t.Fatalf("version: exit %d, %q, want prefix %q", code, out, want)
	}
	want, err := os.ReadFile("testdata/help.golden")
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"-h"}, {"help"}} {
		if out, errOut, code := runBin(nil, args...); code != 0 || out != string(want) || errOut != "" {
			t.Fatalf("%q: exit %d, stderr %q, stdout matches golden: %t", args, code, errOut, out == string(want))
		}
	}
	_, errOut, code := runBin([]string{"STXGATE_LOG_LEVEL=loud", "STXGATE_BODY_LIMIT=big"}, "-operator-token", "secret-on-the-command-line")
	if code != 2 || strings.Contains(errOut, "secret-on-the-command-line") ||
		errOut != "stxgate: invalid configuration: -operator-token: this secret is read from STXGATE_OPERATOR_TOKEN or STXGATE_OPERATOR_TOKEN_FILE, never from a flag (flags show in process lists and shell history)\nRun 'stxgate -h' for the settings.\n" {
		t.Fatalf("exit %d:\n%s", code, errOut)
	}
	_, errOut, code = runBin([]string{"STXGATE_LOG_LEVEL=loud", "STXGATE_BODY_LIMIT=big"})
	if code != 2 || errOut != "stxgate: invalid configuration (2 problems):\n  STXGATE_BODY_LIMIT=\"big\": not a whole number\n  STXGATE_LOG_LEVEL must be debug, info, warn or error, got \"loud\"\nRun 'stxgate -h' for the settings.\n" {
		t.Fatalf("exit %d:\n%s", code, errOut)
	}
}

// listeners runs the binary until it reports its listeners (or exits) and
// returns them by log message: "listening" and "metrics listening".
func listeners(t *testing.T, bin string, env ...string) map[string]string {
	t.Helper()
	cmd := exec.Command(bin)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "STXGATE_LISTEN=127.0.0.1:0"}, env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	})
	found := map[string]string{}
	dec := json.NewDecoder(stderr)
	for {
		var line struct{ Msg, Addr string }
		if err := dec.Decode(&line); err != nil {
			t.Fatalf("gateway log ended before it served (%v); so far %v", err, found)
		}
		if line.Addr != "" {
			found[line.Msg] = "http://" + line.Addr
		}
		if line.Msg == "metrics are served nowhere" || (found["listening"] != "" && found["metrics listening"] != "") ||
			(found["listening"] != "" && slices.Contains(env, "STXGATE_METRICS_LISTEN=off")) {
			return found
		}
	}
}

func status(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// /metrics is on its own (loopback by default) listener, and on the API
// listener only when STXGATE_METRICS_PUBLIC asks for it.
func TestMetricsListeners(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "stxgate")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	l := listeners(t, bin, "STXGATE_METRICS_LISTEN=127.0.0.1:0")
	if got := status(t, l["listening"]+"/metrics"); got != http.StatusNotFound {
		t.Errorf("private metrics: GET /metrics on the API listener %d, want 404", got)
	}
	if got := status(t, l["metrics listening"]+"/metrics"); got != http.StatusOK {
		t.Errorf("GET /metrics on the metrics listener %d, want 200", got)
	}

	l = listeners(t, bin, "STXGATE_METRICS_LISTEN=off", "STXGATE_METRICS_PUBLIC=true")
	if got := status(t, l["listening"]+"/metrics"); got != http.StatusOK {
		t.Errorf("public metrics: GET /metrics on the API listener %d, want 200", got)
	}
	if l["metrics listening"] != "" {
		t.Errorf("STXGATE_METRICS_LISTEN=off still listens on %s", l["metrics listening"])
	}

	l = listeners(t, bin, "STXGATE_METRICS_LISTEN=off")
	if got := status(t, l["listening"]+"/metrics"); got != http.StatusNotFound {
		t.Errorf("metrics off: GET /metrics on the API listener %d, want 404", got)
	}
}
