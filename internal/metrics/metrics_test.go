package metrics_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	dto "github.com/prometheus/client_model/go"

	"github.com/stxgate/stxgate/internal/groupcommit"
	"github.com/stxgate/stxgate/internal/metrics"
	"github.com/stxgate/stxgate/internal/metrics/label"
	"github.com/stxgate/stxgate/pkg/stacks"
)

// A nil *Metrics is what constructors get when nobody wires metrics: every
// hook must be a no-op, the middleware a pass-through, the handler a 404.
func TestNilMetricsIsANoOp(t *testing.T) {
	var m *metrics.Metrics
	m.RateLimit(metrics.ScopeKey, true, nil)
	m.Signature(label.SigOrder, time.Now(), nil)
	m.Settlement("simulated", label.PathExecute, label.OutcomeSettled, time.Now())
	m.KeyCacheLookup(true)
	m.KeyCacheReload()
	m.StoreError(metrics.StoreRedis)
	m.GaugeFunc("x", "x", func() float64 { return 1 })
	m.WatchPool("primary", nil)
	m.WatchBatcher(metrics.BatchLimiter, func() groupcommit.Stats { return groupcommit.Stats{} })
	called := false
	h := m.HTTP(func(echo.Context) error { called = true; return nil })
	e := echo.New()
	if err := h(e.NewContext(httptest.NewRequest("GET", "/", nil), httptest.NewRecorder())); err != nil || !called {
		t.Fatalf("nil middleware: called %v err %v", called, err)
	}
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != http.StatusNotFound {
		t.Fatalf("nil handler: %d", rec.Code)
	}
}

func counter(t *testing.T, m *metrics.Metrics, name string, want map[string]string) float64 {
	t.Helper()
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, s := range f.GetMetric() {
			if matches(s, want) {
				if s.Histogram != nil {
					return float64(s.GetHistogram().GetSampleCount())
				}
				return s.GetCounter().GetValue()
			}
		}
	}
	return -1
}

func matches(s *dto.Metric, want map[string]string) bool {
	got := map[string]string{}
	for _, l := range s.GetLabel() {
		got[l.GetName()] = l.GetValue()
	}
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return len(got) == len(want)
}

// The middleware labels by route pattern and final status, with bounded labels.
func TestHTTPMiddlewareLabels(t *testing.T) {
	m := metrics.New()
	e := echo.New()
	e.Use(m.HTTP)
	e.GET("/orders/:uuid", func(c echo.Context) error { return c.String(200, "ok") })
	e.POST("/fail", func(c echo.Context) error { return echo.NewHTTPError(http.StatusConflict, "dup") })
	for _, r := range []struct{ method, path string }{
		{"GET", "/orders/a"}, {"GET", "/orders/b"}, {"POST", "/fail"},
		{"GET", "/random/probe/1"}, {"GET", "/random/probe/2"}, {"BREW", "/orders/a"},
	} {
		e.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(r.method, r.path, nil))
	}
	tests := []struct {
		labels map[string]string
		want   float64
	}{
		{map[string]string{"method": "GET", "route": "/orders/:uuid", "status": "200"}, 2},
		{map[string]string{"method": "POST", "route": "/fail", "status": "409"}, 1}, // the error was written first
		{map[string]string{"method": "GET", "route": "unmatched", "status": "404"}, 2},
		{map[string]string{"method": "other", "route": "/orders/:uuid", "status": "405"}, 1},
	}
	for _, tt := range tests {
		if got := counter(t, m, "stxgate_http_requests_total", tt.labels); got != tt.want {
			t.Errorf("requests%v = %v, want %v", tt.labels, got, tt.want)
		}
	}
	if got := counter(t, m, "stxgate_http_request_duration_seconds", map[string]string{"method": "GET", "route": "/orders/:uuid"}); got != 2 {
		t.Errorf("latency observations %v, want 2", got)
	}
}

func TestSignatureResults(t *testing.T) {
	m := metrics.New()
	m.Signature(label.SigMessage, time.Now(), nil)
	m.Signature(label.SigMessage, time.Now(), errors.New("address mismatch"))
	m.Signature(label.SigMessage, time.Now(), stacks.ErrMalformedSignature)
	for result, want := range map[string]float64{"valid": 1, "invalid": 1, "malformed": 1} {
		if got := counter(t, m, "stxgate_signature_verifications_total", map[string]string{"kind": "message", "result": result}); got != want {
			t.Errorf("%s: %v, want %v", result, got, want)
		}
	}
}

// Limiter decisions and key cache lookups count under their labels; the
// known scopes' series read 0 before their first decision.
func TestRateLimitAndKeyCacheCounts(t *testing.T) {
	m := metrics.New()
	if got := counter(t, m, "stxgate_ratelimit_decisions_total", map[string]string{"scope": "wallet", "decision": "unavailable"}); got != 0 {
		t.Fatalf("wallet unavailable before any decision: %v", got)
	}
	m.RateLimit(metrics.ScopeKey, true, nil)
	m.RateLimit(metrics.ScopeKey, true, nil)
	m.RateLimit(metrics.ScopeKey, false, nil)
	m.RateLimit(metrics.ScopeIP, true, errors.New("redis down"))
	m.RateLimit("other", false, nil)
	m.KeyCacheLookup(true)
	m.KeyCacheLookup(false)
	m.KeyCacheLookup(true)
	for _, tc := range []struct {
		scope, decision string
		want            float64
	}{
		{"key", "allowed", 2}, {"key", "refused", 1}, {"key", "unavailable", 0},
		{"ip", "unavailable", 1}, {"ip", "allowed", 0}, {"wallet", "allowed", 0}, {"other", "refused", 1},
	} {
		if got := counter(t, m, "stxgate_ratelimit_decisions_total", map[string]string{"scope": tc.scope, "decision": tc.decision}); got != tc.want {
			t.Errorf("%s %s: %v, want %v", tc.scope, tc.decision, got, tc.want)
		}
	}
	for result, want := range map[string]float64{"hit": 2, "miss": 1} {
		if got := counter(t, m, "stxgate_key_cache_lookups_total", map[string]string{"result": result}); got != want {
			t.Errorf("key cache %s: %v, want %v", result, got, want)
		}
	}
}

// Two gateways in one process have registries of their own.
func TestRegistriesAreIndependent(t *testing.T) {
	a, b := metrics.New(), metrics.New()
	a.StoreError(metrics.StorePostgres)
	if got := counter(t, b, "stxgate_store_errors_total", map[string]string{"store": "postgres"}); got != 0 {
		t.Fatalf("b sees a's error: %v", got)
	}
	rec := httptest.NewRecorder()
	a.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if !strings.Contains(rec.Body.String(), `stxgate_store_errors_total{store="postgres"} 1`) {
		t.Fatalf("exposition lacks the counter:\n%s", rec.Body.String())
	}
}

// A batcher's counts are read at scrape time, under its name.
func TestWatchBatcher(t *testing.T) {
	m := metrics.New()
	st := groupcommit.Stats{Batches: 3, Inputs: 40, Splits: 1}
	m.WatchBatcher(metrics.BatchOrderClaims, func() groupcommit.Stats { return st })
	for name, want := range map[string]float64{
		"stxgate_group_commit_batches_total": 3,
		"stxgate_group_commit_inputs_total":  40,
		"stxgate_group_commit_splits_total":  1,
	} {
		if got := counter(t, m, name, map[string]string{"batcher": "order_claims"}); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	st.Inputs = 41
	if got := counter(t, m, "stxgate_group_commit_inputs_total", map[string]string{"batcher": "order_claims"}); got != 41 {
		t.Errorf("after another input: %v, want 41 (read at scrape time)", got)
	}
}

// What a soak run samples is on the endpoint: the live heap after the last
// GC, GC cycles, heap in use, goroutines, resident memory and open fds.
func TestRuntimeSeriesForSoak(t *testing.T) {
	m := metrics.New()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for _, name := range []string{"go_gc_heap_live_bytes ", "go_gc_cycles_total_gc_cycles_total ",
		"go_memstats_heap_inuse_bytes ", "go_goroutines ", "process_resident_memory_bytes ", "process_open_fds "} {
		if !strings.Contains(rec.Body.String(), "\n"+name) {
			t.Errorf("no %s series on /metrics", strings.TrimSpace(name))
		}
	}
}
