package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/stxgate/stxgate/internal/fault"
	"github.com/stxgate/stxgate/internal/order"
	"github.com/stxgate/stxgate/internal/orderstream"
	"github.com/stxgate/stxgate/internal/walletauth"
)

// EventsPath is the order event stream's route.
const EventsPath = "/api/v1/orders/events"

// Streams configures GET /api/v1/orders/events.
type Streams struct {
	Hub       *orderstream.Hub // nil: the route answers 503
	Heartbeat time.Duration    // comment frame interval (default 15s)
	PerIP     int              // streams open at once per client IP on this instance (default 20)
}

// streamWriteWait bounds one write to a stream: a client that takes no
// frame, not even a heartbeat, for this long is cut (its socket is full).
const streamWriteWait = 30 * time.Second

// streamRetry is the reconnection delay a stream asks EventSource clients for.
const streamRetry = 2 * time.Second

var (
	errTooManyStreams = fault.New(fault.KindRateLimited, "Too many order event streams from this address").WithCode(fault.CodeTooManyStreams)
	errStreamsClosed  = fault.Unavailable("Order event streams are shutting down", orderstream.ErrClosed)
)

// RenderOrderEvent is an event as the stream sends it: its id, its type as
// "order.<type>", and the order as GET /api/v1/orders/:uuid shows it.
func RenderOrderEvent(e order.Event) ([]byte, error) {
	data, err := json.Marshal(orderView(e.Order))
	if err != nil {
		return nil, err
	}
	b := make([]byte, 0, len(data)+64)
	b = append(b, "id: "...)
	b = strconv.AppendInt(b, e.ID, 10)
	b = append(b, "\nevent: order."...)
	b = append(b, e.Type...)
	b = append(b, "\ndata: "...)
	b = append(b, data...) // JSON from encoding/json holds no raw newline
	return append(b, "\n\n"...), nil
}

// ipStreams counts the open streams of each client IP.
type ipStreams struct {
	mu   sync.Mutex
	open map[string]int
}

func (l *ipStreams) acquire(ip string, max int) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open == nil {
		l.open = map[string]int{}
	}
	if l.open[ip] >= max {
		return false
	}
	l.open[ip]++
	return true
}

func (l *ipStreams) release(ip string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[ip]--; l.open[ip] <= 0 {
		delete(l.open, ip)
	}
}

// orderEvents: GET /api/v1/orders/events?owner=&after= (public): the order
// changes as server-sent events, resumed after Last-Event-ID or ?after=.
func (s *Server) orderEvents(c echo.Context) error {
	owner := c.QueryParam("owner")
	if owner != "" {
		if _, err := walletauth.ParseWallet(owner, s.network); err != nil {
			return fault.Invalid("owner", "owner is not a valid Stacks address of this network").Wrap(err)
		}
	}
	after, resume, err := resumeFrom(c)
	if err != nil {
		return err
	}
	if s.streams.Hub == nil {
		return errStreamsClosed
	}
	ip := c.RealIP()
	if !s.openStreams.acquire(ip, s.streams.PerIP) {
		return errTooManyStreams.WithDetails(map[string]any{"limit": s.streams.PerIP})
	}
	defer s.openStreams.release(ip)
	sub, err := s.streams.Hub.Subscribe(owner, after, resume)
	if err != nil {
		return errStreamsClosed
	}
	defer sub.Close()

	w := c.Response()
	rc := http.NewResponseController(w)
	// The server's read and write timeouts bound requests, not streams: each
	// write gets its own deadline instead.
	_ = rc.SetReadDeadline(time.Time{})
	h := w.Header()
	h.Set(echo.HeaderContentType, "text/event-stream")
	h.Set(echo.HeaderCacheControl, "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)
	if c.Request().Method == http.MethodHead {
		return nil
	}
	write := func(b []byte) error {
		_ = rc.SetWriteDeadline(time.Now().Add(streamWriteWait))
		if _, err := w.Write(b); err != nil {
			return err
		}
		return rc.Flush()
	}
	emit := func(f *orderstream.Frame) error {
		if !sub.Sent(f) {
			return nil
		}
		return write(f.Data)
	}
	if write([]byte("retry: "+strconv.FormatInt(streamRetry.Milliseconds(), 10)+"\n\n")) != nil {
		return nil
	}
	ctx := c.Request().Context()
	if err := sub.Replay(ctx, emit); err != nil {
		if ctx.Err() == nil {
			s.log.Warn("order event stream: replay failed", "error", err)
		}
		return nil // the answer has begun: the client reconnects and resumes
	}
	hb := time.NewTicker(s.streams.Heartbeat)
	defer hb.Stop()
	for {
		select {
		case <-sub.Ready():
			for _, f := range sub.Take() {
				if emit(f) != nil {
					return nil
				}
			}
		case <-hb.C:
			if write([]byte(": heartbeat\n\n")) != nil {
				return nil
			}
		case <-sub.Gone():
			if err := sub.Why(); !errors.Is(err, orderstream.ErrClosed) {
				s.log.Info("order event stream dropped", "reason", err.Error(), "ip", ip)
			}
			return nil
		case <-ctx.Done():
			return nil
		}
	}
}

// resumeFrom reads where a stream resumes: the Last-Event-ID header (an
// EventSource reconnecting) or ?after=, an event id; neither starts with the
// next change.
func resumeFrom(c echo.Context) (after int64, resume bool, err error) {
	field, v := "Last-Event-ID", strings.TrimSpace(c.Request().Header.Get("Last-Event-ID"))
	if v == "" {
		field, v = "after", c.QueryParam("after")
	}
	if v == "" {
		return 0, false, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, false, fault.Invalidf(field, "%s must be an event id (an integer from 0)", field)
	}
	return n, true, nil
}
