package faulttest

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stxgate/stxgate/internal/apikey"
	"github.com/stxgate/stxgate/pkg/stacks"
)

// TestSlowAndFloodingClients: the server's own limits keep slow or greedy
// clients from holding the gateway (timeouts shortened through their
// settings so the test takes seconds):
//   - 50 slowloris connections trickling header lines are cut after
//     STXGATE_READ_HEADER_TIMEOUT, while a normal client is served;
//   - a body trickled slower than STXGATE_READ_TIMEOUT is cut;
//   - an idle keep-alive connection is closed after STXGATE_IDLE_TIMEOUT;
//   - a header block over STXGATE_MAX_HEADER_BYTES gets 431, a body over
//     STXGATE_BODY_LIMIT gets 413 with the JSON error body;
//   - one IP flooding public reads gets 429 past STXGATE_PUBLIC_LIMIT_MINUTE;
//   - one IP cycling random well-formed keys (a database lookup each) gets
//     429 past STXGATE_KEY_MISS_LIMIT_MINUTE, before any lookup, while its
//     real, cached key keeps working.
func TestSlowAndFloodingClients(t *testing.T) {
	skipShort(t)
	env := gatewayEnv(t)
	env["STXGATE_READ_HEADER_TIMEOUT"] = "500ms"
	env["STXGATE_READ_TIMEOUT"] = "1500ms"
	env["STXGATE_IDLE_TIMEOUT"] = "1s"
	env["STXGATE_MAX_HEADER_BYTES"] = "8192"
	env["STXGATE_PUBLIC_LIMIT_MINUTE"] = "40"
	env["STXGATE_KEY_MISS_LIMIT_MINUTE"] = "20"
	g := startGateway(t, "stxgate", env)
	addr := strings.TrimPrefix(g.url, "http://")

	t.Run("SlowlorisCutAfterReadHeaderTimeout", func(t *testing.T) {
		const n = 50
		var wg sync.WaitGroup
		cut := make([]time.Duration, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				cut[i] = slowloris(t, addr, 5*time.Second)
			}()
		}
		time.Sleep(200 * time.Millisecond) // all 50 are trickling now
		r := do(httpClient(true), "GET", g.url+"/healthz", "", nil)
		wg.Wait()
		if r.Status != http.StatusOK {
			t.Errorf("a normal client during the slowloris: %s", r)
		}
		worst := time.Duration(0)
		for i, d := range cut {
			if d < 0 {
				t.Errorf("slowloris connection %d still open after 5s", i)
			}
			worst = max(worst, d)
		}
		t.Logf("%d slowloris connections, each cut by the server after at most %s (READ_HEADER_TIMEOUT 500ms); a normal request meanwhile: %d",
			n, worst.Round(10*time.Millisecond), r.Status)
	})

	t.Run("SlowBodyCutAfterReadTimeout", func(t *testing.T) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		start := time.Now()
		fmt.Fprintf(c, "POST /api/v1/orders/new HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10000\r\n\r\n{")
		done := make(chan string, 1)
		go func() { b, _ := io.ReadAll(c); done <- string(b) }()
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case answer := <-done:
				status := strings.SplitN(answer, "\r\n", 2)[0]
				t.Logf("body trickled at 10 B/s: connection closed after %s (READ_TIMEOUT 1.5s), answer %q",
					time.Since(start).Round(10*time.Millisecond), status)
				if answer != "" && !strings.HasPrefix(status, "HTTP/1.1 4") {
					t.Errorf("answer to a cut body: %q", status)
				}
				return
			case <-tick.C:
				if time.Since(start) > 5*time.Second {
					t.Fatal("slow body still being read after 5s")
				}
				_, _ = c.Write([]byte(" "))
			}
		}
	})

	t.Run("IdleKeepAliveClosed", func(t *testing.T) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		start := time.Now()
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := br.ReadByte(); err == nil {
			t.Fatal("the server sent bytes on an idle connection")
		} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatal("idle keep-alive connection still open after 5s")
		}
		t.Logf("idle keep-alive connection closed by the server after %s (IDLE_TIMEOUT 1s)", time.Since(start).Round(10*time.Millisecond))
	})

	t.Run("OversizedHeader431", func(t *testing.T) {
		// Go's server allows MaxHeaderBytes plus 4 KiB of slack.
		r := rawRequest(t, addr, "GET /api/v1/orders HTTP/1.1\r\nHost: x\r\nX-Padding: "+strings.Repeat("a", 16<<10)+"\r\n\r\n", "")
		if r.Status != http.StatusRequestHeaderFieldsTooLarge {
			t.Fatalf("16 KiB header with an 8 KiB limit: %s, want 431", r)
		}
		ok := do(httpClient(true), "GET", g.url+"/api/v1/orders", "", map[string]string{"X-Padding": strings.Repeat("a", 4<<10)})
		if ok.Status != http.StatusOK {
			t.Fatalf("4 KiB header: %s", ok)
		}
		t.Logf("16 KiB header: %d; 4 KiB header: %d", r.Status, ok.Status)
	})

	t.Run("OversizedBody413", func(t *testing.T) {
		body := `{"owner":"` + strings.Repeat("a", 100<<10) + `"}`
		r := rawRequest(t, addr, fmt.Sprintf("POST /api/v1/orders/new HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", len(body)), body)
		if r.Status != http.StatusRequestEntityTooLarge || r.errorText() != "Request body too large" {
			t.Fatalf("100 KiB body: %s, want 413", r)
		}
		t.Logf("100 KiB body: %d %q", r.Status, r.errorText())
	})

	t.Run("RandomKeys429PerIP", func(t *testing.T) {
		key := createKey(t, g, mustWallet(t, privA))
		c := httpClient(false)
		self := func(k string) result {
			return do(c, "GET", g.url+"/api/v1/api-keys/self", "", map[string]string{"X-API-Key": k})
		}
		if r := self(key); r.Status != http.StatusOK { // cached from here on
			t.Fatalf("real key: %s", r)
		}
		tl := newTally()
		var first429 result
		for i := range 30 {
			sec, err := apikey.NewSecret(stacks.Mainnet) // checksum-valid, unknown
			if err != nil {
				t.Fatal(err)
			}
			r := self(sec.String())
			tl.add("random well-formed keys", r)
			switch {
			case i < 20 && (r.Status != http.StatusUnauthorized || r.errorText() != "Invalid API key"):
				t.Fatalf("random key %d: %s, want 401 Invalid API key", i, r)
			case i >= 20 && (r.Status != http.StatusTooManyRequests || r.errorText() != "Rate limit exceeded" || r.Header.Get("Retry-After") == ""):
				t.Fatalf("random key %d: %s, want 429 with Retry-After", i, r)
			case i == 20:
				first429 = r
			}
		}
		real := self(key)
		tl.add("the IP's real (cached) key", real)
		if real.Status != http.StatusOK {
			t.Fatalf("the real, cached key after the flood: %s", real)
		}
		tl.log(t, "unknown-key flood from one IP, STXGATE_KEY_MISS_LIMIT_MINUTE=20:")
		t.Logf("first refusal: %s (Retry-After %s)", first429, first429.Header.Get("Retry-After"))
	})

	t.Run("PublicFlood429PerIP", func(t *testing.T) {
		c := httpClient(false)
		tl := newTally()
		var last result
		limited := false
		for i := range 50 {
			last = do(c, "GET", g.url+"/api/v1/orders?limit=1", "", nil)
			tl.add("public reads from one IP", last)
			if limited && last.Status != http.StatusTooManyRequests {
				t.Fatalf("read %d after the first 429: %s", i, last)
			}
			limited = last.Status == http.StatusTooManyRequests
		}
		// The 4 KiB read above counted too: 40 in the window, then 429s.
		got := tl.get("public reads from one IP")
		if got.S2xx != 39 || got.S4xx != 11 || last.Header.Get("Retry-After") == "" {
			t.Fatalf("%s; last %s", got, last)
		}
		tl.log(t, "public read flood, limit 40/minute per IP:")
	})
}

// slowloris opens a connection, sends a request line and then one header
// line every 100 ms, and returns how long the server took to close it (-1:
// not within limit).
func slowloris(t *testing.T, addr string, limit time.Duration) time.Duration {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Errorf("dial: %v", err)
		return -1
	}
	defer c.Close()
	start := time.Now()
	closed := make(chan time.Duration, 1)
	go func() {
		_, _ = io.Copy(io.Discard, c) // returns when the server closes
		closed <- time.Since(start)
	}()
	_, _ = io.WriteString(c, "GET /api/v1/orders HTTP/1.1\r\nHost: x\r\n")
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case d := <-closed:
			return d
		case <-tick.C:
			if time.Since(start) > limit {
				return -1
			}
			_, _ = fmt.Fprintf(c, "X-Slow-%d: a\r\n", i)
		}
	}
}

// rawRequest writes head, then body in the background, on its own
// connection and reads the answer. The gateway answers 431 and 413 as soon as
// it knows, and closes while the client may still be writing: an HTTP client
// can then report the broken pipe instead of the answer, a raw one cannot.
func rawRequest(t *testing.T, addr, head, body string) result {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	go func() { _, _ = io.WriteString(c, head+body) }() // may fail once the gateway closed: expected
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	return result{Status: resp.StatusCode, Body: string(b)}
}
