package stacks

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/stxgate/stxgate/internal/metrics"
)

// Metrics counts what the executor did (exported by the gateway's /metrics).
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
	Queued          atomic.Int64 // settlements left for reconciliation by a full chain
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

// Stats reads the counters and the account's unconfirmed transactions (from
// the ledger, shared by every gateway; -1 when it cannot be read) for the
// gateway's /metrics.
func (e *Executor) Stats() metrics.ExecutorStats {
	m := &e.Metrics
	s := metrics.ExecutorStats{
		Broadcasts: m.Broadcasts.Load(), BroadcastSeconds: float64(m.BroadcastMicros.Load()) / 1e6,
		BroadcastErrors: m.BroadcastErrors.Load(),
		Confirmed:       m.Confirmed.Load(), ConfirmSeconds: float64(m.ConfirmMicros.Load()) / 1e6,
		FeesPaid: m.FeesPaid.Load(), GapsFilled: m.GapsFilled.Load(), Replacements: m.Replacements.Load(),
		Rejected: m.Rejected.Load(), Queued: m.Queued.Load(), Unconfirmed: -1,
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if n, err := e.ledger.pending(ctx); err == nil {
		s.Unconfirmed = n
	}
	return s
}
