package httpapi

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/stxgate/stxgate/internal/fault"
	"github.com/stxgate/stxgate/internal/logging"
)

// requestID keeps a sane client-sent X-Request-Id or makes one, and echoes
// it. It starts the request's state (request.go): the context every later
// handler sees.
func (s *Server) requestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		id := req.Header.Get(echo.HeaderXRequestID)
		if !validRequestID(id) {
			var b [12]byte
			var x [24]byte
			_, _ = rand.Read(b[:])
			hex.Encode(x[:], b[:])
			id = string(x[:])
		}
		r := newRequest(req.Context())
		r.id[0] = id
		c.Response().Header()[echo.HeaderXRequestID] = r.id[:] // the name is canonical
		c.SetRequest(req.WithContext(r))
		return next(c)
	}
}

func validRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		b := id[i]
		if !(b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b == '-' || b == '_' || b == '.') {
			return false
		}
	}
	return true
}

// accessLog writes one line per request. It logs the route pattern, never the
// raw path's secrets, headers or bodies: keys and signatures stay out of logs.
// A request that failed because its client disconnected is a 499 (errorHandler).
func (s *Server) accessLog(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err) // writes the response now, so the status below is final
		}
		if !s.log.Enabled(c.Request().Context(), slog.LevelInfo) {
			return nil // level above info: skip building the line (allocations on every request)
		}
		attrs := []slog.Attr{
			slog.String("request_id", c.Response().Header().Get(echo.HeaderXRequestID)),
			slog.String("method", c.Request().Method),
			slog.String("route", c.Path()),
			slog.Int("status", c.Response().Status),
			slog.Float64("latency_ms", logging.Millis(time.Since(start))),
			slog.String("ip", c.RealIP()),
		}
		if k := keyFrom(c); k != nil {
			attrs = append(attrs, slog.String("key_id", k.ID))
		}
		s.log.LogAttrs(c.Request().Context(), slog.LevelInfo, "request", attrs...)
		return nil
	}
}

// recoverPanic turns a panic into a logged 500 with the standard body.
func (s *Server) recoverPanic(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			if r := recover(); r != nil {
				if r == http.ErrAbortHandler {
					panic(r)
				}
				err = &fault.Error{Kind: fault.KindInternal, Public: "Internal server error", Err: fmt.Errorf("panic: %v", r)}
			}
		}()
		return next(c)
	}
}

// bodyLimitMiddleware refuses bodies over limit bytes with 413, whether they
// announce their length or not.
func bodyLimitMiddleware(limit int64) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			if req.ContentLength > limit {
				return errBodyTooLarge
			}
			if req.Body != nil && req.Body != http.NoBody { // most reads have none: nothing to wrap
				req.Body = http.MaxBytesReader(c.Response(), req.Body, limit)
			}
			return next(c)
		}
	}
}

var errBodyTooLarge = &fault.Error{Kind: fault.KindTooLarge, Public: "Request body too large"}

// clientIP is the request's client address as the IP extractor decided it.
func clientIP(c echo.Context) netip.Addr { return parseClientIP(c.RealIP()) }

// parseClientIP reads the extractor's address; the zero Addr if it is none.
func parseClientIP(text string) netip.Addr {
	a, err := netip.ParseAddr(text)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}

// addrText is a's text: the extractor's own string, text, when that already
// is a's text (an IPv4 client: no copy per request), else a new one.
func addrText(a netip.Addr, text string) string {
	var buf [64]byte
	if string(a.AppendTo(buf[:0])) == text {
		return text
	}
	return a.String()
}

func prefixToIPNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}
