package httpapi

import (
	"encoding/base64"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/stxgate/stxgate/internal/audit"
	"github.com/stxgate/stxgate/internal/fault"
	"github.com/stxgate/stxgate/internal/walletauth"
)

// auditOrigin puts the client address and request id into the request's
// context, where the audit trail reads them: services record who did what
// without every signature carrying the HTTP request.
func (s *Server) auditOrigin(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		text := c.RealIP()
		a := parseClientIP(text)
		ip := ""
		if a.IsValid() {
			ip = addrText(a, text)
		}
		if st := requestOf(c); st != nil {
			st.origin = audit.Origin{ClientIP: ip, RequestID: st.id[0]}
			return next(c)
		}
		r := c.Request()
		c.SetRequest(r.WithContext(audit.WithRequest(r.Context(), ip, c.Response().Header().Get(echo.HeaderXRequestID))))
		return next(c)
	}
}

// AuditEventView is an audit event as its wallet reads it.
type AuditEventView struct {
	ID            int64          `json:"id"`
	At            string         `json:"at"`
	Event         string         `json:"event"`
	WalletAddress string         `json:"walletAddress"`
	KeyID         *string        `json:"keyId"`
	OrderUUID     *string        `json:"orderUuid"`
	Actor         string         `json:"actor"`
	ClientIP      *string        `json:"clientIp"`
	RequestID     *string        `json:"requestId"`
	Details       map[string]any `json:"details"`
}

// AuditPage is a page of events, newest first.
type AuditPage struct {
	Events     []AuditEventView `json:"events"`
	NextCursor *string          `json:"nextCursor"`
}

// auditView shows an event. forOwner hides the operator's own address from
// the wallet owner (the operator's network is none of its business).
func auditView(e *audit.Event, forOwner bool) AuditEventView {
	v := AuditEventView{
		ID: e.ID, At: formatTime(e.At), Event: e.Event, WalletAddress: e.Wallet,
		KeyID: optional(e.KeyID), OrderUUID: optional(e.OrderUUID), Actor: e.Actor,
		ClientIP: optional(e.ClientIP), RequestID: optional(e.RequestID), Details: e.Details,
	}
	if forOwner && e.Actor == audit.ActorOperator {
		v.ClientIP = nil
	}
	if v.Details == nil {
		v.Details = map[string]any{}
	}
	return v
}

// auditPage reads one page for q from the request's limit and cursor.
func (s *Server) auditPage(c echo.Context, q audit.Query, forOwner bool) error {
	var err error
	if q.Limit, err = pageLimit(c); err != nil {
		return err
	}
	if cur := c.QueryParam("cursor"); cur != "" {
		raw, err := base64.RawURLEncoding.DecodeString(cur)
		id, perr := strconv.ParseInt(string(raw), 10, 64)
		if err != nil || perr != nil || id <= 0 {
			return fault.Invalid("cursor", "cursor is not one this API returned")
		}
		q.BeforeID = id
	}
	events, err := s.audit.List(c.Request().Context(), q)
	if err != nil {
		return err
	}
	page := AuditPage{Events: make([]AuditEventView, len(events))}
	for i, e := range events {
		page.Events[i] = auditView(e, forOwner)
	}
	if len(events) == q.Limit {
		cur := base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(events[len(events)-1].ID, 10)))
		page.NextCursor = &cur
	}
	return c.JSON(http.StatusOK, page)
}

// listAudit: GET /api/v1/audit, signed list_audit (reusable in its window)
// or with a key holding read: the events of the wallet's keys and orders,
// newest first.
func (s *Server) listAudit(c echo.Context) error {
	wallet, err := s.readingWallet(c, walletauth.ActionListAudit)
	if err != nil {
		return err
	}
	return s.auditPage(c, audit.Query{Wallet: wallet}, true)
}

// keyAudit: GET /api/v1/api-keys/:keyId/audit, signed get_api_key {keyId}
// or list_api_keys: the events of one of the wallet's keys (its lifecycle
// and the orders it acted on). Another wallet's key is "not found".
func (s *Server) keyAudit(c echo.Context) error {
	k, err := s.signedReadKey(c)
	if err != nil {
		return err
	}
	return s.auditPage(c, audit.Query{Wallet: k.WalletAddress, KeyID: k.ID}, true)
}
