package httpapi

import (
	"context"
	"time"

	"github.com/labstack/echo/v4"
)

// requestDeadline bounds the store and Redis work of a request. A partitioned
// PostgreSQL (packets dropped, connections held open) otherwise holds a
// request, its goroutine and a pool connection for minutes, until TCP gives
// up; with the deadline the request ends in a 503 (faulttest:
// TestPostgresPartitioned). Work that must outlive the client — settlement
// and its recording once an order is claimed — detaches from the request
// context on purpose and is not cut by it.
//
// Errors are answered here, while the context is the request's: once this
// returns, the context is cancelled, and errorHandler could no longer tell a
// client that went away (499) from a request that simply ended.
func requestDeadline(d time.Duration) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		if d <= 0 {
			return next
		}
		return func(c echo.Context) error {
			if c.Path() == EventsPath { // a stream lives until the client leaves; its reads are bounded by the store's own timeouts
				return next(c)
			}
			// The request's own context (requestID, first in every chain)
			// takes the deadline: no copy of the request. Nothing else holds
			// that context yet (the middleware before this one starts no
			// goroutine), and it keeps the deadline's context, cancelled,
			// after, as a copy would.
			st := requestOf(c)
			ctx, cancel := context.WithTimeout(st.Context, d)
			defer cancel()
			st.Context = ctx
			if err := next(c); err != nil {
				c.Error(err)
			}
			return nil
		}
	}
}
