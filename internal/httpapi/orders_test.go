package httpapi_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/stxgate/stxgate/internal/app"
	"github.com/stxgate/stxgate/internal/config"
	"github.com/stxgate/stxgate/internal/order"
	"github.com/stxgate/stxgate/internal/settlement"
	"github.com/stxgate/stxgate/internal/settlement/settlementtest"
	"github.com/stxgate/stxgate/internal/testenv"
	"github.com/stxgate/stxgate/pkg/ordersig"
	"github.com/stxgate/stxgate/pkg/stacks"
	"github.com/stxgate/stxgate/pkg/vectors"
)

const (
	sbtc = "SM3VDXK3WZZSA84XXFKAFAF15NNZX32CTSG82JFQ4.sbtc-token"
	wstx = "SP102V8P0F7JX67ARQ77WEA3D3CFB5XW39REDT0AM.token-wstx"
)

// newOrderGateway is a gateway whose simulated settlement the test can steer.
func newOrderGateway(t *testing.T, opts ...setupOpt) (*gateway, *settlementtest.Recorder) {
	t.Helper()
	sim := settlementtest.New(nil)
	_, prefix := testenv.Redis(t)
	cfg, err := config.Load(nil, func(string) string { return "" }, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.DatabaseURL, cfg.RedisURL, cfg.RedisPrefix = testenv.PostgresDSN(t), testenv.RedisURL(t), prefix
	for _, o := range opts {
		o(&cfg)
	}
	return startGatewayWith(t, cfg, &clock{t: testNow}, app.Options{Settlement: sim}), sim
}

// orderBody signs an order of w (SIP-018, stxgate domain) and returns the create body.
type orderSpec struct {
	uuid, owner, amount, price, direction string
	from, to                              time.Time
	signer                                *stacks.PrivateKey
	network                               stacks.Network
}

func (w wallet) order(uuid string) orderSpec {
	return orderSpec{uuid: uuid, owner: w.addr, amount: "1000000", price: "0.30", direction: "gt",
		from: testNow.Add(-time.Minute), to: testNow.Add(time.Hour), signer: w.key, network: stacks.Mainnet}
}

func (o orderSpec) fields() map[string]string {
	return map[string]string{
		"owner": o.owner, "inputToken": sbtc, "outputToken": wstx, "amountIn": o.amount, "targetPrice": o.price,
		"direction": o.direction, "conditionToken": sbtc, "recipient": o.owner, "uuid": o.uuid,
		"validFrom": o.from.UTC().Format(time.RFC3339), "validTo": o.to.UTC().Format(time.RFC3339),
	}
}

func (o orderSpec) body(t testing.TB) string {
	t.Helper()
	f := o.fields()
	sig, err := ordersig.Sign(o.signer, ordersig.Order{
		Owner: f["owner"], InputToken: f["inputToken"], OutputToken: f["outputToken"], AmountIn: f["amountIn"],
		TargetPrice: f["targetPrice"], Direction: f["direction"], ConditionToken: f["conditionToken"],
		Recipient: f["recipient"], UUID: f["uuid"], ValidFrom: o.from.Unix(), ValidTo: o.to.Unix(),
	}, stacks.NewDomain("stxgate", "1", o.network))
	if err != nil {
		t.Fatal(err)
	}
	f["signature"] = sig
	return mustJSON(f)
}

// with replaces fields of a signed body (after signing: tampering or bad input).
func with(t testing.TB, body string, kv ...string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == "<delete>" {
			delete(m, kv[i])
			continue
		}
		m[kv[i]] = kv[i+1]
	}
	return mustJSON(m)
}

func (g *gateway) createOrder(t testing.TB, body string, headers map[string]string) response {
	t.Helper()
	return g.do("POST", "/api/v1/orders/new", body, headers)
}

// orderJSON is the exact view of o in status, with overrides (e.g. "txid").
func orderJSON(o orderSpec, status string, overrides ...any) string {
	m := map[string]any{
		"uuid": o.uuid, "owner": o.owner, "inputToken": sbtc, "outputToken": wstx, "amountIn": o.amount,
		"targetPrice": o.price, "direction": o.direction, "conditionToken": sbtc, "recipient": o.owner,
		"validFrom": o.from.UTC().Format("2006-01-02T15:04:05.000Z"), "validTo": o.to.UTC().Format("2006-01-02T15:04:05.000Z"),
		"status": status, "txid": nil, "settlement": nil, "lastError": nil, "createdAt": nowStamp, "updatedAt": nowStamp,
		"filledAt": nil, "cancelledAt": nil, "expiredAt": nil, "blockHeight": nil, "submittedAt": nil,
	}
	for i := 0; i < len(overrides); i += 2 {
		m[overrides[i].(string)] = overrides[i+1]
	}
	return mustJSON(m)
}

func TestCreateOrder(t *testing.T) {
	g, _ := newOrderGateway(t)
	a, b := mustWallet(t, privA), mustWallet(t, privB)
	createKey, _ := g.createKey(a, "creator", `["create"]`)
	execKey, _ := g.createKey(a, "executor", `["execute"]`)
	bKey, _ := g.createKey(b, "b creator", `["create"]`)

	t.Run("SignatureOnly201", func(t *testing.T) {
		o := a.order("sig-only")
		r := g.createOrder(t, o.body(t), nil)
		expect(t, r, 201, `{"status":"success","data":`+orderJSON(o, "open")+`}`)
		expect(t, g.do("GET", "/api/v1/orders/sig-only", "", nil), 200, `{"status":"success","data":`+orderJSON(o, "open")+`}`)
	})
	t.Run("DualAuth201", func(t *testing.T) {
		o := a.order("dual")
		expect(t, g.createOrder(t, o.body(t), map[string]string{"X-API-Key": createKey}), 201, "")
	})
	t.Run("DuplicateUUID409EvenIdentical", func(t *testing.T) {
		body := a.order("dup").body(t)
		expect(t, g.createOrder(t, body, nil), 201, "")
		expect(t, g.createOrder(t, body, nil), 409, errorBody("Duplicate order uuid", map[string]any{"uuid": "dup"}))
	})
	t.Run("KeyWithoutCreate403", func(t *testing.T) {
		expect(t, g.createOrder(t, a.order("no-perm").body(t), map[string]string{"X-API-Key": execKey}), 403,
			errorBody("API key does not have the create permission", map[string]any{"permission": "create"}))
	})
	t.Run("OtherWalletsKey403", func(t *testing.T) {
		expect(t, g.createOrder(t, a.order("foreign-key").body(t), map[string]string{"X-API-Key": bKey}), 403,
			errorBody("API key not authorized for this wallet", map[string]any{"apiKeyWallet": b.addr, "orderOwner": a.addr, "orderUuid": "foreign-key"}))
	})
	t.Run("RevokedKey401", func(t *testing.T) {
		k, id := g.createKey(a, "doomed", `["create"]`)
		expect(t, g.revoke(t, a, id), 200, "")
		expect(t, g.createOrder(t, a.order("revoked-key").body(t), map[string]string{"X-API-Key": k}), 401, errorBody("API key inactive", nil))
	})
	t.Run("KeyDoesNotReplaceSignature401", func(t *testing.T) {
		body := with(t, a.order("no-sig").body(t), "signature", b.order("no-sig").body(t)[0:0]+strings.Repeat("ab", 65))
		r := g.createOrder(t, body, map[string]string{"X-API-Key": createKey})
		if r.Status != 401 && r.Status != 400 {
			t.Fatalf("status %d %s", r.Status, r.Body)
		}
	})

	valid := a.order("v")
	signedBody := valid.body(t)
	resigned := func(mod func(*orderSpec)) string { o := a.order("v"); mod(&o); return o.body(t) }
	cases := []struct {
		name   string
		body   string
		status int
		want   string
	}{
		{"NotJSON400", `{"owner":`, 400, errorBody("Request body must be a JSON object", nil)},
		{"EmptyBody400", ``, 400, errorBody("Request body must be a JSON object", nil)},
		{"FieldNameCase400", strings.Replace(signedBody, `"owner":`, `"OWNER":`, 1), 400,
			errorBody(`unknown field "OWNER": field names are case-sensitive (owner)`, field("owner"))},
		{"FieldNotString400", strings.Replace(signedBody, `"amountIn":"1000000"`, `"amountIn":1000000`, 1), 400, errorBody("amountIn must be a string", field("amountIn"))},
		{"MissingOwner400", with(t, signedBody, "owner", "<delete>"), 400, errorBody("owner is required", field("owner"))},
		{"TestnetOwner400", with(t, signedBody, "owner", a.key.Address(stacks.Testnet).String()), 400,
			errorBody("owner belongs to another network (this gateway runs on mainnet)", field("owner"))},
		{"ContractOwner400", with(t, signedBody, "owner", sbtc), 400, errorBody("owner must be a wallet address, not a contract", field("owner"))},
		{"BadToken400", with(t, signedBody, "inputToken", ".stx"), 400, errorBody("inputToken is not a valid Stacks principal", field("inputToken"))},
		{"WalletAsInputToken400", with(t, signedBody, "inputToken", a.addr), 400,
			errorBody("inputToken must be a token contract (address.contract-name), not a wallet address", field("inputToken"))},
		{"WalletAsOutputToken400", with(t, signedBody, "outputToken", a.addr), 400,
			errorBody("outputToken must be a token contract (address.contract-name), not a wallet address", field("outputToken"))},
		{"WalletAsConditionToken400", with(t, signedBody, "conditionToken", a.addr), 400,
			errorBody("conditionToken must be a token contract (address.contract-name), not a wallet address", field("conditionToken"))},
		{"SameTokens400", with(t, signedBody, "outputToken", sbtc), 400,
			errorBody("outputToken must differ from inputToken: an order swaps one token for another", field("outputToken"))},
		{"ZeroAmount400", resigned(func(o *orderSpec) { o.amount = "0" }), 400, errorBody("amountIn must be positive and below 2^128", field("amountIn"))},
		{"HugeAmount400", with(t, signedBody, "amountIn", "340282366920938463463374607431768211456"), 400, errorBody("amountIn must be positive and below 2^128", field("amountIn"))},
		{"LeadingZeroAmount400", with(t, signedBody, "amountIn", "01"), 400, errorBody("amountIn must be an integer string without sign or leading zeros", field("amountIn"))},
		{"DecimalAmount400", with(t, signedBody, "amountIn", "1.5"), 400, errorBody("amountIn must be an integer string without sign or leading zeros", field("amountIn"))},
		{"ExponentPrice400", with(t, signedBody, "targetPrice", "1e5"), 400, errorBody(`targetPrice must be a plain decimal string such as "0.30"`, field("targetPrice"))},
		{"ZeroPrice400", with(t, signedBody, "targetPrice", "0.000"), 400, errorBody("targetPrice must be positive", field("targetPrice"))},
		{"BadDirection400", with(t, signedBody, "direction", "up"), 400, errorBody(`direction must be "gt" or "lt"`, field("direction"))},
		{"BadUUID400", with(t, signedBody, "uuid", "has space"), 400, errorBody("uuid must be 1-64 characters of A-Z, a-z, 0-9, _ and -", field("uuid"))},
		{"LongUUID400", with(t, signedBody, "uuid", strings.Repeat("u", 65)), 400, errorBody("uuid must be 1-64 characters of A-Z, a-z, 0-9, _ and -", field("uuid"))},
		{"BadValidFrom400", with(t, signedBody, "validFrom", "yesterday"), 400, errorBody("validFrom must be an RFC 3339 time such as 2026-01-15T10:00:00Z", field("validFrom"))},
		{"ValidToBeforeFrom400", resigned(func(o *orderSpec) { o.to = o.from }), 400, errorBody("validTo must be later than validFrom", field("validTo"))},
		{"ValidToPast400", resigned(func(o *orderSpec) { o.from, o.to = testNow.Add(-2*time.Hour), testNow.Add(-time.Hour) }), 400, errorBody("validTo must be in the future", field("validTo"))},
		{"TooLong400", resigned(func(o *orderSpec) { o.to = o.from.Add(31 * 24 * time.Hour) }), 400, errorBody("an order may be valid for at most 720h0m0s", field("validTo"))},
		{"MissingSignature400", with(t, signedBody, "signature", "<delete>"), 400, errorBody("signature is required", field("signature"))},
		{"MalformedSignature400", with(t, signedBody, "signature", "3045022100e8f2"), 400, errorBody("signature must be 65 bytes of hex (r, s and a recovery id)", field("signature"))},
		{"TamperedAmount401", with(t, signedBody, "amountIn", "1000001"), 401, errorBody("Invalid order signature", nil)},
		{"OtherSigner401", with(t, signedBody, "signature", mustField(t, b.order("v").body(t), "signature")), 401, errorBody("Invalid order signature", nil)},
		{"HighS401", with(t, signedBody, "signature", highS(t, mustField(t, signedBody, "signature"))), 401, errorBody("Invalid order signature", nil)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			expect(t, g.createOrder(t, tc.body, nil), tc.status, tc.want)
		})
	}
	t.Run("NothingWritten", func(t *testing.T) {
		expect(t, g.do("GET", "/api/v1/orders/v", "", nil), 404, errorBody("Order not found", nil))
	})
	t.Run("CreationCounted", func(t *testing.T) {
		if err := g.app.Usage.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		for _, k := range g.listKeys(t, a) {
			if k["name"] == "creator" {
				u := k["usageStats"].(map[string]any)
				// DualAuth201 succeeded; KeyDoesNotReplaceSignature401 failed.
				if u["creationCount"] != 1.0 || u["totalRequests"] != 2.0 || u["successfulRequests"] != 1.0 || u["failedRequests"] != 1.0 {
					t.Fatalf("creator usage %v", u)
				}
			}
		}
	})
}

func mustField(t testing.TB, body, name string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatal(err)
	}
	return m[name].(string)
}

// The SIP-018 vectors made by stacks.js go through the HTTP endpoint, with
// the gateway's clock inside each order's validity window.
func TestOrderSignatureVectorsThroughHTTP(t *testing.T) {
	v := vectors.Load(t)
	lifetime := func(c *config.Config) { c.OrderMaxLifetime = 200 * 365 * 24 * time.Hour }
	gws := map[string]*gateway{}
	for _, n := range []string{"mainnet", "testnet"} {
		net := n
		g, _ := newOrderGateway(t, lifetime, func(c *config.Config) { c.Network, _ = stacks.ParseNetwork(net) })
		gws[n] = g
	}
	accepted := 0
	for _, vec := range v.SIP018.Positive {
		t.Run("positive/"+vec.ID, func(t *testing.T) {
			g := gws[vec.Network]
			body, from, to := vectorOrderBody(vec.Fields, vec.RSV)
			g.clock.Set(time.Unix((from+to)/2, 0))
			defer g.clock.Set(testNow)
			r := g.createOrder(t, body, nil)
			if r.Status != 201 {
				t.Fatalf("stacks.js-signed order refused: %d %s", r.Status, r.Body)
			}
			accepted++
			// Vectors of different keys share uuids: free this one for the next.
			g.deleteOrder(t, mustField(t, body, "uuid"))
		})
	}
	privByPub := map[string]*stacks.PrivateKey{}
	for _, k := range v.Keys {
		if pk, err := stacks.ParsePrivateKey(k.PrivateKeyHex); err == nil {
			privByPub[k.PublicKeyHex] = pk
		}
	}
	refused := 0
	for _, vec := range v.SIP018.Negative {
		t.Run("negative/"+vec.ID, func(t *testing.T) {
			g := gws["mainnet"]
			body, from, to := vectorOrderBody(vec.Fields, vec.RSV)
			// A vector whose final hash is not the gateway's canonical hash of
			// these values (Clarity type or domain confusion) describes a wallet
			// that signed that other hash: sign it and present it as the order.
			if canonical := canonicalHash(t, body, stacks.NewDomain("stxgate", "1", stacks.Mainnet)); canonical != "" && canonical != vec.FinalHashHex {
				k := privByPub[vec.PublicKeyHex]
				if k == nil {
					t.Fatalf("no private key for %s", vec.PublicKeyHex)
				}
				sig, err := stacks.SignHash(k, hash32(t, vec.FinalHashHex))
				if err != nil {
					t.Fatal(err)
				}
				body = with(t, body, "signature", sig.String())
			}
			g.clock.Set(time.Unix((from+to)/2, 0))
			defer g.clock.Set(testNow)
			r := g.createOrder(t, body, nil)
			if r.Status != 400 && r.Status != 401 {
				t.Fatalf("negative vector answered %d %s", r.Status, r.Body)
			}
			refused++
		})
	}
	// A gateway signing under another domain version refuses a stacks.js signature made for version 1.
	t.Run("domain-version-2-gateway", func(t *testing.T) {
		g, _ := newOrderGateway(t, lifetime, func(c *config.Config) { c.SIP018Version = "2" })
		vec := v.SIP018.Positive[0]
		body, from, to := vectorOrderBody(vec.Fields, vec.RSV)
		g.clock.Set(time.Unix((from+to)/2, 0))
		expect(t, g.createOrder(t, body, nil), 401, fmt.Sprintf(`{"error":"Invalid order signature","code":"invalid_order_signature","timestamp":%q}`, formatStamp(g.clock.Now())))
	})
	t.Logf("sip018 vectors through HTTP: %d positive accepted, %d negative refused", accepted, refused)
	if accepted != len(v.SIP018.Positive) || refused != len(v.SIP018.Negative) || accepted == 0 || refused == 0 {
		t.Fatalf("accepted %d/%d, refused %d/%d", accepted, len(v.SIP018.Positive), refused, len(v.SIP018.Negative))
	}
}

// vectorOrderBody renders a vector's order tuple as a create body, with its
// validity window in unix seconds.
func vectorOrderBody(fields []vectors.Field, signature string) (string, int64, int64) {
	f := map[string]string{}
	var from, to int64
	for _, m := range fields {
		switch m.Name {
		case "valid-from":
			fmt.Sscan(m.Value, &from)
			f["validFrom"] = time.Unix(from, 0).UTC().Format(time.RFC3339)
		case "valid-to":
			fmt.Sscan(m.Value, &to)
			f["validTo"] = time.Unix(to, 0).UTC().Format(time.RFC3339)
		default:
			f[camel(m.Name)] = m.Value
		}
	}
	f["signature"] = signature
	return mustJSON(f), from, to
}

// canonicalHash is the gateway's SIP-018 hash of a create body's values ("" if they do not form a tuple).
func canonicalHash(t testing.TB, body string, d stacks.Domain) string {
	t.Helper()
	var f map[string]string
	if err := json.Unmarshal([]byte(body), &f); err != nil {
		t.Fatal(err)
	}
	from, _ := time.Parse(time.RFC3339, f["validFrom"])
	to, _ := time.Parse(time.RFC3339, f["validTo"])
	h, err := ordersig.Hash(ordersig.Order{
		Owner: f["owner"], InputToken: f["inputToken"], OutputToken: f["outputToken"], AmountIn: f["amountIn"],
		TargetPrice: f["targetPrice"], Direction: f["direction"], ConditionToken: f["conditionToken"],
		Recipient: f["recipient"], UUID: f["uuid"], ValidFrom: from.Unix(), ValidTo: to.Unix(),
	}, d)
	if err != nil {
		return ""
	}
	return fmt.Sprintf("%x", h)
}

func hash32(t testing.TB, s string) [32]byte {
	t.Helper()
	var h [32]byte
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 32 {
		t.Fatalf("bad hash %q", s)
	}
	copy(h[:], b)
	return h
}

func formatStamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// deleteOrder removes an order behind the gateway's back (test set-up only).
func (g *gateway) deleteOrder(t testing.TB, uuid string) {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), g.cfg.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), "DELETE FROM orders WHERE uuid = $1", uuid); err != nil {
		t.Fatal(err)
	}
}

func camel(s string) string {
	parts := strings.Split(s, "-")
	for i := 1; i < len(parts); i++ {
		parts[i] = strings.ToUpper(parts[i][:1]) + parts[i][1:]
	}
	return strings.Join(parts, "")
}

// createOpen creates an open order of w with uuid.
func (g *gateway) createOpen(t testing.TB, w wallet, uuid string) orderSpec {
	t.Helper()
	o := w.order(uuid)
	expect(t, g.createOrder(t, o.body(t), nil), 201, "")
	return o
}

func TestExecuteOrder(t *testing.T) {
	g, sim := newOrderGateway(t)
	a, b := mustWallet(t, privA), mustWallet(t, privB)
	execKey, _ := g.createKey(a, "executor", `["execute"]`)
	cancelKey, _ := g.createKey(a, "canceller", `["cancel"]`)
	bKey, _ := g.createKey(b, "b", `["execute"]`)
	keyed := func(k string) map[string]string {
		return map[string]string{"X-API-Key": k, "Content-Type": "application/json"}
	}

	t.Run("ByKey200ThenNotOpen400", func(t *testing.T) {
		o := g.createOpen(t, a, "exec-1")
		txid := settlement.SimulatedTxID("exec-1")
		expect(t, g.do("POST", "/api/v1/orders/exec-1/execute", "", keyed(execKey)), 200, fmt.Sprintf(`{"status":"success","txid":%q,"state":"filled","settlement":"simulated"}`, txid))
		want := orderJSON(o, "filled", "txid", txid, "settlement", "simulated", "filledAt", nowStamp)
		expect(t, g.do("GET", "/api/v1/orders/exec-1", "", nil), 200, `{"status":"success","data":`+want+`}`)
		expect(t, g.do("POST", "/api/v1/orders/exec-1/execute", "", keyed(execKey)), 400,
			errorBody("Order not open", map[string]any{"status": "filled", "txid": txid}))
		if sim.Settlements("exec-1") != 1 {
			t.Fatalf("settled %d times", sim.Settlements("exec-1"))
		}
	})
	t.Run("UnknownOrder404", func(t *testing.T) {
		expect(t, g.do("POST", "/api/v1/orders/order_uuid_123/execute", "", keyed(execKey)), 404, errorBody("Order not found", nil))
	})
	t.Run("KeyWithoutExecute403", func(t *testing.T) {
		g.createOpen(t, a, "exec-perm")
		expect(t, g.do("POST", "/api/v1/orders/exec-perm/execute", "", keyed(cancelKey)), 403,
			errorBody("API key does not have the execute permission", map[string]any{"permission": "execute"}))
	})
	t.Run("OtherWalletsKey403", func(t *testing.T) {
		g.createOpen(t, a, "exec-foreign")
		expect(t, g.do("POST", "/api/v1/orders/exec-foreign/execute", "", keyed(bKey)), 403,
			errorBody("API key not authorized for this wallet", map[string]any{"apiKeyWallet": b.addr, "orderOwner": a.addr, "orderUuid": "exec-foreign"}))
	})
	t.Run("NoCredentials401", func(t *testing.T) {
		expect(t, g.do("POST", "/api/v1/orders/exec-foreign/execute", "", nil), 401, errorBody("API key or wallet signature required", nil))
	})
	t.Run("WalletSigned200ReplayRefused", func(t *testing.T) {
		g.createOpen(t, a, "exec-signed")
		msg := fmt.Sprintf(`{"action":"execute_order","uuid":"exec-signed","timestamp":%d}`, ms(-time.Second))
		env := a.envelope(msg)
		expect(t, g.do("POST", "/api/v1/orders/exec-signed/execute", "", env.headers()), 200, "")
		expect(t, g.do("POST", "/api/v1/orders/exec-signed/execute", "", env.headers()), 401, errorBody("Message already used", nil))
	})
	t.Run("WalletSignedByNonOwner403", func(t *testing.T) {
		g.createOpen(t, a, "exec-nonowner")
		msg := fmt.Sprintf(`{"action":"execute_order","uuid":"exec-nonowner","timestamp":%d}`, ms(0))
		expect(t, g.do("POST", "/api/v1/orders/exec-nonowner/execute", b.envelope(msg).body(), nil), 403,
			errorBody("Wallet not authorized for this order", map[string]any{"walletAddress": b.addr, "orderOwner": a.addr, "orderUuid": "exec-nonowner"}))
	})
	t.Run("WalletSignedOtherUUID400", func(t *testing.T) {
		msg := fmt.Sprintf(`{"action":"execute_order","uuid":"something-else","timestamp":%d}`, ms(0))
		expect(t, g.do("POST", "/api/v1/orders/exec-nonowner/execute", a.envelope(msg).body(), nil), 400,
			errorBody("message.uuid does not match the order in the URL", field("message.uuid")))
	})
	t.Run("NotYetValid400", func(t *testing.T) {
		o := a.order("exec-future")
		o.from, o.to = testNow.Add(time.Hour), testNow.Add(2*time.Hour)
		expect(t, g.createOrder(t, o.body(t), nil), 201, "")
		expect(t, g.do("POST", "/api/v1/orders/exec-future/execute", "", keyed(execKey)), 400,
			errorBody("Order not yet valid", map[string]any{"validFrom": "2026-11-22T13:00:00Z"}))
	})
	t.Run("Expired400", func(t *testing.T) {
		g.createOpen(t, a, "exec-expired")
		g.clock.Set(testNow.Add(2 * time.Hour))
		defer g.clock.Set(testNow)
		r := g.do("POST", "/api/v1/orders/exec-expired/execute", "", keyed(execKey))
		assertJSON(t, r.Body, `{"error":"Order not open","code":"order_not_open","details":{"status":"expired"},"timestamp":"2026-11-22T14:00:00.000Z"}`)
	})
	t.Run("SettlementRejected502ThenRetry200", func(t *testing.T) {
		g.createOpen(t, a, "exec-reject")
		sim.FailNext(fmt.Errorf("%w: relayer said no", order.ErrSettlementRejected))
		expect(t, g.do("POST", "/api/v1/orders/exec-reject/execute", "", keyed(execKey)), 502,
			errorBody("Settlement failed: settlement rejected: relayer said no", map[string]any{"uuid": "exec-reject", "status": "open"}))
		r := g.do("GET", "/api/v1/orders/exec-reject", "", nil)
		if d := r.json(t)["data"].(map[string]any); d["status"] != "open" || d["lastError"] != "settlement rejected: relayer said no" {
			t.Fatalf("after rejection: %s", r.Body)
		}
		expect(t, g.do("POST", "/api/v1/orders/exec-reject/execute", "", keyed(execKey)), 200, "")
	})
	t.Run("CrashAfterSettlementReconciled", func(t *testing.T) {
		g.createOpen(t, a, "exec-crash")
		var once sync.Once
		sim.AfterSettle = func(uuid, _ string) (err error) {
			once.Do(func() { err = errors.New("connection lost after settlement") })
			return err
		}
		defer func() { sim.AfterSettle = nil }()
		expect(t, g.do("POST", "/api/v1/orders/exec-crash/execute", "", keyed(execKey)), 502,
			errorBody("Settlement outcome unknown: the order will be reconciled", map[string]any{"uuid": "exec-crash", "status": "executing"}))
		if st := g.do("GET", "/api/v1/orders/exec-crash", "", nil).json(t)["data"].(map[string]any)["status"]; st != "executing" {
			t.Fatalf("status %v, want executing", st)
		}
		filled, released, err := g.app.Orders.Reconcile(context.Background(), 0)
		if err != nil || filled != 1 || released != 0 {
			t.Fatalf("reconcile: filled %d released %d err %v", filled, released, err)
		}
		d := g.do("GET", "/api/v1/orders/exec-crash", "", nil).json(t)["data"].(map[string]any)
		if d["status"] != "filled" || d["txid"] != settlement.SimulatedTxID("exec-crash") || sim.Settlements("exec-crash") != 1 {
			t.Fatalf("after reconcile: %v, settled %d times", d, sim.Settlements("exec-crash"))
		}
	})
}

// 100 goroutines execute one order: exactly one 200, 99 "Order not open", one settlement.
func TestExecuteAtMostOnceUnderConcurrency(t *testing.T) {
	g, sim := newOrderGateway(t, limitsOf(1000, 10000, 100000))
	g2 := g.twin() // half the callers go through another instance
	a := mustWallet(t, privA)
	key, _ := g.createKey(a, "executor", `["execute"]`)
	g.createOpen(t, a, "hot")
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]int{}
	bodies := map[string]int{}
	for i := range 100 {
		wg.Go(func() {
			gw := g
			if i%2 == 1 {
				gw = g2
			}
			r := gw.do("POST", "/api/v1/orders/hot/execute", "", map[string]string{"X-API-Key": key})
			mu.Lock()
			codes[r.Status]++
			if r.Status == 400 {
				bodies[r.json(t)["error"].(string)]++
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	if codes[200] != 1 || codes[400] != 99 || bodies["Order not open"] != 99 {
		t.Fatalf("answers %v %v, want one 200 and 99 × 400 Order not open", codes, bodies)
	}
	if n := sim.Settlements("hot"); n != 1 {
		t.Fatalf("settled %d times", n)
	}
}

// Execute racing cancel: exactly one wins, every time.
func TestExecuteRacingCancel(t *testing.T) {
	g, sim := newOrderGateway(t, limitsOf(1000, 10000, 100000))
	a := mustWallet(t, privA)
	key, _ := g.createKey(a, "both", `["execute","cancel"]`)
	hdr := map[string]string{"X-API-Key": key}
	for i := range 20 {
		uuid := fmt.Sprintf("race-%d", i)
		g.createOpen(t, a, uuid)
		var wg sync.WaitGroup
		var exec, cancel response
		wg.Go(func() { exec = g.do("POST", "/api/v1/orders/"+uuid+"/execute", "", hdr) })
		wg.Go(func() { cancel = g.do("PATCH", "/api/v1/orders/"+uuid+"/cancel", "", hdr) })
		wg.Wait()
		final := g.do("GET", "/api/v1/orders/"+uuid, "", nil).json(t)["data"].(map[string]any)["status"]
		switch {
		case exec.Status == 200 && cancel.Status == 400 && final == "filled" && sim.Settlements(uuid) == 1:
		case cancel.Status == 200 && exec.Status == 400 && final == "cancelled" && sim.Settlements(uuid) == 0:
		default:
			t.Fatalf("%s: execute %d, cancel %d, final %v, settlements %d", uuid, exec.Status, cancel.Status, final, sim.Settlements(uuid))
		}
	}
}

func TestCancelOrder(t *testing.T) {
	g, _ := newOrderGateway(t)
	a, b := mustWallet(t, privA), mustWallet(t, privB)
	key, _ := g.createKey(a, "canceller", `["cancel"]`)
	bKey, _ := g.createKey(b, "b", `["cancel"]`)

	o := g.createOpen(t, a, "c-1")
	want := orderJSON(o, "cancelled", "cancelledAt", nowStamp)
	expect(t, g.do("PATCH", "/api/v1/orders/c-1/cancel", "", map[string]string{"X-API-Key": bKey}), 403,
		errorBody("API key not authorized for this wallet", map[string]any{"apiKeyWallet": b.addr, "orderOwner": a.addr, "orderUuid": "c-1"}))
	expect(t, g.do("PATCH", "/api/v1/orders/c-1/cancel", "", map[string]string{"X-API-Key": key}), 200, `{"status":"success","data":`+want+`}`)
	expect(t, g.do("PATCH", "/api/v1/orders/c-1/cancel", "", map[string]string{"X-API-Key": key}), 400,
		errorBody("Order not open", map[string]any{"status": "cancelled"}))
	expect(t, g.do("PATCH", "/api/v1/orders/nope/cancel", "", map[string]string{"X-API-Key": key}), 404, errorBody("Order not found", nil))

	g.createOpen(t, a, "c-2")
	msg := fmt.Sprintf(`{"action":"cancel_order","uuid":"c-2","timestamp":%d}`, ms(0))
	expect(t, g.do("PATCH", "/api/v1/orders/c-2/cancel", a.envelope(msg).body(), nil), 200, "")
	// An execute message cannot cancel.
	g.createOpen(t, a, "c-3")
	msg = fmt.Sprintf(`{"action":"execute_order","uuid":"c-3","timestamp":%d}`, ms(0))
	expect(t, g.do("PATCH", "/api/v1/orders/c-3/cancel", a.envelope(msg).body(), nil), 400,
		errorBody(`message.action must be "cancel_order"`, field("message.action")))
}

func TestListOrders(t *testing.T) {
	g, _ := newOrderGateway(t)
	a, b := mustWallet(t, privA), mustWallet(t, privB)
	for i := range 5 {
		g.clock.Set(testNow.Add(time.Duration(i) * time.Second))
		g.createOpen(t, a, fmt.Sprintf("l-a%d", i))
	}
	g.createOpen(t, b, "l-b0")
	g.clock.Set(testNow)
	key, _ := g.createKey(a, "c", `["cancel"]`)
	expect(t, g.do("PATCH", "/api/v1/orders/l-a1/cancel", "", map[string]string{"X-API-Key": key}), 200, "")

	var seen []string
	cursor := ""
	for page := 0; page < 5; page++ {
		path := "/api/v1/orders?owner=" + a.addr + "&limit=2"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		r := g.do("GET", path, "", nil)
		expect(t, r, 200, "")
		m := r.json(t)
		for _, o := range m["data"].([]any) {
			seen = append(seen, o.(map[string]any)["uuid"].(string))
		}
		next, _ := m["nextCursor"].(string)
		if next == "" {
			break
		}
		cursor = next
	}
	if fmt.Sprint(seen) != "[l-a4 l-a3 l-a2 l-a1 l-a0]" {
		t.Fatalf("pages %v, want newest first, each once", seen)
	}
	r := g.do("GET", "/api/v1/orders?status=cancelled", "", nil)
	if data := r.json(t)["data"].([]any); len(data) != 1 || data[0].(map[string]any)["uuid"] != "l-a1" {
		t.Fatalf("cancelled filter: %s", r.Body)
	}
	if strings.Contains(r.Body, "signature") {
		t.Fatal("public read exposes the order signature")
	}
	for name, tc := range map[string]struct{ query, want string }{
		"BadStatus400": {"status=done", errorBody("status must be one of open, executing, filled, cancelled, expired", field("status"))},
		"BadLimit400":  {"limit=0", errorBody("limit must be an integer from 1 to 100", field("limit"))},
		"BadCursor400": {"cursor=!!", errorBody("cursor is not one this API returned", field("cursor"))},
		"BadOwner400":  {"owner=SPNOPE", errorBody("owner is not a valid Stacks address of this network", field("owner"))},
	} {
		t.Run(name, func(t *testing.T) { expect(t, g.do("GET", "/api/v1/orders?"+tc.query, "", nil), 400, tc.want) })
	}
}
