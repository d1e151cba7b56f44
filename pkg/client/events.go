package client

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// OrderEventFilter selects what OrderEvents streams.
type OrderEventFilter struct {
	Owner string // only this wallet's orders; "" for every order
	// After resumes after this event id: every later event is replayed (the
	// gateway keeps them at least 24 h), then the stream goes on live. 0
	// starts live, at the newest event the gateway has seen (one committed
	// a moment before connecting may still come), unless Replay is set.
	After int64
	// Replay makes After count when it is 0 too: the stream starts with
	// every event the gateway still keeps, from the very first, then goes
	// on live.
	Replay bool
	// OnConnect, if set, is called each time the gateway accepts the
	// stream's connection (the first and every reconnect), before that
	// connection's first event: from then on the subscription is live, so
	// every change committed after the call returns comes on the stream.
	// It runs on the goroutine iterating OrderEvents; it must not block
	// waiting for the stream's events.
	OnConnect func()
}

// OrderEvent is one order change: Type is "order.created", "order.executing",
// "order.submitted", "order.filled", "order.cancelled", "order.expired",
// "order.failed" or "order.reopened"; Order is the order right after it.
type OrderEvent struct {
	ID    int64
	Type  string
	Order Order
}

// DefaultReconnectDelay is how long OrderEvents waits before reconnecting a
// dropped stream (the gateway suggests the same with "retry:"), unless
// WithReconnectDelay says otherwise.
const DefaultReconnectDelay = 2 * time.Second

// WithReconnectDelay sets how long OrderEvents waits before reconnecting a
// dropped stream (default DefaultReconnectDelay).
func WithReconnectDelay(d time.Duration) Option { return func(c *Client) { c.reconnectDelay = d } }

// OrderEvents streams order changes (GET /api/v1/orders/events) until ctx
// ends or the loop stops. A dropped connection — the network, a restarted or
// shut-down gateway, a stream that fell too far behind — is reconnected after
// the reconnect delay (WithReconnectDelay) with Last-Event-ID set to the last
// event received, so every event comes once, in order. A refusal that reconnecting cannot fix (a 4xx
// other than 429) is yielded as an error (*APIError) and ends the stream;
// errors reconnecting are not yielded, the stream keeps trying.
//
//	for ev, err := range c.OrderEvents(ctx, client.OrderEventFilter{Owner: addr}) {
//		if err != nil { return err }
//		fmt.Println(ev.ID, ev.Type, ev.Order.UUID, ev.Order.Status)
//	}
func (c *Client) OrderEvents(ctx context.Context, f OrderEventFilter) iter.Seq2[OrderEvent, error] {
	return func(yield func(OrderEvent, error) bool) {
		hc := *c.http
		hc.Timeout = 0 // a stream has no end to wait for; ctx ends it
		last, resume := f.After, f.Replay || f.After > 0
		for ctx.Err() == nil {
			stop, err := c.streamOnce(ctx, &hc, f, &last, &resume, yield)
			if stop {
				return
			}
			var apiErr *APIError
			if errors.As(err, &apiErr) && apiErr.Status >= 400 && apiErr.Status < 500 && apiErr.Status != http.StatusTooManyRequests {
				yield(OrderEvent{}, err)
				return
			}
			if sleep(ctx, c.reconnectDelay) != nil {
				return
			}
		}
	}
}

// streamOnce reads one connection's events into yield, advancing last (and
// setting resume once it has an id to resume after); stop reports that the
// caller's loop ended.
func (c *Client) streamOnce(ctx context.Context, hc *http.Client, f OrderEventFilter, last *int64, resume *bool,
	yield func(OrderEvent, error) bool) (stop bool, err error) {
	q := url.Values{}
	if f.Owner != "" {
		q.Set("owner", f.Owner)
	}
	path := "/api/v1/orders/events"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return false, err
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("User-Agent", c.userAgent)
	if *resume {
		req.Header.Set("Last-Event-ID", strconv.FormatInt(*last, 10))
	}
	resp, err := hc.Do(req)
	if err != nil {
		return false, fmt.Errorf("stxgate: GET %s: %w: %w", path, ErrUnreachable, unwrapURLError(err))
	}
	if resp.StatusCode != http.StatusOK {
		_, err := c.read(resp, nil)
		return false, err
	}
	defer resp.Body.Close()
	if f.OnConnect != nil {
		f.OnConnect() // the gateway registered the subscription before answering 200
	}
	br := bufio.NewReader(resp.Body)
	for {
		ev, err := readEvent(br)
		if err != nil {
			return false, fmt.Errorf("stxgate: order event stream: %w: %w", ErrUnreachable, err)
		}
		if ev.ID <= *last { // never twice, whatever a server sends
			continue
		}
		*last, *resume = ev.ID, true
		if !yield(ev, nil) {
			return true, nil
		}
	}
}

// readEvent reads server-sent event lines up to the next complete event,
// skipping comments (heartbeats), "retry:" and events without an id.
func readEvent(br *bufio.Reader) (OrderEvent, error) {
	var (
		ev      OrderEvent
		data    []string
		hasID   bool
		idField string
	)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF // a stream only ends when its connection does
			}
			return OrderEvent{}, err
		}
		line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
		if line == "" {
			if hasID && len(data) > 0 && ev.Type != "" {
				id, err := strconv.ParseInt(idField, 10, 64)
				if err != nil {
					return OrderEvent{}, fmt.Errorf("event id %q: %w", idField, err)
				}
				ev.ID = id
				if err := json.Unmarshal([]byte(strings.Join(data, "\n")), &ev.Order); err != nil {
					return OrderEvent{}, fmt.Errorf("event %d: %w", id, err)
				}
				return ev, nil
			}
			ev, data, hasID = OrderEvent{}, nil, false
			continue
		}
		if strings.HasPrefix(line, ":") {
			continue
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "id":
			idField, hasID = value, true
		case "event":
			ev.Type = value
		case "data":
			data = append(data, value)
		}
	}
}
