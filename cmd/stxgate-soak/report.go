package main

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"
)

// Budgets of the verdict (issue 19): after the warm-up, RSS and live heap
// within +10% from the first round's end to the last's and under 1 MB of
// growth per 100,000 requests; no 5xx; no ERROR log line.
const (
	maxGrowthRatio   = 0.10
	maxGrowthPer100k = 1 << 20 // bytes
)

// A fitted growth smaller than a metric's resolution is not told apart from
// noise: RSS moves by whole spans of pages as the heap grows and the
// scavenger returns memory, the live heap with what is in flight when a GC
// marks. A short run with few requests would otherwise turn ±1 MB of noise
// into "megabytes per 100,000 requests"; a leak worth the budget over the
// run's requests exceeds these floors (the old simulated settlement's 430
// bytes per execute: 4 MB per 10,000 executes). Nor is one smaller than
// the scatter of this run's own samples around the fitted line (two
// standard errors): a live heap marked while 32 connections have requests
// in flight moves by ±0.5 MB from one GC to the next, and a one-minute run
// fits its slope through two samples a phase. A leak grows the same way in
// every phase and round, so it leaves little scatter and is still judged.
var resolution = map[string]int64{"RSS": 2 << 20, "heap live (after GC)": 512 << 10}

type report struct {
	text string
	pass bool
}

// metric is one sampled figure, for the growth table.
type metric struct {
	name   string
	get    func(sample) int64
	bytes  bool
	judged bool // part of the verdict (RSS, live heap)
}

var metricsOfGrowth = []metric{
	{"RSS", func(s sample) int64 { return s.rss }, true, true},
	{"heap live (after GC)", func(s sample) int64 { return s.heapLive }, true, true},
	{"heap in use", func(s sample) int64 { return s.heapInuse }, true, false},
	{"goroutines", func(s sample) int64 { return s.goroutines }, false, false},
	{"open fds", func(s sample) int64 { return s.fds }, false, false},
	{"PostgreSQL connections", func(s sample) int64 { return s.pgConns }, false, false},
	{"Redis used_memory", func(s sample) int64 { return s.redisMem }, true, false},
}

// growth is what a metric did after the warm-up.
type growth struct {
	start, end int64   // at the end of the first and the last round (after the mixed phase)
	per100k    float64 // bytes (or units) per 100,000 requests, fitted
	fitted     float64 // per100k over the requests from the first sample to the last
	noise      float64 // two standard errors of fitted: what this run's scatter alone could draw
}

// growthOf compares the verdict points and fits value = a_phase + b·requests
// over every sample after the warm-up: each phase keeps its own level (a
// keyed read holds less memory than an execute), so b is growth alone.
func growthOf(verdicts, samples []sample, get func(sample) int64) growth {
	g := growth{start: get(verdicts[0]), end: get(verdicts[len(verdicts)-1])}
	type acc struct{ n, x, y float64 }
	means := map[string]*acc{}
	var measured []sample
	for _, s := range samples {
		if s.warm {
			continue
		}
		measured = append(measured, s)
		a := means[phaseOf(s)]
		if a == nil {
			a = &acc{}
			means[phaseOf(s)] = a
		}
		a.n, a.x, a.y = a.n+1, a.x+float64(s.requests), a.y+float64(get(s))
	}
	var sxx, sxy float64
	for _, s := range measured {
		a := means[phaseOf(s)]
		dx, dy := float64(s.requests)-a.x/a.n, float64(get(s))-a.y/a.n
		sxx, sxy = sxx+dx*dx, sxy+dx*dy
	}
	if sxx == 0 || len(measured) < 2 {
		return g
	}
	b := sxy / sxx
	span := float64(measured[len(measured)-1].requests - measured[0].requests)
	g.per100k, g.fitted = b*100_000, b*span
	// The slope's standard error from the residuals, one degree of freedom
	// spent on each phase level and one on the slope.
	if dof := len(measured) - len(means) - 1; dof > 0 {
		var ssr float64
		for _, s := range measured {
			a := means[phaseOf(s)]
			r := float64(get(s)) - a.y/a.n - b*(float64(s.requests)-a.x/a.n)
			ssr += r * r
		}
		g.noise = 2 * math.Sqrt(ssr/float64(dof)/sxx) * span
	}
	return g
}

// phaseOf is the phase of a sample's label ("r2 execute" → "execute").
func phaseOf(s sample) string {
	_, name, _ := strings.Cut(s.label, " ")
	return name
}

func (r *runner) report(p plan, took time.Duration) report {
	var b strings.Builder
	pass := true
	fail := func(format string, args ...any) {
		pass = false
		fmt.Fprintf(&b, "- **FAIL** "+format+"\n", args...)
	}
	ok := func(format string, args ...any) { fmt.Fprintf(&b, "- ok: "+format+"\n", args...) }

	fmt.Fprintf(&b, "## stxgate soak, %s\n\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(&b, "Gateway `%s` on PostgreSQL + Redis, simulated settlement, loopback; wrk -t1 -c%d. Warm-up: every phase "+
		"%s unpaced (its capacity). Then %d rounds of keyed, signed, create, execute, mixed (%d%% keyed, %d%% signed, %d%% create, "+
		"%d%% execute), %s each, paced at half the warm-up capacity. Whole run %s.\n\n",
		r.s.gateway, r.s.conns, p.warmup, p.rounds, mixWeights[phaseKeyed], mixWeights[phaseSigned], mixWeights[phaseCreate],
		mixWeights[phaseExecute], time.Duration(p.chunks)*p.chunk, took.Round(time.Second))

	b.WriteString("| t | phase | req/s | p99 ms | RSS MB | heap live MB | heap in use MB | GC cycles | goroutines | fds | PG conns | Redis used MB | requests |\n")
	b.WriteString("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	t0 := r.samples[0].at
	for _, s := range r.samples {
		fmt.Fprintf(&b, "| %s | %s | %.0f | %.1f | %.1f | %.1f | %.1f | %d | %d | %d | %d | %.1f | %d |\n",
			s.at.Sub(t0).Round(time.Second), s.label, s.rate, ms(s.p99), mb(s.rss), mb(s.heapLive), mb(s.heapInuse),
			s.gcCycles, s.goroutines, s.fds, s.pgConns, mb(s.redisMem), s.requests)
	}

	v := r.verdicts
	first, last := v[0], v[len(v)-1]
	fmt.Fprintf(&b, "\nGrowth after the warm-up. Start and end: the end of the first and of the last round, both right after "+
		"the mixed phase (like with like); %d requests between them. Per 100,000 requests: the least-squares slope over every "+
		"sample after the warm-up, each phase at its own level.\n\n", last.requests-first.requests)
	b.WriteString("| | end of round 1 | end of last round | change | per 100,000 requests |\n|---|---:|---:|---:|---:|\n")
	for _, m := range metricsOfGrowth {
		g := growthOf(v, r.samples, m.get)
		if m.bytes {
			fmt.Fprintf(&b, "| %s | %.1f MB | %.1f MB | %+.1f%% | %+.3f MB |\n", m.name, mb(g.start), mb(g.end),
				pct(g.start, g.end), g.per100k/(1<<20))
		} else {
			fmt.Fprintf(&b, "| %s | %d | %d | %+d | %+.2f |\n", m.name, g.start, g.end, g.end-g.start, g.per100k)
		}
	}

	b.WriteString("\nLatency (reported, not judged): p99 by phase, median over the chunks of the first and the second half of the rounds.\n\n")
	b.WriteString("| phase | capacity req/s | paced req/s | p99 first half ms | p99 second half ms |\n|---|---:|---:|---:|---:|\n")
	for _, ph := range phases {
		first, second, rate := r.p99Halves(ph, p.rounds)
		fmt.Fprintf(&b, "| %s | %.0f | %.0f | %.1f | %.1f |\n", ph, r.capacity[ph], rate, ms(first), ms(second))
	}

	end := r.samples[len(r.samples)-1]
	levels := r.gw.log.counts()
	fmt.Fprintf(&b, "\nAnswers: %d in all; 5xx %d; 499 (client closed request, wrk stopping mid-request) %d. Log lines: %s.\n\nVerdict:\n",
		end.requests, end.status5xx, end.status499, levelSummary(levels))
	for _, m := range metricsOfGrowth {
		if !m.judged {
			continue
		}
		g := growthOf(v, r.samples, m.get)
		ratio := pct(g.start, g.end)
		if ratio > maxGrowthRatio*100 {
			fail("%s grew %+.1f%% from the end of round 1 to the end of round %d (budget +%.0f%%)", m.name, ratio, len(v), maxGrowthRatio*100)
		} else {
			ok("%s %+.1f%% from the end of round 1 to the end of round %d (budget +%.0f%%)", m.name, ratio, len(v), maxGrowthRatio*100)
		}
		floor := resolution[m.name]
		switch {
		case g.per100k >= maxGrowthPer100k && g.fitted >= float64(floor) && g.fitted > g.noise:
			fail("%s grows %.3f MB per 100,000 requests (budget < 1 MB), %.2f MB over the run (scatter ±%.2f MB)",
				m.name, g.per100k/(1<<20), g.fitted/(1<<20), g.noise/(1<<20))
		case g.per100k >= maxGrowthPer100k && g.fitted < float64(floor):
			ok("%s %+.3f MB per 100,000 requests, but %.2f MB over the run is within its %.1f MB resolution (too few requests to tell)",
				m.name, g.per100k/(1<<20), g.fitted/(1<<20), mb(floor))
		case g.per100k >= maxGrowthPer100k:
			ok("%s %+.3f MB per 100,000 requests, but %.2f MB over the run is within the ±%.2f MB its samples scatter (two standard errors: not told apart from noise)",
				m.name, g.per100k/(1<<20), g.fitted/(1<<20), g.noise/(1<<20))
		default:
			ok("%s %+.3f MB per 100,000 requests (budget < 1 MB; %.2f MB over the run, scatter ±%.2f MB)",
				m.name, g.per100k/(1<<20), g.fitted/(1<<20), g.noise/(1<<20))
		}
	}
	if end.status5xx > 0 {
		fail("%d answers were 5xx (budget 0)", end.status5xx)
	} else {
		ok("no 5xx answer")
	}
	if n := levels["ERROR"] + levels["OTHER"]; n > 0 {
		fail("%d ERROR (or non-JSON) log lines (budget 0); the first:\n\n```\n%s\n```", n, strings.Join(r.gw.log.errorLines(), "\n"))
	} else {
		ok("no ERROR log line")
	}
	if pass {
		b.WriteString("\n**PASS**\n")
	} else {
		b.WriteString("\n**FAIL**\n")
	}
	return report{text: b.String(), pass: pass}
}

// pct is the change from a to b in percent.
func pct(a, b int64) float64 {
	if a == 0 {
		return 0
	}
	return float64(b-a) / float64(a) * 100
}

// p99Halves is the median chunk p99 of ph in the first and second half of
// the rounds, and its mean paced rate.
func (r *runner) p99Halves(ph phase, rounds int) (first, second time.Duration, rate float64) {
	var a, b []time.Duration
	var sum float64
	var n int
	for _, s := range r.samples {
		var round int
		var name string
		if s.warm {
			continue
		}
		if _, err := fmt.Sscanf(s.label, "r%d %s", &round, &name); err != nil || phase(name) != ph {
			continue
		}
		if round <= rounds/2 {
			a = append(a, s.p99)
		} else {
			b = append(b, s.p99)
		}
		sum += s.rate
		n++
	}
	if n > 0 {
		rate = sum / float64(n)
	}
	return median(a), median(b), rate
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	ds = slices.Clone(ds)
	slices.Sort(ds)
	return ds[len(ds)/2]
}

func levelSummary(levels map[string]int) string {
	keys := make([]string, 0, len(levels))
	for k := range levels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, levels[k]))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}
