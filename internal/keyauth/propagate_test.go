package keyauth_test

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/stxgate/stxgate/internal/apikey"
	"github.com/stxgate/stxgate/internal/fault"
	"github.com/stxgate/stxgate/internal/keyauth"
	"github.com/stxgate/stxgate/internal/ratelimit/redislimit"
	"github.com/stxgate/stxgate/internal/store/postgres"
	"github.com/stxgate/stxgate/internal/testenv"
)

// Issue 13 item 6: a revoke (or suspend) whose generation bump failed
// answers 503; its retry finds the row already changed and must still
// propagate, so the other instance stops accepting the key at once (before,
// the retry answered 200 and bumped nothing: instance B served the key from
// its cache until the TTL).
func TestRetriedRevokeAndSuspendPropagate(t *testing.T) {
	ctx := context.Background()
	pool := testenv.MigratedPool(t)
	rdb, prefix := testenv.Redis(t)
	shared := redislimit.New(rdb, prefix)
	flaky := &failingBumps{Limiter: shared}
	a := newKeyPath(postgres.New(pool), flaky, testLimits, keyauth.DefaultTTL, time.Now)
	b := newKeyPath(postgres.New(pool), shared, testLimits, keyauth.DefaultTTL, time.Now)
	ip := netip.MustParseAddr("192.0.2.7")
	const wallet = "SP10J81WVGVB3M4PHQN4Q4G0R8586TBJH948RESDR"

	tests := []struct {
		name   string
		change func(id string) (*apikey.Key, error)
		status apikey.Status
	}{
		{"Revoke", func(id string) (*apikey.Key, error) { return a.keys.Revoke(ctx, wallet, id, nil) }, apikey.StatusRevoked},
		{"Suspend", func(id string) (*apikey.Key, error) { return a.keys.OperatorSetSuspended(ctx, id, true, "") }, apikey.StatusSuspended},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k, secret := a.newKey(t, wallet, tc.name)
			if _, err := b.auth.Authenticate(ctx, secret.String(), ip, false); err != nil { // B caches the key
				t.Fatalf("instance B before the change: %v", err)
			}

			flaky.fail.Store(1)
			_, err := tc.change(k.ID)
			fe, _ := fault.As(err)
			if fe == nil || fe.Kind != fault.KindUnavailable || fe.Public != "Service unavailable: could not propagate the key change" {
				t.Fatalf("change with the bump failing: %v; want 503 could not propagate the key change", err)
			}
			if _, err := b.auth.Authenticate(ctx, secret.String(), ip, false); err != nil {
				t.Fatalf("instance B after the failed propagation: %v (its cache still holds the key, as expected)", err)
			}

			got, err := tc.change(k.ID) // the client retries
			if err != nil {
				t.Fatalf("retry: %v", err)
			}
			if got.Status != tc.status {
				t.Fatalf("retry returned status %s, want %s", got.Status, tc.status)
			}
			_, err = b.auth.Authenticate(ctx, secret.String(), ip, false)
			if fe, _ := fault.As(err); fe == nil || fe.Kind != fault.KindUnauthenticated || !errors.Is(err, apikey.ErrInactiveKey) {
				t.Fatalf("instance B after the retry: %v; want 401 API key inactive", err)
			}
		})
	}
}
