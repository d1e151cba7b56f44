package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// AuditEvent is one entry of the audit trail: what happened to a key or an
// order, by whom ("key:<id>", "wallet:<address>" or "operator"), from where.
type AuditEvent struct {
	ID            int64          `json:"id"`
	At            time.Time      `json:"at"`
	Event         string         `json:"event"` // key.created, key.updated, key.revoked, key.rotated, key.suspended, key.unsuspended, order.created, order.executed, order.cancelled, order.filled, order.reopened
	WalletAddress string         `json:"walletAddress"`
	KeyID         string         `json:"keyId"`     // "" when no key was involved
	OrderUUID     string         `json:"orderUuid"` // "" for key events
	Actor         string         `json:"actor"`
	ClientIP      string         `json:"clientIp"`  // "" outside a request, or the operator's (hidden from wallets)
	RequestID     string         `json:"requestId"` // the X-Request-Id of the call
	Details       map[string]any `json:"details"`
}

// AuditPage is a page of events, newest first. NextCursor is "" on the last page.
type AuditPage struct {
	Events     []AuditEvent `json:"events"`
	NextCursor string       `json:"nextCursor"`
}

// AuditQuery pages the trail: Limit 1..100 (0: the gateway's default of 50),
// Cursor from the previous page.
type AuditQuery struct {
	Limit  int
	Cursor string
}

func (q AuditQuery) query() string {
	v := url.Values{}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	if q.Cursor != "" {
		v.Set("cursor", q.Cursor)
	}
	if len(v) == 0 {
		return ""
	}
	return "?" + v.Encode()
}

// Audit reads the wallet's trail: the events of its keys and orders — the
// signer's (signed list_audit), or, on a client with an API key and no
// signer, the API key's wallet's (the key needs the read permission).
func (c *Client) Audit(ctx context.Context, q AuditQuery) (*AuditPage, *Response, error) {
	req, err := c.walletRead(ctx, "/api/v1/audit"+q.query(), "list_audit")
	if err != nil {
		return nil, nil, err
	}
	return call[AuditPage](ctx, c, req)
}

// KeyAudit reads the trail of one of the signer's keys: its lifecycle and
// the orders it acted on (signed get_api_key).
func (c *Client) KeyAudit(ctx context.Context, keyID string, q AuditQuery) (*AuditPage, *Response, error) {
	h, err := c.signedHeaders(ctx, "get_api_key", map[string]any{"keyId": keyID})
	if err != nil {
		return nil, nil, err
	}
	path := "/api/v1/api-keys/" + url.PathEscape(keyID) + "/audit" + q.query()
	return call[AuditPage](ctx, c, request{method: http.MethodGet, path: path, headers: h})
}
