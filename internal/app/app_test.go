package app_test

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/stxgate/stxgate/internal/app"
	"github.com/stxgate/stxgate/internal/config"
	"github.com/stxgate/stxgate/internal/order"
	"github.com/stxgate/stxgate/internal/store/postgres"
	"github.com/stxgate/stxgate/internal/testgateway"
)

// Every test's gateways are closed by the time the package ends: nothing
// they started may still run.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func testConfig(t *testing.T) config.Config {
	t.Helper()
	cfg := testgateway.Config(t)
	cfg.MaintenanceInterval = 20 * time.Millisecond
	cfg.UsageFlushInterval = 20 * time.Millisecond
	return cfg
}

// blockingSettlement holds every Settle until released, ignoring its
// context, as a settlement call finishing its last attempt would.
type blockingSettlement struct {
	entered   chan struct{} // closed at the first Settle
	cancelled chan struct{} // closed when that Settle's context ends (Close began)
	release   chan struct{}
	returned  atomic.Bool
	once      atomic.Bool
}

func (b *blockingSettlement) Name() string { return "blocking" }

func (b *blockingSettlement) Settle(ctx context.Context, o *order.Order) (string, error) {
	if b.once.CompareAndSwap(false, true) {
		close(b.entered)
		go func() { <-ctx.Done(); close(b.cancelled) }()
	}
	<-b.release
	b.returned.Store(true)
	return "", errors.New("blocking settlement: outcome unknown")
}

// Issue 13 item 10: App.Close returns only once every background goroutine
// (maintenance, the key-change listener, the usage flusher) has returned,
// so nothing runs on the pools it then closes. Maintenance is caught inside
// a settlement call while Close runs: Close must wait for it. Before, Close
// waited for the usage flusher only and closed the pools under maintenance.
func TestCloseWaitsForBackgroundWork(t *testing.T) {
	cfg := testConfig(t)
	pool, err := postgres.Connect(context.Background(), cfg.DatabaseURL, postgres.PoolConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if err := postgres.Migrate(context.Background(), pool); err != nil {
		t.Fatal(err)
	}
	_, err = pool.Exec(context.Background(), `INSERT INTO orders (uuid, owner, input_token, output_token, amount_in,
		target_price, direction, condition_token, recipient, signature, valid_from, valid_to, status, created_by,
		executed_by, attempts, executing_since, created_at, updated_at)
		VALUES ('stuck-1', 'SP10J81WVGVB3M4PHQN4Q4G0R8586TBJH948RESDR', 'SP102V8P0F7JX67ARQ77WEA3D3CFB5XW39REDT0AM.a',
			'SP102V8P0F7JX67ARQ77WEA3D3CFB5XW39REDT0AM.b', 1, '1', 'gt', 'SP102V8P0F7JX67ARQ77WEA3D3CFB5XW39REDT0AM.a',
			'SP10J81WVGVB3M4PHQN4Q4G0R8586TBJH948RESDR', 'sig', now() - interval '2 hours', now() + interval '1 hour',
			'executing', 'test', 'key:k', 1, now() - interval '1 hour', now(), now())`)
	if err != nil {
		t.Fatal(err)
	}
	pool.Close()
	before := goleak.IgnoreCurrent()

	settle := &blockingSettlement{entered: make(chan struct{}), cancelled: make(chan struct{}), release: make(chan struct{})}
	a, err := app.New(context.Background(), cfg, slog.New(slog.DiscardHandler), app.Options{Settlement: settle})
	if err != nil {
		t.Fatal(err)
	}
	<-settle.entered // maintenance is reconciling stuck-1
	closed := make(chan struct{})
	go func() { a.Close(); close(closed) }()
	<-settle.cancelled // Close has begun: the background context ended
	select {
	case <-closed:
		t.Fatal("Close returned while maintenance was still inside a settlement call")
	case <-time.After(300 * time.Millisecond):
	}
	close(settle.release)
	<-closed
	if !settle.returned.Load() {
		t.Fatal("Close returned before the settlement call did")
	}
	goleak.VerifyNone(t, before)
}

// A plain start and Close leaves no goroutine behind, with Redis (listener)
// and PostgreSQL (maintenance, usage flushes).
func TestCloseLeavesNoGoroutine(t *testing.T) {
	cfg := testConfig(t)
	before := goleak.IgnoreCurrent()
	a, err := app.New(context.Background(), cfg, slog.New(slog.DiscardHandler), app.Options{})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // let every loop run a round: this is load, not synchronisation
	a.Close()
	goleak.VerifyNone(t, before)
}

// Issue 13 item 10: a STXGATE_RECONCILE_AFTER shorter than one relayer
// Settle can take is refused at start with an error that says what to set.
func TestReconcileAfterBelowSettlementWorstCaseRefused(t *testing.T) {
	cfg := testConfig(t)
	cfg.RelayerURL = "http://127.0.0.1:9/relay"
	cfg.RelayerTimeout = 8 * time.Second
	cfg.ReconcileAfter = 27 * time.Second // 3 x 8s + 2 x 2s backoff = 28s
	_, err := app.New(context.Background(), cfg, slog.New(slog.DiscardHandler), app.Options{})
	want := "STXGATE_RECONCILE_AFTER (27s) is shorter than one relayer settlement can take (28s: attempts x timeout + backoff); " +
		"reconciliation would re-ask settlement about executions still in progress: set it to at least 28s"
	if err == nil || err.Error() != want {
		t.Fatalf("app.New: %v\nwant: %s", err, want)
	}
	cfg.ReconcileAfter = 28 * time.Second
	a, err := app.New(context.Background(), cfg, slog.New(slog.DiscardHandler), app.Options{})
	if err != nil {
		t.Fatalf("app.New with the worst case itself: %v", err)
	}
	a.Close()
}
