package keyauth

import (
	"context"
	"net/netip"

	"github.com/stxgate/stxgate/internal/apikey"
	"github.com/stxgate/stxgate/internal/fault"
	"github.com/stxgate/stxgate/internal/ratelimit"
)

// Unknown keys cost no database read (known.go), but each is a signature-
// free request an attacker can send in bulk. SetMissLimit bounds them per
// client IP (IPv6 per /64) and minute: past the limit an unknown key gets
// 429 instead of 401. Only keys that do not exist are counted or refused: a
// key that exists is looked up whatever its address sent before. If the
// limiter is unreachable the count is skipped (the answer stays 401).

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

// unknown is the answer to a well-formed key that does not exist: 401, or
// 429 once the client IP is over its budget of unknown keys.
func (a *Authenticator) unknown(ctx context.Context, ip netip.Addr) error {
	if a.missPolicy == nil || !ip.IsValid() {
		return apikey.ErrInvalidKey
	}
	d, err := a.limiter.Allow(ctx, missSubject(ip), a.missPolicy)
	if err != nil || d.Allowed {
		return apikey.ErrInvalidKey
	}
	tw := d.Tightest()
	return (&fault.Error{Kind: fault.KindRateLimited, Public: "Rate limit exceeded", Err: &MissLimited{Decision: d}}).
		WithDetails(map[string]any{"window": tw.Name, "limit": tw.Limit, "reset": (tw.Reset.UnixMilli() + 999) / 1000})
}
