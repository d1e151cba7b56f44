package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/stxgate/stxgate/internal/config"
	"github.com/stxgate/stxgate/internal/ratelimit"
)

const operatorToken = "op_3f9a0c1d5e7b2468ace0bdf13579abcdef0123456789"

func withOperator(c *config.Config) { c.OperatorToken = operatorToken }

var operatorAuth = map[string]string{"Authorization": "Bearer " + operatorToken}

// keyViewJSON is the exact KeyView of a fresh key (no usage yet).
func keyViewJSON(id, wallet, name, prefix, status, perms string) string {
	return fmt.Sprintf(`{"id":%q,"keyId":%q,"walletAddress":%q,"name":%q,"prefix":%q,"status":%q,
		"permissions":%s,"rateLimit":100,"rateLimits":{"minute":100,"hour":1000,"day":10000},"ipAllowlist":[],
		"expiresAt":null,"createdAt":%q,"updatedAt":%q,"revokedAt":null,"lastUsedAt":null,
		"usageStats":{"totalRequests":0,"successfulRequests":0,"failedRequests":0,"creationCount":0,"executionCount":0,"cancellationCount":0},
			"rotatedFrom":null,"rotatedTo":null}`,
		id, id, wallet, name, prefix, status, perms, nowStamp, nowStamp)
}

// expectWithoutUsage is expect on a key view leaving out its usage, which
// the instances' usage recorders flush on their own schedule (a flush between
// two requests changed the counts and made the exact body flaky).
func expectWithoutUsage(t *testing.T, r response, status int, want string) {
	t.Helper()
	strip := func(body string) string {
		var v map[string]any
		if err := json.Unmarshal([]byte(body), &v); err != nil {
			t.Fatalf("%v: %s", err, body)
		}
		delete(v, "usageStats")
		delete(v, "lastUsedAt")
		return mustJSON(v)
	}
	if r.Status != status {
		t.Fatalf("status %d, want %d; body %s", r.Status, status, r.Body)
	}
	assertJSON(t, strip(r.Body), strip(want))
}

// Suspension through the operator API on one instance is refused by another
// instance on its very next request, although that one had the key cached;
// unsuspension restores it the same way.
func TestOperatorSuspendIsImmediateOnEveryInstance(t *testing.T) {
	g1 := newGateway(t, withOperator)
	g2 := g1.twin()
	a := mustWallet(t, privA)
	secret, id := g1.createKey(a, "bot", `["execute"]`)
	self := func(g *gateway) response {
		return g.do("GET", "/api/v1/api-keys/self", "", map[string]string{"X-API-Key": secret})
	}
	for range 2 { // warm g2's cache
		expect(t, self(g2), 200, "")
	}
	suspended := keyViewJSON(id, a.addr, "bot", secret[:16], "suspended", `["execute"]`)
	active := keyViewJSON(id, a.addr, "bot", secret[:16], "active", `["execute"]`)
	path := "/api/v1/admin/api-keys/" + id

	expectWithoutUsage(t, g1.do("POST", path+"/suspend", `{"reason":"leaked in a public repository"}`, operatorAuth), 200, suspended)
	inactive := errorBody("API key inactive", nil)
	expect(t, self(g2), 401, inactive)
	expect(t, self(g1), 401, inactive)
	expectWithoutUsage(t, g2.do("GET", path, "", operatorAuth), 200, suspended)
	if keys := g2.listKeys(t, a); keys[0]["status"] != "suspended" {
		t.Fatalf("owner sees status %v", keys[0]["status"])
	}
	// Suspending a suspended key is a no-op that succeeds.
	expectWithoutUsage(t, g2.do("POST", path+"/suspend", "", operatorAuth), 200, suspended)

	expectWithoutUsage(t, g2.do("POST", path+"/unsuspend", "", operatorAuth), 200, active)
	expect(t, self(g1), 200, "")
	expect(t, self(g2), 200, "")
}

func TestOperatorAPIErrors(t *testing.T) {
	g := newGateway(t, withOperator)
	a := mustWallet(t, privA)
	secret, id := g.createKey(a, "bot", `["execute"]`)
	_, revokedID := g.createKey(a, "gone", `["execute"]`)
	expect(t, g.revoke(t, a, revokedID), 200, "")
	badToken := errorBody("Invalid operator token", nil)

	cases := []struct {
		name    string
		method  string
		path    string
		body    string
		headers map[string]string
		status  int
		want    string
	}{
		{"NoToken401", "POST", "/api/v1/admin/api-keys/" + id + "/suspend", "", nil, 401, badToken},
		{"WrongToken401", "POST", "/api/v1/admin/api-keys/" + id + "/suspend", "",
			map[string]string{"Authorization": "Bearer " + operatorToken[:len(operatorToken)-1] + "x"}, 401, badToken},
		{"TokenPrefixOnly401", "POST", "/api/v1/admin/api-keys/" + id + "/suspend", "",
			map[string]string{"Authorization": "Bearer " + operatorToken[:20]}, 401, badToken},
		{"APIKeyIsNoOperatorToken401", "POST", "/api/v1/admin/api-keys/" + id + "/suspend", "",
			map[string]string{"Authorization": "Bearer " + secret}, 401, badToken},
		{"XAPIKeyIsNoOperatorToken401", "GET", "/api/v1/admin/api-keys/" + id, "",
			map[string]string{"X-API-Key": secret}, 401, badToken},
		{"TokenWithoutBearer401", "GET", "/api/v1/admin/api-keys/" + id, "",
			map[string]string{"Authorization": operatorToken}, 401, badToken},
		{"BasicScheme401", "GET", "/api/v1/admin/api-keys/" + id, "",
			map[string]string{"Authorization": "Basic " + operatorToken}, 401, badToken},
		{"UnknownKey404", "POST", "/api/v1/admin/api-keys/nope/suspend", "", operatorAuth, 404, errorBody("API key not found", nil)},
		{"UnknownKeyGet404", "GET", "/api/v1/admin/api-keys/nope", "", operatorAuth, 404, errorBody("API key not found", nil)},
		{"RevokedCannotBeUnsuspended400", "POST", "/api/v1/admin/api-keys/" + revokedID + "/unsuspend", "", operatorAuth, 400,
			errorBody("API key revoked", nil)},
		{"RevokedCannotBeSuspended400", "POST", "/api/v1/admin/api-keys/" + revokedID + "/suspend", "", operatorAuth, 400,
			errorBody("API key revoked", nil)},
		{"ReasonNotString400", "POST", "/api/v1/admin/api-keys/" + id + "/suspend", `{"reason":5}`, operatorAuth, 400,
			errorBody("reason must be a string", field("reason"))},
		{"ReasonTooLong400", "POST", "/api/v1/admin/api-keys/" + id + "/suspend", `{"reason":"` + strings.Repeat("x", 501) + `"}`, operatorAuth, 400,
			errorBody("reason is longer than 500 characters", field("reason"))},
		{"BodyNotObject400", "POST", "/api/v1/admin/api-keys/" + id + "/suspend", `["x"]`, operatorAuth, 400,
			errorBody("Request body must be a JSON object", nil)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			expect(t, g.do(tc.method, tc.path, tc.body, tc.headers), tc.status, tc.want)
		})
	}
	t.Run("NothingChangedByRefusedCalls", func(t *testing.T) {
		expect(t, g.do("GET", "/api/v1/api-keys/self", "", map[string]string{"X-API-Key": secret}), 200, "")
		status := map[any]any{}
		for _, k := range g.listKeys(t, a) {
			status[k["keyId"]] = k["status"]
		}
		if status[id] != "active" || status[revokedID] != "revoked" {
			t.Fatalf("statuses %v", status)
		}
	})
	t.Run("TokenNeverLogged", func(t *testing.T) {
		if strings.Contains(g.logs.String(), operatorToken[:20]) {
			t.Fatal("the operator token appears in the logs")
		}
	})
}

// Without STXGATE_OPERATOR_TOKEN the operator API does not exist.
func TestOperatorAPIDisabled404(t *testing.T) {
	g := newGateway(t)
	a := mustWallet(t, privA)
	secret, id := g.createKey(a, "bot", `["execute"]`)
	notFound := errorBody("Not found", nil)
	for _, auth := range []map[string]string{nil, {"Authorization": "Bearer "}, operatorAuth} {
		expect(t, g.do("POST", "/api/v1/admin/api-keys/"+id+"/suspend", "", auth), 404, notFound)
		expect(t, g.do("POST", "/api/v1/admin/api-keys/"+id+"/unsuspend", "", auth), 404, notFound)
		expect(t, g.do("GET", "/api/v1/admin/api-keys/"+id, "", auth), 404, notFound)
	}
	expect(t, g.do("GET", "/api/v1/api-keys/self", "", map[string]string{"X-API-Key": secret}), 200, "")
}

// docSQL is the SQL block of docs/operations.md after the marker
// "<!-- sql:<name>", with psql's :'key_id' and :'reason' as $1 and $2.
func docSQL(t *testing.T, name string) string {
	t.Helper()
	raw, err := os.ReadFile("../../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(raw), "<!-- sql:"+name)
	if !ok {
		t.Fatalf("docs/operations.md has no sql:%s block", name)
	}
	_, block, _ := strings.Cut(after, "```sql\n")
	block, _, _ = strings.Cut(block, "```")
	return strings.NewReplacer(":'key_id'", "$1", ":'reason'", "$2::text").Replace(block)
}

// The SQL path of docs/operations.md, as written there: it changes the key
// and records the event in one statement; instances that cached the key see
// it after the cache TTL, or at once when the generation is moved in Redis
// with the key the document names.
func TestSuspendBySQL(t *testing.T) {
	g1 := newGateway(t)
	g2 := g1.twin()
	a := mustWallet(t, privA)
	secret, id := g1.createKey(a, "bot", `["execute"]`)
	other, otherID := g1.createKey(a, "other", `["execute"]`)
	self := func(g *gateway, k string) response {
		return g.do("GET", "/api/v1/api-keys/self", "", map[string]string{"X-API-Key": k})
	}
	for _, k := range []string{secret, other} {
		expect(t, self(g2, k), 200, "") // cached on g2
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, g1.cfg.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rdb := g1.app.Redis()
	exec := func(block, keyID string, rows int64) {
		t.Helper()
		tag, err := conn.Exec(ctx, docSQL(t, block), keyID, "by hand")
		if err != nil || tag.RowsAffected() != rows {
			t.Fatalf("%s %s: %v, %d events written, want %d", block, keyID, err, tag.RowsAffected(), rows)
		}
	}
	bump := func(keyID string) {
		t.Helper()
		gen := ratelimit.NewGeneration() // a new number each time, as the document's od(1) gives
		if err := rdb.Set(ctx, g1.cfg.RedisPrefix+"{k:"+keyID+"}:gen", gen, 24*time.Hour).Err(); err != nil {
			t.Fatal(err)
		}
	}
	inactive := errorBody("API key inactive", nil)

	exec("suspend", id, 1)
	exec("suspend", id, 0)               // already suspended: no change, no event
	expect(t, self(g2, secret), 200, "") // the documented caveat: still cached
	bump(id)
	expect(t, self(g2, secret), 401, inactive)
	expect(t, self(g1, secret), 401, inactive)

	exec("suspend", otherID, 1) // no bump: refused once the cache TTL has passed
	expect(t, self(g2, other), 200, "")
	g1.clock.Set(testNow.Add(g1.cfg.KeyCacheTTL + time.Second))
	expect(t, self(g2, other), 401, `{"error":"API key inactive","code":"api_key_inactive","timestamp":"2026-11-22T12:00:31.000Z"}`)
	g1.clock.Set(testNow)

	exec("unsuspend", id, 1)
	bump(id)
	expect(t, self(g2, secret), 200, "")
	_, revokedID := g1.createKey(a, "gone", `["execute"]`)
	expect(t, g1.revoke(t, a, revokedID), 200, "")
	exec("suspend", revokedID, 0) // a revoked key stays revoked

	msg := fmt.Sprintf(`{"action":"get_api_key","keyId":%q,"timestamp":%d}`, id, ms(0))
	r := g1.do("GET", "/api/v1/api-keys/"+id+"/audit?limit=2", "", a.envelope(msg).headers())
	expect(t, r, 200, "")
	events := r.json(t)["events"].([]any)
	for i, want := range []string{"key.unsuspended", "key.suspended"} {
		e := events[i].(map[string]any)
		if e["event"] != want || e["actor"] != "operator" || mustJSON(e["details"]) != `{"reason":"by hand","via":"sql"}` ||
			e["clientIp"] != nil || e["requestId"] != nil {
			t.Fatalf("event %d: %v", i, e)
		}
	}
}
