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
	"github.com/stxgate/stxgate/internal/ratelimit"
	"github.com/stxgate/stxgate/internal/store/memory"
	"github.com/stxgate/stxgate/pkg/stacks"
)

// TestUnknownKeysLimitedPerIP: unknown well-formed keys never reach the
// store (the known set answers); with a budget of 3 per IP and minute, the
// 4th from an IP (or its IPv6 /64) gets a 429; other IPs keep theirs; and a
// key that exists is served from that very IP, its cache entry aged or not
// (issue 13 item 4c: before, once over the budget, an uncached real key got
// 429 too).
func TestUnknownKeysLimitedPerIP(t *testing.T) {
	clock := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	now := func() time.Time { return clock }
	store := &countingStore{Store: memory.New()}
	p := newKeyPath(store, ratelimit.NewMemory(now), testLimits, 30*time.Second, now)
	auth := p.auth
	auth.SetMissLimit(3)
	_, real := p.newKey(t, "SP1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRCBGD7R", "real")
	random := func() string {
		s, err := apikey.NewSecret(stacks.Mainnet)
		if err != nil {
			t.Fatal(err)
		}
		return s.String()
	}
	tests := []struct {
		name, ip string
		key      string // "" for a fresh random key
		age      time.Duration
		status   int // 200, 401 or 429
		lookups  int32
	}{
		{"RealKeyCached200", "192.0.2.1", real.String(), 0, 200, 1},
		{"First401", "192.0.2.1", "", 0, 401, 1},
		{"Second401", "192.0.2.1", "", 0, 401, 1},
		{"Third401", "192.0.2.1", "", 0, 401, 1},
		{"Fourth429", "192.0.2.1", "", 0, 429, 1},
		{"Fifth429", "192.0.2.1", "", 0, 429, 1},
		{"RealKeyFromFloodedIPCacheAged200", "192.0.2.1", real.String(), 31 * time.Second, 200, 2},
		{"OtherIP401", "192.0.2.2", "", 0, 401, 2},
		{"IPv6ThreeThenLimited", "2001:db8::1", "", 0, 401, 2},
		{"IPv6SameSlash64", "2001:db8::2", "", 0, 401, 2},
		{"IPv6SameSlash64Third", "2001:db8::3", "", 0, 401, 2},
		{"IPv6SameSlash64Fourth429", "2001:db8::4", "", 0, 429, 2},
		{"IPv6OtherSlash64", "2001:db8:0:1::1", "", 0, 401, 2},
		{"MalformedKeyNeverCounted", "192.0.2.2", "malformed", 0, 401, 2},
	}
	for _, tc := range tests {
		clock = clock.Add(tc.age)
		raw := tc.key
		switch raw {
		case "":
			raw = random()
		case "malformed":
			raw = random()
			raw = raw[:len(raw)-1] + "!" // checksum/charset fail: not counted
		}
		_, err := auth.Authenticate(context.Background(), raw, netip.MustParseAddr(tc.ip), true)
		fe, _ := fault.As(err)
		var miss *keyauth.MissLimited
		switch {
		case tc.status == 200 && err != nil:
			t.Fatalf("%s: %v, want the key served", tc.name, err)
		case tc.status == 200:
		case fe == nil:
			t.Fatalf("%s: %v", tc.name, err)
		case tc.status == 401 && (fe.Kind != fault.KindUnauthenticated || fe.Public != "Invalid API key"):
			t.Fatalf("%s: %v, want 401 Invalid API key", tc.name, err)
		case tc.status == 429 && (fe.Kind != fault.KindRateLimited || !errors.As(err, &miss) || miss.Decision.Allowed):
			t.Fatalf("%s: %v, want 429 with the limiter decision", tc.name, err)
		}
		if got := store.lookups.Load(); got != tc.lookups {
			t.Fatalf("%s: %d store lookups so far, want %d (unknown keys never reach the store)", tc.name, got, tc.lookups)
		}
	}
}
