package settlement_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stxgate/stxgate/internal/order"
	"github.com/stxgate/stxgate/internal/settlement"
	"github.com/stxgate/stxgate/internal/syncbuf"
)

var txidPattern = regexp.MustCompile(`^0x[0-9a-f]{64}$`)

const testSignature = "7d1c4ed5a4c1e3f0b3c5a7b3c5a7b3c5a7b3c5a7b3c5a7b3c5a7b3c5a7b3c5a7" +
	"3c5a7b3c5a7b3c5a7b3c5a7b3c5a7b3c5a7b3c5a7b3c5a7b3c5a7b3c5a7b3c5a01"

func testOrder(uuid string) *order.Order {
	return &order.Order{
		UUID:           uuid,
		Owner:          "SP2J6ZY48GV1EZ5V2V5RB9MP66SW86PYKKNRV9EJ7",
		InputToken:     "SP3K8BC0PPEVCV7NZ6QSRWPQ2JE9E5B6N3PA0KBR9.token-wstx",
		OutputToken:    "SP2C2YFP12AJZB4MABJBAJ55XECVS7E4PMMZ89YZR.usda-token",
		AmountIn:       "340282366920938463463374607431768211455",
		TargetPrice:    "0.30",
		Direction:      "gt",
		ConditionToken: "SP2C2YFP12AJZB4MABJBAJ55XECVS7E4PMMZ89YZR.usda-token",
		Recipient:      "SP3FBR2AGK5H9QBDH3EEN6DF8EK8JY7RX8QJ5SVTE",
		Signature:      testSignature,
		ValidFrom:      time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC),
		ValidTo:        time.Date(2026, 1, 2, 4, 30, 0, 500_000_000, time.UTC),
		Status:         order.StatusExecuting,
	}
}

func newLogger() (*slog.Logger, *syncbuf.Buffer) {
	buf := &syncbuf.Buffer{}
	return slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}

func TestSimulatedName(t *testing.T) {
	if got := settlement.NewSimulated(nil).Name(); got != "simulated" {
		t.Fatalf("Name() = %q, want simulated", got)
	}
}

func TestSimulatedTxIDIsDeterministic(t *testing.T) {
	const uuid = "order-0001"
	sum := sha256.Sum256([]byte("stxgate-simulated-settlement:" + uuid))
	want := "0x" + hex.EncodeToString(sum[:])

	for i := range 2 { // two separate instances agree
		s := settlement.NewSimulated(nil)
		got, err := s.Settle(context.Background(), testOrder(uuid))
		if err != nil {
			t.Fatalf("instance %d: %v", i, err)
		}
		if got != want {
			t.Fatalf("instance %d: txid %s, want %s", i, got, want)
		}
	}
	if !txidPattern.MatchString(want) {
		t.Fatalf("txid %s is not 0x + 64 lower-case hex", want)
	}
	if got := settlement.SimulatedTxID(uuid); got != want {
		t.Fatalf("SimulatedTxID = %s, want %s", got, want)
	}
	if other := settlement.SimulatedTxID("order-0002"); other == want {
		t.Fatal("two uuids share a txid")
	}
}

func TestSimulatedIdempotentUnderConcurrency(t *testing.T) {
	s := settlement.NewSimulated(nil)
	o := testOrder("concurrent-1")
	const n = 100
	txids := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			txid, err := s.Settle(context.Background(), o)
			if err != nil {
				t.Errorf("call %d: %v", i, err)
			}
			txids[i] = txid
		})
	}
	wg.Wait()
	for i, txid := range txids {
		if txid != settlement.SimulatedTxID(o.UUID) {
			t.Fatalf("call %d: txid %q, want %q", i, txid, settlement.SimulatedTxID(o.UUID))
		}
	}
}

// The simulated settlement keeps nothing per order: 100,000 settlements leave
// the heap where it was (it once kept three maps keyed by uuid, ≈430 bytes per
// order, that never shrank).
func TestSimulatedKeepsNoStatePerOrder(t *testing.T) {
	s := settlement.NewSimulated(nil)
	o := testOrder("")
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	before := heap()
	const n = 100_000
	for i := range n {
		o.UUID = "flat-" + strconv.Itoa(i)
		if _, err := s.Settle(context.Background(), o); err != nil {
			t.Fatal(err)
		}
	}
	after := heap()
	runtime.KeepAlive(s) // measured while s is still reachable
	if after > before && after-before > 4<<20 {
		t.Fatalf("heap grew by %d bytes over %d settlements (%d per order)", after-before, n, (after-before)/n)
	}
}

func TestSimulatedCancelledContextSettlesNothing(t *testing.T) {
	s := settlement.NewSimulated(nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := s.Settle(ctx, testOrder("cancelled-ctx"))
	if !errors.Is(err, settlement.ErrOutcomeUnknown) || !errors.Is(err, context.Canceled) || errors.Is(err, order.ErrSettlementRejected) {
		t.Fatalf("got %v, want an unknown outcome caused by context.Canceled", err)
	}
}

func TestSimulatedLogsWarnWithoutSignature(t *testing.T) {
	log, buf := newLogger()
	s := settlement.NewSimulated(log)
	o := testOrder("logged-1")
	for range 2 {
		if _, err := s.Settle(context.Background(), o); err != nil {
			t.Fatal(err)
		}
	}
	out := buf.String()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 log lines, got %d:\n%s", len(lines), out)
	}
	first := lines[0]
	for _, want := range []string{`"level":"WARN"`, "SIMULATED", `"uuid":"logged-1"`, `"txid":"` + settlement.SimulatedTxID(o.UUID) + `"`} {
		if !strings.Contains(first, want) {
			t.Errorf("settlement log line lacks %s:\n%s", want, first)
		}
	}
	if !strings.Contains(lines[1], "SIMULATED") || !strings.Contains(lines[1], `"uuid":"logged-1"`) {
		t.Errorf("repeat log line: %s", lines[1])
	}
	if strings.Contains(out, o.Signature) || strings.Contains(out, o.Signature[:32]) {
		t.Fatalf("the order signature reached the log:\n%s", out)
	}
}
