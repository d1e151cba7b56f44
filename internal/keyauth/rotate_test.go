package keyauth_test

import (
	"context"
	"errors"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stxgate/stxgate/internal/apikey"
	"github.com/stxgate/stxgate/internal/ratelimit"
	"github.com/stxgate/stxgate/internal/ratelimit/redislimit"
	"github.com/stxgate/stxgate/internal/store/postgres"
	"github.com/stxgate/stxgate/internal/testenv"
)

// switchable is the real Redis limiter that can be made unreachable, as
// when Redis goes away.
type switchable struct {
	ratelimit.Limiter
	down atomic.Bool
}

func (s *switchable) Allow(ctx context.Context, subject string, p ratelimit.Policy) (ratelimit.Decision, error) {
	if s.down.Load() {
		return ratelimit.Decision{}, ratelimit.ErrUnavailable
	}
	return s.Limiter.Allow(ctx, subject, p)
}

func (s *switchable) Peek(ctx context.Context, subject string, p ratelimit.Policy) (ratelimit.Decision, error) {
	if s.down.Load() {
		return ratelimit.Decision{}, ratelimit.ErrUnavailable
	}
	return s.Limiter.Peek(ctx, subject, p)
}

// Issue 18: the end of a rotated key's grace period is a time, not a
// message: instance B, which learnt the old key's end once (the rotation
// moved its generation), refuses the key when the time comes from its cache
// alone — even with Redis unreachable and the route failing open, when no
// generation could tell it anything.
func TestRotatedKeyGraceEndsFromTheCache(t *testing.T) {
	ctx := context.Background()
	pool := testenv.MigratedPool(t)
	rdb, prefix := testenv.Redis(t)
	shared := redislimit.New(rdb, prefix)
	start := time.Now().UTC().Truncate(time.Millisecond)
	var at atomic.Int64 // the clock of both instances, set by the test
	at.Store(start.UnixNano())
	now := func() time.Time { return time.Unix(0, at.Load()).UTC() }
	bLimiter := &switchable{Limiter: shared}
	a := newKeyPath(postgres.New(pool), shared, testLimits, time.Hour, now)
	b := newKeyPath(postgres.New(pool), bLimiter, testLimits, time.Hour, now)
	ip := netip.MustParseAddr("192.0.2.7")
	const wallet = "SP10J81WVGVB3M4PHQN4Q4G0R8586TBJH948RESDR"

	old, oldSecret := a.newKey(t, wallet, "bot")
	if _, err := b.auth.Authenticate(ctx, oldSecret.String(), ip, true); err != nil {
		t.Fatalf("B before the rotation: %v", err)
	}
	next, _, newSecret, err := a.keys.Rotate(ctx, apikey.RotateInput{Wallet: wallet, ID: old.ID, Grace: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	res, err := b.auth.Authenticate(ctx, oldSecret.String(), ip, true) // the moved generation: B reads the key again
	if err != nil || res.Key.ExpiresAt == nil || !res.Key.ExpiresAt.Equal(start.Add(time.Minute)) || res.Key.RotatedTo != next.ID {
		t.Fatalf("B during the grace period: %+v, %v", res, err)
	}
	if _, err := b.auth.Authenticate(ctx, newSecret.String(), ip, true); err != nil {
		t.Fatalf("B with the new key: %v", err)
	}

	bLimiter.down.Store(true)
	at.Store(start.Add(time.Minute - time.Millisecond).UnixNano())
	if _, err := b.auth.Authenticate(ctx, oldSecret.String(), ip, true); err != nil {
		t.Fatalf("B a moment before the end, Redis down: %v", err)
	}
	at.Store(start.Add(time.Minute).UnixNano())
	for _, failOpen := range []bool{true, false} {
		if _, err := b.auth.Authenticate(ctx, oldSecret.String(), ip, failOpen); !errors.Is(err, apikey.ErrInactiveKey) {
			t.Fatalf("B at the end, Redis down (fail open %v): %v; want API key inactive", failOpen, err)
		}
	}
	if _, err := b.auth.Authenticate(ctx, newSecret.String(), ip, true); err != nil {
		t.Fatalf("B with the new key, Redis down: %v", err)
	}
}
