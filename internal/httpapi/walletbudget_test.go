package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// Issue 13 item 4a: replaying a used message or an already-created signed
// order 60 times made the owner's next signed delete_api_key answer 429.
// Now only fresh, accepted messages count against a wallet, and a revocation
// is never refused by the wallet limit.
func TestNobodyButTheOwnerSpendsTheWalletBudget(t *testing.T) {
	g, _ := newOrderGateway(t) // wallet limit: 60 a minute
	a := mustWallet(t, privA)
	_, keyID := g.createKey(a, "bot", `["execute"]`)     // 1
	_, spareID := g.createKey(a, "spare", `["execute"]`) // 2
	used := a.envelope(createMsg("used", `["execute"]`, ms(-2*time.Second)))
	expect(t, g.do("POST", "/api/v1/api-keys", used.body(), nil), 201, "") // 3
	o := g.createOpen(t, a, "budget-1")                                    // 4: an unkeyed order is signed by the wallet

	// 140 replays racing on two gateway instances.
	twin := g.twin()
	var (
		mu      sync.Mutex
		answers = map[string]int{}
		wg      sync.WaitGroup
	)
	orderBody := o.body(t)
	for range 35 {
		for _, gw := range []*gateway{g, twin} {
			wg.Go(func() {
				r := gw.do("POST", "/api/v1/api-keys", used.body(), nil)
				mu.Lock()
				answers[fmt.Sprint(r.Status, " ", r.json(t)["error"])]++
				mu.Unlock()
			})
			wg.Go(func() {
				r := gw.do("POST", "/api/v1/orders/new", orderBody, nil)
				mu.Lock()
				answers[fmt.Sprint(r.Status, " ", r.json(t)["error"])]++
				mu.Unlock()
			})
		}
	}
	wg.Wait()
	if want := map[string]int{"401 Message already used": 70, "409 Duplicate order uuid": 70}; fmt.Sprint(answers) != fmt.Sprint(want) {
		t.Fatalf("replays answered %v, want %v", answers, want)
	}
	// Refused requests of the owner's own do not count either.
	for i := range 5 {
		bad := createMsg("bad", `["admin"]`, ms(-time.Duration(10+i)*time.Millisecond))
		expect(t, g.do("POST", "/api/v1/api-keys", a.envelope(bad).body(), nil), 400,
			errorBody(`Unknown permission "admin" (allowed: create, execute, cancel, read)`, field("permissions")))
	}

	del := a.envelope(fmt.Sprintf(`{"action":"delete_api_key","keyId":%q,"timestamp":%d}`, keyID, ms(0)))
	expect(t, g.do("DELETE", "/api/v1/api-keys/"+keyID, del.body(), nil), 200, `{"message":"API key 'bot' has been revoked"}`) // 5

	// The replays cost nothing: 55 fresh calls are left of 60, then 429.
	for i := range 55 {
		msg := fmt.Sprintf(`{"action":"list_api_keys","timestamp":%d}`, ms(-time.Duration(100+i)*time.Millisecond))
		r := g.do("GET", "/api/v1/api-keys", "", a.envelope(msg).headers())
		if r.Status != http.StatusOK {
			t.Fatalf("fresh call %d: %d %s", i+6, r.Status, r.Body)
		}
	}
	over := a.envelope(createMsg("over", `["execute"]`, ms(-time.Second)))
	r := g.do("POST", "/api/v1/api-keys", over.body(), nil)
	if r.Status != http.StatusTooManyRequests || r.json(t)["error"] != "Rate limit exceeded" {
		t.Fatalf("61st fresh call: %d %s", r.Status, r.Body)
	}
	// Even with the budget spent by the owner, a revocation goes through.
	del = a.envelope(fmt.Sprintf(`{"action":"delete_api_key","keyId":%q,"timestamp":%d}`, spareID, ms(0)))
	expect(t, g.do("DELETE", "/api/v1/api-keys/"+spareID, del.body(), nil), 200, `{"message":"API key 'spare' has been revoked"}`)
}

// Issue 13 item 5: a NUL byte in a keyId (path or signed message) answered
// 500 from PostgreSQL, after the DELETE had spent the message. Every id is
// checked before any store call, and a request that fails on its id spends
// nothing.
func TestBadIDsAreNotFoundNever500(t *testing.T) {
	g, _ := newOrderGateway(t)
	a := mustWallet(t, privA)
	execKey, keyID := g.createKey(a, "bot", `["execute","cancel"]`)
	g.createOpen(t, a, "ids-1")
	keyed := map[string]string{"X-API-Key": execKey}
	jsonString := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	signedFor := func(action, field, id string, ts time.Duration) signed {
		return a.envelope(fmt.Sprintf(`{"action":%q,%q:%s,"timestamp":%d}`, action, field, jsonString(id), ms(ts)))
	}
	keyGone := errorBody("API key not found", nil)
	orderGone := errorBody("Order not found", nil)

	// Ids a message can carry exactly as the path does. An upper-case key id
	// is not a key id; it is a well-formed order uuid (of no order), so only
	// the key routes are asked about it.
	for name, id := range map[string]string{
		"NUL":       "\x00",
		"NULInside": keyID[:10] + "\x00" + keyID[11:],
		"Long":      strings.Repeat("a", 3000),
		"UpperCase": strings.ToUpper(keyID),
	} {
		orderRoutes := name != "UpperCase"
		t.Run(name, func(t *testing.T) {
			path := strings.ReplaceAll(id, "\x00", "%00")
			get := signedFor("get_api_key", "keyId", id, 0)
			expect(t, g.do("GET", "/api/v1/api-keys/"+path, "", get.headers()), 404, keyGone)
			expect(t, g.do("GET", "/api/v1/api-keys/"+path+"/audit", "", get.headers()), 404, keyGone)
			for range 2 { // the second answer is the same: the first spent nothing
				upd := a.envelope(fmt.Sprintf(`{"action":"update_api_key","keyId":%s,"keyName":"x","timestamp":%d}`, jsonString(id), ms(-time.Second)))
				expect(t, g.do("PATCH", "/api/v1/api-keys/"+path, upd.body(), nil), 404, keyGone)
				del := signedFor("delete_api_key", "keyId", id, -time.Second)
				expect(t, g.do("DELETE", "/api/v1/api-keys/"+path, del.body(), nil), 404, keyGone)
				if orderRoutes {
					exec := signedFor("execute_order", "uuid", id, -time.Second)
					expect(t, g.do("POST", "/api/v1/orders/"+path+"/execute", "", exec.headers()), 404, orderGone)
					cancel := signedFor("cancel_order", "uuid", id, -time.Second)
					expect(t, g.do("PATCH", "/api/v1/orders/"+path+"/cancel", "", cancel.headers()), 404, orderGone)
				}
			}
			if orderRoutes {
				expect(t, g.do("POST", "/api/v1/orders/"+path+"/execute", "", keyed), 404, orderGone)
				expect(t, g.do("GET", "/api/v1/orders/"+path, "", nil), 404, orderGone)
			}
		})
	}
	// Invalid UTF-8 in the path: a message cannot carry those bytes (strict
	// JSON), so a read by list_api_keys shows the store is never asked.
	t.Run("InvalidUTF8", func(t *testing.T) {
		list := a.envelope(listMsg(ms(0)))
		expect(t, g.do("GET", "/api/v1/api-keys/%ff%fe", "", list.headers()), 404, keyGone)
		expect(t, g.do("GET", "/api/v1/api-keys/%c3%28/audit", "", list.headers()), 404, keyGone)
		expect(t, g.do("POST", "/api/v1/orders/%ff/execute", "", keyed), 404, orderGone)
		expect(t, g.do("GET", "/api/v1/orders/%ff", "", nil), 404, orderGone)
	})

	// A valid message sent with a bad id in the URL is refused and not spent.
	t.Run("MessageSurvivesABadURL", func(t *testing.T) {
		del := signedFor("delete_api_key", "keyId", keyID, -2*time.Second)
		expect(t, g.do("DELETE", "/api/v1/api-keys/"+keyID+"%00", del.body(), nil), 400,
			errorBody("message.keyId does not match the key in the URL", field("message.keyId")))
		exec := signedFor("execute_order", "uuid", "ids-1", -2*time.Second)
		expect(t, g.do("POST", "/api/v1/orders/ids-1%00/execute", "", exec.headers()), 400,
			errorBody("message.uuid does not match the order in the URL", field("message.uuid")))
		expect(t, g.do("POST", "/api/v1/orders/ids-1/execute", "", exec.headers()), 200, "")
		expect(t, g.do("DELETE", "/api/v1/api-keys/"+keyID, del.body(), nil), 200, `{"message":"API key 'bot' has been revoked"}`)
	})
	if strings.Contains(g.logs.String(), `"status":500`) || strings.Contains(g.logs.String(), `"level":"ERROR"`) {
		t.Fatalf("a bad id reached a store:\n%s", g.logs.String())
	}
}

// Issue 16 item 4: a wallet-signed read naming its wallet in
// X-Wallet-Address reads the wallet's budget in the round trip of its per-IP
// limit; only its first success adds a second: the count, which sets the
// message's marker in the same script call (AllowOnce). A replay of the same
// read is one limiter round trip: the instance remembers that the message was
// counted. Round trips are the limiter's and the
// replay store's pipelines, counted one request at a time.
func TestSignedReadLimitRoundTrips(t *testing.T) {
	g := newGateway(t)
	a := mustWallet(t, privA)
	pipelines := func(batcher string) float64 {
		t.Helper()
		fams, err := g.app.Metrics.Registry().Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fams {
			if f.GetName() != "stxgate_group_commit_batches_total" {
				continue
			}
			for _, m := range f.GetMetric() {
				for _, l := range m.GetLabel() {
					if l.GetName() == "batcher" && l.GetValue() == batcher {
						return m.GetCounter().GetValue()
					}
				}
			}
		}
		t.Fatalf("no stxgate_group_commit_batches_total{batcher=%q}", batcher)
		return 0
	}
	list := a.envelope(fmt.Sprintf(`{"action":"list_api_keys","timestamp":%d}`, ms(-time.Second))).headers()
	for i, want := range []struct {
		limiter, replay float64
		remaining       string
	}{
		{2, 0, "59"}, // the IP limit with the wallet's budget read, then the count (marker and count in one script call)
		{1, 0, "58"}, // a replay: the IP limit with the budget read, not counted again (the header counts the request, as every answer does)
		{1, 0, "58"}, // and the instance remembers the message was counted: no replay-store round trip either
	} {
		lim, rep := pipelines("limiter_checks"), pipelines("replay_claims")
		r := g.do("GET", "/api/v1/api-keys", "", list)
		expect(t, r, 200, "")
		if got := r.Header.Get("X-RateLimit-Remaining"); got != want.remaining {
			t.Fatalf("request %d: X-RateLimit-Remaining %q, want %s", i, got, want.remaining)
		}
		if d := pipelines("limiter_checks") - lim; d != want.limiter {
			t.Fatalf("request %d: %v limiter round trips, want %v", i, d, want.limiter)
		}
		if d := pipelines("replay_claims") - rep; d != want.replay {
			t.Fatalf("request %d: %v replay-store round trips, want %v", i, d, want.replay)
		}
	}
}
