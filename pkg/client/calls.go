package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// Usage is a key's usage statistics.
type Usage struct {
	TotalRequests      int64 `json:"totalRequests"`
	SuccessfulRequests int64 `json:"successfulRequests"`
	FailedRequests     int64 `json:"failedRequests"`
	CreationCount      int64 `json:"creationCount"`
	ExecutionCount     int64 `json:"executionCount"`
	CancellationCount  int64 `json:"cancellationCount"`
}

// Limits are a key's per-window limits.
type Limits struct {
	Minute int `json:"minute"`
	Hour   int `json:"hour"`
	Day    int `json:"day"`
}

// Key is a key as the gateway shows it (never the secret).
type Key struct {
	ID            string       `json:"id"`
	KeyID         string       `json:"keyId"`
	WalletAddress string       `json:"walletAddress"`
	Name          string       `json:"name"`
	Prefix        string       `json:"prefix"`
	Status        KeyStatus    `json:"status"`
	Permissions   []Permission `json:"permissions"`
	RateLimit     int          `json:"rateLimit"` // per minute
	RateLimits    Limits       `json:"rateLimits"`
	IPAllowlist   []string     `json:"ipAllowlist"`
	ExpiresAt     *time.Time   `json:"expiresAt"`
	CreatedAt     time.Time    `json:"createdAt"`
	UpdatedAt     time.Time    `json:"updatedAt"`
	RevokedAt     *time.Time   `json:"revokedAt"`
	LastUsedAt    *time.Time   `json:"lastUsedAt"`
	UsageStats    Usage        `json:"usageStats"`
	RotatedFrom   string       `json:"rotatedFrom,omitempty"` // the key this one replaced; "" if none
	RotatedTo     string       `json:"rotatedTo,omitempty"`   // the key that replaced this one (it works until ExpiresAt); "" if none
}

// CreatedKey is a new key with its secret: the only time the secret is shown.
type CreatedKey struct {
	APIKey string `json:"apiKey"`
	Key
}

// WindowState is one rate-limit window of /self.
type WindowState struct {
	Limit     int   `json:"limit"`
	Remaining int   `json:"remaining"`
	Reset     int64 `json:"reset"`  // unix seconds
	Window    int   `json:"window"` // seconds
}

// SelfKey is the calling key with the state of every window ("minute",
// "hour", "day"), counting the call itself.
type SelfKey struct {
	Key
	RateLimitState map[string]WindowState `json:"rateLimitState"`
}

// CreateKeyRequest asks for a new key.
type CreateKeyRequest struct {
	Name        string
	Permissions []Permission
	IPAllowlist []string // CIDRs or addresses; empty: any
	ExpiresAt   *time.Time
}

// signedBody signs a wallet message for the JSON body of a call, bound to
// the gateway's network and, when it has one, its domain.
func (c *Client) signedBody(ctx context.Context, action string, fields map[string]any) (Envelope, error) {
	if c.signer == nil {
		return Envelope{}, ErrNoSigner
	}
	if fields == nil {
		fields = map[string]any{}
	}
	if c.messageDomain != "" {
		fields["domain"] = c.messageDomain
	}
	return SignEnvelope(ctx, c.signer, c.network, action, fields, c.now())
}

// signedHeaders signs a wallet message for the X-* headers of a call (GET has no body).
func (c *Client) signedHeaders(ctx context.Context, action string, fields map[string]any) (map[string]string, error) {
	env, err := c.signedBody(ctx, action, fields)
	if err != nil {
		return nil, err
	}
	return env.Headers(), nil
}

// CreateKey creates a key for the signer's wallet.
func (c *Client) CreateKey(ctx context.Context, r CreateKeyRequest) (*CreatedKey, *Response, error) {
	fields := map[string]any{"keyName": r.Name, "permissions": r.Permissions}
	if len(r.IPAllowlist) > 0 {
		fields["ipAllowlist"] = r.IPAllowlist
	}
	if r.ExpiresAt != nil {
		fields["expiresAt"] = r.ExpiresAt.UTC().Format(time.RFC3339Nano)
	}
	body, err := c.signedBody(ctx, "create_api_key", fields)
	if err != nil {
		return nil, nil, err
	}
	return call[CreatedKey](ctx, c, request{method: http.MethodPost, path: "/api/v1/api-keys", body: body})
}

// ListKeys lists the wallet's keys, oldest first: the signer's (signed
// list_api_keys), or — on a client with an API key and no signer — the keys
// of the API key's wallet, which needs the read permission.
func (c *Client) ListKeys(ctx context.Context) ([]Key, *Response, error) {
	req, err := c.walletRead(ctx, "/api/v1/api-keys", "list_api_keys")
	if err != nil {
		return nil, nil, err
	}
	var out struct {
		APIKeys []Key `json:"apiKeys"`
	}
	resp, err := c.do(ctx, req, &out)
	if err != nil {
		return nil, resp, err
	}
	return out.APIKeys, resp, nil
}

// walletRead is a read of the wallet's keys or trail: signed with action by
// the signer, or, without one, keyed with the client's API key (a read key).
func (c *Client) walletRead(ctx context.Context, path, action string) (request, error) {
	if c.signer == nil && c.apiKey != "" {
		return request{method: http.MethodGet, path: path, keyed: true}, nil
	}
	h, err := c.signedHeaders(ctx, action, nil)
	if err != nil {
		return request{}, err
	}
	return request{method: http.MethodGet, path: path, headers: h}, nil
}

// GetKey returns one of the signer's keys with its usage statistics.
func (c *Client) GetKey(ctx context.Context, id string) (*Key, *Response, error) {
	h, err := c.signedHeaders(ctx, "get_api_key", map[string]any{"keyId": id})
	if err != nil {
		return nil, nil, err
	}
	return call[Key](ctx, c, request{method: http.MethodGet, path: "/api/v1/api-keys/" + url.PathEscape(id), headers: h})
}

// UpdateKeyRequest changes a key; nil fields stay as they are.
type UpdateKeyRequest struct {
	Name        *string
	Permissions []Permission
	IPAllowlist *[]string // an empty list allows every address again
}

// UpdateKey renames a key or changes its permissions or allowlist.
func (c *Client) UpdateKey(ctx context.Context, id string, r UpdateKeyRequest) (*Key, *Response, error) {
	fields := map[string]any{"keyId": id}
	if r.Name != nil {
		fields["keyName"] = *r.Name
	}
	if r.Permissions != nil {
		fields["permissions"] = r.Permissions
	}
	if r.IPAllowlist != nil {
		list := *r.IPAllowlist
		if list == nil {
			list = []string{}
		}
		fields["ipAllowlist"] = list
	}
	body, err := c.signedBody(ctx, "update_api_key", fields)
	if err != nil {
		return nil, nil, err
	}
	return call[Key](ctx, c, request{method: http.MethodPatch, path: "/api/v1/api-keys/" + url.PathEscape(id), body: body})
}

// RevokeKey revokes a key for good and returns the gateway's message
// ("API key '<name>' has been revoked"). The key stops working on every
// gateway instance before this returns.
func (c *Client) RevokeKey(ctx context.Context, id string) (string, *Response, error) {
	body, err := c.signedBody(ctx, "delete_api_key", map[string]any{"keyId": id})
	if err != nil {
		return "", nil, err
	}
	var out struct {
		Message string `json:"message"`
	}
	resp, err := c.do(ctx, request{method: http.MethodDelete, path: "/api/v1/api-keys/" + url.PathEscape(id), body: body}, &out)
	if err != nil {
		return "", resp, err
	}
	return out.Message, resp, nil
}

// RotatedKey is the new key of a rotation, with its secret (shown only here).
// RotatedFrom names the key it replaced.
type RotatedKey = CreatedKey

// RotateKey replaces one of the signer's keys by a new key — a new secret and
// key id, the same name, permissions, limits, allowlist and expiry. The old
// key keeps working for grace (whole seconds, at most 24 h; 0 revokes it at
// once) and then fails with "API key inactive" on every gateway instance.
// A key rotated before answers CodeAPIKeyAlreadyRotated (409, details
// "rotatedTo"); revoked, suspended and expired keys cannot be rotated.
func (c *Client) RotateKey(ctx context.Context, id string, grace time.Duration) (*RotatedKey, *Response, error) {
	if grace < 0 || grace > 24*time.Hour || grace%time.Second != 0 {
		return nil, nil, fmt.Errorf("stxgate: rotate: grace %v must be whole seconds from 0 to 24h", grace)
	}
	fields := map[string]any{"keyId": id, "graceSeconds": int64(grace / time.Second)}
	body, err := c.signedBody(ctx, "rotate_api_key", fields)
	if err != nil {
		return nil, nil, err
	}
	return call[RotatedKey](ctx, c, request{method: http.MethodPost, path: "/api/v1/api-keys/" + url.PathEscape(id) + "/rotate", body: body})
}

// Self returns the calling key and its rate-limit windows (keyed; the call
// counts against the key's limits like any other).
func (c *Client) Self(ctx context.Context) (*SelfKey, *Response, error) {
	return call[SelfKey](ctx, c, request{method: http.MethodGet, path: "/api/v1/api-keys/self", keyed: true})
}

// Health checks that the gateway process is up (GET /healthz).
func (c *Client) Health(ctx context.Context) (*Response, error) {
	return c.do(ctx, request{method: http.MethodGet, path: "/healthz"}, nil)
}

// Readiness is the answer of GET /readyz.
type Readiness struct {
	Status string            `json:"status"` // "ready"; "unavailable" when a store does not answer
	Checks map[string]string `json:"checks"` // backing store → "ok" or "unreachable"
}

// Ready asks whether every backing store answers (GET /readyz). When one does
// not, it returns the readiness (naming it) and the 503 *APIError, whose
// message names the store too.
func (c *Client) Ready(ctx context.Context) (*Readiness, *Response, error) {
	out, resp, err := call[Readiness](ctx, c, request{method: http.MethodGet, path: "/readyz"})
	var apiErr *APIError
	if errors.As(err, &apiErr) && apiErr.Status == http.StatusServiceUnavailable {
		if checks, ok := apiErr.Details["checks"].(map[string]any); ok {
			r := &Readiness{Status: "unavailable", Checks: make(map[string]string, len(checks))}
			for name, state := range checks {
				r.Checks[name], _ = state.(string)
			}
			return r, resp, err
		}
	}
	return out, resp, err
}

// OpenAPI returns the gateway's OpenAPI document (GET /openapi.yaml).
func (c *Client) OpenAPI(ctx context.Context) ([]byte, *Response, error) {
	var raw []byte
	resp, err := c.do(ctx, request{method: http.MethodGet, path: "/openapi.yaml"}, &raw)
	if err != nil {
		return nil, resp, err
	}
	return raw, resp, nil
}

// Info describes a deployment (GET /api/v1/info): what a client needs before
// it asks a wallet to sign.
type Info struct {
	Network      string `json:"network"` // "mainnet" or "testnet"
	SIP018Domain struct {
		Name    string `json:"name"`
		Version string `json:"version"`
		ChainID uint64 `json:"chainId"`
	} `json:"sip018Domain"`
	SignatureWindowSeconds int            `json:"signatureWindowSeconds"`
	SignatureSkewSeconds   int            `json:"signatureSkewSeconds"`
	MessageDomain          *string        `json:"messageDomain"` // when set, signed messages carry "domain": this
	Permissions            []Permission   `json:"permissions"`
	Store                  string         `json:"store"` // "postgres", or "memory" (nothing survives a restart)
	Settlement             SettlementKind `json:"settlement"`
}

// Info reads the deployment's facts afresh (public); GatewayInfo is what
// New read.
func (c *Client) Info(ctx context.Context) (*Info, *Response, error) {
	return call[Info](ctx, c, request{method: http.MethodGet, path: "/api/v1/info"})
}

// call sends r and decodes the answer into a new T.
func call[T any](ctx context.Context, c *Client, r request) (*T, *Response, error) {
	var out T
	resp, err := c.do(ctx, r, &out)
	if err != nil {
		return nil, resp, err
	}
	return &out, resp, nil
}
