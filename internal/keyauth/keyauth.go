// Package keyauth authenticates keyed requests on the hot path: the key is
// found in an in-process cache by its hash (no database read for a hot key),
// and one limiter round trip both counts the request and returns the key's
// generation. A generation that moved (revoke, update, suspend on any
// instance) makes this instance reload the key before answering, so a revoked
// key is refused everywhere as soon as the revoking call has returned.
package keyauth

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/stxgate/stxgate/internal/apikey"
	"github.com/stxgate/stxgate/internal/fault"
	"github.com/stxgate/stxgate/internal/metrics"
	"github.com/stxgate/stxgate/internal/ratelimit"
	"github.com/stxgate/stxgate/pkg/stacks"
)

// Subject is the limiter subject of a key: its windows and its generation.
func Subject(keyID string) string { return "k:" + keyID }

// PolicyFor is the limiter policy of a key (its per-key limits).
func PolicyFor(l apikey.Limits) ratelimit.Policy {
	return ratelimit.Policy{ratelimit.MinuteWindow(l.Minute), ratelimit.HourWindow(l.Hour), ratelimit.DayWindow(l.Day)}
}

// Result is an authenticated keyed request.
type Result struct {
	Key      *apikey.Key
	Decision ratelimit.Decision // the limiter's answer (Allowed may be false)
	// Limited: Decision is the limiter's, for the rate-limit headers. A
	// request the key's own rules refused was not counted: its Decision is
	// the key's state, read without counting. False when the limiter was
	// down (the route failed open, or the refusal was judged without it).
	Limited bool
}

// Keys is what authentication reads of the key store: a key by its secret's
// hash, and the hashes of the keys stored since a time (Known).
type Keys interface {
	KeyByHash(ctx context.Context, h apikey.Hash) (*apikey.Key, error)
	KeyHashes(ctx context.Context, since time.Time) ([]apikey.Hash, time.Time, error)
}

// Authenticator resolves keys through the cache and the limiter.
type Authenticator struct {
	keys    Keys
	network stacks.Network // keys are issued for this network only
	now     func() time.Time
	limiter ratelimit.Limiter
	cache   *Cache
	known   *Known           // every key hash the store has (known.go)
	metrics *metrics.Metrics // nil: none (SetMetrics)

	missPolicy ratelimit.Policy // unknown-key lookups per client IP (misses.go); nil: none
}

// New returns an Authenticator of network's keys, read from keys. now is the
// clock expiry is judged by (time.Now in production).
func New(keys Keys, network stacks.Network, limiter ratelimit.Limiter, cache *Cache, now func() time.Time) *Authenticator {
	return &Authenticator{keys: keys, network: network, now: now, limiter: limiter, cache: cache, known: NewKnown(keys, limiter)}
}

// ErrLimiterDown is returned (wrapped in a 503) when the limiter is unreachable
// and the route fails closed.
var ErrLimiterDown = fault.Unavailable("Service unavailable: rate limiter unreachable", nil)

// Authenticate resolves raw, applies status, expiry and IP rules, and counts
// the request. failOpen decides what happens when the limiter is unreachable:
// serve from the cache without counting (true) or answer 503 (false).
// A refused request (429) still returns the key, with Decision.Allowed false.
// A request the key's own rules refuse (an address outside its allowlist,
// an inactive key) is not counted: a thief outside the allowlist cannot use
// up the owner's limits.
func (a *Authenticator) Authenticate(ctx context.Context, raw string, ip netip.Addr, failOpen bool) (*Result, error) {
	secret, err := apikey.ParseSecret(raw, a.network)
	if err != nil {
		return nil, apikey.SecretError(err, a.network)
	}
	hash := secret.Hash()
	entry, hit := a.cache.Get(hash)
	a.metrics.KeyCacheLookup(hit)
	if !hit {
		k, err := a.lookup(ctx, hash, ip, failOpen)
		if err != nil {
			return nil, err
		}
		entry = NewEntry(k, -1) // generation unknown until the limiter answers
	}
	if err := entry.key.Usable(ip, a.now()); err != nil {
		var d ratelimit.Decision
		entry, d, err = a.recheck(ctx, hash, entry, hit, ip)
		if err != nil {
			return &Result{Key: entry.key, Decision: d, Limited: len(d.Windows) > 0}, err
		}
		hit = true // recheck cached the entry
	}
	res := &Result{Key: entry.key, Limited: true}
	d, err := a.limiter.Allow(ctx, entry.subject, entry.policy)
	a.metrics.RateLimit(metrics.ScopeKey, d.Allowed, err)
	switch {
	case err != nil && !failOpen:
		return nil, ErrLimiterDown.Wrap(err)
	case err != nil:
		// Fail open: no count, no generation check; the cache TTL bounds staleness.
		res.Limited = false
		if !hit {
			a.cache.Put(hash, entry)
		}
	default:
		res.Decision = d
		// A key changed since it was read (or read before we learnt its
		// generation and changed at all) is read again: the data read after
		// the limiter answered is at least as new as that generation.
		// Cached entries are shared and never modified: a change is a new entry.
		switch {
		case d.Generation != entry.gen && (hit || d.Generation != 0):
			a.metrics.KeyCacheReload()
			k, err := a.load(ctx, hash)
			if err != nil {
				return nil, err
			}
			entry = NewEntry(k, d.Generation)
			a.cache.Put(hash, entry)
		case !hit:
			entry.gen = d.Generation // not shared yet
			a.cache.Put(hash, entry)
		}
		res.Key = entry.key
	}
	if err := res.Key.Usable(ip, a.now()); err != nil {
		return res, err
	}
	return res, nil
}

// recheck confirms a refusal by the key's rules on its current version,
// without counting the request: a cached entry may predate the owner's
// change (a widened allowlist, an unsuspended key), so it is read again
// when the key's generation moved. It returns the entry it judged, cached,
// and the key's limiter state (no windows if the limiter is down).
func (a *Authenticator) recheck(ctx context.Context, hash apikey.Hash, entry *Entry, hit bool, ip netip.Addr) (*Entry, ratelimit.Decision, error) {
	d, err := a.limiter.Peek(ctx, entry.subject, entry.policy)
	switch {
	case err != nil:
		// Limiter down: judge on what we have; an uncached entry keeps gen
		// -1, so the next counted request reads it again.
		if !hit {
			a.cache.Put(hash, entry)
		}
	case d.Generation != entry.gen && (hit || d.Generation != 0):
		a.metrics.KeyCacheReload()
		k, err := a.load(ctx, hash)
		if err != nil {
			return entry, ratelimit.Decision{}, err
		}
		entry = NewEntry(k, d.Generation)
		a.cache.Put(hash, entry)
	case !hit:
		entry.gen = d.Generation // not shared yet
		a.cache.Put(hash, entry)
	}
	return entry, d, entry.key.Usable(ip, a.now())
}

// lookup reads a key that is not cached. Only a hash the known set has
// reaches the store: an unknown key costs no database read.
func (a *Authenticator) lookup(ctx context.Context, hash apikey.Hash, ip netip.Addr, failOpen bool) (*apikey.Key, error) {
	exists, err := a.known.Contains(ctx, hash)
	switch {
	case err != nil && !errors.Is(err, ratelimit.ErrUnavailable):
		return nil, err // the store failed to list keys
	case err != nil && !failOpen:
		return nil, ErrLimiterDown.Wrap(err)
	case err != nil:
		exists = a.known.has(hash) // limiter down, route fails open: the set as last listed
	}
	if !exists {
		return nil, a.unknown(ctx, ip)
	}
	return a.load(ctx, hash)
}

func (a *Authenticator) load(ctx context.Context, hash apikey.Hash) (*apikey.Key, error) {
	k, err := a.keys.KeyByHash(ctx, hash)
	if errors.Is(err, apikey.ErrNotFound) {
		return nil, apikey.ErrInvalidKey
	}
	if err != nil {
		return nil, fmt.Errorf("load key: %w", err)
	}
	return k, nil
}

// Invalidate is called after a key changed: it moves the key's generation
// (seen by every instance on its next request) and drops it from this
// instance's cache. It must succeed before the change is reported done.
func (a *Authenticator) Invalidate(ctx context.Context, k *apikey.Key) error {
	a.cache.Delete(k.Hash)
	if _, err := a.limiter.Bump(ctx, Subject(k.ID)); err != nil {
		return fault.Unavailable("Service unavailable: could not propagate the key change", err)
	}
	return nil
}

// WalletSubject is the limiter subject of a wallet: its budget of signed
// calls (httpapi) and the generation of its key list. The budget is read on
// every signed request anyway, so that read also tells whether any of the
// wallet's keys changed since a cached list was rendered (httpapi's
// keyListCache) — no extra round trip.
func WalletSubject(wallet string) string { return "w:" + wallet }

// InvalidateWallet moves the generation of wallet's key list: every
// instance renders the list again on its next signed list of that wallet.
// It is called after every key creation and change, before the call that
// made it answers.
func (a *Authenticator) InvalidateWallet(ctx context.Context, wallet string) error {
	if wallet == "" {
		return nil
	}
	if _, err := a.limiter.Bump(ctx, WalletSubject(wallet)); err != nil {
		return fault.Unavailable("Service unavailable: could not propagate the key change", err)
	}
	return nil
}

// Announce makes a key just created on this instance known to every
// instance. It must succeed before the key is handed out.
func (a *Authenticator) Announce(ctx context.Context, k *apikey.Key) error {
	if err := a.known.Announce(ctx, k.Hash); err != nil {
		return fault.Unavailable("Service unavailable: could not propagate the new key", err)
	}
	return nil
}

// Known returns the set of existing key hashes (loaded at start by app.New).
func (a *Authenticator) Known() *Known { return a.known }

// Cache returns the key cache (for pub/sub invalidation).
func (a *Authenticator) Cache() *Cache { return a.cache }

// DefaultTTL bounds how long a cached key is trusted without a generation check.
const DefaultTTL = 30 * time.Second
