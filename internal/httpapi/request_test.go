package httpapi

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
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

// The request's lifetime (deadline.go) makes its timer and channel only when
// something waits on it; whether or not anything did, its Err, Done, Cause
// and AfterFunc answer as a timer context under the client's would.
func TestRequestLifetime(t *testing.T) {
	t.Run("DeadlinePassesUnwatched", func(t *testing.T) {
		r := newRequest(context.Background())
		r.at = time.Now().Add(time.Millisecond)
		if err := r.Err(); err != nil {
			t.Fatalf("before the deadline: %v", err)
		}
		time.Sleep(time.Until(r.at)) // the clock passing is what is tested
		if err := r.Err(); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("after the deadline: %v", err)
		}
		if r.done != nil || r.timer != nil {
			t.Fatal("Err made a channel or a timer")
		}
		<-r.Done() // closed already
		if err := context.Cause(r); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Cause %v, want the deadline", err)
		}
		r.end(context.Canceled)
		if err := r.Err(); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("ending it again changed Err to %v", err)
		}
	})

	t.Run("ClientGoneUnwatched", func(t *testing.T) {
		client, leave := context.WithCancel(context.Background())
		r := newRequest(client)
		r.at = time.Now().Add(time.Hour)
		leave()
		if err := r.Err(); !errors.Is(err, context.Canceled) {
			t.Fatalf("Err %v, want the client's cancellation", err)
		}
	})

	t.Run("WatchedDeadlineClosesDone", func(t *testing.T) {
		r := newRequest(context.Background())
		r.at = time.Now().Add(5 * time.Millisecond)
		<-r.Done() // closed by the timer, not by anyone asking Err
		if err := r.Err(); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Err %v", err)
		}
	})

	t.Run("AfterFunc", func(t *testing.T) {
		if _, ok := any(&request{}).(interface{ AfterFunc(func()) func() bool }); !ok {
			t.Fatal("request does not implement AfterFunc: every derived context would start a goroutine")
		}
		r := newRequest(context.Background())
		r.at = time.Now().Add(time.Hour)
		ran := make(chan string, 3)
		context.AfterFunc(r, func() { ran <- "registered" })
		stop := context.AfterFunc(r, func() { ran <- "stopped" })
		if !stop() || stop() {
			t.Fatal("stop: want true once, then false")
		}
		child, cancel := context.WithCancel(r)
		defer cancel()
		r.end(context.Canceled)
		if got := <-ran; got != "registered" {
			t.Fatalf("ran %q", got)
		}
		<-child.Done()
		if err := child.Err(); !errors.Is(err, context.Canceled) {
			t.Fatalf("child %v", err)
		}
		context.AfterFunc(r, func() { ran <- "late" }) // after the end: runs at once
		if got := <-ran; got != "late" {
			t.Fatalf("ran %q", got)
		}
		select {
		case got := <-ran:
			t.Fatalf("%q ran too", got)
		default:
		}
	})

	// Racing goroutines ask Err and Done and register and stop functions
	// while the deadline fires and the request ends: every function runs
	// exactly once unless its stop said it would not, Done closes for all,
	// and Err is one of the two ends (run with -race).
	t.Run("Concurrent", func(t *testing.T) {
		for range 50 {
			r := newRequest(context.Background())
			r.at = time.Now().Add(200 * time.Microsecond)
			const n = 16
			var wg, ran sync.WaitGroup // ran: the registered functions still to run
			runs := make([]atomic.Int32, n)
			stopped := make([]bool, n)
			for i := range n {
				wg.Add(1)
				ran.Add(1)
				go func() {
					defer wg.Done()
					_ = r.Err()
					stop := context.AfterFunc(r, func() { runs[i].Add(1); ran.Done() })
					if i%2 == 0 && stop() {
						stopped[i] = true
						ran.Done() // it will not run
					}
					<-r.Done()
				}()
			}
			go r.end(context.Canceled)
			wg.Wait()
			ran.Wait()
			err := r.Err()
			if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
				t.Fatalf("Err %v", err)
			}
			for i := range n {
				want := int32(1)
				if stopped[i] {
					want = 0
				}
				if got := runs[i].Load(); got != want {
					t.Fatalf("function %d ran %d times, want %d", i, got, want)
				}
			}
		}
	})
}
