package order

import (
	"context"
	"strings"

	"github.com/stxgate/stxgate/internal/audit"
)

// event prepares the audit event of an order change (nil without a trail);
// the store writes it in the change's transaction. actor is "key:<id>" or
// "wallet:<address>"; a key actor is also the event's key. reconciled marks
// a fill finished by reconciliation, outside any request.
func (s *Service) event(ctx context.Context, event string, o *Order, actor string, reconciled bool) *audit.Event {
	if s.cfg.Audit == nil {
		return nil
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
	return s.cfg.Audit.Prepare(ctx, e)
}
