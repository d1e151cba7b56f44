package testgateway

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// lazyBinary is cmd/stxgate, compiled at most once per test binary (with
// the ambient build settings and its own flags, so the build cache of
// `go vet` and `go build` is reused).
type lazyBinary struct {
	sync.Once
	path string
	err  error
}

var plainBinary, raceBinary lazyBinary

// Binary builds cmd/stxgate once per test binary and returns its path. A
// package using it runs its tests with Main, which removes it.
func Binary(t testing.TB) string { return plainBinary.build(t) }

// RaceBinary is Binary built with the race detector, so that a test reading
// the process's output can fail on a race inside it.
func RaceBinary(t testing.TB) string { return raceBinary.build(t, "-race") }

func (b *lazyBinary) build(t testing.TB, flags ...string) string {
	t.Helper()
	b.Do(func() {
		goBin, err := exec.LookPath("go") // go test puts its own go first on PATH
		if err != nil {
			b.err = fmt.Errorf("go tool not on PATH: %w", err)
			return
		}
		dir, err := os.MkdirTemp("", "stxgate-bin-")
		if err != nil {
			b.err = err
			return
		}
		b.path = filepath.Join(dir, "stxgate")
		args := append(append([]string{"build", "-o", b.path}, flags...), "github.com/stxgate/stxgate/cmd/stxgate")
		if out, err := exec.Command(goBin, args...).CombinedOutput(); err != nil {
			b.err = fmt.Errorf("go build ./cmd/stxgate: %v\n%s", err, out)
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

// Main runs the tests of a package that uses Binary or RaceBinary, then
// deletes the binaries: func TestMain(m *testing.M) { os.Exit(testgateway.Main(m)) }.
func Main(m *testing.M) int {
	code := m.Run()
	for _, b := range []*lazyBinary{&plainBinary, &raceBinary} {
		if b.path != "" {
			_ = os.RemoveAll(filepath.Dir(b.path))
		}
	}
	return code
}

// Process is one gateway process.
type Process struct {
	URL        string // main listener
	MetricsURL string // /metrics URL (own listener when STXGATE_METRICS_LISTEN is set)
	Logs       *LogBuffer
	cmd        *exec.Cmd
	exited     chan struct{}
	exitErr    error
}

// StartProcess runs the gateway binary with env (on top of a clean
// environment: no inherited STXGATE_*, DATABASE_URL or REDIS_URL) and waits
// until it is ready. It listens on a free loopback port it reports in its
// log. The process is stopped when the test ends; its log is shown if the
// test failed.
func StartProcess(t testing.TB, bin string, env map[string]string) *Process {
	t.Helper()
	cmd := exec.Command(bin)
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "STXGATE_") || k == "DATABASE_URL" || k == "REDIS_URL" || k == "DATABASE_READ_URL" {
			continue
		}
		cmd.Env = append(cmd.Env, kv)
	}
	env["STXGATE_LISTEN"] = "127.0.0.1:0"
	if _, ok := env["STXGATE_METRICS_LISTEN"]; !ok {
		env["STXGATE_METRICS_LISTEN"] = "off" // parallel gateways would race for the default port
	}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout // one stream: JSON logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &Process{cmd: cmd, Logs: &LogBuffer{}, exited: make(chan struct{})}
	addrs := make(chan [2]string, 2)
	logged := make(chan struct{}) // the whole log is in p.Logs
	go func() {
		defer close(logged)
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Bytes()
			_, _ = p.Logs.Write(append(append([]byte{}, line...), '\n'))
			var rec struct{ Msg, Addr string }
			if json.Unmarshal(line, &rec) == nil && rec.Addr != "" && strings.HasSuffix(rec.Msg, "listening") {
				addrs <- [2]string{rec.Msg, rec.Addr}
			}
		}
		_, _ = io.Copy(io.Discard, out)
	}()
	go func() {
		// Wait closes the pipe once the process has exited, dropping what
		// the reader has not read yet (the last lines: "stopped"): it may
		// only run after the reader reached the end of the log.
		<-logged
		p.exitErr = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.Stop(5 * time.Second)
		if t.Failed() {
			t.Logf("gateway %s log:\n%s", p.URL, p.Logs.String())
		}
	})

	want := 1
	if l := env["STXGATE_METRICS_LISTEN"]; l != "" && l != "off" {
		want = 2
	}
	deadline := time.After(60 * time.Second) // a cold start migrates the database
	for got := 0; got < want; got++ {
		select {
		case a := <-addrs:
			if a[0] == "metrics listening" {
				p.MetricsURL = "http://" + a[1] + "/metrics"
			} else {
				p.URL = "http://" + a[1]
			}
		case <-p.exited:
			t.Fatalf("gateway exited at start: %v\n%s", p.exitErr, p.Logs.String())
		case <-deadline:
			t.Fatalf("gateway did not report its listener\n%s", p.Logs.String())
		}
	}
	if p.MetricsURL == "" {
		p.MetricsURL = p.URL + "/metrics"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	WaitFor(ctx, t, p.URL+"/readyz", func() error {
		resp, err := http.Get(p.URL + "/readyz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("readyz %d", resp.StatusCode)
		}
		return nil
	})
	return p
}

// Stop sends SIGTERM and waits up to grace for a clean exit, then kills.
// It reports whether the process exited by itself with status 0.
func (p *Process) Stop(grace time.Duration) (clean bool) {
	select {
	case <-p.exited:
		return p.exitErr == nil
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		return p.exitErr == nil
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		<-p.exited
		return false
	}
}

// Kill ends the process with SIGKILL (a crash: nothing drains) and waits
// until it is gone.
func (p *Process) Kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
}

// ExitErr is how the process ended (after Stop or Kill).
func (p *Process) ExitErr() error {
	<-p.exited
	return p.exitErr
}

// WaitFor retries f every 50 ms until it succeeds or ctx ends (then the
// test fails with f's last error).
func WaitFor(ctx context.Context, t testing.TB, what string, f func() error) {
	t.Helper()
	for {
		err := f()
		if err == nil {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v", what, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
