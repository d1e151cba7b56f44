package client

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/stxgate/stxgate/pkg/ordersig"
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
	Status        string     `json:"status"`
	Permissions   []string   `json:"permissions"`
	RateLimit     int        `json:"rateLimit"`
	RateLimits    Limits     `json:"rateLimits"`
	IPAllowlist   []string   `json:"ipAllowlist"`
	ExpiresAt     *time.Time `json:"expiresAt"`
	CreatedAt     time.Time  `json:"createdAt"`
	UpdatedAt     time.Time  `json:"updatedAt"`
	RevokedAt     *time.Time `json:"revokedAt"`
	LastUsedAt    *time.Time `json:"lastUsedAt"`
	UsageStats    Usage      `json:"usageStats"`
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
	Reset     int64 `json:"reset"`
	Window    int   `json:"window"`
}

// SelfKey is the calling key with the state of every window.
type SelfKey struct {
	Key
	RateLimitState map[string]WindowState `json:"rateLimitState"`
}

// CreateKeyRequest asks for a new key.
type CreateKeyRequest struct {
	Name        string
	Permissions []string // create, execute, cancel
	IPAllowlist []string // CIDRs or addresses; empty: any
	ExpiresAt   *time.Time
}

// CreateKey creates a key for the signer's wallet.
func (c *Client) CreateKey(ctx context.Context, r CreateKeyRequest) (*CreatedKey, error) {
	msg := map[string]any{"action": "create_api_key", "keyName": r.Name, "permissions": r.Permissions}
	if len(r.IPAllowlist) > 0 {
		msg["ipAllowlist"] = r.IPAllowlist
	}
	if r.ExpiresAt != nil {
		msg["expiresAt"] = r.ExpiresAt.UTC().Format(time.RFC3339)
	}
	body, err := c.signed(ctx, msg)
	if err != nil {
		return nil, err
	}
	var out CreatedKey
	return &out, c.do(ctx, request{method: "POST", path: "/api/v1/api-keys", body: body}, &out)
}

// ListKeys lists the signer's keys, oldest first.
func (c *Client) ListKeys(ctx context.Context) ([]Key, error) {
	h, err := c.signedHeaders(ctx, map[string]any{"action": "list_api_keys"})
	if err != nil {
		return nil, err
	}
	var out struct {
		APIKeys []Key `json:"apiKeys"`
	}
	return out.APIKeys, c.do(ctx, request{method: "GET", path: "/api/v1/api-keys", headers: h}, &out)
}

// GetKey returns one of the signer's keys with its usage statistics.
func (c *Client) GetKey(ctx context.Context, id string) (*Key, error) {
	h, err := c.signedHeaders(ctx, map[string]any{"action": "get_api_key", "keyId": id})
	if err != nil {
		return nil, err
	}
	var out Key
	return &out, c.do(ctx, request{method: "GET", path: "/api/v1/api-keys/" + url.PathEscape(id), headers: h}, &out)
}

// UpdateKeyRequest changes a key; nil fields stay.
type UpdateKeyRequest struct {
	Name        *string
	Permissions []string
	IPAllowlist *[]string
}

// UpdateKey renames a key or changes its permissions or allowlist.
func (c *Client) UpdateKey(ctx context.Context, id string, r UpdateKeyRequest) (*Key, error) {
	msg := map[string]any{"action": "update_api_key", "keyId": id}
	if r.Name != nil {
		msg["keyName"] = *r.Name
	}
	if r.Permissions != nil {
		msg["permissions"] = r.Permissions
	}
	if r.IPAllowlist != nil {
		msg["ipAllowlist"] = *r.IPAllowlist
	}
	body, err := c.signed(ctx, msg)
	if err != nil {
		return nil, err
	}
	var out Key
	return &out, c.do(ctx, request{method: "PATCH", path: "/api/v1/api-keys/" + url.PathEscape(id), body: body}, &out)
}

// RevokeKey revokes a key for good and returns the gateway's message.
func (c *Client) RevokeKey(ctx context.Context, id string) (string, error) {
	body, err := c.signed(ctx, map[string]any{"action": "delete_api_key", "keyId": id})
	if err != nil {
		return "", err
	}
	var out struct {
		Message string `json:"message"`
	}
	return out.Message, c.do(ctx, request{method: "DELETE", path: "/api/v1/api-keys/" + url.PathEscape(id), body: body}, &out)
}

// Self returns the calling key (keyed).
func (c *Client) Self(ctx context.Context) (*SelfKey, error) {
	var out SelfKey
	return &out, c.do(ctx, request{method: "GET", path: "/api/v1/api-keys/self", keyed: true}, &out)
}

// Order is an order as the gateway shows it.
type Order struct {
	UUID           string     `json:"uuid"`
	Owner          string     `json:"owner"`
	InputToken     string     `json:"inputToken"`
	OutputToken    string     `json:"outputToken"`
	AmountIn       string     `json:"amountIn"`
	TargetPrice    string     `json:"targetPrice"`
	Direction      string     `json:"direction"`
	ConditionToken string     `json:"conditionToken"`
	Recipient      string     `json:"recipient"`
	ValidFrom      time.Time  `json:"validFrom"`
	ValidTo        time.Time  `json:"validTo"`
	Status         string     `json:"status"`
	TxID           *string    `json:"txid"`
	Settlement     *string    `json:"settlement"`
	LastError      *string    `json:"lastError"`
	CreatedAt      time.Time  `json:"createdAt"`
	UpdatedAt      time.Time  `json:"updatedAt"`
	FilledAt       *time.Time `json:"filledAt"`
	CancelledAt    *time.Time `json:"cancelledAt"`
	ExpiredAt      *time.Time `json:"expiredAt"`
}

// NewOrder is an order to sign and submit. Owner defaults to the signer's
// address, UUID to a random UUIDv4.
type NewOrder struct {
	UUID           string
	Owner          string
	InputToken     string
	OutputToken    string
	AmountIn       string
	TargetPrice    string
	Direction      string // "gt" or "lt"
	ConditionToken string
	Recipient      string
	ValidFrom      time.Time
	ValidTo        time.Time
}

// CreateOrder signs n (SIP-018, by the signer) and submits it; with an API key
// set, the call is dual-authenticated (the key must hold create).
func (c *Client) CreateOrder(ctx context.Context, n NewOrder) (*Order, error) {
	if c.signer == nil {
		return nil, ErrNoSigner
	}
	if n.Owner == "" {
		n.Owner = c.signer.Address(c.network)
	}
	if n.UUID == "" {
		n.UUID = NewUUID()
	}
	so := ordersig.Order{
		Owner: n.Owner, InputToken: n.InputToken, OutputToken: n.OutputToken, AmountIn: n.AmountIn,
		TargetPrice: n.TargetPrice, Direction: n.Direction, ConditionToken: n.ConditionToken,
		Recipient: n.Recipient, UUID: n.UUID, ValidFrom: n.ValidFrom.Unix(), ValidTo: n.ValidTo.Unix(),
	}
	tuple, err := so.Tuple()
	if err != nil {
		return nil, fmt.Errorf("stxgate: order tuple: %w", err)
	}
	domain, err := c.domain.Value()
	if err != nil {
		return nil, fmt.Errorf("stxgate: domain: %w", err)
	}
	sig, err := c.signer.SignStructured(ctx, domain, tuple)
	if err != nil {
		return nil, fmt.Errorf("stxgate: sign order: %w", err)
	}
	body := map[string]string{
		"owner": n.Owner, "inputToken": n.InputToken, "outputToken": n.OutputToken, "amountIn": n.AmountIn,
		"targetPrice": n.TargetPrice, "direction": n.Direction, "conditionToken": n.ConditionToken,
		"recipient": n.Recipient, "signature": sig, "uuid": n.UUID,
		"validFrom": n.ValidFrom.UTC().Format(time.RFC3339), "validTo": n.ValidTo.UTC().Format(time.RFC3339),
	}
	var out struct {
		Data Order `json:"data"`
	}
	return &out.Data, c.do(ctx, request{method: "POST", path: "/api/v1/orders/new", body: body, keyed: c.apiKey != ""}, &out)
}

// ExecuteOrder executes an order with the API key, or with a wallet
// signature when the client has no key, and returns the txid.
func (c *Client) ExecuteOrder(ctx context.Context, uuid string) (string, error) {
	r, err := c.orderAction(ctx, "POST", uuid, "execute", "execute_order")
	if err != nil {
		return "", err
	}
	var out struct {
		TxID string `json:"txid"`
	}
	return out.TxID, c.do(ctx, r, &out)
}

// CancelOrder cancels an open order (key or wallet signature, as ExecuteOrder).
func (c *Client) CancelOrder(ctx context.Context, uuid string) (*Order, error) {
	r, err := c.orderAction(ctx, "PATCH", uuid, "cancel", "cancel_order")
	if err != nil {
		return nil, err
	}
	var out struct {
		Data Order `json:"data"`
	}
	return &out.Data, c.do(ctx, r, &out)
}

func (c *Client) orderAction(ctx context.Context, method, uuid, verb, action string) (request, error) {
	r := request{method: method, path: "/api/v1/orders/" + url.PathEscape(uuid) + "/" + verb}
	if c.apiKey != "" {
		r.keyed = true
		return r, nil
	}
	h, err := c.signedHeaders(ctx, map[string]any{"action": action, "uuid": uuid})
	if err != nil {
		return r, err
	}
	r.headers = h
	return r, nil
}

// GetOrder reads one order (public).
func (c *Client) GetOrder(ctx context.Context, uuid string) (*Order, error) {
	var out struct {
		Data Order `json:"data"`
	}
	return &out.Data, c.do(ctx, request{method: "GET", path: "/api/v1/orders/" + url.PathEscape(uuid)}, &out)
}

// ListOrdersRequest filters the public order list.
type ListOrdersRequest struct {
	Owner  string
	Status string
	Limit  int
	Cursor string
}

// OrderPage is one page of orders; NextCursor is empty on the last page.
type OrderPage struct {
	Orders     []Order
	NextCursor string
}

// ListOrders reads a page of orders, newest first (public).
func (c *Client) ListOrders(ctx context.Context, r ListOrdersRequest) (*OrderPage, error) {
	q := url.Values{}
	if r.Owner != "" {
		q.Set("owner", r.Owner)
	}
	if r.Status != "" {
		q.Set("status", r.Status)
	}
	if r.Limit > 0 {
		q.Set("limit", strconv.Itoa(r.Limit))
	}
	if r.Cursor != "" {
		q.Set("cursor", r.Cursor)
	}
	path := "/api/v1/orders"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var out struct {
		Data       []Order `json:"data"`
		NextCursor *string `json:"nextCursor"`
	}
	if err := c.do(ctx, request{method: "GET", path: path}, &out); err != nil {
		return nil, err
	}
	page := &OrderPage{Orders: out.Data}
	if out.NextCursor != nil {
		page.NextCursor = *out.NextCursor
	}
	return page, nil
}

// NewUUID returns a random UUIDv4, the default order uuid.
func NewUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
