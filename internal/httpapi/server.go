// Package httpapi is the HTTP face of the gateway: Echo, the routes in one
// file, handlers per resource, middleware stacks as named slices, and the one
// error mapper.
package httpapi

import (
	"context"
	"crypto/sha256"
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/stxgate/stxgate/internal/apikey"
	"github.com/stxgate/stxgate/internal/audit"
	"github.com/stxgate/stxgate/internal/keyauth"
	"github.com/stxgate/stxgate/internal/metrics"
	"github.com/stxgate/stxgate/internal/order"
	"github.com/stxgate/stxgate/internal/ratelimit"
	"github.com/stxgate/stxgate/internal/usage"
	"github.com/stxgate/stxgate/internal/walletauth"
	"github.com/stxgate/stxgate/pkg/stacks"
)

// Check is a named readiness probe of a backing store.
type Check struct {
	Name  string
	Check func(ctx context.Context) error
}

// Deps is what the HTTP layer needs; cmd/stxgate wires it.
type Deps struct {
	Keys           *apikey.Service
	Orders         *order.Service
	Wallets        *walletauth.Verifier
	Auth           *keyauth.Authenticator
	Limiter        ratelimit.Limiter
	Usage          *usage.Recorder
	Limits         Limits
	Network        stacks.Network
	Log            *slog.Logger
	Now            func() time.Time
	Ready          []Check
	BodyLimit      int64
	RequestTimeout time.Duration // bounds a request's store work (0: none)
	TrustedProxies []netip.Prefix
	Audit          audit.Store // the audit trail, read by wallets and the operator
	OperatorToken  string      // bearer token of the operator API; "": no operator API (404)

	Metrics        *metrics.Metrics // request, limiter and store-error counts; nil: none
	MetricsHandler http.Handler     // served at GET /metrics when set (nil: a separate listener serves it)
	OrderReads     *order.Service   // public order reads (a read replica); nil: Orders
	Info           Info             // GET /api/v1/info
	Streams        Streams          // GET /api/v1/orders/events
	// KeyListTTL bounds how long a rendered wallet-signed key list is served
	// for usage other instances flushed meanwhile (keylist.go); the usage
	// flush interval. 0: one second.
	KeyListTTL time.Duration
}

// Server holds the handlers' dependencies.
type Server struct {
	keys    *apikey.Service
	orders  *order.Service
	wallets *walletauth.Verifier
	auth    *keyauth.Authenticator
	limiter ratelimit.Limiter
	usage   *usage.Recorder
	limits  Limits
	network stacks.Network
	log     *slog.Logger
	now     func() time.Time
	ready   []Check
	echo    *echo.Echo

	audit           audit.Store
	operatorEnabled bool
	operatorToken   [sha256.Size]byte // hash of the token: compared in constant time

	metrics        *metrics.Metrics
	metricsHandler http.Handler
	orderReads     *order.Service
	info           Info

	requestTimeout time.Duration // requestDeadline (deadline.go)

	streams     Streams   // order event streams (events.go)
	openStreams ipStreams // per client IP

	keyLists   *keyListCache // rendered wallet-signed key lists (keylist.go)
	keyListTTL time.Duration

	walletLimit ratelimit.Policy // the per-wallet limit (walletbudget.go), built once
}

// New builds the Echo instance with every route.
func New(d Deps) *Server {
	s := &Server{
		keys:    d.Keys,
		orders:  d.Orders,
		wallets: d.Wallets,
		auth:    d.Auth,
		limiter: d.Limiter,
		usage:   d.Usage,
		limits:  d.Limits,
		network: d.Network,
		log:     d.Log,
		now:     d.Now,
		ready:   d.Ready,

		metrics:        d.Metrics,
		metricsHandler: d.MetricsHandler,
		orderReads:     d.OrderReads,
		info:           d.Info,
	}
	if s.orderReads == nil {
		s.orderReads = d.Orders
	}
	s.audit = d.Audit
	s.walletLimit = ratelimit.Policy{ratelimit.MinuteWindow(s.limits.Wallet)}
	s.keyLists, s.keyListTTL = newKeyListCache(), d.KeyListTTL
	if s.keyListTTL <= 0 {
		s.keyListTTL = time.Second
	}
	s.requestTimeout = d.RequestTimeout
	s.streams = d.Streams
	if s.streams.Heartbeat <= 0 {
		s.streams.Heartbeat = 15 * time.Second
	}
	if s.streams.PerIP <= 0 {
		s.streams.PerIP = 20
	}
	s.operatorEnabled, s.operatorToken = d.OperatorToken != "", operatorTokenHash(d.OperatorToken)
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.errorHandler
	e.IPExtractor = ipExtractor(d.TrustedProxies)
	s.echo = e
	s.routes(d.BodyLimit)
	return s
}

// Echo is the server's echo instance (an http.Handler) to serve.
func (s *Server) Echo() *echo.Echo { return s.echo }

// ipExtractor believes X-Forwarded-For only from configured proxies; with
// none configured the peer address is the client, so it cannot be spoofed.
func ipExtractor(trusted []netip.Prefix) echo.IPExtractor {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, p := range trusted {
		opts = append(opts, echo.TrustIPRange(prefixToIPNet(p)))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}
