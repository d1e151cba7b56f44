// Package usage counts what each key does without a database write per
// request: counts are summed in process and flushed in batches (one UPDATE
// for all keys) every interval and at shutdown. The store adds the counts, so
// any number of gateway instances flushing at once lose nothing.
package usage

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stxgate/stxgate/internal/apikey"
	"github.com/stxgate/stxgate/internal/every"
)

// Action is what a keyed request did, for the per-action counters.
type Action int

const (
	ActionOther Action = iota
	ActionCreate
	ActionExecute
	ActionCancel
)

// Recorder accumulates usage and flushes it to a store.
type Recorder struct {
	store apikey.Store
	log   *slog.Logger

	mu      sync.Mutex
	pending map[string]*apikey.UsageDelta

	flushed atomic.Uint64 // flushes that wrote counts (Flushed)
}

// Flushed counts the flushes of this recorder that wrote counts. A view of
// keys rendered before it moved may show older usage than the database
// (httpapi's key-list cache renders again when it moved).
func (r *Recorder) Flushed() uint64 { return r.flushed.Load() }

// NewRecorder returns a Recorder flushing into store.
func NewRecorder(store apikey.Store, log *slog.Logger) *Recorder {
	return &Recorder{store: store, log: log, pending: make(map[string]*apikey.UsageDelta)}
}

// Record counts one answered keyed request: 2xx is a success, anything else
// (429s included) a failure; successful creates/executes/cancels count too.
func (r *Recorder) Record(keyID string, status int, action Action, at time.Time) {
	ok := status >= 200 && status < 300
	r.mu.Lock()
	defer r.mu.Unlock()
	d := r.pending[keyID]
	if d == nil {
		d = &apikey.UsageDelta{KeyID: keyID}
		r.pending[keyID] = d
	}
	d.Usage.TotalRequests++
	if ok {
		d.Usage.SuccessfulRequests++
		switch action {
		case ActionCreate:
			d.Usage.CreationCount++
		case ActionExecute:
			d.Usage.ExecutionCount++
		case ActionCancel:
			d.Usage.CancellationCount++
		}
	} else {
		d.Usage.FailedRequests++
	}
	if at.After(d.LastUsedAt) {
		d.LastUsedAt = at
	}
}

// Flush writes pending counts. On failure they are kept for the next flush.
func (r *Recorder) Flush(ctx context.Context) error {
	r.mu.Lock()
	batch := make([]apikey.UsageDelta, 0, len(r.pending))
	for _, d := range r.pending {
		batch = append(batch, *d)
	}
	r.pending = make(map[string]*apikey.UsageDelta)
	r.mu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	if err := r.store.AddUsage(ctx, batch); err != nil {
		r.mu.Lock()
		for _, d := range batch { // put back, merged with what arrived meanwhile
			cur := r.pending[d.KeyID]
			if cur == nil {
				cp := d
				r.pending[d.KeyID] = &cp
				continue
			}
			cur.Usage = cur.Usage.Add(d.Usage)
			if d.LastUsedAt.After(cur.LastUsedAt) {
				cur.LastUsedAt = d.LastUsedAt
			}
		}
		r.mu.Unlock()
		return err
	}
	r.flushed.Add(1)
	return nil
}

// Run flushes every interval until ctx ends, then once more.
func (r *Recorder) Run(ctx context.Context, interval time.Duration) {
	every.Interval(ctx, interval, false, func() {
		if err := r.Flush(ctx); err != nil {
			r.log.Warn("usage flush failed; will retry", slog.Any("error", err))
		}
	})
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := r.Flush(fctx); err != nil {
		r.log.Error("final usage flush failed: counts lost", slog.Any("error", err))
	}
}
