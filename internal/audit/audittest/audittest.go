// Package audittest is the conformance suite of audit stores: the memory
// store and PostgreSQL run the very same tests.
package audittest

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/stxgate/stxgate/internal/audit"
)

// NewStore returns an empty store for one test.
type NewStore func(t *testing.T) audit.Store

var base = time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC)

const (
	walletA = "SP2J6ZY48GV1EZ5V2V5RB9MP66SW86PYKKNRV9EJ7"
	walletB = "SP3FBR2AGK5H9QBDH3EEN6DF8EK8JY7RX8QJ5SVTE"
)

func keyEvent(n int, wallet, keyID, name string) *audit.Event {
	return &audit.Event{
		At: base.Add(time.Duration(n) * time.Second), Wallet: wallet, Event: name, KeyID: keyID,
		Actor: "wallet:" + wallet, ClientIP: "203.0.113.7", RequestID: fmt.Sprintf("req-%d", n),
		Details: map[string]any{"name": "bot", "permissions": []string{"execute"}},
	}
}

// Run runs the suite.
func Run(t *testing.T, newStore NewStore) {
	ctx := context.Background()

	t.Run("AppendAndReadBackExactly", func(t *testing.T) {
		s := newStore(t)
		in := []*audit.Event{
			keyEvent(0, walletA, "k1", audit.KeyCreated),
			{At: base.Add(time.Second), Wallet: walletA, Event: audit.OrderExecuted, KeyID: "k1", OrderUUID: "o-1",
				Actor: "key:k1", ClientIP: "2001:db8::7", RequestID: "req-x",
				Details: map[string]any{"txid": "0x" + fmt.Sprintf("%064x", 1), "amountIn": "1000000"}},
			{At: base.Add(2 * time.Second), Wallet: walletA, Event: audit.KeySuspended, KeyID: "k1",
				Actor: audit.ActorOperator}, // no request origin, no details
		}
		for _, e := range in {
			if err := s.Append(ctx, e); err != nil {
				t.Fatalf("append: %v", err)
			}
		}
		if !(in[0].ID > 0 && in[1].ID > in[0].ID && in[2].ID > in[1].ID) {
			t.Fatalf("ids not increasing: %d %d %d", in[0].ID, in[1].ID, in[2].ID)
		}
		got, err := s.List(ctx, audit.Query{Wallet: walletA})
		if err != nil {
			t.Fatal(err)
		}
		want := []audit.Event{*in[2], *in[1], *in[0]}
		want[0].Details = map[string]any{}
		want[2].Details = map[string]any{"name": "bot", "permissions": []any{"execute"}} // JSON's form
		if len(got) != len(want) {
			t.Fatalf("got %d events, want %d", len(got), len(want))
		}
		for i := range want {
			if !reflect.DeepEqual(*got[i], want[i]) {
				t.Fatalf("event %d:\n got %+v\nwant %+v", i, *got[i], want[i])
			}
		}
	})

	t.Run("OnlyTheWalletsOwnEvents", func(t *testing.T) {
		s := newStore(t)
		for i, e := range []*audit.Event{
			keyEvent(0, walletA, "ka", audit.KeyCreated),
			keyEvent(1, walletB, "kb", audit.KeyCreated),
			keyEvent(2, walletB, "ka", audit.KeyUpdated), // same key id, other wallet: never A's
		} {
			if err := s.Append(ctx, e); err != nil {
				t.Fatalf("append %d: %v", i, err)
			}
		}
		for _, tc := range []struct {
			q    audit.Query
			want []string
		}{
			{audit.Query{Wallet: walletA}, []string{"ka " + audit.KeyCreated}},
			{audit.Query{Wallet: walletA, KeyID: "ka"}, []string{"ka " + audit.KeyCreated}},
			{audit.Query{Wallet: walletA, KeyID: "kb"}, nil},
			{audit.Query{Wallet: walletB}, []string{"ka " + audit.KeyUpdated, "kb " + audit.KeyCreated}},
			{audit.Query{Wallet: "SPNOBODY"}, nil},
		} {
			got, err := s.List(ctx, tc.q)
			if err != nil {
				t.Fatal(err)
			}
			if names := summary(got); !reflect.DeepEqual(names, tc.want) {
				t.Fatalf("%+v: got %v, want %v", tc.q, names, tc.want)
			}
		}
	})

	t.Run("PagesNewestFirstByCursor", func(t *testing.T) {
		s := newStore(t)
		var ids []int64
		for i := range 7 {
			key := "k1"
			if i%2 == 1 {
				key = "k2"
			}
			e := keyEvent(i, walletA, key, audit.KeyUpdated)
			if err := s.Append(ctx, e); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, e.ID)
		}
		var seen []int64
		var before int64
		for page := 0; ; page++ {
			got, err := s.List(ctx, audit.Query{Wallet: walletA, Limit: 3, BeforeID: before})
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range got {
				seen = append(seen, e.ID)
			}
			if len(got) < 3 {
				break
			}
			before = got[len(got)-1].ID
			if page > 5 {
				t.Fatal("pagination does not end")
			}
		}
		want := []int64{ids[6], ids[5], ids[4], ids[3], ids[2], ids[1], ids[0]}
		if !reflect.DeepEqual(seen, want) {
			t.Fatalf("pages gave %v, want %v", seen, want)
		}
		got, err := s.List(ctx, audit.Query{Wallet: walletA, KeyID: "k2", Limit: 2, BeforeID: ids[5]})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].ID != ids[3] || got[1].ID != ids[1] {
			t.Fatalf("k2 before %d: %v", ids[5], summary(got))
		}
	})

	t.Run("ConcurrentAppendsAllKeptWithDistinctIDs", func(t *testing.T) {
		s := newStore(t)
		var wg sync.WaitGroup
		errs := make(chan error, 50)
		for i := range 50 {
			wg.Go(func() { errs <- s.Append(ctx, keyEvent(i, walletA, "k", audit.KeyUpdated)) })
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.List(ctx, audit.Query{Wallet: walletA})
		if err != nil {
			t.Fatal(err)
		}
		seen := map[int64]bool{}
		for i, e := range got {
			if seen[e.ID] || (i > 0 && e.ID >= got[i-1].ID) {
				t.Fatalf("ids not distinct and decreasing at %d", i)
			}
			seen[e.ID] = true
		}
		if len(got) != 50 {
			t.Fatalf("kept %d of 50 events", len(got))
		}
	})

	t.Run("ReadsAreCopies", func(t *testing.T) {
		s := newStore(t)
		if err := s.Append(ctx, keyEvent(0, walletA, "k", audit.KeyCreated)); err != nil {
			t.Fatal(err)
		}
		got, _ := s.List(ctx, audit.Query{Wallet: walletA})
		got[0].Event, got[0].Details["name"] = "tampered", "tampered"
		again, _ := s.List(ctx, audit.Query{Wallet: walletA})
		if again[0].Event != audit.KeyCreated || again[0].Details["name"] != "bot" {
			t.Fatalf("a read changed the trail: %+v", again[0])
		}
	})
}

func summary(es []*audit.Event) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.KeyID+" "+e.Event)
	}
	return out
}
