package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stxgate/stxgate/internal/testgateway"
	"github.com/stxgate/stxgate/pkg/client"
	"github.com/stxgate/stxgate/pkg/stacks"
)

const token = "test-token-0123456789"

// TestSigningServer: an authorized caller gets an order signed by the wallet
// and submitted with the create key; everyone else gets nothing signed.
func TestSigningServer(t *testing.T) {
	g := testgateway.Start(t)
	ctx := context.Background()
	k := testgateway.Key(t, testgateway.PrivA)
	wallet := g.Wallet(t, k)
	key := testgateway.NewKey(t, wallet, "signing server", "create")
	s := &Server{
		Gateway: g.Client(t, client.WithAPIKey(key.APIKey), client.WithSigner(client.PrivateKeySigner{Key: k})),
		Token:   token,
		Log:     slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	post := func(auth, body string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest("POST", srv.URL+"/api/create-order", strings.NewReader(body))
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, out
	}
	order := `{"inputToken":"` + testgateway.SBTC + `","outputToken":"` + testgateway.WSTX + `","amountIn":"1000000",` +
		`"targetPrice":"0.30","direction":"gt","conditionToken":"` + testgateway.SBTC + `","validFor":"2h"}`

	status, out := post("Bearer "+token, order)
	if status != 200 || out["success"] != true {
		t.Fatalf("create: %d %v", status, out)
	}
	created := out["order"].(map[string]any)
	uuid := created["uuid"].(string)
	o, _, err := g.Client(t).GetOrder(ctx, uuid)
	if err != nil || o.Owner != k.Address(stacks.Mainnet).String() || o.Recipient != o.Owner || o.Status != "open" ||
		o.ValidTo.Sub(o.ValidFrom).Hours() != 2 {
		t.Fatalf("order at the gateway: %+v %v", o, err)
	}
	// Dual authentication: the order was created by the key (and counted against it).
	if o, err := g.App.Orders.Get(ctx, uuid); err != nil || o.CreatedBy != "key:"+key.KeyID {
		t.Fatalf("order created by %q (%v), want the key", o.CreatedBy, err)
	}
	if err := g.App.Usage.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	got, _, err := wallet.GetKey(ctx, key.KeyID)
	if err != nil {
		t.Fatal(err)
	}
	if got.UsageStats.CreationCount != 1 || got.UsageStats.SuccessfulRequests != 1 {
		t.Fatalf("key usage after one order: %+v", got.UsageStats)
	}

	for _, tc := range []struct {
		name, auth, body string
		status           int
		errPrefix        string
	}{
		{"NoToken401", "", order, 401, "Unauthorized"},
		{"WrongToken401", "Bearer nope", order, 401, "Unauthorized"},
		{"CallerPicksOwner400", "Bearer " + token, strings.Replace(order, `{`, `{"owner":"SP000000000000000000002Q6VF78",`, 1), 400, "invalid request"},
		{"BadToken400", "Bearer " + token, strings.Replace(order, testgateway.WSTX, "not-a-principal", 1), 400, "Order creation failed: bad order"},
		{"GatewayRefuses400", "Bearer " + token, strings.Replace(order, `"0.30"`, `"-1"`, 1), 400, "Order creation failed: targetPrice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, out := post(tc.auth, tc.body)
			if msg, _ := out["error"].(string); status != tc.status || !strings.HasPrefix(msg, tc.errPrefix) {
				t.Fatalf("%d %v, want %d %q…", status, out, tc.status, tc.errPrefix)
			}
		})
	}
	page, _, err := g.Client(t).ListOrders(ctx, client.ListOrdersRequest{})
	if err != nil || len(page.Orders) != 1 {
		t.Fatalf("refused requests created orders: %+v %v", page, err)
	}
}

func TestRunChecksItsConfiguration(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	env := map[string]string{"STXGATE_PRIVATE_KEY": testgateway.PrivA, "STXGATE_API_KEY": "ck_live_x", "SIGNING_SERVER_TOKEN": "short"}
	if err := run(context.Background(), nil, func(k string) string { return env[k] }, log); err == nil || !strings.Contains(err.Error(), "SIGNING_SERVER_TOKEN") {
		t.Fatalf("short token: %v", err)
	}
	env["STXGATE_PRIVATE_KEY"] = "nope"
	if err := run(context.Background(), nil, func(k string) string { return env[k] }, log); err == nil || !strings.Contains(err.Error(), "STXGATE_PRIVATE_KEY") {
		t.Fatalf("bad private key: %v", err)
	}
}
