package audit_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/stxgate/stxgate/internal/audit"
	"github.com/stxgate/stxgate/internal/audit/audittest"
)

func TestMemoryConformance(t *testing.T) {
	audittest.Run(t, func(t *testing.T) audit.Store { return audit.NewMemory() })
}

// Prepare stamps the request's origin and the time (microseconds, UTC); the
// store then writes the event with its change.
func TestTrailPreparesEvents(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 123456789, time.UTC)
	ctx := audit.WithRequest(context.Background(), "203.0.113.7", "req-1")
	got := audit.NewTrail(func() time.Time { return now }).
		Prepare(ctx, audit.Event{Wallet: "SPW", Event: audit.KeyRevoked, KeyID: "k1", Actor: "wallet:SPW"})
	want := audit.Event{At: now.Truncate(time.Microsecond), Wallet: "SPW", Event: audit.KeyRevoked, KeyID: "k1",
		Actor: "wallet:SPW", ClientIP: "203.0.113.7", RequestID: "req-1"}
	if !reflect.DeepEqual(*got, want) {
		t.Fatalf("prepared %+v, want %+v", *got, want)
	}
	if err := audit.Check(got); err != nil {
		t.Fatalf("check: %v", err)
	}
	for _, tc := range []struct {
		name string
		bad  func(e *audit.Event)
		want string
	}{
		{"NoWallet", func(e *audit.Event) { e.Wallet = "" }, "audit event without a wallet"},
		{"NoActor", func(e *audit.Event) { e.Actor = "" }, "audit event without an actor"},
		{"UnknownEvent", func(e *audit.Event) { e.Event = "key.deleted" }, `unknown audit event "key.deleted"`},
		{"NoSubject", func(e *audit.Event) { e.KeyID = "" }, "audit event without a key or an order"},
	} {
		e := *got
		tc.bad(&e)
		if err := audit.Check(&e); err == nil || err.Error() != tc.want {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}
