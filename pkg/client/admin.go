package client

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
)

// The operator API (/api/v1/admin) is authenticated by the gateway's
// operator token (STXGATE_OPERATOR_TOKEN), passed to each call so a client
// that also holds a wallet or an API key never mixes them up.

// ErrNoOperatorToken is returned by Admin calls given an empty token.
var ErrNoOperatorToken = errors.New("stxgate: this call needs the operator token")

func adminHeaders(token string) (map[string]string, error) {
	token = strings.TrimSpace(token)
	if token == "" {
		return nil, ErrNoOperatorToken
	}
	return map[string]string{"Authorization": "Bearer " + token}, nil
}

// AdminSuspendKey suspends any wallet's key at once, on every gateway
// instance; reason (optional) is kept in the audit trail the owner reads.
func (c *Client) AdminSuspendKey(ctx context.Context, token, keyID, reason string) (*Key, error) {
	return c.adminSetSuspended(ctx, token, keyID, reason, "suspend")
}

// AdminUnsuspendKey lifts a suspension. A revoked key stays revoked (400).
func (c *Client) AdminUnsuspendKey(ctx context.Context, token, keyID, reason string) (*Key, error) {
	return c.adminSetSuspended(ctx, token, keyID, reason, "unsuspend")
}

func (c *Client) adminSetSuspended(ctx context.Context, token, keyID, reason, verb string) (*Key, error) {
	h, err := adminHeaders(token)
	if err != nil {
		return nil, err
	}
	var body any
	if reason != "" {
		body = map[string]string{"reason": reason}
	}
	var out Key
	path := "/api/v1/admin/api-keys/" + url.PathEscape(keyID) + "/" + verb
	if err := c.do(ctx, request{method: http.MethodPost, path: path, body: body, headers: h}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// AdminGetKey reads any wallet's key.
func (c *Client) AdminGetKey(ctx context.Context, token, keyID string) (*Key, error) {
	h, err := adminHeaders(token)
	if err != nil {
		return nil, err
	}
	var out Key
	if err := c.do(ctx, request{method: http.MethodGet, path: "/api/v1/admin/api-keys/" + url.PathEscape(keyID), headers: h}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// AdminKeyAudit reads one page of a key's audit trail, newest first, with
// the client address of every event (the operator's own included).
func (c *Client) AdminKeyAudit(ctx context.Context, token, keyID string, q AuditQuery) (*AuditPage, error) {
	h, err := adminHeaders(token)
	if err != nil {
		return nil, err
	}
	var out AuditPage
	path := "/api/v1/admin/api-keys/" + url.PathEscape(keyID) + "/audit" + q.query()
	if err := c.do(ctx, request{method: http.MethodGet, path: path, headers: h}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
