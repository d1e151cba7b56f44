// Package settlementtest steers and observes a settlement in tests: it wraps
// any order.Settlement (the simulated one by default), injects failures
// before or after the real call, and counts calls and settlements per order.
// Production code never imports it; its per-order maps live as long as one
// test's gateway.
package settlementtest

import (
	"context"
	"sync"

	"github.com/stxgate/stxgate/internal/order"
	"github.com/stxgate/stxgate/internal/settlement"
)

// Recorder is an order.Settlement that forwards to an inner one. Safe for
// concurrent use; set BeforeSettle and AfterSettle before Settle is called
// concurrently with the assignment.
type Recorder struct {
	inner order.Settlement

	// BeforeSettle, when set, runs first on every call. An error is returned
	// as is and the inner settlement is not called: wrap
	// order.ErrSettlementRejected to simulate a rejection, anything else
	// simulates an unknown outcome.
	BeforeSettle func(uuid string) error
	// AfterSettle, when set, runs after every call the inner settlement
	// answered with a txid. An error is returned instead of the txid —
	// "settled, but the caller never heard"; the settlement is idempotent by
	// uuid, so the next call returns the same txid.
	AfterSettle func(uuid, txid string) error

	mu        sync.Mutex
	calls     map[string]int
	delivered map[string]int
	failNext  []error
}

var _ order.Settlement = (*Recorder)(nil)

// New wraps inner; nil wraps a fresh settlement.NewSimulated(nil).
func New(inner order.Settlement) *Recorder {
	if inner == nil {
		inner = settlement.NewSimulated(nil)
	}
	return &Recorder{inner: inner, calls: make(map[string]int), delivered: make(map[string]int)}
}

// Name implements order.Settlement: the inner settlement's name.
func (r *Recorder) Name() string { return r.inner.Name() }

// FailNext makes the next call (for any uuid) fail with err before the inner
// settlement is asked; calls queue up.
func (r *Recorder) FailNext(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failNext = append(r.failNext, err)
}

// Settle implements order.Settlement.
func (r *Recorder) Settle(ctx context.Context, o *order.Order) (string, error) {
	uuid := ""
	if o != nil {
		uuid = o.UUID
	}
	r.mu.Lock()
	r.calls[uuid]++
	var injected error
	if len(r.failNext) > 0 {
		injected, r.failNext = r.failNext[0], r.failNext[1:]
	}
	r.mu.Unlock()
	if injected != nil {
		return "", injected
	}
	if r.BeforeSettle != nil {
		if err := r.BeforeSettle(uuid); err != nil {
			return "", err
		}
	}
	txid, err := r.inner.Settle(ctx, o)
	if err != nil {
		return "", err
	}
	if r.AfterSettle != nil {
		if err := r.AfterSettle(uuid, txid); err != nil {
			return "", err
		}
	}
	r.mu.Lock()
	r.delivered[uuid]++
	r.mu.Unlock()
	return txid, nil
}

// Settlements is how many times a txid for the order reached the caller:
// 1 for an order executed once, whatever failed on the way; 2 would be an
// order the service believed it settled twice.
func (r *Recorder) Settlements(uuid string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.delivered[uuid]
}

// Calls is how many times Settle was called for the order, failures included.
func (r *Recorder) Calls(uuid string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls[uuid]
}
