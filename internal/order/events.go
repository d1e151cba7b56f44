package order

import (
	"context"
	"time"
)

// EventType names an order change in the event log; the stream calls it
// "order.<type>".
type EventType string

const (
	EventCreated   EventType = "created"
	EventExecuting EventType = "executing" // claimed for execution
	EventSubmitted EventType = "submitted" // transaction broadcast (again on a replacement by fee)
	EventFilled    EventType = "filled"
	EventCancelled EventType = "cancelled"
	EventExpired   EventType = "expired"
	EventFailed    EventType = "failed"   // settlement refused the execution: the order is open again
	EventReopened  EventType = "reopened" // the transaction aborted on chain: the order is open again
)

// EventTypes lists every event type.
var EventTypes = []EventType{EventCreated, EventExecuting, EventSubmitted, EventFilled,
	EventCancelled, EventExpired, EventFailed, EventReopened}

// Event is one entry of the order event log: the order as it stood right
// after a change. Stores append it in the change's own transaction, so the log
// holds every change exactly once and nothing that was rolled back.
type Event struct {
	ID    int64 // strictly increasing per deployment, in commit order, without gaps
	Type  EventType
	Order *Order // without its Signature (never shown in reads)
	At    time.Time
}

// EventOf is the event a change from prev to next is (ok false: a change
// that is none of them, such as a reconciliation lease).
func EventOf(prev, next Status) (EventType, bool) {
	switch next {
	case StatusExecuting:
		return EventExecuting, prev != StatusExecuting
	case StatusSubmitted:
		return EventSubmitted, true
	case StatusFilled:
		return EventFilled, prev != StatusFilled
	case StatusCancelled:
		return EventCancelled, prev != StatusCancelled
	case StatusExpired:
		return EventExpired, prev != StatusExpired
	case StatusOpen:
		switch prev {
		case StatusExecuting:
			return EventFailed, true
		case StatusSubmitted:
			return EventReopened, true
		}
	}
	return "", false
}

// EventLog reads the append-only log every order change writes.
//
// Ids are strictly increasing but need not be consecutive, and a log only
// returns an event once no event with a smaller id can still appear: once a
// reader has seen event N, "everything after N" resumes a stream without loss
// or repetition. (The in-memory store numbers in commit order; PostgreSQL
// numbers by transaction id and returns only what is final, EventHorizon.)
type EventLog interface {
	// EventsAfter returns up to limit events with an id above after, oldest
	// first, of owner's orders ("" for all).
	EventsAfter(ctx context.Context, after int64, owner string, limit int) ([]Event, error)
	// LastEventID is the id of the newest event EventsAfter can return now
	// (0: none yet); every event to come has a larger id.
	LastEventID(ctx context.Context) (int64, error)
	// DeleteEventsBefore deletes up to limit events older than cutoff and
	// says how many it deleted; concurrent callers never delete the same one.
	DeleteEventsBefore(ctx context.Context, cutoff time.Time, limit int) (int, error)
}

// EventHorizon is an EventLog whose reads may return a committed event only
// some time after its commit (PostgreSQL: once every transaction that took
// its transaction id earlier has ended). A wake-up for such an event can come
// before the event is readable, so a reader that read everything up to after
// asks EventsHeldBack(after) and, while it says true, reads again shortly.
type EventHorizon interface {
	// EventsHeldBack reports whether committed events with an id above
	// after exist, whether EventsAfter returns them yet or not.
	EventsHeldBack(ctx context.Context, after int64) (bool, error)
}
