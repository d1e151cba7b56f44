package httpapi

import (
	"context"
	"sync/atomic"

	"github.com/labstack/echo/v4"

	"github.com/stxgate/stxgate/internal/audit"
	"github.com/stxgate/stxgate/internal/keyauth"
)

// request is what the gateway keeps of one request, in one allocation made
// by requestID: the context its handlers see, which carries the request's
// audit origin (auditOrigin), its deadline (requestDeadline) and, once
// authenticated, its key (withKey), where each took a context.WithValue
// or a timer context and a Request.WithContext copy of the request; and the
// backing arrays of the header values it answers with.
//
// Its fields are set by the middleware in the request's goroutine before
// any other goroutine can see the context (the key, set after the limiter
// call, is atomic all the same).
type request struct {
	context.Context // the client's request context; requestDeadline's once it set one

	origin audit.Origin
	key    atomic.Pointer[keyauth.Result]

	id   [1]string                    // X-Request-Id's value
	rate [len(rateHeaderNames)]string // the values of setRateHeaders' first call
	used bool                         // rate is taken
}

type requestKey struct{}

// Value answers the keys the request carries itself and leaves the others
// to the client's context.
func (r *request) Value(k any) any {
	switch k.(type) {
	case requestKey:
		return r
	case keyCtx:
		return r.key.Load()
	case audit.OriginKey:
		return &r.origin
	}
	return r.Context.Value(k)
}

// requestOf returns the request's state, or nil outside requestID (tests
// that run one middleware alone).
func requestOf(c echo.Context) *request {
	r, _ := c.Request().Context().Value(requestKey{}).(*request)
	return r
}

// rateValues returns room for the values of n rate-limit headers: the
// request's own array the first time, a new slice after (a header set earlier
// still points into the array).
func rateValues(c echo.Context, n int) []string {
	if r := requestOf(c); r != nil && !r.used {
		r.used = true
		return r.rate[:n]
	}
	return make([]string, n)
}
