package orderstream_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/stxgate/stxgate/internal/order"
	"github.com/stxgate/stxgate/internal/orderstream"
	"github.com/stxgate/stxgate/internal/store/memory"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var t0 = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

func newOrder(uuid, owner string) *order.Order {
	return &order.Order{UUID: uuid, Owner: owner, InputToken: "a", OutputToken: "b", AmountIn: "1", TargetPrice: "1",
		Direction: "gt", ConditionToken: "a", Recipient: owner, Signature: "sig", Status: order.StatusOpen, CreatedBy: "test",
		ValidFrom: t0.Add(-time.Hour), ValidTo: t0.Add(time.Hour), CreatedAt: t0, UpdatedAt: t0}
}

func render(e order.Event) ([]byte, error) {
	return fmt.Appendf(nil, "%d %s %s", e.ID, e.Type, e.Order.UUID), nil
}

// start runs a hub over an in-memory store, woken by the store itself.
func start(t *testing.T, buffer int) (*orderstream.Hub, *memory.Orders) {
	t.Helper()
	store := memory.NewOrders()
	h, err := orderstream.New(context.Background(), orderstream.Config{
		Log: store, Render: render, Buffer: buffer, Poll: time.Hour, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	store.OnEvent(h.Wake)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); h.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return h, store
}

func insert(t *testing.T, s *memory.Orders, uuid, owner string) {
	t.Helper()
	if err := s.InsertOrder(context.Background(), newOrder(uuid, owner), nil); err != nil {
		t.Fatal(err)
	}
}

// queues holds frames taken from a subscriber but not yet checked.
var queues = map[*orderstream.Sub][]*orderstream.Frame{}

func recv(t *testing.T, sub *orderstream.Sub) string {
	t.Helper()
	for len(queues[sub]) == 0 {
		select {
		case <-sub.Ready():
			queues[sub] = append(queues[sub], sub.Take()...)
		case <-time.After(5 * time.Second):
			t.Fatal("no frame within 5s")
		}
	}
	f := queues[sub][0]
	queues[sub] = queues[sub][1:]
	return string(f.Data)
}

// A subscriber that does not keep up is dropped once its buffer is full —
// the hub neither waits for it nor keeps more than its buffer — while one
// that keeps up gets every event once, in order; owner filters hold.
func TestSlowSubscriberIsDropped(t *testing.T) {
	h, store := start(t, 2)
	slow, err := h.Subscribe("", 0, false)
	if err != nil {
		t.Fatal(err)
	}
	fast, _ := h.Subscribe("", 0, false)
	onlyB, _ := h.Subscribe("SPB", 0, false)
	defer fast.Close()
	defer onlyB.Close()
	if n := h.Subscribers(); n != 3 {
		t.Fatalf("%d subscribers", n)
	}
	for i := range 4 {
		insert(t, store, fmt.Sprintf("o%d", i), []string{"SPA", "SPB"}[i%2])
		if got, want := recv(t, fast), fmt.Sprintf("%d created o%d", i+1, i); got != want {
			t.Fatalf("fast got %q, want %q", got, want)
		}
	}
	select {
	case <-slow.Gone():
	case <-time.After(5 * time.Second):
		t.Fatal("the slow subscriber was not dropped")
	}
	if err := slow.Why(); err == nil || !strings.Contains(err.Error(), "too slow") {
		t.Fatalf("dropped because %v", err)
	}
	if n := h.Subscribers(); n != 2 {
		t.Fatalf("%d subscribers after the drop, want 2", n)
	}
	if n := slow.Pending(); n != 0 {
		t.Fatalf("the dropped subscriber still holds %d frames", n)
	}
	for _, want := range []string{"2 created o1", "4 created o3"} {
		if got := recv(t, onlyB); got != want {
			t.Fatalf("owner stream got %q, want %q", got, want)
		}
	}
}

// Replay sends, from the log, what came after the client's id up to where
// live delivery begins; live frames then continue without a gap or repeat.
func TestReplayJoinsLive(t *testing.T) {
	h, store := start(t, 16)
	for i := range 3 {
		insert(t, store, fmt.Sprintf("r%d", i), "SPA")
	}
	waitPosition(t, h, store, 3)
	sub, err := h.Subscribe("SPA", 1, true)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	insert(t, store, "r3", "SPA")
	var got []string
	if err := sub.Replay(context.Background(), func(f *orderstream.Frame) error {
		if sub.Sent(f) {
			got = append(got, string(f.Data))
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	<-sub.Ready()
	for _, f := range sub.Take() {
		if sub.Sent(f) {
			got = append(got, string(f.Data))
		}
	}
	if fmt.Sprint(got) != "[2 created r1 3 created r2 4 created r3]" {
		t.Fatalf("stream %v", got)
	}
}

// waitPosition waits until the hub has handed out event id n (a registered
// subscriber then starts after it).
func waitPosition(t *testing.T, h *orderstream.Hub, _ *memory.Orders, n int64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		probe, err := h.Subscribe("", 0, false)
		if err != nil {
			t.Fatal(err)
		}
		caughtUp := !probe.Sent(&orderstream.Frame{ID: n}) // the probe starts at the hub's position
		probe.Close()
		if caughtUp {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("hub never reached event %d", n)
		}
		time.Sleep(5 * time.Millisecond) // polling a condition
	}
}

// Close ends every stream and refuses new ones.
func TestCloseEndsStreams(t *testing.T) {
	h, _ := start(t, 4)
	sub, _ := h.Subscribe("", 0, false)
	h.Close()
	select {
	case <-sub.Gone():
	default:
		t.Fatal("stream still open after Close")
	}
	if _, err := h.Subscribe("", 0, false); err != orderstream.ErrClosed {
		t.Fatalf("Subscribe after Close: %v", err)
	}
	if h.Subscribers() != 0 {
		t.Fatalf("%d subscribers after Close", h.Subscribers())
	}
}

// The retention job deletes events older than the retention, and only those.
func TestRetentionDeletesOldEvents(t *testing.T) {
	h, store := start(t, 4)
	insert(t, store, "old", "SPA") // at t0
	o := newOrder("new", "SPA")
	o.CreatedAt, o.UpdatedAt = t0.Add(2*time.Hour), t0.Add(2*time.Hour)
	if err := store.InsertOrder(context.Background(), o, nil); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.RunRetention(ctx, time.Hour, 24*time.Hour, func() time.Time { return t0.Add(25 * time.Hour) })
	}()
	deadline := time.Now().Add(5 * time.Second)
	for {
		evs, err := store.EventsAfter(context.Background(), 0, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) == 1 {
			if evs[0].Order.UUID != "new" {
				t.Fatalf("kept %s", evs[0].Order.UUID)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d events after 5s", len(evs))
		}
		time.Sleep(5 * time.Millisecond) // polling a condition
	}
	cancel()
	<-done
}

// countingLog counts the log's reads and renders nothing itself.
type countingLog struct {
	*memory.Orders
	reads chan int64 // the after of each EventsAfter
	lasts chan struct{}
}

func (l *countingLog) EventsAfter(ctx context.Context, after int64, owner string, limit int) ([]order.Event, error) {
	l.reads <- after
	return l.Orders.EventsAfter(ctx, after, owner, limit)
}

func (l *countingLog) LastEventID(ctx context.Context) (int64, error) {
	l.lasts <- struct{}{}
	return l.Orders.LastEventID(ctx)
}

// With no stream open, a wake-up moves the hub to the newest event without
// reading the events (nobody would get them); a stream opened afterwards
// starts there and gets the next change live.
func TestHubWithoutStreamsSkipsAhead(t *testing.T) {
	store := memory.NewOrders()
	log := &countingLog{Orders: store, reads: make(chan int64, 100), lasts: make(chan struct{}, 100)}
	h, err := orderstream.New(context.Background(), orderstream.Config{
		Log: log, Render: render, Buffer: 10, Poll: time.Hour, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	<-log.lasts // New's
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); h.Run(ctx) }()
	defer func() { cancel(); <-done }()

	insert(t, store, "o1", "SPA")
	insert(t, store, "o2", "SPA")
	h.Wake()
	<-log.lasts // skipping ahead to o2's event
	h.Wake()
	<-log.lasts // the hub reads one wake-up at a time: the first skip is done
	sub, err := h.Subscribe("", 0, false)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	insert(t, store, "o3", "SPA")
	h.Wake()
	if after := <-log.reads; after != 2 {
		t.Fatalf("first read after %d, want 2 (the newest event when the hub skipped ahead)", after)
	}
	if got := recv(t, sub); got != "3 created o3" {
		t.Fatalf("got %q", got)
	}
	for {
		select {
		case after := <-log.reads:
			if after < 2 {
				t.Fatalf("read after %d: the hub went back before its skip", after)
			}
			continue
		default:
		}
		break
	}
}
