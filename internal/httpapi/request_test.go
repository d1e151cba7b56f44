package httpapi

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/stxgate/stxgate/internal/apikey"
	"github.com/stxgate/stxgate/internal/audit"
	"github.com/stxgate/stxgate/internal/keyauth"
)

// The request's own context (request.go) carries what the middleware put in
// it — origin, deadline, key — as the contexts it replaced did: values seen
// by the handler and by contexts derived from it, the deadline bounding
// both, and a cancelled context once the deadline's scope is over.
func TestRequestContext(t *testing.T) {
	serve := func(t *testing.T, timeout time.Duration, h echo.HandlerFunc) (echo.Context, *httptest.ResponseRecorder) {
		t.Helper()
		s := &Server{}
		e := echo.New()
		e.IPExtractor = echo.ExtractIPDirect()
		var seen echo.Context
		e.Use(composedOnce(s.requestID, s.auditOrigin, func(next echo.HandlerFunc) echo.HandlerFunc {
			return func(c echo.Context) error { err := next(c); seen = c; return err }
		}, requestDeadline(timeout)))
		e.GET("/x", h)
		req := httptest.NewRequest(http.MethodGet, "/x", nil)
		req.RemoteAddr = "192.0.2.7:4321"
		req.Header.Set("X-Request-Id", "req-1")
		w := httptest.NewRecorder()
		e.ServeHTTP(w, req)
		return seen, w
	}

	t.Run("ValuesReachDerivedContexts", func(t *testing.T) {
		res := &keyauth.Result{Key: &apikey.Key{ID: "k1"}}
		c, w := serve(t, time.Minute, func(c echo.Context) error {
			if _, ok := c.Request().Context().(*request); !ok {
				t.Errorf("the handler's context is %T, not the request's own", c.Request().Context())
			}
			withKey(c, res)
			ctx := context.WithoutCancel(c.Request().Context()) // as settlement detaches
			if ip, id := audit.RequestFrom(ctx); ip != "192.0.2.7" || id != "req-1" {
				t.Errorf("origin %q, %q; want 192.0.2.7, req-1", ip, id)
			}
			if got := keyResult(c); got != res {
				t.Errorf("key %v, want the authenticated one", got)
			}
			d, ok := c.Request().Context().Deadline()
			if left := time.Until(d); !ok || left <= 0 || left > time.Minute {
				t.Errorf("deadline %v, %v: want within the request timeout", d, ok)
			}
			return c.NoContent(http.StatusNoContent)
		})
		if w.Code != http.StatusNoContent || w.Header().Get("X-Request-Id") != "req-1" {
			t.Fatalf("%d, X-Request-Id %q", w.Code, w.Header().Get("X-Request-Id"))
		}
		if keyFrom(c) == nil || keyFrom(c).ID != "k1" { // the access log reads it after the handler
			t.Errorf("key after the handler: %v", keyFrom(c))
		}
		if err := c.Request().Context().Err(); !errors.Is(err, context.Canceled) {
			t.Errorf("context after the deadline's scope: %v, want cancelled", err)
		}
	})

	t.Run("DeadlineEndsTheRequestAndItsChildren", func(t *testing.T) {
		var childErr, reqErr error
		serve(t, 20*time.Millisecond, func(c echo.Context) error {
			child, cancel := context.WithCancel(c.Request().Context())
			defer cancel()
			<-child.Done()
			childErr, reqErr = child.Err(), c.Request().Context().Err()
			return nil
		})
		if !errors.Is(childErr, context.DeadlineExceeded) || !errors.Is(reqErr, context.DeadlineExceeded) {
			t.Fatalf("child %v, request %v; want both past the deadline", childErr, reqErr)
		}
	})

	t.Run("ClientGoneCancelsTheRequest", func(t *testing.T) {
		client, leave := context.WithCancel(context.Background())
		s := &Server{}
		e := echo.New()
		var err error
		e.Use(composedOnce(s.requestID, s.auditOrigin, requestDeadline(time.Minute)))
		e.GET("/x", func(c echo.Context) error {
			leave()
			<-c.Request().Context().Done()
			err = c.Request().Context().Err()
			return nil
		})
		e.ServeHTTP(httptest.NewRecorder(), httptest.NewRequestWithContext(client, http.MethodGet, "/x", nil))
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("request context %v, want the client's cancellation", err)
		}
	})
}
