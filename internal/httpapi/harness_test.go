package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stxgate/stxgate/internal/app"
	"github.com/stxgate/stxgate/internal/config"
	"github.com/stxgate/stxgate/internal/syncbuf"
	"github.com/stxgate/stxgate/internal/testgateway"
	"github.com/stxgate/stxgate/pkg/stacks"
)

// Fixed keys from shared/vectors (stacks.js doc key, Clarinet wallet_1).
const (
	privA = "73a2f291df5a8ce3ceb668a25ac7af45639513af7596d710ddf59f64f484fd2801"
	privB = "7287ba251d44a4d3fd9276c88ce34c5c52a038955511cccaf77e61068649c17801"
)

// testNow is the gateway clock in tests: fixed, so error timestamps are exact.
var testNow = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

const nowStamp = "2026-11-22T12:00:00.000Z"

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// gateway is an in-process gateway on a fresh PostgreSQL database and Redis prefix.
type gateway struct {
	t     *testing.T
	h     http.Handler
	app   *app.App
	cfg   config.Config
	opts  app.Options
	clock *clock
	logs  *syncbuf.Buffer
}

type setupOpt func(*config.Config)

func newGateway(t *testing.T, opts ...setupOpt) *gateway {
	t.Helper()
	cfg := testgateway.Config(t)
	for _, o := range opts {
		o(&cfg)
	}
	return startGateway(t, cfg, &clock{t: testNow})
}

// twin starts a second gateway instance on the same PostgreSQL database and
// Redis prefix, as a second process behind a load balancer would be.
func (g *gateway) twin() *gateway { return startGatewayWith(g.t, g.cfg, g.clock, g.opts) }

func startGateway(t *testing.T, cfg config.Config, clk *clock) *gateway {
	t.Helper()
	return startGatewayWith(t, cfg, clk, app.Options{})
}

func startGatewayWith(t *testing.T, cfg config.Config, clk *clock, opts app.Options) *gateway {
	t.Helper()
	opts.Now = clk.Now
	logs := &syncbuf.Buffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	a, err := app.New(context.Background(), cfg, log, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	return &gateway{t: t, h: a.Handler(), app: a, cfg: cfg, opts: opts, clock: clk, logs: logs}
}

// wallet signs messages like Leather does (signMessageHashRsv over hashMessage).
type wallet struct {
	key  *stacks.PrivateKey
	addr string
	pub  string
}

func mustWallet(t testing.TB, hexKey string) wallet {
	t.Helper()
	k := testgateway.Key(t, hexKey)
	return wallet{key: k, addr: k.Address(stacks.Mainnet).String(), pub: fmt.Sprintf("%x", k.PublicKey())}
}

func (w wallet) sign(msg string) string {
	sig, err := stacks.SignMessage(w.key, []byte(msg))
	if err != nil {
		panic(err) // the test wallets' keys are valid
	}
	return sig
}

// signed is a wallet-signed request envelope.
type signed struct {
	Message       string `json:"message,omitempty"`
	Signature     string `json:"signature,omitempty"`
	WalletAddress string `json:"walletAddress,omitempty"`
	PublicKey     string `json:"publicKey,omitempty"`
}

func (w wallet) envelope(msg string) signed {
	return signed{Message: msg, Signature: w.sign(msg), WalletAddress: w.addr}
}

func (e signed) body() string {
	b, _ := json.Marshal(e)
	return string(b)
}

func (e signed) headers() map[string]string {
	h := map[string]string{"X-Message": e.Message, "X-Signature": e.Signature, "X-Wallet-Address": e.WalletAddress}
	if e.PublicKey != "" {
		h["X-Public-Key"] = e.PublicKey
	}
	return h
}

// ms is the gateway clock plus d, in milliseconds, for message timestamps.
func ms(d time.Duration) int64 { return testNow.Add(d).UnixMilli() }

func createMsg(name string, perms string, ts int64) string {
	return fmt.Sprintf(`{"action":"create_api_key","keyName":%q,"permissions":%s,"timestamp":%d}`, name, perms, ts)
}

// response is a recorded answer.
type response struct {
	Status int
	Header http.Header
	Body   string
}

func (r response) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(r.Body), &m); err != nil {
		t.Fatalf("body is not a JSON object: %v\n%s", err, r.Body)
	}
	return m
}

func (g *gateway) do(method, path, body string, headers map[string]string) response {
	g.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	return g.serve(req, headers)
}

// serve answers req, with headers set on it, in process.
func (g *gateway) serve(req *http.Request, headers map[string]string) response {
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	g.h.ServeHTTP(rec, req)
	return response{Status: rec.Code, Header: rec.Header(), Body: rec.Body.String()}
}

// createKey makes a key for w and returns (apiKey, keyId).
func (g *gateway) createKey(w wallet, name, perms string) (string, string) {
	g.t.Helper()
	r := g.do("POST", "/api/v1/api-keys", w.envelope(createMsg(name, perms, ms(-time.Second))).body(), nil)
	if r.Status != http.StatusCreated {
		g.t.Fatalf("create key: %d %s", r.Status, r.Body)
	}
	m := r.json(g.t)
	return m["apiKey"].(string), m["keyId"].(string)
}

// errorBody is the exact error answer for text (and details, if any).
func errorBody(text string, details map[string]any) string {
	m := map[string]any{"error": text, "code": wantCode(text), "timestamp": nowStamp}
	if details != nil {
		m["details"] = details
	}
	b, _ := json.Marshal(m)
	return string(b)
}

func field(name string) map[string]any { return map[string]any{"field": name} }

// badSignature is the details of an "Invalid signature" whose key recovers to recovered.
func badSignature(claimed, recovered string) map[string]any {
	return map[string]any{"claimedAddress": claimed, "recoveredAddress": recovered,
		"reason": "the signature recovers another wallet: a different key signed, or it signed other text than message (sign the exact message string)"}
}

// recoveredAddress is the mainnet address of the key that sig (RSV, current
// prefix) recovers to over msg.
func recoveredAddress(t testing.TB, msg, sig string) string {
	t.Helper()
	cands, err := stacks.DecodeSignature(sig)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := stacks.RecoverPublicKey(stacks.HashMessage([]byte(msg)), cands[0])
	if err != nil {
		t.Fatal(err)
	}
	a, err := stacks.AddressFromPublicKey(pub, stacks.Mainnet)
	if err != nil {
		t.Fatal(err)
	}
	return a.String()
}

// staleDetails is the details of a message refused for its timestamp ts.
func staleDetails(ts int64, hint string) map[string]any {
	d := map[string]any{"messageTimestamp": ts, "serverTime": testNow.UnixMilli(), "windowSeconds": 300, "skewSeconds": 30}
	if hint != "" {
		d["hint"] = hint
	}
	return d
}

// assertJSON compares JSON documents, ignoring formatting and key order.
func assertJSON(t testing.TB, got, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		t.Fatalf("got invalid JSON %q: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("want invalid JSON %q: %v", want, err)
	}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if !bytes.Equal(gb, wb) {
		t.Fatalf("body mismatch\n got: %s\nwant: %s", gb, wb)
	}
}

// expect asserts status and exact JSON body.
func expect(t testing.TB, r response, status int, body string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d; body %s", r.Status, status, r.Body)
	}
	if body != "" {
		assertJSON(t, r.Body, body)
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// wantCodes is the code each error text must come with: the test's own copy
// of the contract, so a changed code fails here. Texts not listed are
// malformed input (invalid_request); wantCode matches the formatted ones.
var wantCodes = map[string]string{
	"Not found":                             "not_found",
	"Method not allowed":                    "method_not_allowed",
	"Request body too large":                "payload_too_large",
	"Request body must be a JSON object":    "invalid_json",
	"Content-Type must be application/json": "invalid_content_type",
	"Rate limit exceeded":                   "rate_limited",
	"Internal server error":                 "internal_error",
	"signature must be 65 bytes of hex (r, s and a recovery id)": "malformed_signature",
	"Invalid signature":                                            "invalid_signature",
	"publicKey does not match the signature":                       "public_key_mismatch",
	"Message already used":                                         "message_replayed",
	"Message expired":                                              "message_expired",
	"Message timestamp is in the future":                           "message_from_future",
	"Message is for another network":                               "wrong_network",
	`Message network is required on testnet ("network":"testnet")`: "network_required",
	"Message domain does not match this gateway":                   "domain_mismatch",
	"Message domain is required by this gateway":                   "domain_required",
	"message must be a JSON object":                                "message_not_json",
	"message must be a single JSON object":                         "message_not_json",
	"message has a duplicate key":                                  "message_duplicate_key",
	`message must not \u-escape printable ASCII characters`:        "message_escaped_ascii",
	"message must be valid UTF-8 (no unpaired surrogates)":         "message_invalid_utf8",
	"API key or wallet signature required":                         "auth_required",
	"API key required":                                             "api_key_required",
	"Invalid API key":                                              "invalid_api_key",
	"API key is for another network":                               "api_key_wrong_network",
	"API key inactive":                                             "api_key_inactive",
	"API key not allowed from this IP address":                     "api_key_ip_denied",
	"API key not authorized for this wallet":                       "api_key_wrong_wallet",
	"API key not found":                                            "api_key_not_found",
	"API key revoked":                                              "api_key_revoked",
	"API key suspended":                                            "api_key_suspended",
	"API key expired":                                              "api_key_expired",
	"API key already rotated":                                      "api_key_already_rotated",
	"Wallet signature required: API keys are not accepted here":    "wallet_signature_required",
	"X-API-Key and Authorization carry different API keys":         "api_key_headers_differ",
	"Invalid operator token":                                       "invalid_operator_token",
	"Order not found":                                              "order_not_found",
	"Order not open":                                               "order_not_open",
	"Order not yet valid":                                          "order_not_yet_valid",
	"Duplicate order uuid":                                         "duplicate_order",
	"Invalid order signature":                                      "invalid_order_signature",
	"Wallet not authorized for this order":                         "wallet_not_owner",
	"Too many order event streams from this address":               "too_many_streams",
	"Order event streams are shutting down":                        "service_unavailable",
}

func wantCode(text string) string {
	if c, ok := wantCodes[text]; ok {
		return c
	}
	for prefix, c := range map[string]string{
		"Service unavailable":                      "service_unavailable",
		"Settlement failed: ":                      "settlement_failed",
		"Settlement outcome unknown":               "settlement_unknown",
		"API key does not have the ":               "permission_denied",
		"message.action must be ":                  "wrong_action",
		"walletAddress belongs to another network": "wallet_wrong_network",
		"Too many active API keys":                 "too_many_api_keys",
	} {
		if strings.HasPrefix(text, prefix) {
			return c
		}
	}
	return "invalid_request"
}
