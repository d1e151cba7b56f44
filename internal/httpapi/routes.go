package httpapi

import (
	"github.com/labstack/echo/v4"

	"github.com/stxgate/stxgate/internal/usage"
	"github.com/stxgate/stxgate/internal/web"
)

// routes registers every endpoint. Middleware stacks are named once.
func (s *Server) routes(bodyLimit int64) {
	e := s.echo
	base := []echo.MiddlewareFunc{s.requestID, s.auditOrigin, s.metrics.HTTP, s.accessLog, s.recoverPanic, bodyLimitMiddleware(bodyLimit), requestDeadline(s.requestTimeout)}
	e.Use(base...)

	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	e.GET("/openapi.yaml", s.openAPI)
	e.GET("/", web.Index) // the wallet dashboard, embedded (internal/web)
	e.GET("/assets/*", web.Asset)
	if s.metricsHandler != nil {
		e.GET("/metrics", echo.WrapHandler(s.metricsHandler))
	}

	// Pre-authentication limits run before any signature check or store read.
	signedRead := []echo.MiddlewareFunc{s.limitIP(ClassSignedRead)}
	signedWrite := []echo.MiddlewareFunc{s.limitIP(ClassSignedWrite)}
	keyedRead := []echo.MiddlewareFunc{s.keyed(ClassKeyedRead, usage.ActionOther)}
	public := []echo.MiddlewareFunc{s.limitIP(ClassPublic)}
	orderWrite := func(a usage.Action) []echo.MiddlewareFunc {
		return []echo.MiddlewareFunc{s.keyedOrSigned(ClassKeyedWrite, a)}
	}

	v1 := e.Group("/api/v1")
	v1.GET("/info", s.getInfo, public...)
	v1.POST("/api-keys", s.createKey, signedWrite...)
	v1.GET("/api-keys", s.listKeys, signedRead...)
	v1.GET("/api-keys/self", s.selfKey, keyedRead...)
	v1.GET("/api-keys/:keyId", s.getKey, signedRead...)
	v1.GET("/api-keys/:keyId/audit", s.keyAudit, signedRead...)
	v1.GET("/audit", s.listAudit, signedRead...)
	v1.PATCH("/api-keys/:keyId", s.updateKey, signedWrite...)
	v1.DELETE("/api-keys/:keyId", s.deleteKey, signedWrite...)

	v1.POST("/orders/new", s.createOrder, orderWrite(usage.ActionCreate)...)
	v1.POST("/orders/:uuid/execute", s.executeOrder, orderWrite(usage.ActionExecute)...)
	v1.PATCH("/orders/:uuid/cancel", s.cancelOrder, orderWrite(usage.ActionCancel)...)
	v1.GET("/orders/:uuid", s.getOrder, public...)
	v1.GET("/orders", s.listOrders, public...)
	s.adminRoutes(v1) // operator API, only when STXGATE_OPERATOR_TOKEN is set
}
