package faulttest

import (
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"
)

// blackhole forwards until stalled; then it silently drops every byte and
// holds every connection open (a partition, not a refusal).
type blackhole struct {
	ln      net.Listener
	target  string
	mu      sync.Mutex
	stalled bool
}

func (b *blackhole) isStalled() bool { b.mu.Lock(); defer b.mu.Unlock(); return b.stalled }

func (b *blackhole) serve() {
	for {
		c, err := b.ln.Accept()
		if err != nil {
			return
		}
		if b.isStalled() {
			go func() { _, _ = io.Copy(io.Discard, c) }()
			continue
		}
		up, err := net.Dial("tcp", b.target)
		if err != nil {
			c.Close()
			continue
		}
		cp := func(dst, src net.Conn) {
			buf := make([]byte, 32<<10)
			for {
				n, err := src.Read(buf)
				if err != nil {
					dst.Close()
					return
				}
				if !b.isStalled() {
					dst.Write(buf[:n])
				}
			}
		}
		go cp(c, up)
		go cp(up, c)
	}
}

func TestZZBlackhole(t *testing.T) {
	env := gatewayEnv(t)
	u, _ := url.Parse(env["DATABASE_URL"])
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	b := &blackhole{ln: ln, target: u.Host}
	go b.serve()
	u.Host = ln.Addr().String()
	env["DATABASE_URL"] = u.String()
	g := startGateway(t, "stxgate", env)
	c := httpClient(false)
	c.Timeout = 40 * time.Second
	r := do(c, "GET", g.url+"/api/v1/orders/x1", "", nil)
	t.Logf("before: %s", r)
	b.mu.Lock()
	b.stalled = true
	b.mu.Unlock()
	var wg sync.WaitGroup
	for _, p := range []string{"/api/v1/orders/x2", "/readyz", "/api/v1/orders?limit=1"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := do(c, "GET", g.url+p, "", nil)
			t.Logf("%s during blackhole: %s after %s", p, r, r.End.Sub(r.Start))
		}()
	}
	wg.Wait()
}
