package postgres_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/stxgate/stxgate/internal/order"
	"github.com/stxgate/stxgate/internal/orderstream"
	"github.com/stxgate/stxgate/internal/store/storetest"
)

// An event's id comes from its writer's transaction id, not from its commit:
// a transaction that took its xid early and commits late writes an id below
// events committed long before it. Racing writers commit while such a
// transaction is held open; the reader following the log must not return any
// of their events before that transaction ended, and then must read its event
// first: had it returned the others, it would have skipped that one for good.
func TestEventIDsWaitForOlderWriters(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	if err := s.InsertOrder(ctx, storetest.NewTestOrder("ev-first", "SPA"), nil); err != nil {
		t.Fatal(err)
	}
	storetest.Settle(t, s)
	first, err := s.LastEventID(ctx)
	if err != nil || first == 0 {
		t.Fatalf("LastEventID = %d, %v", first, err)
	}

	// The long transaction: its xid is taken now, its event written at the end.
	tx, xid := openXact(ctx, t, s.Pool())

	const writers, perWriter = 4, 6
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				uuid := fmt.Sprintf("ev-race-%d-%d", w, i)
				o := storetest.NewTestOrder(uuid, "SPB")
				if err := s.InsertOrder(ctx, o, nil); err != nil {
					t.Error(err)
					return
				}
				if _, err := s.Claim(ctx, uuid, "key:k1", "", o.ValidFrom); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	read := storetest.FollowLog(t, s, 1+writers*perWriter*2+1, func() bool {
		wg.Wait()
		// Everything the writers committed waits behind the open transaction.
		if evs, err := s.EventsAfter(ctx, first, "", 0); err != nil || len(evs) != 0 {
			t.Errorf("with an older writer open: %d events after %d, %v", len(evs), first, err)
		}
		if last, err := s.LastEventID(ctx); err != nil || last != first {
			t.Errorf("with an older writer open: LastEventID = %d, %v; want %d", last, err, first)
		}
		if held, err := s.EventsHeldBack(ctx, first); err != nil || !held {
			t.Errorf("EventsHeldBack = %v, %v; want true", held, err)
		}
		if err := s.InsertOrderIn(ctx, tx, storetest.NewTestOrder("ev-late", "SPA")); err != nil {
			t.Error(err)
		}
		if err := tx.Commit(ctx); err != nil {
			t.Error(err)
		}
		return true
	})
	if read[0].Order.UUID != "ev-first" || read[1].Order.UUID != "ev-late" {
		t.Fatalf("read %s then %s, want ev-first then ev-late (committed last, id from xid %s)",
			read[0].Order.UUID, read[1].Order.UUID, xid)
	}
	if last, err := s.LastEventID(ctx); err != nil || last != read[len(read)-1].ID {
		t.Fatalf("LastEventID = %d, %v; want %d", last, err, read[len(read)-1].ID)
	}
}

// Only this database's transactions hold its events back: one that took
// its xid first on another database of the cluster and stays open (another
// gateway's tests, a report, a migration) can never write them, and the
// reader returns the events committed after it at once.
func TestEventsNotHeldBackByOtherDatabases(t *testing.T) {
	ctx := context.Background()
	s, elsewhere := newStore(t), newStore(t) // two databases, one cluster
	openXact(ctx, t, elsewhere.Pool())
	if err := s.InsertOrder(ctx, storetest.NewTestOrder("ev-here", "SPA"), nil); err != nil {
		t.Fatal(err)
	}
	evs, err := s.EventsAfter(ctx, 0, "", 0)
	if err != nil || len(evs) != 1 || evs[0].Order.UUID != "ev-here" {
		t.Fatalf("with another database's older writer open: EventsAfter = %v, %v; want ev-here's event", evs, err)
	}
	if last, err := s.LastEventID(ctx); err != nil || last != evs[0].ID {
		t.Fatalf("LastEventID = %d, %v; want %d", last, err, evs[0].ID)
	}
}

// A stream hears of a held-back event without a second notification: the
// only wake-up comes while the event is held back behind an older open
// transaction, and the hub reads again on its own until the event is out
// (the poll is an hour here).
func TestHubReadsHeldBackEventsWithoutWakeUp(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := newStore(t)
	hub, err := orderstream.New(ctx, orderstream.Config{Log: s, Buffer: 100, Poll: time.Hour,
		Render: func(e order.Event) ([]byte, error) { return []byte(e.Order.UUID), nil },
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	go hub.Run(ctx)
	sub, err := hub.Subscribe("", 0, false)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()

	tx, _ := openXact(ctx, t, s.Pool())
	if err := s.InsertOrder(ctx, storetest.NewTestOrder("ev-held", "SPA"), nil); err != nil {
		t.Fatal(err)
	}
	hub.Wake() // the one notification, while ev-held is held back
	if held, err := s.EventsHeldBack(ctx, 0); err != nil || !held {
		t.Fatalf("EventsHeldBack = %v, %v; want true", held, err)
	}
	if err := tx.Commit(ctx); err != nil { // releases ev-held; no wake-up follows
		t.Fatal(err)
	}
	select {
	case <-sub.Ready():
	case <-time.After(5 * time.Second):
		t.Fatal("the held-back event did not reach the stream")
	}
	if fs := sub.Take(); len(fs) != 1 || string(fs[0].Data) != "ev-held" {
		t.Fatalf("frames %+v", fs)
	}
}

// An order row deleted by hand takes its fixed fields with it: its events
// leave the log, and the events around them still read (they used to fail
// every read, stalling every stream behind them).
func TestEventsOfADeletedOrderLeaveTheLog(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	for _, uuid := range []string{"del-before", "del-gone", "del-after"} {
		if err := s.InsertOrder(ctx, storetest.NewTestOrder(uuid, "SPD"), nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Pool().Exec(ctx, `DELETE FROM orders WHERE uuid = 'del-gone'`); err != nil {
		t.Fatal(err)
	}
	storetest.Settle(t, s)
	for _, owner := range []string{"", "SPD"} {
		evs, err := s.EventsAfter(ctx, 0, owner, 100)
		if err != nil {
			t.Fatalf("EventsAfter(owner %q): %v", owner, err)
		}
		var got []string
		for _, e := range evs {
			if e.Order.Owner == "SPD" {
				got = append(got, string(e.Type)+" "+e.Order.UUID)
			}
		}
		want := []string{"created del-before", "created del-after"}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("owner %q: events %q, want %q", owner, got, want)
		}
	}
}

// openXact begins a transaction on pool that has taken its xid, so it holds
// back the events of its database until it ends, and returns it with the
// xid. The test's end rolls it back unless it was committed.
func openXact(ctx context.Context, t *testing.T, pool *pgxpool.Pool) (pgx.Tx, string) {
	t.Helper()
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tx.Rollback(context.Background()) })
	var xid string
	if err := tx.QueryRow(ctx, `SELECT pg_current_xact_id()::text`).Scan(&xid); err != nil {
		t.Fatal(err)
	}
	return tx, xid
}
