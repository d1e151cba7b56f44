// Package memory is the embedded in-process store: what `make run` uses when
// no DATABASE_URL is set. It keeps nothing across restarts and serves one
// gateway instance only. It passes the same conformance suite as PostgreSQL.
package memory

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/stxgate/stxgate/internal/apikey"
	"github.com/stxgate/stxgate/internal/audit"
)

// Store is an in-memory apikey.Store (and, later, order store).
type Store struct {
	trail  *audit.Memory // where events are written, with their change (AuditTo); nil: dropped
	mu     sync.RWMutex
	keys   map[string]*apikey.Key // by id
	byHash map[apikey.Hash]string
	stored []storedHash // in insert order (KeyHashes)
}

type storedHash struct {
	hash apikey.Hash
	at   time.Time
}

// New returns an empty store.
func New() *Store {
	return &Store{
		keys:   make(map[string]*apikey.Key),
		byHash: make(map[apikey.Hash]string),
	}
}

// AuditTo makes the store write the events of its changes into trail, under
// the lock of the change (call before use).
func (s *Store) AuditTo(trail *audit.Memory) { s.trail = trail }

// InsertKey implements apikey.Store.
func (s *Store) InsertKey(ctx context.Context, k *apikey.Key, maxActive int, ev *audit.Event) error {
	if ev != nil {
		ev.Wallet, ev.KeyID = k.WalletAddress, k.ID
		if err := audit.Check(ev); err != nil { // refused as PostgreSQL would, before anything changes
			return err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.keys[k.ID]; ok {
		return apikey.ErrDuplicate
	}
	if _, ok := s.byHash[k.Hash]; ok {
		return apikey.ErrDuplicate
	}
	if maxActive > 0 && k.Status == apikey.StatusActive {
		active := 0
		for _, o := range s.keys {
			if o.WalletAddress == k.WalletAddress && o.EffectiveStatus(k.CreatedAt) == apikey.StatusActive && o.RotatedTo == "" {
				active++
			}
		}
		if active >= maxActive {
			return apikey.ErrTooManyKeys
		}
	}
	s.put(k)
	s.record(ctx, ev)
	return nil
}

// put stores a new key (the caller holds the lock and checked duplicates).
func (s *Store) put(k *apikey.Key) {
	s.keys[k.ID] = k.Clone()
	s.byHash[k.Hash] = k.ID
	at := time.Now()
	if n := len(s.stored); n > 0 && at.Before(s.stored[n-1].at) {
		at = s.stored[n-1].at // keep the stamps in insert order
	}
	s.stored = append(s.stored, storedHash{hash: k.Hash, at: at})
}

// record writes a checked event; it cannot fail (audit.Check passed).
func (s *Store) record(ctx context.Context, ev *audit.Event) {
	if ev != nil && s.trail != nil {
		_ = s.trail.Append(ctx, ev)
	}
}

// KeyHashes implements apikey.Store.
func (s *Store) KeyHashes(_ context.Context, since time.Time) ([]apikey.Hash, time.Time, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	i, _ := slices.BinarySearchFunc(s.stored, since, func(e storedHash, t time.Time) int { return e.at.Compare(t) })
	newest := since
	out := make([]apikey.Hash, 0, len(s.stored)-i)
	for _, e := range s.stored[i:] {
		out = append(out, e.hash)
		newest = e.at
	}
	return out, newest, nil
}

// KeyByHash implements apikey.Store.
func (s *Store) KeyByHash(_ context.Context, h apikey.Hash) (*apikey.Key, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	id, ok := s.byHash[h]
	if !ok {
		return nil, apikey.ErrNotFound
	}
	return s.keys[id].Clone(), nil
}

// KeyByID implements apikey.Store.
func (s *Store) KeyByID(_ context.Context, id string) (*apikey.Key, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	k, ok := s.keys[id]
	if !ok {
		return nil, apikey.ErrNotFound
	}
	return k.Clone(), nil
}

// KeysByWallet implements apikey.Store.
func (s *Store) KeysByWallet(_ context.Context, wallet string) ([]*apikey.Key, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []*apikey.Key
	for _, k := range s.keys {
		if k.WalletAddress == wallet {
			out = append(out, k.Clone())
		}
	}
	slices.SortFunc(out, func(a, b *apikey.Key) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return out, nil
}

// UpdateKey implements apikey.Store.
func (s *Store) UpdateKey(ctx context.Context, id string, fn func(*apikey.Key) error, ev *audit.Event) (*apikey.Key, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.keys[id]
	if !ok {
		return nil, apikey.ErrNotFound
	}
	next := cur.Clone()
	if err := fn(next); err != nil {
		return nil, err
	}
	next.ID, next.Hash, next.WalletAddress = cur.ID, cur.Hash, cur.WalletAddress // immutable
	next.RotatedFrom, next.RotatedTo = cur.RotatedFrom, cur.RotatedTo
	if ev != nil {
		ev.Wallet, ev.KeyID = cur.WalletAddress, cur.ID
		if err := audit.Check(ev); err != nil {
			return nil, err
		}
	}
	s.keys[id] = next
	s.record(ctx, ev)
	return next.Clone(), nil
}

// RotateKey implements apikey.Store: every check runs before anything
// changes, under the store's lock, so the rotation is stored whole or not at all.
func (s *Store) RotateKey(ctx context.Context, id string, next *apikey.Key, fn func(old, next *apikey.Key) error, rotated, created *audit.Event) (*apikey.Key, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.keys[id]
	if !ok {
		return nil, apikey.ErrNotFound
	}
	old := cur.Clone()
	if err := fn(old, next); err != nil {
		return nil, err
	}
	old.ID, old.Hash, old.WalletAddress, old.RotatedFrom = cur.ID, cur.Hash, cur.WalletAddress, cur.RotatedFrom
	old.RotatedTo, next.RotatedFrom, next.WalletAddress = next.ID, old.ID, old.WalletAddress
	if _, dup := s.keys[next.ID]; dup {
		return nil, apikey.ErrDuplicate
	}
	if _, dup := s.byHash[next.Hash]; dup {
		return nil, apikey.ErrDuplicate
	}
	for _, e := range apikey.RotationEvents(old, next, rotated, created) {
		if err := audit.Check(e); err != nil { // refused as PostgreSQL would, before anything changes
			return nil, err
		}
	}
	s.put(next)
	s.keys[id] = old
	s.record(ctx, rotated)
	s.record(ctx, created)
	return old.Clone(), nil
}

// AddUsage implements apikey.Store.
func (s *Store) AddUsage(_ context.Context, deltas []apikey.UsageDelta) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range deltas {
		k, ok := s.keys[d.KeyID]
		if !ok {
			continue // deleted keys do not exist; counts for them are dropped
		}
		k.Usage = k.Usage.Add(d.Usage)
		if !d.LastUsedAt.IsZero() && (k.LastUsedAt == nil || d.LastUsedAt.After(*k.LastUsedAt)) {
			t := d.LastUsedAt.UTC().Truncate(time.Microsecond)
			k.LastUsedAt = &t
		}
	}
	return nil
}
