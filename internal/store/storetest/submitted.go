package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stxgate/stxgate/internal/order"
)

// runSubmitted checks the transitions of a settlement that confirms on chain
// later: executing → submitted → filled (with block height), a replacement
// txid while submitted, and submitted → open on an on-chain abort.
func runSubmitted(t *testing.T, newStore func(t *testing.T) order.Store) {
	ctx := context.Background()
	at := func(d time.Duration) time.Time { return base.Add(d) }

	t.Run("SubmitReplaceConfirm", func(t *testing.T) {
		s := newStore(t)
		o := prepare(t, s, newTestOrder("sub-1", "SPOWNER1", base), stExecuting)
		got, err := s.Submit(ctx, "sub-1", txidOf(1), "stacks", at(time.Second), nil)
		if err != nil {
			t.Fatal(err)
		}
		want := o.Clone()
		want.Status, want.TxID, want.Settlement = order.StatusSubmitted, txidOf(1), "stacks"
		want.SubmittedAt, want.UpdatedAt = ptr(at(time.Second)), at(time.Second)
		assertOrderEqual(t, got, want)
		assertOrderEqual(t, mustGetOrder(t, s, "sub-1"), want)

		if list, err := s.Submitted(ctx, 10); err != nil || len(list) != 1 {
			t.Fatalf("Submitted: %d orders, %v; want 1", len(list), err)
		} else {
			assertOrderEqual(t, list[0], want)
		}
		// Only the transaction the order shows may be replaced.
		if _, err := s.Resubmit(ctx, "sub-1", txidOf(9), txidOf(2), at(2*time.Second)); !errors.Is(err, order.ErrNotSubmitted) {
			t.Fatalf("resubmit from a txid the order does not show: %v, want ErrNotSubmitted", err)
		}
		got, err = s.Resubmit(ctx, "sub-1", txidOf(1), txidOf(2), at(2*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		want.TxID, want.UpdatedAt = txidOf(2), at(2*time.Second)
		assertOrderEqual(t, got, want)

		// The earlier transaction won: the fill records the txid mined.
		got, err = s.Confirm(ctx, "sub-1", txidOf(1), 4242, at(3*time.Second), nil)
		if err != nil {
			t.Fatal(err)
		}
		want.Status, want.TxID, want.BlockHeight = order.StatusFilled, txidOf(1), 4242
		want.FilledAt, want.UpdatedAt = ptr(at(3*time.Second)), at(3*time.Second)
		assertOrderEqual(t, got, want)
		assertOrderEqual(t, mustGetOrder(t, s, "sub-1"), want)
		if list, err := s.Submitted(ctx, 10); err != nil || len(list) != 0 {
			t.Fatalf("Submitted after the fill: %d orders, %v; want none", len(list), err)
		}
		if _, err := s.Confirm(ctx, "sub-1", txidOf(1), 4242, at(4*time.Second), nil); !errors.Is(err, order.ErrNotSubmitted) {
			t.Fatalf("second confirm: %v, want ErrNotSubmitted", err)
		}
		if _, err := s.Reopen(ctx, "sub-1", "late abort", at(4*time.Second), nil); !errors.Is(err, order.ErrNotSubmitted) {
			t.Fatalf("reopen of a filled order: %v, want ErrNotSubmitted", err)
		}
	})

	t.Run("AbortReopensThenExecutesAgain", func(t *testing.T) {
		s := newStore(t)
		o := prepare(t, s, newTestOrder("sub-2", "SPOWNER1", base), stExecuting)
		if _, err := s.Submit(ctx, "sub-2", txidOf(3), "stacks", at(time.Second), nil); err != nil {
			t.Fatal(err)
		}
		got, err := s.Reopen(ctx, "sub-2", "transaction aborted on chain (abort_by_post_condition)", at(2*time.Second), nil)
		if err != nil {
			t.Fatal(err)
		}
		want := o.Clone()
		want.Status, want.LastError, want.ExecutingSince, want.UpdatedAt = order.StatusOpen,
			"transaction aborted on chain (abort_by_post_condition)", nil, at(2*time.Second)
		assertOrderEqual(t, got, want)
		again, err := s.Claim(ctx, "sub-2", "key:exec", "", at(3*time.Second))
		if err != nil || again.Attempts != 2 {
			t.Fatalf("claim after reopen: attempts %v, %v; want 2", again, err)
		}
	})

	t.Run("Refusals", func(t *testing.T) {
		s := newStore(t)
		prepare(t, s, newTestOrder("sub-open", "SPOWNER1", base), stOpen)
		prepare(t, s, newTestOrder("sub-filled", "SPOWNER1", base), stFilled)
		for _, uuid := range []string{"sub-open", "sub-filled"} {
			if _, err := s.Submit(ctx, uuid, txidOf(1), "stacks", base, nil); !errors.Is(err, order.ErrNotPending) {
				t.Errorf("submit %s: %v, want ErrNotPending", uuid, err)
			}
			if _, err := s.Confirm(ctx, uuid, txidOf(1), 1, base, nil); !errors.Is(err, order.ErrNotSubmitted) {
				t.Errorf("confirm %s: %v, want ErrNotSubmitted", uuid, err)
			}
		}
		if _, err := s.Submit(ctx, "nope", txidOf(1), "stacks", base, nil); !errors.Is(err, order.ErrNotFound) {
			t.Errorf("submit unknown: %v, want ErrNotFound", err)
		}
		prepare(t, s, newTestOrder("sub-bad", "SPOWNER1", base), stExecuting)
		if _, err := s.Submit(ctx, "sub-bad", "0xABC", "stacks", base, nil); err == nil {
			t.Error("submit with a malformed txid succeeded")
		}
		if got := mustGetOrder(t, s, "sub-bad"); got.Status != order.StatusExecuting {
			t.Errorf("after a refused submit: %s, want executing", got.Status)
		}
	})

	t.Run("ConcurrentConfirmAndReopenOneWinner", func(t *testing.T) {
		s := newStore(t)
		prepare(t, s, newTestOrder("sub-race", "SPOWNER1", base), stExecuting)
		if _, err := s.Submit(ctx, "sub-race", txidOf(1), "stacks", base, nil); err != nil {
			t.Fatal(err)
		}
		oneWinner(t, "confirm or reopen", 40, order.ErrNotSubmitted, func(i int) (string, error) {
			if i%2 == 0 {
				_, err := s.Confirm(ctx, "sub-race", txidOf(1), int64(i+1), base, nil)
				return "confirm", err
			}
			_, err := s.Reopen(ctx, "sub-race", "aborted", base, nil)
			return "reopen", err
		})
	})
}
