// Package testgateway starts a whole in-process gateway for tests outside
// internal/httpapi (the SDK, the CLI, the examples): PostgreSQL and Redis
// from internal/testenv, the simulated settlement, served over loopback HTTP
// so clients exercise the real transport.
package testgateway

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stxgate/stxgate/internal/app"
	"github.com/stxgate/stxgate/internal/config"
	"github.com/stxgate/stxgate/internal/settlement/settlementtest"
	"github.com/stxgate/stxgate/internal/syncbuf"
	"github.com/stxgate/stxgate/internal/testenv"
	"github.com/stxgate/stxgate/pkg/client"
	"github.com/stxgate/stxgate/pkg/stacks"
)

// Fixed test wallets (shared/vectors: the stacks.js doc key and Clarinet's wallet_1).
const (
	PrivA = "73a2f291df5a8ce3ceb668a25ac7af45639513af7596d710ddf59f64f484fd2801" // SP10J81WVGVB3M4PHQN4Q4G0R8586TBJH948RESDR
	PrivB = "7287ba251d44a4d3fd9276c88ce34c5c52a038955511cccaf77e61068649c17801"
)

// Tokens the gateway accepts as principals.
const (
	SBTC = "SM3VDXK3WZZSA84XXFKAFAF15NNZX32CTSG82JFQ4.sbtc-token"
	WSTX = "SP102V8P0F7JX67ARQ77WEA3D3CFB5XW39REDT0AM.token-wstx"
)

// Clock is the gateway's clock: the wall clock plus an offset a test can move.
// Clients sign with the wall clock, so it starts at zero offset.
type Clock struct {
	mu     sync.Mutex
	offset time.Duration
}

// Now is the gateway's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

// Advance moves the gateway's time forward by d (expiry tests).
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

// Gateway is one running in-process gateway.
type Gateway struct {
	URL        string // http://127.0.0.1:port
	App        *app.App
	Config     config.Config
	Clock      *Clock
	Settlement *settlementtest.Recorder // steers and counts the simulated settlement
	Server     *httptest.Server
	Logs       *LogBuffer // the gateway's JSON log
}

// Option adjusts the gateway's configuration before it starts.
type Option func(*config.Config)

// Limits sets the per-key limits given to new keys.
func Limits(minute, hour, day int) Option {
	return func(c *config.Config) { c.RateLimitMinute, c.RateLimitHour, c.RateLimitDay = minute, hour, day }
}

// Config is the default configuration (an empty environment) on a fresh
// database and Redis prefix. Missing infrastructure skips t (fails it under
// CI=true), as testenv does.
func Config(t testing.TB) config.Config {
	t.Helper()
	_, prefix := testenv.Redis(t)
	cfg, err := config.Load(nil, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatalf("testgateway: default config: %v", err)
	}
	cfg.DatabaseURL = testenv.PostgresDSN(t)
	cfg.RedisURL = testenv.RedisURL(t)
	cfg.RedisPrefix = prefix
	return cfg
}

// Start runs a gateway on Config(t), adjusted by opts, until t ends.
func Start(t testing.TB, opts ...Option) *Gateway {
	t.Helper()
	cfg := Config(t)
	for _, o := range opts {
		o(&cfg)
	}
	return StartWith(t, cfg, app.Options{})
}

// StartWith runs a gateway with exactly cfg (a Redis Cluster, a replica…).
// opt.Settlement defaults to a Recorder around the simulated settlement
// (Gateway.Settlement), opt.Now to a movable Clock.
func StartWith(t testing.TB, cfg config.Config, opt app.Options) *Gateway {
	t.Helper()
	clock := &Clock{}
	if opt.Now == nil {
		opt.Now = clock.Now
	}
	sim, _ := opt.Settlement.(*settlementtest.Recorder)
	if opt.Settlement == nil {
		sim = settlementtest.New(nil)
		opt.Settlement = sim
	}
	logs := &LogBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	a, err := app.New(context.Background(), cfg, log, opt)
	if err != nil {
		t.Fatalf("testgateway: start gateway: %v", err)
	}
	t.Cleanup(a.Close)
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)      // runs before a.Close: no request outlives the app
	t.Cleanup(a.CloseStreams) // runs before srv.Close, which waits for every request, streams included
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("gateway log:\n%s", logs.String())
		}
	})
	return &Gateway{URL: srv.URL, App: a, Config: cfg, Clock: clock, Settlement: sim, Server: srv, Logs: logs}
}

// LogBuffer collects a gateway's log lines; safe for concurrent writers.
type LogBuffer = syncbuf.Buffer

// NewClient is an SDK client of the gateway at url, set up by client.New
// (which reads the gateway's /api/v1/info); a failure fails t.
func NewClient(t testing.TB, url string, opts ...client.Option) *client.Client {
	t.Helper()
	c, err := client.New(context.Background(), url, opts...)
	if err != nil {
		t.Fatalf("testgateway: client of %s: %v", url, err)
	}
	return c
}

// Client is an SDK client of g (NewClient).
func (g *Gateway) Client(t testing.TB, opts ...client.Option) *client.Client {
	t.Helper()
	return NewClient(t, g.URL, opts...)
}

// Key parses a hex private key (PrivA, PrivB); a bad one fails t.
func Key(t testing.TB, hexKey string) *stacks.PrivateKey {
	t.Helper()
	k, err := stacks.ParsePrivateKey(hexKey)
	if err != nil {
		t.Fatalf("testgateway: key: %v", err)
	}
	return k
}

// Wallet is an SDK client of g that signs as k's wallet (client.WithSigner).
func (g *Gateway) Wallet(t testing.TB, k *stacks.PrivateKey, opts ...client.Option) *client.Client {
	t.Helper()
	return g.Client(t, append([]client.Option{client.WithSigner(client.PrivateKeySigner{Key: k})}, opts...)...)
}

// NewKey creates an API key named name with perms for the wallet that w
// signs as (a failure fails t).
func NewKey(t testing.TB, w *client.Client, name string, perms ...client.Permission) *client.CreatedKey {
	t.Helper()
	k, _, err := w.CreateKey(context.Background(), client.CreateKeyRequest{Name: name, Permissions: perms})
	if err != nil {
		t.Fatalf("testgateway: create key %q: %v", name, err)
	}
	return k
}
