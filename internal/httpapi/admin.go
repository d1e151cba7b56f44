package httpapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/stxgate/stxgate/internal/apikey"
	"github.com/stxgate/stxgate/internal/audit"
	"github.com/stxgate/stxgate/internal/fault"
)

// The operator API (/api/v1/admin) exists only when STXGATE_OPERATOR_TOKEN is
// set; without it its paths are unknown routes (404), like any other.

var (
	errOperatorToken = fault.Unauthenticated("Invalid operator token").WithCode(fault.CodeOperatorToken)
	errAdminKeyGone  = fault.NotFound("API key not found").WithCode(fault.CodeAPIKeyNotFound)
)

const maxReasonLen = 500

// adminRoutes registers the operator API on v1 when a token is configured.
// The per-IP limit runs before the token check, so guessing is throttled.
func (s *Server) adminRoutes(v1 *echo.Group) {
	if !s.operatorEnabled {
		return
	}
	write := []echo.MiddlewareFunc{s.limitIP(ClassSignedWrite), s.operatorOnly}
	read := []echo.MiddlewareFunc{s.limitIP(ClassSignedRead), s.operatorOnly}
	v1.Match(readMethods, "/admin/api-keys/:keyId", chain(s.adminGetKey, read...))
	v1.Match(readMethods, "/admin/api-keys/:keyId/audit", chain(s.adminKeyAudit, read...))
	v1.POST("/admin/api-keys/:keyId/suspend", chain(s.adminSuspend(true), write...))
	v1.POST("/admin/api-keys/:keyId/unsuspend", chain(s.adminSuspend(false), write...))
}

// operatorTokenHash is what the configured token is compared through: equal
// lengths, so the comparison is constant time whatever the caller sends.
func operatorTokenHash(token string) [sha256.Size]byte { return sha256.Sum256([]byte(token)) }

// operatorOnly admits "Authorization: Bearer <operator token>". The token is
// never logged nor echoed.
func (s *Server) operatorOnly(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		scheme, token, ok := strings.Cut(strings.TrimSpace(c.Request().Header.Get(echo.HeaderAuthorization)), " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return errOperatorToken
		}
		got := operatorTokenHash(strings.TrimSpace(token))
		if subtle.ConstantTimeCompare(got[:], s.operatorToken[:]) != 1 {
			return errOperatorToken
		}
		return next(c)
	}
}

// adminKey loads any wallet's key.
func (s *Server) adminKey(c echo.Context) (*apikey.Key, error) {
	if !apikey.ValidID(c.Param("keyId")) {
		return nil, errAdminKeyGone
	}
	k, err := s.keys.OperatorGet(c.Request().Context(), c.Param("keyId"))
	if errors.Is(err, apikey.ErrNotFound) {
		return nil, errAdminKeyGone
	}
	return k, err
}

// adminGetKey: GET /api/v1/admin/api-keys/:keyId → KeyView.
func (s *Server) adminGetKey(c echo.Context) error {
	k, err := s.adminKey(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s.keyView(k))
}

// adminKeyAudit: GET /api/v1/admin/api-keys/:keyId/audit → the key's events.
func (s *Server) adminKeyAudit(c echo.Context) error {
	k, err := s.adminKey(c)
	if err != nil {
		return err
	}
	return s.auditPage(c, audit.Query{Wallet: k.WalletAddress, KeyID: k.ID}, false)
}

// adminSuspend: POST /api/v1/admin/api-keys/:keyId/suspend and /unsuspend,
// optional body {"reason": "..."} → KeyView. Effective on every instance
// before the answer, like a revocation; a revoked key stays revoked (400).
func (s *Server) adminSuspend(suspend bool) echo.HandlerFunc {
	return func(c echo.Context) error {
		body, err := readJSONObject(c)
		if err != nil {
			return err
		}
		var reason string
		if raw, ok := body["reason"]; ok && string(raw) != "null" {
			if err := json.Unmarshal(raw, &reason); err != nil {
				return fault.Invalid("reason", "reason must be a string")
			}
		}
		if reason = strings.TrimSpace(reason); utf8.RuneCountInString(reason) > maxReasonLen {
			return fault.Invalidf("reason", "reason is longer than %d characters", maxReasonLen)
		}
		k, err := s.keys.OperatorSetSuspended(c.Request().Context(), c.Param("keyId"), suspend, reason)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, s.keyView(k))
	}
}
