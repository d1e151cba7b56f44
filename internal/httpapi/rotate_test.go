package httpapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stxgate/stxgate/internal/config"
)

var rotateSeq int64

// rotateMsg is a rotate_api_key message for id; extra are more fields
// (`"graceSeconds":60,`), each message unique.
func (g *gateway) rotateMsg(id, extra string) string {
	rotateSeq++
	return fmt.Sprintf(`{"action":"rotate_api_key","keyId":%q,%s"timestamp":%d}`, id, extra, g.clock.Now().UnixMilli()-rotateSeq)
}

// rotate rotates w's key id with the message's extra fields.
func (g *gateway) rotate(w wallet, id, extra string) response {
	g.t.Helper()
	return g.do("POST", "/api/v1/api-keys/"+id+"/rotate", w.envelope(g.rotateMsg(id, extra)).body(), nil)
}

// errorBodyAt is errorBody answered at gateway time at.
func errorBodyAt(text string, details map[string]any, at time.Time) string {
	return strings.Replace(errorBody(text, details), nowStamp, at.UTC().Format("2006-01-02T15:04:05.000Z"), 1)
}

// keyByID picks a key's view out of a listing.
func keyByID(keys []map[string]any, id string) map[string]any {
	for _, k := range keys {
		if k["keyId"] == id {
			return k
		}
	}
	return nil
}

func keyedSelf(g *gateway, secret string) response {
	return g.do("GET", "/api/v1/api-keys/self", "", map[string]string{"X-API-Key": secret})
}

func TestRotateKeyAnswersLikeCreate(t *testing.T) {
	g := newGateway(t)
	a := mustWallet(t, privA)
	msg := mustJSON(map[string]any{"action": "create_api_key", "keyName": "bot", "permissions": []string{"execute", "read"},
		"ipAllowlist": []string{"10.0.0.0/8", "192.0.2.1"}, "expiresAt": "2027-01-01T00:00:00Z", "timestamp": ms(-time.Second)})
	r := g.do("POST", "/api/v1/api-keys", a.envelope(msg).body(), nil)
	expect(t, r, 201, "")
	oldSecret, oldID := r.json(t)["apiKey"].(string), r.json(t)["keyId"].(string)

	g.clock.Set(testNow.Add(time.Minute))
	at := "2026-11-22T12:01:00.000Z"
	r = g.rotate(a, oldID, `"graceSeconds":600,`)
	if r.Status != http.StatusCreated {
		t.Fatalf("rotate: %d %s", r.Status, r.Body)
	}
	newSecret, newID := r.json(t)["apiKey"].(string), r.json(t)["keyId"].(string)
	if !keyPattern.MatchString(newSecret) || newSecret == oldSecret || newID == oldID {
		t.Fatalf("new key %q (%s) from %q (%s)", newSecret, newID, oldSecret, oldID)
	}
	expect(t, r, 201, fmt.Sprintf(`{"apiKey":%q,"id":%q,"keyId":%q,"walletAddress":%q,"name":"bot","prefix":%q,
		"status":"active","permissions":["execute","read"],"rateLimit":100,"rateLimits":{"minute":100,"hour":1000,"day":10000},
		"ipAllowlist":["10.0.0.0/8","192.0.2.1/32"],"expiresAt":"2027-01-01T00:00:00.000Z","createdAt":%q,"updatedAt":%q,
		"revokedAt":null,"lastUsedAt":null,
		"usageStats":{"totalRequests":0,"successfulRequests":0,"failedRequests":0,"creationCount":0,"executionCount":0,"cancellationCount":0},
		"rotatedFrom":%q,"rotatedTo":null}`, newSecret, newID, newID, a.addr, newSecret[:16], at, at, oldID))
	if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
		t.Fatalf("Cache-Control %q, want no-store", cc)
	}

	// The old key's view: its end and its successor.
	keys := g.listKeys(t, a)
	if len(keys) != 2 || keys[1]["keyId"] != newID {
		t.Fatalf("keys %v, want the old one then the new one", keys)
	}
	assertJSON(t, mustJSON(keys[0]), fmt.Sprintf(`{"id":%q,"keyId":%q,"walletAddress":%q,"name":"bot","prefix":%q,
		"status":"active","permissions":["execute","read"],"rateLimit":100,"rateLimits":{"minute":100,"hour":1000,"day":10000},
		"ipAllowlist":["10.0.0.0/8","192.0.2.1/32"],"expiresAt":"2026-11-22T12:11:00.000Z","createdAt":%q,"updatedAt":%q,
		"revokedAt":null,"lastUsedAt":null,
		"usageStats":{"totalRequests":0,"successfulRequests":0,"failedRequests":0,"creationCount":0,"executionCount":0,"cancellationCount":0},
		"rotatedFrom":null,"rotatedTo":%q}`, oldID, oldID, a.addr, oldSecret[:16], nowStamp, at, newID))

	// Both audit events, in the order of the story.
	audit := g.do("GET", "/api/v1/audit", "", a.envelope(fmt.Sprintf(`{"action":"list_audit","timestamp":%d}`, ms(time.Minute))).headers())
	expect(t, audit, 200, "")
	events := audit.json(t)["events"].([]any)
	if len(events) != 3 {
		t.Fatalf("%d events, want 3: %s", len(events), audit.Body)
	}
	created, rotated := events[0].(map[string]any), events[1].(map[string]any)
	assertJSON(t, mustJSON(rotated), fmt.Sprintf(`{"id":%v,"at":%q,"event":"key.rotated","walletAddress":%q,"keyId":%q,"orderUuid":null,
		"actor":"wallet:%s","clientIp":"192.0.2.1","requestId":%q,
		"details":{"rotatedTo":%q,"graceSeconds":600,"expiresAt":"2026-11-22T12:11:00Z"}}`,
		rotated["id"], at, a.addr, oldID, a.addr, r.Header.Get("X-Request-Id"), newID))
	assertJSON(t, mustJSON(created), fmt.Sprintf(`{"id":%v,"at":%q,"event":"key.created","walletAddress":%q,"keyId":%q,"orderUuid":null,
		"actor":"wallet:%s","clientIp":"192.0.2.1","requestId":%q,
		"details":{"rotatedFrom":%q,"name":"bot","permissions":["execute","read"],"ipAllowlist":["10.0.0.0/8","192.0.2.1/32"],
		"expiresAt":"2027-01-01T00:00:00Z"}}`,
		created["id"], at, a.addr, newID, a.addr, r.Header.Get("X-Request-Id"), oldID))
	if created["id"].(float64) != rotated["id"].(float64)+1 {
		t.Fatalf("event ids %v then %v, want consecutive", rotated["id"], created["id"])
	}
}

// Issue 18: requests with the old key succeed until the grace period ends
// and fail after with "API key inactive", on every instance — although both
// instances had the old key cached before the rotation, and no message
// tells them when the grace period ends.
func TestRotationGracePeriodEndsOnEveryInstance(t *testing.T) {
	g1 := newGateway(t)
	g2 := g1.twin() // same database, Redis prefix and clock
	a := mustWallet(t, privA)
	oldSecret, oldID := g1.createKey(a, "bot", `["execute"]`)
	for _, g := range []*gateway{g1, g2, g1, g2} { // warm both caches
		expect(t, keyedSelf(g, oldSecret), 200, "")
	}
	r := g1.rotate(a, oldID, `"graceSeconds":300,`)
	expect(t, r, 201, "")
	newSecret := r.json(t)["apiKey"].(string)

	// Within the grace period both keys work everywhere; the old key's
	// view (served from each instance's cache) shows its end.
	for _, g := range []*gateway{g2, g1} {
		old := keyedSelf(g, oldSecret)
		expect(t, old, 200, "")
		if m := old.json(t); m["expiresAt"] != "2026-11-22T12:05:00.000Z" || m["status"] != "active" || m["rotatedTo"] != r.json(t)["keyId"] {
			t.Fatalf("old key during its grace: %s", old.Body)
		}
		expect(t, keyedSelf(g, newSecret), 200, "")
	}
	last := testNow.Add(5*time.Minute - time.Millisecond)
	g1.clock.Set(last)
	for _, g := range []*gateway{g1, g2} {
		expect(t, keyedSelf(g, oldSecret), 200, "")
	}

	// The grace period is over: refused on both instances, cached or not.
	end := testNow.Add(5 * time.Minute)
	g1.clock.Set(end)
	inactive := errorBodyAt("API key inactive", nil, end)
	for _, g := range []*gateway{g2, g1} {
		expect(t, keyedSelf(g, oldSecret), 401, inactive)
		expect(t, keyedSelf(g, newSecret), 200, "")
	}
	g3 := g1.twin() // an instance that never saw the key
	expect(t, keyedSelf(g3, oldSecret), 401, inactive)
	expect(t, keyedSelf(g3, newSecret), 200, "")
	if k := keyByID(g2.listKeys(t, a), oldID); k["status"] != "expired" {
		t.Fatalf("old key status %v after its grace, want expired", k["status"])
	}
}

// With no grace (the default, or 0) the old key fails at once on every
// instance, before the rotate call has returned.
func TestRotationWithoutGraceFailsAtOnceOnEveryInstance(t *testing.T) {
	g1 := newGateway(t)
	g2 := g1.twin()
	a := mustWallet(t, privA)
	oldSecret, oldID := g1.createKey(a, "bot", `["execute"]`)
	inactive := errorBody("API key inactive", nil)
	for _, extra := range []string{"", `"graceSeconds":0,`} {
		for _, g := range []*gateway{g1, g2, g1, g2} { // warm both caches
			expect(t, keyedSelf(g, oldSecret), 200, "")
		}
		r := g2.rotate(a, oldID, extra)
		expect(t, r, 201, "")
		newSecret, newID := r.json(t)["apiKey"].(string), r.json(t)["keyId"].(string)
		for _, g := range []*gateway{g1, g2} {
			expect(t, keyedSelf(g, oldSecret), 401, inactive)
			expect(t, keyedSelf(g, newSecret), 200, "")
		}
		for _, k := range g1.listKeys(t, a) {
			if k["keyId"] == oldID && (k["status"] != "revoked" || k["revokedAt"] != nowStamp || k["expiresAt"] != nil || k["rotatedTo"] != newID) {
				t.Fatalf("old key after a rotation without grace (%q): %v", extra, k)
			}
		}
		oldSecret, oldID = newSecret, newID
	}
}

func TestRotateKeyErrors(t *testing.T) {
	g := newGateway(t, withOperator)
	a, b := mustWallet(t, privA), mustWallet(t, privB)
	secret, id := g.createKey(a, "bot", `["execute"]`)
	_, revokedID := g.createKey(a, "revoked", `["execute"]`)
	expect(t, g.revoke(t, a, revokedID), 200, "")
	_, suspendedID := g.createKey(a, "suspended", `["execute"]`)
	expect(t, g.do("POST", "/api/v1/admin/api-keys/"+suspendedID+"/suspend", "", operatorAuth), 200, "")
	expiring := mustJSON(map[string]any{"action": "create_api_key", "keyName": "short", "permissions": []string{"execute"},
		"expiresAt": testNow.Add(time.Second).UnixMilli(), "timestamp": ms(-time.Second)})
	r := g.do("POST", "/api/v1/api-keys", a.envelope(expiring).body(), nil)
	expect(t, r, 201, "")
	expiredID := r.json(t)["keyId"].(string)
	_, rotatedID := g.createKey(a, "rotated", `["execute"]`)
	r = g.rotate(a, rotatedID, `"graceSeconds":60,`)
	expect(t, r, 201, "")
	successor := r.json(t)["keyId"].(string)
	_, bID := g.createKey(b, "b's", `["execute"]`)
	grace := func(v string) string { return `"graceSeconds":` + v + `,` }
	badGrace := errorBody("message.graceSeconds must be an integer from 0 to 86400", field("message.graceSeconds"))
	unknown := "0b9a6c1e-2f3d-4e5a-8b7c-9d0e1f2a3b4c"

	cases := []struct {
		name, id, extra string
		status          int
		want            string
	}{
		{"RevokedKey400", revokedID, "", 400, errorBody("API key revoked", nil)},
		{"SuspendedKey400", suspendedID, "", 400, errorBody("API key suspended", nil)},
		{"RotatedKey409", rotatedID, "", 409, errorBody("API key already rotated", map[string]any{"rotatedTo": successor})},
		{"UnknownKey404", unknown, "", 404, errorBody("API key not found", nil)},
		{"MalformedKeyID404", "nope", "", 404, errorBody("API key not found", nil)},
		{"OtherWalletsKey404", bID, "", 404, errorBody("API key not found", nil)},
		{"NegativeGrace400", id, grace("-1"), 400, badGrace},
		{"GraceOverADay400", id, grace("86401"), 400, badGrace},
		{"FractionalGrace400", id, grace("1.5"), 400, badGrace},
		{"ExponentGrace400", id, grace("6e1"), 400, badGrace},
		{"StringGrace400", id, grace(`"60"`), 400, badGrace},
		{"NullGrace400", id, grace("null"), 400, badGrace},
		{"HugeGrace400", id, grace("99999999999999999999999"), 400, badGrace},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			expect(t, g.rotate(a, tc.id, tc.extra), tc.status, tc.want)
		})
	}
	t.Run("ExpiredKey400", func(t *testing.T) {
		g.clock.Set(testNow.Add(time.Second))
		defer g.clock.Set(testNow)
		expect(t, g.rotate(a, expiredID, ""), 400, errorBodyAt("API key expired", nil, testNow.Add(time.Second)))
	})
	t.Run("KeyIDMismatch400", func(t *testing.T) {
		msg := g.rotateMsg(revokedID, "")
		expect(t, g.do("POST", "/api/v1/api-keys/"+id+"/rotate", a.envelope(msg).body(), nil), 400,
			errorBody("message.keyId does not match the key in the URL", field("message.keyId")))
	})
	t.Run("KeyIDMissing400", func(t *testing.T) {
		msg := fmt.Sprintf(`{"action":"rotate_api_key","timestamp":%d}`, ms(-3*time.Second))
		expect(t, g.do("POST", "/api/v1/api-keys/"+id+"/rotate", a.envelope(msg).body(), nil), 400,
			errorBody("message.keyId is required", field("message.keyId")))
	})
	t.Run("WrongAction400", func(t *testing.T) {
		msg := fmt.Sprintf(`{"action":"delete_api_key","keyId":%q,"timestamp":%d}`, id, ms(-4*time.Second))
		expect(t, g.do("POST", "/api/v1/api-keys/"+id+"/rotate", a.envelope(msg).body(), nil), 400,
			errorBody(`message.action must be "rotate_api_key"`, field("message.action")))
	})
	t.Run("ReplayedMessage401", func(t *testing.T) {
		_, fresh := g.createKey(a, "fresh", `["execute"]`)
		env := a.envelope(g.rotateMsg(fresh, ""))
		expect(t, g.do("POST", "/api/v1/api-keys/"+fresh+"/rotate", env.body(), nil), 201, "")
		expect(t, g.do("POST", "/api/v1/api-keys/"+fresh+"/rotate", env.body(), nil), 401, errorBody("Message already used", nil))
	})
	t.Run("OtherWalletsSignature401", func(t *testing.T) {
		env := a.envelope(g.rotateMsg(id, ""))
		env.Signature = b.sign(env.Message)
		expect(t, g.do("POST", "/api/v1/api-keys/"+id+"/rotate", env.body(), nil), 401,
			errorBody("Invalid signature", badSignature(a.addr, b.addr)))
	})
	t.Run("APIKeyInsteadOfSignature403", func(t *testing.T) {
		expect(t, g.do("POST", "/api/v1/api-keys/"+id+"/rotate", "", map[string]string{"X-API-Key": secret}), 403,
			errorBody("Wallet signature required: API keys are not accepted here", nil))
	})
	t.Run("NothingChangedByRefusedCalls", func(t *testing.T) {
		expect(t, keyedSelf(g, secret), 200, "")
		for _, k := range g.listKeys(t, a) {
			if k["keyId"] == id && (k["rotatedTo"] != nil || k["expiresAt"] != nil || k["status"] != "active") {
				t.Fatalf("refused rotations changed the key: %v", k)
			}
		}
	})
}

// A rotation message is bound to the network and the deployment like every
// signed message (DESIGN.md round 2).
func TestRotateMessagesAreBound(t *testing.T) {
	testnet := newGateway(t, onTestnet, func(c *config.Config) { c.Domain = "dex.example" })
	a := mustWallet(t, privA)
	aT := a.testnet()
	create := fmt.Sprintf(`{"action":"create_api_key","keyName":"bot","permissions":["execute"],"network":"testnet","domain":"dex.example","timestamp":%d}`, ms(-time.Second))
	r := testnet.do("POST", "/api/v1/api-keys", aT.envelope(create).body(), nil)
	expect(t, r, 201, "")
	id := r.json(t)["keyId"].(string)
	path := "/api/v1/api-keys/" + id + "/rotate"
	msg := func(fields string) string {
		return fmt.Sprintf(`{"action":"rotate_api_key","keyId":%q,%s"timestamp":%d}`, id, fields, ms(-2*time.Second))
	}
	expect(t, testnet.do("POST", path, aT.envelope(msg(`"domain":"dex.example",`)).body(), nil), 401,
		errorBody(`Message network is required on testnet ("network":"testnet")`, map[string]any{"gatewayNetwork": "testnet"}))
	expect(t, testnet.do("POST", path, aT.envelope(msg(`"network":"mainnet","domain":"dex.example",`)).body(), nil), 401,
		errorBody("Message is for another network", map[string]any{"messageNetwork": "mainnet", "gatewayNetwork": "testnet"}))
	expect(t, testnet.do("POST", path, aT.envelope(msg(`"network":"testnet",`)).body(), nil), 401,
		errorBody("Message domain is required by this gateway", map[string]any{"gatewayDomain": "dex.example"}))
	expect(t, testnet.do("POST", path, aT.envelope(msg(`"network":"testnet","domain":"evil.example",`)).body(), nil), 401,
		errorBody("Message domain does not match this gateway", map[string]any{"messageDomain": "evil.example", "gatewayDomain": "dex.example"}))
	dup := fmt.Sprintf(`{"action":"rotate_api_key","keyId":%q,"graceSeconds":0,"graceSeconds":86400,"network":"testnet","domain":"dex.example","timestamp":%d}`, id, ms(-3*time.Second))
	expect(t, testnet.do("POST", path, aT.envelope(dup).body(), nil), 400,
		errorBody("message has a duplicate key", map[string]any{"field": "message", "offset": strings.Index(dup, `"graceSeconds":86400`), "key": "graceSeconds", "path": "$"}))
	r = testnet.do("POST", path, aT.envelope(msg(`"network":"testnet","domain":"dex.example",`)).body(), nil)
	expect(t, r, 201, "")
	if k := r.json(t)["apiKey"].(string); !strings.HasPrefix(k, "ck_test_") {
		t.Fatalf("rotated testnet key %q", k)
	}
}

// Concurrent rotations of one key, half through each of two instances: one
// wins, every other is told the key was rotated, and the wallet holds
// exactly one successor.
func TestConcurrentRotationsOneWins(t *testing.T) {
	g1 := newGateway(t, func(c *config.Config) { c.WalletLimitMinute = 1000 })
	g2 := g1.twin()
	a := mustWallet(t, privA)
	_, id := g1.createKey(a, "bot", `["execute"]`)
	const n = 16
	msgs := make([]string, n)
	for i := range msgs {
		msgs[i] = g1.rotateMsg(id, `"graceSeconds":60,`)
	}
	results := make([]response, n)
	var wg sync.WaitGroup
	for i := range n {
		g := []*gateway{g1, g2}[i%2]
		wg.Go(func() { results[i] = g.do("POST", "/api/v1/api-keys/"+id+"/rotate", a.envelope(msgs[i]).body(), nil) })
	}
	wg.Wait()
	var winner string
	for _, r := range results {
		if r.Status == 201 {
			if winner != "" {
				t.Fatalf("two rotations succeeded: %s and %s", winner, r.json(t)["keyId"])
			}
			winner = r.json(t)["keyId"].(string)
		}
	}
	if winner == "" {
		t.Fatal("no rotation succeeded")
	}
	for _, r := range results {
		if r.Status != 201 {
			expect(t, r, 409, errorBody("API key already rotated", map[string]any{"rotatedTo": winner}))
		}
	}
	if keys := g2.listKeys(t, a); len(keys) != 2 || keyByID(keys, id)["rotatedTo"] != winner || keyByID(keys, winner)["rotatedFrom"] != id {
		t.Fatalf("keys after the race: %v", keys)
	}
}

// A wallet at its active-key limit can still rotate with a grace period: a
// key on its way out does not count, and a rotation never adds a counted key.
func TestRotationAtTheKeyLimit(t *testing.T) {
	g := newGateway(t, func(c *config.Config) { c.MaxKeysPerWallet = 2 })
	a := mustWallet(t, privA)
	_, id1 := g.createKey(a, "one", `["execute"]`)
	g.createKey(a, "two", `["execute"]`)
	r := g.rotate(a, id1, `"graceSeconds":3600,`)
	expect(t, r, 201, "")
	created := g.do("POST", "/api/v1/api-keys", a.envelope(createMsg("three", `["execute"]`, ms(-time.Minute))).body(), nil)
	expect(t, created, 400, errorBody("Too many active API keys for this wallet (maximum 2)", map[string]any{"maximum": 2}))
}

// The grace period never lengthens a key's life: an expiry of its own that
// comes first stands, and the new key keeps that expiry ("same settings").
func TestRotationKeepsAnEarlierExpiry(t *testing.T) {
	g := newGateway(t)
	a := mustWallet(t, privA)
	soon := testNow.Add(2 * time.Minute)
	msg := mustJSON(map[string]any{"action": "create_api_key", "keyName": "short", "permissions": []string{"execute"},
		"expiresAt": soon.UnixMilli(), "timestamp": ms(-time.Second)})
	r := g.do("POST", "/api/v1/api-keys", a.envelope(msg).body(), nil)
	expect(t, r, 201, "")
	oldSecret, oldID := r.json(t)["apiKey"].(string), r.json(t)["keyId"].(string)
	r = g.rotate(a, oldID, `"graceSeconds":3600,`)
	expect(t, r, 201, "")
	newSecret := r.json(t)["apiKey"].(string)
	const end = "2026-11-22T12:02:00.000Z"
	if got := r.json(t)["expiresAt"]; got != end {
		t.Fatalf("new key expiresAt %v, want the old key's %s", got, end)
	}
	if got := keyByID(g.listKeys(t, a), oldID)["expiresAt"]; got != end {
		t.Fatalf("old key expiresAt %v, want its own %s (not the grace period's end)", got, end)
	}
	g.clock.Set(soon)
	for _, secret := range []string{oldSecret, newSecret} {
		expect(t, keyedSelf(g, secret), 401, errorBodyAt("API key inactive", nil, soon))
	}
}
