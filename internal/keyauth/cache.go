package keyauth

import (
	"sync"
	"time"

	"github.com/stxgate/stxgate/internal/apikey"
	"github.com/stxgate/stxgate/internal/ratelimit"
)

// Entry is a cached key with the generation it was read at (-1: unknown),
// and the key's limiter subject and policy, made once with the entry
// (NewEntry, the only way to make one): not once per request, and never
// different from the key's. The policy is shared, never modified.
type Entry struct {
	key *apikey.Key
	gen int64

	expires time.Time
	subject string
	policy  ratelimit.Policy
}

// NewEntry is an entry of k at generation gen.
func NewEntry(k *apikey.Key, gen int64) *Entry {
	return &Entry{key: k, gen: gen, subject: Subject(k.ID), policy: PolicyFor(k.Limits)}
}

const cacheShards = 32

// Cache maps key hashes to keys, sharded to keep lock contention low, with a
// TTL backstop and a size bound.
type Cache struct {
	shards  [cacheShards]cacheShard
	ttl     time.Duration
	maxSize int // per shard
	now     func() time.Time
}

type cacheShard struct {
	mu sync.RWMutex
	m  map[apikey.Hash]*Entry
}

// NewCache holds up to maxEntries keys for ttl each.
func NewCache(ttl time.Duration, maxEntries int, now func() time.Time) *Cache {
	c := &Cache{ttl: ttl, maxSize: max(1, maxEntries/cacheShards), now: now}
	for i := range c.shards {
		c.shards[i].m = make(map[apikey.Hash]*Entry)
	}
	return c
}

func (c *Cache) shard(h apikey.Hash) *cacheShard { return &c.shards[h[0]%cacheShards] }

// Get returns a live entry. The entry is shared: callers must not modify it.
func (c *Cache) Get(h apikey.Hash) (*Entry, bool) {
	s := c.shard(h)
	s.mu.RLock()
	e, ok := s.m[h]
	s.mu.RUnlock()
	if !ok || c.now().After(e.expires) {
		return nil, false
	}
	return e, true
}

// Put stores e, made by NewEntry (a fresh TTL when e is newly read).
func (c *Cache) Put(h apikey.Hash, e *Entry) {
	if e.expires.IsZero() {
		e.expires = c.now().Add(c.ttl)
	}
	s := c.shard(h)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, exists := s.m[h]; !exists && len(s.m) >= c.maxSize {
		for k := range s.m { // evict an arbitrary entry: it is only a cache
			delete(s.m, k)
			break
		}
	}
	s.m[h] = e
}

// Delete drops a key by hash.
func (c *Cache) Delete(h apikey.Hash) {
	s := c.shard(h)
	s.mu.Lock()
	delete(s.m, h)
	s.mu.Unlock()
}

// DeleteID drops a key by id (pub/sub invalidation carries ids, not hashes).
func (c *Cache) DeleteID(id string) {
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		for h, e := range s.m {
			if e.key.ID == id {
				delete(s.m, h)
			}
		}
		s.mu.Unlock()
	}
}

// Len counts cached keys (metrics, tests).
func (c *Cache) Len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.RLock()
		n += len(s.m)
		s.mu.RUnlock()
	}
	return n
}
