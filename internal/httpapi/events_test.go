package httpapi_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"

	"github.com/stxgate/stxgate/internal/config"
	"github.com/stxgate/stxgate/internal/settlement"
)

// sseFrame is one server-sent event (or comment) as a client reads it.
type sseFrame struct {
	id, event, data, comment string
	at                       time.Time // when it arrived
}

// sseStream is an open GET /api/v1/orders/events read frame by frame.
type sseStream struct {
	t      *testing.T
	res    *http.Response
	frames chan sseFrame
	cancel context.CancelFunc
}

// openStream opens path on srv; the stream ends with the test.
func openStream(t *testing.T, srv *httptest.Server, path string, headers map[string]string) *sseStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	res, err := srv.Client().Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	s := &sseStream{t: t, res: res, frames: make(chan sseFrame, 1000), cancel: cancel}
	t.Cleanup(s.close)
	if res.StatusCode != http.StatusOK {
		return s
	}
	if ct := res.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q", ct)
	}
	go func() {
		defer close(s.frames)
		sc := bufio.NewScanner(res.Body)
		var f sseFrame
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				f.at = time.Now()
				s.frames <- f
				f = sseFrame{}
			case strings.HasPrefix(line, ":"):
				f.comment = strings.TrimSpace(line[1:])
			default:
				k, v, _ := strings.Cut(line, ": ")
				switch k {
				case "id":
					f.id = v
				case "event":
					f.event = v
				case "data":
					f.data = v
				}
			}
		}
	}()
	if f := s.next(); f != (sseFrame{at: f.at}) { // the preamble: only "retry: 2000"
		t.Fatalf("first frame %+v", f)
	}
	return s
}

func (s *sseStream) close() {
	s.cancel()
	s.res.Body.Close()
}

// next is the next frame; a stream silent for 5 s fails the test.
func (s *sseStream) next() sseFrame {
	s.t.Helper()
	select {
	case f, ok := <-s.frames:
		if !ok {
			s.t.Fatal("stream ended")
		}
		return f
	case <-time.After(5 * time.Second):
		s.t.Fatal("no frame within 5s")
	}
	return sseFrame{}
}

// nextEvent skips comments (heartbeats).
func (s *sseStream) nextEvent() sseFrame {
	s.t.Helper()
	for {
		if f := s.next(); f.comment == "" {
			return f
		}
	}
}

// ended waits for the server to end the stream.
func (s *sseStream) ended() {
	s.t.Helper()
	for {
		select {
		case _, ok := <-s.frames:
			if !ok {
				return
			}
		case <-time.After(5 * time.Second):
			s.t.Fatal("stream still open after 5s")
		}
	}
}

func serveStreams(t *testing.T, g *gateway) *httptest.Server {
	srv := httptest.NewServer(g.h)
	t.Cleanup(srv.Close)
	t.Cleanup(g.app.CloseStreams) // before srv.Close, which waits for every request
	return srv
}

// expectFrame checks one event frame exactly: id, type and the order JSON.
// eventIDs names a test's events by their rank in the log (1, 2, …): ids
// strictly increase but are not consecutive (PostgreSQL numbers events by
// transaction id). The first frame checked as event n gives n's id, which
// must be above n-1's; later frames checked as n must carry the same id.
type eventIDs struct{ ids []string }

// id is the id of the nth event (already seen).
func (e *eventIDs) id(t *testing.T, n int) string {
	t.Helper()
	if n < 1 || n > len(e.ids) {
		t.Fatalf("event %d not seen yet (%d seen)", n, len(e.ids))
	}
	return e.ids[n-1]
}

func expectFrame(t *testing.T, ids *eventIDs, f sseFrame, n int, event, data string) {
	t.Helper()
	if n == len(ids.ids)+1 {
		id, err := strconv.ParseInt(f.id, 10, 64)
		prev := int64(0)
		if n > 1 {
			prev, _ = strconv.ParseInt(ids.ids[n-2], 10, 64)
		}
		if err != nil || id <= prev {
			t.Fatalf("frame id %q as event %d: want an integer above event %d's %d", f.id, n, n-1, prev)
		}
		ids.ids = append(ids.ids, f.id)
	}
	if want := ids.id(t, n); f.id != want || f.event != event {
		t.Fatalf("frame id %q event %q, want event %d (id %s) %s (data %s)", f.id, f.event, n, want, event, f.data)
	}
	assertJSON(t, f.data, data)
}

// An order executed on instance A reaches a stream on instance B, in order,
// exactly once, each event within a second of its change; the data is the
// order exactly as GET shows it at that point. The simulated settlement
// fills at once, so the sequence is created → executing → filled.
func TestOrderEventsAcrossInstances(t *testing.T) {
	// No periodic read: only PostgreSQL's notification can bring a change
	// made on A to B within the second.
	g, _ := newOrderGateway(t, func(c *config.Config) { c.EventsPoll = time.Hour })
	ids := &eventIDs{}
	h := g.twin()
	srvA, srvB := serveStreams(t, g), serveStreams(t, h)
	a, b := mustWallet(t, privA), mustWallet(t, privB)
	key, _ := g.createKey(a, "exec", `["execute"]`)

	all := openStream(t, srvB, "/api/v1/orders/events", nil)
	mine := openStream(t, srvB, "/api/v1/orders/events?owner="+a.addr, nil)
	theirs := openStream(t, srvB, "/api/v1/orders/events?owner="+b.addr, nil)

	post := func(path, body string, headers map[string]string) time.Time {
		t.Helper()
		start := time.Now()
		req, _ := http.NewRequest(http.MethodPost, srvA.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		res, err := srvA.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		out, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode/100 != 2 {
			t.Fatalf("POST %s: %d %s", path, res.StatusCode, out)
		}
		return start
	}
	within := func(f sseFrame, since time.Time) {
		t.Helper()
		if d := f.at.Sub(since); d > time.Second {
			t.Fatalf("%s arrived %s after its change began", f.event, d)
		}
	}

	o := a.order("ev-x1")
	created := post("/api/v1/orders/new", o.body(t), nil)
	executed := post("/api/v1/orders/ev-x1/execute", "", map[string]string{"X-API-Key": key})
	txid := settlement.SimulatedTxID("ev-x1")
	open := orderJSON(o, "open")
	executing := orderJSON(o, "executing")
	filled := orderJSON(o, "filled", "txid", txid, "settlement", "simulated", "filledAt", nowStamp)
	expect(t, g.do("GET", "/api/v1/orders/ev-x1", "", nil), 200, `{"status":"success","data":`+filled+`}`)
	for _, s := range []*sseStream{all, mine} {
		f := s.nextEvent()
		expectFrame(t, ids, f, 1, "order.created", open)
		within(f, created)
		f = s.nextEvent()
		expectFrame(t, ids, f, 2, "order.executing", executing)
		within(f, executed)
		f = s.nextEvent()
		expectFrame(t, ids, f, 3, "order.filled", filled)
		within(f, executed)
	}
	// The next change is the next frame: nothing was repeated in between, and
	// b's stream saw none of a's orders.
	ob := b.order("ev-x2")
	post("/api/v1/orders/new", ob.body(t), nil)
	expectFrame(t, ids, all.nextEvent(), 4, "order.created", orderJSON(ob, "open"))
	expectFrame(t, ids, theirs.nextEvent(), 4, "order.created", orderJSON(ob, "open"))
	o3 := a.order("ev-x3")
	post("/api/v1/orders/new", o3.body(t), nil)
	expectFrame(t, ids, mine.nextEvent(), 5, "order.created", orderJSON(o3, "open"))
	expectFrame(t, ids, all.nextEvent(), 5, "order.created", orderJSON(o3, "open"))
}

// A client that disconnects and resumes with its last id (Last-Event-ID or
// ?after=) misses nothing and sees nothing twice; the replay joins the live
// stream without a gap.
func TestOrderEventsResume(t *testing.T) {
	g, _ := newOrderGateway(t)
	ids := &eventIDs{}
	srv := serveStreams(t, g)
	a := mustWallet(t, privA)
	create := func(uuid string) orderSpec {
		t.Helper()
		return g.createOpen(t, a, uuid)
	}
	s := openStream(t, srv, "/api/v1/orders/events", nil)
	o1, o2 := create("ev-r1"), create("ev-r2")
	expectFrame(t, ids, s.nextEvent(), 1, "order.created", orderJSON(o1, "open"))
	s.close() // gone before the second
	o3 := create("ev-r3")
	cancelKey, _ := g.createKey(a, "c", `["cancel"]`)
	expect(t, g.do("PATCH", "/api/v1/orders/ev-r1/cancel", "", map[string]string{"X-API-Key": cancelKey}), 200, "")
	cancelled := orderJSON(o1, "cancelled", "cancelledAt", nowStamp)

	for name, headers := range map[string]map[string]string{
		"LastEventID": {"Last-Event-ID": ids.id(t, 1)},
		"AfterParam":  nil,
	} {
		t.Run(name, func(t *testing.T) {
			path := "/api/v1/orders/events"
			if headers == nil {
				path += "?after=" + ids.id(t, 1)
			}
			r := openStream(t, srv, path, headers)
			expectFrame(t, ids, r.nextEvent(), 2, "order.created", orderJSON(o2, "open"))
			expectFrame(t, ids, r.nextEvent(), 3, "order.created", orderJSON(o3, "open"))
			expectFrame(t, ids, r.nextEvent(), 4, "order.cancelled", cancelled)
		})
	}
	// Resumed and live: replayed up to now, then the next change, once.
	r := openStream(t, srv, "/api/v1/orders/events?owner="+a.addr, map[string]string{"Last-Event-ID": ids.id(t, 3)})
	expectFrame(t, ids, r.nextEvent(), 4, "order.cancelled", cancelled)
	o5 := create("ev-r5")
	expectFrame(t, ids, r.nextEvent(), 5, "order.created", orderJSON(o5, "open"))
	// A client ahead of everything waits for the next change.
	ahead := openStream(t, srv, "/api/v1/orders/events?after="+ids.id(t, 5), nil)
	o6 := create("ev-r6")
	expectFrame(t, ids, ahead.nextEvent(), 6, "order.created", orderJSON(o6, "open"))
	// Last-Event-ID wins over ?after= (an EventSource reconnecting keeps its URL).
	both := openStream(t, srv, "/api/v1/orders/events?after=0", map[string]string{"Last-Event-ID": ids.id(t, 5)})
	expectFrame(t, ids, both.nextEvent(), 6, "order.created", orderJSON(o6, "open"))
}

func TestOrderEventsRefusals(t *testing.T) {
	g, _ := newOrderGateway(t, func(c *config.Config) { c.EventsPerIP = 2 })
	srv := serveStreams(t, g)
	get := func(path string, headers map[string]string) (int, string, http.Header) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(body), res.Header
	}
	for _, tc := range []struct {
		name, path string
		headers    map[string]string
		body       string
	}{
		{"BadOwner", "/api/v1/orders/events?owner=SPNOTANADDRESS", nil,
			errorBody("owner is not a valid Stacks address of this network", field("owner"))},
		{"TestnetOwnerOnMainnet", "/api/v1/orders/events?owner=ST2CY5V39NHDPWSXMW9QDT3HC3GD6Q6XX4CFRK9AG", nil,
			errorBody("owner is not a valid Stacks address of this network", field("owner"))},
		{"NegativeAfter", "/api/v1/orders/events?after=-1", nil,
			errorBody("after must be an event id (an integer from 0)", field("after"))},
		{"TextAfter", "/api/v1/orders/events?after=x", nil,
			errorBody("after must be an event id (an integer from 0)", field("after"))},
		{"BadLastEventID", "/api/v1/orders/events", map[string]string{"Last-Event-ID": "1e3"},
			errorBody("Last-Event-ID must be an event id (an integer from 0)", field("Last-Event-ID"))},
	} {
		t.Run(tc.name+"400", func(t *testing.T) {
			status, body, hdr := get(tc.path, tc.headers)
			if status != 400 || hdr.Get("Content-Type") != "application/json" {
				t.Fatalf("%d %s %s", status, hdr.Get("Content-Type"), body)
			}
			assertJSON(t, body, tc.body)
		})
	}
	t.Run("PerIPLimit429", func(t *testing.T) {
		s1 := openStream(t, srv, "/api/v1/orders/events", nil)
		openStream(t, srv, "/api/v1/orders/events?after=0", nil)
		status, body, hdr := get("/api/v1/orders/events", nil)
		if status != 429 || hdr.Get("Content-Type") != "application/json" {
			t.Fatalf("third stream: %d %s %s", status, hdr.Get("Content-Type"), body)
		}
		assertJSON(t, body, errorBody("Too many order event streams from this address", map[string]any{"limit": 2}))
		s1.close()
		// The server notices the first stream went away, then takes another.
		deadline := time.Now().Add(5 * time.Second)
		for {
			status, _, _ := get("/api/v1/orders/events?after=x", nil) // 400 before the limit: no stream kept
			if status != 400 {
				t.Fatalf("status %d", status)
			}
			if g.app.Events.Subscribers() == 1 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d streams registered 5s after one closed", g.app.Events.Subscribers())
			}
			time.Sleep(10 * time.Millisecond) // polling a condition, not synchronising on time
		}
		openStream(t, srv, "/api/v1/orders/events", nil)
	})
}

// A quiet stream carries a comment heartbeat every STXGATE_EVENTS_HEARTBEAT.
func TestOrderEventsHeartbeat(t *testing.T) {
	g, _ := newOrderGateway(t, func(c *config.Config) { c.EventsHeartbeat = 50 * time.Millisecond })
	srv := serveStreams(t, g)
	s := openStream(t, srv, "/api/v1/orders/events", nil)
	for range 2 {
		if f := s.next(); f.comment != "heartbeat" || f.id != "" || f.event != "" || f.data != "" {
			t.Fatalf("frame %+v, want the heartbeat comment", f)
		}
	}
}

// Closing the app (shutdown) ends open streams, so the server's shutdown
// does not wait for them.
func TestOrderEventsEndAtShutdown(t *testing.T) {
	g, _ := newOrderGateway(t)
	srv := serveStreams(t, g)
	s := openStream(t, srv, "/api/v1/orders/events", nil)
	g.app.CloseStreams()
	s.ended()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/v1/orders/events", nil)
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 503 {
		t.Fatalf("after shutdown: %d %s", res.StatusCode, body)
	}
	assertJSON(t, string(body), errorBody("Order event streams are shutting down", nil))
}

// endOnceStreaming is a request context that ends once g has n streams
// registered, so an exchange served in the test's goroutine returns.
func endOnceStreaming(t *testing.T, g *gateway, n int) context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go func() {
		for ctx.Err() == nil && g.app.Events.Subscribers() < n {
			time.Sleep(5 * time.Millisecond) // polling a condition
		}
		cancel()
	}()
	return ctx
}

// holdStream keeps a stream from ip open (served in the background) until stop.
func holdStream(t *testing.T, g *gateway, ip string) (stop func()) {
	t.Helper()
	before := g.app.Events.Subscribers()
	ctx, cancel := context.WithCancel(context.Background())
	req := httptest.NewRequest(http.MethodGet, "/api/v1/orders/events", nil).WithContext(ctx)
	req.RemoteAddr = ip + ":40000"
	done := make(chan struct{})
	go func() {
		defer close(done)
		g.h.ServeHTTP(httptest.NewRecorder(), req)
	}()
	for g.app.Events.Subscribers() == before {
		select {
		case <-done:
			t.Fatal("the held stream ended at once")
		case <-time.After(5 * time.Millisecond): // polling a condition
		}
	}
	return func() { cancel(); <-done }
}

// The contract validates a stream's body as the document's string: every
// line is a field of the server-sent event grammar the route uses.
func init() {
	openapi3filter.RegisterBodyDecoder("text/event-stream", func(r io.Reader, _ http.Header, _ *openapi3.SchemaRef, _ openapi3filter.EncodingFn) (any, error) {
		b, err := io.ReadAll(r)
		if err != nil {
			return nil, err
		}
		for line := range strings.Lines(string(b)) {
			line = strings.TrimSuffix(line, "\n")
			if line == "" || line == ": heartbeat" || strings.HasPrefix(line, "retry: ") || strings.HasPrefix(line, "id: ") ||
				strings.HasPrefix(line, "event: order.") || strings.HasPrefix(line, "data: {") {
				continue
			}
			return nil, fmt.Errorf("not a line of the order event stream: %q", line)
		}
		return string(b), nil
	})
}

// A stream outlives the server's read and write timeouts (they bound
// requests; each stream write gets its own deadline instead).
func TestOrderEventsOutliveServerTimeouts(t *testing.T) {
	g, _ := newOrderGateway(t, func(c *config.Config) { c.EventsHeartbeat = 100 * time.Millisecond })
	srv := httptest.NewUnstartedServer(g.h)
	srv.Config.ReadTimeout, srv.Config.WriteTimeout = 300*time.Millisecond, 300*time.Millisecond
	srv.Start()
	t.Cleanup(srv.Close)
	t.Cleanup(g.app.CloseStreams)
	s := openStream(t, srv, "/api/v1/orders/events", nil)
	start := time.Now()
	for n := 0; time.Since(start) < time.Second; n++ {
		if f := s.next(); f.comment != "heartbeat" {
			t.Fatalf("frame %d: %+v", n, f)
		}
	}
}
