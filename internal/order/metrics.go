package order

import (
	"context"
	"errors"
	"time"

	"github.com/stxgate/stxgate/internal/metrics"
	"github.com/stxgate/stxgate/pkg/ordersig"
)

// verifySignature is ordersig.Verify, counted and timed (Config.Metrics may be nil).
func (s *Service) verifySignature(o ordersig.Order, sigHex string) error {
	start := time.Now()
	err := ordersig.Verify(o, s.cfg.Domain, sigHex)
	s.cfg.Metrics.Signature(metrics.SigOrder, start, err)
	return err
}

// settleCounted calls settlement for o, counting the outcome under path
// (metrics.PathExecute or metrics.PathReconcile).
func (s *Service) settleCounted(ctx context.Context, o *Order, path string) (string, error) {
	start := time.Now()
	txid, err := s.settle.Settle(ctx, o)
	outcome := metrics.OutcomeSettled
	switch {
	case errors.Is(err, ErrSettlementRejected):
		outcome = metrics.OutcomeRejected
	case err != nil:
		outcome = metrics.OutcomeUnknown
	}
	s.cfg.Metrics.Settlement(s.settle.Name(), path, outcome, start)
	return txid, err
}
