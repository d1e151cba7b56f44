// Command stxgate-soak runs the real gateway under hours of load and tells
// whether its memory, file descriptors, connections and logs stay flat.
//
// It creates its own PostgreSQL database (stxgate_soak) and Redis prefix,
// starts the gateway binary on loopback with the simulated settlement,
// provisions wallets and keys through the API, and drives five phases with
// wrk (Debian package): keyed (GET /api/v1/api-keys/self), wallet-signed
// (GET /api/v1/api-keys), create order, execute (a fresh open order per
// request) and mixed. A warm-up runs every phase once at full speed and
// measures its capacity; then rounds run every phase at half that capacity
// until the duration is spent. About every 10 s it samples the gateway —
// RSS and open fds (/proc), live heap, heap in use, GC cycles and goroutines
// (its /metrics), PostgreSQL connections (pg_stat_activity), Redis
// used_memory — with the req/s and p99 of the last stretch, and prints one
// table and the growth per 100,000 requests after the warm-up.
//
// The verdict (exit status 1 with -check) compares the end of the first
// round with the end of the last, both right after the mixed phase: RSS and
// live heap within +10% and under 1 MB of growth per 100,000 requests; no
// 5xx answer and no ERROR log line over the whole run. Latency is reported,
// never judged: a shared machine makes it noise.
//
//	stxgate-soak [-duration 10m] [-check] [-out docs/soak-report.md]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/stxgate/stxgate/internal/loadkit"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "stxgate-soak:", err)
		os.Exit(1)
	}
}

// settings of one run.
type settings struct {
	gateway  string
	wrk      string
	dbURL    string
	redisURL string
	out      string
	duration time.Duration
	check    bool
	conns    int
}

func parseSettings(args []string) (settings, error) {
	var s settings
	fs := flag.NewFlagSet("stxgate-soak", flag.ContinueOnError)
	fs.StringVar(&s.gateway, "gateway", "bin/stxgate", "gateway binary to run")
	fs.StringVar(&s.wrk, "wrk", "wrk", "wrk binary (Debian package wrk)")
	fs.StringVar(&s.dbURL, "database-url", loadkit.EnvOr("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"),
		"PostgreSQL DSN with the right to create databases (stxgate_soak is created and dropped)")
	fs.StringVar(&s.redisURL, "redis-url", loadkit.EnvOr("REDIS_URL", "redis://127.0.0.1:6379/0"),
		"Redis URL (a fresh stxgate-soak:<random>: prefix is used and deleted)")
	fs.StringVar(&s.out, "out", "", "also write the report (Markdown) to this file")
	fs.DurationVar(&s.duration, "duration", 10*time.Minute, "measured time after the warm-up (at least 40s)")
	fs.BoolVar(&s.check, "check", false, "exit 1 when a budget is exceeded (CI)")
	fs.IntVar(&s.conns, "conns", 32, "wrk connections")
	if err := fs.Parse(args); err != nil {
		return s, err
	}
	if s.duration < 40*time.Second {
		return s, errors.New("-duration must be at least 40s (two rounds of five phases)")
	}
	if s.conns < 1 {
		return s, errors.New("-conns must be positive")
	}
	return s, nil
}

func run(args []string) error {
	s, err := parseSettings(args)
	if err != nil {
		return err
	}
	if _, err := os.Stat(s.gateway); err != nil {
		return fmt.Errorf("gateway binary %s: %w (make soak builds it)", s.gateway, err)
	}
	wrkPath, err := lookWrk(s.wrk)
	if err != nil {
		return err
	}
	s.wrk = wrkPath
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	p := newPlan(s.duration)
	ctx, cancel := context.WithTimeout(ctx, p.total()+5*time.Minute)
	defer cancel()

	started := time.Now()
	r, err := setup(ctx, s)
	if r != nil {
		defer r.teardown()
	}
	if err != nil {
		return err
	}
	if err := r.soak(ctx, p); err != nil {
		return err
	}
	rep := r.report(p, time.Since(started))
	fmt.Print(rep.text)
	if s.out != "" {
		if err := loadkit.WriteReport(s.out, rep.text); err != nil {
			return err
		}
		loadkit.Logf("report written to %s", s.out)
	}
	if s.check && !rep.pass {
		return errors.New("over budget (see the verdict above)")
	}
	return nil
}
