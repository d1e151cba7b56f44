package httpapi_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestEveryGETRouteAnswersHEAD: the route table has a HEAD twin for every GET
// route (and no HEAD route without its GET).
func TestEveryGETRouteAnswersHEAD(t *testing.T) {
	g := newGateway(t, withContractOperator)
	methods := map[string]map[string]bool{}
	for _, r := range g.app.Server.Echo().Routes() {
		if methods[r.Path] == nil {
			methods[r.Path] = map[string]bool{}
		}
		methods[r.Path][r.Method] = true
	}
	gets := 0
	for path, m := range methods {
		if m[http.MethodGet] {
			gets++
		}
		if m[http.MethodGet] != m[http.MethodHead] {
			t.Errorf("%s: GET %v, HEAD %v", path, m[http.MethodGet], m[http.MethodHead])
		}
	}
	if gets < 15 {
		t.Fatalf("only %d GET routes: the route table was not read", gets)
	}
}

// TestHEADAnswersLikeGET: over a real HTTP connection, HEAD gets GET's status
// and headers (Content-Length included) and no body, on public, keyed,
// wallet-signed and static routes alike.
func TestHEADAnswersLikeGET(t *testing.T) {
	g := newGateway(t)
	srv := httptest.NewServer(g.h)
	t.Cleanup(srv.Close)
	assets, err := os.ReadDir("../web/dist/assets")
	if err != nil || len(assets) == 0 {
		t.Fatalf("no built dashboard assets: %v", err)
	}
	asset := "/assets/" + filepath.Base(assets[0].Name())

	send := func(method, path string) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		// Asked for explicitly, so Go's client neither adds it to GET only nor unzips.
		req.Header.Set("Accept-Encoding", "gzip")
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		return res, string(body)
	}
	for _, tc := range []struct {
		path   string
		status int
		ctype  string
	}{
		{"/healthz", 200, "application/json"},
		{"/readyz", 200, "application/json"},
		{"/openapi.yaml", 200, "application/yaml"},
		{"/", 200, "text/html; charset=utf-8"},
		{asset, 200, ""},
		{"/api/v1/info", 200, "application/json"},
		{"/api/v1/orders", 200, "application/json"},
		{"/api/v1/orders/no-such-order", 404, "application/json"},
		{"/api/v1/api-keys/self", 401, "application/json"},
		{"/api/v1/api-keys", 400, "application/json"},
	} {
		t.Run(strings.TrimPrefix(tc.path, "/"), func(t *testing.T) {
			get, getBody := send(http.MethodGet, tc.path)
			head, headBody := send(http.MethodHead, tc.path)
			if get.StatusCode != tc.status || head.StatusCode != tc.status {
				t.Fatalf("GET %d, HEAD %d, want %d", get.StatusCode, head.StatusCode, tc.status)
			}
			if headBody != "" {
				t.Fatalf("HEAD answered a body: %q", headBody)
			}
			if getBody == "" {
				t.Fatal("GET answered no body")
			}
			for _, h := range []string{"Content-Type", "Content-Length", "Content-Encoding", "Cache-Control", "Content-Security-Policy", "ETag"} {
				if get.Header.Get(h) != head.Header.Get(h) {
					t.Errorf("%s: GET %q, HEAD %q", h, get.Header.Get(h), head.Header.Get(h))
				}
			}
			if tc.ctype != "" && !strings.HasPrefix(head.Header.Get("Content-Type"), tc.ctype) {
				t.Errorf("Content-Type %q, want %q", head.Header.Get("Content-Type"), tc.ctype)
			}
			if head.ContentLength != int64(len(getBody)) {
				t.Errorf("HEAD Content-Length %d, GET body %d bytes", head.ContentLength, len(getBody))
			}
		})
	}
}
