// Package metrics holds the gateway's Prometheus collectors on a registry of
// its own (one per App, so several in-process gateways never collide) and the
// small hooks the other packages call where decisions happen.
//
// Every hook is a method that does nothing on a nil *Metrics: constructors and
// tests that do not care about metrics pass nil and pay nothing.
package metrics

import (
	"errors"
	"net/http"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/stxgate/stxgate/pkg/stacks"
)

// Label values used by the hooks (bounded sets: label cardinality stays small).
const (
	ScopeKey    = "key"    // per-key windows (keyed requests)
	ScopeIP     = "ip"     // per-client-IP limits before authentication
	ScopeWallet = "wallet" // per-wallet limit after a verified signature

	// Signature kinds, settlement paths and outcomes: package label.

	StorePostgres = "postgres"
	StoreRedis    = "redis"

	unmatchedRoute = "unmatched" // requests no route matched (404)
)

// Metrics is every collector of one gateway instance.
type Metrics struct {
	reg *prometheus.Registry

	httpRequests *prometheus.CounterVec
	httpDuration *prometheus.HistogramVec
	seriesMu     sync.RWMutex
	httpSeries   map[httpLabels]*httpSeries // resolved once, not hashed by prometheus on every request
	httpInFlight prometheus.Gauge

	limiterDecisions *prometheus.CounterVec
	decisions        map[string]*[3]prometheus.Counter // the known scopes' series by decisionIndex, resolved once

	signatures        *prometheus.CounterVec
	signatureDuration *prometheus.HistogramVec

	settlements        *prometheus.CounterVec
	settlementDuration *prometheus.HistogramVec

	keyCacheLookups *prometheus.CounterVec
	keyCacheHit     prometheus.Counter // resolved once: the lookup is on every keyed request
	keyCacheMiss    prometheus.Counter
	keyCacheReloads prometheus.Counter

	storeErrors *prometheus.CounterVec
}

// New builds the collectors on a fresh registry, with the Go runtime and
// process collectors beside them.
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.httpRequests = counterVec("stxgate_http_requests_total",
		"HTTP requests answered, by method, route pattern and status code.",
		"method", "route", "status")
	m.httpDuration = histogramVec("stxgate_http_request_duration_seconds",
		"Time from the first middleware to the last byte written, by method and route pattern.",
		// 250µs .. 10s: a cached keyed read is sub-millisecond, a settlement call can take seconds.
		[]float64{.00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		"method", "route")
	m.httpInFlight = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "stxgate_http_requests_in_flight",
		Help: "HTTP requests being served now.",
	})
	m.limiterDecisions = counterVec("stxgate_ratelimit_decisions_total",
		"Rate-limiter answers by scope (key, ip, wallet) and decision (allowed, refused, unavailable).",
		"scope", "decision")
	m.signatures = counterVec("stxgate_signature_verifications_total",
		"Signature verifications by kind (message, order) and result (valid, invalid, malformed).",
		"kind", "result")
	m.signatureDuration = histogramVec("stxgate_signature_verify_duration_seconds",
		"CPU time of one signature verification (hashing and public-key recovery), by kind.",
		// 25µs .. ~100ms: a secp256k1 recovery takes tens of microseconds.
		prometheus.ExponentialBuckets(0.000025, 2, 13),
		"kind")
	m.settlements = counterVec("stxgate_settlement_outcomes_total",
		"Settlement calls by settlement (relayer, simulated), path (execute, reconcile) and outcome (settled, rejected, unknown).",
		"settlement", "path", "outcome")
	m.settlementDuration = histogramVec("stxgate_settlement_duration_seconds",
		"Time of one settlement call, by settlement.",
		[]float64{.001, .005, .01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		"settlement")
	m.keyCacheLookups = counterVec("stxgate_key_cache_lookups_total",
		"API-key cache lookups on the keyed hot path, by result (hit, miss). Hit rate: hit / (hit + miss).",
		"result")
	m.keyCacheReloads = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "stxgate_key_cache_reloads_total",
		Help: "Keys read again from the database because their generation moved (revoked, updated or suspended on some instance).",
	})
	m.storeErrors = counterVec("stxgate_store_errors_total",
		"Requests answered 503 because a backing store was unreachable, by store (postgres, redis).",
		"store")
	m.reg.MustRegister(
		m.httpRequests, m.httpDuration, m.httpInFlight,
		m.limiterDecisions,
		m.signatures, m.signatureDuration,
		m.settlements, m.settlementDuration,
		m.keyCacheLookups, m.keyCacheReloads,
		m.storeErrors,
		collectors.NewGoCollector(collectors.WithGoCollectorRuntimeMetrics(
			// The live heap as the last GC marked it (a forced GC's measure,
			// without forcing one) and the GC count: what a soak watches.
			collectors.GoRuntimeMetricsRule{Matcher: regexp.MustCompile(`^/gc/(heap/live:bytes|cycles/total:gc-cycles)$`)},
		)),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	// Series that should read 0 rather than be absent before the first event,
	// so rate() and ratios work from the first scrape.
	m.keyCacheHit, m.keyCacheMiss = m.keyCacheLookups.WithLabelValues("hit"), m.keyCacheLookups.WithLabelValues("miss")
	m.decisions = make(map[string]*[3]prometheus.Counter)
	for _, scope := range []string{ScopeKey, ScopeIP, ScopeWallet} {
		var cs [3]prometheus.Counter
		for i, d := range decisionNames {
			cs[i] = m.limiterDecisions.WithLabelValues(scope, d)
		}
		m.decisions[scope] = &cs
	}
	for _, s := range []string{StorePostgres, StoreRedis} {
		m.storeErrors.WithLabelValues(s)
	}
	return m
}

// counterVec is a counter with one series per value of labels.
func counterVec(name, help string, labels ...string) *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
}

// histogramVec is a histogram with one series per value of labels.
func histogramVec(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
	return prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets}, labels)
}

// Registry is the registry the collectors live on (tests gather from it).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus text format. A nil *Metrics
// answers 404, so a handler is always safe to mount.
func (m *Metrics) Handler() http.Handler {
	if m == nil {
		return http.NotFoundHandler()
	}
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg, ErrorHandling: promhttp.ContinueOnError})
}

// Register adds an extra collector (e.g. database pool statistics).
func (m *Metrics) Register(c prometheus.Collector) {
	if m == nil {
		return
	}
	m.reg.MustRegister(c)
}

// GaugeFunc registers a gauge read at scrape time.
func (m *Metrics) GaugeFunc(name, help string, f func() float64) {
	if m == nil {
		return
	}
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f))
}

// HTTP is the Echo middleware counting requests and timing them by route
// pattern (c.Path(), never the raw path: bounded labels, no ids or secrets).
// It must run outside the access log, which writes error answers, so the
// status it reads is final.
func (m *Metrics) HTTP(next echo.HandlerFunc) echo.HandlerFunc {
	if m == nil {
		return next
	}
	return func(c echo.Context) error {
		start := time.Now()
		m.httpInFlight.Inc()
		defer m.httpInFlight.Dec()
		err := next(c)
		if err != nil && !c.Response().Committed {
			c.Error(err)
			err = nil
		}
		route := c.Path()
		if route == "" { // no route matched: one series, not one per probed path
			route = unmatchedRoute
		}
		ser := m.series(methodLabel(c.Request().Method), route, c.Response().Status)
		ser.requests.Inc()
		ser.duration.Observe(time.Since(start).Seconds())
		return err
	}
}

// httpLabels are the labels of one HTTP series: bounded (route patterns,
// known methods, status codes), so the cache of their handles is too.
type httpLabels struct {
	method, route string
	status        int
}

type httpSeries struct {
	requests prometheus.Counter
	duration prometheus.Observer
}

func (m *Metrics) series(method, route string, status int) *httpSeries {
	k := httpLabels{method, route, status}
	m.seriesMu.RLock()
	s, ok := m.httpSeries[k]
	m.seriesMu.RUnlock()
	if ok {
		return s
	}
	m.seriesMu.Lock()
	defer m.seriesMu.Unlock()
	if s, ok := m.httpSeries[k]; ok {
		return s
	}
	s = &httpSeries{
		requests: m.httpRequests.WithLabelValues(method, route, strconv.Itoa(status)),
		duration: m.httpDuration.WithLabelValues(method, route),
	}
	if m.httpSeries == nil {
		m.httpSeries = make(map[httpLabels]*httpSeries)
	}
	m.httpSeries[k] = s
	return s
}

// methodLabel keeps the method label bounded: clients can send any token.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return m
	}
	return "other"
}

// RateLimit counts one limiter answer of scope.
func (m *Metrics) RateLimit(scope string, allowed bool, err error) {
	if m == nil {
		return
	}
	i := decisionRefused
	switch {
	case err != nil:
		i = decisionUnavailable
	case allowed:
		i = decisionAllowed
	}
	if cs, ok := m.decisions[scope]; ok {
		cs[i].Inc()
		return
	}
	m.limiterDecisions.WithLabelValues(scope, decisionNames[i]).Inc()
}

// decisionIndex indexes a limiter decision's label value in decisionNames.
type decisionIndex int

const (
	decisionAllowed decisionIndex = iota
	decisionRefused
	decisionUnavailable
)

var decisionNames = [...]string{decisionAllowed: "allowed", decisionRefused: "refused", decisionUnavailable: "unavailable"}

// Signature counts and times one signature verification of kind that began
// at start; err is the verifier's answer.
func (m *Metrics) Signature(kind string, start time.Time, err error) {
	if m == nil {
		return
	}
	m.signatureDuration.WithLabelValues(kind).Observe(time.Since(start).Seconds())
	result := "valid"
	switch {
	case errors.Is(err, stacks.ErrMalformedSignature):
		result = "malformed"
	case err != nil:
		result = "invalid"
	}
	m.signatures.WithLabelValues(kind, result).Inc()
}

// Settlement counts and times one settlement call.
func (m *Metrics) Settlement(settlement, path, outcome string, start time.Time) {
	if m == nil {
		return
	}
	m.settlementDuration.WithLabelValues(settlement).Observe(time.Since(start).Seconds())
	m.settlements.WithLabelValues(settlement, path, outcome).Inc()
}

// KeyCacheLookup counts one key-cache lookup.
func (m *Metrics) KeyCacheLookup(hit bool) {
	if m == nil {
		return
	}
	if hit {
		m.keyCacheHit.Inc()
	} else {
		m.keyCacheMiss.Inc()
	}
}

// KeyCacheReload counts a cached key read again after its generation moved.
func (m *Metrics) KeyCacheReload() {
	if m == nil {
		return
	}
	m.keyCacheReloads.Inc()
}

// StoreError counts a request answered 503 because store was unreachable.
func (m *Metrics) StoreError(store string) {
	if m == nil {
		return
	}
	m.storeErrors.WithLabelValues(store).Inc()
}
