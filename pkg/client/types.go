package client

import "github.com/stxgate/stxgate/pkg/ordersig"

// The gateway's enumerations as typed strings: compare with the constants,
// never with literals. An unknown value from a newer gateway decodes as is.

// OrderStatus is where an order stands: open → executing → submitted →
// filled, or cancelled / expired.
type OrderStatus string

// Order statuses.
const (
	StatusOpen      OrderStatus = "open"      // may be executed or cancelled
	StatusExecuting OrderStatus = "executing" // claimed by an execute; settlement under way
	StatusSubmitted OrderStatus = "submitted" // the transaction is broadcast and awaits its block (stacks settlement)
	StatusFilled    OrderStatus = "filled"    // settled
	StatusCancelled OrderStatus = "cancelled"
	StatusExpired   OrderStatus = "expired"
)

// Final reports whether nothing will change the order any more.
func (s OrderStatus) Final() bool {
	return s == StatusFilled || s == StatusCancelled || s == StatusExpired
}

// Direction is an order's price condition: execute when the condition
// token's price is above (gt) or below (lt) the target. It is the wire
// type's own (ordersig.Terms.Direction).
type Direction = ordersig.Direction

// Directions.
const (
	DirectionGT Direction = "gt"
	DirectionLT Direction = "lt"
)

// Permission is what an API key may do.
type Permission string

// Permissions.
const (
	PermissionCreate  Permission = "create"  // submit orders of the key's wallet
	PermissionExecute Permission = "execute" // execute them
	PermissionCancel  Permission = "cancel"  // cancel them
	PermissionRead    Permission = "read"    // list the wallet's keys and audit trail without a wallet signature
)

// KeyStatus is an API key's state.
type KeyStatus string

// Key states.
const (
	KeyActive    KeyStatus = "active"
	KeyRevoked   KeyStatus = "revoked"   // for good
	KeySuspended KeyStatus = "suspended" // by the operator, until unsuspended
	KeyExpired   KeyStatus = "expired"   // past its expiresAt
)

// SettlementKind is what made an execution's txid.
type SettlementKind string

// Settlement kinds.
const (
	SettlementStacks    SettlementKind = "stacks"    // the gateway's own contract-call transaction
	SettlementRelayer   SettlementKind = "relayer"   // an HTTP relayer's transaction
	SettlementSimulated SettlementKind = "simulated" // nothing: a fake txid, no chain transaction (the embedded default)
)
