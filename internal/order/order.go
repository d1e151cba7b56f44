// Package order owns orders: their validation, the state machine
// (open → executing → filled, or open → executing → submitted → filled with a
// settlement that confirms on chain later; open → cancelled, open → expired), the
// at-most-once execution protocol, and the settlement interface.
package order

import (
	"context"
	"errors"
	"time"

	"github.com/stxgate/stxgate/internal/audit"
	"github.com/stxgate/stxgate/internal/ptr"
	"github.com/stxgate/stxgate/pkg/ordersig"
)

// Status is an order's state.
type Status string

const (
	StatusOpen      Status = "open"
	StatusExecuting Status = "executing"
	StatusSubmitted Status = "submitted" // transaction broadcast, awaiting its block
	StatusFilled    Status = "filled"
	StatusCancelled Status = "cancelled"
	StatusExpired   Status = "expired"
)

// Statuses lists every status (for validation of filters).
var Statuses = []Status{StatusOpen, StatusExecuting, StatusSubmitted, StatusFilled, StatusCancelled, StatusExpired}

// Order is a signed limit order.
type Order struct {
	UUID           string
	Owner          string
	InputToken     string
	OutputToken    string
	AmountIn       string // decimal digits, 0 < v < 2^128
	TargetPrice    string // plain decimal
	Direction      string // "gt" | "lt"
	ConditionToken string
	Recipient      string
	Signature      string // lower-case RSV hex; never shown in reads (a signed order is a bearer instrument)
	ValidFrom      time.Time
	ValidTo        time.Time

	Status      Status
	TxID        string // "0x" + 64 lower-case hex once submitted or filled
	Settlement  string // settlement that made the txid: "stacks", "relayer" or "simulated"
	BlockHeight int64  // block of the transaction once filled on chain (stacks); 0 otherwise
	CreatedBy   string // "key:<id>" or "wallet:<address>"
	ExecutedBy  string
	CancelledBy string
	LastError   string // last settlement failure, kept after the order returned to open
	Attempts    int    // execution claims so far

	CreatedAt      time.Time
	UpdatedAt      time.Time
	ExecutingSince *time.Time
	SubmittedAt    *time.Time
	FilledAt       *time.Time
	CancelledAt    *time.Time
	ExpiredAt      *time.Time
}

// Terms are the order's terms as its wire forms carry them.
func (o *Order) Terms() ordersig.Terms {
	return ordersig.Terms{
		Owner: o.Owner, InputToken: o.InputToken, OutputToken: o.OutputToken, AmountIn: o.AmountIn,
		TargetPrice: o.TargetPrice, Direction: ordersig.Direction(o.Direction), ConditionToken: o.ConditionToken, Recipient: o.Recipient,
	}
}

// Clone returns a deep copy.
func (o *Order) Clone() *Order {
	c := *o
	c.ExecutingSince = ptr.Clone(o.ExecutingSince)
	c.SubmittedAt = ptr.Clone(o.SubmittedAt)
	c.FilledAt = ptr.Clone(o.FilledAt)
	c.CancelledAt = ptr.Clone(o.CancelledAt)
	c.ExpiredAt = ptr.Clone(o.ExpiredAt)
	return &c
}

// Store errors.
var (
	ErrNotFound     = errors.New("order not found")
	ErrDuplicate    = errors.New("order uuid already exists")
	ErrNotOpen      = errors.New("order is not open") // a conditional transition found another state
	ErrNotPending   = errors.New("order is not executing")
	ErrNotSubmitted = errors.New("order is not submitted (or its transaction changed)")
)

// ListQuery filters and pages public order reads (keyset pagination,
// newest first).
type ListQuery struct {
	Owner  string // "" for all
	Status Status // "" for all
	Limit  int
	// After is the cursor: orders strictly older than (CreatedAt, UUID).
	AfterCreatedAt time.Time
	AfterUUID      string
}

// Store keeps orders. Every transition is one conditional statement, so
// concurrent callers (on any number of gateway instances) can never both win.
//
// The changes that are audited take the event to write (nil: none): the
// store sets its Wallet and OrderUUID to the order's and writes it in the
// change's own transaction, so a crash can never keep one without the other.
type Store interface {
	InsertOrder(ctx context.Context, o *Order, ev *audit.Event) error
	OrderByUUID(ctx context.Context, uuid string) (*Order, error)
	ListOrders(ctx context.Context, q ListQuery) ([]*Order, error)
	// Claim moves an open order of owner inside its validity window to
	// executing (ErrNotOpen otherwise; owner "" matches any) and returns it.
	// The owner check lives in the same statement, so the common case needs
	// no read before the write.
	Claim(ctx context.Context, uuid, actor, owner string, now time.Time) (*Order, error)
	// Fill records the settlement of an executing order (ErrNotPending otherwise).
	Fill(ctx context.Context, uuid, txid, settlement string, now time.Time, ev *audit.Event) (*Order, error)
	// Release returns an executing order to open with the failure recorded.
	Release(ctx context.Context, uuid, reason string, now time.Time) (*Order, error)
	// Cancel moves an open, unexpired order of owner to cancelled (ErrNotOpen
	// otherwise; owner "" matches any).
	Cancel(ctx context.Context, uuid, actor, owner string, now time.Time, ev *audit.Event) (*Order, error)
	// Expire moves open orders past validTo to expired; uuid "" expires all due.
	Expire(ctx context.Context, uuid string, now time.Time) (int, error)
	// TakeStuck leases to the caller, until now+lease, up to limit
	// executing orders claimed at or before since whose previous lease (if
	// any) has ended by now, and returns them, oldest claim first. Concurrent
	// callers, on any number of gateways, never take the same order while
	// its lease runs (reconciliation runs on one instance at a time).
	TakeStuck(ctx context.Context, since, now time.Time, lease time.Duration, limit int) ([]*Order, error)

	// Submit records the broadcast transaction of an executing order:
	// executing → submitted (ErrNotPending otherwise).
	Submit(ctx context.Context, uuid, txid, settlement string, now time.Time, ev *audit.Event) (*Order, error)
	// Resubmit records a replacement transaction (same nonce, higher fee) of a
	// submitted order whose transaction is still txid (ErrNotSubmitted otherwise).
	Resubmit(ctx context.Context, uuid, txid, newTxID string, now time.Time) (*Order, error)
	// Confirm records the block of a submitted order's transaction txid (which
	// may be an earlier one than the order shows, if that one won): submitted →
	// filled (ErrNotSubmitted otherwise).
	Confirm(ctx context.Context, uuid, txid string, blockHeight int64, now time.Time, ev *audit.Event) (*Order, error)
	// Reopen returns a submitted order whose transaction aborted on chain to
	// open with the reason recorded and the txid cleared (ErrNotSubmitted otherwise).
	Reopen(ctx context.Context, uuid, reason string, now time.Time, ev *audit.Event) (*Order, error)
	// Submitted lists up to limit submitted orders, oldest submission first
	// (for the tracker).
	Submitted(ctx context.Context, limit int) ([]*Order, error)
}

// Settlement puts an executed order on chain. Implementations must be
// idempotent by order UUID: a second call for the same order returns the
// first call's txid and never settles twice.
type Settlement interface {
	Name() string
	Settle(ctx context.Context, o *Order) (txid string, err error)
}

// InstantSettlement is a Settlement that changes nothing outside the gateway
// and knows its answer without asking anyone (the simulated settlement): an
// order's txid is a function of its uuid. Executing on it needs nothing
// between the claim and the fill, so a ClaimFiller store does both in one step.
type InstantSettlement interface {
	Settlement
	// InstantTxID is the txid Settle gives the order uuid; it records nothing.
	InstantTxID(uuid string) string
}

// ClaimFiller is a Store that claims an order and records its fill in one
// step, one commit: Claim's conditions and errors (ErrNotOpen, ErrNotFound),
// then Fill's changes with ev, and both order events, executing then filled.
type ClaimFiller interface {
	ClaimFill(ctx context.Context, uuid, actor, owner string, claimedAt time.Time, txid, settlement string,
		filledAt time.Time, ev *audit.Event) (*Order, error)
}

// Tracker is a settlement whose transactions confirm later (stacks): Settle
// returns once the transaction is broadcast (the order becomes submitted) and
// Track follows it to its outcome.
type Tracker interface {
	Track(ctx context.Context, o *Order) (Outcome, error)
}

// OutcomeState is where a submitted order's transaction stands.
type OutcomeState int

const (
	OutcomePending   OutcomeState = iota // in the mempool (or re-broadcast); nothing to record
	OutcomeConfirmed                     // mined with success: fill with TxID and BlockHeight
	OutcomeAborted                       // mined and rolled back: the order reopens with Reason
	OutcomeReplaced                      // replaced by TxID (same nonce, higher fee)
)

// Outcome is what Track found.
type Outcome struct {
	State       OutcomeState
	TxID        string
	BlockHeight int64
	Reason      string
}

// Settlement failures. Rejected is definitive (nothing was settled: the order
// may return to open); anything else is an unknown outcome, and the order stays
// executing until reconciliation asks again under the same idempotency key.
var ErrSettlementRejected = errors.New("settlement rejected")
