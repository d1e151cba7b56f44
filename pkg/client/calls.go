package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/stxgate/stxgate/pkg/stacks"
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
	ID            string     `json:"id"`
	KeyID         string     `json:"keyId"`
	WalletAddress string     `json:"walletAddress"`
	Name          string     `json:"name"`
	Prefix        string     `json:"prefix"`
	Status        string     `json:"status"` // active, revoked, suspended, expired
	Permissions   []string   `json:"permissions"`
	RateLimit     int        `json:"rateLimit"` // per minute
	RateLimits    Limits     `json:"rateLimits"`
	IPAllowlist   []string   `json:"ipAllowlist"`
	ExpiresAt     *time.Time `json:"expiresAt"`
	CreatedAt     time.Time  `json:"createdAt"`
	UpdatedAt     time.Time  `json:"updatedAt"`
	RevokedAt     *time.Time `json:"revokedAt"`
	LastUsedAt    *time.Time `json:"lastUsedAt"`
	UsageStats    Usage      `json:"usageStats"`
	RotatedFrom   string     `json:"rotatedFrom,omitempty"` // the key this one replaced; "" if none
	RotatedTo     string     `json:"rotatedTo,omitempty"`   // the key that replaced this one (it works until ExpiresAt); "" if none
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
	Permissions []string // create, execute, cancel, read
	IPAllowlist []string // CIDRs or addresses; empty: any
	ExpiresAt   *time.Time
}

// signedBody signs a wallet message for the JSON body of a call, bound to
// the gateway's network and domain.
func (c *Client) signedBody(ctx context.Context, action string, fields map[string]any) (Envelope, error) {
	if c.signer == nil {
		return Envelope{}, ErrNoSigner
	}
	b, err := c.binding(ctx)
	if err != nil {
		return Envelope{}, err
	}
	if fields == nil {
		fields = map[string]any{}
	}
	if b.domain != "" {
		fields["domain"] = b.domain
	}
	return SignEnvelope(ctx, c.signer, b.network, action, fields, c.now())
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
func (c *Client) CreateKey(ctx context.Context, r CreateKeyRequest) (*CreatedKey, error) {
	fields := map[string]any{"keyName": r.Name, "permissions": r.Permissions}
	if len(r.IPAllowlist) > 0 {
		fields["ipAllowlist"] = r.IPAllowlist
	}
	if r.ExpiresAt != nil {
		fields["expiresAt"] = r.ExpiresAt.UTC().Format(time.RFC3339Nano)
	}
	body, err := c.signedBody(ctx, "create_api_key", fields)
	if err != nil {
		return nil, err
	}
	var out CreatedKey
	if err := c.do(ctx, request{method: http.MethodPost, path: "/api/v1/api-keys", body: body}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListKeys lists the wallet's keys, oldest first: the signer's (signed
// list_api_keys), or — on a client with an API key and no signer — the keys
// of the API key's wallet, which needs the read permission.
func (c *Client) ListKeys(ctx context.Context) ([]Key, error) {
	req, err := c.walletRead(ctx, "/api/v1/api-keys", "list_api_keys")
	if err != nil {
		return nil, err
	}
	var out struct {
		APIKeys []Key `json:"apiKeys"`
	}
	if err := c.do(ctx, req, &out); err != nil {
		return nil, err
	}
	return out.APIKeys, nil
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
func (c *Client) GetKey(ctx context.Context, id string) (*Key, error) {
	h, err := c.signedHeaders(ctx, "get_api_key", map[string]any{"keyId": id})
	if err != nil {
		return nil, err
	}
	var out Key
	if err := c.do(ctx, request{method: http.MethodGet, path: "/api/v1/api-keys/" + url.PathEscape(id), headers: h}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdateKeyRequest changes a key; nil fields stay as they are.
type UpdateKeyRequest struct {
	Name        *string
	Permissions []string
	IPAllowlist *[]string // an empty list allows every address again
}

// UpdateKey renames a key or changes its permissions or allowlist.
func (c *Client) UpdateKey(ctx context.Context, id string, r UpdateKeyRequest) (*Key, error) {
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
		return nil, err
	}
	var out Key
	if err := c.do(ctx, request{method: http.MethodPatch, path: "/api/v1/api-keys/" + url.PathEscape(id), body: body}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// RevokeKey revokes a key for good and returns the gateway's message
// ("API key '<name>' has been revoked"). The key stops working on every
// gateway instance before this returns.
func (c *Client) RevokeKey(ctx context.Context, id string) (string, error) {
	body, err := c.signedBody(ctx, "delete_api_key", map[string]any{"keyId": id})
	if err != nil {
		return "", err
	}
	var out struct {
		Message string `json:"message"`
	}
	if err := c.do(ctx, request{method: http.MethodDelete, path: "/api/v1/api-keys/" + url.PathEscape(id), body: body}, &out); err != nil {
		return "", err
	}
	return out.Message, nil
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
func (c *Client) RotateKey(ctx context.Context, id string, grace time.Duration) (*RotatedKey, error) {
	if grace < 0 || grace > 24*time.Hour || grace%time.Second != 0 {
		return nil, fmt.Errorf("stxgate: rotate: grace %v must be whole seconds from 0 to 24h", grace)
	}
	fields := map[string]any{"keyId": id, "graceSeconds": int64(grace / time.Second)}
	body, err := c.signedBody(ctx, "rotate_api_key", fields)
	if err != nil {
		return nil, err
	}
	var out RotatedKey
	if err := c.do(ctx, request{method: http.MethodPost, path: "/api/v1/api-keys/" + url.PathEscape(id) + "/rotate", body: body}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Self returns the calling key and its rate-limit windows (keyed; the call
// counts against the key's limits like any other).
func (c *Client) Self(ctx context.Context) (*SelfKey, error) {
	var out SelfKey
	if err := c.do(ctx, request{method: http.MethodGet, path: "/api/v1/api-keys/self", keyed: true}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Health checks that the gateway process is up (GET /healthz).
func (c *Client) Health(ctx context.Context) error {
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
func (c *Client) Ready(ctx context.Context) (*Readiness, error) {
	var out Readiness
	err := c.do(ctx, request{method: http.MethodGet, path: "/readyz"}, &out)
	var apiErr *APIError
	if errors.As(err, &apiErr) && apiErr.Status == http.StatusServiceUnavailable {
		if checks, ok := apiErr.Details["checks"].(map[string]any); ok {
			r := &Readiness{Status: "unavailable", Checks: make(map[string]string, len(checks))}
			for name, state := range checks {
				r.Checks[name], _ = state.(string)
			}
			return r, err
		}
	}
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// OpenAPI returns the gateway's OpenAPI document (GET /openapi.yaml).
func (c *Client) OpenAPI(ctx context.Context) ([]byte, error) {
	var raw []byte
	if err := c.do(ctx, request{method: http.MethodGet, path: "/openapi.yaml"}, &raw); err != nil {
		return nil, err
	}
	return raw, nil
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
	SignatureWindowSeconds int      `json:"signatureWindowSeconds"`
	SignatureSkewSeconds   int      `json:"signatureSkewSeconds"`
	MessageDomain          *string  `json:"messageDomain"` // when set, signed messages carry "domain": this
	Permissions            []string `json:"permissions"`
	Store                  string   `json:"store"`      // "postgres", or "memory" (nothing survives a restart)
	Settlement             string   `json:"settlement"` // SettlementStacks, SettlementRelayer or SettlementSimulated
}

// Info reads the deployment's facts (public).
func (c *Client) Info(ctx context.Context) (*Info, error) {
	var out Info
	if err := c.do(ctx, request{method: http.MethodGet, path: "/api/v1/info"}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Options configure a client to sign as this deployment expects: its
// network, its SIP-018 domain and its message domain.
func (i *Info) Options() ([]Option, error) {
	n, err := stacks.ParseNetwork(i.Network)
	if err != nil {
		return nil, fmt.Errorf("stxgate: info: %w", err)
	}
	opts := []Option{WithNetwork(n), WithDomain(i.SIP018Domain.Name, i.SIP018Domain.Version)}
	if i.MessageDomain != nil {
		opts = append(opts, WithMessageDomain(*i.MessageDomain))
	}
	return opts, nil
}
