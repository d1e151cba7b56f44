package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stxgate/stxgate/internal/loadkit"
)

// wrkBench is a bench with only what runWrk needs. wrk must be installed
// (.ci/run installs it); outside CI a machine without it skips.
func wrkBench(t *testing.T) *bench {
	t.Helper()
	path, err := wrkPath()
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	dir := t.TempDir()
	script, err := writeScript(dir)
	if err != nil {
		t.Fatal(err)
	}
	return &bench{Scratch: &loadkit.Scratch{Dir: dir}, wrk: path, wrkScript: script}
}

// countingServer counts requests per path.
func countingServer(t *testing.T) (*httptest.Server, func() map[string]int) {
	var (
		mu   sync.Mutex
		seen = map[string]int{}
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen[r.URL.Path]++
		mu.Unlock()
		if r.URL.Path == "/bad" {
			http.Error(w, `{"error":"no"}`, http.StatusBadRequest)
			return
		}
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	t.Cleanup(srv.Close)
	return srv, func() map[string]int {
		mu.Lock()
		defer mu.Unlock()
		out := map[string]int{}
		for k, v := range seen {
			out[k] = v
		}
		return out
	}
}

func TestWrkPoolEachRequestOnceThenDry(t *testing.T) {
	b := wrkBench(t)
	srv, seen := countingServer(t)
	addr := srv.Listener.Addr().String()
	const n = 20000
	reqs := make([][]byte, n)
	for i := range reqs {
		reqs[i] = buildRequest("POST", addr, "/o/"+strconv.Itoa(i), [][2]string{{"X-API-Key", "k"}}, nil)
	}
	file := filepath.Join(b.Dir, "pool.req")
	if err := writeRequests(file, reqs); err != nil {
		t.Fatal(err)
	}
	next := 0
	t0 := time.Now()
	res, err := b.runWrk(context.Background(), wrkPhase{name: "pool", addr: addr, file: file, pool: true, offset: &next,
		size: n, conns: 8, warmup: 20 * time.Millisecond, duration: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(t0); took > 10*time.Second {
		t.Fatalf("a dry pool did not end the run early: %s", took)
	}
	// A request handed out when the warm-up is stopped may never be
	// written (at most one per connection); none is ever sent twice.
	got := seen()
	if len(got) < n-8 || len(got) > n {
		t.Fatalf("server saw %d distinct requests, want %d less at most 8", len(got), n)
	}
	for path, c := range got {
		if c != 1 {
			t.Fatalf("%s sent %d times, want once", path, c)
		}
	}
	if !res.Dry || next != n {
		t.Fatalf("dry %v, next %d; want dry after %d", res.Dry, next, n)
	}
	if res.Sent > len(got) || res.Sent < len(got)-8 || res.Count >= res.Sent || res.Count == 0 || res.Errors != 0 {
		t.Fatalf("completed %d (server saw %d, warm-up included), measured %d, errors %d", res.Sent, len(got), res.Count, res.Errors)
	}
	if len(res.Lat) != res.Count || res.Elapsed <= 0 || res.Elapsed > 10*time.Second {
		t.Fatalf("%d latencies for %d requests, elapsed %s", len(res.Lat), res.Count, res.Elapsed)
	}
	// A second slice of the same pool has nothing left.
	again, err := b.runWrk(context.Background(), wrkPhase{name: "pool", addr: addr, file: file, pool: true, offset: &next,
		size: n, conns: 8, duration: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if again.Count != 0 || !again.Dry {
		t.Fatalf("exhausted pool measured %d requests, dry %v", again.Count, again.Dry)
	}
}

func TestWrkCycleStopsOnTimeAndCountsErrors(t *testing.T) {
	b := wrkBench(t)
	srv, seen := countingServer(t)
	addr := srv.Listener.Addr().String()
	reqs := [][]byte{
		buildRequest("GET", addr, "/good", nil, nil),
		buildRequest("GET", addr, "/bad", nil, nil),
	}
	file := filepath.Join(b.Dir, "cycle.req")
	if err := writeRequests(file, reqs); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	res, err := b.runWrk(context.Background(), wrkPhase{name: "cycle", addr: addr, file: file, conns: 4, duration: 1500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(t0); took < 1500*time.Millisecond || took > 5*time.Second {
		t.Fatalf("a 1.5 s run took %s", took)
	}
	if res.Elapsed < 1400*time.Millisecond || res.Elapsed > 2500*time.Millisecond {
		t.Fatalf("elapsed %s, want about 1.5 s", res.Elapsed)
	}
	got := seen()
	if res.Count == 0 || got["/good"] == 0 || got["/bad"] == 0 {
		t.Fatalf("measured %d; server saw %v", res.Count, got)
	}
	// Round-robin: every second request is /bad (HTTP 400, an error to wrk).
	if d := res.Errors - res.Count/2; d < -4 || d > 4 {
		t.Fatalf("%d errors of %d requests, want half", res.Errors, res.Count)
	}
	if res.FirstError == "" || len(res.Lat) != res.Count {
		t.Fatalf("first error %q, %d latencies for %d requests", res.FirstError, len(res.Lat), res.Count)
	}
	for i := 1; i < len(res.Lat); i++ {
		if res.Lat[i] < res.Lat[i-1] {
			t.Fatalf("latencies not sorted at %d", i)
		}
	}
	if res.Quantile(0.5) <= 0 || res.Quantile(0.99) < res.Quantile(0.5) {
		t.Fatalf("p50 %s, p99 %s", res.Quantile(0.5), res.Quantile(0.99))
	}
}

func TestWrkRefusesRemoteAddresses(t *testing.T) {
	b := wrkBench(t)
	_, err := b.runWrk(context.Background(), wrkPhase{name: "remote", addr: "192.0.2.1:80", file: "x", conns: 1, duration: time.Second})
	if err == nil || err.Error() != `refusing to load "192.0.2.1:80": only loopback addresses` {
		t.Fatalf("err = %v", err)
	}
}
