package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stxgate/stxgate/internal/config"
	"github.com/stxgate/stxgate/internal/web"
	"github.com/stxgate/stxgate/pkg/stacks"
)

// The dashboard is served at / with its security headers, and the API's JSON
// 404 still answers every other unknown path.
func TestDashboardRoutes(t *testing.T) {
	g := newGateway(t)
	t.Run("IndexServed", func(t *testing.T) {
		r := g.do("GET", "/", "", nil)
		if r.Status != http.StatusOK || !strings.HasPrefix(r.Body, "<!doctype html>") {
			t.Fatalf("status %d, body %.40q", r.Status, r.Body)
		}
		if got := r.Header.Get("Content-Security-Policy"); got != web.CSP {
			t.Fatalf("CSP %q", got)
		}
		if got := r.Header.Get("Content-Type"); got != "text/html; charset=utf-8" {
			t.Fatalf("Content-Type %q", got)
		}
	})
	for _, path := range []string{"/nope", "/index.html", "/assets/nope.js", "/api/v1/nope"} {
		t.Run("NotFound"+path, func(t *testing.T) {
			expect(t, g.do("GET", path, "", nil), 404, errorBody("Not found", nil))
		})
	}
}

func TestInfo(t *testing.T) {
	tests := []struct {
		name string
		opts []setupOpt
		want string
	}{
		{"MainnetDefaults", nil,
			`{"network":"mainnet","sip018Domain":{"name":"stxgate","version":"1","chainId":1},
			  "signatureWindowSeconds":300,"signatureSkewSeconds":30,"messageDomain":null,
			  "permissions":["create","execute","cancel","read"],"store":"postgres","settlement":"simulated"}`},
		{"MemoryStoreAndRelayer", []setupOpt{func(c *config.Config) {
			c.DatabaseURL, c.RedisURL = "", ""
			c.RelayerURL = "http://127.0.0.1:9/settle"
		}},
			`{"network":"mainnet","sip018Domain":{"name":"stxgate","version":"1","chainId":1},
			  "signatureWindowSeconds":300,"signatureSkewSeconds":30,"messageDomain":null,
			  "permissions":["create","execute","cancel","read"],"store":"memory","settlement":"relayer"}`},
		{"TestnetWithMessageDomain", []setupOpt{func(c *config.Config) {
			c.Network = stacks.Testnet
			c.Domain = "dex.example"
		}},
			`{"network":"testnet","sip018Domain":{"name":"stxgate","version":"1","chainId":2147483648},
			  "signatureWindowSeconds":300,"signatureSkewSeconds":30,"messageDomain":"dex.example",
			  "permissions":["create","execute","cancel","read"],"store":"postgres","settlement":"simulated"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGateway(t, tt.opts...)
			expect(t, g.do("GET", "/api/v1/info", "", nil), 200, tt.want)
		})
	}
}
