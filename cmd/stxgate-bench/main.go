// Command stxgate-bench measures stxgate against the ceilings of the machine
// it runs on, in the same run, and writes a Markdown report.
//
// It creates its own PostgreSQL databases (stxgate_bench, stxgate_bench_scale)
// and Redis prefix, starts the real gateway binary twice (1,000 keys and the
// scale database) and a ceiling server on loopback ports, provisions wallets,
// keys and orders, then alternates each scenario with its ceiling for a few
// rounds, so the noise of a shared machine hits both. Everything it creates
// is removed at the end. See bench/README.md for the method.
//
//	stxgate-bench [flags]           the benchmark (make bench / make bench-quick)
//	stxgate-bench ceiling [flags]   the ceiling server it starts itself
//	stxgate-bench gateway [flags]   the gateway with pprof, for -profile runs
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/stxgate/stxgate/internal/loadkit"
)

func main() {
	var err error
	switch {
	case len(os.Args) > 1 && os.Args[1] == "ceiling":
		err = runCeilingServer(os.Args[2:])
	case len(os.Args) > 1 && os.Args[1] == "gateway":
		err = runProfiledGateway(os.Args[2:])
	default:
		err = runBench(os.Args[1:])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "stxgate-bench:", err)
		os.Exit(1)
	}
}

// settings of one run. -quick changes the defaults, not the method.
type settings struct {
	gateway    string
	floors     string // the ../shared/ceilings binary (floors.go)
	dbURL      string
	redisURL   string
	out        string
	micro      string
	profileDir string

	quick bool
	// phases, when set, measures only these phases and prints a short
	// table instead of the report (A/B of one path).
	phases      map[string]bool
	stacks      bool // execute-stacks: the execute path on stacks settlement against the test node
	stacksConns int
	// stacksExecutors: executor accounts of execute-stacks' gateway (a
	// pool: one key a line in STXGATE_EXECUTOR_KEY_FILE).
	stacksExecutors int
	rounds          int
	warmup          time.Duration
	duration        time.Duration
	paced           time.Duration
	slices          int           // a phase is measured in this many slices, interleaved with its ceiling's
	pacedSlices     int           // the same for paced phases (more: their p99 is set by a few of the machine's stalls)
	sliceWarmup     time.Duration // warm-up of every slice after a phase's first
	pacedShare      float64
	lightShare      float64 // the lighter paced load, as a share of ceiling (a)
	conns           int
	wallets         int
	keysPer         int
	baseKeys        int
	scaleKeys       int
	limiterKeys     int
	maxCount        int
	deadline        time.Duration

	// Limits of the bench keys: high, so the limiter admits every request
	// (it still runs the whole script, recording in all three windows).
	minute, hour, day int
}

func parseSettings(args []string) (settings, error) {
	s := settings{minute: 10_000_000, hour: 600_000_000, day: 2_000_000_000}
	fs := flag.NewFlagSet("stxgate-bench", flag.ContinueOnError)
	fs.StringVar(&s.gateway, "gateway", "bin/stxgate", "gateway binary to measure")
	fs.StringVar(&s.floors, "floors", "bin/ceilings", "the reference floors, built from ../shared/ceilings (absent: the in-tree ceilings stand in)")
	fs.StringVar(&s.dbURL, "database-url", loadkit.EnvOr("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"),
		"PostgreSQL DSN with the right to create databases (stxgate_bench and stxgate_bench_scale are created and dropped)")
	fs.StringVar(&s.redisURL, "redis-url", loadkit.EnvOr("REDIS_URL", "redis://127.0.0.1:6379/0"), "Redis URL (a fresh stxgate-bench:<random>: prefix is used and deleted)")
	fs.StringVar(&s.out, "out", "bench/REPORT.md", "report file ('' prints only)")
	fs.StringVar(&s.micro, "micro", "", "go test -bench output to include in the report")
	fs.StringVar(&s.profileDir, "profile", "", "instead of the report: profile the gateway (pprof twin) under each scenario into this directory")
	fs.BoolVar(&s.quick, "quick", false, "the one-minute version: 1 round, short phases, a smaller scale test")
	rounds := fs.Int("rounds", 0, "rounds of every phase (default 3, quick 1)")
	dur := fs.Duration("duration", 0, "measured time of a closed-loop phase (default 6s, quick 2s)")
	fs.IntVar(&s.conns, "conns", 64, "connections per phase")
	fs.BoolVar(&s.stacks, "stacks", true, "measure execute-stacks (needs node and the npm packages of internal/settlement/stacks/testnode; without them the report says it was not measured)")
	fs.IntVar(&s.stacksConns, "stacks-conns", 8, "connections of execute-stacks")
	fs.IntVar(&s.stacksExecutors, "stacks-executors", 4, "executor accounts of execute-stacks' gateway (a pool: one key a line in STXGATE_EXECUTOR_KEY_FILE)")
	scale := fs.Int("scale-keys", 0, "keys in the scale database (default 1,000,000, quick 50,000)")
	lim := fs.Int("limiter-keys", 0, "active limiter keys of the scale test (default 100,000, quick 10,000)")
	phases := fs.String("phases", "", "measure only these comma-separated phases (e.g. execute,floor-execute) and print their figures instead of the report; paced phases need floor-self")
	if err := fs.Parse(args); err != nil {
		return s, err
	}
	if *phases != "" {
		s.phases = map[string]bool{}
		for _, k := range strings.Split(*phases, ",") {
			s.phases[strings.TrimSpace(k)] = true
		}
		s.stacks = s.stacks && s.phases["execute-stacks"] // no test node to start for nothing
	}
	s.rounds, s.warmup, s.duration, s.paced = 3, time.Second, 6*time.Second, 10*time.Second
	s.slices, s.pacedSlices, s.sliceWarmup = 4, 8, 300*time.Millisecond
	s.scaleKeys, s.limiterKeys, s.deadline = 1_000_000, 100_000, 16*time.Minute
	if s.quick {
		s.rounds, s.warmup, s.duration, s.paced = 1, 500*time.Millisecond, 2*time.Second, 2*time.Second
		s.slices, s.pacedSlices = 2, 2
		s.scaleKeys, s.limiterKeys, s.deadline = 50_000, 10_000, 3*time.Minute
	}
	if s.profileDir != "" {
		s.rounds, s.duration = 1, max(s.duration, 10*time.Second)
	}
	if *rounds > 0 {
		s.rounds = *rounds
	}
	if *dur > 0 {
		s.duration = *dur
	}
	if *scale > 0 {
		s.scaleKeys = *scale
	}
	if *lim > 0 {
		s.limiterKeys = *lim
	}
	s.pacedShare, s.lightShare = 0.25, 0.10
	s.wallets, s.keysPer, s.baseKeys, s.maxCount = 16, 4, 1000, 2_000_000
	if s.wallets*s.keysPer > s.baseKeys || s.limiterKeys > s.scaleKeys-s.wallets*s.keysPer {
		return s, errors.New("-scale-keys must exceed -limiter-keys plus the 64 bench keys")
	}
	return s, nil
}

func runBench(args []string) error {
	s, err := parseSettings(args)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, s.deadline)
	defer cancel()

	if s.profileDir == "" {
		if _, err := os.Stat(s.gateway); err != nil {
			return fmt.Errorf("gateway binary %s: %w (make bench builds it)", s.gateway, err)
		}
	}
	started := time.Now()
	b, err := setup(ctx, s)
	if b != nil {
		defer b.teardown()
	}
	if err != nil {
		return err
	}
	if s.profileDir != "" {
		return b.profile(ctx)
	}
	rounds, err := b.rounds(ctx)
	if err != nil {
		return err
	}
	if s.phases != nil {
		fmt.Print(phaseTable(rounds))
		return nil
	}
	report := b.report(rounds, time.Since(started))
	fmt.Print(report)
	if s.out != "" {
		if err := loadkit.WriteReport(s.out, report); err != nil {
			return err
		}
		fmt.Fprintln(os.Stderr, "report written to", s.out)
	}
	return nil
}

// wants says whether the run measures phase key.
func (s settings) wants(key string) bool { return s.phases == nil || s.phases[key] }

// wantsScale reports whether a scale phase is measured: the million keys
// are inserted and the limiter keys made active only then.
func (s settings) wantsScale() bool { return s.wants("keyed-scale") || s.wants("keyed-scale-paced") }

// phaseTable is what a -phases run prints: each measured phase's throughput
// and CPU per request, every round.
func phaseTable(rounds []*Round) string {
	var w strings.Builder
	fmt.Fprintf(&w, "| round | phase | req/s | p50 | p99 | errors | server | load generator | Redis | PostgreSQL | PostgreSQL transactions | other (cores) | steal (cores) |\n")
	fmt.Fprintf(&w, "|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n")
	for _, r := range rounds {
		for _, k := range r.Order {
			rec := r.Phases[k]
			us := func(cores float64) string { return fmt.Sprintf("%.0f µs", rec.perRequest(cores)*1e6) }
			fmt.Fprintf(&w, "| %d | %s | %.0f | %s | %s | %d | %s | %s | %s | %s | %.2f | %.2f | %.2f |\n", r.N, k, rec.Res.Throughput(),
				fmtDur(rec.Res.Quantile(0.5)), fmtDur(rec.Res.Quantile(0.99)), rec.Res.Errors,
				us(rec.CPU.Server), us(rec.CPU.Self), us(rec.CPU.Redis), us(rec.CPU.Postgres),
				rec.Xacts/float64(max(1, rec.Res.Sent)), rec.CPU.Other, rec.CPU.Steal)
		}
	}
	return w.String()
}

func itoa(n int) string { return strconv.Itoa(n) }
