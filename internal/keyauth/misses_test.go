package keyauth_test

import (
	"context"
	"errors"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stxgate/stxgate/internal/apikey"
	"github.com/stxgate/stxgate/internal/fault"
	"github.com/stxgate/stxgate/internal/keyauth"
	"github.com/stxgate/stxgate/internal/ratelimit"
	"github.com/stxgate/stxgate/internal/store/memory"
	"github.com/stxgate/stxgate/pkg/stacks"
)

// countingStore counts key lookups by hash (what a random-key flood costs).
type countingStore struct {
	apikey.Store
	lookups atomic.Int32
}

func (s *countingStore) KeyByHash(ctx context.Context, h apikey.Hash) (*apikey.Key, error) {
	s.lookups.Add(1)
	return s.Store.KeyByHash(ctx, h)
}

// TestUnknownKeysLimitedPerIP: with a budget of 3 unknown keys per IP and
// minute, the 4th well-formed unknown key from an IP (or its IPv6 /64) gets
// a 429 without a store lookup; other IPs keep theirs.
func TestUnknownKeysLimitedPerIP(t *testing.T) {
	now := func() time.Time { return time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC) }
	store := &countingStore{Store: memory.New()}
	svc := apikey.NewService(store, apikey.Config{Network: stacks.Mainnet, MaxActivePerWallet: 5,
		DefaultLimits: apikey.Limits{Minute: 100, Hour: 1000, Day: 10000}}, now)
	auth := keyauth.New(svc, ratelimit.NewMemory(now), keyauth.NewCache(time.Minute, 1000, now))
	auth.SetMissLimit(3)
	random := func() string {
		s, err := apikey.NewSecret(stacks.Mainnet)
		if err != nil {
			t.Fatal(err)
		}
		return s.String()
	}
	tests := []struct {
		name, ip string
		status   int // 401 or 429
		lookups  int32
	}{
		{"First401", "192.0.2.1", 401, 1},
		{"Second401", "192.0.2.1", 401, 2},
		{"Third401", "192.0.2.1", 401, 3},
		{"Fourth429WithoutLookup", "192.0.2.1", 429, 3},
		{"Fifth429WithoutLookup", "192.0.2.1", 429, 3},
		{"OtherIP401", "192.0.2.2", 401, 4},
		{"IPv6ThreeThenLimited", "2001:db8::1", 401, 5},
		{"IPv6SameSlash64", "2001:db8::2", 401, 6},
		{"IPv6SameSlash64Third", "2001:db8::3", 401, 7},
		{"IPv6SameSlash64Fourth429", "2001:db8::4", 429, 7},
		{"IPv6OtherSlash64", "2001:db8:0:1::1", 401, 8},
		{"MalformedKeyNeverLooksUp", "192.0.2.1", 401, 8},
	}
	for _, tc := range tests {
		raw := random()
		if tc.name == "MalformedKeyNeverLooksUp" {
			raw = raw[:len(raw)-1] + "!" // checksum/charset fail: no lookup, not counted
		}
		_, err := auth.Authenticate(context.Background(), raw, netip.MustParseAddr(tc.ip), true)
		fe, _ := fault.As(err)
		var miss *keyauth.MissLimited
		switch {
		case fe == nil:
			t.Fatalf("%s: %v", tc.name, err)
		case tc.status == 401 && (fe.Kind != fault.KindUnauthenticated || fe.Public != "Invalid API key"):
			t.Fatalf("%s: %v, want 401 Invalid API key", tc.name, err)
		case tc.status == 429 && (fe.Kind != fault.KindRateLimited || !errors.As(err, &miss) || miss.Decision.Allowed):
			t.Fatalf("%s: %v, want 429 with the limiter decision", tc.name, err)
		}
		if got := store.lookups.Load(); got != tc.lookups {
			t.Fatalf("%s: %d store lookups so far, want %d", tc.name, got, tc.lookups)
		}
	}
}
