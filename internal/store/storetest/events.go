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
// changes append none; ids strictly increase (not necessarily by one) and a
// reader following the log with "after its last id" never misses an event
// under racing writers; retention deletes each old event once.
func RunEventLog(t *testing.T, newStore func(t *testing.T) EventStore) {
	ctx := context.Background()

	// expectOne checks that the change since after appended exactly one event,
	// of typ, showing the order as the store now holds it (signature aside).
	expectOne := func(t *testing.T, s EventStore, after int64, typ order.EventType, uuid string) int64 {
		t.Helper()
		evs := settledEventsAfter(t, s, after)
		if len(evs) != 1 {
			t.Fatalf("%s of %s: %d events, want 1: %+v", typ, uuid, len(evs), evs)
		}
		e := evs[0]
		if e.ID <= after || e.Type != typ || e.Order.UUID != uuid {
			t.Fatalf("event: id %d type %s order %s, want id > %d type %s order %s", e.ID, e.Type, e.Order.UUID, after, typ, uuid)
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
		evs := settledEventsAfter(t, s, after)
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

		// Expiring one order by uuid, then a sweep of every due order ("").
		for _, e := range []struct{ uuid, only string }{{"ev-expire-one", "ev-expire-one"}, {"ev-expire-all", ""}} {
			insert(e.uuid)
			step(order.EventExpired, e.uuid, func(time.Time) (*order.Order, error) {
				n, err := s.Expire(ctx, e.only, orderTo)
				if err == nil && n != 1 {
					err = fmt.Errorf("expired %d", n)
				}
				return nil, err
			})
		}
	})

	t.Run("RefusedChangesAppendNothing", func(t *testing.T) {
		s := newStore(t)
		o := newTestOrder("ev-r", "SPEV1", base)
		if err := s.InsertOrder(ctx, o, nil); err != nil {
			t.Fatal(err)
		}
		Settle(t, s)
		last, err := s.LastEventID(ctx)
		if evs, rerr := s.EventsAfter(ctx, 0, "", 0); err != nil || rerr != nil || len(evs) != 1 || last != evs[0].ID {
			t.Fatalf("LastEventID = %d, %v; events %+v, %v", last, err, evs, rerr)
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
		// The events' ids, whatever their numbering: id[i] is the event of
		// ev-o<i>, and the cases below name events by that i.
		evs := settledEventsAfter(t, s, 0)
		if len(evs) != 6 {
			t.Fatalf("EventsAfter(0) = %d events, want 6", len(evs))
		}
		id := map[int64]int{0: 0}
		pos := []int64{0}
		for i, e := range evs {
			if i > 0 && e.ID <= evs[i-1].ID {
				t.Fatalf("ids not increasing: %d after %d", e.ID, evs[i-1].ID)
			}
			id[e.ID] = i + 1
			pos = append(pos, e.ID)
		}
		ids := func(evs []order.Event, err error) string {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
			out := ""
			for _, e := range evs {
				out += fmt.Sprintf("%d:%s ", id[e.ID], e.Order.Owner)
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
			if got := ids(s.EventsAfter(ctx, pos[tc.after], tc.owner, tc.limit)); got != tc.want {
				t.Errorf("EventsAfter(%d, %q, %d) = %q, want %q", tc.after, tc.owner, tc.limit, got, tc.want)
			}
		}
	})

	// Writers race (the group-committed claims and fills among them) while a
	// reader follows the log with "after its last id". Once the writers are
	// done, the reader must have read exactly the whole log, in id order: an
	// event committed after a larger id was read would be missing.
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
		const total = writers * perWriter * 3
		read := FollowLog(t, s, total, func() bool { wg.Wait(); return true })
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		seen := map[string][]order.EventType{}
		for _, e := range read {
			seen[e.Order.UUID] = append(seen[e.Order.UUID], e.Type)
		}
		if len(seen) != writers*perWriter {
			t.Fatalf("%d orders in the log, want %d", len(seen), writers*perWriter)
		}
		for uuid, types := range seen {
			if fmt.Sprint(types) != "[created executing filled]" {
				t.Fatalf("%s: events %v", uuid, types)
			}
		}
		if last, err := s.LastEventID(ctx); err != nil || last != read[len(read)-1].ID {
			t.Fatalf("LastEventID = %d, %v; want %d", last, err, read[len(read)-1].ID)
		}
	})

	t.Run("RetentionDeletesEachOldEventOnce", func(t *testing.T) {
		s := newStore(t)
		for i := range 30 {
			if err := s.InsertOrder(ctx, newTestOrder(fmt.Sprintf("ev-old-%02d", i), "SPEV1", base.Add(time.Duration(i)*time.Second)), nil); err != nil {
				t.Fatal(err)
			}
		}
		before := settledEventsAfter(t, s, 0)
		if len(before) != 30 {
			t.Fatalf("EventsAfter(0) = %d events, want 30", len(before))
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
		if len(evs) != 10 || evs[0].ID != before[20].ID || evs[0].Order.UUID != "ev-old-20" {
			t.Fatalf("kept %d events, first %+v", len(evs), evs[0])
		}
		// Ids go on above the kept ones, and above the deleted ones.
		if err := s.InsertOrder(ctx, newTestOrder("ev-new", "SPEV1", base), nil); err != nil {
			t.Fatal(err)
		}
		evs = settledEventsAfter(t, s, before[29].ID)
		if len(evs) != 1 || evs[0].Order.UUID != "ev-new" {
			t.Fatalf("after the last old event: %+v", evs)
		}
		if last, err := s.LastEventID(ctx); err != nil || last != evs[0].ID {
			t.Fatalf("LastEventID = %d, %v; want %d", last, err, evs[0].ID)
		}
	})
}

// FollowLog reads log the way a stream does, "after the last id read", in
// small pages, until done reports true (it is called once the reader caught
// up, and may block until the writers are done) and a last read after it
// found nothing more. It fails t if ids do not strictly increase, or if what
// it read is not exactly the whole log as read at the end in one go (an
// event that became visible behind the reader's position would be missing),
// or not total events. It returns what it read.
func FollowLog(t *testing.T, log order.EventLog, total int, done func() bool) []order.Event {
	t.Helper()
	ctx := context.Background()
	var (
		cursor   int64
		read     []order.Event
		finished = make(chan struct{})
	)
	go func() { done(); close(finished) }()
	for {
		over := false
		select {
		case <-finished:
			over = true
		default:
		}
		evs, err := log.EventsAfter(ctx, cursor, "", 7)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			if e.ID <= cursor {
				t.Fatalf("read %d right after %d: ids must strictly increase", e.ID, cursor)
			}
			cursor = e.ID
			read = append(read, e)
		}
		if over && len(evs) == 0 && !heldBack(t, log, cursor) {
			break
		}
	}
	whole, err := log.EventsAfter(ctx, 0, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(whole) != total || len(read) != total {
		t.Fatalf("read %d events following the log, the log holds %d, want %d", len(read), len(whole), total)
	}
	for i := range whole {
		if whole[i].ID != read[i].ID {
			t.Fatalf("event %d of the log is id %d, the reader read id %d there: it skipped one", i, whole[i].ID, read[i].ID)
		}
	}
	return read
}

// settledEventsAfter waits for log to Settle, then reads every event after after.
func settledEventsAfter(t testing.TB, log order.EventLog, after int64) []order.Event {
	t.Helper()
	Settle(t, log)
	evs, err := log.EventsAfter(context.Background(), after, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// Settle waits until log holds no committed event back (order.EventHorizon):
// on a PostgreSQL cluster shared with other work, a transaction elsewhere can
// delay a committed event for a while. Logs without a horizon return at once.
func Settle(t testing.TB, log order.EventLog) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		last, err := log.LastEventID(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if !heldBack(t, log, last) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("committed order events still held back after 30 s")
		}
		time.Sleep(time.Millisecond) // polling the horizon, which no signal announces
	}
}

func heldBack(t testing.TB, log order.EventLog, after int64) bool {
	t.Helper()
	hz, ok := log.(order.EventHorizon)
	if !ok {
		return false
	}
	held, err := hz.EventsHeldBack(context.Background(), after)
	if err != nil {
		t.Fatal(err)
	}
	return held
}

// NewTestOrder is an open order of owner, valid now, for other packages'
// event tests.
func NewTestOrder(uuid, owner string) *order.Order { return newTestOrder(uuid, owner, base) }
