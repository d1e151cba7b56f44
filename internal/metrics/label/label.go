// Package label holds the label values the domain packages report metrics
// under. It imports nothing, so order and walletauth can name them without
// pulling internal/metrics (Prometheus, echo, pgx) into their dependencies.
package label

// Bounded sets: label cardinality stays small.
const (
	SigMessage = "message" // wallet-signed JSON message (SIWS-style)
	// SigMessageCached is a read-only message verified before in its window:
	// its recovery was skipped (walletauth's verified cache).
	SigMessageCached = "message_cached"
	SigOrder         = "order" // SIP-018 order signature

	PathExecute   = "execute"   // settlement called by POST /orders/:uuid/execute
	PathReconcile = "reconcile" // settlement asked again by reconciliation

	OutcomeSettled  = "settled"  // a txid came back
	OutcomeRejected = "rejected" // definitive refusal: the order returned to open
	OutcomeUnknown  = "unknown"  // no answer: the order stays executing until reconciled
)
