package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

// healthz: the process is up (liveness). Never touches a store.
func (s *Server) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// readyz: every backing store answers (readiness). 503 names the failing one.
func (s *Server) readyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	checks := make(map[string]string, len(s.ready))
	status := http.StatusOK
	for _, ch := range s.ready {
		if err := ch.Check(ctx); err != nil {
			checks[ch.Name] = "unreachable"
			status = http.StatusServiceUnavailable
			continue
		}
		checks[ch.Name] = "ok"
	}
	state := "ready"
	if status != http.StatusOK {
		state = "unavailable"
	}
	return c.JSON(status, map[string]any{"status": state, "checks": checks})
}
