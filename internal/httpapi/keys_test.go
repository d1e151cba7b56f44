package httpapi_test

import (
	"encoding/hex"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"

	"github.com/stxgate/stxgate/internal/apikey"
	"github.com/stxgate/stxgate/internal/config"
	"github.com/stxgate/stxgate/pkg/stacks"
)

var keyPattern = regexp.MustCompile(`^ck_live_[0-9A-Za-z]{49}$`)

// highS malleates an RSV signature to (r, n-s, v^1): the same signature in
// high-S form, which the reference libraries' strict mode refuses.
func highS(t *testing.T, sigHex string) string {
	t.Helper()
	b, err := hex.DecodeString(sigHex)
	if err != nil || len(b) != 65 {
		t.Fatalf("bad signature %q", sigHex)
	}
	s := new(big.Int).SetBytes(b[32:64])
	s.Sub(secp256k1.Params().N, s)
	out := append([]byte{}, b[:32]...)
	out = append(out, s.FillBytes(make([]byte, 32))...)
	return hex.EncodeToString(append(out, b[64]^1))
}

func TestCreateKey(t *testing.T) {
	g := newGateway(t)
	a, b := mustWallet(t, privA), mustWallet(t, privB)

	t.Run("BodyForm201", func(t *testing.T) {
		r := g.do("POST", "/api/v1/api-keys", a.envelope(createMsg("My Trading Bot", `["create","execute","cancel"]`, ms(-time.Second))).body(), nil)
		if r.Status != http.StatusCreated {
			t.Fatalf("status %d: %s", r.Status, r.Body)
		}
		m := r.json(t)
		key, _ := m["apiKey"].(string)
		if !keyPattern.MatchString(key) {
			t.Fatalf("apiKey %q does not match %s", key, keyPattern)
		}
		id := m["keyId"].(string)
		assertJSON(t, r.Body, fmt.Sprintf(`{"apiKey":%q,"id":%q,"keyId":%q,"walletAddress":%q,"name":"My Trading Bot",
			"prefix":%q,"status":"active","permissions":["create","execute","cancel"],"rateLimit":100,
			"rateLimits":{"minute":100,"hour":1000,"day":10000},"ipAllowlist":[],"expiresAt":null,
			"createdAt":%q,"updatedAt":%q,"revokedAt":null,"lastUsedAt":null,
			"usageStats":{"totalRequests":0,"successfulRequests":0,"failedRequests":0,"creationCount":0,"executionCount":0,"cancellationCount":0},
			"rotatedFrom":null,"rotatedTo":null}`,
			key, id, id, a.addr, key[:16], nowStamp, nowStamp))
		if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
			t.Fatalf("Cache-Control %q, want no-store", cc)
		}
	})

	t.Run("HeaderForm201", func(t *testing.T) {
		env := a.envelope(createMsg("headers", `["execute"]`, ms(-2*time.Second)))
		r := g.do("POST", "/api/v1/api-keys", "", env.headers())
		expect(t, r, http.StatusCreated, "")
	})

	t.Run("BothFormsAgreeing201", func(t *testing.T) {
		env := a.envelope(createMsg("both", `["execute"]`, ms(-3*time.Second)))
		r := g.do("POST", "/api/v1/api-keys", env.body(), env.headers())
		expect(t, r, http.StatusCreated, "")
	})

	// Encodings real clients send: all must verify.
	encodings := []struct {
		name string
		sig  func(msg string) string
	}{
		{"UpperCaseWith0x", func(msg string) string { return "0x" + strings.ToUpper(a.sign(msg)) }},
		{"VRSOrder", func(msg string) string { s := a.sign(msg); return s[128:] + s[:128] }},
		{"RecoveryIDPlus27", func(msg string) string {
			s := a.sign(msg)
			v, _ := hex.DecodeString(s[128:])
			return s[:128] + hex.EncodeToString([]byte{v[0] + 27})
		}},
		{"LegacyPrefix", func(msg string) string {
			sig, err := stacks.SignHash(a.key, stacks.HashMessageWithPrefix(stacks.PrefixLegacy, []byte(msg)))
			if err != nil {
				t.Fatal(err)
			}
			return sig.String()
		}},
	}
	for i, enc := range encodings {
		t.Run(enc.name+"201", func(t *testing.T) {
			msg := createMsg(enc.name, `["cancel"]`, ms(-time.Duration(10+i)*time.Second))
			env := signed{Message: msg, Signature: enc.sig(msg), WalletAddress: a.addr}
			expect(t, g.do("POST", "/api/v1/api-keys", env.body(), nil), http.StatusCreated, "")
		})
	}

	t.Run("MatchingPublicKey201", func(t *testing.T) {
		env := a.envelope(createMsg("with pubkey", `["execute"]`, ms(-20*time.Second)))
		env.PublicKey = a.pub
		expect(t, g.do("POST", "/api/v1/api-keys", env.body(), nil), http.StatusCreated, "")
	})

	t.Run("ReplayedMessage401", func(t *testing.T) {
		env := a.envelope(createMsg("once", `["execute"]`, ms(-30*time.Second)))
		expect(t, g.do("POST", "/api/v1/api-keys", env.body(), nil), http.StatusCreated, "")
		expect(t, g.do("POST", "/api/v1/api-keys", env.body(), nil), http.StatusUnauthorized, errorBody("Message already used", nil))
		// The same message in another encoding is the same message.
		env.Signature = "0x" + strings.ToUpper(env.Signature)
		expect(t, g.do("POST", "/api/v1/api-keys", env.body(), nil), http.StatusUnauthorized, errorBody("Message already used", nil))
	})

	// Bad input: exact status and body, and nothing written (checked after).
	fresh := func(name string) string { return createMsg(name, `["execute"]`, ms(-time.Minute)) }
	uncompressed := "04" + strings.Repeat("ab", 64)
	cases := []struct {
		name    string
		body    string
		headers map[string]string
		status  int
		want    string
	}{
		{"MalformedJSON400", `{"message":`, nil, 400, errorBody("Request body must be a JSON object", nil)},
		{"BodyNotObject400", `["x"]`, nil, 400, errorBody("Request body must be a JSON object", nil)},
		{"MessageNotString400", fmt.Sprintf(`{"message":5,"signature":"00","walletAddress":%q}`, a.addr), nil, 400,
			errorBody("message must be a string", field("message"))},
		{"MissingMessage400", signed{Signature: a.sign("x"), WalletAddress: a.addr}.body(), nil, 400,
			errorBody("message is required", field("message"))},
		{"MissingSignature400", signed{Message: fresh("x"), WalletAddress: a.addr}.body(), nil, 400,
			errorBody("signature is required", field("signature"))},
		{"MissingWallet400", signed{Message: fresh("x"), Signature: a.sign(fresh("x"))}.body(), nil, 400,
			errorBody("walletAddress is required", field("walletAddress"))},
		{"NonHexSignature400", signed{Message: fresh("x"), Signature: "zz" + a.sign(fresh("x"))[2:], WalletAddress: a.addr}.body(), nil, 400,
			errorBody("signature must be 65 bytes of hex (r, s and a recovery id)", field("signature"))},
		{"ShortSignature400", signed{Message: fresh("x"), Signature: a.sign(fresh("x"))[:128], WalletAddress: a.addr}.body(), nil, 400,
			errorBody("signature must be 65 bytes of hex (r, s and a recovery id)", field("signature"))},
		{"LongSignature400", signed{Message: fresh("x"), Signature: a.sign(fresh("x")) + "00", WalletAddress: a.addr}.body(), nil, 400,
			errorBody("signature must be 65 bytes of hex (r, s and a recovery id)", field("signature"))},
		{"TestnetAddress400", signed{Message: fresh("x"), Signature: a.sign(fresh("x")), WalletAddress: a.key.Address(stacks.Testnet).String()}.body(), nil, 400,
			errorBody("walletAddress belongs to another network (this gateway runs on mainnet)", field("walletAddress"))},
		{"BadChecksumAddress400", signed{Message: fresh("x"), Signature: a.sign(fresh("x")), WalletAddress: a.addr[:len(a.addr)-1] + "S"}.body(), nil, 400,
			errorBody("walletAddress is not a valid Stacks address", field("walletAddress"))},
		{"LowerCaseAddress400", signed{Message: fresh("x"), Signature: a.sign(fresh("x")), WalletAddress: strings.ToLower(a.addr)}.body(), nil, 400,
			errorBody("walletAddress is not a valid Stacks address", field("walletAddress"))},
		{"UnknownPermission400", a.envelope(createMsg("x", `["execute","admin"]`, ms(-time.Minute))).body(), nil, 400,
			errorBody(`Unknown permission "admin" (allowed: create, execute, cancel, read)`, field("permissions"))},
		{"NoPermissions400", a.envelope(createMsg("x", `[]`, ms(-time.Minute))).body(), nil, 400,
			errorBody("permissions must name at least one of create, execute, cancel, read", field("permissions"))},
		{"PermissionsNotArray400", a.envelope(createMsg("x", `"execute"`, ms(-time.Minute))).body(), nil, 400,
			errorBody("message.permissions has the wrong type", field("message.permissions"))},
		{"MissingKeyName400", a.envelope(fmt.Sprintf(`{"action":"create_api_key","permissions":["execute"],"timestamp":%d}`, ms(-time.Minute))).body(), nil, 400,
			errorBody("message.keyName is required", field("message.keyName"))},
		{"BlankKeyName400", a.envelope(createMsg("   ", `["execute"]`, ms(-time.Minute))).body(), nil, 400,
			errorBody("keyName is required", field("keyName"))},
		{"MessageNotJSON400", a.envelope("hello world").body(), nil, 400,
			errorBody("message must be a JSON object", field("message"))},
		{"TimestampAsString400", a.envelope(fmt.Sprintf(`{"action":"create_api_key","keyName":"x","permissions":["execute"],"timestamp":"%d"}`, ms(0))).body(), nil, 400,
			errorBody("message.timestamp must be a positive integer of milliseconds since the Unix epoch", field("message.timestamp"))},
		{"WrongAction400", a.envelope(fmt.Sprintf(`{"action":"list_api_keys","timestamp":%d}`, ms(0))).body(), nil, 400,
			errorBody(`message.action must be "create_api_key"`, field("message.action"))},
		{"StaleTimestamp401", a.envelope(createMsg("x", `["execute"]`, ms(-5*time.Minute-time.Millisecond))).body(), nil, 401,
			errorBody("Message expired", staleDetails(ms(-5*time.Minute-time.Millisecond), ""))},
		{"TimestampInSeconds401", a.envelope(createMsg("x", `["execute"]`, testNow.Unix())).body(), nil, 401,
			errorBody("Message expired", staleDetails(testNow.Unix(), "timestamp looks like seconds; send milliseconds since the Unix epoch"))},
		{"FutureTimestamp401", a.envelope(createMsg("x", `["execute"]`, ms(30*time.Second+time.Millisecond))).body(), nil, 401,
			errorBody("Message timestamp is in the future", staleDetails(ms(30*time.Second+time.Millisecond), ""))},
		{"OtherWalletsSignature401", signed{Message: fresh("x"), Signature: b.sign(fresh("x")), WalletAddress: a.addr}.body(), nil, 401,
			errorBody("Invalid signature", badSignature(a.addr, b.addr))},
		{"TamperedMessage401", signed{Message: fresh("y"), Signature: a.sign(fresh("x")), WalletAddress: a.addr}.body(), nil, 401,
			errorBody("Invalid signature", badSignature(a.addr, recoveredAddress(t, fresh("y"), a.sign(fresh("x")))))},
		{"HighS401", signed{Message: fresh("x"), Signature: highS(t, a.sign(fresh("x"))), WalletAddress: a.addr}.body(), nil, 401,
			errorBody("Invalid signature", map[string]any{"claimedAddress": a.addr,
				"reason": "signature has a high S value; wallets and the reference libraries produce low S"})},
		{"ForeignDomain401", a.envelope(fmt.Sprintf(`{"action":"create_api_key","keyName":"x","permissions":["execute"],"timestamp":%d,"domain":"evil.example"}`, ms(0))).body(), nil, 401,
			errorBody("Message domain does not match this gateway", map[string]any{"messageDomain": "evil.example", "gatewayDomain": nil})},
		{"PublicKeyMismatch401", signed{Message: fresh("x"), Signature: a.sign(fresh("x")), WalletAddress: a.addr, PublicKey: b.pub}.body(), nil, 401,
			errorBody("publicKey does not match the signature", nil)},
		{"UncompressedPublicKey400", signed{Message: fresh("x"), Signature: a.sign(fresh("x")), WalletAddress: a.addr, PublicKey: uncompressed}.body(), nil, 400,
			errorBody("publicKey must be a 33-byte compressed public key", field("publicKey"))},
		{"NonASCIIHeader400", "", map[string]string{"X-Message": `{"keyName":"café"}`, "X-Signature": a.sign("x"), "X-Wallet-Address": a.addr}, 400,
			errorBody("X-Message must be ASCII (send non-ASCII messages in the JSON body)", field("X-Message"))},
		{"BodyAndHeaderDiffer400", a.envelope(fresh("x")).body(), map[string]string{"X-Message": fresh("y")}, 400,
			errorBody("message in the body and X-Message header differ", field("message"))},
		{"BodyTooLarge413", `{"message":"` + strings.Repeat("a", 70000) + `"}`, nil, 413,
			errorBody("Request body too large", nil)},
		{"MessageTooLong400", signed{Message: strings.Repeat("a", 5000), Signature: a.sign("x"), WalletAddress: a.addr}.body(), nil, 400,
			errorBody("message is longer than 4096 bytes", field("message"))},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			expect(t, g.do("POST", "/api/v1/api-keys", tc.body, tc.headers), tc.status, tc.want)
		})
	}

	t.Run("NothingWrittenByRejectedRequests", func(t *testing.T) {
		keys := g.listKeys(t, a)
		for _, k := range keys {
			if name := k["name"].(string); name == "x" || name == "y" {
				t.Fatalf("a rejected request wrote key %v", k)
			}
		}
		if len(g.listKeys(t, b)) != 0 {
			t.Fatal("wallet B has keys")
		}
	})
}

func TestCreateKeyLimitPerWallet(t *testing.T) {
	g := newGateway(t, func(c *config.Config) { c.MaxKeysPerWallet = 2 })
	a := mustWallet(t, privA)
	g.createKey(a, "one", `["execute"]`)
	_, id := g.createKey(a, "two", `["execute"]`)
	r := g.do("POST", "/api/v1/api-keys", a.envelope(createMsg("three", `["execute"]`, ms(-time.Minute))).body(), nil)
	expect(t, r, 400, errorBody("Too many active API keys for this wallet (maximum 2)", map[string]any{"maximum": 2}))
	g.revoke(t, a, id)
	g.createKey(a, "three", `["execute"]`)
}

// listKeys lists w's keys with a fresh list message.
func (g *gateway) listKeys(t *testing.T, w wallet) []map[string]any {
	t.Helper()
	msg := fmt.Sprintf(`{"action":"list_api_keys","timestamp":%d}`, g.clock.Now().UnixMilli())
	r := g.do("GET", "/api/v1/api-keys", "", w.envelope(msg).headers())
	if r.Status != http.StatusOK {
		t.Fatalf("list: %d %s", r.Status, r.Body)
	}
	var out []map[string]any
	for _, k := range r.json(t)["apiKeys"].([]any) {
		out = append(out, k.(map[string]any))
	}
	return out
}

var revokeSeq int64

func (g *gateway) revoke(t *testing.T, w wallet, id string) response {
	t.Helper()
	revokeSeq++
	msg := fmt.Sprintf(`{"action":"delete_api_key","keyId":%q,"timestamp":%d}`, id, g.clock.Now().UnixMilli()-revokeSeq)
	return g.do("DELETE", "/api/v1/api-keys/"+id, w.envelope(msg).body(), nil)
}

func TestListKeys(t *testing.T) {
	g := newGateway(t)
	a, b := mustWallet(t, privA), mustWallet(t, privB)
	secret1, id1 := g.createKey(a, "first", `["execute"]`)
	g.clock.Set(testNow.Add(time.Second))
	secret2, id2 := g.createKey(a, "second", `["cancel","create"]`)
	g.clock.Set(testNow)
	g.createKey(b, "b's", `["execute"]`)

	listMsg := fmt.Sprintf(`{"action":"list_api_keys","timestamp":%d}`, ms(0))
	t.Run("HeaderForm200OldestFirst", func(t *testing.T) {
		r := g.do("GET", "/api/v1/api-keys", "", a.envelope(listMsg).headers())
		expect(t, r, 200, "")
		keys := r.json(t)["apiKeys"].([]any)
		if len(keys) != 2 || keys[0].(map[string]any)["keyId"] != id1 || keys[1].(map[string]any)["keyId"] != id2 {
			t.Fatalf("keys %v", keys)
		}
		if got := keys[1].(map[string]any)["permissions"]; fmt.Sprint(got) != "[create cancel]" {
			t.Fatalf("permissions %v, want canonical order [create cancel]", got)
		}
		for _, secret := range []string{secret1, secret2} {
			if strings.Contains(r.Body, secret) || strings.Contains(r.Body, "hash") {
				t.Fatal("list leaks a secret or its hash")
			}
		}
	})
	t.Run("ListMessageIsReusable200", func(t *testing.T) {
		for range 2 {
			expect(t, g.do("GET", "/api/v1/api-keys", "", a.envelope(listMsg).headers()), 200, "")
		}
	})
	t.Run("EmptyWallet200", func(t *testing.T) {
		c := mustWallet(t, "a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a501")
		expect(t, g.do("GET", "/api/v1/api-keys", "", c.envelope(listMsg).headers()), 200, `{"apiKeys":[]}`)
	})
	t.Run("CreateMessageRefused400", func(t *testing.T) {
		r := g.do("GET", "/api/v1/api-keys", "", a.envelope(createMsg("x", `["execute"]`, ms(0))).headers())
		expect(t, r, 400, errorBody(`message.action must be "list_api_keys"`, field("message.action")))
	})
	t.Run("NoHeaders400", func(t *testing.T) {
		expect(t, g.do("GET", "/api/v1/api-keys", "", nil), 400, errorBody("walletAddress is required", field("walletAddress")))
	})
}

func TestGetKey(t *testing.T) {
	g := newGateway(t)
	a, b := mustWallet(t, privA), mustWallet(t, privB)
	secret, id := g.createKey(a, "bot", `["execute"]`)
	getMsg := func(id string) string {
		return fmt.Sprintf(`{"action":"get_api_key","keyId":%q,"timestamp":%d}`, id, ms(0))
	}
	listMsg := fmt.Sprintf(`{"action":"list_api_keys","timestamp":%d}`, ms(0))

	t.Run("GetMessage200", func(t *testing.T) {
		r := g.do("GET", "/api/v1/api-keys/"+id, "", a.envelope(getMsg(id)).headers())
		expect(t, r, 200, fmt.Sprintf(`{"id":%q,"keyId":%q,"walletAddress":%q,"name":"bot","prefix":%q,"status":"active",
			"permissions":["execute"],"rateLimit":100,"rateLimits":{"minute":100,"hour":1000,"day":10000},"ipAllowlist":[],
			"expiresAt":null,"createdAt":%q,"updatedAt":%q,"revokedAt":null,"lastUsedAt":null,
			"usageStats":{"totalRequests":0,"successfulRequests":0,"failedRequests":0,"creationCount":0,"executionCount":0,"cancellationCount":0},
			"rotatedFrom":null,"rotatedTo":null}`,
			id, id, a.addr, secret[:16], nowStamp, nowStamp))
	})
	t.Run("ListMessage200", func(t *testing.T) {
		expect(t, g.do("GET", "/api/v1/api-keys/"+id, "", a.envelope(listMsg).headers()), 200, "")
	})
	t.Run("OtherWalletsKey404", func(t *testing.T) {
		expect(t, g.do("GET", "/api/v1/api-keys/"+id, "", b.envelope(getMsg(id)).headers()), 404, errorBody("API key not found", nil))
	})
	t.Run("UnknownKey404", func(t *testing.T) {
		expect(t, g.do("GET", "/api/v1/api-keys/nope", "", a.envelope(getMsg("nope")).headers()), 404, errorBody("API key not found", nil))
	})
	t.Run("KeyIDMismatch400", func(t *testing.T) {
		expect(t, g.do("GET", "/api/v1/api-keys/"+id, "", a.envelope(getMsg("other")).headers()), 400,
			errorBody("message.keyId does not match the key in the URL", field("message.keyId")))
	})
}

func TestUpdateKey(t *testing.T) {
	g := newGateway(t)
	a, b := mustWallet(t, privA), mustWallet(t, privB)
	_, id := g.createKey(a, "bot", `["execute"]`)
	seq := 0
	update := func(w wallet, id, fields string) signed {
		seq++
		return w.envelope(fmt.Sprintf(`{"action":"update_api_key","keyId":%q,%s"timestamp":%d}`, id, fields, ms(-time.Duration(seq)*time.Millisecond)))
	}

	t.Run("RenameAndChange200", func(t *testing.T) {
		g.clock.Set(testNow.Add(time.Second))
		defer g.clock.Set(testNow)
		r := g.do("PATCH", "/api/v1/api-keys/"+id, update(a, id, `"keyName":"renamed","permissions":["cancel","execute"],"ipAllowlist":["10.0.0.0/8","192.0.2.7"],`).body(), nil)
		expect(t, r, 200, "")
		m := r.json(t)
		if m["name"] != "renamed" || fmt.Sprint(m["permissions"]) != "[execute cancel]" ||
			fmt.Sprint(m["ipAllowlist"]) != "[10.0.0.0/8 192.0.2.7/32]" || m["updatedAt"] != "2026-11-22T12:00:01.000Z" {
			t.Fatalf("updated view %s", r.Body)
		}
	})
	t.Run("Replay401", func(t *testing.T) {
		env := update(a, id, `"keyName":"again",`)
		expect(t, g.do("PATCH", "/api/v1/api-keys/"+id, env.body(), nil), 200, "")
		expect(t, g.do("PATCH", "/api/v1/api-keys/"+id, env.body(), nil), 401, errorBody("Message already used", nil))
	})
	t.Run("NothingToUpdate400", func(t *testing.T) {
		expect(t, g.do("PATCH", "/api/v1/api-keys/"+id, update(a, id, "").body(), nil), 400,
			errorBody("Nothing to update: send keyName, permissions or ipAllowlist", nil))
	})
	t.Run("BadCIDR400", func(t *testing.T) {
		expect(t, g.do("PATCH", "/api/v1/api-keys/"+id, update(a, id, `"ipAllowlist":["10.0.0.0/33"],`).body(), nil), 400,
			errorBody(`ipAllowlist entry "10.0.0.0/33" is not an IP address or CIDR`, field("ipAllowlist")))
	})
	t.Run("OtherWallet404", func(t *testing.T) {
		expect(t, g.do("PATCH", "/api/v1/api-keys/"+id, update(b, id, `"keyName":"mine",`).body(), nil), 404, errorBody("API key not found", nil))
	})
	t.Run("RevokedKey400", func(t *testing.T) {
		_, id2 := g.createKey(a, "doomed", `["execute"]`)
		expect(t, g.revoke(t, a, id2), 200, "")
		expect(t, g.do("PATCH", "/api/v1/api-keys/"+id2, update(a, id2, `"keyName":"zombie",`).body(), nil), 400, errorBody("API key revoked", nil))
	})
}

func TestRevokeKey(t *testing.T) {
	g := newGateway(t)
	a, b := mustWallet(t, privA), mustWallet(t, privB)
	secret, id := g.createKey(a, "My Trading Bot", `["execute"]`)
	self := func() response {
		return g.do("GET", "/api/v1/api-keys/self", "", map[string]string{"X-API-Key": secret})
	}

	t.Run("OtherWallet404KeyStillWorks", func(t *testing.T) {
		expect(t, g.revoke(t, b, id), 404, errorBody("API key not found", nil))
		expect(t, self(), 200, "")
	})
	t.Run("KeyIDMismatch400", func(t *testing.T) {
		msg := fmt.Sprintf(`{"action":"delete_api_key","keyId":"other","timestamp":%d}`, ms(0))
		expect(t, g.do("DELETE", "/api/v1/api-keys/"+id, a.envelope(msg).body(), nil), 400,
			errorBody("message.keyId does not match the key in the URL", field("message.keyId")))
	})
	t.Run("Revoke200ThenKeyInactive401", func(t *testing.T) {
		msg := fmt.Sprintf(`{"action":"delete_api_key","keyId":%q,"timestamp":%d}`, id, ms(-time.Second))
		env := a.envelope(msg)
		expect(t, g.do("DELETE", "/api/v1/api-keys/"+id, "", env.headers()), 200, `{"message":"API key 'My Trading Bot' has been revoked"}`)
		expect(t, self(), 401, errorBody("API key inactive", nil))
		expect(t, g.do("DELETE", "/api/v1/api-keys/"+id, env.body(), nil), 401, errorBody("Message already used", nil))
		keys := g.listKeys(t, a)
		if keys[0]["status"] != "revoked" || keys[0]["revokedAt"] != nowStamp {
			t.Fatalf("listed %v", keys[0])
		}
	})
	t.Run("RevokeAgainIsIdempotent200", func(t *testing.T) {
		g.clock.Set(testNow.Add(time.Minute))
		defer g.clock.Set(testNow)
		expect(t, g.revoke(t, a, id), 200, `{"message":"API key 'My Trading Bot' has been revoked"}`)
		// Nothing was written: the key still shows the first revocation.
		if k := g.listKeys(t, a)[0]; k["updatedAt"] != nowStamp || k["revokedAt"] != nowStamp {
			t.Fatalf("second revoke rewrote the key: %v", k)
		}
	})
}

func TestSelfAndKeyAuthentication(t *testing.T) {
	g := newGateway(t)
	a := mustWallet(t, privA)
	secret, id := g.createKey(a, "bot", `["execute"]`)
	unknown, _ := apikey.NewSecret(stacks.Mainnet)
	testnetKey, _ := apikey.NewSecret(stacks.Testnet)
	mutated := secret[:20] + string(secret[20]^1) + secret[21:]

	cases := []struct {
		name    string
		headers map[string]string
		status  int
		want    string
	}{
		{"XAPIKey200", map[string]string{"X-API-Key": secret}, 200, ""},
		{"AuthorizationApiKey200", map[string]string{"Authorization": "ApiKey " + secret}, 200, ""},
		{"AuthorizationBearer200", map[string]string{"Authorization": "Bearer " + secret}, 200, ""},
		{"BothHeadersAgree200", map[string]string{"X-API-Key": secret, "Authorization": "ApiKey " + secret}, 200, ""},
		{"BothHeadersDiffer400", map[string]string{"X-API-Key": secret, "Authorization": "ApiKey " + unknown.String()}, 400,
			errorBody("X-API-Key and Authorization carry different API keys", field("X-API-Key"))},
		{"BadAuthorizationScheme400", map[string]string{"Authorization": "Basic " + secret}, 400,
			errorBody(`Authorization must be "ApiKey <key>" or "Bearer <key>"`, field("Authorization"))},
		{"NoKey401", nil, 401, errorBody("API key required", nil)},
		{"Malformed401", map[string]string{"X-API-Key": "hello"}, 401, errorBody("Invalid API key", nil)},
		{"ChecksumMismatch401", map[string]string{"X-API-Key": mutated}, 401, errorBody("Invalid API key", nil)},
		{"UnknownKey401", map[string]string{"X-API-Key": unknown.String()}, 401, errorBody("Invalid API key", nil)},
		{"TestnetKeyOnMainnet401", map[string]string{"X-API-Key": testnetKey.String()}, 401,
			errorBody("API key is for another network", map[string]any{"keyNetwork": "testnet", "gatewayNetwork": "mainnet"})},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := g.do("GET", "/api/v1/api-keys/self", "", tc.headers)
			expect(t, r, tc.status, tc.want)
			if tc.status == 200 && r.json(t)["keyId"] != id {
				t.Fatalf("self returned %s", r.Body)
			}
		})
	}

	t.Run("Suspended401ThenRestored200", func(t *testing.T) {
		ctx := t.Context()
		if _, err := g.app.Keys.OperatorSetSuspended(ctx, id, true, ""); err != nil {
			t.Fatal(err)
		}
		expect(t, g.do("GET", "/api/v1/api-keys/self", "", map[string]string{"X-API-Key": secret}), 401, errorBody("API key inactive", nil))
		if _, err := g.app.Keys.OperatorSetSuspended(ctx, id, false, ""); err != nil {
			t.Fatal(err)
		}
		expect(t, g.do("GET", "/api/v1/api-keys/self", "", map[string]string{"X-API-Key": secret}), 200, "")
	})

	t.Run("Expired401", func(t *testing.T) {
		msg := fmt.Sprintf(`{"action":"create_api_key","keyName":"short","permissions":["execute"],"expiresAt":"2026-11-22T13:00:00Z","timestamp":%d}`, ms(-time.Second))
		r := g.do("POST", "/api/v1/api-keys", a.envelope(msg).body(), nil)
		expect(t, r, 201, "")
		short := r.json(t)["apiKey"].(string)
		if r.json(t)["expiresAt"] != "2026-11-22T13:00:00.000Z" {
			t.Fatalf("expiresAt %v", r.json(t)["expiresAt"])
		}
		expect(t, g.do("GET", "/api/v1/api-keys/self", "", map[string]string{"X-API-Key": short}), 200, "")
		g.clock.Set(testNow.Add(2 * time.Hour))
		defer g.clock.Set(testNow)
		expect(t, g.do("GET", "/api/v1/api-keys/self", "", map[string]string{"X-API-Key": short}), 401,
			`{"error":"API key inactive","code":"api_key_inactive","timestamp":"2026-11-22T14:00:00.000Z"}`)
		for _, k := range g.listKeys(t, a) {
			if k["name"] == "short" && k["status"] != "expired" {
				t.Fatalf("expired key listed as %v", k["status"])
			}
		}
	})

	t.Run("IPAllowlist", func(t *testing.T) {
		msg := fmt.Sprintf(`{"action":"create_api_key","keyName":"fenced","permissions":["execute"],"ipAllowlist":["10.0.0.0/8"],"timestamp":%d}`, ms(-2*time.Second))
		r := g.do("POST", "/api/v1/api-keys", a.envelope(msg).body(), nil)
		expect(t, r, 201, "")
		fenced := r.json(t)["apiKey"].(string)
		from := func(remote, xff string) response {
			req := httptest.NewRequest("GET", "/api/v1/api-keys/self", nil)
			req.RemoteAddr = remote
			req.Header.Set("X-API-Key", fenced)
			if xff != "" {
				req.Header.Set("X-Forwarded-For", xff)
			}
			rec := httptest.NewRecorder()
			g.h.ServeHTTP(rec, req)
			return response{Status: rec.Code, Header: rec.Header(), Body: rec.Body.String()}
		}
		denied := errorBody("API key not allowed from this IP address", nil)
		expect(t, from("10.1.2.3:5555", ""), 200, "")
		expect(t, from("192.0.2.1:5555", ""), 403, denied)
		// X-Forwarded-For is not believed without trusted proxies: no spoofing.
		expect(t, from("192.0.2.1:5555", "10.1.2.3"), 403, denied)
	})
}

func TestUnknownRouteAndMethod(t *testing.T) {
	g := newGateway(t)
	expect(t, g.do("GET", "/api/v1/nope", "", nil), 404, errorBody("Not found", nil))
	expect(t, g.do("PUT", "/api/v1/api-keys", "{}", nil), 405, errorBody("Method not allowed", nil))
}

func TestHealth(t *testing.T) {
	g := newGateway(t)
	expect(t, g.do("GET", "/healthz", "", nil), 200, `{"status":"ok"}`)
	expect(t, g.do("GET", "/readyz", "", nil), 200, `{"status":"ready","checks":{"postgres":"ok","redis":"ok"}}`)
}
