package audit_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stxgate/stxgate/internal/audit"
	"github.com/stxgate/stxgate/internal/audit/audittest"
)

func TestMemoryConformance(t *testing.T) {
	audittest.Run(t, func(t *testing.T) audit.Store { return audit.NewMemory() })
}

type failing struct{}

func (failing) Append(context.Context, *audit.Event) error { return errors.New("disk on fire") }
func (failing) List(context.Context, audit.Query) ([]*audit.Event, error) {
	return nil, errors.New("disk on fire")
}

// Record stamps the request's origin and time; a failed write is logged at
// error level with the whole event (the backstop record), never dropped silently.
func TestTrailStampsOriginAndLogsFailures(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 123456789, time.UTC)
	ctx := audit.WithRequest(context.Background(), "203.0.113.7", "req-1")

	mem := audit.NewMemory()
	audit.NewTrail(mem, slog.New(slog.DiscardHandler), func() time.Time { return now }).
		Record(ctx, audit.Event{Wallet: "SPW", Event: audit.KeyRevoked, KeyID: "k1", Actor: "wallet:SPW"})
	got, _ := mem.List(ctx, audit.Query{Wallet: "SPW"})
	want := audit.Event{ID: 1, At: now.Truncate(time.Microsecond), Wallet: "SPW", Event: audit.KeyRevoked, KeyID: "k1",
		Actor: "wallet:SPW", ClientIP: "203.0.113.7", RequestID: "req-1", Details: map[string]any{}}
	if len(got) != 1 || got[0].At != want.At || got[0].ClientIP != want.ClientIP || got[0].RequestID != want.RequestID ||
		got[0].Event != want.Event || got[0].Actor != want.Actor {
		t.Fatalf("recorded %+v, want %+v", got, want)
	}

	var logs bytes.Buffer
	audit.NewTrail(failing{}, slog.New(slog.NewJSONHandler(&logs, nil)), func() time.Time { return now }).
		Record(ctx, audit.Event{Wallet: "SPW", Event: audit.OrderExecuted, OrderUUID: "o-1", Actor: "key:k1",
			Details: map[string]any{"txid": "0xabc"}})
	line := logs.String()
	for _, part := range []string{`"level":"ERROR"`, `"msg":"AUDIT EVENT NOT RECORDED`, `"audit_event":"order.executed"`,
		`"audit_order_uuid":"o-1"`, `"audit_actor":"key:k1"`, `"audit_client_ip":"203.0.113.7"`,
		`"audit_request_id":"req-1"`, `"audit_details":"{\"txid\":\"0xabc\"}"`, `"error":"disk on fire"`} {
		if !strings.Contains(line, part) {
			t.Fatalf("log line lacks %s:\n%s", part, line)
		}
	}
}
