package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/stxgate/stxgate/internal/fault"
	"github.com/stxgate/stxgate/internal/metrics"
	"github.com/stxgate/stxgate/internal/order"
)

// ErrorBody is every error answer: {"error", "code", "details"?, "timestamp"}.
// error is the reference docs' text, code its stable machine-readable name
// (fault.Catalogue, listed in openapi.yaml and exported by the SDK).
type ErrorBody struct {
	Error     string         `json:"error"`
	Code      fault.Code     `json:"code"`
	Details   map[string]any `json:"details,omitempty"`
	Timestamp string         `json:"timestamp"`
}

var kindStatus = map[fault.Kind]int{
	fault.KindInternal:        http.StatusInternalServerError,
	fault.KindInvalid:         http.StatusBadRequest,
	fault.KindUnauthenticated: http.StatusUnauthorized,
	fault.KindForbidden:       http.StatusForbidden,
	fault.KindNotFound:        http.StatusNotFound,
	fault.KindConflict:        http.StatusConflict,
	fault.KindTooLarge:        http.StatusRequestEntityTooLarge,
	fault.KindRateLimited:     http.StatusTooManyRequests,
	fault.KindBadGateway:      http.StatusBadGateway,
	fault.KindUnavailable:     http.StatusServiceUnavailable,
}

// toFault turns any error a handler returns into the public error to answer.
// This is the one place where errors become HTTP.
func toFault(err error) *fault.Error {
	var perm *order.PermissionError
	if errors.As(err, &perm) {
		return errMissingPermission(perm.Permission)
	}
	var owner *order.NotOwnerError
	if errors.As(err, &owner) {
		return notOwner(owner)
	}
	if fe, ok := fault.As(err); ok {
		return fe
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		switch he.Code {
		case http.StatusNotFound:
			return fault.NotFound("Not found") // the default code, not_found
		case http.StatusMethodNotAllowed:
			return &fault.Error{Kind: fault.KindInvalid, Code: fault.CodeMethodNotAllowed, Public: "Method not allowed", Err: err}
		case http.StatusRequestEntityTooLarge:
			return &fault.Error{Kind: fault.KindTooLarge, Public: "Request body too large", Err: err}
		case http.StatusUnsupportedMediaType:
			return &fault.Error{Kind: fault.KindInvalid, Code: fault.CodeInvalidContentType, Public: "Content-Type must be application/json", Err: err}
		}
		if he.Code >= 400 && he.Code < 500 {
			return &fault.Error{Kind: fault.KindInvalid, Public: http.StatusText(he.Code), Err: err}
		}
	}
	if fault.IsUnavailable(err) {
		return fault.Unavailable("Service unavailable: a backing store is unreachable", err)
	}
	return &fault.Error{Kind: fault.KindInternal, Public: "Internal server error", Err: err}
}

// statusOf is the HTTP status of a fault (405 keeps its own status).
func statusOf(fe *fault.Error) int {
	var he *echo.HTTPError
	if errors.As(fe.Err, &he) && he.Code == http.StatusMethodNotAllowed {
		return http.StatusMethodNotAllowed
	}
	return kindStatus[fe.Kind]
}

// StatusClientClosedRequest is nginx's 499: the client went away before it
// was answered. It is logged and counted, never sent (nobody is listening).
const StatusClientClosedRequest = 499

// clientClosed reports whether err is the request's own cancellation: its
// client disconnected (net/http cancels the request's context then; the
// request deadline ends it with DeadlineExceeded instead). requestDeadline
// answers inside its scope, so the context checked is still the request's.
func clientClosed(c echo.Context, err error) bool {
	return errors.Is(err, context.Canceled) && errors.Is(c.Request().Context().Err(), context.Canceled)
}

// errorHandler is Echo's HTTPErrorHandler: DESIGN.md's body for every error,
// client errors logged at info, server errors at error, never a stack trace.
// A client that went away gets no body and no line of its own: the access
// log's line says 499 at info — it is not a server fault, and whatever the
// request committed before stands.
func (s *Server) errorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	if clientClosed(c, err) {
		c.Response().WriteHeader(StatusClientClosedRequest)
		return
	}
	fe := toFault(err)
	status := statusOf(fe)
	if fe.Kind == fault.KindUnavailable {
		s.metrics.StoreError(unavailableStore(fe))
	}
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelError
	}
	s.log.LogAttrs(c.Request().Context(), level, "request failed",
		slog.String("request_id", c.Response().Header().Get(echo.HeaderXRequestID)),
		slog.Int("status", status),
		slog.String("error", fe.Public),
		slog.Any("cause", fe.Err))
	body := ErrorBody{Error: fe.Public, Code: fe.CodeOf(), Details: fe.Details, Timestamp: formatTime(s.now())}
	// A HEAD answer keeps GET's headers; net/http drops its body.
	if err := c.JSON(status, body); err != nil {
		s.log.Error("write error response", slog.Any("error", err))
	}
}

// unavailableStore names the store behind a 503 for the metrics: the
// PostgreSQL store marks its errors fault.ErrUnavailable; every other 503
// (limiter, replay store, key-change propagation) is Redis.
func unavailableStore(fe *fault.Error) string {
	if fault.IsUnavailable(fe) {
		return metrics.StorePostgres
	}
	return metrics.StoreRedis
}

// formatTime renders times as JavaScript's toISOString does: UTC, milliseconds.
func formatTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func formatTimePtr(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := formatTime(*t)
	return &s
}
