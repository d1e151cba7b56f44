package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stxgate/stxgate/internal/audit"
	"github.com/stxgate/stxgate/internal/order"
)

// EventStore is an order store with its event log.
type EventStore interface {
	order.Store
	order.EventLog
}

// RunEventLog runs the order-event conformance suite: every change appends
// exactly one event, in the change's transaction; refused and rolled-back
// changes append none; ids are gapless and in commit order under racing
// writers; retention deletes each old event once.
func RunEventLog(t *testing.T, newStore func(t *testing.T) EventStore) {
	ctx := context.Background()

	// expectOne checks that the change since after appended exactly one event,
	// of typ, showing the order as the store now holds it (signature aside).
	expectOne := func(t *testing.T, s EventStore, after int64, typ order.EventType, uuid string) int64 {
		t.Helper()
		evs, err := s.EventsAfter(ctx, after, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != 1 {
			t.Fatalf("%s of %s: %d events, want 1: %+v", typ, uuid, len(evs), evs)
		}
		e := evs[0]
		if e.ID != after+1 || e.Type != typ || e.Order.UUID != uuid {
			t.Fatalf("event: id %d type %s order %s, want id %d type %s order %s", e.ID, e.Type, e.Order.UUID, after+1, typ, uuid)
		}
		want := mustGetOrder(t, s, uuid)
		if !e.At.Equal(want.UpdatedAt) {
			t.Fatalf("event at %s, want the change's time %s", e.At, want.UpdatedAt)
		}
		want.Signature = ""
		assertOrderEqual(t, e.Order, want)
		if last, err := s.LastEventID(ctx); err != nil || last != e.ID {
			t.Fatalf("LastEventID = %d, %v; want %d", last, err, e.ID)
		}
		return e.ID
	}
	expectNone := func(t *testing.T, s EventStore, after int64, what string) {
		t.Helper()
		evs, err := s.EventsAfter(ctx, after, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != 0 {
			t.Fatalf("%s appended %d events: %+v", what, len(evs), evs[0])
		}
		if last, err := s.LastEventID(ctx); err != nil || last != after {
			t.Fatalf("%s: LastEventID = %d, %v; want %d", what, last, err, after)
		}
	}
	must := func(t *testing.T, _ *order.Order, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}

	t.Run("EachChangeAppendsOneEvent", func(t *testing.T) {
		s := newStore(t)
		var id int64
		insert := func(uuid string) {
			t.Helper()
			if err := s.InsertOrder(ctx, newTestOrder(uuid, "SPEV1", base), nil); err != nil {
				t.Fatal(err)
			}
			id = expectOne(t, s, id, order.EventCreated, uuid)
		}
		at := base
		step := func(typ order.EventType, uuid string, f func(now time.Time) (*order.Order, error)) {
			t.Helper()
			at = at.Add(time.Second)
			o, err := f(at)
			must(t, o, err)
			id = expectOne(t, s, id, typ, uuid)
		}
		insert("ev-fill")
		step(order.EventExecuting, "ev-fill", func(now time.Time) (*order.Order, error) {
			return s.Claim(ctx, "ev-fill", "key:k1", "SPEV1", now)
		})
		step(order.EventFilled, "ev-fill", func(now time.Time) (*order.Order, error) {
			return s.Fill(ctx, "ev-fill", txidOf(1), "simulated", now, nil)
		})

		insert("ev-cancel")
		step(order.EventCancelled, "ev-cancel", func(now time.Time) (*order.Order, error) {
			return s.Cancel(ctx, "ev-cancel", "key:k1", "SPEV1", now, nil)
		})

		insert("ev-fail")
		step(order.EventExecuting, "ev-fail", func(now time.Time) (*order.Order, error) {
			return s.Claim(ctx, "ev-fail", "key:k1", "", now)
		})
		step(order.EventFailed, "ev-fail", func(now time.Time) (*order.Order, error) {
			return s.Release(ctx, "ev-fail", "settlement rejected", now)
		})
		if o := mustGetOrder(t, s, "ev-fail"); o.Status != order.StatusOpen {
			t.Fatalf("released order is %s", o.Status)
		}
		step(order.EventCancelled, "ev-fail", func(now time.Time) (*order.Order, error) {
			return s.Cancel(ctx, "ev-fail", "key:k1", "", now, nil)
		})

		insert("ev-chain")
		step(order.EventExecuting, "ev-chain", func(now time.Time) (*order.Order, error) {
			return s.Claim(ctx, "ev-chain", "key:k1", "", now)
		})
		// A reconciliation lease is no change an owner sees: no event.
		if _, err := s.TakeStuck(ctx, at, at, time.Minute, 10); err != nil {
			t.Fatal(err)
		}
		expectNone(t, s, id, "TakeStuck")
		step(order.EventSubmitted, "ev-chain", func(now time.Time) (*order.Order, error) {
			return s.Submit(ctx, "ev-chain", txidOf(2), "stacks", now, nil)
		})
		step(order.EventSubmitted, "ev-chain", func(now time.Time) (*order.Order, error) {
			return s.Resubmit(ctx, "ev-chain", txidOf(2), txidOf(3), now)
		})
		step(order.EventReopened, "ev-chain", func(now time.Time) (*order.Order, error) {
			return s.Reopen(ctx, "ev-chain", "aborted", now, nil)
		})
		step(order.EventExecuting, "ev-chain", func(now time.Time) (*order.Order, error) {
			return s.Claim(ctx, "ev-chain", "key:k1", "", now)
		})
		step(order.EventSubmitted, "ev-chain", func(now time.Time) (*order.Order, error) {
			return s.Submit(ctx, "ev-chain", txidOf(4), "stacks", now, nil)
		})
		step(order.EventFilled, "ev-chain", func(now time.Time) (*order.Order, error) {
			return s.Confirm(ctx, "ev-chain", txidOf(4), 77, now, nil)
		})

		insert("ev-expire-one")
		step(order.EventExpired, "ev-expire-one", func(time.Time) (*order.Order, error) {
			n, err := s.Expire(ctx, "ev-expire-one", orderTo)
			if err == nil && n != 1 {
				err = fmt.Errorf("expired %d", n)
			}
			return nil, err
		})
		insert("ev-expire-all")
		step(order.EventExpired, "ev-expire-all", func(time.Time) (*order.Order, error) {
			n, err := s.Expire(ctx, "", orderTo)
			if err == nil && n != 1 {
				err = fmt.Errorf("expired %d", n)
			}
			return nil, err
		})
	})

	t.Run("RefusedChangesAppendNothing", func(t *testing.T) {
		s := newStore(t)
		o := newTestOrder("ev-r", "SPEV1", base)
		if err := s.InsertOrder(ctx, o, nil); err != nil {
			t.Fatal(err)
		}
		last, err := s.LastEventID(ctx)
		if err != nil || last != 1 {
			t.Fatalf("LastEventID = %d, %v", last, err)
		}
		refusals := map[string]func() error{
			"DuplicateInsert": func() error { return s.InsertOrder(ctx, newTestOrder("ev-r", "SPEV1", base), nil) },
			"ClaimOfAnother":  func() error { _, err := s.Claim(ctx, "ev-r", "key:k2", "SPOTHER", base); return err },
			"CancelOfAnother": func() error { _, err := s.Cancel(ctx, "ev-r", "key:k2", "SPOTHER", base, nil); return err },
			"FillOfOpen":      func() error { _, err := s.Fill(ctx, "ev-r", txidOf(1), "simulated", base, nil); return err },
			"ReleaseOfOpen":   func() error { _, err := s.Release(ctx, "ev-r", "x", base); return err },
			"SubmitOfOpen":    func() error { _, err := s.Submit(ctx, "ev-r", txidOf(1), "stacks", base, nil); return err },
			"ConfirmOfOpen":   func() error { _, err := s.Confirm(ctx, "ev-r", txidOf(1), 1, base, nil); return err },
			"ReopenOfOpen":    func() error { _, err := s.Reopen(ctx, "ev-r", "x", base, nil); return err },
			"ClaimOfMissing":  func() error { _, err := s.Claim(ctx, "ev-missing", "key:k2", "", base); return err },
			// Rolled back: the change's audit row is refused, so the change
			// and its order event are not kept either.
			"InsertWithBadAuditRow": func() error {
				return s.InsertOrder(ctx, newTestOrder("ev-r2", "SPEV1", base), &audit.Event{At: base, Event: audit.OrderCreated})
			},
			"CancelWithBadAuditRow": func() error {
				_, err := s.Cancel(ctx, "ev-r", "key:k1", "", base, &audit.Event{At: base, Event: audit.OrderCancelled})
				return err
			},
		}
		for name, f := range refusals {
			if err := f(); err == nil {
				t.Fatalf("%s succeeded", name)
			}
			expectNone(t, s, last, name)
		}
		if n, err := s.Expire(ctx, "", base); err != nil || n != 0 {
			t.Fatalf("Expire = %d, %v", n, err)
		}
		expectNone(t, s, last, "an expiry sweep with nothing due")
		if _, err := s.OrderByUUID(ctx, "ev-r2"); err != order.ErrNotFound {
			t.Fatalf("order with a refused audit row was kept: %v", err)
		}
		if o := mustGetOrder(t, s, "ev-r"); o.Status != order.StatusOpen {
			t.Fatalf("order is %s after refusals", o.Status)
		}
	})

	t.Run("OwnerFilterAndPages", func(t *testing.T) {
		s := newStore(t)
		for i := range 6 {
			owner := []string{"SPA", "SPB"}[i%2]
			if err := s.InsertOrder(ctx, newTestOrder(fmt.Sprintf("ev-o%d", i), owner, base), nil); err != nil {
				t.Fatal(err)
			}
		}
		ids := func(evs []order.Event, err error) string {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
			out := ""
			for _, e := range evs {
				out += fmt.Sprintf("%d:%s ", e.ID, e.Order.Owner)
			}
			return out
		}
		for _, tc := range []struct {
			after int64
			owner string
			limit int
			want  string
		}{
			{0, "", 0, "1:SPA 2:SPB 3:SPA 4:SPB 5:SPA 6:SPB "},
			{0, "SPB", 0, "2:SPB 4:SPB 6:SPB "},
			{2, "SPA", 0, "3:SPA 5:SPA "},
			{1, "", 2, "2:SPB 3:SPA "},
			{4, "SPB", 1, "6:SPB "},
			{6, "", 0, ""},
			{0, "SPNOBODY", 0, ""},
		} {
			if got := ids(s.EventsAfter(ctx, tc.after, tc.owner, tc.limit)); got != tc.want {
				t.Errorf("EventsAfter(%d, %q, %d) = %q, want %q", tc.after, tc.owner, tc.limit, got, tc.want)
			}
		}
	})

	// Writers race (the group-committed claims and fills among them) while a
	// reader follows the log with "after its last id". Ids being handed out in
	// commit order without gaps, every read continues exactly where the last
	// one stopped: a later-committed smaller id would show up as a gap or a
	// step back here.
	t.Run("RacingWritersReaderNeverSkips", func(t *testing.T) {
		s := newStore(t)
		const writers, perWriter = 8, 12
		var wg sync.WaitGroup
		errs := make(chan error, writers)
		for w := range writers {
			wg.Go(func() {
				for i := range perWriter {
					uuid := fmt.Sprintf("ev-race-%d-%d", w, i)
					if err := s.InsertOrder(ctx, newTestOrder(uuid, fmt.Sprintf("SPW%d", w), base), nil); err != nil {
						errs <- err
						return
					}
					if _, err := s.Claim(ctx, uuid, "key:k1", "", base); err != nil {
						errs <- err
						return
					}
					if _, err := s.Fill(ctx, uuid, txidOf(w*100+i), "simulated", base, nil); err != nil {
						errs <- err
						return
					}
				}
			})
		}
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		const total = writers * perWriter * 3
		var (
			cursor int64
			seen   = map[string][]order.EventType{}
		)
		finished := false
		for cursor < total {
			if !finished {
				select {
				case <-done:
					finished = true
				default:
				}
			}
			evs, err := s.EventsAfter(ctx, cursor, "", 7)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range evs {
				if e.ID != cursor+1 {
					t.Fatalf("read %d right after %d: the log skipped or repeated an id", e.ID, cursor)
				}
				cursor = e.ID
				seen[e.Order.UUID] = append(seen[e.Order.UUID], e.Type)
			}
			if finished && len(evs) == 0 && cursor < total {
				t.Fatalf("writers done, reader at %d of %d", cursor, total)
			}
		}
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if len(seen) != writers*perWriter {
			t.Fatalf("%d orders in the log, want %d", len(seen), writers*perWriter)
		}
		for uuid, types := range seen {
			if fmt.Sprint(types) != "[created executing filled]" {
				t.Fatalf("%s: events %v", uuid, types)
			}
		}
		if last, err := s.LastEventID(ctx); err != nil || last != total {
			t.Fatalf("LastEventID = %d, %v; want %d", last, err, total)
		}
	})

	t.Run("RetentionDeletesEachOldEventOnce", func(t *testing.T) {
		s := newStore(t)
		for i := range 30 {
			if err := s.InsertOrder(ctx, newTestOrder(fmt.Sprintf("ev-old-%02d", i), "SPEV1", base.Add(time.Duration(i)*time.Second)), nil); err != nil {
				t.Fatal(err)
			}
		}
		cutoff := base.Add(20 * time.Second) // events 0..19 are older
		var (
			wg    sync.WaitGroup
			mu    sync.Mutex
			total int
		)
		for range 4 {
			wg.Go(func() {
				for {
					n, err := s.DeleteEventsBefore(ctx, cutoff, 3)
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					total += n
					mu.Unlock()
					if n == 0 {
						return
					}
				}
			})
		}
		wg.Wait()
		if total != 20 {
			t.Fatalf("deleted %d events, want 20", total)
		}
		evs, err := s.EventsAfter(ctx, 0, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != 10 || evs[0].ID != 21 || evs[0].Order.UUID != "ev-old-20" {
			t.Fatalf("kept %d events, first %+v", len(evs), evs[0])
		}
		// The counter is not the log: ids go on after the deleted ones.
		if err := s.InsertOrder(ctx, newTestOrder("ev-new", "SPEV1", base), nil); err != nil {
			t.Fatal(err)
		}
		if last, err := s.LastEventID(ctx); err != nil || last != 31 {
			t.Fatalf("LastEventID = %d, %v; want 31", last, err)
		}
	})
}
