package storetest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stxgate/stxgate/internal/order"
)

// A test order is valid for an hour either side of base; transitions happen
// at base unless a test says otherwise.
var (
	orderFrom = base.Add(-time.Hour)
	orderTo   = base.Add(time.Hour)
)

func newTestOrder(uuid, owner string, created time.Time) *order.Order {
	return &order.Order{
		UUID:           uuid,
		Owner:          owner,
		InputToken:     "SP3K8BC0PPEVCV7NZ6QSRWPQ2JE9E5B6N3PA0KBR9.token-wstx",
		OutputToken:    "SP2C2YFP12AJZB4MABJBAJ55XECVS7E4PMMZ89YZR.usda-token",
		AmountIn:       "1000000",
		TargetPrice:    "0.30",
		Direction:      "gt",
		ConditionToken: "SP2C2YFP12AJZB4MABJBAJ55XECVS7E4PMMZ89YZR.usda-token",
		Recipient:      owner,
		Signature:      strings.Repeat("ab", 64) + "01",
		ValidFrom:      orderFrom,
		ValidTo:        orderTo,
		Status:         order.StatusOpen,
		CreatedBy:      "key:k1",
		CreatedAt:      created,
		UpdatedAt:      created,
	}
}

// txidOf is a well-formed txid that differs for every n.
func txidOf(n int) string { return fmt.Sprintf("0x%064x", n+1) }

func ptr(t time.Time) *time.Time { return &t }

// orderState is a state a test order is brought to through the store's own
// transitions (so every store holds it exactly as it would in production).
type orderState string

const (
	stOpen      orderState = "open"
	stExecuting orderState = "executing"
	stFilled    orderState = "filled"
	stCancelled orderState = "cancelled"
	stExpired   orderState = "expired"
	stNotYet    orderState = "open-not-yet-valid" // open, validFrom after base
	stPastDue   orderState = "open-past-valid-to" // open, validTo before base, not swept yet
)

// prepare inserts o and moves it to state; it returns the stored order.
func prepare(t *testing.T, s order.Store, o *order.Order, state orderState) *order.Order {
	t.Helper()
	ctx := context.Background()
	switch state {
	case stNotYet:
		o.ValidFrom, o.ValidTo = base.Add(time.Minute), base.Add(2*time.Hour)
	case stPastDue:
		o.ValidFrom, o.ValidTo = base.Add(-2*time.Hour), base.Add(-time.Minute)
	}
	if err := s.InsertOrder(ctx, o, nil); err != nil {
		t.Fatalf("insert %s: %v", o.UUID, err)
	}
	var err error
	switch state {
	case stExecuting:
		_, err = s.Claim(ctx, o.UUID, "key:exec", "", base.Add(-time.Minute))
	case stFilled:
		if _, err = s.Claim(ctx, o.UUID, "key:exec", "", base.Add(-time.Minute)); err == nil {
			_, err = s.Fill(ctx, o.UUID, txidOf(0), "simulated", base.Add(-30*time.Second), nil)
		}
	case stCancelled:
		_, err = s.Cancel(ctx, o.UUID, "key:cancel", "", base.Add(-time.Minute), nil)
	case stExpired:
		var n int
		if n, err = s.Expire(ctx, o.UUID, o.ValidTo); err == nil && n != 1 {
			err = fmt.Errorf("expired %d orders, want 1", n)
		}
	}
	if err != nil {
		t.Fatalf("bring %s to %s: %v", o.UUID, state, err)
	}
	return mustGetOrder(t, s, o.UUID)
}

func mustGetOrder(t *testing.T, s order.Store, uuid string) *order.Order {
	t.Helper()
	o, err := s.OrderByUUID(context.Background(), uuid)
	if err != nil {
		t.Fatalf("read %s: %v", uuid, err)
	}
	return o
}

// RunOrderStore runs the order-store conformance suite.
func RunOrderStore(t *testing.T, newStore func(t *testing.T) order.Store) {
	ctx := context.Background()

	t.Run("InsertAndReadBack", func(t *testing.T) {
		s := newStore(t)
		o := newTestOrder("Ab-9_z", "SPOWNER1", base)
		o.AmountIn = "340282366920938463463374607431768211455" // 2^128 - 1
		o.TargetPrice = "1234567890.0000000100"
		o.Direction = "lt"
		if err := s.InsertOrder(ctx, o, nil); err != nil {
			t.Fatalf("insert: %v", err)
		}
		got := mustGetOrder(t, s, "Ab-9_z")
		assertOrderEqual(t, got, o)

		// The store keeps its own copy: neither the inserted value nor a
		// returned one reaches it when changed afterwards.
		want := o.Clone()
		o.Owner, o.Status = "SPMUTATED", order.StatusFilled
		got.Owner, got.Attempts = "SPMUTATED", 99
		assertOrderEqual(t, mustGetOrder(t, s, "Ab-9_z"), want)
	})

	t.Run("TimesAreUTCMicroseconds", func(t *testing.T) {
		s := newStore(t)
		zone := time.FixedZone("UTC+5:30", 5*3600+1800)
		o := newTestOrder("times-1", "SPOWNER1", base.Add(789*time.Nanosecond).In(zone))
		o.UpdatedAt = o.CreatedAt
		o.ValidFrom = orderFrom.Add(999 * time.Nanosecond).In(zone)
		o.ValidTo = orderTo.Add(1 * time.Nanosecond).In(zone)
		if err := s.InsertOrder(ctx, o, nil); err != nil {
			t.Fatal(err)
		}
		want := newTestOrder("times-1", "SPOWNER1", base)
		assertOrderEqual(t, mustGetOrder(t, s, "times-1"), want)

		claimAt := base.Add(time.Second + 456*time.Nanosecond).In(zone)
		got, err := s.Claim(ctx, "times-1", "key:exec", "", claimAt)
		if err != nil {
			t.Fatal(err)
		}
		at := base.Add(time.Second)
		want.Status, want.Attempts, want.ExecutedBy = order.StatusExecuting, 1, "key:exec"
		want.ExecutingSince, want.UpdatedAt = ptr(at), at
		assertOrderEqual(t, got, want)
		if got.ExecutingSince.Location() != time.UTC || got.CreatedAt.Location() != time.UTC {
			t.Fatalf("times not in UTC: %v %v", got.ExecutingSince.Location(), got.CreatedAt.Location())
		}
	})

	t.Run("UnknownUUIDNotFound", func(t *testing.T) {
		s := newStore(t)
		prepare(t, s, newTestOrder("exists", "SPOWNER1", base), stOpen)
		for name, call := range map[string]func() error{
			"OrderByUUID": func() error { _, err := s.OrderByUUID(ctx, "nope"); return err },
			"Claim":       func() error { _, err := s.Claim(ctx, "nope", "key:a", "", base); return err },
			"Fill":        func() error { _, err := s.Fill(ctx, "nope", txidOf(1), "simulated", base, nil); return err },
			"Release":     func() error { _, err := s.Release(ctx, "nope", "why", base); return err },
			"Cancel":      func() error { _, err := s.Cancel(ctx, "nope", "key:a", "", base, nil); return err },
		} {
			if err := call(); !errors.Is(err, order.ErrNotFound) {
				t.Errorf("%s: got %v, want ErrNotFound", name, err)
			}
		}
		if n, err := s.Expire(ctx, "nope", orderTo.Add(time.Hour)); n != 0 || err != nil {
			t.Errorf("Expire: got %d, %v; want 0, nil", n, err)
		}
		assertOrderEqual(t, mustGetOrder(t, s, "exists"), newTestOrder("exists", "SPOWNER1", base))
	})

	t.Run("ClaimAndCancelOnlyForTheOwner", func(t *testing.T) {
		s := newStore(t)
		want := prepare(t, s, newTestOrder("owned", "SPOWNER1", base), stOpen)
		if _, err := s.Claim(ctx, "owned", "key:other", "SPOTHER", base); !errors.Is(err, order.ErrNotOpen) {
			t.Fatalf("claim by another owner: got %v, want ErrNotOpen", err)
		}
		if _, err := s.Cancel(ctx, "owned", "key:other", "SPOTHER", base, nil); !errors.Is(err, order.ErrNotOpen) {
			t.Fatalf("cancel by another owner: got %v, want ErrNotOpen", err)
		}
		assertOrderEqual(t, mustGetOrder(t, s, "owned"), want)
		got, err := s.Claim(ctx, "owned", "key:mine", "SPOWNER1", base)
		if err != nil || got.Status != order.StatusExecuting || got.ExecutedBy != "key:mine" {
			t.Fatalf("claim by the owner: %+v, %v", got, err)
		}
	})

	t.Run("DuplicateRejected", func(t *testing.T) {
		s := newStore(t)
		o := newTestOrder("dup-1", "SPOWNER1", base)
		if err := s.InsertOrder(ctx, o, nil); err != nil {
			t.Fatal(err)
		}
		other := newTestOrder("dup-1", "SPOWNER2", base.Add(time.Minute))
		other.AmountIn = "5"
		for name, d := range map[string]*order.Order{"Identical": o.Clone(), "Different": other} {
			if err := s.InsertOrder(ctx, d, nil); !errors.Is(err, order.ErrDuplicate) {
				t.Errorf("%s: got %v, want ErrDuplicate", name, err)
			}
		}
		assertOrderEqual(t, mustGetOrder(t, s, "dup-1"), o)
	})

	t.Run("Transitions", func(t *testing.T) {
		s := newStore(t)
		at := base.Add(7 * time.Second)
		for _, tc := range []struct {
			name  string
			from  orderState
			apply func(uuid string) (*order.Order, error)
			want  func(o *order.Order)
		}{
			{"ClaimOpen", stOpen,
				func(uuid string) (*order.Order, error) { return s.Claim(ctx, uuid, "key:bot", "", at) },
				func(o *order.Order) {
					o.Status, o.Attempts, o.ExecutedBy = order.StatusExecuting, 1, "key:bot"
					o.ExecutingSince, o.UpdatedAt = ptr(at), at
				}},
			{"ClaimAtValidFrom", stOpen,
				func(uuid string) (*order.Order, error) { return s.Claim(ctx, uuid, "wallet:SPOWNER1", "", orderFrom) },
				func(o *order.Order) {
					o.Status, o.Attempts, o.ExecutedBy = order.StatusExecuting, 1, "wallet:SPOWNER1"
					o.ExecutingSince, o.UpdatedAt = ptr(orderFrom), orderFrom
				}},
			{"ClaimJustBeforeValidTo", stOpen,
				func(uuid string) (*order.Order, error) {
					return s.Claim(ctx, uuid, "key:bot", "", orderTo.Add(-time.Microsecond))
				},
				func(o *order.Order) {
					last := orderTo.Add(-time.Microsecond)
					o.Status, o.Attempts, o.ExecutedBy = order.StatusExecuting, 1, "key:bot"
					o.ExecutingSince, o.UpdatedAt = ptr(last), last
				}},
			{"FillExecuting", stExecuting,
				func(uuid string) (*order.Order, error) { return s.Fill(ctx, uuid, txidOf(42), "relayer", at, nil) },
				func(o *order.Order) {
					o.Status, o.TxID, o.Settlement = order.StatusFilled, txidOf(42), "relayer"
					o.FilledAt, o.UpdatedAt = ptr(at), at
				}},
			{"ReleaseExecuting", stExecuting,
				func(uuid string) (*order.Order, error) {
					return s.Release(ctx, uuid, "settlement rejected: insufficient balance", at)
				},
				func(o *order.Order) {
					o.Status, o.LastError = order.StatusOpen, "settlement rejected: insufficient balance"
					o.ExecutingSince, o.UpdatedAt = nil, at
				}},
			{"CancelOpen", stOpen,
				func(uuid string) (*order.Order, error) { return s.Cancel(ctx, uuid, "key:canceller", "", at, nil) },
				func(o *order.Order) {
					o.Status, o.CancelledBy = order.StatusCancelled, "key:canceller"
					o.CancelledAt, o.UpdatedAt = ptr(at), at
				}},
			{"CancelNotYetValid", stNotYet, // cancelling needs no validFrom
				func(uuid string) (*order.Order, error) { return s.Cancel(ctx, uuid, "wallet:SPOWNER1", "", at, nil) },
				func(o *order.Order) {
					o.Status, o.CancelledBy = order.StatusCancelled, "wallet:SPOWNER1"
					o.CancelledAt, o.UpdatedAt = ptr(at), at
				}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := prepare(t, s, newTestOrder("tr-"+tc.name, "SPOWNER1", base.Add(-time.Hour)), tc.from)
				got, err := tc.apply(before.UUID)
				if err != nil {
					t.Fatalf("got %v", err)
				}
				want := before.Clone()
				tc.want(want)
				assertOrderEqual(t, got, want)
				assertOrderEqual(t, mustGetOrder(t, s, before.UUID), want)
			})
		}
	})

	t.Run("TransitionRefusals", func(t *testing.T) {
		s := newStore(t)
		ops := map[string]func(uuid string) error{
			"Claim":           func(uuid string) error { _, err := s.Claim(ctx, uuid, "key:late", "", base); return err },
			"ClaimAtValidTo":  func(uuid string) error { _, err := s.Claim(ctx, uuid, "key:late", "", orderTo); return err },
			"Cancel":          func(uuid string) error { _, err := s.Cancel(ctx, uuid, "key:late", "", base, nil); return err },
			"CancelAtValidTo": func(uuid string) error { _, err := s.Cancel(ctx, uuid, "key:late", "", orderTo, nil); return err },
			"Fill":            func(uuid string) error { _, err := s.Fill(ctx, uuid, txidOf(7), "relayer", base, nil); return err },
			"Release":         func(uuid string) error { _, err := s.Release(ctx, uuid, "late", base); return err },
			"ClaimBeforeValid": func(uuid string) error {
				_, err := s.Claim(ctx, uuid, "key:early", "", orderFrom.Add(-time.Microsecond))
				return err
			},
		}
		for _, tc := range []struct {
			from orderState
			op   string
			want error
		}{
			{stExecuting, "Claim", order.ErrNotOpen},
			{stFilled, "Claim", order.ErrNotOpen},
			{stCancelled, "Claim", order.ErrNotOpen},
			{stExpired, "Claim", order.ErrNotOpen},
			{stNotYet, "Claim", order.ErrNotOpen},
			{stPastDue, "Claim", order.ErrNotOpen},
			{stOpen, "ClaimAtValidTo", order.ErrNotOpen},
			{stOpen, "ClaimBeforeValid", order.ErrNotOpen},

			{stExecuting, "Cancel", order.ErrNotOpen},
			{stFilled, "Cancel", order.ErrNotOpen},
			{stCancelled, "Cancel", order.ErrNotOpen},
			{stExpired, "Cancel", order.ErrNotOpen},
			{stPastDue, "Cancel", order.ErrNotOpen},
			{stOpen, "CancelAtValidTo", order.ErrNotOpen},

			{stOpen, "Fill", order.ErrNotPending},
			{stFilled, "Fill", order.ErrNotPending},
			{stCancelled, "Fill", order.ErrNotPending},
			{stExpired, "Fill", order.ErrNotPending},

			{stOpen, "Release", order.ErrNotPending},
			{stFilled, "Release", order.ErrNotPending},
			{stCancelled, "Release", order.ErrNotPending},
			{stExpired, "Release", order.ErrNotPending},
		} {
			name := fmt.Sprintf("%s/%s", tc.op, tc.from)
			t.Run(name, func(t *testing.T) {
				before := prepare(t, s, newTestOrder(fmt.Sprintf("ref-%s-%s", tc.op, tc.from), "SPOWNER1", base.Add(-time.Hour)), tc.from)
				if err := ops[tc.op](before.UUID); !errors.Is(err, tc.want) {
					t.Fatalf("got %v, want %v", err, tc.want)
				}
				assertOrderEqual(t, mustGetOrder(t, s, before.UUID), before) // nothing changed
			})
		}
	})

	t.Run("FillRejectsMalformedTxID", func(t *testing.T) {
		s := newStore(t)
		before := prepare(t, s, newTestOrder("badtx-1", "SPOWNER1", base), stExecuting)
		good := "0x" + strings.Repeat("c0ffee", 10) + "abcd"
		for name, args := range map[string][2]string{
			"UpperCase":       {"0x" + strings.ToUpper(good[2:]), "relayer"},
			"NoPrefix":        {good[2:], "relayer"},
			"Short":           {good[:65], "relayer"},
			"Long":            {good + "0", "relayer"},
			"NotHex":          {good[:65] + "g", "relayer"},
			"Empty":           {"", "relayer"},
			"EmptySettlement": {good, ""},
		} {
			if _, err := s.Fill(ctx, "badtx-1", args[0], args[1], base, nil); err == nil {
				t.Errorf("%s: Fill(%q, %q) succeeded", name, args[0], args[1])
			}
		}
		assertOrderEqual(t, mustGetOrder(t, s, "badtx-1"), before)
		if _, err := s.Fill(ctx, "badtx-1", good, "relayer", base, nil); err != nil { // the well-formed one passes
			t.Fatalf("Fill(%q): %v", good, err)
		}
	})

	t.Run("ReleaseThenReclaimCountsAttempts", func(t *testing.T) {
		s := newStore(t)
		o := prepare(t, s, newTestOrder("again-1", "SPOWNER1", base), stOpen)
		t1, t2, t3, t4 := base.Add(time.Second), base.Add(2*time.Second), base.Add(3*time.Second), base.Add(4*time.Second)
		if _, err := s.Claim(ctx, o.UUID, "key:first", "", t1); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Release(ctx, o.UUID, "settlement rejected: nonce too low", t2); err != nil {
			t.Fatal(err)
		}
		got, err := s.Claim(ctx, o.UUID, "key:second", "", t3)
		if err != nil {
			t.Fatalf("re-claim after release: %v", err)
		}
		want := o.Clone()
		want.Status, want.Attempts, want.ExecutedBy = order.StatusExecuting, 2, "key:second"
		want.LastError = "settlement rejected: nonce too low" // kept as history
		want.ExecutingSince, want.UpdatedAt = ptr(t3), t3
		assertOrderEqual(t, got, want)

		got, err = s.Fill(ctx, o.UUID, txidOf(9), "simulated", t4, nil)
		if err != nil {
			t.Fatal(err)
		}
		want.Status, want.TxID, want.Settlement, want.FilledAt, want.UpdatedAt = order.StatusFilled, txidOf(9), "simulated", ptr(t4), t4
		assertOrderEqual(t, got, want)
		assertOrderEqual(t, mustGetOrder(t, s, o.UUID), want)
	})

	t.Run("ExpireMovesOnlyDueOpenOrders", func(t *testing.T) {
		s := newStore(t)
		sweep := base.Add(time.Minute)
		mk := func(uuid string, validTo time.Time) *order.Order {
			o := newTestOrder(uuid, "SPOWNER1", base.Add(-time.Hour))
			o.ValidTo = validTo
			return o
		}
		due := []*order.Order{
			prepare(t, s, mk("due-past", sweep.Add(-time.Second)), stOpen),
			prepare(t, s, mk("due-exactly", sweep), stOpen), // validTo is exclusive
		}
		kept := []*order.Order{
			prepare(t, s, mk("open-later", sweep.Add(time.Microsecond)), stOpen),
			prepare(t, s, mk("executing-past", sweep.Add(-time.Second)), stExecuting),
			prepare(t, s, mk("filled-past", sweep.Add(-time.Second)), stFilled),
			prepare(t, s, mk("cancelled-past", sweep.Add(-time.Second)), stCancelled),
		}
		already := prepare(t, s, mk("expired-before", base.Add(-time.Second)), stExpired)
		kept = append(kept, already)

		n, err := s.Expire(ctx, "", sweep)
		if err != nil || n != len(due) {
			t.Fatalf("Expire: got %d, %v; want %d", n, err, len(due))
		}
		for _, o := range due {
			want := o.Clone()
			want.Status, want.ExpiredAt, want.UpdatedAt = order.StatusExpired, ptr(sweep), sweep
			assertOrderEqual(t, mustGetOrder(t, s, o.UUID), want)
		}
		for _, o := range kept {
			assertOrderEqual(t, mustGetOrder(t, s, o.UUID), o)
		}
		if n, err := s.Expire(ctx, "", sweep); n != 0 || err != nil {
			t.Fatalf("second sweep: got %d, %v; want 0", n, err)
		}
	})

	t.Run("ExpireOneOrder", func(t *testing.T) {
		s := newStore(t)
		a := prepare(t, s, newTestOrder("one-a", "SPOWNER1", base), stOpen)
		b := prepare(t, s, newTestOrder("one-b", "SPOWNER1", base), stOpen)
		if n, err := s.Expire(ctx, "one-a", orderTo.Add(-time.Microsecond)); n != 0 || err != nil {
			t.Fatalf("not yet due: got %d, %v; want 0", n, err)
		}
		if n, err := s.Expire(ctx, "one-a", orderTo); n != 1 || err != nil {
			t.Fatalf("due: got %d, %v; want 1", n, err)
		}
		want := a.Clone()
		want.Status, want.ExpiredAt, want.UpdatedAt = order.StatusExpired, ptr(orderTo), orderTo
		assertOrderEqual(t, mustGetOrder(t, s, "one-a"), want)
		assertOrderEqual(t, mustGetOrder(t, s, "one-b"), b) // just as due, but not asked about
		if n, err := s.Expire(ctx, "one-a", orderTo.Add(time.Hour)); n != 0 || err != nil {
			t.Fatalf("already expired: got %d, %v; want 0", n, err)
		}
	})

	t.Run("ExecutingListsClaimsUpToSince", func(t *testing.T) {
		s := newStore(t)
		t1, t2, t3 := base.Add(-3*time.Minute), base.Add(-2*time.Minute), base.Add(-time.Minute)
		for _, c := range []struct {
			uuid string
			at   time.Time
		}{{"exe-b", t2}, {"exe-c", t3}, {"exe-a2", t1}, {"exe-a1", t1}, {"exe-filled", t1}, {"exe-released", t1}} {
			prepare(t, s, newTestOrder(c.uuid, "SPOWNER1", base.Add(-time.Hour)), stOpen)
			if _, err := s.Claim(ctx, c.uuid, "key:exec", "", c.at); err != nil {
				t.Fatal(err)
			}
		}
		prepare(t, s, newTestOrder("exe-open", "SPOWNER1", base.Add(-time.Hour)), stOpen)
		if _, err := s.Fill(ctx, "exe-filled", txidOf(5), "relayer", t2, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Release(ctx, "exe-released", "rejected", t2); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			since time.Time
			want  []string
		}{
			{t1.Add(-time.Microsecond), nil},
			{t1, []string{"exe-a1", "exe-a2"}}, // inclusive; ties by uuid
			{t2, []string{"exe-a1", "exe-a2", "exe-b"}},
			{base, []string{"exe-a1", "exe-a2", "exe-b", "exe-c"}},
		} {
			got, err := s.TakeStuck(ctx, tc.since, t2, 0, 100) // a lease of 0 ends at once
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, o := range got {
				ids = append(ids, o.UUID)
				assertOrderEqual(t, o, mustGetOrder(t, s, o.UUID))
			}
			if !slices.Equal(ids, tc.want) {
				t.Errorf("TakeStuck(%s): got %v, want %v", tc.since.Format(time.RFC3339Nano), ids, tc.want)
			}
		}
	})

	// Reconcilers on several gateways: each stuck order is taken by exactly
	// one of them while its lease runs, at most limit per call; once the
	// lease has ended it can be taken again.
	t.Run("TakeStuckLeasesEachOrderToOneTaker", func(t *testing.T) {
		s := newStore(t)
		const n = 40
		claimedAt := base.Add(-time.Hour)
		for i := range n {
			id := fmt.Sprintf("stuck-%02d", i)
			prepare(t, s, newTestOrder(id, "SPOWNER1", base.Add(-2*time.Hour)), stOpen)
			if _, err := s.Claim(ctx, id, "key:exec", "", claimedAt); err != nil {
				t.Fatal(err)
			}
		}
		var (
			mu    sync.Mutex
			taken = map[string]int{}
		)
		atOnce(8, func(int) {
			for {
				got, err := s.TakeStuck(ctx, base, base, time.Minute, 3)
				if err != nil {
					t.Error(err)
					return
				}
				if len(got) > 3 {
					t.Errorf("took %d orders, limit 3", len(got))
				}
				mu.Lock()
				for _, o := range got {
					taken[o.UUID]++
				}
				mu.Unlock()
				if len(got) == 0 {
					return
				}
			}
		})
		if len(taken) != n {
			t.Fatalf("%d orders taken, want all %d", len(taken), n)
		}
		for id, c := range taken {
			if c != 1 {
				t.Fatalf("%s taken %d times under one lease", id, c)
			}
		}
		if again, err := s.TakeStuck(ctx, base, base.Add(59*time.Second), time.Minute, 100); err != nil || len(again) != 0 {
			t.Fatalf("inside the lease: took %d, %v; want none", len(again), err)
		}
		again, err := s.TakeStuck(ctx, base, base.Add(time.Minute), time.Minute, 100)
		if err != nil || len(again) != n {
			t.Fatalf("after the lease: took %d, %v; want all %d again", len(again), err, n)
		}
	})

	t.Run("ConcurrentClaimsOneWinner", func(t *testing.T) {
		s := newStore(t)
		prepare(t, s, newTestOrder("race-claim", "SPOWNER1", base), stOpen)
		winner := oneWinner(t, "claim", 100, order.ErrNotOpen, func(i int) (string, error) {
			actor := fmt.Sprintf("key:bot%d", i)
			o, err := s.Claim(ctx, "race-claim", actor, "", base)
			if err == nil && (o.Status != order.StatusExecuting || o.Attempts != 1) {
				t.Errorf("winner got status %s attempts %d", o.Status, o.Attempts)
			}
			return actor, err
		})
		got := mustGetOrder(t, s, "race-claim")
		if got.Status != order.StatusExecuting || got.Attempts != 1 || got.ExecutedBy != winner {
			t.Fatalf("stored: status %s attempts %d executedBy %s, want executing, 1, %v", got.Status, got.Attempts, got.ExecutedBy, winner)
		}
	})

	t.Run("ClaimRacesCancel", func(t *testing.T) {
		s := newStore(t)
		const orders = 50
		for i := range orders {
			prepare(t, s, newTestOrder(fmt.Sprintf("rc-%02d", i), "SPOWNER1", base), stOpen)
		}
		type outcome struct{ claim, cancel error }
		results := make([]outcome, orders)
		atOnce(2*orders, func(i int) { // a claim and a cancel of each order
			r, uuid := &results[i/2], fmt.Sprintf("rc-%02d", i/2)
			if i%2 == 0 {
				_, r.claim = s.Claim(ctx, uuid, "key:exec", "", base)
			} else {
				_, r.cancel = s.Cancel(ctx, uuid, "key:cancel", "", base, nil)
			}
		})
		claims := 0
		for i, r := range results {
			uuid := fmt.Sprintf("rc-%02d", i)
			got := mustGetOrder(t, s, uuid)
			switch {
			case r.claim == nil && errors.Is(r.cancel, order.ErrNotOpen):
				claims++
				if got.Status != order.StatusExecuting || got.CancelledAt != nil {
					t.Errorf("%s: claim won but stored status %s cancelledAt %v", uuid, got.Status, got.CancelledAt)
				}
			case r.cancel == nil && errors.Is(r.claim, order.ErrNotOpen):
				if got.Status != order.StatusCancelled || got.Attempts != 0 || got.ExecutingSince != nil {
					t.Errorf("%s: cancel won but stored status %s attempts %d", uuid, got.Status, got.Attempts)
				}
			default:
				t.Errorf("%s: claim %v, cancel %v: want exactly one winner and ErrNotOpen for the other", uuid, r.claim, r.cancel)
			}
		}
		t.Logf("claim won %d of %d races", claims, orders)
	})

	t.Run("ConcurrentFillsOneWinner", func(t *testing.T) {
		s := newStore(t)
		prepare(t, s, newTestOrder("race-fill", "SPOWNER1", base), stExecuting)
		winner := oneWinner(t, "fill", 50, order.ErrNotPending, func(i int) (string, error) {
			o, err := s.Fill(ctx, "race-fill", txidOf(i), "relayer", base, nil)
			if err == nil && o.TxID != txidOf(i) {
				t.Errorf("winner %d returned txid %s", i, o.TxID)
			}
			return txidOf(i), err
		})
		if got := mustGetOrder(t, s, "race-fill"); got.Status != order.StatusFilled || got.TxID != winner {
			t.Fatalf("stored status %s txid %s, want filled with the winner's %v", got.Status, got.TxID, winner)
		}
	})

	t.Run("ConcurrentSweepsCountEachOrderOnce", func(t *testing.T) {
		s := newStore(t)
		const due, sweepers = 30, 8
		for i := range due {
			o := newTestOrder(fmt.Sprintf("sw-%02d", i), "SPOWNER1", base)
			o.ValidTo = base.Add(time.Duration(i+1) * time.Millisecond)
			prepare(t, s, o, stOpen)
		}
		prepare(t, s, newTestOrder("sw-later", "SPOWNER1", base), stOpen)
		var total atomic.Int32
		atOnce(sweepers, func(int) {
			n, err := s.Expire(ctx, "", base.Add(time.Second))
			if err != nil {
				t.Error(err)
			}
			total.Add(int32(n))
		})
		if total.Load() != due {
			t.Fatalf("sweeps expired %d orders in total, want %d", total.Load(), due)
		}
		if got := mustGetOrder(t, s, "sw-later"); got.Status != order.StatusOpen {
			t.Fatalf("an order not due was swept: %s", got.Status)
		}
	})

	t.Run("ListPaginatesNewestFirst", func(t *testing.T) {
		s := newStore(t)
		// uuids whose byte order differs from a locale's: punctuation,
		// digits, both cases. Orders come in threes per created_at, so
		// ties are broken by uuid.
		prefixes := []string{"a", "B", "_", "-", "z9", "Z", "0"}
		owners := []string{"SPOWNER1", "SPOWNER2", "SPOWNER3"}
		states := []orderState{stOpen, stExecuting, stOpen, stFilled, stCancelled, stExpired, stOpen}
		var all []*order.Order
		for i := range 40 {
			o := newTestOrder(fmt.Sprintf("%s%d", prefixes[i%len(prefixes)], i), owners[i%len(owners)], base.Add(time.Duration(i/3)*time.Second))
			all = append(all, prepare(t, s, o, states[i%len(states)]))
		}
		slices.SortFunc(all, func(a, b *order.Order) int {
			if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
				return c
			}
			return cmp.Compare(b.UUID, a.UUID) // bytes, descending
		})

		for _, f := range []struct {
			name   string
			owner  string
			status order.Status
		}{
			{"All", "", ""},
			{"Owner", "SPOWNER2", ""},
			{"Status", "", order.StatusOpen},
			{"OwnerAndStatus", "SPOWNER1", order.StatusOpen},
			{"OwnerAndFilled", "SPOWNER3", order.StatusFilled},
			{"UnknownOwner", "SPNOBODY", ""},
			{"NoneInStatus", "SPOWNER1", "nonexistent"},
		} {
			var want []string
			for _, o := range all {
				if (f.owner == "" || o.Owner == f.owner) && (f.status == "" || o.Status == f.status) {
					want = append(want, o.UUID)
				}
			}
			for _, limit := range []int{1, 4, 7, 1000} {
				t.Run(fmt.Sprintf("%s/Limit%d", f.name, limit), func(t *testing.T) {
					var got []string
					q := order.ListQuery{Owner: f.owner, Status: f.status, Limit: limit}
					for page := 0; ; page++ {
						if page > len(all)+1 {
							t.Fatalf("pagination does not end: %v", got)
						}
						orders, err := s.ListOrders(ctx, q)
						if err != nil {
							t.Fatal(err)
						}
						if len(orders) > limit {
							t.Fatalf("page %d has %d orders, limit %d", page, len(orders), limit)
						}
						for _, o := range orders {
							got = append(got, o.UUID)
						}
						if len(orders) < limit {
							break
						}
						last := orders[len(orders)-1]
						q.AfterCreatedAt, q.AfterUUID = last.CreatedAt, last.UUID
					}
					if !slices.Equal(got, want) {
						t.Fatalf("walked\n got: %v\nwant: %v", got, want)
					}
				})
			}
		}

		t.Run("RowsAreComplete", func(t *testing.T) {
			orders, err := s.ListOrders(ctx, order.ListQuery{Limit: 1000})
			if err != nil {
				t.Fatal(err)
			}
			if len(orders) != len(all) {
				t.Fatalf("got %d orders, want %d", len(orders), len(all))
			}
			for i, o := range orders {
				assertOrderEqual(t, o, all[i])
			}
		})

		t.Run("ZeroLimitIsTheStoreMaximum", func(t *testing.T) {
			orders, err := s.ListOrders(ctx, order.ListQuery{})
			if err != nil || len(orders) != len(all) {
				t.Fatalf("got %d orders, %v; want all %d", len(orders), err, len(all))
			}
		})

		t.Run("CursorBetweenTimestamps", func(t *testing.T) {
			// A cursor on a timestamp with an empty uuid: only strictly older
			// orders follow, none of the same instant.
			at := base.Add(5 * time.Second)
			orders, err := s.ListOrders(ctx, order.ListQuery{Limit: 1000, AfterCreatedAt: at})
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, o := range all {
				if o.CreatedAt.Before(at) {
					want = append(want, o.UUID)
				}
			}
			var got []string
			for _, o := range orders {
				got = append(got, o.UUID)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("got %v, want %v", got, want)
			}
		})

		t.Run("CursorPastTheEnd", func(t *testing.T) {
			last := all[len(all)-1]
			orders, err := s.ListOrders(ctx, order.ListQuery{Limit: 10, AfterCreatedAt: last.CreatedAt, AfterUUID: last.UUID})
			if err != nil || len(orders) != 0 {
				t.Fatalf("got %d orders, %v; want none", len(orders), err)
			}
		})
	})

	t.Run("Submitted", func(t *testing.T) { runSubmitted(t, newStore) })

	t.Run("ListEmptyStore", func(t *testing.T) {
		s := newStore(t)
		orders, err := s.ListOrders(ctx, order.ListQuery{Limit: 10})
		if err != nil || len(orders) != 0 {
			t.Fatalf("got %v, %v; want no orders", orders, err)
		}
		exec, err := s.TakeStuck(ctx, base, base, time.Minute, 10)
		if err != nil || len(exec) != 0 {
			t.Fatalf("TakeStuck: got %v, %v; want none", exec, err)
		}
		if n, err := s.Expire(ctx, "", base); n != 0 || err != nil {
			t.Fatalf("Expire: got %d, %v", n, err)
		}
	})
}

func assertOrderEqual(t *testing.T, got, want *order.Order) {
	t.Helper()
	sameDescription(t, "order", describeOrder(got), describeOrder(want))
}

// describeOrder prints every field, times in UTC at full precision (so a
// store that kept nanoseconds would not match).
func describeOrder(o *order.Order) string {
	if o == nil {
		return "<nil>"
	}
	return fmt.Sprintf("uuid=%s owner=%s in=%s out=%s amount=%s price=%s dir=%s cond=%s recipient=%s sig=%s "+
		"from=%s to=%s status=%s txid=%q settlement=%q createdBy=%q executedBy=%q cancelledBy=%q lastError=%q attempts=%d "+
		"created=%s updated=%s executing=%s filled=%s cancelled=%s expired=%s blockHeight=%d submitted=%s",
		o.UUID, o.Owner, o.InputToken, o.OutputToken, o.AmountIn, o.TargetPrice, o.Direction, o.ConditionToken, o.Recipient, o.Signature,
		ts(&o.ValidFrom), ts(&o.ValidTo), o.Status, o.TxID, o.Settlement, o.CreatedBy, o.ExecutedBy, o.CancelledBy, o.LastError, o.Attempts,
		ts(&o.CreatedAt), ts(&o.UpdatedAt), ts(o.ExecutingSince), ts(o.FilledAt), ts(o.CancelledAt), ts(o.ExpiredAt),
		o.BlockHeight, ts(o.SubmittedAt))
}

// oneWinner runs n attempts at once (attempt i returns who it is and its
// error): exactly one must succeed and every other fail with lose. It
// returns the winner.
func oneWinner(t *testing.T, what string, n int, lose error, attempt func(i int) (string, error)) string {
	t.Helper()
	var won, lost atomic.Int32
	var winner atomic.Value
	atOnce(n, func(i int) {
		who, err := attempt(i)
		switch {
		case err == nil:
			won.Add(1)
			winner.Store(who)
		case errors.Is(err, lose):
			lost.Add(1)
		default:
			t.Errorf("%s %d: %v", what, i, err)
		}
	})
	if won.Load() != 1 || lost.Load() != int32(n-1) {
		t.Fatalf("%d attempts to %s won and %d got %q, want 1 and %d", won.Load(), what, lost.Load(), lose, n-1)
	}
	return winner.Load().(string)
}

// atOnce runs f(0) … f(n-1) in n goroutines released together, and returns
// when every one has: the races these suites look for.
func atOnce(n int, f func(i int)) {
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			f(i)
		})
	}
	close(start)
	wg.Wait()
}
