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
		if o.Status == StatusSubmitted {
			e.Details["state"] = string(StatusSubmitted) // broadcast; order.filled follows from the chain
		}
		if reconciled {
			e.Details["reconciled"] = true
		}
	case audit.OrderFilled:
		e.Details = map[string]any{"txid": o.TxID, "blockHeight": o.BlockHeight}
	case audit.OrderReopened:
		e.Details = map[string]any{"txid": o.TxID, "reason": o.LastError}
	}
	return s.cfg.Audit.Prepare(ctx, e)
}

// chainEvent is the audit event of a submitted order's transaction outcome:
// order.filled (txid mined at blockHeight) or order.reopened (txid aborted
// for reason). Its actor is whoever executed the order: the chain finished
// their execution.
func (s *Service) chainEvent(ctx context.Context, event string, o *Order, txid string, blockHeight int64, reason string) *audit.Event {
	f := o.Clone()
	f.TxID, f.BlockHeight, f.LastError = txid, blockHeight, reason
	actor := o.ExecutedBy
	if actor == "" {
		actor = audit.ActorOperator // an execution without a recorded actor (none today)
	}
	return s.event(ctx, event, f, actor, false)
}
