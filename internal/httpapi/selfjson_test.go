package httpapi

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"testing"
	"time"

	"github.com/stxgate/stxgate/internal/apikey"
	"github.com/stxgate/stxgate/internal/ratelimit"
)

// The hand-written /self answer is byte for byte what encoding/json wrote
// for SelfView (the previous answer), for keys of every shape.
func TestSelfJSONMatchesEncodingJSON(t *testing.T) {
	at := time.Date(2026, 12, 2, 10, 30, 15, 123456789, time.FixedZone("x", 3600))
	later := at.Add(90 * time.Minute)
	now := time.Date(2026, 12, 2, 11, 0, 0, 0, time.UTC)
	windows := []ratelimit.WindowState{
		{Window: ratelimit.MinuteWindow(100), Remaining: 99, Reset: now.Add(59500 * time.Millisecond)},
		{Window: ratelimit.HourWindow(1000), Remaining: 0, Reset: now.Add(time.Hour)},
		{Window: ratelimit.DayWindow(10000), Remaining: 9876, Reset: now.Add(24 * time.Hour)},
	}
	names := []string{"bench", "", `quote " and \ backslash`, "<script>&amp;</script>", "tab\tnew\nline\x01\x7f",
		"émoji 🚀 ünïcode", "line\u2028sep\u2029", "bad utf8 \xff\xfe", "nul \x00 byte"}
	for _, name := range names {
		for _, shape := range []string{"plain", "full"} {
			k := &apikey.Key{
				ID: "0c4f1c36-5a2b-4d1e-9b1c-1234567890ab", WalletAddress: "SP1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRCBGD7R",
				Name: name, Prefix: "ck_live_ab12", Permissions: []apikey.Permission{"create", "execute"},
				Limits: apikey.Limits{Minute: 100, Hour: 1000, Day: 10000}, CreatedAt: at, UpdatedAt: later,
				Usage: apikey.Usage{TotalRequests: 12, SuccessfulRequests: 10, FailedRequests: 2, ExecutionCount: 7},
			}
			ws := windows
			if shape == "full" {
				k.Permissions = nil
				k.IPAllowlist = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8::/32"), netip.MustParsePrefix("192.0.2.7/32")}
				k.ExpiresAt, k.RevokedAt, k.LastUsedAt = &later, &at, &now
				ws = append([]ratelimit.WindowState{windows[2], windows[0]}, windows[1]) // any order in, sorted out
			}
			srv := &Server{now: func() time.Time { return now }}
			var want bytes.Buffer
			if err := json.NewEncoder(&want).Encode(srv.selfView(k, ws)); err != nil {
				t.Fatal(err)
			}
			got := appendSelfJSON(nil, k, k.EffectiveStatus(now), ws)
			if !bytes.Equal(got, want.Bytes()) {
				t.Fatalf("name %q, %s:\n got %s\nwant %s", name, shape, got, want.Bytes())
			}
		}
	}
}
