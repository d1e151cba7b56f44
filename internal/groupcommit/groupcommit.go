// Package groupcommit runs many callers' small writes as one statement and
// one commit. While a batch is in flight, new calls queue; when it returns,
// everything queued goes out as the next batch. There is no timer: a call on
// an idle batcher goes at once, so nothing waits at low load, and under load
// one round trip and one WAL flush serve a whole batch instead of one caller.
//
// Each call still gets its own answer: the flush function returns one result
// per input, and a batch that fails for one input's sake (a constraint, a
// refused value) is retried one input at a time, so one bad input never fails
// the others.
package groupcommit

import (
	"context"
	"slices"
	"sync"
	"time"
)

// Flush writes a batch and returns one output per input, in input order.
// An error fails the whole batch (see Options.Split). It keeps no reference
// to batch once it returns: the slice may be reused.
type Flush[In, Out any] func(ctx context.Context, batch []In) ([]Out, error)

// Options tune a Batcher; zero values take the defaults.
type Options[In any] struct {
	// MaxBatch bounds one batch (default 256), which bounds one statement.
	MaxBatch int
	// InFlight is how many batches may run at once (default 2): the next
	// batch is built while the previous one's commit is being flushed.
	InFlight int
	// Timeout bounds one flush (default 10 s; not with SelfBounded). Callers
	// also stop waiting when their own context ends; the flush goes on for
	// the other callers.
	Timeout time.Duration
	// Key, when set, keeps two inputs with the same key out of one batch: the
	// later one waits for the next batch, so it sees the earlier one's effect
	// (two claims of one order in one statement could not tell who won).
	Key func(In) string
	// Split reports whether a failed batch should be retried one input at a
	// time (an error about the data rather than the server). nil: never.
	Split func(error) bool
	// SelfBounded says the flush bounds its own time and heeds no context
	// deadline (a go-redis client without ContextTimeoutEnabled: its socket
	// and pool timeouts bound every call). The flush then gets
	// context.Background() instead of the leader's deadline or Timeout:
	// a context and a timer fewer per flush, for a deadline nothing read.
	SelfBounded bool
}

// Batcher groups concurrent calls of Do into batches. It is safe for
// concurrent use; the zero value is not usable (use New).
type Batcher[In, Out any] struct {
	flush Flush[In, Out]
	opt   Options[In]

	mu      sync.Mutex
	queue   []*call[In, Out]
	running int
	stats   Stats

	free sync.Pool // *call[In, Out], each with its done channel
}

// Stats counts what a Batcher did.
type Stats struct {
	Batches uint64 // flushes, a split batch's one-input retries included
	Inputs  uint64 // inputs written (each once, however it was retried)
	Splits  uint64 // batches that failed and were retried one input at a time
}

// Stats returns the counts so far.
func (b *Batcher[In, Out]) Stats() Stats {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.stats
}

type call[In, Out any] struct {
	ctx  context.Context
	in   [1]In // an array: a lone call's flush gets in[:] as its batch
	out  Out
	err  error
	sent bool // taken into a batch (under Batcher.mu): its outcome is the batch's
	// done receives one value when the call is answered (answer): by write
	// once its batch is flushed, or by take when its context ended while it
	// was queued. A call is reused only after Do received that value, so the
	// channel of a free call is empty.
	done chan struct{}
}

// answer tells Do that c's outcome is set. Nothing touches c after this:
// Do may hand it to the next caller as soon as it has read the outcome.
func (c *call[In, Out]) answer() { c.done <- struct{}{} }

// newCall returns a free call carrying ctx and in. Calls and their
// channels are reused: two allocations fewer per Do.
func (b *Batcher[In, Out]) newCall(ctx context.Context, in In) *call[In, Out] {
	c, _ := b.free.Get().(*call[In, Out])
	if c == nil {
		c = &call[In, Out]{done: make(chan struct{}, 1)}
	}
	c.ctx, c.in[0] = ctx, in
	return c
}

// release returns the outcome of c, whose answer Do has received, and frees
// c: the batcher no longer refers to it.
func (b *Batcher[In, Out]) release(c *call[In, Out]) (Out, error) {
	out, err := c.out, c.err
	*c = call[In, Out]{done: c.done}
	b.free.Put(c)
	return out, err
}

// New returns a Batcher over flush.
func New[In, Out any](flush Flush[In, Out], opt Options[In]) *Batcher[In, Out] {
	if opt.MaxBatch <= 0 {
		opt.MaxBatch = 256
	}
	if opt.InFlight <= 0 {
		opt.InFlight = 2
	}
	if opt.Timeout <= 0 {
		opt.Timeout = 10 * time.Second
	}
	return &Batcher[In, Out]{flush: flush, opt: opt}
}

// Do queues in and waits for its batch. If ctx ends while the input is still
// queued, Do returns ctx's error and the input is never sent. Once the input
// is in a batch, Do returns that batch's outcome whatever happens to ctx: a
// caller is never told "cancelled" about a write that committed. The wait is
// bounded by the flush's own timeout (Options.Timeout, or the leader's
// deadline, or the flush's own bounds with Options.SelfBounded).
//
// A call that finds a free slot flushes in its own goroutine (at low load
// that is every call: no hand-off, no added wake-up); under load the queue is
// drained by runner goroutines, one per slot.
func (b *Batcher[In, Out]) Do(ctx context.Context, in In) (Out, error) {
	c := b.newCall(ctx, in)
	b.mu.Lock()
	b.queue = append(b.queue, c)
	lead := b.running < b.opt.InFlight
	if lead {
		b.running++
	}
	b.mu.Unlock()
	if lead {
		b.lead(ctx)
		select { // the leader's batch most often held its own call: no select on ctx.Done, whose channel a cancellable context makes on first use
		case <-c.done:
			return b.release(c)
		default:
		}
	}
	select {
	case <-c.done:
		return b.release(c)
	case <-ctx.Done():
	}
	b.mu.Lock()
	if !c.sent { // not in a batch: it will never be sent
		b.queue = slices.DeleteFunc(b.queue, func(q *call[In, Out]) bool { return q == c })
		b.mu.Unlock()
		// Not reused: take may have answered it (its context ended while
		// it was queued), and that answer would be the next caller's.
		var zero Out
		return zero, ctx.Err()
	}
	b.mu.Unlock()
	<-c.done // in a batch: report what that batch wrote
	return b.release(c)
}

// lead flushes one batch in the caller's goroutine, then leaves what queued
// meanwhile to a runner. The flush keeps the caller's deadline (a request
// deadline bounds its own wait, as a plain statement would) but not its
// cancellation: the batch is other callers' too. A SelfBounded flush keeps
// neither.
func (b *Batcher[In, Out]) lead(ctx context.Context) {
	var buf [8]*call[In, Out] // a leader's batch is small at low load: no slice for it
	batch := b.take(buf[:0])
	if batch == nil {
		return
	}
	fctx := context.Background()
	if !b.opt.SelfBounded {
		fctx = context.WithoutCancel(ctx)
		if d, ok := ctx.Deadline(); ok {
			var cancel context.CancelFunc
			fctx, cancel = context.WithDeadline(fctx, d)
			defer cancel()
		}
	}
	b.write(fctx, batch)
	b.mu.Lock()
	more := len(b.queue) > 0
	if !more {
		b.running--
	}
	b.mu.Unlock()
	if more {
		go b.run()
	}
}

// run flushes batches until the queue is empty.
func (b *Batcher[In, Out]) run() {
	for batch := b.take(nil); batch != nil; batch = b.take(nil) {
		b.write(context.Background(), batch)
	}
}

// take removes the next batch from the queue, or retires this runner when
// there is nothing left (under the lock, so no call is ever stranded).
func (b *Batcher[In, Out]) take(batch []*call[In, Out]) []*call[In, Out] {
	b.mu.Lock()
	defer b.mu.Unlock()
	var (
		keep = b.queue[:0]
		seen map[string]bool
	)
	for _, c := range b.queue {
		if len(batch) == b.opt.MaxBatch {
			keep = append(keep, c)
			continue
		}
		if err := c.ctx.Err(); err != nil {
			c.err = err
			c.answer()
			continue
		}
		if b.opt.Key != nil {
			k := b.opt.Key(c.in[0])
			if seen[k] {
				keep = append(keep, c)
				continue
			}
			if seen == nil {
				seen = make(map[string]bool)
			}
			seen[k] = true
		}
		c.sent = true
		batch = append(batch, c)
	}
	clear(b.queue[len(keep):])
	b.queue = keep
	if len(batch) == 0 { // nothing left (calls are kept back only beside a batch)
		b.running--
		return nil
	}
	return batch
}

// write flushes one batch and answers its calls.
func (b *Batcher[In, Out]) write(ctx context.Context, batch []*call[In, Out]) {
	outs, err := b.flushOnce(ctx, batch)
	split := err != nil && len(batch) > 1 && b.opt.Split != nil && b.opt.Split(err)
	b.mu.Lock()
	b.stats.Batches++
	if split {
		b.stats.Splits++
	} else {
		b.stats.Inputs += uint64(len(batch))
	}
	b.mu.Unlock()
	if split {
		for _, c := range batch {
			b.write(ctx, []*call[In, Out]{c})
		}
		return
	}
	for i, c := range batch {
		if err != nil {
			c.err = err
		} else {
			c.out = outs[i]
		}
		c.answer()
	}
}

func (b *Batcher[In, Out]) flushOnce(ctx context.Context, batch []*call[In, Out]) ([]Out, error) {
	// The flush ends by Options.Timeout, or sooner by the leader's deadline,
	// already on ctx: a second timer (and a context under the first) for a
	// deadline that cannot come first would be two allocations per flush.
	if !b.opt.SelfBounded {
		if d, ok := ctx.Deadline(); !ok || time.Until(d) > b.opt.Timeout {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, b.opt.Timeout)
			defer cancel()
		}
	}
	var ins []In
	if len(batch) == 1 { // most flushes at low load: the call's own input, no slice
		ins = batch[0].in[:]
	} else {
		ins = make([]In, len(batch))
		for i, c := range batch {
			ins[i] = c.in[0]
		}
	}
	outs, err := b.flush(ctx, ins)
	if err == nil && len(outs) != len(ins) {
		err = errCount
	}
	return outs, err
}

type countError struct{}

func (countError) Error() string { return "groupcommit: flush returned a different number of results" }

var errCount error = countError{}
