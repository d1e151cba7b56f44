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
	lifetime                 // Deadline, Done, Err, AfterFunc: the client's, bounded by requestDeadline
	values   context.Context // the client's context without its cancellation: Value's fallback

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
	return r.values.Value(k)
}

// newRequest is the request context of a client's. Its values come through
// context.WithoutCancel, which hides the client's cancellation from
// context.Cause: a request that ended by its deadline reports that, not the
// client's cause (nil while it is still connected).
func newRequest(client context.Context) *request {
	return &request{lifetime: lifetime{client: client}, values: context.WithoutCancel(client)}
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
