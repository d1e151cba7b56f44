// Package app wires a gateway from a Config: stores, Redis, services and the
// HTTP handler. cmd/stxgate serves it; tests start whole gateways with it.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/stxgate/stxgate/internal/apikey"
	"github.com/stxgate/stxgate/internal/audit"
	"github.com/stxgate/stxgate/internal/audit/auditpg"
	"github.com/stxgate/stxgate/internal/config"
	"github.com/stxgate/stxgate/internal/httpapi"
	"github.com/stxgate/stxgate/internal/keyauth"
	"github.com/stxgate/stxgate/internal/metrics"
	"github.com/stxgate/stxgate/internal/order"
	"github.com/stxgate/stxgate/internal/orderstream"
	"github.com/stxgate/stxgate/internal/ratelimit"
	"github.com/stxgate/stxgate/internal/ratelimit/redislimit"
	"github.com/stxgate/stxgate/internal/redisconn"
	"github.com/stxgate/stxgate/internal/settlement"
	stackssettle "github.com/stxgate/stxgate/internal/settlement/stacks"
	"github.com/stxgate/stxgate/internal/store/memory"
	"github.com/stxgate/stxgate/internal/store/postgres"
	"github.com/stxgate/stxgate/internal/usage"
	"github.com/stxgate/stxgate/internal/walletauth"
	"github.com/stxgate/stxgate/pkg/stacks"
)

// App is one wired gateway instance.
type App struct {
	Server *httpapi.Server
	Keys   *apikey.Service
	Orders *order.Service
	Auth   *keyauth.Authenticator
	Usage  *usage.Recorder
	Audit  audit.Store // the audit trail (append-only)
	pool   *pgxpool.Pool
	rdb    redis.UniversalClient
	log    *slog.Logger
	stop   context.CancelFunc
	// background runs the key-change listener, maintenance and the usage
	// flusher; Close waits for all of them before closing the pools.
	background sync.WaitGroup

	Metrics  *metrics.Metrics       // this instance's collectors (served at /metrics)
	Executor *stackssettle.Executor // the stacks settlement, nil on another
	readPool *pgxpool.Pool          // DATABASE_READ_URL, nil without one
	Events   *orderstream.Hub       // this instance's order event streams
}

// Options are test hooks; production passes the zero value.
type Options struct {
	Now        func() time.Time // clock; time.Now when nil
	Settlement order.Settlement // replaces the configured settlement (tests)
}

// New builds an App. Close releases what it opened.
func New(ctx context.Context, cfg config.Config, log *slog.Logger, opt Options) (*App, error) {
	now := opt.Now
	if now == nil {
		now = time.Now
	}
	a := &App{log: log, Metrics: metrics.New()}
	var (
		keyStore   apikey.Store
		orderStore order.Store
		eventLog   order.EventLog
		listen     func(ctx context.Context, wake func()) // PostgreSQL: the cross-instance wake-up of the streams
		notify     func(ctx context.Context)              // PostgreSQL: sends that wake-up after each change
		memOrders  *memory.Orders
		replay     walletauth.ReplayStore
		limiter    ratelimit.Limiter
		ready      []httpapi.Check
	)
	if cfg.DatabaseURL != "" {
		pool, err := postgres.Connect(ctx, cfg.DatabaseURL, poolConfig(cfg, false))
		if err != nil {
			return nil, err
		}
		a.pool = pool
		if cfg.Migrate {
			if err := postgres.Migrate(ctx, pool); err != nil {
				a.Close()
				return nil, err
			}
		}
		pg := postgres.New(pool)
		keyStore, orderStore, eventLog = pg, pg, pg
		notify = func(ctx context.Context) {
			pg.RunNotifier(ctx, func(err error) {
				log.Warn("order event notification not sent (streams poll meanwhile)", slog.Any("error", err))
			})
		}
		listen = func(ctx context.Context, wake func()) {
			pg.ListenEvents(ctx, wake, time.Second, func(err error) {
				log.Warn("order event notifications lost; reconnecting (streams poll meanwhile)", slog.Any("error", err))
			})
		}
		a.Audit = auditpg.New(pool) // read side: the stores write events with their changes
		a.Metrics.WatchBatcher(metrics.BatchOrderClaims, pg.ClaimStats)
		a.Metrics.WatchBatcher(metrics.BatchOrderFills, pg.FillStats)
		a.Metrics.WatchBatcher(metrics.BatchOrderClaimFills, pg.ClaimFillStats)
		ready = append(ready, httpapi.Check{Name: "postgres", Check: pool.Ping})
	} else {
		log.Warn("DATABASE_URL is not set: using the embedded in-memory store (data is lost on restart; one instance only)")
		keys, orders, trail := memory.New(), memory.NewOrders(), audit.NewMemory()
		keys.AuditTo(trail) // events written with their change, under its lock
		orders.AuditTo(trail)
		keyStore, orderStore, a.Audit, eventLog = keys, orders, trail, orders
		memOrders = orders // tells the streams itself, in process (below)
	}
	trail := audit.NewTrail(now)
	if cfg.RedisURL != "" {
		rdb, err := redisconn.Connect(ctx, cfg.RedisURL) // one server or a cluster
		if err != nil {
			a.Close()
			return nil, err
		}
		a.rdb = rdb
		redisReplay := redisconn.NewReplay(rdb, cfg.RedisPrefix)
		replay = redisReplay
		a.Metrics.WatchBatcher(metrics.BatchReplay, redisReplay.PipelineStats)
		redisLimiter := redislimit.New(rdb, cfg.RedisPrefix)
		limiter = redisLimiter
		a.Metrics.WatchBatcher(metrics.BatchLimiter, redisLimiter.PipelineStats)
		ready = append(ready, httpapi.Check{Name: "redis", Check: func(ctx context.Context) error { return rdb.Ping(ctx).Err() }})
	} else {
		if cfg.DatabaseURL != "" {
			log.Warn("REDIS_URL is not set: replay protection and rate limits are per instance; run a single instance")
		}
		replay = walletauth.NewMemoryReplay(now)
		limiter = ratelimit.NewMemory(now)
	}

	// The authenticator reads the key store; the key service tells it of
	// every creation and change (OnCreate, OnChange).
	a.Auth = keyauth.New(keyStore, cfg.Network, limiter, keyauth.NewCache(cfg.KeyCacheTTL, 1<<20, now), now)
	a.Auth.SetMissLimit(cfg.KeyMissLimitMinute)
	if err := a.Auth.Known().Load(ctx); err != nil {
		// Not fatal: the first unknown key lists the keys again.
		log.Warn("load the set of existing API keys", slog.Any("error", err))
	}
	changed := cfg.RedisPrefix + "keys:changed"
	a.Keys = apikey.NewService(keyStore, apikey.Config{
		Network:            cfg.Network,
		MaxActivePerWallet: cfg.MaxKeysPerWallet,
		DefaultLimits:      apikey.Limits{Minute: cfg.RateLimitMinute, Hour: cfg.RateLimitHour, Day: cfg.RateLimitDay},
		Audit:              trail,
		OnCreate: func(ctx context.Context, k *apikey.Key) error {
			if err := a.Auth.Announce(ctx, k); err != nil {
				return err
			}
			return a.Auth.InvalidateWallet(ctx, k.WalletAddress) // its list, on every instance
		},
		OnChange: func(ctx context.Context, k *apikey.Key) error {
			if err := a.Auth.Invalidate(ctx, k); err != nil {
				return err
			}
			if err := a.Auth.InvalidateWallet(ctx, k.WalletAddress); err != nil {
				return err
			}
			if a.rdb != nil { // evict promptly elsewhere; correctness rests on the generation
				if err := a.rdb.Publish(ctx, changed, k.ID).Err(); err != nil {
					log.Warn("publish key change", slog.Any("error", err))
				}
			}
			return nil
		},
	}, now)
	a.Usage = usage.NewRecorder(keyStore, log)

	settle := opt.Settlement
	switch {
	case settle != nil:
	case cfg.SettlementMode() == "stacks":
		ex, err := a.newExecutor(cfg, log, now)
		if err != nil {
			a.Close()
			return nil, err
		}
		settle, a.Executor = ex, ex
		log.Info("stacks settlement: the gateway executes orders on chain",
			slog.Any("executors", ex.Accounts()), slog.String("contract", cfg.SettlementContract), slog.String("node", config.Redact(cfg.StacksNodeURL)))
	case cfg.SettlementMode() == "relayer":
		settle = settlement.NewRelayer(cfg.RelayerURL, settlement.RelayerOptions{Logger: log, AttemptTimeout: cfg.RelayerTimeout})
	default:
		log.Warn("STXGATE_SETTLEMENT is simulated (nothing else is configured): executions use the SIMULATED settlement (no chain transaction; txids are fake and marked simulated)")
		settle = settlement.NewSimulated(log)
	}
	if opt.Settlement == nil { // a test's own settlement is its own business
		if err := checkReconcileAfter(cfg, settle); err != nil {
			a.Close()
			return nil, err
		}
	}
	a.Orders = order.NewService(orderStore, settle, order.Config{
		Network:        cfg.Network,
		Domain:         stacks.NewDomain(cfg.SIP018Name, cfg.SIP018Version, cfg.Network),
		MaxLifetime:    cfg.OrderMaxLifetime,
		ReconcileAfter: cfg.ReconcileAfter,
		Metrics:        a.Metrics,
		Audit:          trail,
	}, now, log)
	readOrders, err := a.replicaOrders(ctx, cfg, settle)
	if err != nil {
		a.Close()
		return nil, err
	}
	a.Events, err = orderstream.New(ctx, orderstream.Config{
		Log: eventLog, Render: httpapi.RenderOrderEvent, Buffer: cfg.EventsBuffer, Poll: cfg.EventsPoll, Logger: log,
	})
	if err != nil {
		a.Close()
		return nil, fmt.Errorf("order event log: %w", err)
	}
	if memOrders != nil {
		memOrders.OnEvent(a.Events.Wake)
	}
	failOpen := make(map[httpapi.RouteClass]bool)
	for _, class := range cfg.FailOpen {
		failOpen[httpapi.RouteClass(class)] = true
	}

	wallets := walletauth.NewVerifier(walletauth.Config{
		Network: cfg.Network,
		Window:  cfg.SignatureWindow,
		Skew:    cfg.SignatureSkew,
		Domain:  cfg.Domain,
		Metrics: a.Metrics,
	}, replay, now)
	info := httpapi.NewInfo(cfg.Network, stacks.NewDomain(cfg.SIP018Name, cfg.SIP018Version, cfg.Network),
		cfg.SignatureWindow, cfg.SignatureSkew, cfg.Domain)
	info.Store, info.Settlement = "memory", settle.Name()
	if cfg.DatabaseURL != "" {
		info.Store = "postgres"
	}
	a.Server = httpapi.New(httpapi.Deps{
		Keys:    a.Keys,
		Orders:  a.Orders,
		Wallets: wallets,
		Auth:    a.Auth,
		Limiter: limiter,
		Usage:   a.Usage,
		Limits: httpapi.Limits{
			IPSigned: cfg.IPLimitMinute,
			Wallet:   cfg.WalletLimitMinute,
			IPPublic: cfg.PublicLimitMinute,
			FailOpen: failOpen,
		},
		Network:        cfg.Network,
		Log:            log,
		Now:            now,
		Ready:          ready,
		BodyLimit:      cfg.BodyLimitBytes,
		RequestTimeout: cfg.RequestTimeout,
		TrustedProxies: cfg.TrustedProxies,
		Audit:          a.Audit,
		OperatorToken:  cfg.OperatorToken,
		Metrics:        a.Metrics,
		MetricsHandler: a.metricsOnMain(cfg),
		OrderReads:     readOrders,
		Info:           info,
		Streams:        httpapi.Streams{Hub: a.Events, Heartbeat: cfg.EventsHeartbeat, PerIP: cfg.EventsPerIP},
		KeyListTTL:     cfg.UsageFlushInterval,
	})
	a.instrument()

	bg, stop := context.WithCancel(context.WithoutCancel(ctx))
	a.stop = stop
	if a.rdb != nil {
		a.background.Go(func() { a.listenKeyChanges(bg, changed) })
	}
	a.background.Go(func() { a.Orders.RunMaintenance(bg, cfg.MaintenanceInterval) })
	a.background.Go(func() { a.Usage.Run(bg, cfg.UsageFlushInterval) })
	a.background.Go(func() { a.Events.Run(bg) })
	if listen != nil {
		a.background.Go(func() { listen(bg, a.Events.Wake) })
		a.background.Go(func() { notify(bg) })
	}
	a.background.Go(func() { a.Events.RunRetention(bg, cfg.MaintenanceInterval, cfg.EventsRetention, now) })
	if a.Executor != nil {
		a.background.Go(func() { a.Orders.RunTracker(bg, cfg.StacksPollInterval) })
		a.background.Go(func() { a.Executor.RunGapFiller(bg, cfg.StacksPollInterval) })
	}
	return a, nil
}

// worstCase is what a settlement that can bound one Settle call reports.
type worstCase interface{ WorstCase() time.Duration }

// checkReconcileAfter refuses a STXGATE_RECONCILE_AFTER shorter than one
// Settle call can take: reconciliation would then ask settlement about
// executions whose first call may still be running.
func checkReconcileAfter(cfg config.Config, settle order.Settlement) error {
	wc, ok := settle.(worstCase)
	if !ok || cfg.ReconcileAfter >= wc.WorstCase() {
		return nil
	}
	return fmt.Errorf("STXGATE_RECONCILE_AFTER (%s) is shorter than one %s settlement can take (%s: attempts x timeout + backoff); "+
		"reconciliation would re-ask settlement about executions still in progress: set it to at least %s",
		cfg.ReconcileAfter, settle.Name(), wc.WorstCase(), wc.WorstCase())
}

// listenKeyChanges evicts keys changed on other instances from the cache.
func (a *App) listenKeyChanges(ctx context.Context, channel string) {
	sub := a.rdb.Subscribe(ctx, channel)
	defer sub.Close()
	ch := sub.Channel()
	for {
		select {
		case <-ctx.Done():
			return
		case msg, ok := <-ch:
			if !ok {
				return
			}
			a.Auth.Cache().DeleteID(msg.Payload)
		}
	}
}

// Handler is what to serve.
func (a *App) Handler() http.Handler { return a.Server.Echo() }

// CloseStreams ends every order event stream (their clients resume elsewhere
// with Last-Event-ID). Servers call it as they shut down, since a stream never
// ends on its own.
func (a *App) CloseStreams() {
	if a.Events != nil {
		a.Events.Close()
	}
}

// Close stops background work (flushing usage one last time) and releases connections.
func (a *App) Close() {
	a.CloseStreams()
	if a.stop != nil {
		a.stop()
		a.background.Wait()
	}
	if a.rdb != nil {
		_ = a.rdb.Close()
	}
	if a.pool != nil {
		a.pool.Close()
	}
	if a.readPool != nil {
		a.readPool.Close()
	}
}

// Redis is the Redis client, nil on the embedded default (tests use it to cut Redis off).
func (a *App) Redis() redis.UniversalClient { return a.rdb }

// newExecutor builds the stacks settlement: its nonces live in PostgreSQL,
// so the in-memory store cannot run it.
func (a *App) newExecutor(cfg config.Config, log *slog.Logger, now func() time.Time) (*stackssettle.Executor, error) {
	if a.pool == nil {
		return nil, errors.New("STXGATE_SETTLEMENT=stacks needs DATABASE_URL: executor nonces are reserved in PostgreSQL, which the in-memory store cannot do")
	}
	var keys []*stacks.PrivateKey
	for _, k := range cfg.ExecutorKeys {
		key, err := stackssettle.ParseKey([]byte(k))
		if err != nil {
			return nil, fmt.Errorf("STXGATE_EXECUTOR_KEY_FILE: %w", err)
		}
		keys = append(keys, key)
	}
	return stackssettle.New(a.pool, stackssettle.Config{
		Keys: keys, Network: cfg.Network, Domain: stacks.NewDomain(cfg.SIP018Name, cfg.SIP018Version, cfg.Network),
		NodeURL: cfg.StacksNodeURL, Contract: cfg.SettlementContract,
		FeeFloor: uint64(cfg.StacksFeeFloor), FeeCap: uint64(cfg.StacksFeeCap),
		ChainLimit: cfg.StacksChainLimit, StuckAfter: cfg.StacksStuckAfter, QueueWait: cfg.StacksQueueWait, SlippageBps: uint64(cfg.StacksSlippageBps),
		Logger: log, Now: now,
	})
}
