package clienttest

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stxgate/stxgate/internal/testgateway"
	"github.com/stxgate/stxgate/pkg/client"
	"github.com/stxgate/stxgate/pkg/stacks"
)

// killProxy forwards TCP to a gateway; kill cuts every connection through
// it, and while paused it refuses new ones (a gateway out of reach).
type killProxy struct {
	ln     net.Listener
	target string

	mu      sync.Mutex
	conns   []net.Conn
	paused  bool
	accepts int
}

func newKillProxy(t *testing.T, target string) *killProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &killProxy{ln: ln, target: target}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			if p.paused {
				p.mu.Unlock()
				c.Close()
				continue
			}
			p.accepts++
			up, err := net.Dial("tcp", target)
			if err != nil {
				p.mu.Unlock()
				c.Close()
				continue
			}
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(up, c); up.Close() }()
			go func() { _, _ = io.Copy(c, up); c.Close() }()
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done; p.kill(false) })
	return p
}

func (p *killProxy) url() string { return "http://" + p.ln.Addr().String() }

// kill cuts every connection; pause keeps new ones out until resume.
func (p *killProxy) kill(pause bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns, p.paused = nil, pause
}

func (p *killProxy) resume() { p.mu.Lock(); p.paused = false; p.mu.Unlock() }

func (p *killProxy) connections() int { p.mu.Lock(); defer p.mu.Unlock(); return p.accepts }

// OrderEvents reconnects after its connection is killed and resumes after the
// last event it had: what happened meanwhile arrives once, in order.
func TestOrderEventsReconnectAndResume(t *testing.T) {
	g := testgateway.Start(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	owner := walletClient(t, g, mustKey(t, testgateway.PrivA))
	addr := mustKey(t, testgateway.PrivA).Address(stacks.Mainnet).String()
	proxy := newKillProxy(t, strings.TrimPrefix(g.URL, "http://"))
	watcher := testgateway.NewClient(t, proxy.url(), client.WithReconnectDelay(20*time.Millisecond))

	type got struct {
		ev  client.OrderEvent
		err error
	}
	events := make(chan got, 100)
	go func() {
		defer close(events)
		for ev, err := range watcher.OrderEvents(ctx, client.OrderEventFilter{Owner: addr}) {
			events <- got{ev, err}
		}
	}()
	next := func() client.OrderEvent {
		t.Helper()
		select {
		case e := <-events:
			if e.err != nil {
				t.Fatal(e.err)
			}
			return e.ev
		case <-time.After(10 * time.Second):
			t.Fatal("no event within 10s")
		}
		return client.OrderEvent{}
	}
	describe := func(ev client.OrderEvent) string {
		return fmt.Sprintf("%d %s %s %s", ev.ID, ev.Type, ev.Order.UUID, ev.Order.Status)
	}
	// The stream is up once the gateway has registered it.
	for g.App.Events.Subscribers() == 0 {
		time.Sleep(5 * time.Millisecond) // polling a condition
	}
	if _, _, err := owner.CreateOrder(ctx, order1("w-1")); err != nil {
		t.Fatal(err)
	}
	if d := describe(next()); d != "1 order.created w-1 open" {
		t.Fatalf("first event %q", d)
	}

	proxy.kill(true) // the connection dies and the gateway is out of reach
	if _, _, err := owner.CreateOrder(ctx, order1("w-2")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := owner.CancelOrder(ctx, "w-1"); err != nil {
		t.Fatal(err)
	}
	proxy.resume()
	for _, want := range []string{"2 order.created w-2 open", "3 order.cancelled w-1 cancelled"} {
		if d := describe(next()); d != want {
			t.Fatalf("after the reconnect got %q, want %q", d, want)
		}
	}
	if n := proxy.connections(); n < 2 {
		t.Fatalf("%d connections: the stream never reconnected", n)
	}
	if _, _, err := owner.CreateOrder(ctx, order1("w-3")); err != nil {
		t.Fatal(err)
	}
	if d := describe(next()); d != "4 order.created w-3 open" {
		t.Fatalf("live after the reconnect: %q", d)
	}
	cancel()
	for e := range events { // ends with ctx, nothing more
		t.Fatalf("after cancel: %+v", e)
	}
}

// A refusal reconnecting cannot fix ends the stream with the API error.
func TestOrderEventsRefused(t *testing.T) {
	g := testgateway.Start(t)
	c := g.Client(t)
	n := 0
	for _, err := range c.OrderEvents(context.Background(), client.OrderEventFilter{Owner: "SPNOTANADDRESS"}) {
		n++
		apiErr := apiError(t, err, 400, "owner is not a valid Stacks address of this network")
		if apiErr.Code != client.CodeInvalidRequest {
			t.Fatalf("code %q", apiErr.Code)
		}
	}
	if n != 1 {
		t.Fatalf("%d yields, want the one error", n)
	}
}
