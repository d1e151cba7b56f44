package httpapi

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/stxgate/stxgate/internal/apikey"
	"github.com/stxgate/stxgate/internal/fault"
	"github.com/stxgate/stxgate/internal/order"
	"github.com/stxgate/stxgate/internal/usage"
	"github.com/stxgate/stxgate/internal/walletauth"
	"github.com/stxgate/stxgate/pkg/ordersig"
)

// OrderView is an order as public reads show it. The order signature is not
// shown: a signed order is a bearer instrument.
type OrderView struct {
	UUID string `json:"uuid"`
	ordersig.Terms
	ValidFrom   string  `json:"validFrom"`
	ValidTo     string  `json:"validTo"`
	Status      string  `json:"status"`
	TxID        *string `json:"txid"`
	Settlement  *string `json:"settlement"`  // "stacks", "relayer" or "simulated" (no chain transaction)
	BlockHeight *int64  `json:"blockHeight"` // block of the transaction once filled on chain (stacks)
	LastError   *string `json:"lastError"`
	CreatedAt   string  `json:"createdAt"`
	UpdatedAt   string  `json:"updatedAt"`
	SubmittedAt *string `json:"submittedAt"`
	FilledAt    *string `json:"filledAt"`
	CancelledAt *string `json:"cancelledAt"`
	ExpiredAt   *string `json:"expiredAt"`
}

func orderView(o *order.Order) OrderView {
	return OrderView{
		UUID: o.UUID, Terms: o.Terms(),
		ValidFrom: formatTime(o.ValidFrom), ValidTo: formatTime(o.ValidTo),
		Status: string(o.Status), TxID: optional(o.TxID), Settlement: optional(o.Settlement),
		LastError: optional(o.LastError), BlockHeight: optionalHeight(o.BlockHeight),
		SubmittedAt: formatTimePtr(o.SubmittedAt),
		CreatedAt:   formatTime(o.CreatedAt), UpdatedAt: formatTime(o.UpdatedAt),
		FilledAt: formatTimePtr(o.FilledAt), CancelledAt: formatTimePtr(o.CancelledAt), ExpiredAt: formatTimePtr(o.ExpiredAt),
	}
}

func optionalHeight(h int64) *int64 {
	if h <= 0 {
		return nil
	}
	return &h
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

type success struct {
	Status string `json:"status"`
	Data   any    `json:"data,omitempty"`
}

var (
	errAuthRequired = fault.Unauthenticated("API key or wallet signature required").WithCode(fault.CodeAuthRequired)
	errWrongWallet  = fault.Forbidden("API key not authorized for this wallet").WithCode(fault.CodeAPIKeyWrongWallet)
	errNotOwner     = fault.Forbidden("Wallet not authorized for this order").WithCode(fault.CodeWalletNotOwner)
)

func errMissingPermission(p apikey.Permission) *fault.Error {
	return fault.Forbidden("API key does not have the " + string(p) + " permission").WithCode(fault.CodePermissionDenied).
		WithDetails(map[string]any{"permission": string(p)})
}

// notOwner is the 403 for a caller acting on another wallet's order, with
// the details DESIGN.md names for a key and for a signing wallet.
func notOwner(e *order.NotOwnerError) *fault.Error {
	if e.Caller.KeyID != "" {
		return errWrongWallet.WithDetails(map[string]any{
			"apiKeyWallet": e.Caller.Wallet, "orderOwner": e.Owner, "orderUuid": e.Order,
		})
	}
	return errNotOwner.WithDetails(map[string]any{
		"walletAddress": e.Caller.Wallet, "orderOwner": e.Owner, "orderUuid": e.Order,
	})
}

// keyedOr routes a request with an API key through the keyed stack and one
// without through the stack of its wallet-signed twin.
func (s *Server) keyedOr(class RouteClass, action usage.Action, unkeyed []echo.MiddlewareFunc) echo.MiddlewareFunc {
	withKey := s.keyed(class, action)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		keyed, signed := withKey(next), next
		for i := len(unkeyed) - 1; i >= 0; i-- {
			signed = unkeyed[i](signed)
		}
		return func(c echo.Context) error {
			if _, present, err := presentedKey(c); err != nil {
				return err
			} else if present {
				return keyed(c)
			}
			return signed(c)
		}
	}
}

// createOrder: POST /api/v1/orders/new. The owner's order signature is always
// required; a key, when sent, must hold create and belong to the owner.
func (s *Server) createOrder(c echo.Context) error {
	raw, err := readBody(c)
	if err != nil {
		return err
	}
	n, err := decodeNewOrder(raw)
	if err != nil {
		return err
	}
	by := order.WalletCaller(n.Owner) // the order's own signature authorises it
	key := keyFrom(c)
	if key != nil {
		by = order.KeyCaller(key)
	}
	v, err := s.orders.Verify(n, by)
	if err != nil {
		return err
	}
	if key == nil {
		if err := s.walletBudget(c, v.Owner(), nil, ClassSignedWrite); err != nil {
			return err
		}
	}
	o, err := s.orders.Create(c.Request().Context(), v)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, success{Status: "success", Data: orderView(o)})
}

// decodeNewOrder decodes a create body into the wire type (its JSON tags).
// A field that is not a string (null is absent) is named in the 400.
func decodeNewOrder(raw []byte) (order.NewOrder, error) {
	var n order.NewOrder
	if raw == nil || !bytes.HasPrefix(bytes.TrimSpace(raw), []byte("{")) {
		return n, errNotJSONObject
	}
	if err := exactFieldNames(raw); err != nil {
		return n, err
	}
	if err := json.Unmarshal(raw, &n); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			field := te.Field[strings.LastIndexByte(te.Field, '.')+1:] // "Terms.amountIn": an embedded struct's field
			return n, fault.Invalidf(field, "%s must be a string", field)
		}
		return n, errNotJSONObject
	}
	return n, nil
}

// orderFields are the create body's field names (the wire type's JSON tags).
var orderFields = jsonFieldNames(reflect.TypeFor[order.NewOrder]())

func jsonFieldNames(t reflect.Type) []string {
	var names []string
	for f := range t.Fields() {
		if f.Anonymous {
			names = append(names, jsonFieldNames(f.Type)...)
			continue
		}
		if name, _, _ := strings.Cut(f.Tag.Get("json"), ","); name != "" && name != "-" {
			names = append(names, name)
		}
	}
	return names
}

// exactFieldNames refuses a field named like one of the order's in another
// case: encoding/json would take "OWNER" for "owner" (and the later of the
// two when both are sent), where the signed order names its fields exactly.
func exactFieldNames(raw []byte) error {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil // not an object: Unmarshal into the wire type says so
	}
	for name := range fields {
		for _, want := range orderFields {
			if name != want && strings.EqualFold(name, want) {
				return fault.Invalidf(want, "unknown field %q: field names are case-sensitive (%s)", name, want)
			}
		}
	}
	return nil
}

// orderCaller is who asks to execute or cancel the order in the URL: the
// request's key (the service checks its permission, and ownership in the
// store's conditional update), or the wallet of a single-use signed message
// naming the order, consumed here before the order changes.
func (s *Server) orderCaller(c echo.Context, action string) (order.Caller, error) {
	if k := keyFrom(c); k != nil {
		return order.KeyCaller(k), nil
	}
	env, err := readEnvelope(c)
	if err != nil {
		return order.Caller{}, err
	}
	if env.Message == "" && env.Signature == "" && env.WalletAddress == "" {
		return order.Caller{}, errAuthRequired
	}
	m, err := s.verifyEnvelope(c, env, ClassSignedWrite, action)
	if err != nil {
		return order.Caller{}, err
	}
	var signed string
	if err := m.Field("uuid", &signed); err != nil {
		return order.Caller{}, err
	}
	uuid := c.Param("uuid")
	if signed != uuid {
		return order.Caller{}, fault.Invalid("message.uuid", "message.uuid does not match the order in the URL")
	}
	if !order.ValidUUID(uuid) {
		return order.Caller{}, order.ErrOrderNotFound // no such order: the message stays unused
	}
	if err := s.wallets.Claim(c.Request().Context(), m); err != nil { // single use
		return order.Caller{}, err
	}
	return order.WalletCaller(m.Address()), nil
}

// executeOrder: POST /api/v1/orders/:uuid/execute → {status, txid, state, settlement}.
func (s *Server) executeOrder(c echo.Context) error {
	caller, err := s.orderCaller(c, walletauth.ActionExecuteOrder)
	if err != nil {
		return err
	}
	o, err := s.orders.Execute(c.Request().Context(), c.Param("uuid"), caller)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, executed{Status: "success", TxID: o.TxID, State: string(o.Status), Settlement: o.Settlement})
}

// executed is the answer to an execute: status and txid as the reference
// docs show them, plus where the order stands and which settlement made the
// txid, so a bot sees at once that a "simulated" txid is not on chain.
type executed struct {
	Status     string `json:"status"`
	TxID       string `json:"txid"`
	State      string `json:"state"`      // "submitted" (broadcast, awaiting its block) or "filled"
	Settlement string `json:"settlement"` // "stacks", "relayer" or "simulated"
}

// cancelOrder: PATCH /api/v1/orders/:uuid/cancel → {status, data}.
func (s *Server) cancelOrder(c echo.Context) error {
	caller, err := s.orderCaller(c, walletauth.ActionCancelOrder)
	if err != nil {
		return err
	}
	o, err := s.orders.Cancel(c.Request().Context(), c.Param("uuid"), caller)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, success{Status: "success", Data: orderView(o)})
}

// getOrder: GET /api/v1/orders/:uuid (public).
func (s *Server) getOrder(c echo.Context) error {
	o, err := s.orderReads.Get(c.Request().Context(), c.Param("uuid"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, success{Status: "success", Data: orderView(o)})
}

// OrderPage is a page of the public order list.
type OrderPage struct {
	Status     string      `json:"status"`
	Data       []OrderView `json:"data"`
	NextCursor *string     `json:"nextCursor"`
}

const (
	defaultPageSize = 50
	maxPageSize     = 100
)

// pageLimit is a list's page size: ?limit=, 1 to maxPageSize, default defaultPageSize.
func pageLimit(c echo.Context) (int, error) {
	l := c.QueryParam("limit")
	if l == "" {
		return defaultPageSize, nil
	}
	n, err := strconv.Atoi(l)
	if err != nil || n < 1 || n > maxPageSize {
		return 0, fault.Invalidf("limit", "limit must be an integer from 1 to %d", maxPageSize)
	}
	return n, nil
}

// listOrders: GET /api/v1/orders?owner=&status=&limit=&cursor= (public,
// newest first, keyset pagination).
func (s *Server) listOrders(c echo.Context) error {
	var q order.ListQuery
	if owner := c.QueryParam("owner"); owner != "" {
		if _, err := walletauth.ParseWallet(owner, s.network); err != nil {
			return fault.Invalid("owner", "owner is not a valid Stacks address of this network").Wrap(err)
		}
		q.Owner = owner
	}
	if st := c.QueryParam("status"); st != "" && st != "all" {
		if !slices.Contains(order.Statuses, order.Status(st)) {
			return fault.Invalid("status", "status must be one of open, executing, filled, cancelled, expired")
		}
		q.Status = order.Status(st)
	}
	limit, err := pageLimit(c)
	if err != nil {
		return err
	}
	q.Limit = limit
	if cur := c.QueryParam("cursor"); cur != "" {
		at, uuid, err := decodeCursor(cur)
		if err != nil {
			return fault.Invalid("cursor", "cursor is not one this API returned")
		}
		q.AfterCreatedAt, q.AfterUUID = at, uuid
	}
	orders, err := s.orderReads.List(c.Request().Context(), q)
	if err != nil {
		return err
	}
	page := OrderPage{Status: "success", Data: make([]OrderView, len(orders))}
	for i, o := range orders {
		page.Data[i] = orderView(o)
	}
	if len(orders) == q.Limit {
		last := orders[len(orders)-1]
		cur := encodeCursor(last.CreatedAt, last.UUID)
		page.NextCursor = &cur
	}
	return c.JSON(http.StatusOK, page)
}

// A cursor is the (createdAt, uuid) of the last order of a page.
func encodeCursor(at time.Time, uuid string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(at.UnixMicro(), 10) + ":" + uuid))
}

func decodeCursor(s string) (time.Time, string, error) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return time.Time{}, "", err
	}
	micros, uuid, ok := strings.Cut(string(raw), ":")
	if !ok || !order.ValidUUID(uuid) {
		return time.Time{}, "", errors.New("malformed cursor")
	}
	n, err := strconv.ParseInt(micros, 10, 64)
	if err != nil {
		return time.Time{}, "", err
	}
	return time.UnixMicro(n).UTC(), uuid, nil
}
