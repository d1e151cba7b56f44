package httpapi

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/stxgate/stxgate/internal/fault"
)

// healthz: the process is up (liveness). Never touches a store.
func (s *Server) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// readyz: every backing store answers (readiness). When one does not, the
// answer is a 503 error body (DESIGN.md: every error has the same body) whose
// details.checks names it.
func (s *Server) readyz(c echo.Context) error {
	checks := make(map[string]string, len(s.ready))
	var down []string
	for _, ch := range s.ready {
		// Each check has its own 2 s, apart from the request's deadline: a
		// store that hangs (partition) must not use up the next one's time
		// and get it reported down too.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request().Context()), 2*time.Second)
		err := ch.Check(ctx)
		cancel()
		if err != nil {
			checks[ch.Name] = "unreachable"
			down = append(down, ch.Name)
			continue
		}
		checks[ch.Name] = "ok"
	}
	if len(down) > 0 {
		return fault.Unavailable("Service unavailable: "+strings.Join(down, ", ")+" unreachable", nil).
			WithDetails(map[string]any{"checks": checks})
	}
	return c.JSON(http.StatusOK, map[string]any{"status": "ready", "checks": checks})
}
