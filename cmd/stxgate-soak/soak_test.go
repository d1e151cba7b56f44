package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"
)

func TestPlanFitsTheDuration(t *testing.T) {
	for _, c := range []struct {
		d               time.Duration
		rounds, chunks  int
		chunk, warmup   time.Duration
		measured, total time.Duration
	}{
		{60 * time.Second, 2, 1, 6 * time.Second, 3 * time.Second, 60 * time.Second, 75 * time.Second},
		{10 * time.Minute, 6, 2, 10 * time.Second, 10 * time.Second, 10 * time.Minute, 10*time.Minute + 50*time.Second},
		{30 * time.Minute, 18, 2, 10 * time.Second, 10 * time.Second, 30 * time.Minute, 30*time.Minute + 50*time.Second},
	} {
		p := newPlan(c.d)
		if p.rounds != c.rounds || p.chunks != c.chunks || p.chunk != c.chunk || p.warmup != c.warmup ||
			p.measured() != c.measured || p.total() != c.total {
			t.Errorf("newPlan(%s) = %+v (measured %s, total %s)", c.d, p, p.measured(), p.total())
		}
	}
}

func TestDelayFor(t *testing.T) {
	for _, c := range []struct {
		rate  float64
		conns int
		want  int
	}{{0, 32, 0}, {1000, 32, 32}, {6400, 32, 5}, {1e6, 32, 1}} {
		if got := delayFor(c.rate, c.conns); got != c.want {
			t.Errorf("delayFor(%v, %d) = %d, want %d", c.rate, c.conns, got, c.want)
		}
	}
}

func TestParseWrk(t *testing.T) {
	out := "Running 6s test @ http://127.0.0.1:1\n  1 threads and 32 connections\n" +
		`SOAK-RESULT {"requests":1200,"durationUs":6000000,"p50Us":900,"p99Us":4100,"maxUs":9000,"statusErrors":3,"connectErrors":0,"readErrors":1,"writeErrors":0,"timeouts":2}` + "\n"
	res, err := parseWrk(out)
	if err != nil {
		t.Fatal(err)
	}
	want := wrkResult{Requests: 1200, DurationUs: 6_000_000, P50Us: 900, P99Us: 4100, MaxUs: 9000, StatusErrors: 3, ReadErrors: 1, Timeouts: 2}
	if res != want || res.rate() != 200 {
		t.Fatalf("parseWrk = %+v (rate %v), want %+v", res, res.rate(), want)
	}
	if _, err := parseWrk("wrk: connection refused\n"); err == nil {
		t.Fatal("no error for output without the summary line")
	}
}

func TestExpositionSum(t *testing.T) {
	m, err := parseExposition(strings.NewReader(`# HELP stxgate_http_requests_total Requests.
# TYPE stxgate_http_requests_total counter
stxgate_http_requests_total{method="GET",route="/a",status="200"} 10
stxgate_http_requests_total{method="GET",route="/a",status="499"} 2
stxgate_http_requests_total{method="POST",route="/b",status="503"} 1
stxgate_http_requests_total_other 99
go_gc_heap_live_bytes 4.194304e+06
`))
	if err != nil {
		t.Fatal(err)
	}
	if got := m.sum("stxgate_http_requests_total", nil); got != 13 {
		t.Errorf("all requests = %v, want 13", got)
	}
	if got := m.sum("stxgate_http_requests_total", func(l string) bool { return strings.Contains(l, `status="5`) }); got != 1 {
		t.Errorf("5xx = %v, want 1", got)
	}
	if got := m.sum("go_gc_heap_live_bytes", nil); got != 4<<20 {
		t.Errorf("heap live = %v", got)
	}
	if _, err := parseExposition(strings.NewReader("x{a=\"b\"} notanumber\n")); err == nil {
		t.Error("no error for a malformed value")
	}
}

func TestLogWatchCountsLevelsAndKeepsErrors(t *testing.T) {
	var l logWatch // written in pieces that split lines, as a pipe may
	_, _ = io.Copy(&l, iotest.HalfReader(strings.NewReader(`{"level":"INFO","msg":"request","status":200}
{"level":"WARN","msg":"SIMULATED settlement"}
{"level":"ERROR","msg":"request failed","status":500}
panic: boom
{"level":"INFO","msg":"request","status":499}
`)))
	got := l.counts()
	if got["INFO"] != 2 || got["WARN"] != 1 || got["ERROR"] != 1 || got["OTHER"] != 1 || len(got) != 4 {
		t.Fatalf("counts %v", got)
	}
	if e := l.errorLines(); len(e) != 2 || !strings.Contains(e[0], "request failed") || e[1] != "panic: boom" {
		t.Fatalf("error lines %q", e)
	}
}

// samplesOf makes the samples of rounds of two phases; mem gives the value
// at a sample's request count.
func samplesOf(rounds int, perChunk int64, mem func(phase string, requests int64) int64) []sample {
	var out []sample
	var req int64
	for _, ph := range []string{"keyed", "mixed"} {
		req += perChunk
		out = append(out, sample{label: "warm-up " + ph, warm: true, requests: req, rss: 999 << 20, heapLive: 999 << 20})
	}
	for r := 1; r <= rounds; r++ {
		for _, ph := range []string{"keyed", "mixed"} {
			req += perChunk
			v := mem(ph, req)
			out = append(out, sample{label: "r" + string(rune('0'+r)) + " " + ph, requests: req, rss: v, heapLive: v})
		}
	}
	return out
}

func TestGrowthIgnoresPhaseLevelsAndWarmUp(t *testing.T) {
	// Flat within each phase, mixed 8 MB above keyed: no growth.
	flat := samplesOf(3, 50_000, func(ph string, _ int64) int64 {
		if ph == "mixed" {
			return 40 << 20
		}
		return 32 << 20
	})
	g := growthOf([]sample{flat[3], flat[7]}, flat, func(s sample) int64 { return s.rss })
	if g.per100k != 0 || g.start != 40<<20 || g.end != 40<<20 {
		t.Fatalf("flat memory: %+v", g)
	}
	// 430 bytes per request on top of the phase levels.
	leak := samplesOf(3, 50_000, func(ph string, req int64) int64 { return 32<<20 + 430*req })
	g = growthOf([]sample{leak[3], leak[7]}, leak, func(s sample) int64 { return s.rss })
	if g.per100k < 42_999_000 || g.per100k > 43_001_000 {
		t.Fatalf("leak of 430 bytes per request: %.0f per 100k, want 43,000,000", g.per100k)
	}
}

// roundsOf makes the samples of a 60 s CI soak after its warm-up: two
// rounds of the five phases, perChunk requests a sample; mem gives the
// value of a phase in a round at a request count.
func roundsOf(perChunk int64, mem func(ph phase, round int, requests int64) int64) []sample {
	var out []sample
	var req int64
	for r := 1; r <= 2; r++ {
		for _, ph := range phases {
			req += perChunk
			v := mem(ph, r, req)
			out = append(out, sample{label: fmt.Sprintf("r%d %s", r, ph), requests: req, rss: v, heapLive: v})
		}
	}
	return out
}

func TestGrowthWithinItsScatterIsNotJudged(t *testing.T) {
	level := map[phase]int64{phaseKeyed: 20 << 20, phaseSigned: 22 << 20, phaseCreate: 23 << 20, phaseExecute: 24 << 20, phaseMixed: 23 << 20}
	// Round 2 minus round 1, in KB: the shape of a CI run on a slow machine
	// (2,170 requests a sample) whose live heap moved with what was in
	// flight at each GC: +0.48 MB on average, one phase to the next ±0.75 MB.
	moved := map[phase]int64{phaseKeyed: 1200, phaseSigned: -300, phaseCreate: 900, phaseExecute: -200, phaseMixed: 800}
	scatter := func(ph phase, round int, _ int64) int64 {
		if round == 2 {
			return level[ph] + moved[ph]<<10
		}
		return level[ph]
	}
	s := roundsOf(2_170, scatter)
	g := growthOf([]sample{s[4], s[9]}, s, func(s sample) int64 { return s.heapLive })
	if g.per100k < maxGrowthPer100k || g.fitted < float64(resolution["heap live (after GC)"]) || g.fitted > g.noise {
		t.Fatalf("scatter alone: %.2f MB per 100k, %.2f MB over the run, noise %.2f MB; want over budget and resolution, within noise",
			g.per100k/(1<<20), g.fitted/(1<<20), g.noise/(1<<20))
	}
	// The same scatter on top of a leak of 100 bytes per request (2 MB over
	// the run) stands out of it.
	leak := roundsOf(2_170, func(ph phase, round int, req int64) int64 { return scatter(ph, round, req) + 100*req })
	g = growthOf([]sample{leak[4], leak[9]}, leak, func(s sample) int64 { return s.heapLive })
	if g.fitted <= g.noise || g.per100k < maxGrowthPer100k {
		t.Fatalf("leak of 100 bytes per request within scatter: %.2f MB over the run, noise %.2f MB", g.fitted/(1<<20), g.noise/(1<<20))
	}
	// In the verdict: the scattered run passes and says why, the leak fails.
	if rep := reportOn(s, 4, 9, ""); !rep.pass || !strings.Contains(rep.text, "heap live (after GC) +4.") ||
		!strings.Contains(rep.text, "its samples scatter (two standard errors: not told apart from noise)") {
		t.Fatalf("scatter alone failed the run:\n%s", rep.text)
	}
	if rep := reportOn(leak, 4, 9, ""); rep.pass || !strings.Contains(rep.text, "**FAIL** heap live (after GC) grows") {
		t.Fatalf("a 100 bytes per request leak passed:\n%s", rep.text)
	}
	// A clean leak leaves no scatter at all.
	clean := roundsOf(2_170, func(ph phase, _ int, req int64) int64 { return level[ph] + 100*req })
	if g = growthOf([]sample{clean[4], clean[9]}, clean, func(s sample) int64 { return s.heapLive }); g.noise > 1 {
		t.Fatalf("a straight line has noise %.0f bytes", g.noise)
	}
}

// reportOn is the 60 s soak's report on samples (6 s apart), its verdict
// comparing samples first and last, with logs as the gateway's log.
func reportOn(samples []sample, first, last int, logs string) report {
	r := &runner{s: settings{gateway: "bin/stxgate", conns: 32}, capacity: map[phase]float64{}, gw: &gateway{log: &logWatch{}}}
	_, _ = io.WriteString(r.gw.log, logs)
	r.samples = samples
	for i := range r.samples {
		r.samples[i].at = time.Unix(int64(i*6), 0)
	}
	r.verdicts = []sample{r.samples[first], r.samples[last]}
	return r.report(newPlan(60*time.Second), time.Minute)
}

func TestVerdict(t *testing.T) {
	run := func(mem func(string, int64) int64, logs string, fiveXX int64) report {
		samples := samplesOf(2, 60_000, mem)
		for i := range samples {
			samples[i].status5xx = fiveXX
		}
		return reportOn(samples, 3, 5, logs)
	}
	flat := func(string, int64) int64 { return 30 << 20 }
	if rep := run(flat, `{"level":"INFO"}`+"\n", 0); !rep.pass || !strings.Contains(rep.text, "**PASS**") {
		t.Fatalf("flat run failed:\n%s", rep.text)
	}
	leaky := func(_ string, req int64) int64 { return 30<<20 + 430*req }
	rep := run(leaky, "", 0)
	if rep.pass || !strings.Contains(rep.text, "**FAIL** RSS grows") {
		t.Fatalf("a 430 bytes per request leak passed:\n%s", rep.text)
	}
	// Noise: +1 MB at the very end over 180,000 requests is within RSS's resolution.
	noisy := func(_ string, req int64) int64 {
		if req == 360_000 {
			return 31 << 20
		}
		return 30 << 20
	}
	if rep := run(noisy, "", 0); !rep.pass {
		t.Fatalf("1 MB of noise failed the run:\n%s", rep.text)
	}
	rep = run(flat, `{"level":"ERROR","msg":"request failed","status":500}`+"\n", 1)
	if rep.pass || !strings.Contains(rep.text, "**FAIL** 1 answers were 5xx") || !strings.Contains(rep.text, "**FAIL** 1 ERROR") {
		t.Fatalf("5xx and ERROR lines passed:\n%s", rep.text)
	}
}

// soak.lua against a real wrk: sources interleaved by weight, each request
// of a source handed out in turn, pacing slowing it down.
func TestLuaScriptWithWrk(t *testing.T) {
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		t.Skip("wrk is not installed (apt-get install wrk)")
	}
	var mu sync.Mutex
	seen := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen[r.Method+" "+r.URL.Path+" "+r.Header.Get("X-Key")]++
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	dir := t.TempDir()
	script := filepath.Join(dir, "soak.lua")
	if err := os.WriteFile(script, luaScript, 0o644); err != nil {
		t.Fatal(err)
	}
	a, b := filepath.Join(dir, "a.req"), filepath.Join(dir, "b.req")
	if err := writeLines(a, []string{requestLine("GET", "/a/1", []string{"X-Key: k1"}, ""),
		requestLine("GET", "/a/2", []string{"X-Key: k2"}, "")}); err != nil {
		t.Fatal(err)
	}
	if err := writeLines(b, []string{requestLine("POST", "/b", []string{"X-Key: k3", "Content-Type: application/json"}, `{"x":1}`)}); err != nil {
		t.Fatal(err)
	}
	run := func(delay string) wrkResult {
		out, err := exec.CommandContext(context.Background(), wrk, "-t1", "-c4", "-d1s", "-s", script, srv.URL,
			"--", delay, "75="+a, "25="+b).CombinedOutput()
		if err != nil {
			t.Fatalf("wrk: %v\n%s", err, out)
		}
		res, err := parseWrk(string(out))
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		return res
	}
	fast := run("0")
	mu.Lock()
	a1, a2, bb := seen["GET /a/1 k1"], seen["GET /a/2 k2"], seen["POST /b k3"]
	kinds := len(seen)
	mu.Unlock()
	total := a1 + a2 + bb
	if kinds != 3 || total < 100 || a1+a2 < total*7/10 || a1+a2 > total*8/10 || a1-a2 > total/20 || a2-a1 > total/20 {
		t.Fatalf("requests seen %d kinds: %d, %d, %d (wrk counted %d)", kinds, a1, a2, bb, fast.Requests)
	}
	if paced := run("100"); paced.Requests > 4*12 { // 4 connections, one request per 100 ms each
		t.Fatalf("paced at 100 ms per connection, wrk sent %d in 1 s", paced.Requests)
	}
}
