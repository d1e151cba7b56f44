// Package apikey owns API keys: their format and checksum, hashing, the
// lifecycle rules (create, update, revoke, suspend, expire) and turning a
// presented key into the principal it acts for.
package apikey

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"time"

	"github.com/stxgate/stxgate/internal/audit"
	"github.com/stxgate/stxgate/internal/ptr"
)

// Permission is one thing a key may do with its wallet's orders.
type Permission string

const (
	PermCreate  Permission = "create"
	PermExecute Permission = "execute"
	PermCancel  Permission = "cancel"
	// PermRead lets a key list its wallet's keys and read its audit trail
	// without a wallet signature; it grants nothing on orders.
	PermRead Permission = "read"
)

// AllPermissions in canonical order.
var AllPermissions = []Permission{PermCreate, PermExecute, PermCancel, PermRead}

// Status of a key. Expiry is not a status: it is derived from ExpiresAt.
type Status string

const (
	StatusActive    Status = "active"
	StatusRevoked   Status = "revoked"
	StatusSuspended Status = "suspended"
	// StatusExpired is only ever reported, never stored.
	StatusExpired Status = "expired"
)

// Limits are a key's sliding-window request limits.
type Limits struct {
	Minute int `json:"minute"`
	Hour   int `json:"hour"`
	Day    int `json:"day"`
}

// Usage counts what a key has done. Total = Successful + Failed.
type Usage struct {
	TotalRequests      int64 `json:"totalRequests"`
	SuccessfulRequests int64 `json:"successfulRequests"`
	FailedRequests     int64 `json:"failedRequests"`
	CreationCount      int64 `json:"creationCount"`
	ExecutionCount     int64 `json:"executionCount"`
	CancellationCount  int64 `json:"cancellationCount"`
}

// Add returns u plus d.
func (u Usage) Add(d Usage) Usage {
	return Usage{
		TotalRequests:      u.TotalRequests + d.TotalRequests,
		SuccessfulRequests: u.SuccessfulRequests + d.SuccessfulRequests,
		FailedRequests:     u.FailedRequests + d.FailedRequests,
		CreationCount:      u.CreationCount + d.CreationCount,
		ExecutionCount:     u.ExecutionCount + d.ExecutionCount,
		CancellationCount:  u.CancellationCount + d.CancellationCount,
	}
}

// IsZero reports whether u counts nothing.
func (u Usage) IsZero() bool { return u == Usage{} }

// Key is a stored API key. The secret itself is never kept, only its hash.
type Key struct {
	ID            string
	WalletAddress string
	Name          string
	Hash          Hash
	Prefix        string // clear display prefix, e.g. "ck_live_Ab12Cd34"
	Permissions   []Permission
	Status        Status
	Limits        Limits
	IPAllowlist   []netip.Prefix // empty: any address
	ExpiresAt     *time.Time
	CreatedAt     time.Time
	UpdatedAt     time.Time
	RevokedAt     *time.Time
	LastUsedAt    *time.Time
	Usage         Usage
	// RotatedFrom is the key this one replaced (RotateKey); "" if none.
	RotatedFrom string
	// RotatedTo is the key that replaced this one; "" if none. A rotated
	// key lives on until its ExpiresAt (the grace period) or is revoked.
	RotatedTo string
}

// EffectiveStatus is Status, or StatusExpired for an active key past ExpiresAt.
func (k *Key) EffectiveStatus(now time.Time) Status {
	if k.Status == StatusActive && k.ExpiresAt != nil && !now.Before(*k.ExpiresAt) {
		return StatusExpired
	}
	return k.Status
}

// Has reports whether the key holds permission p.
func (k *Key) Has(p Permission) bool { return slices.Contains(k.Permissions, p) }

// AllowsIP reports whether a request from ip may use the key.
func (k *Key) AllowsIP(ip netip.Addr) bool {
	if len(k.IPAllowlist) == 0 {
		return true
	}
	ip = ip.Unmap()
	for _, p := range k.IPAllowlist {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// Usable applies the rules every keyed request passes: active, not expired
// at now, allowed from ip.
func (k *Key) Usable(ip netip.Addr, now time.Time) error {
	if k.EffectiveStatus(now) != StatusActive {
		return ErrInactiveKey
	}
	if !k.AllowsIP(ip) {
		return ErrIPDenied
	}
	return nil
}

// Clone returns a deep copy, so cached keys are never shared mutable state.
func (k *Key) Clone() *Key {
	c := *k
	c.Permissions = slices.Clone(k.Permissions)
	c.IPAllowlist = slices.Clone(k.IPAllowlist)
	c.ExpiresAt = ptr.Clone(k.ExpiresAt)
	c.RevokedAt = ptr.Clone(k.RevokedAt)
	c.LastUsedAt = ptr.Clone(k.LastUsedAt)
	return &c
}

// Store errors. Stores return these (wrapped) so the service can answer precisely.
var (
	ErrNotFound    = errors.New("api key not found")
	ErrTooManyKeys = errors.New("too many active api keys for wallet")
	ErrDuplicate   = errors.New("api key id or hash already exists")
)

// RotationEvents completes a rotation's events as RotateKey stores them, in
// the order of the story: rotated with the old key's wallet and id, then
// created with next's; a nil event is left out.
func RotationEvents(old, next *Key, rotated, created *audit.Event) []*audit.Event {
	var evs []*audit.Event
	for _, e := range []struct {
		ev *audit.Event
		k  *Key
	}{{rotated, old}, {created, next}} {
		if e.ev != nil {
			e.ev.Wallet, e.ev.KeyID = e.k.WalletAddress, e.k.ID
			evs = append(evs, e.ev)
		}
	}
	return evs
}

// UsageDelta is a batch of counts for one key, flushed by the usage recorder.
type UsageDelta struct {
	KeyID      string
	Usage      Usage
	LastUsedAt time.Time
}

// MergeDeltas sums deltas per key, so a batch names each key once.
func MergeDeltas(deltas []UsageDelta) []UsageDelta {
	idx := make(map[string]int, len(deltas))
	out := make([]UsageDelta, 0, len(deltas))
	for _, d := range deltas {
		i, ok := idx[d.KeyID]
		if !ok {
			idx[d.KeyID] = len(out)
			out = append(out, d)
			continue
		}
		out[i].Usage = out[i].Usage.Add(d.Usage)
		if d.LastUsedAt.After(out[i].LastUsedAt) {
			out[i].LastUsedAt = d.LastUsedAt
		}
	}
	return out
}

// Store keeps keys. PostgreSQL in production, memory for the embedded default;
// both pass internal/store/storetest.
type Store interface {
	// InsertKey stores k unless its wallet already has maxActive active keys
	// (active, unexpired and not rotated: a key in its grace period is on its
	// way out and does not count).
	// ev, when not nil, is written in the same transaction (its Wallet and
	// KeyID set to k's): both are stored, or neither.
	InsertKey(ctx context.Context, k *Key, maxActive int, ev *audit.Event) error
	KeyByHash(ctx context.Context, h Hash) (*Key, error)
	KeyByID(ctx context.Context, id string) (*Key, error)
	// KeysByWallet lists a wallet's keys, oldest first.
	KeysByWallet(ctx context.Context, wallet string) ([]*Key, error)
	// UpdateKey applies fn to the current key atomically (read-modify-write
	// under a row lock) and stores the result. An error from fn aborts it.
	// ev, when not nil, is written in the same transaction (its Wallet and
	// KeyID set to the key's) after fn ran, so fn may fill its Details.
	// The id, hash, wallet and rotation links never change.
	UpdateKey(ctx context.Context, id string, fn func(*Key) error, ev *audit.Event) (*Key, error)
	// RotateKey replaces key id by next in one transaction: under the old
	// key's row lock, fn gives next the old key's settings and ends the old
	// key (an expiry or a revocation); the store links the two (old.RotatedTo,
	// next.RotatedFrom, next's wallet is old's) and stores both with their
	// events — rotated (the old key's) and created (next's), each completed
	// with its key's wallet and id after fn ran — or nothing at all. An error
	// from fn aborts it. It returns the old key as stored.
	RotateKey(ctx context.Context, id string, next *Key, fn func(old, next *Key) error, rotated, created *audit.Event) (*Key, error)
	// AddUsage adds counts to keys' usage and moves lastUsedAt forward.
	AddUsage(ctx context.Context, deltas []UsageDelta) error
	// KeyHashes lists the hashes of the keys stored at or after since (the
	// store's own clock, stamped when the insert ran; zero: every key) and
	// the stamp of the newest one listed (since when none is).
	KeyHashes(ctx context.Context, since time.Time) ([]Hash, time.Time, error)
}

// UnmapPrefix turns a prefix written IPv4-mapped (::ffff:10.0.0.0/104) into
// the IPv4 prefix it means (10.0.0.0/8). Addresses are unmapped before they
// are matched, so an unconverted mapped prefix would never match anything.
func UnmapPrefix(p netip.Prefix) netip.Prefix {
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		return netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p
}
