package httpapi_test

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/stxgate/stxgate/internal/apikey"
	"github.com/stxgate/stxgate/internal/config"
	"github.com/stxgate/stxgate/internal/order"
	"github.com/stxgate/stxgate/pkg/stacks"
)

// secrets collects every secret a test used, to look for them afterwards.
type secrets struct {
	t    *testing.T
	kind map[string]string // secret -> what it is
}

func (s *secrets) add(kind, v string) string {
	if len(v) < 16 {
		s.t.Fatalf("%s %q is too short to look for", kind, v)
	}
	s.kind[v] = kind
	return v
}

// forms are the spellings a leak could take: as sent, lower and upper case,
// with and without 0x; for a 65-byte signature its r and s halves too (the
// same signature reordered or re-encoded still carries them); for an API key
// the part after the prefix shown in clear; for a private key its 32 bytes
// without the compression flag.
func forms(kind, v string) []string {
	v = strings.TrimPrefix(v, "0x")
	out := []string{v}
	switch kind {
	case "message signature", "order signature":
		if len(v) == 130 {
			out = append(out, v[:64], v[64:128])
		}
	case "API key":
		out = append(out, v[apikey.DisplayLen:])
	case "private key":
		out = append(out, v[:64])
	}
	for _, f := range out[:len(out):len(out)] {
		out = append(out, strings.ToLower(f), strings.ToUpper(f), "0x"+f, "0x"+strings.ToLower(f))
	}
	return out
}

// find reports every secret (in any form) that haystack contains.
func (s *secrets) find(haystack string, skip func(kind string) bool) []string {
	var leaks []string
	for v, kind := range s.kind {
		if skip != nil && skip(kind) {
			continue
		}
		for _, f := range forms(kind, v) {
			if strings.Contains(haystack, f) {
				leaks = append(leaks, fmt.Sprintf("%s %s…", kind, f[:12]))
				break
			}
		}
	}
	return leaks
}

// The whole HTTP surface — key management, orders, the operator and audit
// APIs, and errors of every kind (bad and malleated signatures, wrong and
// mistyped keys, replays, 403s, 429s) — runs with logs captured at debug
// level. No API key, private key, signature or operator token may appear in
// the logs, and no plaintext API key, private key or message signature in a
// dump of the database or in Redis.
//
// Order signatures ARE stored, on purpose: a signed order is what settlement
// needs to put the order on chain, so orders.signature keeps it (it is never
// shown by reads). The dump is therefore not searched for order signatures.
func TestNoSecretInLogsDatabaseOrRedis(t *testing.T) {
	g, sim := newOrderGateway(t, withOperator)
	// A second instance on the same stores with tight limits, for 429s.
	lowCfg := g.cfg
	lowCfg.RateLimitMinute, lowCfg.IPLimitMinute, lowCfg.WalletLimitMinute = 2, 2, 2
	low := startGatewayWith(t, lowCfg, g.clock, g.opts)

	s := &secrets{t: t, kind: map[string]string{}}
	s.add("private key", privA)
	s.add("private key", privB)
	s.add("operator token", operatorToken)
	a, b := mustWallet(t, privA), mustWallet(t, privB)
	seq := 0
	// env signs msg (a fresh timestamp each time) and records the signature.
	env := func(w wallet, format string, args ...any) signed {
		seq++
		e := w.envelope(fmt.Sprintf(format, append(args, ms(-time.Duration(seq)*time.Millisecond))...))
		s.add("message signature", e.Signature)
		return e
	}
	createKey := func(g *gateway, w wallet, name, perms string, headers bool) (string, string) {
		e := env(w, `{"action":"create_api_key","keyName":%q,"permissions":%s,"timestamp":%d}`, name, perms)
		var r response
		if headers {
			r = g.do("POST", "/api/v1/api-keys", "", e.headers())
		} else {
			r = g.do("POST", "/api/v1/api-keys", e.body(), nil)
		}
		expect(t, r, 201, "")
		return s.add("API key", r.json(t)["apiKey"].(string)), r.json(t)["keyId"].(string)
	}
	orderBody := func(o orderSpec) string {
		body := o.body(t)
		s.add("order signature", mustField(t, body, "signature"))
		return body
	}
	key := func(k string) map[string]string { return map[string]string{"X-API-Key": k} }

	// Keys: create (body and header forms), list, get, update, self.
	k1, id1 := createKey(g, a, "all", `["create","execute","cancel"]`, false)
	k2, id2 := createKey(g, a, "exec only", `["execute"]`, true)
	kB, _ := createKey(g, b, "b", `["create","execute","cancel"]`, false)
	expect(t, g.do("GET", "/api/v1/api-keys", "", env(a, `{"action":"list_api_keys","timestamp":%d}`).headers()), 200, "")
	expect(t, g.do("GET", "/api/v1/api-keys/"+id1, "", env(a, `{"action":"get_api_key","keyId":%q,"timestamp":%d}`, id1).headers()), 200, "")
	expect(t, g.do("PATCH", "/api/v1/api-keys/"+id2, env(a, `{"action":"update_api_key","keyId":%q,"keyName":"renamed","ipAllowlist":["10.0.0.0/8"],"timestamp":%d}`, id2).body(), nil), 200, "")
	expect(t, g.do("GET", "/api/v1/api-keys/self", "", key(k1)), 200, "")
	expect(t, g.do("GET", "/api/v1/api-keys/self", "", map[string]string{"Authorization": "ApiKey " + k1}), 200, "")
	expect(t, g.do("GET", "/api/v1/api-keys/self", "", map[string]string{"Authorization": "Bearer " + k1}), 200, "")

	// Orders: dual-auth and signature-only creates, executes and cancels by
	// key and by wallet signature, reads.
	expect(t, g.createOrder(t, orderBody(a.order("s-1")), key(k1)), 201, "")
	expect(t, g.createOrder(t, orderBody(a.order("s-2")), nil), 201, "")
	expect(t, g.createOrder(t, orderBody(a.order("s-3")), key(k1)), 201, "")
	expect(t, g.createOrder(t, orderBody(a.order("s-4")), nil), 201, "")
	expect(t, g.createOrder(t, orderBody(a.order("s-5")), nil), 201, "")
	expect(t, g.do("POST", "/api/v1/orders/s-1/execute", "", key(k1)), 200, "")
	expect(t, g.do("POST", "/api/v1/orders/s-2/execute", "", env(a, `{"action":"execute_order","uuid":"s-2","timestamp":%d}`).headers()), 200, "")
	expect(t, g.do("PATCH", "/api/v1/orders/s-3/cancel", "", key(k1)), 200, "")
	expect(t, g.do("PATCH", "/api/v1/orders/s-4/cancel", env(a, `{"action":"cancel_order","uuid":"s-4","timestamp":%d}`).body(), nil), 200, "")
	sim.FailNext(fmt.Errorf("%w: relayer refused", order.ErrSettlementRejected))
	expect(t, g.do("POST", "/api/v1/orders/s-5/execute", "", key(k1)), 502, "")
	expect(t, g.do("GET", "/api/v1/orders/s-1", "", nil), 200, "")
	expect(t, g.do("GET", "/api/v1/orders?owner="+a.addr, "", nil), 200, "")

	// Errors of every kind.
	create := func(name string) string {
		return fmt.Sprintf(`{"action":"create_api_key","keyName":%q,"permissions":["execute"],"timestamp":%d}`, name, ms(-time.Minute))
	}
	msg := create("x")
	good := s.add("message signature", a.sign(msg))
	bSig := s.add("message signature", b.sign(msg))
	unknown, _ := apikey.NewSecret(stacks.Mainnet)
	testnet, _ := apikey.NewSecret(stacks.Testnet)
	s.add("API key", unknown.String())
	s.add("API key", testnet.String())
	mistyped := k1[:20] + string(k1[20]^1) + k1[21:]
	badOrder := orderBody(a.order("s-bad"))
	errorCases := []struct {
		method, path, body string
		headers            map[string]string
		status             int
	}{
		{"POST", "/api/v1/api-keys", signed{Message: msg, Signature: bSig, WalletAddress: a.addr}.body(), nil, 401},
		{"POST", "/api/v1/api-keys", signed{Message: create("y"), Signature: good, WalletAddress: a.addr}.body(), nil, 401},
		{"POST", "/api/v1/api-keys", signed{Message: msg, Signature: s.add("message signature", highS(t, good)), WalletAddress: a.addr}.body(), nil, 401},
		{"POST", "/api/v1/api-keys", signed{Message: msg, Signature: "zz" + good[2:], WalletAddress: a.addr}.body(), nil, 400},
		{"POST", "/api/v1/api-keys", signed{Message: msg, Signature: good[:128], WalletAddress: a.addr}.body(), nil, 400},
		{"POST", "/api/v1/api-keys", signed{Message: msg, Signature: good + "00", WalletAddress: a.addr}.body(), nil, 400},
		{"POST", "/api/v1/api-keys", signed{Message: msg, Signature: good, WalletAddress: a.addr, PublicKey: b.pub}.body(), nil, 401},
		{"POST", "/api/v1/api-keys", signed{Message: msg, Signature: good, WalletAddress: a.addr, PublicKey: "04" + good[:128]}.body(), nil, 400},
		{"POST", "/api/v1/api-keys", signed{Message: msg, Signature: good, WalletAddress: a.addr}.body(), nil, 201},
		{"POST", "/api/v1/api-keys", signed{Message: msg, Signature: "0x" + strings.ToUpper(good), WalletAddress: a.addr}.body(), nil, 401}, // replay
		{"POST", "/api/v1/api-keys", `{"message":"` + msg + `","signature":"` + good, nil, 400},                                             // broken JSON
		{"POST", "/api/v1/api-keys", `{"signature":"` + good + `","pad":"` + strings.Repeat("a", 70000) + `"}`, nil, 413},
		{"GET", "/api/v1/api-keys", "", map[string]string{"X-Message": msg, "X-Signature": good, "X-Wallet-Address": a.addr}, 400}, // wrong action
		{"POST", "/api/v1/orders/new", with(t, badOrder, "amountIn", "2"), nil, 401},
		{"POST", "/api/v1/orders/new", with(t, badOrder, "signature", mustField(t, badOrder, "signature")[:100]), nil, 400},
		{"POST", "/api/v1/orders/new", orderBody(orderSpec{uuid: "s-forged", owner: a.addr, amount: "1", price: "1", direction: "lt",
			from: testNow.Add(-time.Minute), to: testNow.Add(time.Hour), signer: b.key, network: stacks.Mainnet}), nil, 401},
		{"POST", "/api/v1/orders/new", orderBody(a.order("s-1")), key(k1), 409},
		{"POST", "/api/v1/orders/new", orderBody(a.order("s-6")), key(kB), 403},
		{"POST", "/api/v1/orders/new", orderBody(a.order("s-7")), key(k2), 403},
		{"POST", "/api/v1/orders/s-1/execute", "", key(k1), 400},
		{"POST", "/api/v1/orders/s-5/execute", "", key(kB), 403},
		{"GET", "/api/v1/api-keys/self", "", key(unknown.String()), 401},
		{"GET", "/api/v1/api-keys/self", "", key(testnet.String()), 401},
		{"GET", "/api/v1/api-keys/self", "", key(mistyped), 401},
		{"GET", "/api/v1/api-keys/self", "", key(k1[:30]), 401},
		{"GET", "/api/v1/api-keys/self", "", key(k2), 403}, // allowlisted elsewhere
		{"GET", "/api/v1/api-keys/self", "", map[string]string{"X-API-Key": k1, "Authorization": "ApiKey " + kB}, 400},
		{"GET", "/api/v1/api-keys/self", "", map[string]string{"Authorization": "Basic " + k1}, 400},
		{"GET", "/api/v1/admin/api-keys/" + id1, "", map[string]string{"Authorization": "Bearer " + k1}, 401},
		{"GET", "/api/v1/admin/api-keys/" + id1, "", map[string]string{"Authorization": "Bearer " + operatorToken + "x"}, 401},
	}
	for i, tc := range errorCases {
		if r := g.do(tc.method, tc.path, tc.body, tc.headers); r.Status != tc.status {
			t.Fatalf("error case %d (%s %s): %d, want %d: %s", i, tc.method, tc.path, r.Status, tc.status, r.Body)
		}
	}

	// Operator and audit APIs.
	expect(t, g.do("POST", "/api/v1/admin/api-keys/"+id1+"/suspend", `{"reason":"test"}`, operatorAuth), 200, "")
	expect(t, g.do("POST", "/api/v1/orders/s-5/execute", "", key(k1)), 401, errorBody("API key inactive", nil))
	expect(t, g.do("POST", "/api/v1/admin/api-keys/"+id1+"/unsuspend", "", operatorAuth), 200, "")
	expect(t, g.do("GET", "/api/v1/admin/api-keys/"+id1+"/audit", "", operatorAuth), 200, "")
	expect(t, g.do("GET", "/api/v1/audit", "", env(a, `{"action":"list_audit","timestamp":%d}`).headers()), 200, "")
	expect(t, g.do("GET", "/api/v1/api-keys/"+id1+"/audit", "", env(a, `{"action":"get_api_key","keyId":%q,"timestamp":%d}`, id1).headers()), 200, "")
	expect(t, g.do("DELETE", "/api/v1/api-keys/"+id1, env(a, `{"action":"delete_api_key","keyId":%q,"timestamp":%d}`, id1).body(), nil), 200, "")
	expect(t, g.do("GET", "/api/v1/api-keys/self", "", key(k1)), 401, errorBody("API key inactive", nil))

	// 429s: per key, per IP (before any signature is read), per wallet, on
	// the tight instance with a wallet of its own, from addresses of their own.
	c := mustWallet(t, s.add("private key", "a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a501"))
	e := env(c, `{"action":"create_api_key","keyName":"low","permissions":["execute"],"timestamp":%d}`)
	r := low.fromBody("POST", "/api/v1/api-keys", "198.51.100.8:4000", e.body(), nil) // wallet c: 1 of 2
	expect(t, r, 201, "")
	kLow := s.add("API key", r.json(t)["apiKey"].(string))
	for i, want := range []int{200, 200, 429} {
		if r := low.do("GET", "/api/v1/api-keys/self", "", key(kLow)); r.Status != want {
			t.Fatalf("keyed request %d: %d", i, r.Status)
		}
	}
	listMsg := fmt.Sprintf(`{"action":"list_api_keys","timestamp":%d}`, ms(0))
	for i, want := range []int{401, 401, 429} {
		junk := signed{Message: listMsg, Signature: s.add("message signature", b.sign(listMsg)), WalletAddress: c.addr}
		if r := low.from("GET", "/api/v1/api-keys", "198.51.100.9:4000", nil, junk.headers()); r.Status != want {
			t.Fatalf("per-IP request %d: %d %s", i, r.Status, r.Body)
		}
	}
	for i, want := range []int{200, 429} {
		e := env(c, `{"action":"list_api_keys","timestamp":%d}`)
		if r := low.from("GET", "/api/v1/api-keys", fmt.Sprintf("198.51.100.%d:4000", 20+i), nil, e.headers()); r.Status != want {
			t.Fatalf("per-wallet request %d: %d %s", i, r.Status, r.Body)
		}
	}
	for _, gw := range []*gateway{g, low} {
		if err := gw.app.Usage.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("DetectorFindsPlantedLeaks", func(t *testing.T) {
		sig := mustField(t, orderBody(a.order("s-plant")), "signature")
		for _, planted := range []string{strings.ToUpper(k1), "key=" + k1[apikey.DisplayLen:], "0x" + strings.ToUpper(sig[64:128]),
			"priv " + privA[:64], strings.ToUpper(operatorToken)} {
			if len(s.find("{"+planted+"}", nil)) == 0 {
				t.Fatalf("the detector misses %q", planted)
			}
		}
	})
	t.Run("LogsHoldNoSecret", func(t *testing.T) {
		logs := g.logs.String() + low.logs.String()
		if n := strings.Count(logs, `"msg":"request"`); n < 60 {
			t.Fatalf("only %d access-log lines captured: the flow did not run as meant", n)
		}
		if !strings.Contains(logs, `"msg":"request failed"`) || !strings.Contains(logs, `"cause"`) {
			t.Fatal("no error lines with causes captured")
		}
		if leaks := s.find(logs, nil); len(leaks) > 0 {
			t.Fatalf("secrets in the logs: %v", leaks)
		}
	})
	t.Run("DatabaseDumpHoldsNoPlaintextKey", func(t *testing.T) {
		dump := dumpDatabase(t, g.cfg.DatabaseURL)
		if !strings.Contains(dump, id1) || !strings.Contains(dump, k1[:apikey.DisplayLen]) {
			t.Fatal("the dump does not contain the keys' rows: it dumped the wrong thing")
		}
		skipOrderSignatures := func(kind string) bool { return kind == "order signature" }
		if leaks := s.find(dump, skipOrderSignatures); len(leaks) > 0 {
			t.Fatalf("secrets in the database: %v", leaks)
		}
	})
	t.Run("RedisHoldsNoSecret", func(t *testing.T) {
		if leaks := s.find(dumpRedis(t, g.cfg), nil); len(leaks) > 0 {
			t.Fatalf("secrets in Redis: %v", leaks)
		}
	})
}

// dumpDatabase is pg_dump's output, or every row of every table as text when
// pg_dump is not installed.
func dumpDatabase(t *testing.T, dsn string) string {
	t.Helper()
	if path, err := exec.LookPath("pg_dump"); err == nil {
		out, err := exec.Command(path, "--no-owner", dsn).Output()
		if err != nil {
			t.Fatalf("pg_dump: %v", err)
		}
		return string(out)
	}
	t.Log("pg_dump not found: dumping every table with SELECT")
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT quote_ident(table_name) FROM information_schema.tables WHERE table_schema = 'public'`)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, table := range tables {
		rows, err := conn.Query(ctx, `SELECT t::text FROM `+table+` t`)
		if err != nil {
			t.Fatal(err)
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString(strings.Join(lines, "\n"))
	}
	return b.String()
}

// dumpRedis is every key under the gateway's prefix with its serialised value.
func dumpRedis(t *testing.T, cfg config.Config) string {
	t.Helper()
	ctx := context.Background()
	opt, err := redis.ParseURL(cfg.RedisURL)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	var b strings.Builder
	iter := rdb.Scan(ctx, 0, cfg.RedisPrefix+"*", 1000).Iterator()
	n := 0
	for iter.Next(ctx) {
		v, err := rdb.Dump(ctx, iter.Val()).Result()
		if err != nil && err != redis.Nil {
			t.Fatal(err)
		}
		b.WriteString(iter.Val() + " " + v + "\n")
		n++
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("no Redis keys under the prefix: wrong prefix?")
	}
	return b.String()
}
