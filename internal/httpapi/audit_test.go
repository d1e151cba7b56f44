package httpapi_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/stxgate/stxgate/internal/settlement"
)

// event is the exact JSON of an audit event; "" renders as null.
func event(id int, name, wallet, keyID, orderUUID, actor, ip, requestID, details string) string {
	null := func(s string) string {
		if s == "" {
			return "null"
		}
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprintf(`{"id":%d,"at":%q,"event":%q,"walletAddress":%q,"keyId":%s,"orderUuid":%s,"actor":%q,"clientIp":%s,"requestId":%s,"details":%s}`,
		id, nowStamp, name, wallet, null(keyID), null(orderUUID), actor, null(ip), null(requestID), details)
}

func page(nextCursor string, events ...string) string {
	cur := "null"
	if nextCursor != "" {
		cur = fmt.Sprintf("%q", nextCursor)
	}
	return `{"events":[` + strings.Join(events, ",") + `],"nextCursor":` + cur + `}`
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func rid(id string) map[string]string { return map[string]string{"X-Request-Id": id} }

func merge(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// The whole life of a key and two orders, then the trail as the owner, the
// operator and another wallet read it. httptest requests come from 192.0.2.1.
func TestAuditTrail(t *testing.T) {
	g, _ := newOrderGateway(t, withOperator)
	a, b := mustWallet(t, privA), mustWallet(t, privB)
	const ip = "192.0.2.1"

	r := g.do("POST", "/api/v1/api-keys", a.envelope(createMsg("bot", `["create","execute","cancel"]`, ms(-time.Second))).body(), rid("req-1"))
	expect(t, r, 201, "")
	secret, id := r.json(t)["apiKey"].(string), r.json(t)["keyId"].(string)
	keyed := merge(map[string]string{"X-API-Key": secret})

	upd := fmt.Sprintf(`{"action":"update_api_key","keyId":%q,"keyName":"renamed","timestamp":%d}`, id, ms(-2*time.Second))
	expect(t, g.do("PATCH", "/api/v1/api-keys/"+id, a.envelope(upd).body(), rid("req-2")), 200, "")
	expect(t, g.createOrder(t, a.order("audit-1").body(t), merge(keyed, rid("req-3"))), 201, "")
	expect(t, g.do("POST", "/api/v1/orders/audit-1/execute", "", merge(keyed, rid("req-4"))), 200, "")
	expect(t, g.createOrder(t, a.order("audit-2").body(t), rid("req-5")), 201, "")
	cancel := fmt.Sprintf(`{"action":"cancel_order","uuid":"audit-2","timestamp":%d}`, ms(-3*time.Second))
	expect(t, g.do("PATCH", "/api/v1/orders/audit-2/cancel", "", merge(a.envelope(cancel).headers(), rid("req-6"))), 200, "")
	admin := "/api/v1/admin/api-keys/" + id
	expect(t, g.do("POST", admin+"/suspend", `{"reason":"unusual volume"}`, merge(operatorAuth, rid("req-7"))), 200, "")
	expect(t, g.do("POST", admin+"/suspend", "", operatorAuth), 200, "") // no change: no event
	expect(t, g.do("POST", admin+"/unsuspend", "", merge(operatorAuth, rid("req-8"))), 200, "")
	del := fmt.Sprintf(`{"action":"delete_api_key","keyId":%q,"timestamp":%d}`, id, ms(-4*time.Second))
	expect(t, g.do("DELETE", "/api/v1/api-keys/"+id, a.envelope(del).body(), rid("req-9")), 200, "")
	expect(t, g.revoke(t, a, id), 200, "") // revoking again: no event
	// Refused requests leave no trace.
	expect(t, g.do("POST", "/api/v1/orders/audit-1/execute", "", keyed), 401, errorBody("API key inactive", nil))
	expect(t, g.createOrder(t, with(t, a.order("audit-3").body(t), "amountIn", "2"), nil), 401, errorBody("Invalid order signature", nil))
	r = g.do("POST", "/api/v1/api-keys", b.envelope(createMsg("b's", `["execute"]`, ms(-time.Second))).body(), rid("req-10"))
	expect(t, r, 201, "")
	bID := r.json(t)["keyId"].(string)

	perms := `["create","execute","cancel"]`
	orderDetails := fmt.Sprintf(`{"inputToken":%q,"outputToken":%q,"amountIn":"1000000","targetPrice":"0.30","direction":"gt"}`, sbtc, wstx)
	ev := map[int]string{
		1: event(1, "key.created", a.addr, id, "", "wallet:"+a.addr, ip, "req-1", `{"name":"bot","permissions":`+perms+`,"ipAllowlist":[]}`),
		2: event(2, "key.updated", a.addr, id, "", "wallet:"+a.addr, ip, "req-2", `{"name":"renamed"}`),
		3: event(3, "order.created", a.addr, id, "audit-1", "key:"+id, ip, "req-3", orderDetails),
		4: event(4, "order.executed", a.addr, id, "audit-1", "key:"+id, ip, "req-4",
			fmt.Sprintf(`{"txid":%q,"settlement":"simulated"}`, settlement.SimulatedTxID("audit-1"))),
		5: event(5, "order.created", a.addr, "", "audit-2", "wallet:"+a.addr, ip, "req-5", orderDetails),
		6: event(6, "order.cancelled", a.addr, "", "audit-2", "wallet:"+a.addr, ip, "req-6", `{}`),
		// The owner does not see the operator's address.
		7: event(7, "key.suspended", a.addr, id, "", "operator", "", "req-7", `{"reason":"unusual volume"}`),
		8: event(8, "key.unsuspended", a.addr, id, "", "operator", "", "req-8", `{}`),
		9: event(9, "key.revoked", a.addr, id, "", "wallet:"+a.addr, ip, "req-9", `{}`),
	}
	listAudit := func(w wallet, query string) response {
		msg := fmt.Sprintf(`{"action":"list_audit","timestamp":%d}`, ms(0))
		return g.do("GET", "/api/v1/audit"+query, "", w.envelope(msg).headers())
	}
	keyAudit := func(w wallet, keyID, query string) response {
		msg := fmt.Sprintf(`{"action":"get_api_key","keyId":%q,"timestamp":%d}`, keyID, ms(0))
		return g.do("GET", "/api/v1/api-keys/"+keyID+"/audit"+query, "", w.envelope(msg).headers())
	}

	t.Run("WalletTrailNewestFirst200", func(t *testing.T) {
		expect(t, listAudit(a, ""), 200, page("", ev[9], ev[8], ev[7], ev[6], ev[5], ev[4], ev[3], ev[2], ev[1]))
	})
	t.Run("Pages200", func(t *testing.T) {
		cur := func(id int) string { return b64(fmt.Sprint(id)) }
		expect(t, listAudit(a, "?limit=4"), 200, page(cur(6), ev[9], ev[8], ev[7], ev[6]))
		expect(t, listAudit(a, "?limit=4&cursor="+cur(6)), 200, page(cur(2), ev[5], ev[4], ev[3], ev[2]))
		expect(t, listAudit(a, "?limit=4&cursor="+cur(2)), 200, page("", ev[1]))
	})
	t.Run("KeyTrail200", func(t *testing.T) {
		want := page("", ev[9], ev[8], ev[7], ev[4], ev[3], ev[2], ev[1])
		expect(t, keyAudit(a, id, ""), 200, want)
		listMsg := fmt.Sprintf(`{"action":"list_api_keys","timestamp":%d}`, ms(0))
		expect(t, g.do("GET", "/api/v1/api-keys/"+id+"/audit", "", a.envelope(listMsg).headers()), 200, want)
	})
	t.Run("OperatorSeesItsAddress200", func(t *testing.T) {
		r := g.do("GET", admin+"/audit?limit=2", "", operatorAuth)
		expect(t, r, 200, page(b64("8"),
			event(9, "key.revoked", a.addr, id, "", "wallet:"+a.addr, ip, "req-9", `{}`),
			event(8, "key.unsuspended", a.addr, id, "", "operator", ip, "req-8", `{}`)))
	})
	t.Run("OtherWalletSeesOnlyItsOwn200", func(t *testing.T) {
		expect(t, listAudit(b, ""), 200, page("",
			event(10, "key.created", b.addr, bID, "", "wallet:"+b.addr, ip, "req-10", `{"name":"b's","permissions":["execute"],"ipAllowlist":[]}`)))
	})
	t.Run("OtherWalletsKeyTrail404", func(t *testing.T) {
		expect(t, keyAudit(b, id, ""), 404, errorBody("API key not found", nil))
		expect(t, keyAudit(a, bID, ""), 404, errorBody("API key not found", nil))
		expect(t, keyAudit(a, "nope", ""), 404, errorBody("API key not found", nil))
	})
	t.Run("SignedByAnotherWallet401", func(t *testing.T) {
		msg := fmt.Sprintf(`{"action":"list_audit","timestamp":%d}`, ms(0))
		forged := signed{Message: msg, Signature: b.sign(msg), WalletAddress: a.addr}
		expect(t, g.do("GET", "/api/v1/audit", "", forged.headers()), 401, errorBody("Invalid signature", badSignature(a.addr, b.addr)))
	})
	t.Run("WrongAction400", func(t *testing.T) {
		msg := fmt.Sprintf(`{"action":"list_api_keys","timestamp":%d}`, ms(0))
		expect(t, g.do("GET", "/api/v1/audit", "", a.envelope(msg).headers()), 400,
			errorBody(`message.action must be "list_audit"`, field("message.action")))
	})
	t.Run("KeyIDMismatch400", func(t *testing.T) {
		msg := fmt.Sprintf(`{"action":"get_api_key","keyId":"other","timestamp":%d}`, ms(0))
		expect(t, g.do("GET", "/api/v1/api-keys/"+id+"/audit", "", a.envelope(msg).headers()), 400,
			errorBody("message.keyId does not match the key in the URL", field("message.keyId")))
	})
	t.Run("BadPaging400", func(t *testing.T) {
		expect(t, listAudit(a, "?limit=0"), 400, errorBody("limit must be an integer from 1 to 100", field("limit")))
		expect(t, listAudit(a, "?limit=101"), 400, errorBody("limit must be an integer from 1 to 100", field("limit")))
		expect(t, listAudit(a, "?cursor=%21%21"), 400, errorBody("cursor is not one this API returned", field("cursor")))
		expect(t, listAudit(a, "?cursor="+b64("-3")), 400, errorBody("cursor is not one this API returned", field("cursor")))
	})
	t.Run("TableRefusesRewrites", func(t *testing.T) {
		conn, err := pgx.Connect(context.Background(), g.cfg.DatabaseURL)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		for _, stmt := range []string{`UPDATE audit_events SET wallet = 'SPX' WHERE id = 9`, `DELETE FROM audit_events WHERE id = 9`} {
			if _, err := conn.Exec(context.Background(), stmt); err == nil || !strings.Contains(err.Error(), "append-only") {
				t.Fatalf("%s: %v", stmt, err)
			}
		}
	})
}

// An execution finished by reconciliation is recorded too, under the actor
// that asked for it, outside any request.
func TestAuditReconciledExecution(t *testing.T) {
	g, sim := newOrderGateway(t)
	a := mustWallet(t, privA)
	secret, id := g.createKey(a, "bot", `["execute"]`)
	g.createOpen(t, a, "audit-rec")
	var once sync.Once
	sim.AfterSettle = func(string, string) (err error) {
		once.Do(func() { err = errors.New("connection lost after settlement") })
		return err
	}
	expect(t, g.do("POST", "/api/v1/orders/audit-rec/execute", "", map[string]string{"X-API-Key": secret}), 502, "")
	if filled, _, err := g.app.Orders.Reconcile(context.Background(), 0); err != nil || filled != 1 {
		t.Fatalf("reconcile: %d %v", filled, err)
	}
	msg := fmt.Sprintf(`{"action":"list_audit","timestamp":%d}`, ms(0))
	r := g.do("GET", "/api/v1/audit?limit=1", "", a.envelope(msg).headers())
	expect(t, r, 200, page(b64("3"),
		event(3, "order.executed", a.addr, id, "audit-rec", "key:"+id, "", "",
			fmt.Sprintf(`{"txid":%q,"settlement":"simulated","reconciled":true}`, settlement.SimulatedTxID("audit-rec")))))
}

// Issue 13 item 11: the audit row is written in the change's transaction.
// When the trail cannot be written the change is not stored either: the
// create answers 500 and the wallet has no key (before, the key was kept
// and the event only logged).
func TestAuditWriteFailureStoresNoChange(t *testing.T) {
	g := newGateway(t)
	a := mustWallet(t, privA)
	conn, err := pgx.Connect(context.Background(), g.cfg.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), `ALTER TABLE audit_events RENAME TO audit_events_away`); err != nil {
		t.Fatal(err)
	}
	r := g.do("POST", "/api/v1/api-keys", a.envelope(createMsg("bot", `["execute"]`, ms(-time.Second))).body(), rid("req-lost"))
	if r.Status != 500 || r.json(t)["error"] != "Internal server error" {
		t.Fatalf("create with the trail unwritable: %d %s; want 500 Internal server error", r.Status, r.Body)
	}
	if _, err := conn.Exec(context.Background(), `ALTER TABLE audit_events_away RENAME TO audit_events`); err != nil {
		t.Fatal(err)
	}
	if keys := g.listKeys(t, a); len(keys) != 0 {
		t.Fatalf("the key was stored without its event: %v", keys)
	}
}
