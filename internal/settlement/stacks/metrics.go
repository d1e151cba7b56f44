package stacks

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/stxgate/stxgate/internal/metrics"
)

// Metrics counts what an executor account did (exported by the gateway's
// /metrics, one series per account).
type Metrics struct {
	Broadcasts      atomic.Int64 // accepted broadcasts
	BroadcastErrors atomic.Int64 // refused or failed broadcasts
	BroadcastMicros atomic.Int64 // total broadcast latency
	Confirmed       atomic.Int64 // transactions mined with success
	ConfirmMicros   atomic.Int64 // total broadcast → confirmation latency seen by the tracker
	FeesPaid        atomic.Int64 // µSTX of confirmed transactions
	GapsFilled      atomic.Int64
	Replacements    atomic.Int64
	Rejected        atomic.Int64 // definitive rejections
}

func (m *Metrics) observeBroadcast(d time.Duration, err error) {
	if err != nil {
		m.BroadcastErrors.Add(1)
		return
	}
	m.Broadcasts.Add(1)
	m.BroadcastMicros.Add(d.Microseconds())
}

func (m *Metrics) observeConfirm(d time.Duration, fee uint64) {
	m.Confirmed.Add(1)
	m.ConfirmMicros.Add(d.Microseconds())
	m.FeesPaid.Add(int64(fee))
}

// Stats reads an account's counters and its unconfirmed transactions (from
// the ledger, shared by every gateway; -1 when it cannot be read) for the
// gateway's /metrics. ok is false for an address not in the pool.
func (e *Executor) Stats(address string) (s metrics.ExecutorStats, ok bool) {
	a := e.byAddr[address]
	if a == nil {
		return s, false
	}
	m := &a.metrics
	s = metrics.ExecutorStats{
		Broadcasts: m.Broadcasts.Load(), BroadcastSeconds: float64(m.BroadcastMicros.Load()) / 1e6,
		BroadcastErrors: m.BroadcastErrors.Load(),
		Confirmed:       m.Confirmed.Load(), ConfirmSeconds: float64(m.ConfirmMicros.Load()) / 1e6,
		FeesPaid: m.FeesPaid.Load(), GapsFilled: m.GapsFilled.Load(), Replacements: m.Replacements.Load(),
		Rejected: m.Rejected.Load(), Unconfirmed: -1,
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if n, err := a.ledger.pending(ctx); err == nil {
		s.Unconfirmed = n
	}
	return s, true
}

// Queued is how many settlements were left for reconciliation because every
// account's chain was full.
func (e *Executor) Queued() int64 { return e.queued.Load() }
