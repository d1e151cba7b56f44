package scaletest

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

	"github.com/stxgate/stxgate/internal/testgateway"
)

// buildOnce compiles cmd/stxgate once per test binary (with the ambient
// build settings, so the build cache of `go vet` and `go build` is reused).
var buildOnce struct {
	sync.Once
	path string
	err  error
}

func gatewayBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		goBin, err := exec.LookPath("go")
		if err != nil {
			buildOnce.err = fmt.Errorf("go tool not on PATH: %w", err)
			return
		}
		dir, err := os.MkdirTemp("", "stxgate-scaletest-")
		if err != nil {
			buildOnce.err = err
			return
		}
		buildOnce.path = filepath.Join(dir, "stxgate")
		cmd := exec.Command(goBin, "build", "-o", buildOnce.path, "github.com/stxgate/stxgate/cmd/stxgate")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildOnce.err = fmt.Errorf("go build ./cmd/stxgate: %v\n%s", err, out)
		}
	})
	if buildOnce.err != nil {
		t.Fatal(buildOnce.err)
	}
	return buildOnce.path
}

// process is one gateway process.
type process struct {
	URL        string // main listener
	MetricsURL string // /metrics URL (own listener when STXGATE_METRICS_LISTEN is set)
	cmd        *exec.Cmd
	logs       *testgateway.LogBuffer
	exited     chan struct{}
	exitErr    error
}

// startProcess runs the gateway binary with env (on top of a clean
// environment: no inherited STXGATE_*, DATABASE_URL or REDIS_URL) and waits
// until it is ready. It listens on a free loopback port it reports in its log.
func startProcess(t *testing.T, bin string, env map[string]string) *process {
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
	p := &process{cmd: cmd, logs: &testgateway.LogBuffer{}, exited: make(chan struct{})}
	addrs := make(chan [2]string, 2)
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Bytes()
			_, _ = p.logs.Write(append(append([]byte{}, line...), '\n'))
			var rec struct{ Msg, Addr string }
			if json.Unmarshal(line, &rec) == nil && rec.Addr != "" && strings.HasSuffix(rec.Msg, "listening") {
				addrs <- [2]string{rec.Msg, rec.Addr}
			}
		}
		_, _ = io.Copy(io.Discard, out)
	}()
	go func() {
		p.exitErr = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.stop(5 * time.Second)
		if t.Failed() {
			t.Logf("gateway %s log:\n%s", p.URL, p.logs.String())
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
			t.Fatalf("gateway exited at start: %v\n%s", p.exitErr, p.logs.String())
		case <-deadline:
			t.Fatalf("gateway did not report its listener\n%s", p.logs.String())
		}
	}
	if p.MetricsURL == "" {
		p.MetricsURL = p.URL + "/metrics"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	waitFor(ctx, t, p.URL+"/readyz", func() error {
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

// stop sends SIGTERM and waits up to grace for a clean exit, then kills.
// It reports whether the process exited by itself with status 0.
func (p *process) stop(grace time.Duration) (clean bool) {
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
