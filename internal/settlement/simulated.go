// Package settlement holds the order.Settlement implementations: an HTTP
// relayer client for production and a clearly labelled simulated settlement
// for the embedded default (no chain transaction is ever made by it).
//
// Both are idempotent by order uuid: asking again about an order returns the
// first answer's txid and never settles twice.
package settlement

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"

	"github.com/stxgate/stxgate/internal/order"
)

// ErrOutcomeUnknown marks a settlement whose result is not known: the request
// may or may not have settled the order. It never wraps
// order.ErrSettlementRejected; the order stays executing and is asked about
// again under the same idempotency key.
var ErrOutcomeUnknown = errors.New("settlement outcome unknown")

// simulatedTxIDPrefix is hashed with the order uuid into the simulated txid.
const simulatedTxIDPrefix = "stxgate-simulated-settlement:"

// SimulatedTxID is the txid the simulated settlement gives an order:
// "0x" + hex(sha256("stxgate-simulated-settlement:" + uuid)).
func SimulatedTxID(uuid string) string {
	sum := sha256.Sum256([]byte(simulatedTxIDPrefix + uuid))
	return "0x" + hex.EncodeToString(sum[:])
}

// Simulated settles nothing: it returns a deterministic, fake txid and logs
// every call at WARN as SIMULATED. It keeps no state: the txid is a function
// of the uuid, so asking again returns the same answer, and the order store
// (not the settlement) guarantees an order is executed at most once. Memory
// stays flat however many orders it sees. It is safe for concurrent use.
type Simulated struct {
	log *slog.Logger
}

var _ order.InstantSettlement = (*Simulated)(nil)

// NewSimulated returns a simulated settlement logging to log (nil discards).
func NewSimulated(log *slog.Logger) *Simulated {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Simulated{log: log}
}

// Name implements order.Settlement.
func (s *Simulated) Name() string { return "simulated" }

// InstantTxID implements order.InstantSettlement: SimulatedTxID(uuid).
func (s *Simulated) InstantTxID(uuid string) string { return SimulatedTxID(uuid) }

// Settle implements order.Settlement: SimulatedTxID(o.UUID), unless ctx is
// already done (then the outcome is unknown and nothing is logged as settled).
func (s *Simulated) Settle(ctx context.Context, o *order.Order) (string, error) {
	if o == nil || o.UUID == "" {
		return "", fmt.Errorf("%w: simulated settlement: order without uuid", order.ErrSettlementRejected)
	}
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("%w: simulated settlement: %w", ErrOutcomeUnknown, err)
	}
	txid := SimulatedTxID(o.UUID)
	// Never the signature: a signed order is a bearer instrument.
	s.log.Warn("SIMULATED settlement: no chain transaction was made; the txid is fake",
		slog.String("uuid", o.UUID), slog.String("txid", txid), slog.Bool("simulated", true))
	return txid, nil
}
