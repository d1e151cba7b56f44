package order

import (
	"context"
	"errors"
	"time"

	"github.com/stxgate/stxgate/internal/metrics/label"
	"github.com/stxgate/stxgate/pkg/ordersig"
)

// Metrics is what the service reports; *metrics.Metrics implements it. The
// domain sees only this, so it does not import Prometheus or the transport.
type Metrics interface {
	Signature(kind string, start time.Time, err error)
	Settlement(settlement, path, outcome string, start time.Time)
}

type noMetrics struct{}

func (noMetrics) Signature(string, time.Time, error)           {}
func (noMetrics) Settlement(string, string, string, time.Time) {}

// verifySignature is ordersig.Verify, counted and timed.
func (s *Service) verifySignature(o ordersig.Order, sigHex string) error {
	start := time.Now()
	err := ordersig.Verify(o, s.cfg.Domain, sigHex)
	s.cfg.Metrics.Signature(label.SigOrder, start, err)
	return err
}

// settleCounted calls settlement for o, counting the outcome under path
// (label.PathExecute or label.PathReconcile).
func (s *Service) settleCounted(ctx context.Context, o *Order, path string) (string, error) {
	start := time.Now()
	txid, err := s.settle.Settle(ctx, o)
	outcome := label.OutcomeSettled
	switch {
	case errors.Is(err, ErrSettlementRejected):
		outcome = label.OutcomeRejected
	case err != nil:
		outcome = label.OutcomeUnknown
	}
	s.cfg.Metrics.Settlement(s.settle.Name(), path, outcome, start)
	return txid, err
}
