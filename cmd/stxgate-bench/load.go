package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// The load generator is a minimal HTTP/1.1 client over kept-alive loopback
// connections: requests are pre-built byte strings, responses are parsed just
// enough to find the status and the end of the body. It costs the shared
// CPUs little and costs the same for a ceiling as for the gateway, so the
// ratios compare servers, not clients.

// buildRequest serialises one request once, before timing.
func buildRequest(method, addr, path string, headers [][2]string, body []byte) []byte {
	var b bytes.Buffer
	b.WriteString(method + " " + path + " HTTP/1.1\r\nHost: " + addr + "\r\nUser-Agent: stxgate-bench\r\n")
	for _, h := range headers {
		b.WriteString(h[0] + ": " + h[1] + "\r\n")
	}
	if body != nil || method == "POST" || method == "PATCH" {
		b.WriteString("Content-Length: " + strconv.Itoa(len(body)) + "\r\n")
	}
	if body != nil {
		b.WriteString("Content-Type: application/json\r\n")
	}
	b.WriteString("\r\n")
	b.Write(body)
	return b.Bytes()
}

// httpConn is one kept-alive connection.
type httpConn struct {
	c    net.Conn
	r    *bufio.Reader
	body []byte
}

// dialLoopback refuses anything but a loopback address: the load tool never
// drives a remote host.
func dialLoopback(addr string) (*httpConn, error) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil || !ap.Addr().IsLoopback() {
		return nil, fmt.Errorf("refusing to load %q: only loopback addresses", addr)
	}
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	return &httpConn{c: c, r: bufio.NewReaderSize(c, 32<<10)}, nil
}

func (h *httpConn) Close() error { return h.c.Close() }

var errConnClosed = errors.New("server closed the connection")

// roundTrip writes req and reads one response; the body stays in h.body
// until the next call.
func (h *httpConn) roundTrip(req []byte) (status int, err error) {
	_ = h.c.SetDeadline(time.Now().Add(15 * time.Second))
	if _, err := h.c.Write(req); err != nil {
		return 0, err
	}
	line, err := h.r.ReadSlice('\n')
	if err != nil {
		return 0, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.1 ")) {
		return 0, fmt.Errorf("bad status line %q", line)
	}
	status, err = strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, fmt.Errorf("bad status line %q", line)
	}
	length, chunked, closing := -1, false, false
	for {
		line, err := h.r.ReadSlice('\n')
		if err != nil {
			return 0, err
		}
		if len(line) <= 2 {
			break
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		value = bytes.TrimSpace(value)
		switch {
		case asciiEqualFold(name, "Content-Length"):
			if length, err = strconv.Atoi(string(value)); err != nil {
				return 0, fmt.Errorf("bad Content-Length %q", value)
			}
		case asciiEqualFold(name, "Transfer-Encoding"):
			chunked = asciiEqualFold(value, "chunked")
		case asciiEqualFold(name, "Connection"):
			closing = asciiEqualFold(value, "close")
		}
	}
	h.body = h.body[:0]
	switch {
	case chunked:
		err = h.readChunked()
	case length >= 0:
		err = h.readN(length)
	default:
		return 0, errors.New("response without length")
	}
	if err == nil && closing {
		err = errConnClosed
	}
	return status, err
}

func (h *httpConn) readN(n int) error {
	h.body = slices.Grow(h.body, n)
	start := len(h.body)
	h.body = h.body[:start+n]
	_, err := io.ReadFull(h.r, h.body[start:])
	return err
}

func (h *httpConn) readChunked() error {
	for {
		line, err := h.r.ReadSlice('\n')
		if err != nil {
			return err
		}
		size, _, _ := bytes.Cut(bytes.TrimSpace(line), []byte(";"))
		n, err := strconv.ParseInt(string(size), 16, 32)
		if err != nil {
			return fmt.Errorf("bad chunk size %q", line)
		}
		if n == 0 {
			for { // trailers until the empty line
				line, err := h.r.ReadSlice('\n')
				if err != nil {
					return err
				}
				if len(line) <= 2 {
					return nil
				}
			}
		}
		if err := h.readN(int(n)); err != nil {
			return err
		}
		if _, err := h.r.Discard(2); err != nil {
			return err
		}
	}
}

func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		x, y := b[i]|0x20, s[i]|0x20
		if x != y {
			return false
		}
	}
	return true
}

// Phase is one measured load: conns connections, first warmup then duration
// (or until maxCount requests or the source runs dry).
type Phase struct {
	Name     string
	Addr     string
	Conns    int
	Warmup   time.Duration
	Duration time.Duration
	MaxCount int
	// Rate > 0 paces the load (open loop, requests per second over all
	// connections; latency counts from the intended send time, so a slow
	// server is not excused by the client waiting). 0 is a closed loop.
	Rate float64
	// Next returns the next request of a connection, nil when the source is dry.
	Next func(conn int) []byte
	// OK tells an expected answer from an error.
	OK func(status int) bool
}

// Result is a phase's measurements (warm-up excluded).
type Result struct {
	Name       string
	Count      int
	Errors     int
	FirstError string
	Elapsed    time.Duration
	Lat        []time.Duration // sorted
	Dry        bool            // the source ran dry before the time was up
	Sent       int             // every completed request, warm-up included (CPU per request)
	// ClientCPU is the CPU of a load generator in its own process (wrk),
	// warm-up included; 0 when the load came from this process.
	ClientCPU time.Duration
}

// Throughput in requests per second.
func (r *Result) Throughput() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Count) / r.Elapsed.Seconds()
}

// Quantile of the latencies (q in [0,1]).
func (r *Result) Quantile(q float64) time.Duration {
	if len(r.Lat) == 0 {
		return 0
	}
	i := int(q * float64(len(r.Lat)))
	if i >= len(r.Lat) {
		i = len(r.Lat) - 1
	}
	return r.Lat[i]
}

// Run drives the phase and returns what it measured.
func (p Phase) Run(ctx context.Context) (*Result, error) {
	conns := make([]*httpConn, p.Conns)
	for i := range conns {
		c, err := dialLoopback(p.Addr)
		if err != nil {
			for _, c := range conns[:i] {
				_ = c.Close()
			}
			return nil, fmt.Errorf("%s: dial: %w", p.Name, err)
		}
		conns[i] = c
	}
	defer func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}()

	start := time.Now()
	measureFrom := start.Add(p.Warmup)
	deadline := measureFrom.Add(p.Duration)
	var (
		counted  atomic.Int64 // measured requests, for the count bound
		complete atomic.Int64 // all completed requests
		dry      atomic.Bool
		mu       sync.Mutex
		res      = &Result{Name: p.Name}
		lastDone time.Time
		wg       sync.WaitGroup
	)
	interval := time.Duration(0)
	if p.Rate > 0 {
		interval = time.Duration(float64(p.Conns) / p.Rate * float64(time.Second))
	}
	for w, c := range conns {
		wg.Go(func() {
			var (
				lat      = make([]time.Duration, 0, 4096)
				errs     int
				firstErr string
				last     time.Time
				intended = start.Add(time.Duration(w) * interval / time.Duration(p.Conns))
			)
			for ctx.Err() == nil {
				if p.Rate > 0 {
					if d := time.Until(intended); d > 0 {
						time.Sleep(d)
					}
				}
				sent := time.Now()
				if !sent.Before(deadline) || (p.MaxCount > 0 && counted.Load() >= int64(p.MaxCount)) {
					break
				}
				req := p.Next(w)
				if req == nil {
					dry.Store(true)
					break
				}
				from := sent
				if p.Rate > 0 {
					from = intended
					intended = intended.Add(interval)
				}
				status, err := c.roundTrip(req)
				done := time.Now()
				complete.Add(1)
				if from.Before(measureFrom) {
					if err != nil {
						if c, err = redial(p.Addr, c); err != nil {
							break
						}
					}
					continue
				}
				counted.Add(1)
				last = done
				lat = append(lat, done.Sub(from))
				if err != nil || !p.OK(status) {
					errs++
					if firstErr == "" {
						firstErr = describe(status, err, c.body)
					}
				}
				if err != nil {
					if c, err = redial(p.Addr, c); err != nil {
						break
					}
				}
			}
			conns[w] = c
			mu.Lock()
			res.Lat = append(res.Lat, lat...)
			res.Errors += errs
			if res.FirstError == "" {
				res.FirstError = firstErr
			}
			if last.After(lastDone) {
				lastDone = last
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	res.Count = len(res.Lat)
	res.Sent = int(complete.Load())
	res.Dry = dry.Load()
	if lastDone.After(measureFrom) {
		res.Elapsed = lastDone.Sub(measureFrom)
	}
	slices.Sort(res.Lat)
	return res, nil
}

func redial(addr string, old *httpConn) (*httpConn, error) {
	_ = old.Close()
	return dialLoopback(addr)
}

func describe(status int, err error, body []byte) string {
	if err != nil {
		return err.Error()
	}
	if len(body) > 200 {
		body = body[:200]
	}
	return fmt.Sprintf("HTTP %d %s", status, body)
}

// is2xx is the usual OK.
func is2xx(status int) bool { return status >= 200 && status < 300 }

// pool hands out pre-built requests once each (orders execute once, signed
// messages are distinct per request).
type pool struct {
	reqs [][]byte
	next atomic.Int64
}

func (p *pool) Next(int) []byte {
	i := p.next.Add(1) - 1
	if i >= int64(len(p.reqs)) {
		return nil
	}
	return p.reqs[i]
}

// Used is how many requests the pool handed out.
func (p *pool) Used() int { return int(min(p.next.Load(), int64(len(p.reqs)))) }
