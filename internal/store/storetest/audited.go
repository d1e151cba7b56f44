package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/stxgate/stxgate/internal/apikey"
	"github.com/stxgate/stxgate/internal/audit"
	"github.com/stxgate/stxgate/internal/order"
)

// Stores are a key store, an order store and the audit trail they write
// their events to, on one backend.
type Stores struct {
	Keys   apikey.Store
	Orders order.Store
	Trail  audit.Store
}

// NewStores returns empty stores for one test.
type NewStores func(t *testing.T) Stores

// RunAudited checks that every audited change writes its event in its own
// transaction (issue 13 item 11): the event is readable with the change,
// completed with the row's wallet and subject; an event the trail refuses
// fails the change, which is then not stored either — nothing is ever kept
// half-written.
func RunAudited(t *testing.T, newStores NewStores) {
	ctx := context.Background()
	at := base.Add(time.Minute)
	ev := func(name, actor string) *audit.Event {
		return &audit.Event{At: at, Event: name, Actor: actor, ClientIP: "203.0.113.7", RequestID: "req-1",
			Details: map[string]any{"n": 1}}
	}
	trailOf := func(t *testing.T, s Stores, wallet string) []string {
		t.Helper()
		evs, err := s.Trail.List(ctx, audit.Query{Wallet: wallet})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for i := len(evs) - 1; i >= 0; i-- { // oldest first
			e := evs[i]
			out = append(out, e.Event+" key="+e.KeyID+" order="+e.OrderUUID+" by "+e.Actor+" from "+e.ClientIP+" "+e.RequestID)
		}
		return out
	}
	expectTrail := func(t *testing.T, got []string, want ...string) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("trail %q, want %q", got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("trail %q, want %q", got, want)
			}
		}
	}

	t.Run("KeyChangesWriteTheirEvents", func(t *testing.T) {
		s := newStores(t)
		mustInsertKey(t, s.Keys, newKey("ak1", "SPAUD", base), 25, ev(audit.KeyCreated, "wallet:SPAUD"))
		if _, err := s.Keys.UpdateKey(ctx, "ak1", func(k *apikey.Key) error { k.Status = apikey.StatusRevoked; return nil },
			ev(audit.KeyRevoked, "wallet:SPAUD")); err != nil {
			t.Fatal(err)
		}
		expectTrail(t, trailOf(t, s, "SPAUD"),
			"key.created key=ak1 order= by wallet:SPAUD from 203.0.113.7 req-1",
			"key.revoked key=ak1 order= by wallet:SPAUD from 203.0.113.7 req-1")
	})

	t.Run("RefusedKeyEventStoresNoChange", func(t *testing.T) {
		s := newStores(t)
		if err := s.Keys.InsertKey(ctx, newKey("ak2", "SPAUD", base), 25, ev(audit.KeyCreated, "")); err == nil {
			t.Fatal("insert with an event without actor succeeded")
		}
		if _, err := s.Keys.KeyByID(ctx, "ak2"); err != apikey.ErrNotFound {
			t.Fatalf("key stored without its event: %v", err)
		}
		mustInsertKey(t, s.Keys, newKey("ak3", "SPAUD", base), 25, nil)
		if _, err := s.Keys.UpdateKey(ctx, "ak3", func(k *apikey.Key) error { k.Name = "changed"; return nil },
			ev("key.deleted", "wallet:SPAUD")); err == nil {
			t.Fatal("update with an unknown event succeeded")
		}
		if k, err := s.Keys.KeyByID(ctx, "ak3"); err != nil || k.Name != "key ak3" {
			t.Fatalf("update stored without its event: %+v, %v", k, err)
		}
		expectTrail(t, trailOf(t, s, "SPAUD"))
	})

	t.Run("RotationWritesBothEvents", func(t *testing.T) {
		s := newStores(t)
		mustInsertKey(t, s.Keys, newKey("ar1", "SPAUD", base), 25, nil)
		if _, err := s.Keys.RotateKey(ctx, "ar1", successor("ar2", at), inherit(nil, at),
			ev(audit.KeyRotated, "wallet:SPAUD"), ev(audit.KeyCreated, "wallet:SPAUD")); err != nil {
			t.Fatal(err)
		}
		expectTrail(t, trailOf(t, s, "SPAUD"),
			"key.rotated key=ar1 order= by wallet:SPAUD from 203.0.113.7 req-1",
			"key.created key=ar2 order= by wallet:SPAUD from 203.0.113.7 req-1")
	})

	t.Run("RefusedRotationEventStoresNothing", func(t *testing.T) {
		s := newStores(t)
		k := newKey("ar3", "SPAUD", base)
		mustInsertKey(t, s.Keys, k, 25, nil)
		for name, evs := range map[string][2]*audit.Event{
			"RotatedEventRefused": {ev(audit.KeyRotated, ""), ev(audit.KeyCreated, "wallet:SPAUD")},
			"CreatedEventRefused": {ev(audit.KeyRotated, "wallet:SPAUD"), ev("key.born", "wallet:SPAUD")},
		} {
			if _, err := s.Keys.RotateKey(ctx, "ar3", successor("ar4", at), inherit(nil, at), evs[0], evs[1]); err == nil {
				t.Fatalf("%s: rotation succeeded", name)
			}
			if got, err := s.Keys.KeyByID(ctx, "ar3"); err != nil || describe(got) != describe(k) {
				t.Fatalf("%s: old key changed without its events: %+v, %v", name, got, err)
			}
			if _, err := s.Keys.KeyByID(ctx, "ar4"); err != apikey.ErrNotFound {
				t.Fatalf("%s: new key stored without its events: %v", name, err)
			}
		}
		expectTrail(t, trailOf(t, s, "SPAUD"))
	})

	t.Run("OrderChangesWriteTheirEvents", func(t *testing.T) {
		s := newStores(t)
		for _, id := range []string{"ao-1", "ao-2"} {
			if err := s.Orders.InsertOrder(ctx, newTestOrder(id, "SPAUD", base), ev(audit.OrderCreated, "key:k1")); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.Orders.Cancel(ctx, "ao-1", "key:k1", "", base, ev(audit.OrderCancelled, "key:k1")); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Orders.Claim(ctx, "ao-2", "key:k1", "SPAUD", base); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Orders.Fill(ctx, "ao-2", txidOf(1), "relayer", base, ev(audit.OrderExecuted, "key:k1")); err != nil {
			t.Fatal(err)
		}
		expectTrail(t, trailOf(t, s, "SPAUD"),
			"order.created key= order=ao-1 by key:k1 from 203.0.113.7 req-1",
			"order.created key= order=ao-2 by key:k1 from 203.0.113.7 req-1",
			"order.cancelled key= order=ao-1 by key:k1 from 203.0.113.7 req-1",
			"order.executed key= order=ao-2 by key:k1 from 203.0.113.7 req-1")
	})

	t.Run("RefusedOrderEventStoresNoChange", func(t *testing.T) {
		s := newStores(t)
		if err := s.Orders.InsertOrder(ctx, newTestOrder("ao-3", "SPAUD", base), ev(audit.OrderCreated, "")); err == nil {
			t.Fatal("insert with an event without actor succeeded")
		}
		if _, err := s.Orders.OrderByUUID(ctx, "ao-3"); err != order.ErrNotFound {
			t.Fatalf("order stored without its event: %v", err)
		}
		if err := s.Orders.InsertOrder(ctx, newTestOrder("ao-4", "SPAUD", base), nil); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Orders.Cancel(ctx, "ao-4", "key:k1", "", base, ev(audit.OrderCancelled, "")); err == nil {
			t.Fatal("cancel with an event without actor succeeded")
		}
		if _, err := s.Orders.Claim(ctx, "ao-4", "key:k1", "", base); err != nil {
			t.Fatalf("claim after the refused cancel: %v (the cancel must not be stored)", err)
		}
		if _, err := s.Orders.Fill(ctx, "ao-4", txidOf(2), "relayer", base, ev("order.deleted", "key:k1")); err == nil {
			t.Fatal("fill with an unknown event succeeded")
		}
		if o, err := s.Orders.OrderByUUID(ctx, "ao-4"); err != nil || o.Status != order.StatusExecuting {
			t.Fatalf("fill stored without its event: %+v, %v", o, err)
		}
		expectTrail(t, trailOf(t, s, "SPAUD"))
	})

	// A settlement that confirms on chain later (stacks): the broadcast, the
	// fill and an abort's reopening each write their event with the change.
	t.Run("OnChainSettlementWritesItsEvents", func(t *testing.T) {
		s := newStores(t)
		for _, id := range []string{"ac-1", "ac-2"} {
			if err := s.Orders.InsertOrder(ctx, newTestOrder(id, "SPAUD", base), nil); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Orders.Claim(ctx, id, "key:k1", "", base); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Orders.Submit(ctx, id, txidOf(1), "stacks", base, ev(audit.OrderExecuted, "key:k1")); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.Orders.Confirm(ctx, "ac-1", txidOf(1), 7, base, ev(audit.OrderFilled, "key:k1")); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Orders.Reopen(ctx, "ac-2", "aborted", base, ev(audit.OrderReopened, "key:k1")); err != nil {
			t.Fatal(err)
		}
		expectTrail(t, trailOf(t, s, "SPAUD"),
			"order.executed key= order=ac-1 by key:k1 from 203.0.113.7 req-1",
			"order.executed key= order=ac-2 by key:k1 from 203.0.113.7 req-1",
			"order.filled key= order=ac-1 by key:k1 from 203.0.113.7 req-1",
			"order.reopened key= order=ac-2 by key:k1 from 203.0.113.7 req-1")
	})

	t.Run("RefusedOnChainEventStoresNoChange", func(t *testing.T) {
		s := newStores(t)
		if err := s.Orders.InsertOrder(ctx, newTestOrder("ac-3", "SPAUD", base), nil); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Orders.Claim(ctx, "ac-3", "key:k1", "", base); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Orders.Submit(ctx, "ac-3", txidOf(1), "stacks", base, ev(audit.OrderExecuted, "")); err == nil {
			t.Fatal("submit with an event without actor succeeded")
		}
		if o, err := s.Orders.OrderByUUID(ctx, "ac-3"); err != nil || o.Status != order.StatusExecuting {
			t.Fatalf("submit stored without its event: %+v, %v", o, err)
		}
		if _, err := s.Orders.Submit(ctx, "ac-3", txidOf(1), "stacks", base, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Orders.Confirm(ctx, "ac-3", txidOf(1), 7, base, ev("order.mined", "key:k1")); err == nil {
			t.Fatal("confirm with an unknown event succeeded")
		}
		if _, err := s.Orders.Reopen(ctx, "ac-3", "aborted", base, ev(audit.OrderReopened, "")); err == nil {
			t.Fatal("reopen with an event without actor succeeded")
		}
		if o, err := s.Orders.OrderByUUID(ctx, "ac-3"); err != nil || o.Status != order.StatusSubmitted {
			t.Fatalf("confirm or reopen stored without its event: %+v, %v", o, err)
		}
		expectTrail(t, trailOf(t, s, "SPAUD"))
	})
}
