// Package audit is the append-only trail of what happened to keys and orders:
// who did it (a key, a wallet, the operator), from which client address, under
// which request id. The stores write each event in the transaction of the
// change it records: a crash between the two cannot lose either (issue 13
// item 11). The owning wallet reads its own events back.
package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Event names.
const (
	KeyCreated     = "key.created"
	KeyUpdated     = "key.updated"
	KeyRevoked     = "key.revoked"
	KeyRotated     = "key.rotated" // the old key of a rotation; the new one has its key.created
	KeySuspended   = "key.suspended"
	KeyUnsuspended = "key.unsuspended"
	OrderCreated   = "order.created"
	OrderExecuted  = "order.executed"
	OrderCancelled = "order.cancelled"
	// A settlement that confirms on chain later (stacks): its transaction
	// mined with success, or aborted and the order open again.
	OrderFilled   = "order.filled"
	OrderReopened = "order.reopened"
)

// Events lists every event name (the table's CHECK constraint mirrors it).
var Events = []string{KeyCreated, KeyUpdated, KeyRevoked, KeyRotated, KeySuspended, KeyUnsuspended,
	OrderCreated, OrderExecuted, OrderCancelled, OrderFilled, OrderReopened}

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

// Recorder prepares the event of a change; the service hands it to the
// store, which writes it in the change's transaction. A nil Recorder: no trail.
type Recorder interface {
	Prepare(ctx context.Context, e Event) *Event
}

// Origin is where a request came from: the client address and request id
// of the HTTP request an event is recorded under.
type Origin struct{ ClientIP, RequestID string }

// OriginKey is the context key of a request's *Origin. WithRequest sets it;
// a context type that carries its request's origin itself (httpapi's
// per-request context) answers this key with its own *Origin.
type OriginKey struct{}

// WithRequest returns ctx carrying the client address and request id of the
// HTTP request it serves, for the events recorded under it.
func WithRequest(ctx context.Context, clientIP, requestID string) context.Context {
	return context.WithValue(ctx, OriginKey{}, &Origin{ClientIP: clientIP, RequestID: requestID})
}

// RequestFrom returns the request's origin ("" outside a request).
func RequestFrom(ctx context.Context) (clientIP, requestID string) {
	if o, _ := ctx.Value(OriginKey{}).(*Origin); o != nil {
		return o.ClientIP, o.RequestID
	}
	return "", ""
}

// Trail is the Recorder of a gateway: it stamps events with the time and
// the request's origin. The stores then write each event in the
// transaction of the change it records (apikey.Store, order.Store), so a
// change is never stored without its event, nor an event without its change.
type Trail struct {
	now func() time.Time
}

// NewTrail returns a Trail on clock now (time.Now in production).
func NewTrail(now func() time.Time) *Trail { return &Trail{now: now} }

// Prepare implements Recorder.
func (t *Trail) Prepare(ctx context.Context, e Event) *Event {
	if e.At.IsZero() {
		e.At = t.now()
	}
	e.At = e.At.UTC().Truncate(time.Microsecond) // PostgreSQL keeps microseconds
	if e.ClientIP == "" && e.RequestID == "" {
		e.ClientIP, e.RequestID = RequestFrom(ctx)
	}
	return &e
}

// Check refuses an event the table would refuse (the CHECK constraints of
// migrations/00003_audit.sql), so every store refuses the same events, before
// it changes anything.
func Check(e *Event) error {
	_, err := CheckEncode(e)
	return err
}

// CheckEncode is Check that also returns EncodeDetails(e.Details): a store
// writing the JSON encodes the details once, for the check and the row.
func CheckEncode(e *Event) ([]byte, error) {
	switch {
	case e.Wallet == "":
		return nil, errors.New("audit event without a wallet")
	case e.Actor == "":
		return nil, errors.New("audit event without an actor")
	case !slices.Contains(Events, e.Event):
		return nil, fmt.Errorf("unknown audit event %q", e.Event)
	case e.KeyID == "" && e.OrderUUID == "":
		return nil, errors.New("audit event without a key or an order")
	}
	return EncodeDetails(e.Details)
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

// EncodeDetails is the JSON stored for e.Details (never null). Encoding is
// the whole check: what json.Marshal writes always decodes again (normalise).
func EncodeDetails(d map[string]any) ([]byte, error) {
	if d == nil {
		return []byte("{}"), nil
	}
	raw, err := json.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("encode audit details: %w", err)
	}
	return raw, nil
}
