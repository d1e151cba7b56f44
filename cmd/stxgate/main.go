// Command stxgate is the order gateway server.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/stxgate/stxgate/internal/app"
	"github.com/stxgate/stxgate/internal/config"
	"github.com/stxgate/stxgate/internal/store/postgres"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "stxgate:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	migrateOnly := len(args) > 0 && args[0] == "migrate"
	if migrateOnly {
		args = args[1:]
	}
	cfg, err := config.Load(args, os.Getenv, os.Stderr)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	log := newLogger(cfg.LogLevel)
	if migrateOnly {
		return migrate(ctx, cfg, log)
	}
	log.Info("starting stxgate", slog.String("config", cfg.String()))

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
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("listening", slog.String("addr", ln.Addr().String()))
	stopMetrics, err := serveMetrics(cfg.MetricsListen, a.Metrics.Handler(), log, errc)
	if err != nil {
		return err
	}
	defer stopMetrics()

	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing in-flight requests", slog.Duration("timeout", cfg.ShutdownTimeout))
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("stopped")
	return nil
}

func newLogger(level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
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
	log.Info("migrations applied", slog.String("database", config.MaskURL(cfg.DatabaseURL)))
	return nil
}
