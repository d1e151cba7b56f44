package httpapi_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stxgate/stxgate/internal/app"
	"github.com/stxgate/stxgate/internal/config"
)

// FuzzHandlers throws random methods, paths, headers and bodies at a whole
// in-memory gateway (every route, the envelope and cursor parsers, key and
// order handling). Properties: no 5xx but 503; every error is the JSON body
// {"error", "timestamp"}; every success is JSON; the API key never appears in
// an answer; and, while fuzzing, every answer comes within 2 s.
//
// Seeds are real requests, signed at the gateway's fixed clock so they stay
// valid; "{{KEY}}" and "{{KEYID}}" stand for a key made at setup.
func FuzzHandlers(f *testing.F) {
	a := mustWallet(f, privA)
	cancelMsg := fmt.Sprintf(`{"action":"cancel_order","uuid":"fz-2","timestamp":%d}`, ms(-time.Second))
	execMsg := fmt.Sprintf(`{"action":"execute_order","uuid":"fz-3","timestamp":%d}`, ms(0))
	listMsg := fmt.Sprintf(`{"action":"list_api_keys","timestamp":%d}`, ms(0))
	deleteMsg := fmt.Sprintf(`{"action":"delete_api_key","keyId":"00000000-0000-4000-8000-000000000000","timestamp":%d}`, ms(0))
	cursor := base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf("%d:fz-1", testNow.UnixMicro())))
	hdr := func(m map[string]string) string {
		var b strings.Builder
		for k, v := range m {
			fmt.Fprintf(&b, "%s: %s\n", k, v)
		}
		return b.String()
	}
	seeds := []struct {
		method, path, headers, body string
	}{
		{"POST", "/api/v1/api-keys", "Content-Type: application/json\n", a.envelope(createMsg("fuzz", `["create","execute","cancel"]`, ms(-time.Second))).body()},
		{"GET", "/api/v1/api-keys", hdr(a.envelope(listMsg).headers()), ""},
		{"GET", "/api/v1/api-keys/{{KEYID}}", hdr(a.envelope(listMsg).headers()), ""},
		{"GET", "/api/v1/api-keys/self", "X-API-Key: {{KEY}}\n", ""},
		{"GET", "/api/v1/api-keys/self", "Authorization: ApiKey {{KEY}}\nX-API-Key: {{KEY}}\n", ""},
		{"POST", "/api/v1/orders/new", "X-API-Key: {{KEY}}\nContent-Type: application/json\n", a.order("fz-1").body(f)},
		{"POST", "/api/v1/orders/new", "Content-Type: application/json\n", a.order("fz-2").body(f)},
		{"POST", "/api/v1/orders/new", "Content-Type: application/json\n", a.order("fz-3").body(f)},
		{"POST", "/api/v1/orders/fz-1/execute", "Authorization: Bearer {{KEY}}\n", ""},
		{"PATCH", "/api/v1/orders/fz-2/cancel", hdr(a.envelope(cancelMsg).headers()), ""},
		{"POST", "/api/v1/orders/fz-3/execute", "Content-Type: application/json\n",
			fmt.Sprintf(`{"message":%q,"signature":{"signature":%q,"publicKey":%q},"walletAddress":%q}`, execMsg, a.sign(execMsg), a.pub, a.addr)},
		{"GET", "/api/v1/orders/fz-1", "", ""},
		{"GET", "/api/v1/orders?owner=" + a.addr + "&status=open&limit=2&cursor=" + cursor, "", ""},
		{"GET", "/api/v1/orders?status=all&limit=0&cursor=%%%", "", ""},
		{"DELETE", "/api/v1/api-keys/00000000-0000-4000-8000-000000000000", "Content-Type: application/json\n", a.envelope(deleteMsg).body()},
		{"PUT", "/api/v1/orders/new", "X-Request-Id: abc\n", "{"},
		{"HEAD", "/readyz", "", ""},
		{"GET", "/healthz", "", ""},
		{"POST", "/api/v1/orders/new", "Content-Type: text/plain\n", `[1,2,3]`},
	}
	for _, s := range seeds {
		f.Add(s.method, s.path, s.headers, []byte(s.body))
	}

	cfg, err := config.Load(nil, func(string) string { return "" }, io.Discard)
	if err != nil {
		f.Fatal(err)
	}
	// No limit may end the exploration: with a fixed clock a window never moves.
	cfg.IPLimitMinute, cfg.WalletLimitMinute, cfg.PublicLimitMinute = 1<<30, 1<<30, 1<<30
	cfg.RateLimitMinute, cfg.RateLimitHour, cfg.RateLimitDay = 1<<30, 1<<30, 1<<30
	gw, err := app.New(context.Background(), cfg, slog.New(slog.DiscardHandler), app.Options{Now: func() time.Time { return testNow }})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(gw.Close)
	h := gw.Handler()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, fuzzRequest(f, "POST", "/api/v1/api-keys", "Content-Type: application/json\n",
		[]byte(a.envelope(createMsg("setup", `["create","execute","cancel"]`, ms(-2*time.Second))).body())))
	var made struct{ APIKey, KeyID string }
	if err := json.Unmarshal(rec.Body.Bytes(), &made); rec.Code != http.StatusCreated || err != nil {
		f.Fatalf("setup key: %d %s", rec.Code, rec.Body)
	}
	fuzzing := flag.Lookup("test.fuzz") != nil && flag.Lookup("test.fuzz").Value.String() != ""

	f.Fuzz(func(t *testing.T, method, path, headers string, body []byte) {
		swap := strings.NewReplacer("{{KEY}}", made.APIKey, "{{KEYID}}", made.KeyID)
		req := fuzzRequest(t, method, swap.Replace(path), swap.Replace(headers), []byte(swap.Replace(string(body))))
		if req == nil {
			return // not a request a server would hand to the handler
		}
		rec := httptest.NewRecorder()
		start := time.Now()
		h.ServeHTTP(rec, req)
		took := time.Since(start)
		got := rec.Body.String()
		t.Logf("%s %s → %d", req.Method, req.URL.Path, rec.Code)
		describe := func() string {
			return fmt.Sprintf("%s %q\nheaders %q\nbody %q\n→ %d %s", req.Method, req.URL.RequestURI(), headers, body, rec.Code, got)
		}
		if rec.Code >= 500 && rec.Code != http.StatusServiceUnavailable {
			t.Fatalf("server error:\n%s", describe())
		}
		if fuzzing && took > 2*time.Second {
			t.Fatalf("answer took %s:\n%s", took, describe())
		}
		if strings.Contains(got, made.APIKey) && !(rec.Code == http.StatusCreated && strings.HasSuffix(req.URL.Path, "/api-keys")) {
			t.Fatalf("the API key appears in an answer:\n%s", describe())
		}
		if req.Method == http.MethodHead || rec.Code == http.StatusNoContent {
			return
		}
		var m map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
			t.Fatalf("answer is not a JSON object: %v\n%s", err, describe())
		}
		if rec.Code >= 400 {
			e, _ := m["error"].(string)
			ts, _ := m["timestamp"].(string)
			if e == "" || ts != nowStamp {
				t.Fatalf("error body without error or timestamp:\n%s", describe())
			}
		}
	})
}

// fuzzRequest builds the request a Go server would hand to the handler, or
// nil for input the server itself refuses (bad method, target or header).
func fuzzRequest(t testing.TB, method, path, headers string, body []byte) *http.Request {
	t.Helper()
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	req, err := http.NewRequest(method, "http://gw"+path, bytes.NewReader(body))
	if err != nil || req.URL.Host != "gw" {
		return nil
	}
	req.RequestURI, req.RemoteAddr = path, "192.0.2.1:1234"
	sc := bufio.NewScanner(strings.NewReader(headers))
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), ":")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if !ok || !validHeaderName(name) || !validHeaderValue(value) {
			return nil
		}
		switch http.CanonicalHeaderKey(name) {
		case "Host", "Content-Length", "Transfer-Encoding", "Connection":
			continue // transport-level: the server consumes these
		}
		req.Header.Add(name, value)
	}
	return req
}

func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

func validHeaderValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}
