package httpapi_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stxgate/stxgate/internal/config"
	"github.com/stxgate/stxgate/pkg/stacks"
)

// testnetWallet is w with its testnet (ST…) address: the same key, the same hash160.
func (w wallet) testnet() wallet {
	w.addr = w.key.Address(stacks.Testnet).String()
	return w
}

func onTestnet(c *config.Config) { c.Network = stacks.Testnet }

// Issue 13 item 1: a create_api_key message accepted by a testnet gateway was
// accepted again, unchanged, by a mainnet gateway with the SP address of the
// same key, and yielded a live ck_live_ key.
func TestSignedMessagesAreBoundToTheNetwork(t *testing.T) {
	testnet, mainnet := newGateway(t, onTestnet), newGateway(t)
	a := mustWallet(t, privA)
	aT := a.testnet()

	msg := fmt.Sprintf(`{"action":"create_api_key","keyName":"bot","permissions":["execute"],"network":"testnet","timestamp":%d}`, ms(-time.Second))
	onTest := aT.envelope(msg)
	r := testnet.do("POST", "/api/v1/api-keys", onTest.body(), nil)
	if r.Status != http.StatusCreated || r.json(t)["apiKey"].(string)[:8] != "ck_test_" {
		t.Fatalf("testnet create: %d %s", r.Status, r.Body)
	}

	t.Run("TestnetMessageReplayedOnMainnet401", func(t *testing.T) {
		replay := signed{Message: onTest.Message, Signature: onTest.Signature, WalletAddress: a.addr}
		expect(t, mainnet.do("POST", "/api/v1/api-keys", replay.body(), nil), 401,
			errorBody("Message is for another network", map[string]any{"messageNetwork": "testnet", "gatewayNetwork": "mainnet"}))
		expect(t, mainnet.do("GET", "/api/v1/api-keys", "", a.envelope(listMsg(ms(0))).headers()), 200, `{"apiKeys":[]}`)
	})
	t.Run("MessageWithoutNetworkOnTestnet401", func(t *testing.T) {
		// What the reference docs show, signed for mainnet: refused by testnet.
		plain := createMsg("plain", `["execute"]`, ms(-2*time.Second))
		expect(t, testnet.do("POST", "/api/v1/api-keys", aT.envelope(plain).body(), nil), 401,
			errorBody(`Message network is required on testnet ("network":"testnet")`, map[string]any{"gatewayNetwork": "testnet"}))
		// And it still works on mainnet, where "network" is optional.
		expect(t, mainnet.do("POST", "/api/v1/api-keys", a.envelope(plain).body(), nil), 201, "")
	})
	t.Run("MainnetNamedOnMainnet201", func(t *testing.T) {
		named := fmt.Sprintf(`{"action":"create_api_key","keyName":"named","permissions":["execute"],"network":"mainnet","timestamp":%d}`, ms(-3*time.Second))
		expect(t, mainnet.do("POST", "/api/v1/api-keys", a.envelope(named).body(), nil), 201, "")
	})
	t.Run("MainnetMessageOnTestnet401", func(t *testing.T) {
		named := fmt.Sprintf(`{"action":"list_api_keys","network":"mainnet","timestamp":%d}`, ms(0))
		expect(t, testnet.do("GET", "/api/v1/api-keys", "", aT.envelope(named).headers()), 401,
			errorBody("Message is for another network", map[string]any{"messageNetwork": "mainnet", "gatewayNetwork": "testnet"}))
	})
	t.Run("SignedExecuteAndCancelToo", func(t *testing.T) {
		for _, c := range []struct{ method, path, action string }{
			{"POST", "/api/v1/orders/o-1/execute", "execute_order"},
			{"PATCH", "/api/v1/orders/o-1/cancel", "cancel_order"},
		} {
			m := fmt.Sprintf(`{"action":%q,"uuid":"o-1","timestamp":%d}`, c.action, ms(0))
			expect(t, testnet.do(c.method, c.path, "", aT.envelope(m).headers()), 401,
				errorBody(`Message network is required on testnet ("network":"testnet")`, map[string]any{"gatewayNetwork": "testnet"}))
			m = fmt.Sprintf(`{"action":%q,"uuid":"o-1","network":"testnet","timestamp":%d}`, c.action, ms(0))
			expect(t, mainnet.do(c.method, c.path, "", a.envelope(m).headers()), 401,
				errorBody("Message is for another network", map[string]any{"messageNetwork": "testnet", "gatewayNetwork": "mainnet"}))
			// The right network gets as far as the order.
			m = fmt.Sprintf(`{"action":%q,"uuid":"o-1","network":"testnet","timestamp":%d}`, c.action, ms(-time.Second))
			expect(t, testnet.do(c.method, c.path, "", aT.envelope(m).headers()), 404, errorBody("Order not found", nil))
		}
	})
}

// Issue 13 item 2: with STXGATE_DOMAIN set, a message without "domain" was accepted.
func TestSignedMessagesAreBoundToTheDomain(t *testing.T) {
	g := newGateway(t, func(c *config.Config) { c.Domain = "dex.example" })
	plain := newGateway(t)
	a := mustWallet(t, privA)
	list := func(extra string) string {
		return fmt.Sprintf(`{"action":"list_api_keys",%s"timestamp":%d}`, extra, ms(0))
	}
	expect(t, g.do("GET", "/api/v1/api-keys", "", a.envelope(list("")).headers()), 401,
		errorBody("Message domain is required by this gateway", map[string]any{"gatewayDomain": "dex.example"}))
	expect(t, g.do("GET", "/api/v1/api-keys", "", a.envelope(list(`"domain":"evil.example",`)).headers()), 401,
		errorBody("Message domain does not match this gateway", map[string]any{"messageDomain": "evil.example", "gatewayDomain": "dex.example"}))
	expect(t, g.do("GET", "/api/v1/api-keys", "", a.envelope(list(`"domain":"dex.example",`)).headers()), 200, `{"apiKeys":[]}`)
	// A gateway without a domain refuses a message meant for one.
	expect(t, plain.do("GET", "/api/v1/api-keys", "", a.envelope(list(`"domain":"dex.example",`)).headers()), 401,
		errorBody("Message domain does not match this gateway", map[string]any{"messageDomain": "dex.example", "gatewayDomain": nil}))
	// Signed execute is bound too.
	exec := fmt.Sprintf(`{"action":"execute_order","uuid":"o-1","timestamp":%d}`, ms(0))
	expect(t, g.do("POST", "/api/v1/orders/o-1/execute", "", a.envelope(exec).headers()), 401,
		errorBody("Message domain is required by this gateway", map[string]any{"gatewayDomain": "dex.example"}))
}

// Issue 13 item 3: what the wallet shows is what the gateway acts on.
func TestSignedMessagesAreStrictJSON(t *testing.T) {
	g := newGateway(t)
	a := mustWallet(t, privA)
	ts := ms(-time.Second)
	cases := []struct {
		name, msg, want string
		details         map[string]any
	}{
		{"DuplicateAction400",
			fmt.Sprintf(`{"action":"list_api_keys","action":"create_api_key","keyName":"x","permissions":["execute"],"timestamp":%d}`, ts),
			"message has a duplicate key", map[string]any{"field": "message", "offset": 26, "key": "action", "path": "$"}},
		{"DuplicatePermissions400",
			fmt.Sprintf(`{"action":"create_api_key","keyName":"x","permissions":["execute"],"permissions":["create","execute","cancel"],"timestamp":%d}`, ts),
			"message has a duplicate key", map[string]any{"field": "message", "offset": 67, "key": "permissions", "path": "$"}},
		{"DuplicateNested400",
			fmt.Sprintf(`{"action":"create_api_key","keyName":"x","permissions":["execute"],"meta":{"a":1,"a":2},"timestamp":%d}`, ts),
			"message has a duplicate key", map[string]any{"field": "message", "offset": 81, "key": "a", "path": "$.meta"}},
		{"EscapedAction400",
			fmt.Sprintf(`{"action":"\u0063reate_api_key","keyName":"x","permissions":["execute"],"timestamp":%d}`, ts),
			`message must not \u-escape printable ASCII characters`, map[string]any{"field": "message", "offset": 11}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			expect(t, g.do("POST", "/api/v1/api-keys", a.envelope(c.msg).body(), nil), 400, errorBody(c.want, c.details))
		})
	}
	// Nothing was created, and non-ASCII escapes (what the SDK sends in headers) still pass.
	expect(t, g.do("GET", "/api/v1/api-keys", "", a.envelope(listMsg(ms(0))).headers()), 200, `{"apiKeys":[]}`)
	ok := fmt.Sprintf(`{"action":"create_api_key","keyName":"caf\u00e9","permissions":["execute"],"timestamp":%d}`, ms(-2*time.Second))
	r := g.do("POST", "/api/v1/api-keys", "", a.envelope(ok).headers())
	if r.Status != 201 || r.json(t)["name"] != "café" {
		t.Fatalf("escaped non-ASCII name: %d %s", r.Status, r.Body)
	}
}

func listMsg(ts int64) string { return fmt.Sprintf(`{"action":"list_api_keys","timestamp":%d}`, ts) }
