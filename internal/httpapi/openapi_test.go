package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/stxgate/stxgate/internal/config"
	"github.com/stxgate/stxgate/internal/httpapi"
	"github.com/stxgate/stxgate/internal/order"
)

// The contract test: every request below goes through the real gateway
// (PostgreSQL + Redis) and both the request and the answer are validated
// against internal/httpapi/openapi.yaml with kin-openapi. Response schemas
// forbid unknown fields, every documented status of every operation must be
// produced by some exchange, and headers the document does not name fail too.

// contract validates exchanges against the document and counts what they covered.
type contract struct {
	doc    *openapi3.T
	router routers.Router
	seen   map[string]map[int]bool // operationId → statuses answered
}

func loadContract(t testing.TB) *contract {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(httpapi.OpenAPIDocument())
	if err != nil {
		t.Fatalf("load openapi.yaml: %v", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		t.Fatalf("openapi.yaml is not a valid OpenAPI document: %v", err)
	}
	doc.Servers = nil // match the test requests whatever their host
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatalf("router: %v", err)
	}
	return &contract{doc: doc, router: router, seen: map[string]map[int]bool{}}
}

// authenticate checks that a security scheme's credential is present and well
// formed; whether the key is valid is the gateway's business.
func authenticate(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	h := in.RequestValidationInput.Request.Header
	switch in.SecuritySchemeName {
	case "ApiKeyHeader":
		if h.Get("X-API-Key") == "" {
			return errors.New("no X-API-Key")
		}
		return nil
	case "ApiKeyAuthorization":
		scheme, key, _ := strings.Cut(h.Get("Authorization"), " ")
		if key == "" || !(strings.EqualFold(scheme, "ApiKey") || strings.EqualFold(scheme, "Bearer")) {
			return errors.New("no Authorization: ApiKey <key>")
		}
		return nil
	case "OperatorToken":
		scheme, token, _ := strings.Cut(h.Get("Authorization"), " ")
		if token == "" || !strings.EqualFold(scheme, "Bearer") {
			return errors.New("no Authorization: Bearer <operator token>")
		}
		return nil
	}
	return fmt.Errorf("unknown security scheme %q", in.SecuritySchemeName)
}

// exchange is one request and the status the gateway must answer.
type exchange struct {
	name           string
	method, path   string
	body           string
	headers        map[string]string
	ip             string // client address (fresh ones dodge the per-IP limits)
	status         int
	invalidRequest bool            // the request breaks the document on purpose: its validation must fail
	wantError      string          // when set, the answer's "error" text
	ctx            context.Context // the request's context (a stream ends with it); nil: background
}

// do sends x to g, validates request and answer, and returns the answer.
func (c *contract) do(t *testing.T, g *gateway, x exchange) response {
	t.Helper()
	newReq := func() *http.Request {
		var body io.Reader
		if x.body != "" {
			body = strings.NewReader(x.body)
		}
		req := httptest.NewRequest(x.method, x.path, body)
		if x.body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		for k, v := range x.headers {
			req.Header.Set(k, v)
		}
		ip := x.ip
		if ip == "" {
			ip = "192.0.2.10"
		}
		req.RemoteAddr = ip + ":40000"
		if x.ctx != nil {
			req = req.WithContext(x.ctx)
		}
		return req
	}
	ctx := context.Background()
	vreq := newReq()
	route, params, err := c.router.FindRoute(vreq)
	if err != nil {
		t.Fatalf("%s: %s %s is no operation of the document: %v", x.name, x.method, x.path, err)
	}
	reqIn := &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: authenticate, MultiError: true}}
	reqErr := openapi3filter.ValidateRequest(ctx, reqIn)
	switch {
	case x.invalidRequest && reqErr == nil:
		t.Errorf("%s: the document accepts a request the test sends as invalid", x.name)
	case !x.invalidRequest && reqErr != nil:
		t.Errorf("%s: request does not match the document: %v", x.name, reqErr)
	}

	rec := httptest.NewRecorder()
	g.h.ServeHTTP(rec, newReq())
	r := response{Status: rec.Code, Header: rec.Header(), Body: rec.Body.String()}
	if r.Status != x.status {
		t.Fatalf("%s: status %d, want %d; body %s", x.name, r.Status, x.status, r.Body)
	}
	if x.wantError != "" {
		if got, _ := r.json(t)["error"].(string); got != x.wantError {
			t.Errorf("%s: error %q, want %q", x.name, got, x.wantError)
		}
	}
	if err := c.validateResponse(reqIn, r); err != nil {
		t.Errorf("%s: answer does not match the document: %v\nbody: %.2000s", x.name, err, r.Body)
	}
	op := route.Operation.OperationID
	if c.seen[op] == nil {
		c.seen[op] = map[int]bool{}
	}
	c.seen[op][r.Status] = true
	return r
}

// standardHeaders may appear on any answer without being documented.
var standardHeaders = []string{"Content-Type", "Content-Length", "Date"}

// validateResponse checks an answer: status documented, headers as documented
// (and none undocumented), body against its schema.
func (c *contract) validateResponse(reqIn *openapi3filter.RequestValidationInput, r response) error {
	respIn := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: reqIn,
		Status:                 r.Status,
		Header:                 r.Header,
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	respIn.SetBodyBytes([]byte(r.Body))
	if err := openapi3filter.ValidateResponse(context.Background(), respIn); err != nil {
		return err
	}
	documented := map[string]bool{}
	if ref := reqIn.Route.Operation.Responses.Status(r.Status); ref != nil && ref.Value != nil {
		for name := range ref.Value.Headers {
			documented[http.CanonicalHeaderKey(name)] = true
		}
	}
	for name := range r.Header {
		if !documented[name] && !slices.Contains(standardHeaders, name) {
			return fmt.Errorf("header %s is not documented for %d", name, r.Status)
		}
	}
	return nil
}

// assertCoverage fails for every documented (operation, status) no exchange produced.
func (c *contract) assertCoverage(t *testing.T) {
	t.Helper()
	var missing []string
	for path, item := range c.doc.Paths.Map() {
		for method, op := range item.Operations() {
			for status := range op.Responses.Map() {
				var code int
				fmt.Sscan(status, &code)
				if !c.seen[op.OperationID][code] {
					missing = append(missing, fmt.Sprintf("%s (%s %s) %s", op.OperationID, method, path, status))
				}
			}
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("documented answers no exchange produced:\n  %s", strings.Join(missing, "\n  "))
	}
}

// contractOperatorToken turns the operator API on in the contract's gateways.
const contractOperatorToken = "op_contract_0123456789abcdef0123456789abcdef"

func withContractOperator(cfg *config.Config) { cfg.OperatorToken = contractOperatorToken }

func contractOperatorHeader() map[string]string {
	return map[string]string{"Authorization": "Bearer " + contractOperatorToken}
}

// freshIPs returns client addresses never used before, so each per-IP budget starts full.
func freshIPs() func() string {
	n := 0
	return func() string { n++; return fmt.Sprintf("198.51.100.%d", n) }
}

func TestOpenAPIDocumentIsValid(t *testing.T) {
	c := loadContract(t)
	if !c.doc.IsOpenAPI31OrLater() || c.doc.OpenAPI != "3.1.0" {
		t.Fatalf("openapi %q, want 3.1.0", c.doc.OpenAPI)
	}
	ids := map[string]bool{}
	for path, item := range c.doc.Paths.Map() {
		for method, op := range item.Operations() {
			if op.OperationID == "" || ids[op.OperationID] {
				t.Errorf("%s %s: operationId %q missing or repeated", method, path, op.OperationID)
			}
			ids[op.OperationID] = true
		}
	}
}

// TestOpenAPILicenseIsTheRepositoryLicense: the document announces the
// license the repository's LICENSE file grants, and LICENSE is its full text.
func TestOpenAPILicenseIsTheRepositoryLicense(t *testing.T) {
	c := loadContract(t)
	if l := c.doc.Info.License; l == nil || l.Name != "Apache License 2.0" || l.Identifier != "Apache-2.0" || l.URL != "" {
		t.Fatalf("info.license = %+v, want Apache License 2.0 (Apache-2.0)", l)
	}
	text, err := os.ReadFile("../../LICENSE")
	if err != nil {
		t.Fatal(err)
	}
	s := string(text)
	for _, want := range []string{"Apache License\n                           Version 2.0, January 2004",
		"TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION", "9. Accepting Warranty or Additional Liability.", "END OF TERMS AND CONDITIONS"} {
		if !strings.Contains(s, want) {
			t.Errorf("LICENSE lacks %q: not the full Apache-2.0 text", want)
		}
	}
}

// TestOpenAPIRoutesMatchServer: every API route the server registers is in
// the document and every documented operation is a route of the server.
func TestOpenAPIRoutesMatchServer(t *testing.T) {
	g := newGateway(t, withContractOperator)
	c := loadContract(t)
	api := func(path string) bool {
		return strings.HasPrefix(path, "/api/") || slices.Contains([]string{"/healthz", "/readyz", "/metrics", "/openapi.yaml"}, path)
	}
	served := map[string]bool{}
	for _, r := range g.app.Server.Echo().Routes() {
		// HEAD twins every GET (TestEveryGETRouteAnswersHEAD); the document says so once.
		if !api(r.Path) || r.Method == "echo_route_not_found" || r.Method == http.MethodHead {
			continue
		}
		path := r.Path
		for _, seg := range strings.Split(path, "/") {
			if strings.HasPrefix(seg, ":") {
				path = strings.Replace(path, seg, "{"+seg[1:]+"}", 1)
			}
		}
		served[r.Method+" "+path] = true
	}
	documented := map[string]bool{}
	for path, item := range c.doc.Paths.Map() {
		for method := range item.Operations() {
			documented[method+" "+path] = true
		}
	}
	for route := range served {
		if !documented[route] {
			t.Errorf("route %s is not in openapi.yaml", route)
		}
	}
	optional := map[string]bool{"GET /metrics": true} // served here only when metrics share the API listener
	for op := range documented {
		if !served[op] && !optional[op] {
			t.Errorf("openapi.yaml documents %s, which the server does not serve", op)
		}
	}
}

func TestOpenAPIServedDocument(t *testing.T) {
	g := newGateway(t)
	r := g.do("GET", "/openapi.yaml", "", nil)
	if r.Status != 200 || r.Header.Get("Content-Type") != "application/yaml" || r.Body != string(httpapi.OpenAPIDocument()) {
		t.Fatalf("GET /openapi.yaml: %d %q, body equal to the embedded document: %v",
			r.Status, r.Header.Get("Content-Type"), r.Body == string(httpapi.OpenAPIDocument()))
	}
}

// TestOpenAPIContract drives every operation through success and error answers.
func TestOpenAPIContract(t *testing.T) {
	c := loadContract(t)
	t.Run("MainGateway", func(t *testing.T) { contractMain(t, c) })
	t.Run("TightLimits429", func(t *testing.T) { contractRateLimited(t, c) })
	t.Run("RedisDown503", func(t *testing.T) { contractRedisDown(t, c) })
	if !t.Failed() {
		c.assertCoverage(t)
	}
}

func keyHeader(k string) map[string]string { return map[string]string{"X-API-Key": k} }

func contractMain(t *testing.T, c *contract) {
	g, sim := newOrderGateway(t, withContractOperator, func(cfg *config.Config) {
		cfg.EventsPerIP = 1
		cfg.WalletLimitMinute = 1000
		cfg.MetricsPublic = true // /metrics is documented for the API listener when asked for
	})
	a, b := mustWallet(t, privA), mustWallet(t, privB)
	ip := freshIPs()
	big := `{"message":"` + strings.Repeat("x", 70_000) + `"}`
	created := func(r response) (string, string) {
		m := r.json(t)
		return m["apiKey"].(string), m["keyId"].(string)
	}
	signedMsg := func(action string, kv ...any) string {
		m := map[string]any{"action": action, "timestamp": ms(-time.Second)}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return mustJSON(m)
	}

	// Operations.
	c.do(t, g, exchange{name: "healthz", method: "GET", path: "/healthz", status: 200})
	c.do(t, g, exchange{name: "readyz", method: "GET", path: "/readyz", status: 200})
	c.do(t, g, exchange{name: "openapi", method: "GET", path: "/openapi.yaml", status: 200})
	for _, r := range g.app.Server.Echo().Routes() {
		if r.Path == "/metrics" {
			c.do(t, g, exchange{name: "metrics", method: "GET", path: "/metrics", status: 200})
		}
	}

	// Key creation: body form, header form, the signature object form.
	first := a.envelope(createMsg("bot", `["create","execute","cancel"]`, ms(-time.Second)))
	keyA, _ := created(c.do(t, g, exchange{name: "create/body", method: "POST", path: "/api/v1/api-keys", body: first.body(), status: 201}))
	execOnly, execOnlyID := created(c.do(t, g, exchange{name: "create/headers", method: "POST", path: "/api/v1/api-keys",
		headers: a.envelope(createMsg("executor", `["execute"]`, ms(-2*time.Second))).headers(), status: 201}))
	msg := createMsg("creator", `["create"]`, ms(-3*time.Second))
	createOnly, _ := created(c.do(t, g, exchange{name: "create/signature-object", method: "POST", path: "/api/v1/api-keys",
		body: mustJSON(map[string]any{"message": msg, "walletAddress": a.addr, "signature": map[string]string{"signature": a.sign(msg), "publicKey": a.pub}}), status: 201}))
	keyB, keyBID := created(c.do(t, g, exchange{name: "create/b", method: "POST", path: "/api/v1/api-keys",
		body: b.envelope(createMsg("b-bot", `["create","execute","cancel"]`, ms(-time.Second))).body(), status: 201}))
	c.do(t, g, exchange{name: "create/unknown-permission", method: "POST", path: "/api/v1/api-keys",
		body: a.envelope(createMsg("x", `["fly"]`, ms(0))).body(), status: 400})
	c.do(t, g, exchange{name: "create/no-message", method: "POST", path: "/api/v1/api-keys", body: `{"walletAddress":"` + a.addr + `"}`, status: 400, wantError: "message is required"})
	c.do(t, g, exchange{name: "create/not-json", method: "POST", path: "/api/v1/api-keys", body: `not json`, status: 400, invalidRequest: true})
	c.do(t, g, exchange{name: "create/bad-address", method: "POST", path: "/api/v1/api-keys",
		body: mustJSON(map[string]string{"message": msg, "signature": a.sign(msg), "walletAddress": "SPNOPE"}), status: 400, invalidRequest: true})
	c.do(t, g, exchange{name: "create/wrong-signature", method: "POST", path: "/api/v1/api-keys",
		body: mustJSON(map[string]string{"message": msg, "signature": a.sign(msg + " "), "walletAddress": a.addr}), status: 401})
	c.do(t, g, exchange{name: "create/replayed", method: "POST", path: "/api/v1/api-keys", body: first.body(), status: 401, wantError: "Message already used"})
	c.do(t, g, exchange{name: "create/expired", method: "POST", path: "/api/v1/api-keys",
		body: a.envelope(createMsg("old", `["execute"]`, ms(-10*time.Minute))).body(), status: 401, wantError: "Message expired"})
	c.do(t, g, exchange{name: "create/too-large", method: "POST", path: "/api/v1/api-keys", body: big, status: 413})

	// Key reads.
	list := a.envelope(signedMsg("list_api_keys"))
	c.do(t, g, exchange{name: "list", method: "GET", path: "/api/v1/api-keys", headers: list.headers(), status: 200})
	c.do(t, g, exchange{name: "list/no-headers", method: "GET", path: "/api/v1/api-keys", status: 400, wantError: "walletAddress is required"})
	c.do(t, g, exchange{name: "list/wrong-action", method: "GET", path: "/api/v1/api-keys",
		headers: a.envelope(createMsg("x", `["execute"]`, ms(0))).headers(), status: 400})
	badList := list
	badList.Signature = a.sign("other")
	c.do(t, g, exchange{name: "list/wrong-signature", method: "GET", path: "/api/v1/api-keys", headers: badList.headers(), status: 401})

	keyPath := "/api/v1/api-keys/" + execOnlyID
	c.do(t, g, exchange{name: "get", method: "GET", path: keyPath, headers: a.envelope(signedMsg("get_api_key", "keyId", execOnlyID)).headers(), status: 200})
	c.do(t, g, exchange{name: "get/list-message", method: "GET", path: keyPath, headers: list.headers(), status: 200})
	c.do(t, g, exchange{name: "get/keyid-mismatch", method: "GET", path: keyPath, headers: a.envelope(signedMsg("get_api_key", "keyId", "other")).headers(), status: 400})
	c.do(t, g, exchange{name: "get/wrong-signature", method: "GET", path: keyPath, headers: badList.headers(), status: 401})
	c.do(t, g, exchange{name: "get/other-wallets-key", method: "GET", path: "/api/v1/api-keys/" + keyBID, headers: list.headers(), status: 404})

	// Self, with both key headers.
	c.do(t, g, exchange{name: "self", method: "GET", path: "/api/v1/api-keys/self", headers: keyHeader(keyA), status: 200})
	c.do(t, g, exchange{name: "self/authorization", method: "GET", path: "/api/v1/api-keys/self", headers: map[string]string{"Authorization": "ApiKey " + keyA}, status: 200})
	c.do(t, g, exchange{name: "self/keys-differ", method: "GET", path: "/api/v1/api-keys/self",
		headers: map[string]string{"X-API-Key": keyA, "Authorization": "ApiKey " + keyB}, status: 400})
	c.do(t, g, exchange{name: "self/basic-auth", method: "GET", path: "/api/v1/api-keys/self", headers: map[string]string{"Authorization": "Basic eDp5"}, status: 400, invalidRequest: true})
	c.do(t, g, exchange{name: "self/no-key", method: "GET", path: "/api/v1/api-keys/self", status: 401, invalidRequest: true, wantError: "API key required"})
	c.do(t, g, exchange{name: "self/unknown-key", method: "GET", path: "/api/v1/api-keys/self", headers: keyHeader("ck_live_nope"), status: 401, wantError: "Invalid API key"})

	// Key updates and revocation.
	c.do(t, g, exchange{name: "update", method: "PATCH", path: keyPath,
		body: a.envelope(signedMsg("update_api_key", "keyId", execOnlyID, "keyName", "executor 2")).body(), status: 200})
	upd := a.envelope(signedMsg("update_api_key", "keyId", execOnlyID, "ipAllowlist", []string{}))
	c.do(t, g, exchange{name: "update/headers", method: "PATCH", path: keyPath, headers: upd.headers(), status: 200})
	c.do(t, g, exchange{name: "update/replayed", method: "PATCH", path: keyPath, headers: upd.headers(), status: 401})
	c.do(t, g, exchange{name: "update/nothing", method: "PATCH", path: keyPath, body: a.envelope(signedMsg("update_api_key", "keyId", execOnlyID)).body(), status: 400})
	c.do(t, g, exchange{name: "update/bad-cidr", method: "PATCH", path: keyPath,
		body: a.envelope(signedMsg("update_api_key", "keyId", execOnlyID, "ipAllowlist", []string{"nope"})).body(), status: 400})
	c.do(t, g, exchange{name: "update/other-wallet", method: "PATCH", path: "/api/v1/api-keys/" + keyBID,
		body: a.envelope(signedMsg("update_api_key", "keyId", keyBID, "keyName", "mine")).body(), status: 404})
	c.do(t, g, exchange{name: "update/too-large", method: "PATCH", path: keyPath, body: big, status: 413})

	_, doomedID := created(c.do(t, g, exchange{name: "create/doomed", method: "POST", path: "/api/v1/api-keys",
		body: a.envelope(createMsg("doomed", `["execute"]`, ms(-4*time.Second))).body(), status: 201}))
	doomed := "/api/v1/api-keys/" + doomedID
	c.do(t, g, exchange{name: "revoke", method: "DELETE", path: doomed, body: a.envelope(signedMsg("delete_api_key", "keyId", doomedID)).body(), status: 200})
	c.do(t, g, exchange{name: "revoke/again", method: "DELETE", path: doomed, headers: a.envelope(signedMsg("delete_api_key", "keyId", doomedID, "nonce", 1)).headers(), status: 200})
	c.do(t, g, exchange{name: "revoke/keyid-mismatch", method: "DELETE", path: doomed, body: a.envelope(signedMsg("delete_api_key", "keyId", "x")).body(), status: 400})
	badRevoke := a.envelope(signedMsg("delete_api_key", "keyId", doomedID, "nonce", 2))
	badRevoke.Signature = a.sign("other")
	c.do(t, g, exchange{name: "revoke/wrong-signature", method: "DELETE", path: doomed, headers: badRevoke.headers(), status: 401})
	c.do(t, g, exchange{name: "revoke/unknown", method: "DELETE", path: "/api/v1/api-keys/nope", body: a.envelope(signedMsg("delete_api_key", "keyId", "nope")).body(), status: 404})
	c.do(t, g, exchange{name: "revoke/too-large", method: "DELETE", path: doomed, body: big, status: 413})
	c.do(t, g, exchange{name: "self/allowlisted-key-elsewhere", method: "GET", path: "/api/v1/api-keys/self",
		headers: keyHeader(createdSecret(t, c, g, a, ip)), ip: "192.0.2.77", status: 403})

	// Orders: create.
	newOrder := func(uuid string) string { return a.order(uuid).body(t) }
	c.do(t, g, exchange{name: "order/create-signed", method: "POST", path: "/api/v1/orders/new", body: newOrder("oa-1"), status: 201})
	c.do(t, g, exchange{name: "order/create-dual", method: "POST", path: "/api/v1/orders/new", body: newOrder("oa-2"), headers: keyHeader(keyA), status: 201})
	c.do(t, g, exchange{name: "order/create-authorization", method: "POST", path: "/api/v1/orders/new", body: newOrder("oa-3"),
		headers: map[string]string{"Authorization": "ApiKey " + createOnly}, status: 201})
	c.do(t, g, exchange{name: "order/duplicate", method: "POST", path: "/api/v1/orders/new", body: newOrder("oa-1"), status: 409})
	c.do(t, g, exchange{name: "order/leading-zero-amount", method: "POST", path: "/api/v1/orders/new", body: with(t, newOrder("oa-x"), "amountIn", "01"), status: 400})
	c.do(t, g, exchange{name: "order/bad-direction", method: "POST", path: "/api/v1/orders/new", body: with(t, newOrder("oa-x"), "direction", "up"), status: 400, invalidRequest: true})
	c.do(t, g, exchange{name: "order/not-json", method: "POST", path: "/api/v1/orders/new", body: `[1]`, status: 400, invalidRequest: true})
	c.do(t, g, exchange{name: "order/other-signer", method: "POST", path: "/api/v1/orders/new", body: with(t, newOrder("oa-x"), "signature", b.order("oa-x").fieldsSig(t)), status: 401})
	c.do(t, g, exchange{name: "order/unknown-key", method: "POST", path: "/api/v1/orders/new", body: newOrder("oa-x"), headers: keyHeader("ck_live_nope"), status: 401})
	c.do(t, g, exchange{name: "order/key-without-create", method: "POST", path: "/api/v1/orders/new", body: newOrder("oa-x"), headers: keyHeader(execOnly), status: 403})
	c.do(t, g, exchange{name: "order/other-wallets-key", method: "POST", path: "/api/v1/orders/new", body: newOrder("oa-x"), headers: keyHeader(keyB), status: 403})
	c.do(t, g, exchange{name: "order/too-large", method: "POST", path: "/api/v1/orders/new", body: big, status: 413, invalidRequest: true})

	// Orders: execute.
	exec := func(uuid string) string { return "/api/v1/orders/" + uuid + "/execute" }
	c.do(t, g, exchange{name: "execute/key", method: "POST", path: exec("oa-1"), headers: keyHeader(keyA), status: 200})
	c.do(t, g, exchange{name: "execute/not-open", method: "POST", path: exec("oa-1"), headers: keyHeader(keyA), status: 400, wantError: "Order not open"})
	c.do(t, g, exchange{name: "execute/authorization", method: "POST", path: exec("oa-2"), headers: map[string]string{"Authorization": "Bearer " + keyA}, status: 200})
	for _, u := range []string{"oa-4", "oa-5", "oa-6", "oa-7", "oa-8"} {
		c.do(t, g, exchange{name: "order/create " + u, method: "POST", path: "/api/v1/orders/new", body: newOrder(u), status: 201})
	}
	signedExec := a.envelope(signedMsg("execute_order", "uuid", "oa-4"))
	c.do(t, g, exchange{name: "execute/signed-headers", method: "POST", path: exec("oa-4"), headers: signedExec.headers(), status: 200})
	c.do(t, g, exchange{name: "execute/replayed", method: "POST", path: exec("oa-4"), headers: signedExec.headers(), status: 401})
	c.do(t, g, exchange{name: "execute/signed-body", method: "POST", path: exec("oa-5"), body: a.envelope(signedMsg("execute_order", "uuid", "oa-5")).body(), status: 200})
	c.do(t, g, exchange{name: "execute/uuid-mismatch", method: "POST", path: exec("oa-6"), headers: a.envelope(signedMsg("execute_order", "uuid", "oa-5")).headers(), status: 400})
	c.do(t, g, exchange{name: "execute/no-credentials", method: "POST", path: exec("oa-6"), status: 401, wantError: "API key or wallet signature required"})
	c.do(t, g, exchange{name: "execute/key-without-execute", method: "POST", path: exec("oa-6"), headers: keyHeader(createOnly), status: 403})
	c.do(t, g, exchange{name: "execute/other-wallets-key", method: "POST", path: exec("oa-6"), headers: keyHeader(keyB), status: 403})
	c.do(t, g, exchange{name: "execute/signed-by-other-wallet", method: "POST", path: exec("oa-6"), headers: b.envelope(signedMsg("execute_order", "uuid", "oa-6")).headers(), status: 403})
	c.do(t, g, exchange{name: "execute/unknown", method: "POST", path: exec("nope"), headers: keyHeader(keyA), status: 404})
	c.do(t, g, exchange{name: "execute/too-large", method: "POST", path: exec("oa-6"), body: big, status: 413})
	sim.FailNext(fmt.Errorf("%w: relayer said no", order.ErrSettlementRejected))
	c.do(t, g, exchange{name: "execute/settlement-rejected", method: "POST", path: exec("oa-6"), headers: keyHeader(keyA), status: 502})
	future := a.order("oa-future")
	future.from, future.to = testNow.Add(time.Hour), testNow.Add(2*time.Hour)
	c.do(t, g, exchange{name: "order/create-future", method: "POST", path: "/api/v1/orders/new", body: future.body(t), status: 201})
	c.do(t, g, exchange{name: "execute/not-yet-valid", method: "POST", path: exec("oa-future"), headers: keyHeader(keyA), status: 400, wantError: "Order not yet valid"})

	// Orders: cancel.
	cancel := func(uuid string) string { return "/api/v1/orders/" + uuid + "/cancel" }
	c.do(t, g, exchange{name: "cancel/key", method: "PATCH", path: cancel("oa-7"), headers: keyHeader(keyA), status: 200})
	c.do(t, g, exchange{name: "cancel/signed", method: "PATCH", path: cancel("oa-8"), body: a.envelope(signedMsg("cancel_order", "uuid", "oa-8")).body(), status: 200})
	c.do(t, g, exchange{name: "cancel/not-open", method: "PATCH", path: cancel("oa-1"), headers: keyHeader(keyA), status: 400})
	c.do(t, g, exchange{name: "cancel/no-credentials", method: "PATCH", path: cancel("oa-6"), status: 401})
	c.do(t, g, exchange{name: "cancel/key-without-cancel", method: "PATCH", path: cancel("oa-6"), headers: keyHeader(execOnly), status: 403})
	c.do(t, g, exchange{name: "cancel/unknown", method: "PATCH", path: cancel("nope"), headers: keyHeader(keyA), status: 404})
	c.do(t, g, exchange{name: "cancel/too-large", method: "PATCH", path: cancel("oa-6"), body: big, status: 413})

	// Orders: public reads.
	c.do(t, g, exchange{name: "get-order/filled", method: "GET", path: "/api/v1/orders/oa-1", status: 200})
	c.do(t, g, exchange{name: "get-order/cancelled", method: "GET", path: "/api/v1/orders/oa-7", status: 200})
	c.do(t, g, exchange{name: "get-order/unknown", method: "GET", path: "/api/v1/orders/nope", status: 404, wantError: "Order not found"})
	c.do(t, g, exchange{name: "get-order/malformed-uuid", method: "GET", path: "/api/v1/orders/no.pe", status: 404, invalidRequest: true})
	page := c.do(t, g, exchange{name: "list-orders/page", method: "GET", path: "/api/v1/orders?owner=" + a.addr + "&status=all&limit=2", status: 200})
	cursor, _ := page.json(t)["nextCursor"].(string)
	if cursor == "" {
		t.Fatalf("first page has no nextCursor: %s", page.Body)
	}
	c.do(t, g, exchange{name: "list-orders/next", method: "GET", path: "/api/v1/orders?limit=2&cursor=" + cursor, status: 200})
	c.do(t, g, exchange{name: "list-orders/filled", method: "GET", path: "/api/v1/orders?status=filled", status: 200})
	c.do(t, g, exchange{name: "list-orders/limit-0", method: "GET", path: "/api/v1/orders?limit=0", status: 400, invalidRequest: true})
	c.do(t, g, exchange{name: "list-orders/bad-status", method: "GET", path: "/api/v1/orders?status=done", status: 400, invalidRequest: true})
	c.do(t, g, exchange{name: "list-orders/bad-owner", method: "GET", path: "/api/v1/orders?owner=SPNOPE", status: 400})
	c.do(t, g, exchange{name: "list-orders/bad-cursor", method: "GET", path: "/api/v1/orders?cursor=bogus", status: 400})

	// Deployment info and audit trails.
	c.do(t, g, exchange{name: "info", method: "GET", path: "/api/v1/info", status: 200})
	audit := a.envelope(signedMsg("list_audit"))
	auditPage := c.do(t, g, exchange{name: "audit/page", method: "GET", path: "/api/v1/audit?limit=1", headers: audit.headers(), status: 200})
	if cur, _ := auditPage.json(t)["nextCursor"].(string); cur == "" {
		t.Errorf("audit page of 1 has no nextCursor: %s", auditPage.Body)
	} else {
		c.do(t, g, exchange{name: "audit/next", method: "GET", path: "/api/v1/audit?limit=1&cursor=" + cur, headers: audit.headers(), status: 200})
	}
	c.do(t, g, exchange{name: "audit/all", method: "GET", path: "/api/v1/audit", headers: audit.headers(), status: 200})
	c.do(t, g, exchange{name: "audit/bad-cursor", method: "GET", path: "/api/v1/audit?cursor=bogus", headers: audit.headers(), status: 400})
	c.do(t, g, exchange{name: "audit/limit-0", method: "GET", path: "/api/v1/audit?limit=0", headers: audit.headers(), status: 400, invalidRequest: true})
	c.do(t, g, exchange{name: "audit/no-headers", method: "GET", path: "/api/v1/audit", status: 400, wantError: "walletAddress is required"})
	badAudit := audit
	badAudit.Signature = a.sign("other")
	c.do(t, g, exchange{name: "audit/wrong-signature", method: "GET", path: "/api/v1/audit", headers: badAudit.headers(), status: 401})
	keyAudit := keyPath + "/audit"
	c.do(t, g, exchange{name: "key-audit", method: "GET", path: keyAudit, headers: a.envelope(signedMsg("get_api_key", "keyId", execOnlyID)).headers(), status: 200})
	c.do(t, g, exchange{name: "key-audit/list-message", method: "GET", path: keyAudit + "?limit=5", headers: list.headers(), status: 200})
	c.do(t, g, exchange{name: "key-audit/keyid-mismatch", method: "GET", path: keyAudit, headers: a.envelope(signedMsg("get_api_key", "keyId", "other")).headers(), status: 400})
	c.do(t, g, exchange{name: "key-audit/wrong-signature", method: "GET", path: keyAudit, headers: badList.headers(), status: 401})
	c.do(t, g, exchange{name: "key-audit/other-wallets-key", method: "GET", path: "/api/v1/api-keys/" + keyBID + "/audit", headers: list.headers(), status: 404})

	// Read keys: the wallet's keys and trail without a signature, nothing else.
	reader, _ := created(c.do(t, g, exchange{name: "create/read-only", method: "POST", path: "/api/v1/api-keys",
		body: a.envelope(createMsg("monitor", `["read"]`, ms(-6*time.Second))).body(), status: 201}))
	c.do(t, g, exchange{name: "list/read-key", method: "GET", path: "/api/v1/api-keys", headers: keyHeader(reader), status: 200})
	c.do(t, g, exchange{name: "list/read-key-authorization", method: "GET", path: "/api/v1/api-keys",
		headers: map[string]string{"Authorization": "ApiKey " + reader}, status: 200})
	c.do(t, g, exchange{name: "list/key-without-read", method: "GET", path: "/api/v1/api-keys", headers: keyHeader(execOnly), status: 403,
		wantError: "API key does not have the read permission"})
	c.do(t, g, exchange{name: "list/unknown-key", method: "GET", path: "/api/v1/api-keys", headers: keyHeader("ck_live_nope"), status: 401})
	c.do(t, g, exchange{name: "audit/read-key", method: "GET", path: "/api/v1/audit?limit=2", headers: keyHeader(reader), status: 200})
	c.do(t, g, exchange{name: "audit/key-without-read", method: "GET", path: "/api/v1/audit", headers: keyHeader(keyA), status: 403})
	c.do(t, g, exchange{name: "audit/read-key-bad-cursor", method: "GET", path: "/api/v1/audit?cursor=bogus", headers: keyHeader(reader), status: 400})
	c.do(t, g, exchange{name: "order/read-key", method: "POST", path: "/api/v1/orders/new", body: newOrder("oa-r"), headers: keyHeader(reader), status: 403,
		wantError: "API key does not have the create permission"})
	c.do(t, g, exchange{name: "execute/read-key", method: "POST", path: exec("oa-6"), headers: keyHeader(reader), status: 403})
	c.do(t, g, exchange{name: "cancel/read-key", method: "PATCH", path: cancel("oa-6"), headers: keyHeader(reader), status: 403})
	noSig := "Wallet signature required: API keys are not accepted here"
	for _, x := range []exchange{
		{name: "create", method: "POST", path: "/api/v1/api-keys"},
		{name: "get", method: "GET", path: keyPath, invalidRequest: true},
		{name: "update", method: "PATCH", path: keyPath},
		{name: "revoke", method: "DELETE", path: keyPath},
		{name: "rotate", method: "POST", path: keyPath + "/rotate"},
		{name: "key-audit", method: "GET", path: keyAudit, invalidRequest: true},
	} {
		x.name, x.headers, x.status, x.wantError = x.name+"/read-key", keyHeader(reader), 403, noSig
		c.do(t, g, x)
	}

	// Rotation.
	_, rotID := created(c.do(t, g, exchange{name: "create/to-rotate", method: "POST", path: "/api/v1/api-keys",
		body: a.envelope(createMsg("rotating", `["execute","read"]`, ms(-7*time.Second))).body(), status: 201}))
	rotate := func(id string) string { return "/api/v1/api-keys/" + id + "/rotate" }
	rot := c.do(t, g, exchange{name: "rotate", method: "POST", path: rotate(rotID),
		body: a.envelope(signedMsg("rotate_api_key", "keyId", rotID, "graceSeconds", 3600)).body(), status: 201})
	_, rot2ID := created(rot)
	if from, _ := rot.json(t)["rotatedFrom"].(string); from != rotID {
		t.Errorf("rotate: rotatedFrom %q, want %q", from, rotID)
	}
	c.do(t, g, exchange{name: "rotate/headers-no-grace", method: "POST", path: rotate(rot2ID),
		headers: a.envelope(signedMsg("rotate_api_key", "keyId", rot2ID)).headers(), status: 201})
	c.do(t, g, exchange{name: "rotate/again", method: "POST", path: rotate(rotID),
		body: a.envelope(signedMsg("rotate_api_key", "keyId", rotID, "nonce", 1)).body(), status: 409, wantError: "API key already rotated"})
	c.do(t, g, exchange{name: "rotate/revoked", method: "POST", path: rotate(doomedID),
		body: a.envelope(signedMsg("rotate_api_key", "keyId", doomedID)).body(), status: 400, wantError: "API key revoked"})
	c.do(t, g, exchange{name: "rotate/grace-too-long", method: "POST", path: rotate(execOnlyID),
		body: a.envelope(signedMsg("rotate_api_key", "keyId", execOnlyID, "graceSeconds", 86401)).body(), status: 400})
	c.do(t, g, exchange{name: "rotate/keyid-mismatch", method: "POST", path: rotate(execOnlyID),
		body: a.envelope(signedMsg("rotate_api_key", "keyId", rotID)).body(), status: 400})
	badRotate := a.envelope(signedMsg("rotate_api_key", "keyId", execOnlyID))
	badRotate.Signature = a.sign("other")
	c.do(t, g, exchange{name: "rotate/wrong-signature", method: "POST", path: rotate(execOnlyID), headers: badRotate.headers(), status: 401})
	c.do(t, g, exchange{name: "rotate/other-wallets-key", method: "POST", path: rotate(keyBID),
		body: a.envelope(signedMsg("rotate_api_key", "keyId", keyBID)).body(), status: 404})
	c.do(t, g, exchange{name: "rotate/too-large", method: "POST", path: rotate(execOnlyID), body: big, status: 413})

	// The operator API.
	admin := "/api/v1/admin/api-keys/"
	wrongToken := map[string]string{"Authorization": "Bearer op_wrong_0123456789abcdef0123456789abcdef"}
	c.do(t, g, exchange{name: "admin/get", method: "GET", path: admin + keyBID, headers: contractOperatorHeader(), status: 200})
	c.do(t, g, exchange{name: "admin/get-wrong-token", method: "GET", path: admin + keyBID, headers: wrongToken, status: 401, wantError: "Invalid operator token"})
	c.do(t, g, exchange{name: "admin/get-no-token", method: "GET", path: admin + keyBID, status: 401, invalidRequest: true})
	c.do(t, g, exchange{name: "admin/get-unknown", method: "GET", path: admin + "nope", headers: contractOperatorHeader(), status: 404})
	c.do(t, g, exchange{name: "admin/suspend", method: "POST", path: admin + keyBID + "/suspend", headers: contractOperatorHeader(), body: `{"reason":"contract test"}`, status: 200})
	c.do(t, g, exchange{name: "admin/suspend-revoked", method: "POST", path: admin + doomedID + "/suspend", headers: contractOperatorHeader(), status: 400, wantError: "API key revoked"})
	c.do(t, g, exchange{name: "admin/suspend-reason-not-string", method: "POST", path: admin + keyBID + "/suspend", headers: contractOperatorHeader(), body: `{"reason":5}`, status: 400, invalidRequest: true})
	c.do(t, g, exchange{name: "admin/suspend-wrong-token", method: "POST", path: admin + keyBID + "/suspend", headers: wrongToken, status: 401})
	c.do(t, g, exchange{name: "admin/suspend-unknown", method: "POST", path: admin + "nope/suspend", headers: contractOperatorHeader(), status: 404})
	c.do(t, g, exchange{name: "admin/suspend-too-large", method: "POST", path: admin + keyBID + "/suspend", headers: contractOperatorHeader(), body: big, status: 413})
	c.do(t, g, exchange{name: "admin/unsuspend", method: "POST", path: admin + keyBID + "/unsuspend", headers: contractOperatorHeader(), status: 200})
	c.do(t, g, exchange{name: "admin/unsuspend-revoked", method: "POST", path: admin + doomedID + "/unsuspend", headers: contractOperatorHeader(), body: `{}`, status: 400})
	c.do(t, g, exchange{name: "admin/unsuspend-wrong-token", method: "POST", path: admin + keyBID + "/unsuspend", headers: wrongToken, status: 401})
	c.do(t, g, exchange{name: "admin/unsuspend-unknown", method: "POST", path: admin + "nope/unsuspend", headers: contractOperatorHeader(), status: 404})
	c.do(t, g, exchange{name: "admin/unsuspend-too-large", method: "POST", path: admin + keyBID + "/unsuspend", headers: contractOperatorHeader(), body: big, status: 413})
	c.do(t, g, exchange{name: "admin/audit", method: "GET", path: admin + keyBID + "/audit", headers: contractOperatorHeader(), status: 200})
	c.do(t, g, exchange{name: "admin/audit-bad-cursor", method: "GET", path: admin + keyBID + "/audit?cursor=bogus", headers: contractOperatorHeader(), status: 400})
	c.do(t, g, exchange{name: "admin/audit-wrong-token", method: "GET", path: admin + keyBID + "/audit", headers: wrongToken, status: 401})
	c.do(t, g, exchange{name: "admin/audit-unknown", method: "GET", path: admin + "nope/audit", headers: contractOperatorHeader(), status: 404})

	// Order event streams: one per client IP in this gateway.
	c.do(t, g, exchange{name: "events/bad-owner", method: "GET", path: "/api/v1/orders/events?owner=SPNOPE", ip: ip(), status: 400})
	c.do(t, g, exchange{name: "events/bad-after", method: "GET", path: "/api/v1/orders/events?after=-1", ip: ip(), status: 400, invalidRequest: true})
	c.do(t, g, exchange{name: "events", method: "GET", path: "/api/v1/orders/events?after=0&owner=" + a.addr, ip: ip(),
		ctx: endOnceStreaming(t, g, 1), status: 200})
	held := ip()
	stop := holdStream(t, g, held)
	c.do(t, g, exchange{name: "events/per-ip", method: "GET", path: "/api/v1/orders/events", ip: held, status: 429,
		wantError: "Too many order event streams from this address"})
	stop()

	// Redis gone: the routes that fail open answer without rate-limit headers.
	if err := g.app.Redis().Close(); err != nil {
		t.Fatal(err)
	}
	r := c.do(t, g, exchange{name: "fail-open/list-orders", method: "GET", path: "/api/v1/orders", status: 200})
	if r.Header.Get("X-RateLimit-Limit") != "" {
		t.Errorf("fail-open answer carries X-RateLimit-Limit")
	}
	c.do(t, g, exchange{name: "fail-open/self", method: "GET", path: "/api/v1/api-keys/self", headers: keyHeader(keyA), status: 200})
	c.do(t, g, exchange{name: "readyz/redis-down", method: "GET", path: "/readyz", status: 503})
}

// createdSecret creates a key of w usable only from 10.0.0.0/8 and returns its secret.
func createdSecret(t *testing.T, c *contract, g *gateway, w wallet, ip func() string) string {
	t.Helper()
	msg := mustJSON(map[string]any{"action": "create_api_key", "keyName": "lan only", "permissions": []string{"execute"},
		"ipAllowlist": []string{"10.0.0.0/8"}, "timestamp": ms(-5 * time.Second)})
	r := c.do(t, g, exchange{name: "create/lan-only", method: "POST", path: "/api/v1/api-keys", body: w.envelope(msg).body(), ip: ip(), status: 201})
	return r.json(t)["apiKey"].(string)
}

// fieldsSig signs o and returns only the signature (to graft onto another body).
func (o orderSpec) fieldsSig(t testing.TB) string {
	t.Helper()
	var m map[string]string
	if err := json.Unmarshal([]byte(o.body(t)), &m); err != nil {
		t.Fatal(err)
	}
	return m["signature"]
}

// contractRateLimited: with limits of 1, the second call of every API operation is refused with 429.
func contractRateLimited(t *testing.T, c *contract) {
	g, _ := newOrderGateway(t, withContractOperator, func(cfg *config.Config) {
		cfg.IPLimitMinute, cfg.PublicLimitMinute, cfg.WalletLimitMinute = 1, 1, 1000
		cfg.RateLimitMinute = 1
	})
	a := mustWallet(t, privA)
	ip := freshIPs()
	signedMsg := func(action string, kv ...any) string {
		m := map[string]any{"action": action, "timestamp": ms(-time.Second), "n": len(kv)}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return mustJSON(m)
	}
	r := c.do(t, g, exchange{name: "setup/key", method: "POST", path: "/api/v1/api-keys", ip: ip(),
		body: a.envelope(createMsg("bot", `["create","execute","cancel"]`, ms(-time.Second))).body(), status: 201})
	key, keyID := r.json(t)["apiKey"].(string), r.json(t)["keyId"].(string)
	r = c.do(t, g, exchange{name: "setup/key2", method: "POST", path: "/api/v1/api-keys", ip: ip(),
		body: a.envelope(createMsg("bot2", `["execute"]`, ms(-2*time.Second))).body(), status: 201})
	key2ID := r.json(t)["keyId"].(string)
	c.do(t, g, exchange{name: "setup/order", method: "POST", path: "/api/v1/orders/new", ip: ip(), body: a.order("rl-1").body(t), status: 201})

	twice := func(name, method, path string, firstStatus int, first, second exchange) {
		t.Helper()
		addr := ip()
		first.name, first.method, first.path, first.ip, first.status = name+"/first", method, path, addr, firstStatus
		second.name, second.method, second.path, second.ip, second.status = name+"/429", method, path, addr, 429
		c.do(t, g, first)
		r := c.do(t, g, second)
		if r.Header.Get("Retry-After") == "" {
			t.Errorf("%s: 429 without Retry-After", name)
		}
	}
	keyPath := "/api/v1/api-keys/" + keyID
	list := a.envelope(signedMsg("list_api_keys"))
	twice("create-key", "POST", "/api/v1/api-keys", 201,
		exchange{body: a.envelope(createMsg("bot3", `["execute"]`, ms(-3*time.Second))).body()},
		exchange{body: a.envelope(createMsg("bot4", `["execute"]`, ms(-4*time.Second))).body()})
	twice("list-keys", "GET", "/api/v1/api-keys", 200, exchange{headers: list.headers()}, exchange{headers: list.headers()})
	twice("get-key", "GET", keyPath, 200, exchange{headers: list.headers()}, exchange{headers: list.headers()})
	twice("update-key", "PATCH", keyPath, 200,
		exchange{body: a.envelope(signedMsg("update_api_key", "keyId", keyID, "keyName", "renamed")).body()},
		exchange{body: a.envelope(signedMsg("update_api_key", "keyId", keyID, "keyName", "again", "x", 1)).body()})
	twice("revoke-key", "DELETE", "/api/v1/api-keys/"+key2ID, 200,
		exchange{body: a.envelope(signedMsg("delete_api_key", "keyId", key2ID)).body()},
		exchange{body: a.envelope(signedMsg("delete_api_key", "keyId", key2ID, "x", 1)).body()})
	twice("rotate-key", "POST", keyPath+"/rotate", 201,
		exchange{body: a.envelope(signedMsg("rotate_api_key", "keyId", keyID, "graceSeconds", 60)).body()},
		exchange{body: a.envelope(signedMsg("rotate_api_key", "keyId", keyID, "x", 1)).body()})
	twice("get-order", "GET", "/api/v1/orders/rl-1", 200, exchange{}, exchange{})
	twice("list-orders", "GET", "/api/v1/orders", 200, exchange{}, exchange{})
	twice("info", "GET", "/api/v1/info", 200, exchange{}, exchange{})
	audit := a.envelope(signedMsg("list_audit"))
	twice("audit", "GET", "/api/v1/audit", 200, exchange{headers: audit.headers()}, exchange{headers: audit.headers()})
	twice("key-audit", "GET", keyPath+"/audit", 200, exchange{headers: list.headers()}, exchange{headers: list.headers()})
	admin := "/api/v1/admin/api-keys/" + keyID
	twice("admin-get", "GET", admin, 200, exchange{headers: contractOperatorHeader()}, exchange{headers: contractOperatorHeader()})
	twice("admin-audit", "GET", admin+"/audit", 200, exchange{headers: contractOperatorHeader()}, exchange{headers: contractOperatorHeader()})
	twice("admin-suspend", "POST", admin+"/suspend", 200, exchange{headers: contractOperatorHeader()}, exchange{headers: contractOperatorHeader()})
	twice("admin-unsuspend", "POST", admin+"/unsuspend", 200, exchange{headers: contractOperatorHeader()}, exchange{headers: contractOperatorHeader()})
	// The key's one request a minute: /self spends it, every keyed operation is then refused.
	twice("self", "GET", "/api/v1/api-keys/self", 200, exchange{headers: keyHeader(key)}, exchange{headers: keyHeader(key)})
	c.do(t, g, exchange{name: "create-order/429", method: "POST", path: "/api/v1/orders/new", headers: keyHeader(key), body: a.order("rl-2").body(t), status: 429})
	c.do(t, g, exchange{name: "execute/429", method: "POST", path: "/api/v1/orders/rl-1/execute", headers: keyHeader(key), status: 429})
	c.do(t, g, exchange{name: "cancel/429", method: "PATCH", path: "/api/v1/orders/rl-1/cancel", headers: keyHeader(key), status: 429, wantError: "Rate limit exceeded"})
}

// contractRedisDown: with nothing allowed to fail open, every API operation answers 503 without Redis.
func contractRedisDown(t *testing.T, c *contract) {
	g, _ := newOrderGateway(t, withContractOperator, func(cfg *config.Config) { cfg.FailOpen = nil })
	a := mustWallet(t, privA)
	r := c.do(t, g, exchange{name: "setup/key", method: "POST", path: "/api/v1/api-keys",
		body: a.envelope(createMsg("bot", `["create","execute","cancel"]`, ms(-time.Second))).body(), status: 201})
	key, keyID := r.json(t)["apiKey"].(string), r.json(t)["keyId"].(string)
	c.do(t, g, exchange{name: "setup/order", method: "POST", path: "/api/v1/orders/new", body: a.order("rd-1").body(t), status: 201})
	if err := g.app.Redis().Close(); err != nil {
		t.Fatal(err)
	}
	keyPath := "/api/v1/api-keys/" + keyID
	signed := func(action string) signed {
		return a.envelope(mustJSON(map[string]any{"action": action, "keyId": keyID, "uuid": "rd-1", "keyName": "n", "timestamp": ms(0)}))
	}
	for _, x := range []exchange{
		{name: "create-key", method: "POST", path: "/api/v1/api-keys", body: a.envelope(createMsg("x", `["execute"]`, ms(0))).body()},
		{name: "list-keys", method: "GET", path: "/api/v1/api-keys", headers: signed("list_api_keys").headers()},
		{name: "get-key", method: "GET", path: keyPath, headers: signed("get_api_key").headers()},
		{name: "update-key", method: "PATCH", path: keyPath, body: signed("update_api_key").body()},
		{name: "revoke-key", method: "DELETE", path: keyPath, body: signed("delete_api_key").body()},
		{name: "rotate-key", method: "POST", path: keyPath + "/rotate", body: signed("rotate_api_key").body()},
		{name: "self", method: "GET", path: "/api/v1/api-keys/self", headers: keyHeader(key)},
		{name: "create-order", method: "POST", path: "/api/v1/orders/new", headers: keyHeader(key), body: a.order("rd-2").body(t)},
		{name: "execute", method: "POST", path: "/api/v1/orders/rd-1/execute", headers: keyHeader(key)},
		{name: "cancel", method: "PATCH", path: "/api/v1/orders/rd-1/cancel", headers: keyHeader(key)},
		{name: "get-order", method: "GET", path: "/api/v1/orders/rd-1"},
		{name: "list-orders", method: "GET", path: "/api/v1/orders"},
		{name: "order-events", method: "GET", path: "/api/v1/orders/events"},
		{name: "readyz", method: "GET", path: "/readyz"},
		{name: "info", method: "GET", path: "/api/v1/info"},
		{name: "audit", method: "GET", path: "/api/v1/audit", headers: signed("list_audit").headers()},
		{name: "key-audit", method: "GET", path: keyPath + "/audit", headers: signed("get_api_key").headers()},
		{name: "admin-get", method: "GET", path: "/api/v1/admin/api-keys/" + keyID, headers: contractOperatorHeader()},
		{name: "admin-audit", method: "GET", path: "/api/v1/admin/api-keys/" + keyID + "/audit", headers: contractOperatorHeader()},
		{name: "admin-suspend", method: "POST", path: "/api/v1/admin/api-keys/" + keyID + "/suspend", headers: contractOperatorHeader()},
		{name: "admin-unsuspend", method: "POST", path: "/api/v1/admin/api-keys/" + keyID + "/unsuspend", headers: contractOperatorHeader()},
	} {
		x.name, x.status = "redis-down/"+x.name, 503
		c.do(t, g, x)
	}
}

// TestOpenAPIDetectsDrift: answers that differ from the document — a field
// added or removed, a wrong type, an undocumented status or header, a missing
// required header — fail validation.
func TestOpenAPIDetectsDrift(t *testing.T) {
	c := loadContract(t)
	g, _ := newOrderGateway(t)
	a := mustWallet(t, privA)
	keyResp := c.do(t, g, exchange{name: "create", method: "POST", path: "/api/v1/api-keys",
		body: a.envelope(createMsg("bot", `["create","execute","cancel"]`, ms(-time.Second))).body(), status: 201})
	secret := keyResp.json(t)["apiKey"].(string)
	c.do(t, g, exchange{name: "order", method: "POST", path: "/api/v1/orders/new", body: a.order("drift-1").body(t), status: 201})

	type drift struct {
		name        string
		method, uri string
		headers     map[string]string
		mutate      func(r *response)
	}
	setField := func(k string, v any) func(*response) {
		return func(r *response) {
			m := r.json(t)
			if v == nil {
				delete(m, k)
			} else {
				m[k] = v
			}
			r.Body = mustJSON(m)
		}
	}
	setDataField := func(k string, v any) func(*response) {
		return func(r *response) {
			m := r.json(t)
			m["data"].(map[string]any)[k] = v
			r.Body = mustJSON(m)
		}
	}
	for _, d := range []drift{
		{"KeyView field added", "GET", "/api/v1/api-keys/self", keyHeader(secret), setField("keyHash", "x")},
		{"KeyView field removed", "GET", "/api/v1/api-keys/self", keyHeader(secret), setField("walletAddress", nil)},
		{"KeyView wrong type", "GET", "/api/v1/api-keys/self", keyHeader(secret), setField("rateLimit", "100")},
		{"SelfView window field added", "GET", "/api/v1/api-keys/self", keyHeader(secret), func(r *response) {
			m := r.json(t)
			m["rateLimitState"].(map[string]any)["minute"].(map[string]any)["extra"] = 1
			r.Body = mustJSON(m)
		}},
		{"OrderView field added", "GET", "/api/v1/orders/drift-1", nil, setDataField("signature", "00")},
		{"OrderView wrong txid", "GET", "/api/v1/orders/drift-1", nil, setDataField("txid", "0xABC")},
		{"envelope field added", "GET", "/api/v1/orders/drift-1", nil, setField("success", true)},
		{"error field added", "GET", "/api/v1/orders/nope", nil, setField("code", "NOT_FOUND")},
		{"error timestamp format", "GET", "/api/v1/orders/nope", nil, setField("timestamp", "2026-11-22T12:00:00Z")},
		{"error details where none are documented", "GET", "/api/v1/orders/nope", nil, setField("details", map[string]any{"uuid": "nope"})},
		{"undocumented status", "GET", "/api/v1/orders/drift-1", nil, func(r *response) { r.Status = 418 }},
		{"undocumented header", "GET", "/api/v1/orders/drift-1", nil, func(r *response) { r.Header.Set("X-Powered-By", "echo") }},
		{"missing X-Request-Id", "GET", "/api/v1/orders/drift-1", nil, func(r *response) { r.Header.Del("X-Request-Id") }},
		{"bad X-RateLimit-Window", "GET", "/api/v1/orders/drift-1", nil, func(r *response) { r.Header.Set("X-RateLimit-Window", "30") }},
	} {
		t.Run(strings.ReplaceAll(d.name, " ", "_"), func(t *testing.T) {
			req := httptest.NewRequest(d.method, d.uri, nil)
			for k, v := range d.headers {
				req.Header.Set(k, v)
			}
			route, params, err := c.router.FindRoute(req)
			if err != nil {
				t.Fatal(err)
			}
			reqIn := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
				Options: &openapi3filter.Options{AuthenticationFunc: authenticate}}
			rec := httptest.NewRecorder()
			g.h.ServeHTTP(rec, req.Clone(context.Background()))
			r := response{Status: rec.Code, Header: rec.Header().Clone(), Body: rec.Body.String()}
			if err := c.validateResponse(reqIn, r); err != nil {
				t.Fatalf("the real answer already fails: %v\n%s", err, r.Body)
			}
			d.mutate(&r)
			if err := c.validateResponse(reqIn, r); err == nil {
				t.Fatalf("a drifted answer passes validation: %d %s", r.Status, r.Body)
			}
		})
	}
}
