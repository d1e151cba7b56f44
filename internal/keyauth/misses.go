package keyauth

import (
	"context"
	"errors"
	"net/netip"

	"github.com/stxgate/stxgate/internal/apikey"
	"github.com/stxgate/stxgate/internal/fault"
	"github.com/stxgate/stxgate/internal/ratelimit"
)

// A key with a valid checksum that is not in the cache costs a database
// lookup. The checksum is public (CRC-32), so anyone can mint well-formed
// random keys: without a bound, a flood of them is a flood of PostgreSQL
// queries. SetMissLimit bounds the lookups that found nothing, per client IP
// (IPv6 per /64) and minute; once over it, the IP's uncached keys get 429
// before any lookup. Known keys never count, and cached keys are never
// refused. If the limiter is unreachable the check is skipped: the route's
// own Redis-down rule decides.

// MissLimited is the cause of a 429 for too many unknown keys; httpapi
// reads its decision for the rate-limit headers.
type MissLimited struct{ Decision ratelimit.Decision }

func (e *MissLimited) Error() string { return "too many unknown API keys from this client address" }

// SetMissLimit sets the unknown-key lookups allowed per client IP and
// minute (0: no limit). Call before serving.
func (a *Authenticator) SetMissLimit(perMinute int) {
	a.missPolicy = nil
	if perMinute > 0 {
		a.missPolicy = ratelimit.Policy{ratelimit.MinuteWindow(perMinute)}
	}
}

func missSubject(ip netip.Addr) string { return ratelimit.IPSubject("ip:kf", ip) }

// checkMisses refuses an uncached key from an IP over its unknown-key budget.
func (a *Authenticator) checkMisses(ctx context.Context, ip netip.Addr) error {
	if a.missPolicy == nil || !ip.IsValid() {
		return nil
	}
	d, err := a.limiter.Peek(ctx, missSubject(ip), a.missPolicy)
	if err != nil || d.Allowed {
		return nil
	}
	tw := d.Tightest()
	return (&fault.Error{Kind: fault.KindRateLimited, Public: "Rate limit exceeded", Err: &MissLimited{Decision: d}}).
		WithDetails(map[string]any{"window": tw.Name, "limit": tw.Limit, "reset": (tw.Reset.UnixMilli() + 999) / 1000})
}

// countMiss records a lookup that found no key.
func (a *Authenticator) countMiss(ctx context.Context, ip netip.Addr, err error) {
	if a.missPolicy == nil || !ip.IsValid() || !errors.Is(err, apikey.ErrInvalidKey) {
		return
	}
	_, _ = a.limiter.Allow(ctx, missSubject(ip), a.missPolicy)
}
