package faulttest

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// tcpProxy forwards loopback connections to target until cut: then it
// closes every open connection and closes new ones at once (a PostgreSQL
// that went away), until restored. Stalled instead, it drops every byte and
// holds every connection open (a network partition), until restored.
type tcpProxy struct {
	ln     net.Listener
	target string

	mu      sync.Mutex
	down    bool
	stalled bool
	conns   map[net.Conn]struct{}
}

func startProxy(t testing.TB, target string) *tcpProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	go p.serve()
	t.Cleanup(func() { _ = ln.Close(); p.cut() })
	return p
}

func (p *tcpProxy) addr() string { return p.ln.Addr().String() }

func (p *tcpProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		down, stalled := p.down, p.stalled
		if stalled {
			p.conns[c] = struct{}{}
		}
		p.mu.Unlock()
		if down {
			_ = c.Close()
			continue
		}
		if stalled { // accepted, never answered
			go func() { _, _ = io.Copy(io.Discard, c) }()
			continue
		}
		up, err := net.DialTimeout("tcp", p.target, 2*time.Second)
		if err != nil {
			_ = c.Close()
			continue
		}
		if !p.track(c, up) {
			continue
		}
		go p.pipe(c, up)
		go p.pipe(up, c)
	}
}

// track registers a connection pair unless the proxy was cut meanwhile.
func (p *tcpProxy) track(a, b net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.down {
		_ = a.Close()
		_ = b.Close()
		return false
	}
	p.conns[a], p.conns[b] = struct{}{}, struct{}{}
	return true
}

func (p *tcpProxy) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if err != nil {
			break
		}
		p.mu.Lock()
		stalled := p.stalled
		p.mu.Unlock()
		if stalled {
			continue // dropped on the floor
		}
		if _, err := dst.Write(buf[:n]); err != nil {
			break
		}
	}
	_ = dst.Close()
	_ = src.Close()
	p.mu.Lock()
	delete(p.conns, dst)
	delete(p.conns, src)
	p.mu.Unlock()
}

// cut drops every connection and refuses service until restore.
func (p *tcpProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	for c := range p.conns {
		_ = c.Close()
		delete(p.conns, c)
	}
}

// stall drops every byte from now on, holding the connections open.
func (p *tcpProxy) stall() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stalled = true
}

func (p *tcpProxy) restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stalled { // what was dropped broke those sessions: end them
		for c := range p.conns {
			_ = c.Close()
			delete(p.conns, c)
		}
	}
	p.down, p.stalled = false, false
}

// TestPostgresUnreachableUnderLoad: the TCP path to PostgreSQL is cut while
// clients create, execute (the relayer is slow, so some executions lose
// their database between claim and fill) and read orders. Meanwhile every
// request that needs PostgreSQL answers 503 "Service unavailable: a backing
// store is unreachable" (never 500); when the path returns the gateway
// recovers without a restart; reconciliation finishes the executions the
// cut interrupted. Afterwards every order row is whole and consistent: open
// or filled with the relayer's one txid, nothing settled twice, every 201
// stored, every 200's txid recorded.
func TestPostgresUnreachableUnderLoad(t *testing.T) {
	skipShort(t)
	rel := newRelayer(t, func(uuid string, call int) reply {
		if call == 0 {
			return reply{Delay: 150 * time.Millisecond}
		}
		return reply{}
	})
	env := gatewayEnv(t)
	proxy, direct := proxiedPostgres(t, env)
	relayedEnv(env, rel, time.Second)
	g, w, key := keyedGateway(t, "stxgate", env)

	phase := newPhases("1 up")
	fail := phase.fail
	tl := newTally()
	var (
		mu       sync.Mutex
		created  = map[string]int{}    // uuid → create status (0: no answer)
		filledBy = map[string]string{} // uuid → txid answered with 200
	)
	check := func(route string, startPhase string, r result) {
		p := phase.span(startPhase)
		tl.add(fmt.Sprintf("%-8s %s", route, p), r)
		switch {
		case r.Err != nil || r.Status >= 500 && r.Status != http.StatusServiceUnavailable:
			fail("%s (%s): %s", route, p, r)
		case r.Status == http.StatusServiceUnavailable && r.errorText() != errStoreDown:
			fail("%s (%s): %s, want the text %q", route, p, r, errStoreDown)
		case route == "retry": // a 503'd execute again: done now, or already done (by it or by reconciliation)
			if r.Status != http.StatusOK && r.Status != http.StatusServiceUnavailable && r.errorText() != "Order not open" {
				fail("execute retry (%s): %s", p, r)
			}
		case p == "1 up" || p == "4 recovered":
			if r.Status/100 != 2 {
				fail("%s (%s): %s", route, p, r)
			}
		case p == "2 down" && route != "self":
			if r.Status != http.StatusServiceUnavailable {
				fail("%s while PostgreSQL is unreachable: %s, want 503", route, r)
			}
		case p == "2 down": // a cached key answers without the database
			if r.Status != http.StatusOK {
				fail("self while PostgreSQL is unreachable: %s, want 200 from the key cache", r)
			}
		}
	}

	pools := make([][]string, 4)
	for i := range pools {
		pools[i] = createOrders(t, g, w, key, fmt.Sprintf("pre%d", i), 20)
	}
	stopLoad := startLoad(len(pools), func(i int) func(n int) {
		c := httpClient(false)
		h := map[string]string{"X-API-Key": key}
		pool, known := pools[i], pools[i][0]
		retry := false // pool[0]'s last execute got a 503
		return func(n int) {
			uuid := fmt.Sprintf("load%d-%d", i, n)
			p := phase.get()
			r := do(c, "POST", g.url+"/api/v1/orders/new", w.orderBody(t, uuid), h)
			check("create", p, r)
			mu.Lock()
			created[uuid] = r.Status
			mu.Unlock()
			if r.Status == http.StatusCreated {
				pool = append(pool, uuid)
			}
			if len(pool) > 0 {
				p = phase.get()
				r = do(c, "POST", g.url+"/api/v1/orders/"+pool[0]+"/execute", "", h)
				check(map[bool]string{false: "execute", true: "retry"}[retry], p, r)
				if r.Status == http.StatusOK {
					var b struct{ TxID string }
					_ = json.Unmarshal([]byte(r.Body), &b)
					mu.Lock()
					filledBy[pool[0]] = b.TxID
					mu.Unlock()
				}
				// A 503'd execute is tried again (400 if it or reconciliation got there first).
				if retry = r.Status == http.StatusServiceUnavailable; !retry {
					pool = pool[1:]
				}
			}
			p = phase.get()
			check("self", p, do(c, "GET", g.url+"/api/v1/api-keys/self", "", h))
			p = phase.get()
			check("get", p, do(c, "GET", g.url+"/api/v1/orders/"+known, "", nil))
		}
	})

	time.Sleep(800 * time.Millisecond)
	phase.set("1→2 cutting")
	proxy.cut()
	phase.set("2 down")
	time.Sleep(1500 * time.Millisecond)
	readyDown := do(httpClient(false), "GET", g.url+"/readyz", "", nil)
	phase.set("3 recovering")
	proxy.restore()
	recoveredIn := recovered(t, time.Now(), "ready after PostgreSQL returned", func() result {
		return do(httpClient(false), "GET", g.url+"/readyz", "", nil)
	}, is200)
	phase.set("4 recovered")
	time.Sleep(800 * time.Millisecond)
	stopLoad()

	// Reconciliation finishes what the cut interrupted; then the rows, read
	// straight from PostgreSQL, must be consistent.
	rows := waitNoExecuting(t, direct, 20*time.Second)
	checkSettledOnce(t, rows, rel, "open", "filled")
	lost, storedDespite503 := 0, 0
	for uuid, status := range created {
		_, stored := rows[uuid]
		switch {
		case status == http.StatusCreated && !stored:
			lost++
			t.Errorf("order %s answered 201 but is not stored", uuid)
		case status != http.StatusCreated && stored:
			storedDespite503++ // committed, answer lost with the connection: a retry gets 409
		}
	}
	for uuid, tx := range filledBy {
		if rows[uuid].Status != "filled" || rows[uuid].TxID != tx {
			t.Errorf("execute of %s answered txid %s; the row is %+v", uuid, tx, rows[uuid])
		}
	}
	reconciled := 0
	for _, o := range rows {
		if o.Status == "filled" && filledBy[o.UUID] == "" {
			reconciled++
		}
	}
	whole := countWholeOrders(t, direct, w.addr)
	if whole != len(rows) {
		t.Errorf("%d of %d order rows are not whole (fields as signed)", len(rows)-whole, len(rows))
	}

	tl.log(t, "PostgreSQL cut under load (4 clients; phases by request start → end):")
	t.Logf("readyz while cut: %s; ready again %s after the path returned, same process", readyDown, recoveredIn.Round(time.Millisecond))
	t.Logf("orders %v: %d rows, all whole; 201 but missing: %d; stored although the create got no 201: %d; "+
		"filled without a 200 (finished by reconciliation): %d; settlements per order ≤ 1",
		stateCounts(rows), len(rows), lost, storedDespite503, reconciled)
	phase.report(t)
	if total := tl.total(); total.S500 != 0 || total.Other5xx != 0 || total.Transport != 0 {
		t.Errorf("500s or dropped requests: %s", total)
	}
	for _, route := range []string{"create", "execute", "self", "get"} {
		for _, p := range []string{"1 up", "2 down", "4 recovered"} {
			c := tl.get(fmt.Sprintf("%-8s %s", route, p))
			if route == "execute" {
				c.Sent += tl.get(fmt.Sprintf("%-8s %s", "retry", p)).Sent
			}
			if c.Sent == 0 {
				t.Errorf("no %s request in phase %s: the load did not cover it", route, p)
			}
		}
	}
	if readyDown.Status != http.StatusServiceUnavailable {
		t.Errorf("readyz while cut: %s", readyDown)
	}
	select {
	case <-g.done:
		t.Errorf("the gateway exited")
	default:
	}
}

// countWholeOrders counts the orders whose stored fields are what the test
// signed: no row half-written.
func countWholeOrders(t testing.TB, dsn, owner string) int {
	t.Helper()
	ctx, conn, closeConn := dbConn(t, dsn)
	defer closeConn()
	var n int
	err := conn.QueryRow(ctx, `SELECT count(*) FROM orders WHERE owner = $1 AND recipient = $1 AND input_token = $2
		AND output_token = $3 AND condition_token = $2 AND amount_in = 1000000 AND target_price = '0.30' AND direction = 'gt'
		AND signature ~ '^[0-9a-f]{130}$' AND valid_to > valid_from AND created_by LIKE 'key:%'`, owner, sbtc, wstx).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestPostgresPartitioned: PostgreSQL does not refuse but goes silent (the
// path drops every packet and holds the connections open). Without a bound
// a request would wait for minutes, until TCP gives up; with
// STXGATE_REQUEST_TIMEOUT (1 s here) every request that needs PostgreSQL
// answers 503 within the bound, readyz names only PostgreSQL, a cached key is
// still served, nothing is half-written, and the gateway recovers when the
// path returns.
func TestPostgresPartitioned(t *testing.T) {
	skipShort(t)
	env := gatewayEnv(t)
	proxy, direct := proxiedPostgres(t, env)
	env["STXGATE_REQUEST_TIMEOUT"] = "1s"
	g, w, key := keyedGateway(t, "stxgate", env)
	createOrders(t, g, w, key, "part", 1)
	h := map[string]string{"X-API-Key": key}
	c := httpClient(false)
	if r := do(c, "GET", g.url+"/api/v1/api-keys/self", "", h); r.Status != http.StatusOK { // cache the key
		t.Fatalf("self: %s", r)
	}

	proxy.stall()
	type call struct{ name, method, path, body string }
	calls := []call{
		{"get order", "GET", "/api/v1/orders/part-0", ""},
		{"list orders", "GET", "/api/v1/orders?limit=5", ""},
		{"create order", "POST", "/api/v1/orders/new", w.orderBody(t, "part-new")},
		{"execute order", "POST", "/api/v1/orders/part-0/execute", ""},
		{"self (cached key)", "GET", "/api/v1/api-keys/self", ""},
		{"readyz", "GET", "/readyz", ""},
	}
	res := make([]result, len(calls))
	var wg sync.WaitGroup
	for i, cl := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res[i] = do(httpClient(false), cl.method, g.url+cl.path, cl.body, h)
		}()
	}
	wg.Wait()
	tl := newTally()
	for i, cl := range calls {
		r := res[i]
		tl.add(cl.name, r)
		took := r.End.Sub(r.Start)
		switch {
		case r.Err != nil:
			t.Errorf("%s while partitioned: %s", cl.name, r)
		case took > 6*time.Second: // 1 s deadline; generous for a loaded machine, far below "minutes"
			t.Errorf("%s while partitioned took %s", cl.name, took)
		case cl.name == "self (cached key)":
			if r.Status != http.StatusOK {
				t.Errorf("%s: %s, want 200 from the key cache", cl.name, r)
			}
		case cl.name == "readyz":
			if r.Status != http.StatusServiceUnavailable || !strings.Contains(r.Body, `"postgres":"unreachable"`) || !strings.Contains(r.Body, `"redis":"ok"`) {
				t.Errorf("readyz: %s, want 503 naming postgres only", r)
			}
		case r.Status != http.StatusServiceUnavailable || r.errorText() != errStoreDown:
			t.Errorf("%s while partitioned: %s, want 503 %q", cl.name, r, errStoreDown)
		}
	}
	tl.log(t, "PostgreSQL partitioned (packets dropped), STXGATE_REQUEST_TIMEOUT=1s:")
	for i, cl := range calls {
		t.Logf("  %-18s %d after %s", cl.name, res[i].Status, res[i].End.Sub(res[i].Start).Round(time.Millisecond))
	}

	proxy.restore()
	servingIn := recovered(t, time.Now(), "serving after the path returned", func() result {
		return do(c, "GET", g.url+"/api/v1/orders/part-0", "", nil)
	}, is200)
	t.Logf("serving again %s after the path returned", servingIn.Round(time.Millisecond))
	rows := ordersInDB(t, direct)
	if rows["part-0"].Status != "open" {
		t.Errorf("part-0 is %s after an execute refused before its claim; want open", rows["part-0"].Status)
	}
	if _, stored := rows["part-new"]; stored {
		t.Errorf("the create that never reached PostgreSQL is stored")
	}
	if total := tl.total(); total.S500 != 0 || total.Transport != 0 {
		t.Errorf("500s or dropped requests: %s", total)
	}
}
