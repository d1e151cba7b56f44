package client

import (
	"context"
	"errors"
	"net/http"
	"net/url"
)

// The operator API (/api/v1/admin) is authenticated by the gateway's
// operator token (WithOperatorToken), sent to these calls only: a client
// that also holds a wallet or an API key never mixes them up.

// ErrNoOperatorToken is returned by Admin calls on a client without an operator token.
var ErrNoOperatorToken = errors.New("stxgate: this call needs the operator token (WithOperatorToken)")

// admin is r with the operator token.
func (c *Client) admin(r request) (request, error) {
	if c.operatorToken == "" {
		return r, ErrNoOperatorToken
	}
	r.headers = map[string]string{"Authorization": "Bearer " + c.operatorToken}
	return r, nil
}

// AdminSuspendKey suspends any wallet's key at once, on every gateway
// instance; reason (optional) is kept in the audit trail the owner reads.
func (c *Client) AdminSuspendKey(ctx context.Context, keyID, reason string) (*Key, *Response, error) {
	return c.adminSetSuspended(ctx, keyID, reason, "suspend")
}

// AdminUnsuspendKey lifts a suspension. A revoked key stays revoked (400).
func (c *Client) AdminUnsuspendKey(ctx context.Context, keyID, reason string) (*Key, *Response, error) {
	return c.adminSetSuspended(ctx, keyID, reason, "unsuspend")
}

func (c *Client) adminSetSuspended(ctx context.Context, keyID, reason, verb string) (*Key, *Response, error) {
	var body any
	if reason != "" {
		body = map[string]string{"reason": reason}
	}
	r, err := c.admin(request{method: http.MethodPost, path: "/api/v1/admin/api-keys/" + url.PathEscape(keyID) + "/" + verb, body: body})
	if err != nil {
		return nil, nil, err
	}
	return call[Key](ctx, c, r)
}

// AdminGetKey reads any wallet's key.
func (c *Client) AdminGetKey(ctx context.Context, keyID string) (*Key, *Response, error) {
	r, err := c.admin(request{method: http.MethodGet, path: "/api/v1/admin/api-keys/" + url.PathEscape(keyID)})
	if err != nil {
		return nil, nil, err
	}
	return call[Key](ctx, c, r)
}

// AdminKeyAudit reads one page of a key's audit trail, newest first, with
// the client address of every event (the operator's own included).
func (c *Client) AdminKeyAudit(ctx context.Context, keyID string, q AuditQuery) (*AuditPage, *Response, error) {
	r, err := c.admin(request{method: http.MethodGet, path: "/api/v1/admin/api-keys/" + url.PathEscape(keyID) + "/audit" + q.query()})
	if err != nil {
		return nil, nil, err
	}
	return call[AuditPage](ctx, c, r)
}
