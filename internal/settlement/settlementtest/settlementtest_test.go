package settlementtest_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stxgate/stxgate/internal/order"
	"github.com/stxgate/stxgate/internal/settlement"
	"github.com/stxgate/stxgate/internal/settlement/settlementtest"
)

func testOrder(uuid string) *order.Order {
	return &order.Order{UUID: uuid, Status: order.StatusExecuting}
}

func TestRecorderCountsCallsAndDeliveredTxIDs(t *testing.T) {
	r := settlementtest.New(nil)
	if r.Name() != "simulated" {
		t.Fatalf("Name() = %q, want the inner settlement's", r.Name())
	}
	o := testOrder("concurrent-1")
	const n = 50
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			if txid, err := r.Settle(context.Background(), o); err != nil || txid != settlement.SimulatedTxID(o.UUID) {
				t.Errorf("Settle = %q, %v", txid, err)
			}
		})
	}
	wg.Wait()
	if r.Calls(o.UUID) != n || r.Settlements(o.UUID) != n {
		t.Fatalf("calls %d settlements %d, want %d and %d", r.Calls(o.UUID), r.Settlements(o.UUID), n, n)
	}
	if r.Calls("never-asked") != 0 || r.Settlements("never-asked") != 0 {
		t.Fatal("an unknown uuid has calls or settlements")
	}
}

func TestRecorderBeforeSettleRejects(t *testing.T) {
	r := settlementtest.New(nil)
	var refuse atomic.Bool
	refuse.Store(true)
	r.BeforeSettle = func(uuid string) error {
		if refuse.Load() {
			return errors.Join(order.ErrSettlementRejected, errors.New("insufficient balance for "+uuid))
		}
		return nil
	}
	o := testOrder("rejected-1")
	if _, err := r.Settle(context.Background(), o); !errors.Is(err, order.ErrSettlementRejected) {
		t.Fatalf("got %v, want ErrSettlementRejected", err)
	}
	if r.Settlements(o.UUID) != 0 || r.Calls(o.UUID) != 1 {
		t.Fatalf("after rejection: settlements %d calls %d, want 0 and 1", r.Settlements(o.UUID), r.Calls(o.UUID))
	}
	refuse.Store(false)
	if txid, err := r.Settle(context.Background(), o); err != nil || txid != settlement.SimulatedTxID(o.UUID) {
		t.Fatalf("after the hook relents: %q, %v", txid, err)
	}
	if r.Settlements(o.UUID) != 1 || r.Calls(o.UUID) != 2 {
		t.Fatalf("settlements %d calls %d, want 1 and 2", r.Settlements(o.UUID), r.Calls(o.UUID))
	}
}

func TestRecorderFailNextIsOneShot(t *testing.T) {
	r := settlementtest.New(nil)
	o := testOrder("unknown-1")
	boom := errors.New("relayer unreachable")
	r.FailNext(boom)
	if _, err := r.Settle(context.Background(), o); !errors.Is(err, boom) {
		t.Fatalf("got %v, want the injected error", err)
	}
	if r.Settlements(o.UUID) != 0 {
		t.Fatal("an injected failure delivered a txid")
	}
	if txid, err := r.Settle(context.Background(), o); err != nil || txid != settlement.SimulatedTxID(o.UUID) {
		t.Fatalf("second call: %q, %v", txid, err)
	}
	if r.Settlements(o.UUID) != 1 || r.Calls(o.UUID) != 2 {
		t.Fatalf("settlements %d calls %d, want 1 and 2", r.Settlements(o.UUID), r.Calls(o.UUID))
	}
}

// Settled, then the answer was lost: asking again returns the same txid, and
// only the answer that arrived counts.
func TestRecorderAfterSettleLosesTheAnswer(t *testing.T) {
	r := settlementtest.New(nil)
	crash := errors.New("gateway crashed before recording")
	var once sync.Once
	var seen string
	r.AfterSettle = func(uuid, txid string) (err error) {
		once.Do(func() { seen, err = txid, crash })
		return err
	}
	o := testOrder("crash-1")
	if _, err := r.Settle(context.Background(), o); !errors.Is(err, crash) {
		t.Fatalf("first call: got %v, want the crash", err)
	}
	if r.Settlements(o.UUID) != 0 {
		t.Fatalf("Settlements = %d after the lost answer, want 0", r.Settlements(o.UUID))
	}
	txid, err := r.Settle(context.Background(), o)
	if err != nil || txid != seen || txid != settlement.SimulatedTxID(o.UUID) {
		t.Fatalf("second call: %q, %v; want the first call's %s", txid, err, seen)
	}
	if r.Settlements(o.UUID) != 1 || r.Calls(o.UUID) != 2 {
		t.Fatalf("settlements %d calls %d, want 1 and 2", r.Settlements(o.UUID), r.Calls(o.UUID))
	}
}

func TestRecorderPassesTheInnerError(t *testing.T) {
	r := settlementtest.New(nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := r.Settle(ctx, testOrder("cancelled")); !errors.Is(err, settlement.ErrOutcomeUnknown) {
		t.Fatalf("got %v, want the simulated settlement's unknown outcome", err)
	}
	if r.Settlements("cancelled") != 0 || r.Calls("cancelled") != 1 {
		t.Fatal("a failed inner call counted as a settlement")
	}
}
