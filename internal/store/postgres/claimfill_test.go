package postgres_test

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stxgate/stxgate/internal/audit"
	"github.com/stxgate/stxgate/internal/order"
	"github.com/stxgate/stxgate/internal/store/postgres"
	"github.com/stxgate/stxgate/internal/store/storetest"
	"github.com/stxgate/stxgate/internal/testenv"
)

var _ order.ClaimFiller = (*postgres.Store)(nil)

// ClaimFill leaves exactly what Claim then Fill leave: the order, its two
// events (executing, then filled) and its audit row.
func TestClaimFillIsClaimThenFill(t *testing.T) {
	ctx := context.Background()
	pool := testenv.MigratedPool(t)
	s := postgres.New(pool)
	const owner = "SP10J81WVGVB3M4PHQN4Q4G0R8586TBJH948RESDR"
	const txid = "0x00000000000000000000000000000000000000000000000000000000000000aa"
	for _, u := range []string{"two-steps", "one-step"} {
		if err := s.InsertOrder(ctx, storetest.NewTestOrder(u, owner), nil); err != nil {
			t.Fatal(err)
		}
	}
	o := storetest.NewTestOrder("x", owner)
	claimedAt := o.ValidFrom.Add(time.Minute)
	filledAt := claimedAt.Add(1500 * time.Microsecond)
	ev := func() *audit.Event {
		return &audit.Event{At: filledAt, Wallet: owner, Event: audit.OrderExecuted, KeyID: "k1", Actor: "key:k1",
			ClientIP: "192.0.2.7", RequestID: "req-1", Details: map[string]any{"txid": txid, "settlement": "simulated"}}
	}

	if _, err := s.Claim(ctx, "two-steps", "key:k1", owner, claimedAt); err != nil {
		t.Fatal(err)
	}
	twoEv := ev()
	two, err := s.Fill(ctx, "two-steps", txid, "simulated", filledAt, twoEv)
	if err != nil {
		t.Fatal(err)
	}
	oneEv := ev()
	one, err := s.ClaimFill(ctx, "one-step", "key:k1", owner, claimedAt, txid, "simulated", filledAt, oneEv)
	if err != nil {
		t.Fatal(err)
	}
	if oneEv.Wallet != owner || oneEv.OrderUUID != "one-step" {
		t.Errorf("audit event completed as %+v", oneEv)
	}
	one.UUID = two.UUID
	if !reflect.DeepEqual(one, two) {
		t.Errorf("one step left\n%+v\ntwo steps left\n%+v", one, two)
	}
	if stored, err := s.OrderByUUID(ctx, "one-step"); err != nil || stored.Status != order.StatusFilled || stored.Attempts != 1 {
		t.Fatalf("stored %+v, %v", stored, err)
	}

	storetest.Settle(t, s)
	evs, err := s.EventsAfter(ctx, 0, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	byOrder := map[string][]order.Event{}
	for _, e := range evs {
		byOrder[e.Order.UUID] = append(byOrder[e.Order.UUID], e)
	}
	a, b := byOrder["two-steps"], byOrder["one-step"]
	if len(a) != 3 || len(b) != 3 {
		t.Fatalf("events: two steps %d, one step %d, want 3 each (created, executing, filled)", len(a), len(b))
	}
	for i := range a {
		if i > 0 && b[i].ID <= b[i-1].ID {
			t.Errorf("one step's event %d has id %d, not above %d", i, b[i].ID, b[i-1].ID)
		}
		b[i].Order.UUID = a[i].Order.UUID
		if a[i].Type != b[i].Type || !a[i].At.Equal(b[i].At) || !reflect.DeepEqual(a[i].Order, b[i].Order) {
			t.Errorf("event %d: two steps %s at %s %+v; one step %s at %s %+v", i,
				a[i].Type, a[i].At, a[i].Order, b[i].Type, b[i].At, b[i].Order)
		}
	}
	if b[1].Type != order.EventExecuting || b[1].Order.Status != order.StatusExecuting || b[1].Order.TxID != "" ||
		b[2].Type != order.EventFilled || b[2].Order.TxID != txid {
		t.Errorf("one step's events: %s %+v, %s %+v", b[1].Type, b[1].Order, b[2].Type, b[2].Order)
	}

	type row struct {
		At                                       time.Time
		Wallet, Event, Key, Actor, IP, Req, Data string
	}
	audited := func(uuid string) []row {
		rows, err := pool.Query(ctx, `SELECT at, wallet, event, key_id, actor, host(client_ip), request_id, details::text
			FROM audit_events WHERE order_uuid = $1 ORDER BY id`, uuid)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []row
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.At, &r.Wallet, &r.Event, &r.Key, &r.Actor, &r.IP, &r.Req, &r.Data); err != nil {
				t.Fatal(err)
			}
			out = append(out, r)
		}
		return out
	}
	if ra, rb := audited("two-steps"), audited("one-step"); len(ra) != 1 || !reflect.DeepEqual(ra, rb) {
		t.Errorf("audit rows: two steps %+v, one step %+v", ra, rb)
	}
}

// ClaimFill refuses as Claim does, and of concurrent ClaimFills of one
// order exactly one wins.
func TestClaimFillRefusesAndWinsOnce(t *testing.T) {
	ctx := context.Background()
	s := postgres.New(testenv.MigratedPool(t))
	const owner = "SP10J81WVGVB3M4PHQN4Q4G0R8586TBJH948RESDR"
	const txid = "0x00000000000000000000000000000000000000000000000000000000000000bb"
	o := storetest.NewTestOrder("race", owner)
	if err := s.InsertOrder(ctx, o, nil); err != nil {
		t.Fatal(err)
	}
	now := o.ValidFrom.Add(time.Minute)
	if _, err := s.ClaimFill(ctx, "missing", "key:k1", owner, now, txid, "simulated", now, nil); !errors.Is(err, order.ErrNotFound) {
		t.Errorf("missing order: %v, want ErrNotFound", err)
	}
	if _, err := s.ClaimFill(ctx, "race", "key:k1", "SP2J6ZY48GV1EZ5V2V5RB9MP66SW86PYKKNRV9EJ7", now, txid, "simulated", now, nil); !errors.Is(err, order.ErrNotOpen) {
		t.Errorf("another owner's order: %v, want ErrNotOpen", err)
	}
	if _, err := s.ClaimFill(ctx, "race", "key:k1", owner, o.ValidTo, txid, "simulated", o.ValidTo, nil); !errors.Is(err, order.ErrNotOpen) {
		t.Errorf("at validTo: %v, want ErrNotOpen", err)
	}
	var (
		won atomic.Int32
		wg  sync.WaitGroup
	)
	for range 8 {
		wg.Go(func() {
			_, err := s.ClaimFill(ctx, "race", "key:k1", owner, now, txid, "simulated", now, nil)
			switch {
			case err == nil:
				won.Add(1)
			case !errors.Is(err, order.ErrNotOpen):
				t.Errorf("claim and fill: %v", err)
			}
		})
	}
	wg.Wait()
	if won.Load() != 1 {
		t.Fatalf("%d of 8 concurrent claim-and-fills won, want 1", won.Load())
	}
	if got, err := s.OrderByUUID(ctx, "race"); err != nil || got.Status != order.StatusFilled || got.Attempts != 1 || got.TxID != txid {
		t.Fatalf("order after the race: %+v, %v", got, err)
	}
	if st := s.ClaimFillStats(); st.Splits != 0 {
		t.Errorf("claim-fill batches split: %+v", st)
	}
}
