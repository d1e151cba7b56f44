// Package ratelimit is the sliding-window limiter: several windows per
// subject checked and recorded at once, in Redis (package redislimit: one Lua
// script, one round trip) or in process (Memory, the embedded default), with
// the same semantics. This package knows no driver; redislimit's tests run
// both limiters against each other.
//
// A window of size W is kept as N+1 buckets of granularity g = W/N. A
// request is admitted only if, in every window, the buckets that overlap the
// last W hold fewer requests than the limit. Counting the partly-overlapping
// oldest bucket in full makes the count conservative: no window of length W
// ever holds more than the limit, and memory per subject is fixed
// (N+1 counters per window), whatever the traffic.
package ratelimit

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// Window is one limit over a sliding window.
type Window struct {
	Name    string        // "minute", "hour", "day": used in headers
	Size    time.Duration // W
	Buckets int           // N; granularity is Size/Buckets
	Limit   int
}

// Granularity is the bucket width.
func (w Window) Granularity() time.Duration { return w.Size / time.Duration(w.Buckets) }

// Policy is the windows a subject is checked against, tightest first by size.
type Policy []Window

// Standard windows: 1 s buckets over a minute, 1 min over an hour, 30 min over
// a day. The count may run ahead of the exact log by at most one bucket.
func MinuteWindow(limit int) Window {
	return Window{Name: "minute", Size: time.Minute, Buckets: 60, Limit: limit}
}
func HourWindow(limit int) Window {
	return Window{Name: "hour", Size: time.Hour, Buckets: 60, Limit: limit}
}
func DayWindow(limit int) Window {
	return Window{Name: "day", Size: 24 * time.Hour, Buckets: 48, Limit: limit}
}

// Validate checks that every window is usable.
func (p Policy) Validate() error {
	if len(p) == 0 {
		return errors.New("policy has no window")
	}
	for _, w := range p {
		if w.Limit <= 0 || w.Buckets <= 0 || w.Size <= 0 || w.Size%time.Duration(w.Buckets) != 0 ||
			w.Granularity()%time.Millisecond != 0 {
			return fmt.Errorf("window %q: limit, buckets and size must be positive, size a multiple of buckets, granularity whole milliseconds", w.Name)
		}
	}
	return nil
}

// WindowState is one window after a decision.
type WindowState struct {
	Window
	Remaining  int       // requests still admitted now (after this one, if admitted)
	Reset      time.Time // when the oldest counted request leaves the window
	RetryAfter time.Duration
}

// Decision is the outcome of one Allow.
type Decision struct {
	Allowed    bool
	Now        time.Time // the limiter's clock (Redis TIME for Redis)
	Windows    []WindowState
	Generation int64 // the subject's generation counter (key cache invalidation)
}

// Tightest is the window to report in X-RateLimit-*: the one refusing the
// request, else the one with the fewest remaining (the shortest on ties).
func (d Decision) Tightest() WindowState {
	best := -1
	for i, w := range d.Windows {
		if !d.Allowed && w.RetryAfter > 0 {
			if best < 0 || w.RetryAfter > d.Windows[best].RetryAfter {
				best = i
			}
			continue
		}
		if d.Allowed && (best < 0 || w.Remaining < d.Windows[best].Remaining) {
			best = i
		}
	}
	if best < 0 {
		best = 0
	}
	return d.Windows[best]
}

// RetryAfter is how long a refused caller must wait (0 when allowed).
func (d Decision) RetryAfter() time.Duration {
	var max time.Duration
	for _, w := range d.Windows {
		if w.RetryAfter > max {
			max = w.RetryAfter
		}
	}
	return max
}

// Limiter checks and records one request of subject against policy, atomically.
// A request refused by one window consumes nothing in the others.
type Limiter interface {
	Allow(ctx context.Context, subject string, p Policy) (Decision, error)
	// Peek reports the state without recording a request.
	Peek(ctx context.Context, subject string, p Policy) (Decision, error)
	// AllowAndPeek is Allow of one subject and Peek of another in one round
	// trip: a signed request's per-IP limit and its wallet's budget.
	AllowAndPeek(ctx context.Context, allow string, ap Policy, peek string, pp Policy) (allowed, peeked Decision, err error)
	// AllowOnce is Allow the first time marker once is presented for
	// subject within ttl, and Peek after that, in one round trip: a re-used
	// read message counts against its wallet once, on any instance. The
	// marker is set even when the request is refused.
	AllowOnce(ctx context.Context, subject string, p Policy, once string, ttl time.Duration) (Decision, error)
	// Bump increments the subject's generation (revocation, updates) and
	// returns the new value.
	Bump(ctx context.Context, subject string) (int64, error)
}

// ErrUnavailable wraps limiter backend failures (Redis unreachable).
var ErrUnavailable = errors.New("rate limiter unavailable")

// GenerationTTL is how long a bumped generation is kept: far longer than any
// key cache TTL, after which an absent generation (0) still differs from
// every cached one.
const GenerationTTL = 24 * time.Hour

// NewGeneration is a random value in [1, 2^53): exact in Lua's doubles.
func NewGeneration() int64 {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return int64(binary.BigEndian.Uint64(b[:])&(1<<53-1)) | 1
}

// IPSubject is the limiter subject of a client address for limit kind. IPv6
// clients are grouped per /64, the block one host usually owns; IPv4-mapped
// addresses count as the IPv4 address.
func IPSubject(kind string, ip netip.Addr) string {
	ip = ip.Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return kind + ":" + p.String()
	}
	return kind + ":" + ip.String()
}
