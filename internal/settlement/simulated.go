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
	"sync"

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

// Simulated settles nothing: it records the order as settled and returns a
// deterministic, fake txid. Every settlement is logged at WARN as SIMULATED.
// It is safe for concurrent use.
type Simulated struct {
	log *slog.Logger

	mu          sync.Mutex
	txids       map[string]string // uuid → txid of the one settlement
	settlements map[string]int
	calls       map[string]int
	failNext    []error

	// BeforeSettle, when set, runs first on every call (tests only). An error
	// is returned as is and nothing is settled: wrap order.ErrSettlementRejected
	// to simulate a rejection, anything else simulates an unknown outcome.
	// Set it before Settle is first called.
	BeforeSettle func(uuid string) error
	// AfterSettle, when set, runs only on the call that performed a settlement,
	// after it was recorded (tests only). An error is returned instead of the
	// txid — "settled, but the caller never heard": the next call for the same
	// uuid returns the recorded txid. Set it before Settle is first called.
	AfterSettle func(uuid, txid string) error
}

var _ order.Settlement = (*Simulated)(nil)

// NewSimulated returns a simulated settlement logging to log (nil discards).
func NewSimulated(log *slog.Logger) *Simulated {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Simulated{
		log:         log,
		txids:       make(map[string]string),
		settlements: make(map[string]int),
		calls:       make(map[string]int),
	}
}

// Name implements order.Settlement.
func (s *Simulated) Name() string { return "simulated" }

// FailNext makes the next call (for any uuid) fail with err before anything
// is settled; calls queue up. For tests only.
func (s *Simulated) FailNext(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext = append(s.failNext, err)
}

// Settle implements order.Settlement. It returns the recorded txid when the
// order was settled before, and otherwise records a new simulated settlement.
func (s *Simulated) Settle(ctx context.Context, o *order.Order) (string, error) {
	if o == nil || o.UUID == "" {
		return "", fmt.Errorf("%w: simulated settlement: order without uuid", order.ErrSettlementRejected)
	}
	uuid := o.UUID
	s.mu.Lock()
	s.calls[uuid]++
	var injected error
	if len(s.failNext) > 0 {
		injected, s.failNext = s.failNext[0], s.failNext[1:]
	}
	s.mu.Unlock()
	if injected != nil {
		return "", injected
	}
	if s.BeforeSettle != nil {
		if err := s.BeforeSettle(uuid); err != nil {
			return "", err
		}
	}
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("%w: simulated settlement: %w", ErrOutcomeUnknown, err)
	}

	s.mu.Lock()
	txid, repeated := s.txids[uuid]
	if !repeated {
		txid = SimulatedTxID(uuid)
		s.txids[uuid] = txid
		s.settlements[uuid]++
	}
	s.mu.Unlock()

	if repeated {
		s.log.Info("SIMULATED settlement asked again: returning the recorded txid",
			slog.String("uuid", uuid), slog.String("txid", txid), slog.Bool("simulated", true))
		return txid, nil
	}
	// Never the signature: a signed order is a bearer instrument.
	s.log.Warn("SIMULATED settlement: no chain transaction was made; the txid is fake",
		slog.String("uuid", uuid), slog.String("txid", txid), slog.Bool("simulated", true))
	if s.AfterSettle != nil {
		if err := s.AfterSettle(uuid, txid); err != nil {
			return "", err
		}
	}
	return txid, nil
}

// Settlements is how many times the order was actually settled (0 or 1).
func (s *Simulated) Settlements(uuid string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.settlements[uuid]
}

// Calls is how many times Settle was called for the order, failures included.
func (s *Simulated) Calls(uuid string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[uuid]
}
