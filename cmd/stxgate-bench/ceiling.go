package main

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	_ "net/http/pprof" // the profiling twin serves /debug/pprof on its own port
	"os"
	"os/signal"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"

	"github.com/stxgate/stxgate/internal/apikey"
	"github.com/stxgate/stxgate/internal/app"
	"github.com/stxgate/stxgate/internal/config"
	"github.com/stxgate/stxgate/internal/gcheadroom"
	"github.com/stxgate/stxgate/internal/keyauth"
	"github.com/stxgate/stxgate/internal/ratelimit/ratelimittest"
	"github.com/stxgate/stxgate/internal/store/postgres"
	"github.com/stxgate/stxgate/pkg/stacks"
)

// newHTTPServer has cmd/stxgate's server settings, so a ceiling and the
// gateway differ only in their handlers.
func newHTTPServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    32 << 10,
	}
}

// serveUntilSignal serves srv on addr until SIGTERM/SIGINT.
func serveUntilSignal(srv *http.Server, addr string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// runCeilingServer is `stxgate-bench ceiling`: bare Echo handlers doing only
// the I/O the gateway cannot avoid.
//
//	GET  /a/:id       (a) one EVALSHA of the limiter script, the keyed policy
//	POST /b/:id/:uuid (b) that EVALSHA, then the order claim: the gateway's
//	                  conditional UPDATE … RETURNING, one per request (claimOne)
func runCeilingServer(args []string) error {
	fs := flag.NewFlagSet("ceiling", flag.ExitOnError)
	listen := fs.String("listen", "127.0.0.1:0", "listen address (loopback)")
	dbURL := fs.String("database-url", "", "PostgreSQL DSN (the bench database)")
	redisURL := fs.String("redis-url", "", "Redis URL")
	prefix := fs.String("prefix", "", "Redis key prefix")
	minute := fs.Int("minute", 0, "per-minute limit (as the gateway's keys)")
	hour := fs.Int("hour", 0, "per-hour limit")
	day := fs.Int("day", 0, "per-day limit")
	pprofAddr := fs.String("pprof", "", "serve net/http/pprof here (profiling runs)")
	_ = fs.Parse(args)
	if *pprofAddr != "" {
		go func() { _ = http.ListenAndServe(*pprofAddr, http.DefaultServeMux) }()
	}

	ctx := context.Background()
	opt, err := redis.ParseURL(*redisURL)
	if err != nil {
		return err
	}
	rdb := redis.NewClient(opt) // go-redis defaults, as the gateway's
	defer rdb.Close()
	pool, err := postgres.Connect(ctx, *dbURL, postgres.PoolConfig{StatementTimeout: 5 * time.Second})
	if err != nil {
		return err
	}
	defer pool.Close()
	policy := keyauth.PolicyFor(apikey.Limits{Minute: *minute, Hour: *hour, Day: *day})

	evalsha := func(c echo.Context) (int64, error) {
		keys := ratelimittest.Keys(*prefix, keyauth.Subject(c.Param("id")))
		res, err := ratelimittest.Script.Run(c.Request().Context(), rdb, keys, ratelimittest.Args(policy, true)...).Int64Slice()
		if err != nil {
			return 0, err
		}
		if res[0] != 1 {
			return 0, errors.New("limiter refused")
		}
		return res[3], nil
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.GET("/healthz", func(c echo.Context) error { return c.NoContent(http.StatusOK) })
	e.GET("/a/:id", func(c echo.Context) error {
		rem, err := evalsha(c)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, map[string]any{"allowed": true, "remaining": rem})
	})
	e.POST("/b/:id/:uuid", func(c echo.Context) error {
		if _, err := evalsha(c); err != nil {
			return err
		}
		uuid, err := claimOne(c.Request().Context(), pool, c.Param("uuid"), time.Now())
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, map[string]any{"status": "success", "uuid": uuid})
	})
	// Diagnostics for -profile only: (a) answering with a canned copy of a
	// real /self response (its headers and body), which tells the cost of
	// the response's size apart from the cost of the gateway's logic.
	var canned struct {
		mu     sync.Mutex
		header http.Header
		body   []byte
	}
	e.PUT("/canned", func(c echo.Context) error {
		var in struct {
			Header http.Header `json:"header"`
			Body   []byte      `json:"body"`
		}
		if err := c.Bind(&in); err != nil {
			return err
		}
		canned.mu.Lock()
		canned.header, canned.body = in.Header, in.Body
		canned.mu.Unlock()
		return c.NoContent(http.StatusNoContent)
	})
	e.GET("/a-canned/:id", func(c echo.Context) error {
		if _, err := evalsha(c); err != nil {
			return err
		}
		canned.mu.Lock()
		h, body := canned.header, canned.body
		canned.mu.Unlock()
		for k, v := range h {
			c.Response().Header()[k] = v
		}
		return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, body)
	})
	return serveUntilSignal(newHTTPServer(e), *listen)
}

// runProfiledGateway is `stxgate-bench gateway`: the gateway wired exactly as
// cmd/stxgate wires it (config from the environment, app.New, the same
// http.Server settings), plus net/http/pprof on -pprof. Only profiling runs
// use it; every measurement runs the real bin/stxgate.
func runProfiledGateway(args []string) error {
	fs := flag.NewFlagSet("gateway", flag.ExitOnError)
	pprofAddr := fs.String("pprof", "127.0.0.1:0", "pprof listen address (loopback)")
	_ = fs.Parse(args)
	cfg, err := config.Load(nil, os.Getenv, os.Stderr)
	if err != nil {
		return err
	}
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	defer gcheadroom.StartUnlessGOGC(os.Getenv, uint64(cfg.GCHeadroomMB)<<20).Stop()
	a, err := app.New(context.Background(), cfg, log, app.Options{})
	if err != nil {
		return err
	}
	defer a.Close()
	go func() { _ = http.ListenAndServe(*pprofAddr, http.DefaultServeMux) }()
	srv := newHTTPServer(a.Handler())
	srv.ErrorLog = slog.NewLogLogger(log.Handler(), slog.LevelWarn)
	return serveUntilSignal(srv, cfg.Listen)
}

// recoverCeiling is ceiling (c): decred's RecoverCompact on every core, on
// distinct valid signatures, nothing else.
func recoverCeiling(ctx context.Context, warmup, duration time.Duration) (*Result, error) {
	const n = 256
	type input struct {
		sig  [65]byte
		hash [32]byte
	}
	in := make([]input, n)
	for i := range in {
		k, err := stacks.GeneratePrivateKey()
		if err != nil {
			return nil, err
		}
		var seed [8]byte
		binary.BigEndian.PutUint64(seed[:], uint64(i))
		in[i].hash = sha256.Sum256(seed[:])
		s, err := stacks.SignHash(k, in[i].hash)
		if err != nil {
			return nil, err
		}
		in[i].sig[0] = 27 + 4 + s.RecoveryID // decred's compact header: compressed key
		copy(in[i].sig[1:33], s.R[:])
		copy(in[i].sig[33:], s.S[:])
	}
	var (
		count   atomic.Int64 // measured
		all     atomic.Int64 // warm-up included
		measure atomic.Bool
		stop    atomic.Bool
		wg      sync.WaitGroup
		failed  atomic.Value
	)
	for w := range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := w; !stop.Load(); i++ {
				x := &in[i%n]
				if _, _, err := ecdsa.RecoverCompact(x.sig[:], x.hash[:]); err != nil {
					failed.Store(err)
					return
				}
				all.Add(1)
				if measure.Load() {
					count.Add(1)
				}
			}
		})
	}
	sleep := func(d time.Duration) {
		select {
		case <-ctx.Done():
		case <-time.After(d):
		}
	}
	sleep(warmup)
	measure.Store(true)
	start := time.Now()
	sleep(duration)
	measure.Store(false)
	elapsed := time.Since(start)
	stop.Store(true)
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		return nil, fmt.Errorf("recover: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return &Result{Name: "ceiling (c)", Count: int(count.Load()), Sent: int(all.Load()), Elapsed: elapsed}, nil
}

// claimOne is the gateway's order claim as a statement of its own, never
// batched: what a gateway without group commit would run per request. The
// whole row comes back, as the gateway reads it.
func claimOne(ctx context.Context, pool *pgxpool.Pool, uuid string, now time.Time) (string, error) {
	const q = `UPDATE orders SET status = 'executing', attempts = attempts + 1,
			executing_since = $3, executed_by = $2, updated_at = $3
		WHERE uuid = $1 AND status = 'open' AND valid_from <= $3 AND valid_to > $3
		RETURNING *`
	rows, err := pool.Query(ctx, q, uuid, "ceiling", now)
	if err != nil {
		return "", err
	}
	row, err := pgx.CollectExactlyOneRow(rows, pgx.RowToMap)
	if err != nil {
		return "", fmt.Errorf("claim %s: %w", uuid, err)
	}
	claimed, _ := row["uuid"].(string)
	return claimed, nil
}
