package walletauth

import (
	"context"
	"sync"
	"time"
)

// MemoryReplay is the in-process twin of redisconn.Replay for the embedded default.
type MemoryReplay struct {
	mu   sync.Mutex
	now  func() time.Time
	seen map[string]time.Time // id -> expiry
	ops  int
}

// NewMemoryReplay returns an empty store on clock now.
func NewMemoryReplay(now func() time.Time) *MemoryReplay {
	return &MemoryReplay{now: now, seen: make(map[string]time.Time)}
}

// Claim implements ReplayStore.
func (r *MemoryReplay) Claim(_ context.Context, id string, ttl time.Duration) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	if exp, ok := r.seen[id]; ok && now.Before(exp) {
		return false, nil
	}
	r.seen[id] = now.Add(ttl)
	// Sweep now and then so memory stays bounded by the messages of one TTL.
	if r.ops++; r.ops%1024 == 0 {
		for k, exp := range r.seen {
			if !now.Before(exp) {
				delete(r.seen, k)
			}
		}
	}
	return true, nil
}
