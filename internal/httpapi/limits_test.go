package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stxgate/stxgate/internal/config"
)

func limitsOf(minute, hour, day int) setupOpt {
	return func(c *config.Config) { c.RateLimitMinute, c.RateLimitHour, c.RateLimitDay = minute, hour, day }
}

func headerInt(t *testing.T, r response, name string) int64 {
	t.Helper()
	v, err := strconv.ParseInt(r.Header.Get(name), 10, 64)
	if err != nil {
		t.Fatalf("header %s = %q: %v", name, r.Header.Get(name), err)
	}
	return v
}

func TestKeyedRateLimitHeadersAnd429(t *testing.T) {
	g := newGateway(t, limitsOf(5, 1000, 10000))
	a := mustWallet(t, privA)
	secret, _ := g.createKey(a, "bot", `["execute"]`)
	self := func() response {
		return g.do("GET", "/api/v1/api-keys/self", "", map[string]string{"X-API-Key": secret})
	}

	for i := 1; i <= 5; i++ {
		r := self()
		expect(t, r, 200, "")
		now := time.Now().Unix()
		if got := headerInt(t, r, "X-RateLimit-Remaining"); got != int64(5-i) {
			t.Fatalf("request %d: X-RateLimit-Remaining %d, want %d", i, got, 5-i)
		}
		if headerInt(t, r, "X-RateLimit-Limit") != 5 || headerInt(t, r, "X-RateLimit-Window") != 60 {
			t.Fatalf("request %d: limit/window %s/%s", i, r.Header.Get("X-RateLimit-Limit"), r.Header.Get("X-RateLimit-Window"))
		}
		if reset := headerInt(t, r, "X-RateLimit-Reset"); reset <= now || reset > now+62 {
			t.Fatalf("request %d: X-RateLimit-Reset %d not inside (now, now+61] (now %d)", i, reset, now)
		}
		if got, want := r.Header.Get("RateLimit-Policy"), `"minute";q=5;w=60, "hour";q=1000;w=3600, "day";q=10000;w=86400`; got != want {
			t.Fatalf("RateLimit-Policy %q, want %q", got, want)
		}
		if r.Header.Get("Retry-After") != "" {
			t.Fatal("Retry-After on an admitted request")
		}
		// /self reports all three windows, counting this request.
		state := r.json(t)["rateLimitState"].(map[string]any)
		hour := state["hour"].(map[string]any)
		if hour["remaining"].(float64) != float64(1000-i) || hour["limit"].(float64) != 1000 || hour["window"].(float64) != 3600 {
			t.Fatalf("request %d: hour state %v", i, hour)
		}
	}
	r := self()
	if r.Status != http.StatusTooManyRequests {
		t.Fatalf("sixth request: %d %s", r.Status, r.Body)
	}
	reset := headerInt(t, r, "X-RateLimit-Reset")
	expect(t, r, 429, fmt.Sprintf(`{"error":"Rate limit exceeded","code":"rate_limited","details":{"window":"minute","limit":5,"reset":%d},"timestamp":%q}`, reset, nowStamp))
	if ra := headerInt(t, r, "Retry-After"); ra < 1 || ra > 61 {
		t.Fatalf("Retry-After %d", ra)
	}
	if headerInt(t, r, "X-RateLimit-Remaining") != 0 {
		t.Fatalf("remaining on 429: %s", r.Header.Get("X-RateLimit-Remaining"))
	}
}

func TestErrorsOnKeyedRequestsCarryHeaders(t *testing.T) {
	g := newGateway(t)
	a := mustWallet(t, privA)
	secret, id := g.createKey(a, "bot", `["execute"]`)
	if _, err := g.app.Keys.OperatorSetSuspended(context.Background(), id, true, ""); err != nil {
		t.Fatal(err)
	}
	r := g.do("GET", "/api/v1/api-keys/self", "", map[string]string{"X-API-Key": secret})
	expect(t, r, 401, errorBody("API key inactive", nil))
	// The headers show the key's budget; a request its own rules refuse
	// (inactive, outside the allowlist) is not counted (issue 13 item 4b).
	if r.Header.Get("X-RateLimit-Remaining") != "100" {
		t.Fatalf("401 of a known key: X-RateLimit-Remaining %q, want 100 (not counted)", r.Header.Get("X-RateLimit-Remaining"))
	}
}

// Two gateway instances share PostgreSQL and Redis: the very next request on
// the other instance after a revoke is refused, although it had the key cached.
func TestRevocationIsImmediateOnEveryInstance(t *testing.T) {
	g1 := newGateway(t)
	g2 := g1.twin()
	a := mustWallet(t, privA)
	secret, id := g1.createKey(a, "bot", `["execute","cancel"]`)
	hdr := map[string]string{"X-API-Key": secret}
	for range 3 { // warm g2's cache
		expect(t, g2.do("GET", "/api/v1/api-keys/self", "", hdr), 200, "")
	}
	if g2.app.Auth.Cache().Len() != 1 {
		t.Fatalf("g2 cache holds %d keys, want 1", g2.app.Auth.Cache().Len())
	}

	// An update on g1 is seen by g2 at once.
	msg := fmt.Sprintf(`{"action":"update_api_key","keyId":%q,"permissions":["execute"],"timestamp":%d}`, id, ms(-time.Second))
	expect(t, g1.do("PATCH", "/api/v1/api-keys/"+id, a.envelope(msg).body(), nil), 200, "")
	r := g2.do("GET", "/api/v1/api-keys/self", "", hdr)
	expect(t, r, 200, "")
	if perms := fmt.Sprint(r.json(t)["permissions"]); perms != "[execute]" {
		t.Fatalf("g2 sees permissions %s after the update, want [execute]", perms)
	}

	expect(t, g1.revoke(t, a, id), 200, `{"message":"API key 'bot' has been revoked"}`)
	expect(t, g2.do("GET", "/api/v1/api-keys/self", "", hdr), 401, errorBody("API key inactive", nil))
	expect(t, g1.do("GET", "/api/v1/api-keys/self", "", hdr), 401, errorBody("API key inactive", nil))
}

// 1,000 concurrent keyed requests over two instances are counted exactly.
func TestUsageCountedExactly(t *testing.T) {
	g1 := newGateway(t, limitsOf(600, 10000, 100000))
	g2 := g1.twin()
	a := mustWallet(t, privA)
	secret, id := g1.createKey(a, "bot", `["execute"]`)
	hdr := map[string]string{"X-API-Key": secret}

	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]int{}
	for i := range 1000 {
		wg.Go(func() {
			g := g1
			if i%2 == 1 {
				g = g2
			}
			r := g.do("GET", "/api/v1/api-keys/self", "", hdr)
			mu.Lock()
			codes[r.Status]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if codes[200] != 600 || codes[429] != 400 {
		t.Fatalf("answers %v, want 600×200 and 400×429 (limit 600/minute)", codes)
	}
	for _, g := range []*gateway{g1, g2} {
		if err := g.app.Usage.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	msg := fmt.Sprintf(`{"action":"get_api_key","keyId":%q,"timestamp":%d}`, id, ms(0))
	r := g1.do("GET", "/api/v1/api-keys/"+id, "", a.envelope(msg).headers())
	expect(t, r, 200, "")
	assertJSON(t, mustJSON(r.json(t)["usageStats"]),
		`{"totalRequests":1000,"successfulRequests":600,"failedRequests":400,"creationCount":0,"executionCount":0,"cancellationCount":0}`)
	if r.json(t)["lastUsedAt"] != nowStamp {
		t.Fatalf("lastUsedAt %v, want %s", r.json(t)["lastUsedAt"], nowStamp)
	}
}

func TestPreAuthIPLimit(t *testing.T) {
	g := newGateway(t, func(c *config.Config) { c.IPLimitMinute = 3 })
	a := mustWallet(t, privA)
	listMsg := fmt.Sprintf(`{"action":"list_api_keys","timestamp":%d}`, ms(0))
	for i := range 3 {
		r := g.do("GET", "/api/v1/api-keys", "", a.envelope(listMsg).headers())
		expect(t, r, 200, "")
		if got := r.Header.Get("X-RateLimit-Remaining"); got != strconv.Itoa(2-i) {
			t.Fatalf("request %d remaining %s", i, got)
		}
	}
	// The fourth is refused before its (junk) signature is even looked at.
	r := g.do("GET", "/api/v1/api-keys", "", map[string]string{"X-Message": "junk", "X-Signature": "junk", "X-Wallet-Address": a.addr})
	if r.Status != 429 || r.json(t)["error"] != "Rate limit exceeded" || r.Header.Get("Retry-After") == "" {
		t.Fatalf("fourth: %d %s", r.Status, r.Body)
	}
}

func TestWalletLimitCountsOnlyVerifiedSignatures(t *testing.T) {
	g := newGateway(t, func(c *config.Config) { c.WalletLimitMinute = 2 })
	a, b := mustWallet(t, privA), mustWallet(t, privB)
	listMsg := fmt.Sprintf(`{"action":"list_api_keys","timestamp":%d}`, ms(0))
	// Junk claiming A's address does not use up A's budget.
	for range 5 {
		bad := signed{Message: listMsg, Signature: b.sign(listMsg), WalletAddress: a.addr}
		expect(t, g.do("GET", "/api/v1/api-keys", "", bad.headers()), 401, errorBody("Invalid signature", badSignature(a.addr, b.addr)))
	}
	// One read message reused counts once (its first success).
	for range 3 {
		expect(t, g.do("GET", "/api/v1/api-keys", "", a.envelope(listMsg).headers()), 200, "")
	}
	second := fmt.Sprintf(`{"action":"list_api_keys","timestamp":%d}`, ms(-time.Millisecond))
	expect(t, g.do("GET", "/api/v1/api-keys", "", a.envelope(second).headers()), 200, "")
	third := fmt.Sprintf(`{"action":"list_api_keys","timestamp":%d}`, ms(-2*time.Millisecond))
	r := g.do("GET", "/api/v1/api-keys", "", a.envelope(third).headers())
	if r.Status != 429 {
		t.Fatalf("third fresh verified call: %d %s", r.Status, r.Body)
	}
}

func TestRedisDownFailsAsConfigured(t *testing.T) {
	g := newGateway(t)
	a := mustWallet(t, privA)
	secret, _ := g.createKey(a, "bot", `["execute"]`)
	hdr := map[string]string{"X-API-Key": secret}
	expect(t, g.do("GET", "/api/v1/api-keys/self", "", hdr), 200, "") // cached

	if err := g.app.Redis().Close(); err != nil {
		t.Fatal(err)
	}
	// keyed-read fails open: served from the cache, without limit headers.
	r := g.do("GET", "/api/v1/api-keys/self", "", hdr)
	expect(t, r, 200, "")
	if r.Header.Get("X-RateLimit-Limit") != "" {
		t.Fatal("unlimited answer carries rate-limit headers")
	}
	// signed-write always fails closed.
	r = g.do("POST", "/api/v1/api-keys", a.envelope(createMsg("x", `["execute"]`, ms(0))).body(), nil)
	expect(t, r, 503, errorBody("Service unavailable: rate limiter unreachable", nil))
	// keyed-write fails closed.
	r = g.do("POST", "/api/v1/orders/some-order/execute", "", hdr)
	expect(t, r, 503, errorBody("Service unavailable: rate limiter unreachable", nil))
	expect(t, g.do("GET", "/readyz", "", nil), 503, errorBody("Service unavailable: redis unreachable", map[string]any{"checks": map[string]any{"postgres": "ok", "redis": "unreachable"}}))
}
