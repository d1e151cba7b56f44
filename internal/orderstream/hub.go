// Package orderstream fans the order event log out to the streams of one
// gateway instance. The log (order.EventLog, written by the stores with each
// change) is the source of truth; a wake-up (a PostgreSQL notification, the
// in-memory store's callback, or a periodic poll) only says "read". On each
// wake-up the hub reads the new events once, renders each once, and hands the
// same bytes to every matching subscriber, so the cost of a change does not
// grow with a query per subscriber.
package orderstream

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/stxgate/stxgate/internal/every"
	"github.com/stxgate/stxgate/internal/order"
)

// page is how many events one log read returns.
const page = 500

// ErrClosed is Subscribe's answer once the hub has shut down.
var ErrClosed = errors.New("order event streams are shut down")

// Frame is one rendered event.
type Frame struct {
	ID   int64
	Data []byte // the whole server-sent event, blank line included
}

// Config is what a Hub needs.
type Config struct {
	Log    order.EventLog
	Render func(order.Event) ([]byte, error)
	Buffer int           // frames a subscriber may lag behind before it is dropped
	Poll   time.Duration // the log is read this often even without a wake-up
	Logger *slog.Logger
}

// Hub is one instance's fan-out.
type Hub struct {
	cfg  Config
	wake chan struct{}

	mu      sync.Mutex
	last    int64 // newest event handed to subscribers
	closed  bool
	all     map[*Sub]struct{}            // subscribers to every order
	byOwner map[string]map[*Sub]struct{} // subscribers to one owner's orders
	n       int
}

// New returns a hub positioned after the newest event in the log.
func New(ctx context.Context, cfg Config) (*Hub, error) {
	last, err := cfg.Log.LastEventID(ctx)
	if err != nil {
		return nil, err
	}
	return &Hub{cfg: cfg, wake: make(chan struct{}, 1), last: last,
		all: map[*Sub]struct{}{}, byOwner: map[string]map[*Sub]struct{}{}}, nil
}

// Wake asks the hub to read the log; it never blocks.
func (h *Hub) Wake() {
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

// Run reads the log on every wake-up and poll until ctx ends, then closes
// every stream.
func (h *Hub) Run(ctx context.Context) {
	defer h.Close()
	t := time.NewTicker(h.cfg.Poll)
	defer t.Stop()
	var again <-chan time.Time // set while the log holds committed events back
	for {
		select {
		case <-ctx.Done():
			return
		case <-h.wake:
		case <-t.C:
		case <-again:
		}
		again = nil
		if h.read(ctx) && h.Subscribers() > 0 && h.heldBack(ctx) {
			again = time.After(HeldBackRetry)
		}
	}
}

// HeldBackRetry is how soon the hub reads again while the log holds committed
// events back (order.EventHorizon): their wake-up has come and gone, and the
// poll alone could exceed the second a change has to reach every stream.
// Under load some writer is nearly always in flight, so this is up to 100
// reads a second: only while streams are open (with none, no one is waiting;
// the next wake-up or poll catches up).
const HeldBackRetry = 10 * time.Millisecond

// heldBack asks a log with a horizon whether committed events after the
// hub's position wait behind it.
func (h *Hub) heldBack(ctx context.Context) bool {
	hz, ok := h.cfg.Log.(order.EventHorizon)
	if !ok {
		return false
	}
	h.mu.Lock()
	after := h.last
	h.mu.Unlock()
	held, err := hz.EventsHeldBack(ctx, after)
	if err != nil {
		if ctx.Err() == nil {
			h.cfg.Logger.Warn("read order events", slog.Any("error", err))
		}
		return false
	}
	return held
}

// read hands every event after the last one read to its subscribers and
// reports whether it read to the end of the log.
func (h *Hub) read(ctx context.Context) bool {
	if h.skipAhead(ctx) {
		return true
	}
	for {
		h.mu.Lock()
		after := h.last
		h.mu.Unlock()
		evs, err := h.cfg.Log.EventsAfter(ctx, after, "", page)
		if err != nil {
			if ctx.Err() == nil {
				h.cfg.Logger.Warn("read order events", slog.Any("error", err))
			}
			return false
		}
		frames := make([]*Frame, len(evs))
		for i, e := range evs {
			data, err := h.cfg.Render(e)
			if err != nil { // cannot happen for an order the store read back; never stall the stream on it
				h.cfg.Logger.Error("render order event", slog.Int64("id", e.ID), slog.Any("error", err))
			}
			frames[i] = &Frame{ID: e.ID, Data: data}
		}
		h.mu.Lock()
		for i, e := range evs {
			if frames[i].Data != nil {
				h.deliver(frames[i], h.byOwner[e.Order.Owner])
				h.deliver(frames[i], h.all)
			}
			h.last = e.ID
		}
		h.mu.Unlock()
		if len(evs) < page {
			return true
		}
	}
}

// skipAhead moves a hub without streams to the newest event without reading,
// decoding and rendering the events for nobody (under execute load that was
// two events per execute) and reports whether it did. A stream that registers
// meanwhile makes it read as usual: it must get every event after the
// position it registered at.
func (h *Hub) skipAhead(ctx context.Context) bool {
	if h.Subscribers() > 0 {
		return false
	}
	last, err := h.cfg.Log.LastEventID(ctx)
	if err != nil {
		return false // read as usual, which reports the error
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.n > 0 {
		return false
	}
	if last > h.last {
		h.last = last
	}
	return true
}

// deliver queues f for subs without waiting: a subscriber with Buffer frames
// queued already is dropped (its client resumes from the log with
// Last-Event-ID), so a slow client holds neither the hub nor more than its
// buffer. The queue is a slice that exists only while frames wait: an idle
// subscriber holds none. Frames are shared, never copied per subscriber.
// Called with h.mu held.
func (h *Hub) deliver(f *Frame, subs map[*Sub]struct{}) {
	for s := range subs {
		if len(s.pending) >= h.cfg.Buffer {
			h.drop(s, errSlow)
			continue
		}
		s.pending = append(s.pending, f)
		select {
		case s.ready <- struct{}{}:
		default: // already signalled
		}
	}
}

var errSlow = errors.New("too slow: the stream fell behind")

// drop unregisters s and tells it why; its queue is released. Called with
// h.mu held.
func (h *Hub) drop(s *Sub, why error) {
	s.pending = nil
	if s.registered {
		if s.owner == "" {
			delete(h.all, s)
		} else if m := h.byOwner[s.owner]; m != nil {
			delete(m, s)
			if len(m) == 0 {
				delete(h.byOwner, s.owner)
			}
		}
		h.n--
		s.registered = false
	}
	if s.why == nil {
		s.why = why
		close(s.gone)
	}
}

// Close ends every stream and refuses new ones (idempotent).
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for s := range h.all {
		h.drop(s, ErrClosed)
	}
	for _, m := range h.byOwner {
		for s := range m {
			h.drop(s, ErrClosed)
		}
	}
}

// Subscribers is how many streams are registered now.
func (h *Hub) Subscribers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n
}

// Sub is one stream's subscription.
type Sub struct {
	h     *Hub
	owner string
	mark  int64         // the hub's position when s registered: later events are queued live
	last  int64         // newest event handed to the stream (Sent)
	ready chan struct{} // signalled when frames are queued
	gone  chan struct{}

	// Guarded by h.mu.
	pending    []*Frame // live frames not taken yet (at most Buffer)
	registered bool
	why        error
}

// Subscribe registers a stream of owner's orders ("" for all). Events after
// the hub's position arrive live from now on; Next first replays from the log
// whatever came after the client's last id and up to that position.
// resume false starts at the newest event (nothing replayed).
func (h *Hub) Subscribe(owner string, after int64, resume bool) (*Sub, error) {
	s := &Sub{h: h, owner: owner, ready: make(chan struct{}, 1), gone: make(chan struct{})}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, ErrClosed
	}
	s.mark, s.last = h.last, h.last
	if resume {
		s.last = after
	}
	if owner == "" {
		h.all[s] = struct{}{}
	} else {
		if h.byOwner[owner] == nil {
			h.byOwner[owner] = map[*Sub]struct{}{}
		}
		h.byOwner[owner][s] = struct{}{}
	}
	s.registered = true
	h.n++
	return s, nil
}

// Close unregisters s.
func (s *Sub) Close() {
	s.h.mu.Lock()
	defer s.h.mu.Unlock()
	s.h.drop(s, ErrClosed)
}

// Replay sends emit, oldest first, the events after the client's last id up
// to the position live delivery started at, read from the log page by page.
// Live frames queue meanwhile; if they overflow the buffer, the stream is
// dropped and the client resumes further on.
func (s *Sub) Replay(ctx context.Context, emit func(*Frame) error) error {
	for s.last < s.mark {
		evs, err := s.h.cfg.Log.EventsAfter(ctx, s.last, s.owner, page)
		if err != nil {
			return err
		}
		for _, e := range evs {
			if e.ID > s.mark {
				return nil // live delivery has it
			}
			data, err := s.h.cfg.Render(e)
			if err != nil {
				return err
			}
			if err := emit(&Frame{ID: e.ID, Data: data}); err != nil {
				return err
			}
			s.last = e.ID
		}
		if len(evs) < page {
			return nil
		}
	}
	return nil
}

// Ready is signalled when live frames are queued; Take them.
func (s *Sub) Ready() <-chan struct{} { return s.ready }

// Take returns the queued live frames, oldest first, and empties the queue.
func (s *Sub) Take() []*Frame {
	s.h.mu.Lock()
	defer s.h.mu.Unlock()
	p := s.pending
	s.pending = nil
	return p
}

// Pending is how many live frames are queued.
func (s *Sub) Pending() int {
	s.h.mu.Lock()
	defer s.h.mu.Unlock()
	return len(s.pending)
}

// Gone is closed when the stream must end: dropped as too slow, or the hub
// shut down.
func (s *Sub) Gone() <-chan struct{} { return s.gone }

// Sent records that f is going out and reports whether it is new (not so
// for a client that resumed ahead of this instance's position).
func (s *Sub) Sent(f *Frame) bool {
	if f.ID <= s.last {
		return false
	}
	s.last = f.ID
	return true
}

// Why says why Gone closed.
func (s *Sub) Why() error {
	s.h.mu.Lock()
	defer s.h.mu.Unlock()
	return s.why
}

// RunRetention deletes events older than retention every interval until ctx
// ends, in bounded batches; the store makes concurrent deleters on other
// instances safe.
func (h *Hub) RunRetention(ctx context.Context, interval, retention time.Duration, now func() time.Time) {
	every.Interval(ctx, interval, true, func() {
		total := 0
		for range 100 { // bounded per pass, in case deletions keep coming
			n, err := h.cfg.Log.DeleteEventsBefore(ctx, now().Add(-retention), 1000)
			if err != nil {
				if ctx.Err() == nil {
					h.cfg.Logger.Warn("delete old order events", slog.Any("error", err))
				}
				break
			}
			total += n
			if n < 1000 {
				break
			}
		}
		if total > 0 {
			h.cfg.Logger.Info("deleted old order events", slog.Int("count", total))
		}
	})
}
