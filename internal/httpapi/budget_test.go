package httpapi_test

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/stxgate/stxgate/internal/apikey"
	"github.com/stxgate/stxgate/internal/config"
)

// Issue 13 item 4b: a key's rate limit counts only requests that passed its
// IP allowlist. A thief outside the allowlist gets 403 as often as he likes
// (no rate-limit headers: he learns nothing about the owner's budget), and
// the owner, inside it, still has the whole limit: the 403s carry the
// rate-limit headers like every keyed answer, showing the budget untouched.
// Before, the thief's refused requests used up the key's minute and the
// owner got 429.
func TestRefusedByAllowlistNotCounted(t *testing.T) {
	g := newGateway(t, func(c *config.Config) { c.RateLimitMinute = 3 })
	a := mustWallet(t, privA)
	msg := fmt.Sprintf(`{"action":"create_api_key","keyName":"fenced","permissions":["execute"],"ipAllowlist":["10.0.0.0/8"],"timestamp":%d}`, ms(-time.Second))
	r := g.do("POST", "/api/v1/api-keys", a.envelope(msg).body(), nil)
	expect(t, r, 201, "")
	key := map[string]string{"X-API-Key": r.json(t)["apiKey"].(string)}
	denied := errorBody("API key not allowed from this IP address", nil)
	for i := range 10 {
		r := g.from("GET", "/api/v1/api-keys/self", "192.0.2.66:5555", nil, key)
		expect(t, r, 403, denied)
		if v := r.Header.Get("X-RateLimit-Remaining"); v != "3" {
			t.Fatalf("thief's request %d: X-RateLimit-Remaining %q, want 3 (refused requests are not counted)", i, v)
		}
	}
	for want := 2; want >= 0; want-- {
		r := g.from("GET", "/api/v1/api-keys/self", "10.1.2.3:5555", nil, key)
		expect(t, r, 200, "")
		if got := r.Header.Get("X-RateLimit-Remaining"); got != strconv.Itoa(want) {
			t.Fatalf("owner: X-RateLimit-Remaining %q, want %d (only the owner's requests count)", got, want)
		}
	}
	r = g.from("GET", "/api/v1/api-keys/self", "10.1.2.3:5555", nil, key)
	if r.Status != 429 || r.json(t)["error"] != "Rate limit exceeded" {
		t.Fatalf("owner's 4th request: %d %s; want 429 Rate limit exceeded (his own limit still holds)", r.Status, r.Body)
	}
}

// Issue 13 item 4c: after more unknown well-formed keys from one address
// than STXGATE_KEY_MISS_LIMIT_MINUTE allows, that address gets 429 for
// unknown keys, but a key that exists is still served from it — one created
// a moment ago on another instance, and one whose cache entry aged. Before,
// both got 429.
func TestExistingKeyNeverRefusedForOthersMisses(t *testing.T) {
	g := newGateway(t, func(c *config.Config) { c.KeyMissLimitMinute = 5 })
	g2 := g.twin()
	a := mustWallet(t, privA)
	const flooder = "198.51.100.9:4444"
	old, _ := g.createKey(a, "old", `["execute"]`)
	expect(t, g.from("GET", "/api/v1/api-keys/self", flooder, nil, map[string]string{"X-API-Key": old}), 200, "")

	for i := range 8 {
		s, err := apikey.NewSecret(g.cfg.Network)
		if err != nil {
			t.Fatal(err)
		}
		r := g.from("GET", "/api/v1/api-keys/self", flooder, nil, map[string]string{"X-API-Key": s.String()})
		if i < 5 {
			expect(t, r, 401, errorBody("Invalid API key", nil))
			continue
		}
		reset, _ := strconv.ParseInt(r.Header.Get("X-RateLimit-Reset"), 10, 64)
		expect(t, r, 429, fmt.Sprintf(`{"error":"Rate limit exceeded","code":"rate_limited","details":{"window":"minute","limit":5,"reset":%d},"timestamp":%q}`, reset, nowStamp))
	}

	fresh, _ := g2.createKey(a, "fresh", `["execute"]`) // on the other instance
	expect(t, g.from("GET", "/api/v1/api-keys/self", flooder, nil, map[string]string{"X-API-Key": fresh}), 200, "")

	g.clock.Set(testNow.Add(31 * time.Second)) // the old key's cache entry has aged out
	defer g.clock.Set(testNow)
	r := g.from("GET", "/api/v1/api-keys/self", flooder, nil, map[string]string{"X-API-Key": old})
	expect(t, r, 200, "")
	if r.json(t)["name"] != "old" {
		t.Fatalf("self: %s", r.Body)
	}
}
