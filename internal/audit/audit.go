// Package audit is the append-only trail of what happened to keys and orders:
// who did it (a key, a wallet, the operator), from which client address, under
// which request id. Services record events after a change succeeded; the
// owning wallet reads its own events back.
//
// An audit write never fails the change it describes: the change is already
// committed (and, for a revocation, already propagated) when it is recorded.
// A failed write is logged at error level with the whole event, so the log is
// the backstop record (docs/operations.md explains the choice).
package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"
)

// Event names.
const (
	KeyCreated     = "key.created"
	KeyUpdated     = "key.updated"
	KeyRevoked     = "key.revoked"
	KeySuspended   = "key.suspended"
	KeyUnsuspended = "key.unsuspended"
	OrderCreated   = "order.created"
	OrderExecuted  = "order.executed"
	OrderCancelled = "order.cancelled"
)

// Events lists every event name (the table's CHECK constraint mirrors it).
var Events = []string{KeyCreated, KeyUpdated, KeyRevoked, KeySuspended, KeyUnsuspended,
	OrderCreated, OrderExecuted, OrderCancelled}

// ActorOperator is the actor of operator actions (the admin API).
const ActorOperator = "operator"

// Event is one entry of the trail. Wallet is the wallet the event belongs to
// (the key's or the order's owner): it decides who may read it.
type Event struct {
	ID        int64 // assigned by the store, increasing
	At        time.Time
	Wallet    string
	Event     string
	KeyID     string // the key changed, or the key that acted on an order; "" if none
	OrderUUID string // "" for key events
	Actor     string // "key:<id>", "wallet:<address>" or "operator"
	ClientIP  string // "" when the change did not come from a request
	RequestID string // "" likewise
	Details   map[string]any
}

// Query selects a wallet's events, newest first.
type Query struct {
	Wallet   string // required
	KeyID    string // "" for every event of the wallet
	Limit    int    // 1..MaxLimit; other values mean MaxLimit
	BeforeID int64  // cursor: only events with ID < BeforeID; 0 for the newest
}

// MaxLimit bounds one page.
const MaxLimit = 1000

func (q Query) limit() int {
	if q.Limit <= 0 || q.Limit > MaxLimit {
		return MaxLimit
	}
	return q.Limit
}

// Store keeps the trail. It can only append and read: PostgreSQL refuses
// UPDATE, DELETE and TRUNCATE on the table, the memory store has no way to.
// Both pass internal/audit/audittest.
type Store interface {
	// Append stores e and sets e.ID.
	Append(ctx context.Context, e *Event) error
	// List returns a page of q.Wallet's events, newest first.
	List(ctx context.Context, q Query) ([]*Event, error)
}

// Recorder is what services call after a change. A nil Recorder records nothing.
type Recorder interface {
	Record(ctx context.Context, e Event)
}

// origin is where a request came from, carried in its context.
type origin struct{ clientIP, requestID string }

type originKey struct{}

// WithRequest returns ctx carrying the client address and request id of the
// HTTP request it serves, for the events recorded under it.
func WithRequest(ctx context.Context, clientIP, requestID string) context.Context {
	return context.WithValue(ctx, originKey{}, origin{clientIP: clientIP, requestID: requestID})
}

// RequestFrom returns what WithRequest stored ("" outside a request).
func RequestFrom(ctx context.Context) (clientIP, requestID string) {
	o, _ := ctx.Value(originKey{}).(origin)
	return o.clientIP, o.requestID
}

// Trail is the Recorder of a gateway: it stamps events with the time and the
// request's origin and appends them to a Store.
type Trail struct {
	store   Store
	log     *slog.Logger
	now     func() time.Time
	timeout time.Duration
}

// NewTrail returns a Trail over store. now is the clock (time.Now in production).
func NewTrail(store Store, log *slog.Logger, now func() time.Time) *Trail {
	return &Trail{store: store, log: log, now: now, timeout: 5 * time.Second}
}

// Record implements Recorder. The write outlives a client that hung up (the
// change it describes is done), and a failure is logged loudly with the
// whole event: events carry no secrets, so the log line can be replayed.
func (t *Trail) Record(ctx context.Context, e Event) {
	if e.At.IsZero() {
		e.At = t.now()
	}
	e.At = e.At.UTC().Truncate(time.Microsecond) // PostgreSQL keeps microseconds
	if e.ClientIP == "" && e.RequestID == "" {
		e.ClientIP, e.RequestID = RequestFrom(ctx)
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), t.timeout)
	defer cancel()
	if err := t.store.Append(ctx, &e); err != nil {
		details, _ := json.Marshal(e.Details)
		t.log.LogAttrs(ctx, slog.LevelError, "AUDIT EVENT NOT RECORDED: the change is done but missing from audit_events",
			slog.String("audit_event", e.Event),
			slog.Time("audit_at", e.At),
			slog.String("audit_wallet", e.Wallet),
			slog.String("audit_key_id", e.KeyID),
			slog.String("audit_order_uuid", e.OrderUUID),
			slog.String("audit_actor", e.Actor),
			slog.String("audit_client_ip", e.ClientIP),
			slog.String("audit_request_id", e.RequestID),
			slog.String("audit_details", string(details)),
			slog.Any("error", err))
	}
}

// normalise gives Details one canonical form, the one PostgreSQL's jsonb
// returns (numbers as float64, arrays as []any), so every store reads back
// the same values.
func normalise(d map[string]any) (map[string]any, []byte, error) {
	if d == nil {
		d = map[string]any{}
	}
	raw, err := json.Marshal(d)
	if err != nil {
		return nil, nil, fmt.Errorf("encode audit details: %w", err)
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, nil, fmt.Errorf("decode audit details: %w", err)
	}
	return out, raw, nil
}

// EncodeDetails is the JSON stored for e.Details (never null).
func EncodeDetails(d map[string]any) ([]byte, error) {
	_, raw, err := normalise(d)
	return raw, err
}
