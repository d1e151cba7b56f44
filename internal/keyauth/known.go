package keyauth

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stxgate/stxgate/internal/apikey"
	"github.com/stxgate/stxgate/internal/ratelimit"
)

// A well-formed key (valid checksum) that is not in the key cache used to
// cost a database lookup, so a flood of random well-formed keys was a flood
// of PostgreSQL queries, and the per-IP bound on those misses refused real
// keys too. Known answers "does this key exist?" from memory instead: it
// holds the hash of every key the store has (any status, since revoked and
// suspended keys answer "API key inactive", not "Invalid API key"). An
// unknown key is refused without touching the database, and a key that
// exists is always looked up, whoever else sent unknown keys.
//
// Keys created on other instances: the creating instance moves the
// "keys created" generation (a limiter generation in Redis) after the
// insert committed and before it answers. A hash missing here is looked for
// again only when that generation moved since this instance last listed the
// keys stored since then (apikey.Store.KeyHashes, by the database's clock):
// unknown keys never reach the database, new keys are never refused. A
// generation of 0 (never set, expired, lost with Redis) is never trusted: it
// is set and the keys listed again.
//
// Memory: the hashes live in 256 sorted slices (by first byte), 32 bytes
// per key plus slice slack; TestKnownMemoryForAMillionKeys measures it.
type Known struct {
	shards  [256]knownShard
	store   hashLister
	limiter ratelimit.Limiter

	seen    atomic.Int64 // the generation the last listing started under; 0: none yet
	listing sync.Mutex   // one listing at a time; guards newest
	newest  time.Time    // store stamp of the newest key listed
}

type knownShard struct {
	mu     sync.RWMutex
	hashes []apikey.Hash // sorted
}

// createdSubject is the limiter subject whose generation moves on every key creation.
const createdSubject = "keys:created"

// genPolicy is a policy for reading a generation with Peek (nothing is counted).
var genPolicy = ratelimit.Policy{ratelimit.MinuteWindow(1)}

// listMargin is how far before the newest stamp seen the next listing starts:
// a key stamped earlier but committed later (a slow transaction) is still
// listed. Inserting a key is one short transaction.
const listMargin = 5 * time.Minute

// hashLister lists the hashes of the keys stored since a time (apikey.Store.KeyHashes).
type hashLister interface {
	KeyHashes(ctx context.Context, since time.Time) ([]apikey.Hash, time.Time, error)
}

// NewKnown returns an empty set over store; limiter carries the generation.
func NewKnown(store hashLister, limiter ratelimit.Limiter) *Known {
	return &Known{store: store, limiter: limiter}
}

func (k *Known) shard(h apikey.Hash) *knownShard { return &k.shards[h[0]] }

// has reports whether h is in the set (no I/O).
func (k *Known) has(h apikey.Hash) bool {
	s := k.shard(h)
	s.mu.RLock()
	_, found := slices.BinarySearchFunc(s.hashes, h, compareHash)
	s.mu.RUnlock()
	return found
}

// Add puts h in the set (a key created on this instance).
func (k *Known) Add(h apikey.Hash) {
	s := k.shard(h)
	s.mu.Lock()
	if i, found := slices.BinarySearchFunc(s.hashes, h, compareHash); !found {
		s.hashes = slices.Insert(s.hashes, i, h)
	}
	s.mu.Unlock()
}

// addAll merges a listing into the set. It sorts hs in place (so it is
// already in shard order) and gives each shard one exact-size slice: the
// listing of a million keys at start no longer passes through per-shard
// copies and merged copies of its own (the scale gateway's start-up RSS was
// 144 MB for 32 MB of hashes).
func (k *Known) addAll(hs []apikey.Hash) {
	slices.SortFunc(hs, compareHash)
	for len(hs) > 0 {
		first := hs[0][0]
		n := sort.Search(len(hs), func(i int) bool { return hs[i][0] > first }) // the shard's hashes are hs[:n]
		part := slices.Compact(hs[:n])
		hs = hs[n:]
		s := &k.shards[first]
		s.mu.Lock()
		merged := make([]apikey.Hash, 0, len(s.hashes)+len(part))
		merged = append(append(merged, s.hashes...), part...)
		if len(s.hashes) > 0 {
			slices.SortFunc(merged, compareHash)
			merged = slices.Clip(slices.Compact(merged))
		}
		s.hashes = merged
		s.mu.Unlock()
	}
}

func compareHash(a, b apikey.Hash) int { return bytes.Compare(a[:], b[:]) }

// Announce makes a key just stored on this instance known everywhere: here
// at once, on other instances by moving the creation generation. It must
// succeed before the key is handed out.
func (k *Known) Announce(ctx context.Context, h apikey.Hash) error {
	k.Add(h)
	if _, err := k.limiter.Bump(ctx, createdSubject); err != nil {
		return err
	}
	return nil
}

// Contains reports whether a key with hash h exists. A hash not in the set
// costs one generation read; the store is listed only when a key was
// created somewhere since the last listing (or on first use).
func (k *Known) Contains(ctx context.Context, h apikey.Hash) (bool, error) {
	if k.has(h) {
		return true, nil
	}
	d, err := k.limiter.Peek(ctx, createdSubject, genPolicy)
	if err != nil {
		return false, err
	}
	if d.Generation != 0 && d.Generation == k.seen.Load() {
		// Nothing created anywhere since the last listing, which may have
		// finished after our first look: look again (seen is stored after
		// the listing's hashes were added).
		return k.has(h), nil
	}
	if err := k.Sync(ctx, d.Generation); err != nil {
		return false, err
	}
	return k.has(h), nil
}

// Sync lists the keys stored since the last listing (every key the first
// time) unless a listing under generation gen already ran. gen is the
// creation generation read before the call; 0 sets a new one first, so a
// lost generation is never mistaken for "nothing created".
func (k *Known) Sync(ctx context.Context, gen int64) error {
	k.listing.Lock()
	defer k.listing.Unlock()
	if gen != 0 && gen == k.seen.Load() {
		return nil // another caller listed under this generation meanwhile
	}
	if gen == 0 {
		var err error
		if gen, err = k.limiter.Bump(ctx, createdSubject); err != nil {
			return err
		}
	}
	// The generation was read (or set) before this listing starts, so every
	// key whose creation moved it to gen is committed and listed now.
	if err := k.list(ctx); err != nil {
		return err
	}
	k.seen.Store(gen)
	return nil
}

// Load fills the set at start. Without a generation (Redis down) it lists
// every key anyway — while Redis is down a fail-open route answers from
// the set — and leaves the generation unseen, so the first miss once Redis
// answers lists again.
func (k *Known) Load(ctx context.Context) error {
	d, err := k.limiter.Peek(ctx, createdSubject, genPolicy)
	if err == nil {
		return k.Sync(ctx, d.Generation)
	}
	k.listing.Lock()
	defer k.listing.Unlock()
	return k.list(ctx)
}

// list adds the keys stored since the newest listed (less listMargin).
// The caller holds k.listing.
func (k *Known) list(ctx context.Context) error {
	since := time.Time{}
	if !k.newest.IsZero() {
		since = k.newest.Add(-listMargin)
	}
	hs, newest, err := k.store.KeyHashes(ctx, since)
	if err != nil {
		return fmt.Errorf("list key hashes: %w", err)
	}
	k.addAll(hs)
	if newest.After(k.newest) {
		k.newest = newest
	}
	return nil
}

// Len counts the hashes held.
func (k *Known) Len() int { return k.sum(func(s *knownShard) int { return len(s.hashes) }) }

// Bytes is the memory the hashes take (their slices' capacity).
func (k *Known) Bytes() int {
	return k.sum(func(s *knownShard) int { return cap(s.hashes) * len(apikey.Hash{}) })
}

// sum adds f over the shards, each read under its lock.
func (k *Known) sum(f func(*knownShard) int) int {
	n := 0
	for i := range k.shards {
		s := &k.shards[i]
		s.mu.RLock()
		n += f(s)
		s.mu.RUnlock()
	}
	return n
}
