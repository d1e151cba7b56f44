package ratelimit

import (
	"context"
	"slices"
	"sync"
	"time"
)

// Memory is the in-process twin of redislimit.Limiter for the embedded default: the same
// bucket algorithm, for one gateway instance.
type Memory struct {
	mu       sync.Mutex
	now      func() time.Time
	subjects map[string]*memSubject
	ops      int
	onces    map[string]time.Time // AllowOnce markers: subject NUL marker -> expiry
}

type memSubject struct {
	windows []memWindow
	gen     int64
	expires time.Time
}

type memWindow struct {
	last    int64
	buckets []int64
}

// NewMemory returns a limiter on clock now.
func NewMemory(now func() time.Time) *Memory {
	return &Memory{now: now, subjects: make(map[string]*memSubject), onces: make(map[string]time.Time)}
}

// AllowOnce implements Limiter.
func (m *Memory) AllowOnce(_ context.Context, subject string, p Policy, once string, ttl time.Duration) (Decision, error) {
	m.mu.Lock()
	now, k := m.now(), subject+"\x00"+once
	exp, seen := m.onces[k]
	first := !seen || !now.Before(exp)
	if first {
		m.onces[k] = now.Add(ttl)
	}
	m.mu.Unlock()
	return m.run(subject, p, first), nil
}

// Allow implements Limiter.
func (m *Memory) Allow(_ context.Context, subject string, p Policy) (Decision, error) {
	return m.run(subject, p, true), nil
}

// Peek implements Limiter.
func (m *Memory) Peek(_ context.Context, subject string, p Policy) (Decision, error) {
	return m.run(subject, p, false), nil
}

// AllowAndPeek implements Limiter.
func (m *Memory) AllowAndPeek(_ context.Context, allow string, ap Policy, peek string, pp Policy) (Decision, Decision, error) {
	return m.run(allow, ap, true), m.run(peek, pp, false), nil
}

// Bump implements Limiter.
func (m *Memory) Bump(_ context.Context, subject string) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.subject(subject, nil, m.now())
	s.gen = NewGeneration()
	s.expires = time.Time{} // generations outlive idle limiter state
	return s.gen, nil
}

func (m *Memory) subject(name string, p Policy, now time.Time) *memSubject {
	s, ok := m.subjects[name]
	if !ok {
		s = &memSubject{}
		m.subjects[name] = s
	}
	if p != nil && !sameShape(s.windows, p) {
		s.windows = make([]memWindow, len(p))
		for i, w := range p {
			s.windows[i].buckets = make([]int64, w.Buckets+1)
		}
	}
	return s
}

func sameShape(ws []memWindow, p Policy) bool {
	if len(ws) != len(p) {
		return false
	}
	for i, w := range p {
		if len(ws[i].buckets) != w.Buckets+1 {
			return false
		}
	}
	return true
}

func (m *Memory) run(subject string, p Policy, record bool) Decision {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	nowMS := now.UnixMilli()
	s := m.subject(subject, p, now)
	if !record {
		// A peek changes nothing, not even the clock the state last saw (as
		// in Redis, where only a recording call writes): it works on a copy.
		c := *s
		c.windows = make([]memWindow, len(s.windows))
		for i, w := range s.windows {
			c.windows[i] = memWindow{last: w.last, buckets: slices.Clone(w.buckets)}
		}
		s = &c
	}
	d := Decision{Allowed: true, Now: time.UnixMilli(nowMS), Generation: s.gen, Windows: make([]WindowState, len(p))}
	cur := make([]int64, len(p))
	sum := make([]int64, len(p))
	for i, w := range p {
		win := &s.windows[i]
		g, n := w.Granularity().Milliseconds(), int64(len(win.buckets))
		c := nowMS / g
		switch {
		case c-win.last >= n:
			clear(win.buckets)
		case c > win.last:
			for b := win.last + 1; b <= c; b++ {
				win.buckets[b%n] = 0
			}
		}
		c = max(c, win.last) // clock stepped back: keep counting conservatively
		win.last, cur[i] = c, c
		for _, v := range win.buckets {
			sum[i] += v
		}
		if sum[i]+1 > int64(w.Limit) {
			d.Allowed = false
		}
	}
	if record && d.Allowed {
		for i := range p {
			win := &s.windows[i]
			win.buckets[cur[i]%int64(len(win.buckets))]++
			sum[i]++
		}
	}
	var ttl time.Duration
	for i, w := range p {
		win := s.windows[i]
		g, n := w.Granularity().Milliseconds(), int64(len(win.buckets))
		ttl = max(ttl, w.Granularity()*time.Duration(n))
		reset, retry := nowMS, int64(0)
		for b := cur[i] - n + 1; b <= cur[i]; b++ {
			if win.buckets[b%n] > 0 {
				reset = (b + n) * g
				break
			}
		}
		if !d.Allowed && sum[i]+1 > int64(w.Limit) {
			left := sum[i]
			for b := cur[i] - n + 1; b <= cur[i]; b++ {
				left -= win.buckets[b%n]
				if left+1 <= int64(w.Limit) {
					retry = (b+n)*g - nowMS
					break
				}
			}
		}
		d.Windows[i] = WindowState{
			Window:     w,
			Remaining:  max(0, w.Limit-int(sum[i])),
			Reset:      time.UnixMilli(reset),
			RetryAfter: time.Duration(retry) * time.Millisecond,
		}
	}
	if s.gen == 0 && record {
		s.expires = now.Add(ttl)
	}
	m.sweep(now)
	return d
}

// sweep drops idle subjects now and then, so memory follows active subjects.
func (m *Memory) sweep(now time.Time) {
	if m.ops++; m.ops%4096 != 0 {
		return
	}
	for k, s := range m.subjects {
		if !s.expires.IsZero() && now.After(s.expires) {
			delete(m.subjects, k)
		}
	}
	for k, exp := range m.onces {
		if !now.Before(exp) {
			delete(m.onces, k)
		}
	}
}
