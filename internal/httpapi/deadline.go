package httpapi

import (
	"context"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
)

// requestDeadline bounds the store and Redis work of a request. A partitioned
// PostgreSQL (packets dropped, connections held open) otherwise holds a
// request, its goroutine and a pool connection for minutes, until TCP gives
// up; with the deadline the request ends in a 503 (faulttest:
// TestPostgresPartitioned). Work that must outlive the client — settlement
// and its recording once an order is claimed — detaches from the request
// context on purpose and is not cut by it.
//
// Errors are answered here, while the context is the request's: once this
// returns, the context is cancelled, and errorHandler could no longer tell a
// client that went away (499) from a request that simply ended.
func requestDeadline(d time.Duration) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		if d <= 0 {
			return next
		}
		return func(c echo.Context) error {
			if c.Path() == EventsPath { // a stream lives until the client leaves; its reads are bounded by the store's own timeouts
				return next(c)
			}
			// The request's own context (requestID, first in every chain)
			// takes the deadline: nothing else holds that context yet (the
			// middleware before this one starts no goroutine), and it ends,
			// cancelled, when this returns, as a timer context would.
			st := requestOf(c)
			st.at = time.Now().Add(d)
			defer st.end(context.Canceled)
			if err := next(c); err != nil {
				c.Error(err)
			}
			return nil
		}
	}
}

// lifetime is the Deadline, Done, Err and AfterFunc of a request's context:
// its client's, ended sooner by the request's deadline or its end. Unlike a
// context.WithTimeout under the client's context, it makes its channel, its
// timer and its watch of the client only when something waits on it (a
// PostgreSQL query, a stream, a derived context): a keyed read answered from
// memory and one Redis call never does, and the timer context was the most
// expensive step of its middleware chain (perf at 3,000 req/s paced: 141 of
// 8,801 gateway samples; requestID, the next, 93). Until something watches,
// Err finds the end by asking the client's context and the clock.
type lifetime struct {
	client context.Context // the client's request context: ends when the client goes (or net/http is done)
	at     time.Time       // the request deadline; zero: none. Set before any other goroutine sees the context.

	mu     sync.Mutex
	err    error         // why it ended; nil while it has not
	done   chan struct{} // made by the first Done (or AfterFunc)
	timer  *time.Timer   // ends it at the deadline, once watched
	stop   func() bool   // stops the watch of client, once watched
	afters []*afterFunc  // AfterFunc's functions still to run
}

type afterFunc struct{ f func() }

// Deadline implements context.Context: the sooner of the client's and the request's.
func (l *lifetime) Deadline() (time.Time, bool) {
	d, ok := l.client.Deadline()
	if !l.at.IsZero() && (!ok || l.at.Before(d)) {
		return l.at, true
	}
	return d, ok
}

// Err implements context.Context.
func (l *lifetime) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.checkLocked()
	return l.err
}

// Done implements context.Context.
func (l *lifetime) Done() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.watchLocked()
	return l.done
}

// AfterFunc runs f in its own goroutine once the context ends, as
// context.AfterFunc does; stop keeps it from running. With it, contexts
// derived from the request's (and pgx's watch of each query) register here
// instead of each starting a goroutine that waits on Done.
func (l *lifetime) AfterFunc(f func()) (stop func() bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.watchLocked()
	if l.err != nil {
		go f()
		return func() bool { return false }
	}
	a := &afterFunc{f: f}
	l.afters = append(l.afters, a)
	return func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		for i, b := range l.afters {
			if b == a {
				l.afters = append(l.afters[:i], l.afters[i+1:]...)
				return true
			}
		}
		return false // ran, or already stopped
	}
}

// end ends the context with err unless it has ended already.
func (l *lifetime) end(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.endLocked(err)
}

// checkLocked ends the context if its client went or its deadline passed
// while nothing watched it.
func (l *lifetime) checkLocked() {
	if l.err != nil {
		return
	}
	if err := l.client.Err(); err != nil {
		l.endLocked(err)
	} else if !l.at.IsZero() && !time.Now().Before(l.at) {
		l.endLocked(context.DeadlineExceeded)
	}
}

// watchLocked makes the Done channel and, while the context lives, the
// timer of its deadline and the watch of its client.
func (l *lifetime) watchLocked() {
	if l.done != nil {
		return
	}
	l.done = make(chan struct{})
	if l.err != nil { // ended before anything watched
		close(l.done)
		return
	}
	if l.checkLocked(); l.err != nil {
		return // ended just now: endLocked closed done
	}
	if !l.at.IsZero() {
		l.timer = time.AfterFunc(time.Until(l.at), func() { l.end(context.DeadlineExceeded) })
	}
	l.stop = context.AfterFunc(l.client, func() { l.end(l.client.Err()) })
}

func (l *lifetime) endLocked(err error) {
	if l.err != nil {
		return
	}
	l.err = err
	if l.done != nil {
		close(l.done)
	}
	if l.timer != nil {
		l.timer.Stop()
	}
	if l.stop != nil {
		l.stop()
	}
	for _, a := range l.afters {
		go a.f()
	}
	l.afters = nil
}
