package httpapi_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/stxgate/stxgate/internal/apikey"
	"github.com/stxgate/stxgate/internal/app"
	"github.com/stxgate/stxgate/internal/config"
	"github.com/stxgate/stxgate/internal/keyauth"
	"github.com/stxgate/stxgate/internal/ratelimit"
)

// The keyed stack in process, without network, PostgreSQL or Redis (the
// embedded stores and limiter), next to a bare Echo handler doing the same
// limiter call: the difference is what the gateway's own code adds to a
// keyed request (middleware, key auth, headers, the /self answer). The load
// benchmark (cmd/stxgate-bench) measures the same thing end to end.

func inProcessGateway(b *testing.B) (http.Handler, string) {
	b.Helper()
	env := map[string]string{
		"STXGATE_RATE_LIMIT_MINUTE": "1000000000", "STXGATE_RATE_LIMIT_HOUR": "1000000000",
		"STXGATE_RATE_LIMIT_DAY": "1000000000", "STXGATE_LOG_LEVEL": "warn",
		"STXGATE_IP_LIMIT_MINUTE": "1000000000", "STXGATE_WALLET_LIMIT_MINUTE": "1000000000",
	}
	cfg, err := config.Load(nil, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		b.Fatal(err)
	}
	log := slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelWarn}))
	a, err := app.New(context.Background(), cfg, log, app.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(a.Close)
	_, secret, err := a.Keys.Create(context.Background(), apikey.CreateInput{
		Wallet: "SP1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRCBGD7R", Name: "bench", Permissions: []string{"execute"},
	})
	if err != nil {
		b.Fatal(err)
	}
	return a.Handler(), secret.String()
}

func serve(b *testing.B, h http.Handler, req *http.Request) {
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("%d %s", w.Code, w.Body)
		}
	}
}

// BenchmarkKeyedSelfInProcess is GET /api/v1/api-keys/self through the whole stack.
func BenchmarkKeyedSelfInProcess(b *testing.B) {
	h, key := inProcessGateway(b)
	req := httptest.NewRequest(http.MethodGet, "/api/v1/api-keys/self", nil)
	req.Header.Set("X-API-Key", key)
	serve(b, h, req)
}

// BenchmarkBareLimiterInProcess is ceiling (a)'s handler on the same limiter.
func BenchmarkBareLimiterInProcess(b *testing.B) {
	limiter := ratelimit.NewMemory(time.Now)
	policy := keyauth.PolicyFor(apikey.Limits{Minute: 1e9, Hour: 1e9, Day: 1e9})
	e := echo.New()
	e.GET("/a/:id", func(c echo.Context) error {
		d, err := limiter.Allow(c.Request().Context(), keyauth.Subject(c.Param("id")), policy)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, map[string]any{"allowed": d.Allowed, "remaining": d.Windows[0].Remaining})
	})
	serve(b, e, httptest.NewRequest(http.MethodGet, "/a/0c4f1c36-5a2b-4d1e-9b1c-1234567890ab", nil))
}
