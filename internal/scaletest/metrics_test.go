package scaletest

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/stxgate/stxgate/internal/app"
	"github.com/stxgate/stxgate/internal/order"
	"github.com/stxgate/stxgate/internal/settlement/settlementtest"
	"github.com/stxgate/stxgate/internal/testenv"
	"github.com/stxgate/stxgate/pkg/client"
	"github.com/stxgate/stxgate/pkg/stacks"
)

// privB is Clarinet's wallet_1 key (shared/vectors).
const privB = "7287ba251d44a4d3fd9276c88ce34c5c52a038955511cccaf77e61068649c17801"

// impostor claims A's address but signs with B's key (or sends junk).
type impostor struct {
	claimed client.Signer
	signs   client.Signer
	junk    bool
}

func (i impostor) Address(n stacks.Network) string { return i.claimed.Address(n) }
func (i impostor) SignMessage(ctx context.Context, msg []byte) (string, error) {
	if i.junk {
		return "zz", nil
	}
	return i.signs.SignMessage(ctx, msg)
}
func (i impostor) SignStructured(ctx context.Context, d, m stacks.Value) (string, error) {
	return i.signs.SignStructured(ctx, d, m)
}

// TestMetricsAfterTraffic drives one in-process gateway through a known
// sequence of requests and checks every named series of /metrics exactly.
func TestMetricsAfterTraffic(t *testing.T) {
	cfg := defaultConfig(t)
	cfg.DatabaseURL = testenv.PostgresDSN(t)
	cfg.RedisURL = testenv.RedisURL(t)
	_, cfg.RedisPrefix = testenv.Redis(t)
	cfg.RateLimitMinute = 3
	cfg.MetricsPublic = true // scraped on the API listener
	settle := settlementtest.New(nil)
	g := startInProcess(t, cfg, app.Options{Settlement: settle})
	ctx := context.Background()
	a := signer(t)
	kb, err := stacks.ParsePrivateKey(privB)
	if err != nil {
		t.Fatal(err)
	}
	b := client.PrivateKeySigner{Key: kb}
	owner := g.Client(t, client.WithSigner(a))

	expectStatus := func(what string, err error, want int) {
		t.Helper()
		if st, msg := apiStatus(t, err); st != want {
			t.Fatalf("%s: %d %q, want %d", what, st, msg, want)
		}
	}
	// Wallet-signed: two keys, one forged signature, one malformed.
	bot, _, err := owner.CreateKey(ctx, client.CreateKeyRequest{Name: "bot", Permissions: []client.Permission{"execute"}})
	expectStatus("create bot", err, 200)
	trader, _, err := owner.CreateKey(ctx, client.CreateKeyRequest{Name: "trader", Permissions: []client.Permission{"create", "execute"}})
	expectStatus("create trader", err, 200)
	_, _, err = g.Client(t, client.WithSigner(impostor{claimed: a, signs: b})).CreateKey(ctx, client.CreateKeyRequest{Name: "x", Permissions: []client.Permission{"execute"}})
	expectStatus("forged create", err, http.StatusUnauthorized)
	_, _, err = g.Client(t, client.WithSigner(impostor{claimed: a, signs: b, junk: true})).CreateKey(ctx, client.CreateKeyRequest{Name: "x", Permissions: []client.Permission{"execute"}})
	expectStatus("malformed create", err, http.StatusBadRequest)

	// Keyed: limit 3 a minute, four calls.
	botc := g.Client(t, client.WithAPIKey(bot.APIKey))
	for i, want := range []int{200, 200, 200, 429} {
		_, _, err := botc.Self(ctx)
		expectStatus(fmt.Sprintf("self %d", i+1), err, want)
	}

	// Orders: a forged order signature (no key), then create, a rejected
	// settlement, a successful one.
	_, _, err = g.Client(t, client.WithSigner(impostor{claimed: a, signs: b})).CreateOrder(ctx, newOrder(t))
	expectStatus("forged order", err, http.StatusUnauthorized)
	tc := g.Client(t, client.WithAPIKey(trader.APIKey), client.WithSigner(a))
	o, _, err := tc.CreateOrder(ctx, newOrder(t))
	expectStatus("create order", err, 200)
	settle.FailNext(fmt.Errorf("%w: no liquidity", order.ErrSettlementRejected))
	_, _, err = tc.ExecuteOrder(ctx, o.UUID)
	expectStatus("rejected execute", err, http.StatusBadGateway)
	_, _, err = tc.ExecuteOrder(ctx, o.UUID)
	expectStatus("execute", err, 200)

	// A path no route matches.
	resp, err := http.Get(g.URL + "/api/v1/nope/123")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	// Redis cut off: a keyed write fails closed with 503.
	if err := g.App.Redis().Close(); err != nil {
		t.Fatal(err)
	}
	_, _, err = tc.ExecuteOrder(ctx, o.UUID)
	expectStatus("execute without Redis", err, http.StatusServiceUnavailable)

	s := scrapeMetrics(t, g.URL+"/metrics")
	self := labels{"method": "GET", "route": "/api/v1/api-keys/self"}
	exec := labels{"method": "POST", "route": "/api/v1/orders/:uuid/execute"}
	keys := labels{"method": "POST", "route": "/api/v1/api-keys"}
	tests := []struct {
		name   string
		labels labels
		want   float64
	}{
		{"stxgate_http_requests_total", with(self, "status", "200"), 3},
		{"stxgate_http_requests_total", with(self, "status", "429"), 1},
		{"stxgate_http_requests_total", with(keys, "status", "201"), 2},
		{"stxgate_http_requests_total", with(keys, "status", "401"), 1},
		{"stxgate_http_requests_total", with(keys, "status", "400"), 1},
		{"stxgate_http_requests_total", labels{"method": "POST", "route": "/api/v1/orders/new", "status": "401"}, 1},
		{"stxgate_http_requests_total", labels{"method": "POST", "route": "/api/v1/orders/new", "status": "201"}, 1},
		{"stxgate_http_requests_total", with(exec, "status", "502"), 1},
		{"stxgate_http_requests_total", with(exec, "status", "200"), 1},
		{"stxgate_http_requests_total", with(exec, "status", "503"), 1},
		{"stxgate_http_requests_total", labels{"method": "GET", "route": "unmatched", "status": "404"}, 1},
		{"stxgate_http_request_duration_seconds", self, 4},
		{"stxgate_http_request_duration_seconds", exec, 3},
		{"stxgate_http_requests_in_flight", nil, 1}, // the scrape itself

		{"stxgate_ratelimit_decisions_total", labels{"scope": "key", "decision": "allowed"}, 3 + 3},
		{"stxgate_ratelimit_decisions_total", labels{"scope": "key", "decision": "refused"}, 1},
		{"stxgate_ratelimit_decisions_total", labels{"scope": "key", "decision": "unavailable"}, 1},
		// Four key creations and the unkeyed order pass the per-IP limit, and
		// so do the six clients' reads of /api/v1/info (client.New reads the
		// network and domains once); only the two verified creations reach
		// the per-wallet one.
		{"stxgate_ratelimit_decisions_total", labels{"scope": "ip", "decision": "allowed"}, 5 + 6},
		{"stxgate_ratelimit_decisions_total", labels{"scope": "wallet", "decision": "allowed"}, 2},

		{"stxgate_signature_verifications_total", labels{"kind": "message", "result": "valid"}, 2},
		{"stxgate_signature_verifications_total", labels{"kind": "message", "result": "invalid"}, 1},
		{"stxgate_signature_verifications_total", labels{"kind": "message", "result": "malformed"}, 1},
		{"stxgate_signature_verifications_total", labels{"kind": "order", "result": "valid"}, 1},
		{"stxgate_signature_verifications_total", labels{"kind": "order", "result": "invalid"}, 1},
		{"stxgate_signature_verify_duration_seconds", labels{"kind": "message"}, 4},
		{"stxgate_signature_verify_duration_seconds", labels{"kind": "order"}, 2},

		{"stxgate_settlement_outcomes_total", labels{"settlement": "simulated", "path": "execute", "outcome": "rejected"}, 1},
		{"stxgate_settlement_outcomes_total", labels{"settlement": "simulated", "path": "execute", "outcome": "settled"}, 1},
		{"stxgate_settlement_duration_seconds", labels{"settlement": "simulated"}, 2},

		// bot: 4 lookups, trader: 4 (create, 2 executes, the 503 one); each missed once.
		{"stxgate_key_cache_lookups_total", labels{"result": "miss"}, 2},
		{"stxgate_key_cache_lookups_total", labels{"result": "hit"}, 6},
		{"stxgate_key_cache_reloads_total", nil, 0},
		{"stxgate_key_cache_entries", nil, 2},

		{"stxgate_store_errors_total", labels{"store": "redis"}, 1},
		{"stxgate_store_errors_total", labels{"store": "postgres"}, 0},
		{"stxgate_db_pool_max_connections", labels{"pool": "primary"}, -1}, // present; value checked below

		// The rejected and the successful execute each claimed once, one at
		// a time (one statement each); only the successful one was filled.
		{"stxgate_group_commit_inputs_total", labels{"batcher": "order_claims"}, 2},
		{"stxgate_group_commit_batches_total", labels{"batcher": "order_claims"}, 2},
		{"stxgate_group_commit_inputs_total", labels{"batcher": "order_fills"}, 1},
		{"stxgate_group_commit_splits_total", labels{"batcher": "order_claims"}, 0},
		{"stxgate_group_commit_splits_total", labels{"batcher": "order_fills"}, 0},
		{"stxgate_group_commit_splits_total", labels{"batcher": "limiter_checks"}, 0},
	}
	for _, tt := range tests {
		got, ok := s.value(tt.name, tt.labels)
		if !ok {
			t.Errorf("no series %s%v", tt.name, tt.labels)
			continue
		}
		if tt.want >= 0 && got != tt.want {
			t.Errorf("%s%v = %v, want %v", tt.name, tt.labels, got, tt.want)
		}
	}
	if secs := s.histogramSum("stxgate_signature_verify_duration_seconds", labels{"kind": "order"}); secs <= 0 || secs > 5 {
		t.Errorf("order signature verification took %vs in total", secs)
	}
	for _, b := range []string{"limiter_checks"} { // audit rows are written in their change's statement, not batched apart
		if v, ok := s.value("stxgate_group_commit_inputs_total", labels{"batcher": b}); !ok || v < 1 {
			t.Errorf("stxgate_group_commit_inputs_total{batcher=%q} = %v (present %v), want at least 1", b, v, ok)
		}
	}
	for _, name := range []string{"go_goroutines", "process_resident_memory_bytes", "stxgate_db_pool_connections", "stxgate_db_pool_acquires_total"} {
		if _, ok := s.value(name, nil); !ok {
			t.Errorf("no series %s", name)
		}
	}
}
