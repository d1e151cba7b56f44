package app

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/stxgate/stxgate/internal/config"
	"github.com/stxgate/stxgate/internal/metrics"
	"github.com/stxgate/stxgate/internal/order"
	"github.com/stxgate/stxgate/internal/store/postgres"
)

// poolConfig is the PostgreSQL pool of cfg (the primary, or the read-only replica).
func poolConfig(cfg config.Config, readOnly bool) postgres.PoolConfig {
	return postgres.PoolConfig{
		MaxConns:         int32(cfg.DBMaxConns),
		MinConns:         int32(cfg.DBMinConns),
		StatementTimeout: cfg.DBStatementTimeout,
		MaxConnLifetime:  cfg.DBMaxConnLifetime,
		MaxConnIdleTime:  cfg.DBMaxConnIdleTime,
		ReadOnly:         readOnly,
	}
}

// replicaOrders is the order service for public reads on DATABASE_READ_URL,
// nil when none is set (reads then use the primary). Only Get and List are
// ever called on it: executions and cancellations read the primary, so
// replication lag can never make them act on a stale state.
func (a *App) replicaOrders(ctx context.Context, cfg config.Config, settle order.Settlement) (*order.Service, error) {
	if cfg.DatabaseReadURL == "" {
		return nil, nil
	}
	pool, err := postgres.Connect(ctx, cfg.DatabaseReadURL, poolConfig(cfg, true))
	if err != nil {
		return nil, fmt.Errorf("DATABASE_READ_URL: %w", err)
	}
	a.readPool = pool
	a.Metrics.WatchPool("replica", pool)
	return order.NewService(postgres.New(pool), settle, order.Config{Network: cfg.Network, Metrics: a.Metrics}, time.Now, a.log), nil
}

// instrument hooks the metrics into what app.New built.
func (a *App) instrument() {
	a.Auth.SetMetrics(a.Metrics)
	a.Metrics.GaugeFunc("stxgate_key_cache_entries", "API keys in this instance's key cache.",
		func() float64 { return float64(a.Auth.Cache().Len()) })
	a.Metrics.WatchPool("primary", a.pool)
	if a.Executor != nil {
		for _, addr := range a.Executor.Accounts() {
			a.Metrics.WatchExecutor(addr, func() metrics.ExecutorStats { s, _ := a.Executor.Stats(addr); return s })
		}
		a.Metrics.WatchExecutorQueue(a.Executor.Queued)
	}
}

// metricsOnMain is the /metrics handler for the main listener: nil unless
// STXGATE_METRICS_PUBLIC asks for it (cmd/stxgate serves the private
// STXGATE_METRICS_LISTEN).
func (a *App) metricsOnMain(cfg config.Config) http.Handler {
	if !cfg.MetricsPublic {
		return nil
	}
	return a.Metrics.Handler()
}
