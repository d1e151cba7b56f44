package client

import (
	"context"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/stxgate/stxgate/pkg/ordersig"
	"github.com/stxgate/stxgate/pkg/stacks"
)

// Order is an order as the gateway shows it; its Terms (Owner, InputToken,
// OutputToken, AmountIn, TargetPrice, Direction, ConditionToken, Recipient)
// are embedded.
type Order struct {
	UUID string `json:"uuid"`
	Terms
	ValidFrom   time.Time       `json:"validFrom"`
	ValidTo     time.Time       `json:"validTo"`
	Status      OrderStatus     `json:"status"`
	TxID        *string         `json:"txid"`        // from submitted on
	Settlement  *SettlementKind `json:"settlement"`  // what made TxID
	BlockHeight *int64          `json:"blockHeight"` // stacks settlement: the block that filled it
	LastError   *string         `json:"lastError"`
	CreatedAt   time.Time       `json:"createdAt"`
	UpdatedAt   time.Time       `json:"updatedAt"`
	SubmittedAt *time.Time      `json:"submittedAt"` // stacks settlement: when its transaction was broadcast
	FilledAt    *time.Time      `json:"filledAt"`
	CancelledAt *time.Time      `json:"cancelledAt"`
	ExpiredAt   *time.Time      `json:"expiredAt"`
}

// Terms are an order's owner, tokens, amount, price condition and
// recipient: the wire type every form of an order embeds.
type Terms = ordersig.Terms

// DefaultOrderLifetime is how long an order stays valid when NewOrder.ValidTo is zero.
const DefaultOrderLifetime = 24 * time.Hour

// NewOrder is an order to sign and submit. Zero fields get defaults: Owner
// the signer's address, Recipient the owner, UUID a random UUIDv4, ValidFrom
// now and ValidTo ValidFrom + DefaultOrderLifetime. Times are signed as whole
// unix seconds (truncated), as the gateway checks them.
type NewOrder struct {
	UUID           string
	Owner          string
	InputToken     string
	OutputToken    string
	AmountIn       string // integer, micro-units of InputToken
	TargetPrice    string // decimal, e.g. "0.30"
	Direction      Direction
	ConditionToken string
	Recipient      string
	ValidFrom      time.Time
	ValidTo        time.Time
}

// SignedOrder is the body of POST /api/v1/orders/new: an order and its
// owner's SIP-018 signature (the type the gateway itself decodes).
type SignedOrder = ordersig.SignedOrder

// SignOrder fills n's defaults and signs it with the client's signer under
// the gateway's SIP-018 domain. No call is made: submit the result with
// SubmitOrder, or hand it to whoever submits it.
func (c *Client) SignOrder(ctx context.Context, n NewOrder) (*SignedOrder, error) {
	s, ok := c.signer.(Signer)
	if !ok {
		if c.signer == nil {
			return nil, ErrNoSigner
		}
		return nil, ErrNoOrderSigner
	}
	return signOrder(ctx, s, c.network, c.domain, n, c.now())
}

// SignOrder signs n offline, with no gateway to ask: s signs for network net
// under the SIP-018 domain d (the gateway's STXGATE_SIP018_NAME / _VERSION on
// net). Defaults as Client.SignOrder, now being time.Now.
func SignOrder(ctx context.Context, s Signer, net stacks.Network, d stacks.Domain, n NewOrder) (*SignedOrder, error) {
	if s == nil {
		return nil, ErrNoSigner
	}
	return signOrder(ctx, s, net, d, n, time.Now())
}

func signOrder(ctx context.Context, s Signer, net stacks.Network, d stacks.Domain, n NewOrder, now time.Time) (*SignedOrder, error) {
	if n.Owner == "" {
		n.Owner = s.Address(net)
	}
	if n.Recipient == "" {
		n.Recipient = n.Owner
	}
	if n.UUID == "" {
		n.UUID = NewUUID()
	}
	if n.ValidFrom.IsZero() {
		n.ValidFrom = now
	}
	if n.ValidTo.IsZero() {
		n.ValidTo = n.ValidFrom.Add(DefaultOrderLifetime)
	}
	o := ordersig.Order{
		Owner: n.Owner, InputToken: n.InputToken, OutputToken: n.OutputToken, AmountIn: n.AmountIn,
		TargetPrice: n.TargetPrice, Direction: string(n.Direction), ConditionToken: n.ConditionToken,
		Recipient: n.Recipient, UUID: n.UUID, ValidFrom: n.ValidFrom.Unix(), ValidTo: n.ValidTo.Unix(),
	}
	tuple, err := o.Tuple()
	if err != nil {
		return nil, fmt.Errorf("stxgate: order: %w", err)
	}
	domain, err := d.Value()
	if err != nil {
		return nil, fmt.Errorf("stxgate: domain: %w", err)
	}
	sig, err := s.SignStructured(ctx, domain, tuple)
	if err != nil {
		return nil, fmt.Errorf("stxgate: sign order: %w", err)
	}
	so := ordersig.NewSignedOrder(o, sig)
	return &so, nil
}

// SubmitOrder submits a signed order. With an API key set the call is
// dual-authenticated (the key must hold create and belong to the owner);
// without one the order signature alone authorizes it.
func (c *Client) SubmitOrder(ctx context.Context, o SignedOrder) (*Order, *Response, error) {
	return callData[Order](ctx, c, request{method: http.MethodPost, path: "/api/v1/orders/new", body: o, keyed: c.apiKey != ""})
}

// CreateOrder signs n (SignOrder) and submits it (SubmitOrder).
func (c *Client) CreateOrder(ctx context.Context, n NewOrder) (*Order, *Response, error) {
	so, err := c.SignOrder(ctx, n)
	if err != nil {
		return nil, nil, err
	}
	return c.SubmitOrder(ctx, *so)
}

// Execution is the gateway's answer to an execute.
type Execution struct {
	TxID       string         `json:"txid"`  // "0x" + 64 hex
	State      OrderStatus    `json:"state"` // StatusSubmitted (awaits its block) or StatusFilled
	Settlement SettlementKind `json:"settlement"`
}

// Simulated reports whether no chain transaction exists behind TxID.
func (e *Execution) Simulated() bool { return e.Settlement == SettlementSimulated }

// ExecuteOrder executes an order with the API key, or with a wallet
// signature (execute_order) when the client has no key, and returns the
// txid with the order's state and the kind of settlement that made it.
// An order executes at most once: a second call gets 400 order_not_open.
//
// A 502 settlement_failed means the chain or relayer refused the settlement
// and the order is open again: the call may be repeated. A 502
// settlement_unknown means the outcome is not known: the order stays
// executing until the gateway reconciles it (never settling twice), so read
// it with GetOrder rather than executing again; after ErrUnreachable, read
// it too (the gateway may or may not have received the call).
func (c *Client) ExecuteOrder(ctx context.Context, uuid string) (*Execution, *Response, error) {
	r, err := c.orderAction(ctx, http.MethodPost, uuid, "execute", "execute_order")
	if err != nil {
		return nil, nil, err
	}
	return call[Execution](ctx, c, r)
}

// CancelOrder cancels an open order (key or wallet signature, as ExecuteOrder).
func (c *Client) CancelOrder(ctx context.Context, uuid string) (*Order, *Response, error) {
	r, err := c.orderAction(ctx, http.MethodPatch, uuid, "cancel", "cancel_order")
	if err != nil {
		return nil, nil, err
	}
	return callData[Order](ctx, c, r)
}

// callData sends r and decodes an answer {"data": T}.
func callData[T any](ctx context.Context, c *Client, r request) (*T, *Response, error) {
	out, resp, err := call[struct {
		Data T `json:"data"`
	}](ctx, c, r)
	if err != nil {
		return nil, resp, err
	}
	return &out.Data, resp, nil
}

func (c *Client) orderAction(ctx context.Context, method, uuid, verb, action string) (request, error) {
	r := request{method: method, path: "/api/v1/orders/" + url.PathEscape(uuid) + "/" + verb}
	if c.apiKey != "" {
		r.keyed = true
		return r, nil
	}
	if c.signer == nil {
		return r, fmt.Errorf("stxgate: %s needs an API key (WithAPIKey) or a wallet signer (WithSigner)", verb)
	}
	h, err := c.signedHeaders(ctx, action, map[string]any{"uuid": uuid})
	if err != nil {
		return r, err
	}
	r.headers = h
	return r, nil
}

// GetOrder reads one order (public).
func (c *Client) GetOrder(ctx context.Context, uuid string) (*Order, *Response, error) {
	return callData[Order](ctx, c, request{method: http.MethodGet, path: "/api/v1/orders/" + url.PathEscape(uuid)})
}

// ListOrdersRequest filters the public order list.
type ListOrdersRequest struct {
	Owner  string
	Status OrderStatus // empty: all
	Limit  int         // 1..100; 0: the gateway's default (50)
	Cursor string      // NextCursor of the previous page
}

// OrderPage is one page of orders; NextCursor is empty on the last page.
type OrderPage struct {
	Orders     []Order `json:"orders"`
	NextCursor string  `json:"nextCursor,omitempty"`
}

// ListOrders reads a page of orders, newest first (public).
func (c *Client) ListOrders(ctx context.Context, r ListOrdersRequest) (*OrderPage, *Response, error) {
	q := url.Values{}
	if r.Owner != "" {
		q.Set("owner", r.Owner)
	}
	if r.Status != "" {
		q.Set("status", string(r.Status))
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
	resp, err := c.do(ctx, request{method: http.MethodGet, path: path}, &out)
	if err != nil {
		return nil, resp, err
	}
	page := &OrderPage{Orders: out.Data}
	if out.NextCursor != nil {
		page.NextCursor = *out.NextCursor
	}
	return page, resp, nil
}

// AllOrders iterates over every order matching r, page by page, newest
// first. It stops at the first error, which it yields.
func (c *Client) AllOrders(ctx context.Context, r ListOrdersRequest) iter.Seq2[Order, error] {
	return func(yield func(Order, error) bool) {
		for {
			page, _, err := c.ListOrders(ctx, r)
			if err != nil {
				yield(Order{}, err)
				return
			}
			for _, o := range page.Orders {
				if !yield(o, nil) {
					return
				}
			}
			if page.NextCursor == "" {
				return
			}
			r.Cursor = page.NextCursor
		}
	}
}

// NewUUID returns a random UUIDv4, the default order uuid.
func NewUUID() string { return uuid.NewString() }
