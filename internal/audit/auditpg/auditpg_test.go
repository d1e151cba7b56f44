package auditpg_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/stxgate/stxgate/internal/audit"
	"github.com/stxgate/stxgate/internal/audit/auditpg"
	"github.com/stxgate/stxgate/internal/audit/audittest"
	"github.com/stxgate/stxgate/internal/testenv"
)

func newPool(t *testing.T) *pgxpool.Pool { return testenv.MigratedPool(t) }

func TestConformance(t *testing.T) {
	audittest.Run(t, func(t *testing.T) audit.Store { return auditpg.New(newPool(t)) })
}

// The table is append-only in the database itself: whoever runs the statement.
func TestUpdateDeleteTruncateRefused(t *testing.T) {
	ctx := context.Background()
	pool := newPool(t)
	s := auditpg.New(pool)
	e := &audit.Event{At: time.Now(), Wallet: "SPW", Event: audit.KeyCreated, KeyID: "k1", Actor: "wallet:SPW"}
	if err := s.Append(ctx, e); err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{
		`UPDATE audit_events SET actor = 'someone else'`,
		`UPDATE audit_events SET details = '{}' WHERE id = 1`,
		`DELETE FROM audit_events`,
		`DELETE FROM audit_events WHERE id = 1`,
		`TRUNCATE audit_events`,
	} {
		_, err := pool.Exec(ctx, stmt)
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "42501" {
			t.Fatalf("%s: got %v, want SQLSTATE 42501 (append-only)", stmt, err)
		}
	}
	got, err := s.List(ctx, audit.Query{Wallet: "SPW"})
	if err != nil || len(got) != 1 || got[0].Actor != "wallet:SPW" {
		t.Fatalf("after refused statements: %v %+v", err, got)
	}
}

// Unknown event names and events about nothing are refused by the table.
func TestConstraints(t *testing.T) {
	ctx := context.Background()
	s := auditpg.New(newPool(t))
	for name, e := range map[string]*audit.Event{
		"UnknownEvent": {At: time.Now(), Wallet: "SPW", Event: "key.deleted", KeyID: "k1", Actor: "operator"},
		"NoSubject":    {At: time.Now(), Wallet: "SPW", Event: audit.KeyCreated, Actor: "operator"},
		"NoWallet":     {At: time.Now(), Event: audit.KeyCreated, KeyID: "k1", Actor: "operator"},
		"BadIP":        {At: time.Now(), Wallet: "SPW", Event: audit.KeyCreated, KeyID: "k1", Actor: "operator", ClientIP: "not-an-ip"},
	} {
		if err := s.Append(ctx, e); err == nil {
			t.Fatalf("%s: accepted", name)
		}
	}
}

// Concurrent appends are written in shared batches; a refused event among
// them fails alone, and every other event is stored once with its own id.
func TestConcurrentAppendsBatchedBadEventFailsAlone(t *testing.T) {
	ctx := context.Background()
	s := auditpg.New(newPool(t))
	const n = 200
	events := make([]*audit.Event, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		events[i] = &audit.Event{At: time.Now(), Wallet: "SPW", Event: audit.OrderExecuted,
			OrderUUID: fmt.Sprintf("o-%03d", i), Actor: "key:k1", ClientIP: "203.0.113.7",
			RequestID: fmt.Sprintf("req-%03d", i), Details: map[string]any{"n": i}}
		if i%50 == 7 {
			events[i].ClientIP = "not-an-ip"
		}
		wg.Go(func() { errs[i] = s.Append(ctx, events[i]) })
	}
	wg.Wait()
	byID := map[int64]*audit.Event{}
	for i, e := range events {
		switch bad := i%50 == 7; {
		case bad && errs[i] == nil:
			t.Errorf("event %d with a malformed client address was accepted", i)
		case !bad && errs[i] != nil:
			t.Errorf("event %d: %v", i, errs[i])
		case !bad:
			if byID[e.ID] != nil {
				t.Fatalf("events %s and %s got the same id %d", byID[e.ID].OrderUUID, e.OrderUUID, e.ID)
			}
			byID[e.ID] = e
		}
	}
	stored, err := s.List(ctx, audit.Query{Wallet: "SPW"})
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) != len(byID) {
		t.Fatalf("%d events stored, want %d", len(stored), len(byID))
	}
	for _, got := range stored {
		want := byID[got.ID]
		if want == nil || got.OrderUUID != want.OrderUUID || got.RequestID != want.RequestID ||
			got.Details["n"] != float64(want.Details["n"].(int)) {
			t.Fatalf("stored event %d (%s, %s, %v) is not the one its Append was given", got.ID, got.OrderUUID, got.RequestID, got.Details)
		}
	}
}
