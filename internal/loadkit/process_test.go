package loadkit_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stxgate/stxgate/internal/loadkit"
)

func TestStartWaitsUntilReadyAndStops(t *testing.T) {
	cmd := loadkit.Command("sleep", []string{"60"}, nil)
	readyCalls := 0
	p, err := loadkit.Start(context.Background(), "sleeper", "127.0.0.1:1", cmd, func() bool {
		readyCalls++
		return readyCalls == 3
	}, func() string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if readyCalls != 3 || p.Addr != "127.0.0.1:1" || p.Pid() != cmd.Process.Pid {
		t.Fatalf("ready called %d times, addr %q, pid %d of %d", readyCalls, p.Addr, p.Pid(), cmd.Process.Pid)
	}
	p.Stop()
	if cmd.ProcessState == nil || cmd.ProcessState.String() != "signal: terminated" {
		t.Fatalf("after Stop: %v, want signal: terminated", cmd.ProcessState)
	}
	p.Stop() // a second Stop returns at once
	var none *loadkit.Process
	none.Stop()
}

func TestStartFailsWithTheLogWhenTheServerExits(t *testing.T) {
	cmd := loadkit.Command("sh", []string{"-c", "exit 3"}, nil)
	_, err := loadkit.Start(context.Background(), "crasher", "127.0.0.1:1", cmd, func() bool { return false },
		func() string { return "panic: boom" })
	if err == nil || err.Error() != "crasher exited at start (exit status 3); log:\npanic: boom" {
		t.Fatalf("err %v", err)
	}
}

func TestCommandInheritsOnlyPathAndHome(t *testing.T) {
	t.Setenv("STXGATE_LISTEN", ":1")
	cmd := loadkit.Command("env", nil, []string{"A=1"})
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		name, _, _ := strings.Cut(line, "=")
		names = append(names, name)
	}
	if strings.Join(names, ",") != "PATH,HOME,A" {
		t.Fatalf("environment %q, want PATH, HOME and A only", names)
	}
}

func TestHealthy(t *testing.T) {
	var status atomic.Int64
	status.Store(http.StatusServiceUnavailable)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(int(status.Load()))
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	if loadkit.Healthy(addr) {
		t.Fatal("healthy while /healthz answers 503")
	}
	status.Store(http.StatusOK)
	if !loadkit.Healthy(addr) {
		t.Fatal("not healthy while /healthz answers 200")
	}
}
