package order_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stxgate/stxgate/internal/order"
	"github.com/stxgate/stxgate/internal/store/postgres"
	"github.com/stxgate/stxgate/internal/testenv"
	"github.com/stxgate/stxgate/pkg/stacks"
)

// countingSettlement answers every order with a txid of its own and counts
// the calls per order; "stuck-07" gets a txid the store refuses.
type countingSettlement struct {
	mu    sync.Mutex
	calls map[string]int
}

func (c *countingSettlement) Name() string { return "relayer" }

func (c *countingSettlement) Settle(_ context.Context, o *order.Order) (string, error) {
	c.mu.Lock()
	c.calls[o.UUID]++
	c.mu.Unlock()
	if o.UUID == "stuck-07" {
		return "not-a-txid", nil
	}
	return fmt.Sprintf("0x%064x", len(o.UUID)+int(o.UUID[len(o.UUID)-1])), nil
}

// Issue 13 item 10: two gateways reconcile the same interrupted executions
// at once. Each order is asked of settlement by exactly one of them (batches
// taken with FOR UPDATE SKIP LOCKED under a lease), and one order whose fill
// fails does not stop the others from being filled. Before, both gateways
// settled every order, and the first failing fill aborted the pass.
func TestReconcileOneGatewayPerOrderAndFailuresDoNotAbort(t *testing.T) {
	ctx := context.Background()
	pool := testenv.MigratedPool(t)
	const n = 40
	_, err := pool.Exec(ctx, `INSERT INTO orders (uuid, owner, input_token, output_token, amount_in, target_price,
		direction, condition_token, recipient, signature, valid_from, valid_to, status, created_by, executed_by,
		attempts, executing_since, created_at, updated_at)
		SELECT 'stuck-' || lpad(g::text, 2, '0'), 'SP10J81WVGVB3M4PHQN4Q4G0R8586TBJH948RESDR',
			'SP102V8P0F7JX67ARQ77WEA3D3CFB5XW39REDT0AM.a', 'SP102V8P0F7JX67ARQ77WEA3D3CFB5XW39REDT0AM.b', 1, '1', 'gt',
			'SP102V8P0F7JX67ARQ77WEA3D3CFB5XW39REDT0AM.a', 'SP10J81WVGVB3M4PHQN4Q4G0R8586TBJH948RESDR', 'sig',
			now() - interval '2 hours', now() + interval '1 hour', 'executing', 'test', 'key:k', 1,
			now() - interval '1 hour' + g * interval '1 millisecond', now(), now()
		FROM generate_series(0, $1 - 1) g`, n)
	if err != nil {
		t.Fatal(err)
	}
	other, err := postgres.Connect(ctx, pool.Config().ConnString(), postgres.PoolConfig{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(other.Close)
	settle := &countingSettlement{calls: map[string]int{}}
	log := slog.New(slog.DiscardHandler)
	services := []*order.Service{
		order.NewService(postgres.New(pool), settle, order.Config{Network: stacks.Mainnet}, time.Now, log),
		order.NewService(postgres.New(other), settle, order.Config{Network: stacks.Mainnet}, time.Now, log),
	}
	filled := make([]int, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i, s := range services {
		wg.Go(func() { filled[i], _, errs[i] = s.Reconcile(ctx, 30*time.Second) })
	}
	wg.Wait()

	for i := range n {
		id := fmt.Sprintf("stuck-%02d", i)
		if c := settle.calls[id]; c != 1 {
			t.Errorf("%s asked of settlement %d times, want once", id, c)
		}
	}
	if filled[0]+filled[1] != n-1 {
		t.Errorf("filled %d + %d, want %d (every order but the failing one)", filled[0], filled[1], n-1)
	}
	failed := 0
	for _, err := range errs {
		if err != nil {
			failed++
			if !strings.Contains(err.Error(), "order stuck-07: record reconciled fill: fill order: txid \"not-a-txid\"") {
				t.Errorf("reconcile error %q, want the failing order named", err)
			}
		}
	}
	if failed != 1 {
		t.Errorf("%d passes reported a failure, want exactly the one that took stuck-07: %v", failed, errs)
	}
	var executing, filledRows int
	if err := pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE status = 'executing'), count(*) FILTER (WHERE status = 'filled') FROM orders`).
		Scan(&executing, &filledRows); err != nil {
		t.Fatal(err)
	}
	if executing != 1 || filledRows != n-1 {
		t.Fatalf("stored: %d executing, %d filled; want 1 and %d", executing, filledRows, n-1)
	}
}
