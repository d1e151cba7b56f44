package memory

import (
	"context"
	"sort"
	"time"

	"github.com/stxgate/stxgate/internal/order"
)

var _ order.EventLog = (*Orders)(nil)

// eventLog is the in-memory order event log; Orders appends to it under its
// lock, with the change, so ids follow the order of the changes without gaps.
type eventLog struct {
	last   int64
	events []order.Event // oldest first, ids increasing
	wake   func()        // told of every append (a stream hub); nil: nobody
}

func (l *eventLog) append(typ order.EventType, o *order.Order) {
	c := o.Clone()
	c.Signature = "" // never shown in reads
	l.last++
	l.events = append(l.events, order.Event{ID: l.last, Type: typ, Order: c, At: c.UpdatedAt})
	if l.wake != nil {
		l.wake()
	}
}

// OnEvent makes the store call wake after each appended event (call before
// use). wake runs under the store's lock: it must not block nor call back.
func (s *Orders) OnEvent(wake func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events.wake = wake
}

// EventsAfter implements order.EventLog.
func (s *Orders) EventsAfter(_ context.Context, after int64, owner string, limit int) ([]order.Event, error) {
	if limit <= 0 || limit > maxListLimit {
		limit = maxListLimit
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	evs := s.events.events
	i := sort.Search(len(evs), func(i int) bool { return evs[i].ID > after })
	out := []order.Event{}
	for ; i < len(evs) && len(out) < limit; i++ {
		if owner == "" || evs[i].Order.Owner == owner {
			e := evs[i]
			e.Order = e.Order.Clone()
			out = append(out, e)
		}
	}
	return out, nil
}

// LastEventID implements order.EventLog.
func (s *Orders) LastEventID(context.Context) (int64, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.events.last, nil
}

// DeleteEventsBefore implements order.EventLog.
func (s *Orders) DeleteEventsBefore(_ context.Context, cutoff time.Time, limit int) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	kept, n := make([]order.Event, 0, len(s.events.events)), 0
	for _, e := range s.events.events {
		if n < limit && e.At.Before(cutoff) {
			n++
			continue
		}
		kept = append(kept, e)
	}
	s.events.events = kept
	return n, nil
}
