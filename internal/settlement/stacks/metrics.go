package stacks

import (
	"sync/atomic"
	"time"
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
