package httpapi

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/stxgate/stxgate/internal/usage"
	"github.com/stxgate/stxgate/internal/web"
)

// readMethods: HEAD is served wherever GET is, by the same handler and
// middleware (limits count it); net/http drops the body of a HEAD answer and
// keeps its headers, Content-Length included.
var readMethods = []string{http.MethodGet, http.MethodHead}

// routes registers every endpoint. Middleware stacks are named once.
func (s *Server) routes(bodyLimit int64) {
	e := s.echo
	base := []echo.MiddlewareFunc{s.requestID, s.auditOrigin, s.metrics.HTTP, s.accessLog, s.recoverPanic, bodyLimitMiddleware(bodyLimit), requestDeadline(s.requestTimeout)}
	e.Use(composedOnce(base...))

	e.Match(readMethods, "/healthz", s.healthz)
	e.Match(readMethods, "/readyz", s.readyz)
	e.Match(readMethods, "/openapi.yaml", s.openAPI)
	e.Match(readMethods, "/", web.Index) // the wallet dashboard, embedded (internal/web)
	e.Match(readMethods, "/assets/*", web.Asset)
	if s.metricsHandler != nil {
		e.Match(readMethods, "/metrics", echo.WrapHandler(s.metricsHandler))
	}

	// Pre-authentication limits run before any signature check or store read;
	// chargeWallets counts a signed request against its wallet once it succeeded.
	signedRead := []echo.MiddlewareFunc{s.chargeWallets, s.limitIP(ClassSignedRead)}
	signedWrite := []echo.MiddlewareFunc{s.chargeWallets, s.limitIP(ClassSignedWrite)}
	keyedRead := []echo.MiddlewareFunc{s.keyed(ClassKeyedRead, usage.ActionOther)}
	public := []echo.MiddlewareFunc{s.limitIP(ClassPublic)}
	orderWrite := func(a usage.Action) []echo.MiddlewareFunc {
		return []echo.MiddlewareFunc{s.keyedOr(ClassKeyedWrite, a, signedWrite)}
	}
	// A read key, or the wallet's signature (issue 18: the read permission).
	keyedOrSignedRead := []echo.MiddlewareFunc{s.keyedOr(ClassKeyedRead, usage.ActionOther, signedRead)}

	v1 := e.Group("/api/v1")
	v1.Match(readMethods, "/info", chain(s.getInfo, public...))
	v1.POST("/api-keys", chain(s.createKey, signedWrite...))
	v1.Match(readMethods, "/api-keys", chain(s.listKeys, keyedOrSignedRead...))
	v1.Match(readMethods, "/api-keys/self", chain(s.selfKey, keyedRead...))
	v1.Match(readMethods, "/api-keys/:keyId", chain(s.getKey, signedRead...))
	v1.Match(readMethods, "/api-keys/:keyId/audit", chain(s.keyAudit, signedRead...))
	v1.Match(readMethods, "/audit", chain(s.listAudit, keyedOrSignedRead...))
	v1.PATCH("/api-keys/:keyId", chain(s.updateKey, signedWrite...))
	v1.DELETE("/api-keys/:keyId", chain(s.deleteKey, signedWrite...))
	v1.POST("/api-keys/:keyId/rotate", chain(s.rotateKey, signedWrite...))

	v1.POST("/orders/new", chain(s.createOrder, orderWrite(usage.ActionCreate)...))
	v1.POST("/orders/:uuid/execute", chain(s.executeOrder, orderWrite(usage.ActionExecute)...))
	v1.PATCH("/orders/:uuid/cancel", chain(s.cancelOrder, orderWrite(usage.ActionCancel)...))
	v1.Match(readMethods, "/orders/events", chain(s.orderEvents, public...)) // before :uuid (a static route wins anyway)
	v1.Match(readMethods, "/orders/:uuid", chain(s.getOrder, public...))
	v1.Match(readMethods, "/orders", chain(s.listOrders, public...))
	s.adminRoutes(v1) // operator API, only when STXGATE_OPERATOR_TOKEN is set
}

// composedOnce composes global middleware once, at start-up. Echo applies
// e.Use middleware to the routed handler on every request — one closure per
// middleware per request, seven allocations on every call here. The composed
// chain ends in the handler the router chose for the request (c.Handler(),
// the very handler Echo passes in, a 404 or 405 one included), so it is built
// once and handed back as is.
func composedOnce(mw ...echo.MiddlewareFunc) echo.MiddlewareFunc {
	h := chain(func(c echo.Context) error { return c.Handler()(c) }, mw...)
	return func(echo.HandlerFunc) echo.HandlerFunc { return h }
}

// chain applies a route's middleware to its handler once, at start-up. Echo
// applies route middleware given to Add/Match on every request (one closure
// per middleware per request, and keyedOr rebuilt both of its chains); the
// composed handler runs the same middleware in the same order.
func chain(h echo.HandlerFunc, mw ...echo.MiddlewareFunc) echo.HandlerFunc {
	for i := len(mw) - 1; i >= 0; i-- {
		h = mw[i](h)
	}
	return h
}
