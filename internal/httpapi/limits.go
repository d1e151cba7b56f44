package httpapi

import (
	"errors"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/stxgate/stxgate/internal/fault"
	"github.com/stxgate/stxgate/internal/keyauth"
	"github.com/stxgate/stxgate/internal/metrics"
	"github.com/stxgate/stxgate/internal/ratelimit"
	"github.com/stxgate/stxgate/internal/usage"
	"github.com/stxgate/stxgate/internal/walletauth"
)

// RouteClass groups routes by what they do when the limiter (Redis) is down.
type RouteClass string

const (
	ClassKeyedWrite  RouteClass = "keyed-write"  // order create/execute/cancel with a key: default closed
	ClassKeyedRead   RouteClass = "keyed-read"   // GET /api-keys/self: default open
	ClassSignedRead  RouteClass = "signed-read"  // list/get keys: default open
	ClassSignedWrite RouteClass = "signed-write" // key changes, signed execute/cancel: always closed (replay store)
	ClassPublic      RouteClass = "public"       // public order reads: default open
)

// DefaultFailOpen are the classes served without limits while Redis is down.
var DefaultFailOpen = []RouteClass{ClassKeyedRead, ClassSignedRead, ClassPublic}

// Limits are the pre-authentication limits (per minute).
type Limits struct {
	IPSigned int // wallet-signed calls per client IP
	Wallet   int // verified wallet-signed calls per wallet
	IPPublic int // public reads per client IP
	FailOpen map[RouteClass]bool
}

var errRateLimited = fault.New(fault.KindRateLimited, "Rate limit exceeded")

// Rate-limit header names in canonical form. setRateHeaders runs on every
// keyed request: assigning canonical keys skips Header.Set's per-call
// canonicalisation ("X-RateLimit-Limit" is not canonical, so Set allocated a
// new key each time). The bytes on the wire are the same.
var (
	hdrLimit      = http.CanonicalHeaderKey("X-RateLimit-Limit")
	hdrRemaining  = http.CanonicalHeaderKey("X-RateLimit-Remaining")
	hdrReset      = http.CanonicalHeaderKey("X-RateLimit-Reset")
	hdrWindow     = http.CanonicalHeaderKey("X-RateLimit-Window")
	hdrPolicy     = http.CanonicalHeaderKey("RateLimit-Policy")
	hdrRateLimit  = http.CanonicalHeaderKey("RateLimit")
	hdrRetryAfter = http.CanonicalHeaderKey("Retry-After")

	rateHeaderNames = [...]string{hdrLimit, hdrRemaining, hdrReset, hdrWindow, hdrPolicy, hdrRateLimit, hdrRetryAfter}
)

// setRateHeaders writes X-RateLimit-* (tightest window) and the IETF draft's
// RateLimit-Policy / RateLimit fields. 429s add Retry-After. Hot path (every
// keyed request): every value is appended into one buffer turned into one
// string, and the header values are slices of one backing array, the
// request's own (rateValues) — one allocation where a Sprintf per field took
// a tenth of the keyed handler.
func setRateHeaders(c echo.Context, d ratelimit.Decision) {
	if len(d.Windows) == 0 {
		return
	}
	tw := d.Tightest()
	resetIn := tw.Reset.Sub(d.Now)
	var arr [256]byte
	b := arr[:0]
	var ends [7]int
	b = strconv.AppendInt(b, int64(tw.Limit), 10)
	ends[0] = len(b)
	b = strconv.AppendInt(b, int64(tw.Remaining), 10)
	ends[1] = len(b)
	b = strconv.AppendInt(b, ceilUnix(tw.Reset), 10)
	ends[2] = len(b)
	b = strconv.AppendInt(b, int64(tw.Size/time.Second), 10)
	ends[3] = len(b)
	for i, w := range d.Windows { // "minute";q=100;w=60, "hour";q=1000;w=3600, ...
		if i > 0 {
			b = append(b, ", "...)
		}
		b = strconv.AppendQuote(b, w.Name)
		b = append(b, ";q="...)
		b = strconv.AppendInt(b, int64(w.Limit), 10)
		b = append(b, ";w="...)
		b = strconv.AppendInt(b, int64(w.Size/time.Second), 10)
	}
	ends[4] = len(b)
	b = strconv.AppendQuote(b, tw.Name) // "minute";r=99;t=60
	b = append(b, ";r="...)
	b = strconv.AppendInt(b, int64(tw.Remaining), 10)
	b = append(b, ";t="...)
	b = strconv.AppendInt(b, int64(ceilSeconds(resetIn)), 10)
	ends[5] = len(b)
	n := 6
	if !d.Allowed {
		b = strconv.AppendInt(b, int64(max(1, ceilSeconds(d.RetryAfter()))), 10)
		ends[6] = len(b)
		n = 7
	}
	all := string(b)
	vals := rateValues(c, n)
	for i := range n {
		from := 0
		if i > 0 {
			from = ends[i-1]
		}
		vals[i] = all[from:ends[i]]
	}
	h := c.Response().Header()
	for i, k := range rateHeaderNames[:n] {
		h[k] = vals[i : i+1 : i+1]
	}
}

// rateLimited is the 429 error for a refused decision.
func rateLimited(d ratelimit.Decision) *fault.Error {
	tw := d.Tightest()
	return errRateLimited.WithDetails(map[string]any{
		"window": tw.Name,
		"limit":  tw.Limit,
		"reset":  ceilUnix(tw.Reset),
	})
}

func ceilUnix(t time.Time) int64 { return int64(math.Ceil(float64(t.UnixMilli()) / 1000)) }

func ceilSeconds(d time.Duration) int {
	if d <= 0 {
		return 0
	}
	return int(math.Ceil(d.Seconds()))
}

// limitIP is the pre-authentication per-IP limit of a route class, checked
// before any signature is verified or any store is read.
func (s *Server) limitIP(class RouteClass) echo.MiddlewareFunc {
	limit, kind := s.limits.IPSigned, "ip:s"
	if class == ClassPublic {
		limit, kind = s.limits.IPPublic, "ip:p"
	}
	policy := ratelimit.Policy{ratelimit.MinuteWindow(limit)}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			d, err := s.allowIP(c, ratelimit.IPSubject(kind, clientIP(c)), policy)
			s.metrics.RateLimit(metrics.ScopeIP, d.Allowed, err)
			if err != nil {
				if s.limits.FailOpen[class] {
					return next(c)
				}
				return fault.Unavailable("Service unavailable: rate limiter unreachable", err)
			}
			setRateHeaders(c, d)
			if !d.Allowed {
				return rateLimited(d)
			}
			if ch := chargeOf(c); ch != nil {
				ch.shown = d // the wallet's limit replaces these headers only when tighter
			}
			return next(c)
		}
	}
}

// allowIP counts the request against its client IP. A signed request naming
// its wallet in X-Wallet-Address also has the wallet's budget read in the same
// round trip; walletBudget uses that reading once the signature has verified
// (a peek records nothing, so an unverified request spends no one's budget).
func (s *Server) allowIP(c echo.Context, subject string, policy ratelimit.Policy) (ratelimit.Decision, error) {
	ctx := c.Request().Context()
	ch := chargeOf(c)
	header := c.Request().Header.Get("X-Wallet-Address")
	if ch == nil || header == "" {
		return s.limiter.Allow(ctx, subject, policy)
	}
	if _, err := walletauth.ParseWallet(header, s.network); err != nil {
		return s.limiter.Allow(ctx, subject, policy) // the verifier explains the address
	}
	// header is the address's canonical text: ParseWallet accepts no other.
	d, peeked, err := s.limiter.AllowAndPeek(ctx, subject, policy, keyauth.WalletSubject(header), s.walletPolicy())
	if err == nil {
		ch.peeked, ch.peekedWallet = peeked, header
	}
	return d, err
}

// keyed authenticates the API key, counts the request in the key's windows,
// sets the rate-limit headers, and records usage once the answer is known.
func (s *Server) keyed(class RouteClass, action usage.Action) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			raw, present, err := presentedKey(c)
			if err != nil {
				return err
			}
			if !present {
				return errKeyRequired
			}
			res, err := s.auth.Authenticate(c.Request().Context(), raw, clientIP(c), s.limits.FailOpen[class])
			if res == nil {
				var miss *keyauth.MissLimited // too many unknown keys from this IP: 429 with its headers
				if errors.As(err, &miss) {
					setRateHeaders(c, miss.Decision)
				}
				return err // no key to attribute the request to
			}
			withKey(c, res)
			if res.Limited {
				setRateHeaders(c, res.Decision)
			}
			switch {
			case err != nil:
			case res.Limited && !res.Decision.Allowed:
				err = rateLimited(res.Decision)
			default:
				err = next(c)
			}
			if err != nil {
				c.Error(err) // answer now, so the recorded status is the real one
			}
			s.usage.Record(res.Key.ID, c.Response().Status, action, s.now())
			return nil
		}
	}
}
