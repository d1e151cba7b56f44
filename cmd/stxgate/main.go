// Command stxgate is the order gateway server.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/redis/go-redis/v9"

	"github.com/stxgate/stxgate/internal/app"
	"github.com/stxgate/stxgate/internal/config"
	"github.com/stxgate/stxgate/internal/gcheadroom"
	"github.com/stxgate/stxgate/internal/logging"
	"github.com/stxgate/stxgate/internal/store/postgres"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Getenv, os.Environ(), os.Stdout, os.Stderr)
	var cfgErr *config.Error
	switch {
	case err == nil:
	case errors.As(err, &cfgErr):
		fmt.Fprintf(os.Stderr, "stxgate: %v\nRun 'stxgate -h' for the settings.\n", err)
		stop()
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "stxgate:", err)
		stop()
		os.Exit(1)
	}
}

const usageHead = `stxgate — the order gateway of a Stacks DEX

Usage:
  stxgate [flags]           start the gateway
  stxgate migrate [flags]   apply the database migrations to DATABASE_URL, then exit
  stxgate version           print the version and the commit it was built from
  stxgate help              print this help (also -h)

Every setting is a flag or an environment variable; a flag wins over its
variable. Durations are written like 500ms, 30s, 5m or 2h.

Settings:
`

// usage prints the help; the values the environment sets are shown masked.
func usage(w io.Writer, getenv func(string) string) {
	fmt.Fprint(w, usageHead)
	config.PrintSettings(w, getenv)
}

// run is the whole command; environ (os.Environ) is searched for STXGATE_*
// typos, stdout gets help and version, the JSON log goes to stderr.
func run(ctx context.Context, args []string, getenv func(string) string, environ []string, stdout, stderr io.Writer) error {
	command := ""
	if len(args) > 0 {
		command = args[0]
	}
	switch command {
	case "help", "-h", "-help", "--help":
		usage(stdout, getenv)
		return nil
	case "version", "-version", "--version":
		fmt.Fprintln(stdout, versionLine())
		return nil
	case "migrate":
		args = args[1:]
	default:
		command = "serve"
	}
	cfg, err := config.Load(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		usage(stdout, getenv)
		return nil
	}
	if err != nil {
		return err
	}
	log := newLogger(stderr, cfg)
	for _, u := range config.UnknownVars(environ) {
		log.Warn(u.String(), slog.String("variable", u.Name), slog.String("did_you_mean", u.Nearest))
	}
	// An error from a driver may carry a DSN: it leaves only scrubbed.
	if err := start(ctx, command, cfg, log, getenv); err != nil {
		return errors.New(cfg.Scrub(err.Error()))
	}
	return nil
}

func start(ctx context.Context, command string, cfg config.Config, log *slog.Logger, getenv func(string) string) error {
	if command == "migrate" {
		return migrate(ctx, cfg, log)
	}
	log.Info("starting stxgate", slog.String("version", versionLine()), slog.String("config", cfg.String()))
	defer gcheadroom.StartUnlessGOGC(getenv, uint64(cfg.GCHeadroomMB)<<20).Stop()

	a, err := app.New(ctx, cfg, log, app.Options{})
	if err != nil {
		return err
	}
	defer a.Close()

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{
		Handler:           a.Handler(),
		ReadHeaderTimeout: cfg.ReadHeaderTimeout, // slowloris: headers must arrive in time
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		MaxHeaderBytes:    cfg.MaxHeaderBytes, // larger header blocks get 431
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	srv.RegisterOnShutdown(a.CloseStreams) // Shutdown waits for requests: streams end at once, clients resume elsewhere
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("listening", slog.String("addr", ln.Addr().String()))
	stopMetrics, err := serveMetrics(cfg.MetricsListen, a.Metrics.Handler(), log, errc)
	if err != nil {
		return err
	}
	defer stopMetrics()
	switch {
	case cfg.MetricsPublic:
		log.Warn("GET /metrics is public: served on the API listener to every client (STXGATE_METRICS_PUBLIC)")
	case cfg.MetricsListen == "":
		log.Info("metrics are served nowhere")
	}

	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing in-flight requests", slog.Float64("timeout_ms", logging.Millis(cfg.ShutdownTimeout)))
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("stopped")
	return nil
}

// newLogger is the process's one JSON log; go-redis's own lines join it.
func newLogger(w io.Writer, cfg config.Config) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(cfg.LogLevel))
	log := logging.New(w, l, cfg.Scrub)
	redis.SetLogger(logging.Redis(log))
	return log
}

// migrate applies pending migrations and exits (`stxgate migrate`, `make migrate`).
func migrate(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	if cfg.DatabaseURL == "" {
		return errors.New("migrate: DATABASE_URL is not set")
	}
	pool, err := postgres.Connect(ctx, cfg.DatabaseURL, postgres.PoolConfig{})
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := postgres.Migrate(ctx, pool); err != nil {
		return err
	}
	log.Info("migrations applied", slog.String("database", config.Redact(cfg.DatabaseURL)))
	return nil
}
