package order

import (
	"context"
	"strings"

	"github.com/stxgate/stxgate/internal/audit"
)

// record appends an order event to the audit trail, if there is one. actor
// is "key:<id>" or "wallet:<address>"; a key actor is also the event's key.
// reconciled marks a fill finished by reconciliation, outside any request.
func (s *Service) record(ctx context.Context, event string, o *Order, actor string, reconciled bool) {
	if s.cfg.Audit == nil {
		return
	}
	e := audit.Event{Wallet: o.Owner, Event: event, OrderUUID: o.UUID, Actor: actor}
	if id, ok := strings.CutPrefix(actor, "key:"); ok {
		e.KeyID = id
	}
	switch event {
	case audit.OrderCreated:
		e.Details = map[string]any{
			"inputToken": o.InputToken, "outputToken": o.OutputToken, "amountIn": o.AmountIn,
			"targetPrice": o.TargetPrice, "direction": o.Direction,
		}
	case audit.OrderExecuted:
		e.Details = map[string]any{"txid": o.TxID, "settlement": o.Settlement}
		if reconciled {
			e.Details["reconciled"] = true
		}
	}
	s.cfg.Audit.Record(ctx, e)
}
