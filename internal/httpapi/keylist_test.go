package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/stxgate/stxgate/internal/config"
)

// listedKey is one key of an expected list: what a test changes about it.
type listedKey struct {
	id, name, prefix, status, perms string
	revoked                         bool
	rotatedFrom, rotatedTo          string
}

func (k listedKey) view(wallet string) string {
	orNull := func(s string) string {
		if s == "" {
			return "null"
		}
		return fmt.Sprintf("%q", s)
	}
	revokedAt := "null"
	if k.revoked {
		revokedAt = fmt.Sprintf("%q", nowStamp)
	}
	return fmt.Sprintf(`{"id":%q,"keyId":%q,"walletAddress":%q,"name":%q,"prefix":%q,"status":%q,
		"permissions":%s,"rateLimit":100,"rateLimits":{"minute":100,"hour":1000,"day":10000},"ipAllowlist":[],
		"expiresAt":null,"createdAt":%q,"updatedAt":%q,"revokedAt":%s,"lastUsedAt":null,
		"usageStats":{"totalRequests":0,"successfulRequests":0,"failedRequests":0,"creationCount":0,"executionCount":0,"cancellationCount":0},
		"rotatedFrom":%s,"rotatedTo":%s}`,
		k.id, k.id, wallet, k.name, k.prefix, k.status, k.perms, nowStamp, nowStamp, revokedAt, orNull(k.rotatedFrom), orNull(k.rotatedTo))
}

// listBody is the exact answer listing keys (all created at the fixed test
// time: the store orders them by id).
func listBody(wallet string, keys ...listedKey) string {
	keys = slices.Clone(keys)
	slices.SortFunc(keys, func(a, b listedKey) int { return strings.Compare(a.id, b.id) })
	views := make([]string, len(keys))
	for i, k := range keys {
		views[i] = k.view(wallet)
	}
	return `{"apiKeys":[` + strings.Join(views, ",") + `]}`
}

// Each instance serves a wallet-signed list from memory while nothing in it
// changed, and every key change — create, revoke, rotate, operator suspend,
// update — made on one instance shows in the very next list on the other,
// although that one had the list cached. Lists race the revocation on the
// other instance: none that started after the revocation answered shows
// the key active.
func TestSignedListCacheFollowsEveryChangeOnEveryInstance(t *testing.T) {
	g1 := newGateway(t, withOperator, func(c *config.Config) { c.IPLimitMinute = 1_000_000 })
	g2 := g1.twin()
	a := mustWallet(t, privA)
	hdr := a.envelope(fmt.Sprintf(`{"action":"list_api_keys","timestamp":%d}`, ms(0))).headers()
	list := func(g *gateway) response { return g.do("GET", "/api/v1/api-keys", "", hdr) }

	expect(t, list(g2), 200, `{"apiKeys":[]}`)
	expect(t, list(g1), 200, `{"apiKeys":[]}`)

	secret1, id1 := g1.createKey(a, "one", `["execute"]`)
	one := listedKey{id: id1, name: "one", prefix: secret1[:16], status: "active", perms: `["execute"]`}
	for range 2 { // the second from g2's cache
		expect(t, list(g2), 200, listBody(a.addr, one))
	}

	t.Run("RevokeRacingListsOnTheOtherInstance", func(t *testing.T) {
		active, revokedBody := listBody(a.addr, one), ""
		revokedKey := one
		revokedKey.status, revokedKey.revoked = "revoked", true
		revokedBody = listBody(a.addr, revokedKey)
		var revoked atomic.Bool
		var wg sync.WaitGroup
		var mu sync.Mutex
		var failures []string
		for range 4 {
			wg.Go(func() {
				for after := 0; after < 20; {
					done := revoked.Load() // read before the request starts
					r := list(g2)
					got := canonicalJSON(t, r.Body)
					ok := r.Status == 200 && (got == canonicalJSON(t, revokedBody) || (!done && got == canonicalJSON(t, active)))
					if !ok {
						mu.Lock()
						failures = append(failures, fmt.Sprintf("revoked before the list started: %v; got %d %s", done, r.Status, r.Body))
						mu.Unlock()
						return
					}
					if done {
						after++
					}
				}
			})
		}
		expect(t, g1.revoke(t, a, id1), 200, `{"message":"API key 'one' has been revoked"}`)
		revoked.Store(true)
		wg.Wait()
		if len(failures) > 0 {
			t.Fatal(failures[0])
		}
		expect(t, list(g1), 200, revokedBody)
		one = revokedKey
	})

	secret2, id2 := g1.createKey(a, "two", `["cancel"]`)
	two := listedKey{id: id2, name: "two", prefix: secret2[:16], status: "active", perms: `["cancel"]`}
	expect(t, list(g2), 200, listBody(a.addr, one, two))
	expect(t, list(g1), 200, listBody(a.addr, one, two))

	r := g2.rotate(a, id2, "")
	expect(t, r, 201, "")
	id3, secret3 := r.json(t)["keyId"].(string), r.json(t)["apiKey"].(string)
	three := listedKey{id: id3, name: "two", prefix: secret3[:16], status: "active", perms: `["cancel"]`, rotatedFrom: id2}
	two.status, two.revoked, two.rotatedTo = "revoked", true, id3
	expect(t, list(g1), 200, listBody(a.addr, one, two, three))
	expect(t, list(g2), 200, listBody(a.addr, one, two, three))

	three.status = "suspended"
	expect(t, g1.do("POST", "/api/v1/admin/api-keys/"+id3+"/suspend", "", operatorAuth), 200, three.view(a.addr))
	expect(t, list(g2), 200, listBody(a.addr, one, two, three))
	expect(t, list(g1), 200, listBody(a.addr, one, two, three))

	upd := a.envelope(fmt.Sprintf(`{"action":"update_api_key","keyId":%q,"keyName":"renamed","timestamp":%d}`, id3, ms(-1)))
	three.name = "renamed"
	expect(t, g2.do("PATCH", "/api/v1/api-keys/"+id3, upd.body(), nil), 200, three.view(a.addr))
	expect(t, list(g1), 200, listBody(a.addr, one, two, three))
	expect(t, list(g2), 200, listBody(a.addr, one, two, three))

	t.Run("ServedFromMemoryWhileNothingChanged", func(t *testing.T) {
		// A row changed behind the gateways' back (no key change went
		// through them) is not seen: both answered from memory, without
		// reading the database.
		conn, err := pgx.Connect(context.Background(), g1.cfg.DatabaseURL)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(context.Background(), `UPDATE api_keys SET name = 'behind the back' WHERE id = $1`, id3); err != nil {
			t.Fatal(err)
		}
		expect(t, list(g1), 200, listBody(a.addr, one, two, three))
		expect(t, list(g2), 200, listBody(a.addr, one, two, three))
		// A keyed list is read from the store.
		reader, _ := g1.createKey(a, "reader", `["read"]`)
		r := g2.do("GET", "/api/v1/api-keys", "", map[string]string{"X-API-Key": reader})
		expect(t, r, 200, "")
		if !strings.Contains(r.Body, `"name":"behind the back"`) {
			t.Fatalf("keyed list did not read the store: %s", r.Body)
		}
	})
}

func canonicalJSON(t testing.TB, s string) string {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return "invalid JSON: " + s
	}
	return mustJSON(v)
}
