package order_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stxgate/stxgate/internal/fault"
	"github.com/stxgate/stxgate/internal/order"
	"github.com/stxgate/stxgate/internal/store/postgres"
	"github.com/stxgate/stxgate/internal/testenv"
	"github.com/stxgate/stxgate/pkg/stacks"
)

const raceOwner = "SP10J81WVGVB3M4PHQN4Q4G0R8586TBJH948RESDR"

// slowTracker is a settlement with a tracker whose first Settle (the
// execute's) runs meanwhile before answering: what reconciliation and the
// tracker do while a slow broadcast is under way. Later calls answer at once.
type slowTracker struct {
	calls     atomic.Int32
	meanwhile func()
}

func (s *slowTracker) Name() string { return "stacks" }

func (s *slowTracker) Settle(context.Context, *order.Order) (string, error) {
	if s.calls.Add(1) == 1 {
		s.meanwhile()
	}
	return txA, nil
}

func (s *slowTracker) Track(context.Context, *order.Order) (order.Outcome, error) {
	return order.Outcome{State: order.OutcomePending}, nil
}

var (
	txA = fmt.Sprintf("0x%064x", 0xa)
	txB = fmt.Sprintf("0x%064x", 0xb)
)

// An execute whose broadcast outlives ReconcileAfter finds its claim recorded
// by reconciliation (same txid, as settlement answers one claim the same) and
// since then moved on: replaced by fee, it answers the order as it stands;
// reopened by an on-chain abort, it answers 502 settlement_unknown with the
// order's status, never a 500 (seen once in the stacks faults round).
func TestSlowExecuteFindsItsClaimMovedOn(t *testing.T) {
	ctx := context.Background()
	pool := testenv.MigratedPool(t)
	store := postgres.New(pool)
	for _, tc := range []struct {
		uuid     string
		move     func(uuid string) error
		wantTx   string // the answer's txid, "" for a 502
		wantStat order.Status
	}{
		{"slow-replaced", func(uuid string) error { _, err := store.Resubmit(ctx, uuid, txA, txB, time.Now()); return err },
			txB, order.StatusSubmitted},
		{"slow-reopened", func(uuid string) error {
			_, err := store.Reopen(ctx, uuid, "aborted on chain", time.Now(), nil)
			return err
		},
			"", order.StatusOpen},
	} {
		t.Run(tc.uuid, func(t *testing.T) {
			if _, err := pool.Exec(ctx, `INSERT INTO orders (uuid, owner, input_token, output_token, amount_in, target_price,
				direction, condition_token, recipient, signature, valid_from, valid_to, status, created_by, created_at, updated_at)
				VALUES ($1, $2, 'SP102V8P0F7JX67ARQ77WEA3D3CFB5XW39REDT0AM.a', 'SP102V8P0F7JX67ARQ77WEA3D3CFB5XW39REDT0AM.b', 1, '1', 'gt',
				'SP102V8P0F7JX67ARQ77WEA3D3CFB5XW39REDT0AM.a', $2, 'sig', now() - interval '1 hour', now() + interval '1 hour',
				'open', 'test', now(), now())`, tc.uuid, raceOwner); err != nil {
				t.Fatal(err)
			}
			settle := &slowTracker{}
			svc := order.NewService(store, settle, order.Config{Network: stacks.Mainnet}, time.Now, slog.New(slog.DiscardHandler))
			settle.meanwhile = func() {
				if filled, _, err := svc.Reconcile(ctx, 0); err != nil || filled != 1 {
					t.Errorf("reconcile while the execute settles: %d submitted, %v", filled, err)
				}
				if err := tc.move(tc.uuid); err != nil {
					t.Errorf("move the order on: %v", err)
				}
			}
			o, err := svc.Execute(ctx, tc.uuid, order.WalletCaller(raceOwner))
			if tc.wantTx != "" {
				if err != nil || o.TxID != tc.wantTx || o.Status != tc.wantStat || o.Attempts != 1 {
					t.Fatalf("execute: %+v, %v; want %s with %s", o, err, tc.wantStat, tc.wantTx)
				}
				return
			}
			var fe *fault.Error
			if !errors.As(err, &fe) || fe.Kind != fault.KindBadGateway || fe.Code != fault.CodeSettlementUnknown ||
				fe.Details["status"] != string(tc.wantStat) || fe.Details["uuid"] != tc.uuid {
				t.Fatalf("execute: %+v, %v; want a 502 settlement_unknown fault with status %s", o, err, tc.wantStat)
			}
		})
	}
}
