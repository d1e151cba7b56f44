package apikey

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/stxgate/stxgate/internal/audit"
	"github.com/stxgate/stxgate/internal/fault"
	"github.com/stxgate/stxgate/internal/ptr"
	"github.com/stxgate/stxgate/pkg/stacks"
)

// Public errors of key authentication (texts are DESIGN.md's).
var (
	ErrInvalidKey  = fault.Unauthenticated("Invalid API key").WithCode(fault.CodeInvalidAPIKey)
	ErrInactiveKey = fault.Unauthenticated("API key inactive").WithCode(fault.CodeAPIKeyInactive)
	ErrIPDenied    = fault.Forbidden("API key not allowed from this IP address").WithCode(fault.CodeAPIKeyIPDenied)
	errKeyNotFound = fault.NotFound("API key not found").WithCode(fault.CodeAPIKeyNotFound)
)

// Config holds the rules a Service applies.
type Config struct {
	Network            stacks.Network
	MaxActivePerWallet int
	DefaultLimits      Limits
	MaxNameLen         int
	MaxAllowlist       int
	// OnChange runs after a key was updated, revoked or suspended, before
	// the change is reported done: it makes every gateway instance see it.
	OnChange func(context.Context, *Key) error
	// OnCreate runs after a key was stored, before its secret is handed
	// out: it makes every gateway instance know the key exists. Its error
	// fails the create (the stored key is then listed, never usable by
	// anyone: its secret was never shown).
	OnCreate func(context.Context, *Key) error
	// Audit prepares the event of every change, which the store writes in
	// the change's transaction (nil: no audit trail).
	Audit audit.Recorder
}

// Service is the key lifecycle: every change to a key goes through it.
type Service struct {
	store Store
	cfg   Config
	now   func() time.Time
}

// NewService returns a Service over store. now is the clock (time.Now in production).
func NewService(store Store, cfg Config, now func() time.Time) *Service {
	if cfg.MaxNameLen == 0 {
		cfg.MaxNameLen = 100
	}
	if cfg.MaxAllowlist == 0 {
		cfg.MaxAllowlist = 32
	}
	return &Service{store: store, cfg: cfg, now: now}
}

// Network is the network keys are issued for.
func (s *Service) Network() stacks.Network { return s.cfg.Network }

// CreateInput is a validated-by-Create request for a new key.
type CreateInput struct {
	Wallet      string
	Name        string
	Permissions []string
	IPAllowlist []string
	ExpiresAt   *time.Time
	// Claim, when set, runs after validation and before the write: the
	// single-use check of the signed message that asked for this.
	Claim func(context.Context) error
}

// Create makes a key for in.Wallet and returns it with the only copy of its secret.
func (s *Service) Create(ctx context.Context, in CreateInput) (*Key, Secret, error) {
	name, err := s.validName(in.Name)
	if err != nil {
		return nil, Secret{}, err
	}
	perms, err := ParsePermissions(in.Permissions)
	if err != nil {
		return nil, Secret{}, err
	}
	allow, err := s.parseAllowlist(in.IPAllowlist)
	if err != nil {
		return nil, Secret{}, err
	}
	now := s.now().UTC().Truncate(time.Microsecond) // PostgreSQL keeps microseconds
	if in.ExpiresAt != nil && !in.ExpiresAt.After(now) {
		return nil, Secret{}, fault.Invalid("expiresAt", "expiresAt must be in the future")
	}
	if err := claim(ctx, in.Claim); err != nil {
		return nil, Secret{}, err
	}
	secret, err := NewSecret(s.cfg.Network)
	if err != nil {
		return nil, Secret{}, fmt.Errorf("generate key: %w", err)
	}
	id, err := newKeyID()
	if err != nil {
		return nil, Secret{}, err
	}
	k := &Key{
		ID:            id,
		WalletAddress: in.Wallet,
		Name:          name,
		Hash:          secret.Hash(),
		Prefix:        secret.Display(),
		Permissions:   perms,
		Status:        StatusActive,
		Limits:        s.cfg.DefaultLimits,
		IPAllowlist:   allow,
		ExpiresAt:     truncPtr(in.ExpiresAt),
		CreatedAt:     now,
		UpdatedAt:     now,
	}
	details := map[string]any{"name": k.Name, "permissions": k.Permissions, "ipAllowlist": prefixStrings(k.IPAllowlist)}
	if k.ExpiresAt != nil {
		details["expiresAt"] = k.ExpiresAt.Format(time.RFC3339Nano)
	}
	ev := s.event(ctx, audit.KeyCreated, "wallet:"+in.Wallet, details)
	if err := s.store.InsertKey(ctx, k, s.cfg.MaxActivePerWallet, ev); err != nil {
		if errors.Is(err, ErrTooManyKeys) {
			return nil, Secret{}, fault.Invalidf("", "Too many active API keys for this wallet (maximum %d)", s.cfg.MaxActivePerWallet).WithCode(fault.CodeTooManyAPIKeys).
				WithDetails(map[string]any{"maximum": s.cfg.MaxActivePerWallet})
		}
		return nil, Secret{}, fmt.Errorf("insert key: %w", err)
	}
	if s.cfg.OnCreate != nil {
		if err := s.cfg.OnCreate(ctx, k); err != nil {
			return nil, Secret{}, err
		}
	}
	return k, secret, nil
}

// List returns the wallet's keys, oldest first.
func (s *Service) List(ctx context.Context, wallet string) ([]*Key, error) {
	keys, err := s.store.KeysByWallet(ctx, wallet)
	if err != nil {
		return nil, fmt.Errorf("list keys: %w", err)
	}
	return keys, nil
}

// Get returns one of the wallet's keys. Another wallet's key is "not found":
// the answer never tells whether a key id exists.
func (s *Service) Get(ctx context.Context, wallet, id string) (*Key, error) {
	if !ValidID(id) {
		return nil, errKeyNotFound
	}
	k, err := s.store.KeyByID(ctx, id)
	if errors.Is(err, ErrNotFound) || (err == nil && k.WalletAddress != wallet) {
		return nil, errKeyNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("load key: %w", err)
	}
	return k, nil
}

// OperatorGet returns any wallet's key (the operator API); ErrNotFound if none.
func (s *Service) OperatorGet(ctx context.Context, id string) (*Key, error) {
	return s.store.KeyByID(ctx, id)
}

// UpdateInput changes a key; nil fields stay as they are.
type UpdateInput struct {
	Name        *string
	Permissions *[]string
	IPAllowlist *[]string
	Claim       func(context.Context) error // as in CreateInput
}

// Update renames a key or changes its permissions or allowlist.
func (s *Service) Update(ctx context.Context, wallet, id string, in UpdateInput) (*Key, error) {
	if !ValidID(id) {
		return nil, errKeyNotFound
	}
	if in.Name == nil && in.Permissions == nil && in.IPAllowlist == nil {
		return nil, fault.Invalid("", "Nothing to update: send keyName, permissions or ipAllowlist")
	}
	var (
		name  string
		perms []Permission
		allow []netip.Prefix
		err   error
	)
	if in.Name != nil {
		if name, err = s.validName(*in.Name); err != nil {
			return nil, err
		}
	}
	if in.Permissions != nil {
		if perms, err = ParsePermissions(*in.Permissions); err != nil {
			return nil, err
		}
	}
	if in.IPAllowlist != nil {
		if allow, err = s.parseAllowlist(*in.IPAllowlist); err != nil {
			return nil, err
		}
	}
	if err := claim(ctx, in.Claim); err != nil {
		return nil, err
	}
	details := map[string]any{}
	return s.mutate(ctx, wallet, id, func(k *Key) error {
		if k.Status == StatusRevoked {
			return fault.Invalid("", "API key revoked").WithCode(fault.CodeAPIKeyRevoked)
		}
		if in.Name != nil {
			k.Name = name
			details["name"] = name
		}
		if in.Permissions != nil {
			k.Permissions = perms
			details["permissions"] = perms
		}
		if in.IPAllowlist != nil {
			k.IPAllowlist = allow
			details["ipAllowlist"] = prefixStrings(allow)
		}
		return nil
	}, s.event(ctx, audit.KeyUpdated, "wallet:"+wallet, details)) // fn fills details before the event is written
}

// Revoke ends a key for good. Revoking a revoked key succeeds again (idempotent).
// claim, when set, runs before the write (see CreateInput.Claim).
func (s *Service) Revoke(ctx context.Context, wallet, id string, claimFn func(context.Context) error) (*Key, error) {
	if !ValidID(id) {
		return nil, errKeyNotFound // before the claim: a request that cannot succeed spends nothing
	}
	if err := claim(ctx, claimFn); err != nil {
		return nil, err
	}
	return s.mutate(ctx, wallet, id, func(k *Key) error {
		if k.Status == StatusRevoked {
			return errUnchanged
		}
		at := s.now().UTC().Truncate(time.Microsecond)
		k.Status = StatusRevoked
		k.RevokedAt = &at
		return nil
	}, s.event(ctx, audit.KeyRevoked, "wallet:"+wallet, nil))
}

// MaxGrace bounds a rotation's grace period: the old key lives at most a day.
const MaxGrace = 24 * time.Hour

// RotateInput asks for a key's replacement.
type RotateInput struct {
	Wallet string
	ID     string
	// Grace is how long the old key stays valid (0: revoked at once;
	// an earlier expiry of the old key stands).
	Grace time.Duration
	Claim func(context.Context) error // as in CreateInput
}

// Errors of a rotation refused for the old key's state.
var (
	errRotateRevoked   = fault.Invalid("", "API key revoked").WithCode(fault.CodeAPIKeyRevoked)
	errRotateSuspended = fault.Invalid("", "API key suspended").WithCode(fault.CodeAPIKeySuspended)
	errRotateExpired   = fault.Invalid("", "API key expired").WithCode(fault.CodeAPIKeyExpired)
	errAlreadyRotated  = fault.Conflict("API key already rotated").WithCode(fault.CodeAPIKeyAlreadyRotated)
)

// Rotate replaces one of the wallet's keys by a new key with a new secret
// and the same name, permissions, limits, allowlist and expiry. The old key
// stays valid for in.Grace, then fails as any expired key; with no grace it
// is revoked at once. It returns the new key with the only copy of its
// secret, and the old key as stored. Both keys, the old key's end and both
// audit events (key.rotated, key.created) are stored in one transaction.
func (s *Service) Rotate(ctx context.Context, in RotateInput) (next, old *Key, secret Secret, err error) {
	if !ValidID(in.ID) {
		return nil, nil, Secret{}, errKeyNotFound // before the claim: a request that cannot succeed spends nothing
	}
	if in.Grace < 0 || in.Grace > MaxGrace {
		return nil, nil, Secret{}, fault.Invalidf("message.graceSeconds", "message.graceSeconds must be an integer from 0 to %d", int(MaxGrace/time.Second))
	}
	if err := claim(ctx, in.Claim); err != nil {
		return nil, nil, Secret{}, err
	}
	secret, err = NewSecret(s.cfg.Network)
	if err != nil {
		return nil, nil, Secret{}, fmt.Errorf("generate key: %w", err)
	}
	id, err := newKeyID()
	if err != nil {
		return nil, nil, Secret{}, err
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	next = &Key{ID: id, Hash: secret.Hash(), Prefix: secret.Display(), Status: StatusActive, CreatedAt: now, UpdatedAt: now}
	graceSeconds := int(in.Grace / time.Second)
	rotatedDetails := map[string]any{"rotatedTo": id, "graceSeconds": graceSeconds}
	createdDetails := map[string]any{"rotatedFrom": in.ID}
	fn := func(o, n *Key) error {
		switch {
		case o.WalletAddress != in.Wallet:
			return errKeyNotFound
		case o.RotatedTo != "": // first: a rotated key is revoked or expiring, and this says by what
			return errAlreadyRotated.WithDetails(map[string]any{"rotatedTo": o.RotatedTo})
		case o.Status == StatusRevoked:
			return errRotateRevoked
		case o.Status == StatusSuspended:
			return errRotateSuspended
		case o.EffectiveStatus(now) == StatusExpired:
			return errRotateExpired
		}
		n.Name, n.Permissions, n.Limits = o.Name, slices.Clone(o.Permissions), o.Limits
		n.IPAllowlist, n.ExpiresAt = slices.Clone(o.IPAllowlist), ptr.Clone(o.ExpiresAt)
		createdDetails["name"], createdDetails["permissions"] = n.Name, n.Permissions
		createdDetails["ipAllowlist"] = prefixStrings(n.IPAllowlist)
		if n.ExpiresAt != nil {
			createdDetails["expiresAt"] = n.ExpiresAt.Format(time.RFC3339Nano)
		}
		if in.Grace == 0 {
			o.Status, o.RevokedAt = StatusRevoked, &now
		} else if end := now.Add(in.Grace); o.ExpiresAt == nil || end.Before(*o.ExpiresAt) {
			o.ExpiresAt = &end
		}
		if o.ExpiresAt != nil && o.Status == StatusActive {
			rotatedDetails["expiresAt"] = o.ExpiresAt.Format(time.RFC3339Nano)
		}
		o.UpdatedAt = now
		return nil
	}
	// fn fills the events' details before the store writes them.
	rotated := s.event(ctx, audit.KeyRotated, "wallet:"+in.Wallet, rotatedDetails)
	created := s.event(ctx, audit.KeyCreated, "wallet:"+in.Wallet, createdDetails)
	old, err = s.store.RotateKey(ctx, in.ID, next, fn, rotated, created)
	if errors.Is(err, ErrNotFound) {
		return nil, nil, Secret{}, errKeyNotFound
	}
	if err != nil {
		if _, ok := fault.As(err); ok {
			return nil, nil, Secret{}, err
		}
		return nil, nil, Secret{}, fmt.Errorf("rotate key: %w", err)
	}
	// Every instance must know the new key before its secret is handed out,
	// and see the old key's end before the rotation is reported done.
	if s.cfg.OnCreate != nil {
		if err := s.cfg.OnCreate(ctx, next); err != nil {
			return nil, nil, Secret{}, err
		}
	}
	if err := s.propagate(ctx, old); err != nil {
		return nil, nil, Secret{}, err
	}
	return next, old, secret, nil
}

// OperatorSetSuspended is the operator's switch; the reason is kept in the
// audit trail (where the key's owner can read it). A revoked key stays revoked.
func (s *Service) OperatorSetSuspended(ctx context.Context, id string, suspended bool, reason string) (*Key, error) {
	if !ValidID(id) {
		return nil, errKeyNotFound
	}
	event, details := audit.KeyUnsuspended, map[string]any{}
	if suspended {
		event = audit.KeySuspended
	}
	if reason != "" {
		details["reason"] = reason
	}
	return s.mutate(ctx, "", id, func(k *Key) error {
		if k.Status == StatusRevoked {
			return fault.Invalid("", "API key revoked").WithCode(fault.CodeAPIKeyRevoked)
		}
		want := StatusActive
		if suspended {
			want = StatusSuspended
		}
		if k.Status == want {
			return errUnchanged
		}
		k.Status = want
		return nil
	}, s.event(ctx, event, audit.ActorOperator, details))
}

// errUnchanged from a mutation means the key already is as asked (revoking a
// revoked key, suspending a suspended one): nothing is written or recorded,
// but the key's state is propagated again — the earlier call that made the
// change may have failed to propagate it (503), and its retry must finish
// the job — and the call succeeds.
var errUnchanged = errors.New("key unchanged")

// mutate runs fn on the key under the store's row lock. wallet "" skips the
// ownership check (operator actions). ev (nil: no trail) is written with the
// change, in its transaction, before the change is propagated: the change
// happened even if propagation fails. Propagation (OnChange) runs whether or
// not fn changed anything.
func (s *Service) mutate(ctx context.Context, wallet, id string, fn func(*Key) error, ev *audit.Event) (*Key, error) {
	var current *Key
	k, err := s.store.UpdateKey(ctx, id, func(k *Key) error {
		if wallet != "" && k.WalletAddress != wallet {
			return errKeyNotFound
		}
		if err := fn(k); err != nil {
			if errors.Is(err, errUnchanged) {
				current = k.Clone()
			}
			return err
		}
		k.UpdatedAt = s.now().UTC().Truncate(time.Microsecond)
		return nil
	}, ev)
	if errors.Is(err, errUnchanged) {
		if err := s.propagate(ctx, current); err != nil {
			return nil, err
		}
		return current, nil
	}
	if errors.Is(err, ErrNotFound) {
		return nil, errKeyNotFound
	}
	if err != nil {
		if _, ok := fault.As(err); ok {
			return nil, err
		}
		return nil, fmt.Errorf("update key: %w", err)
	}
	if err := s.propagate(ctx, k); err != nil {
		return nil, err
	}
	return k, nil
}

// propagate makes every gateway instance see k as stored (OnChange).
func (s *Service) propagate(ctx context.Context, k *Key) error {
	if s.cfg.OnChange == nil {
		return nil
	}
	return s.cfg.OnChange(ctx, k)
}

// event prepares the audit event of a key change (nil without a trail); the
// store sets its wallet and key and writes it in the change's transaction.
func (s *Service) event(ctx context.Context, event, actor string, details map[string]any) *audit.Event {
	if s.cfg.Audit == nil {
		return nil
	}
	return s.cfg.Audit.Prepare(ctx, audit.Event{Event: event, Actor: actor, Details: details})
}

func prefixStrings(ps []netip.Prefix) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return out
}

// ParsePermissions validates names: at least one, no unknown ones. Duplicates
// collapse; the result is in canonical order.
func ParsePermissions(names []string) ([]Permission, error) {
	if len(names) == 0 {
		return nil, fault.Invalid("permissions", "permissions must name at least one of create, execute, cancel, read")
	}
	var out []Permission
	for _, n := range names {
		p := Permission(n)
		if !slices.Contains(AllPermissions, p) {
			return nil, fault.Invalidf("permissions", "Unknown permission %q (allowed: create, execute, cancel, read)", n)
		}
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b Permission) int {
		return slices.Index(AllPermissions, a) - slices.Index(AllPermissions, b)
	})
	return out, nil
}

func (s *Service) validName(name string) (string, error) {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return "", fault.Invalid("keyName", "keyName is required")
	case !utf8.ValidString(name):
		return "", fault.Invalid("keyName", "keyName must be valid UTF-8")
	case utf8.RuneCountInString(name) > s.cfg.MaxNameLen:
		return "", fault.Invalidf("keyName", "keyName is longer than %d characters", s.cfg.MaxNameLen)
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return "", fault.Invalid("keyName", "keyName must not contain control characters")
	}
	return name, nil
}

func (s *Service) parseAllowlist(cidrs []string) ([]netip.Prefix, error) {
	if len(cidrs) > s.cfg.MaxAllowlist {
		return nil, fault.Invalidf("ipAllowlist", "ipAllowlist has more than %d entries", s.cfg.MaxAllowlist)
	}
	var out []netip.Prefix
	for _, c := range cidrs {
		p, err := parseCIDR(c)
		if err != nil {
			return nil, fault.Invalidf("ipAllowlist", "ipAllowlist entry %q is not an IP address or CIDR", c)
		}
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out, nil
}

// parseCIDR accepts "10.0.0.0/8" or a bare address (a /32 or /128).
func parseCIDR(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		return UnmapPrefix(p).Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// ValidID reports whether id has the form of a key id (a UUID in lower-case
// hex, as newKeyID makes them). Every id from a client is checked before it
// reaches a store: a NUL byte, invalid UTF-8 or a megabyte of text is "not
// found", never a database error.
func ValidID(id string) bool {
	if len(id) != 36 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
				return false
			}
		}
	}
	return true
}

// newKeyID returns a random UUIDv4 string: public, stable, unguessable.
func newKeyID() (string, error) {
	id, err := uuid.NewRandom()
	if err != nil {
		return "", fmt.Errorf("key id: %w", err)
	}
	return id.String(), nil
}

func claim(ctx context.Context, fn func(context.Context) error) error {
	if fn == nil {
		return nil
	}
	return fn(ctx)
}

func truncPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := t.UTC().Truncate(time.Microsecond)
	return &v
}
