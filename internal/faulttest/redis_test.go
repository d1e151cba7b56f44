package faulttest

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/stxgate/stxgate/internal/testenv"
)

// startRedis runs a throw-away redis-server on port (never the shared 6379).
func startRedis(t *testing.T, port int) *proc {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if testenv.InCI() {
			t.Fatalf("CI=true: redis-server not installed: %v", err)
		}
		t.Skipf("SKIPPED — redis-server not installed: %v", err)
	}
	p := startProc(t, "redis-server", bin, []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", t.TempDir()}, nil)
	rdb := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", port), MaxRetries: -1})
	defer rdb.Close()
	deadline := time.Now().Add(10 * time.Second)
	for rdb.Ping(context.Background()).Err() != nil {
		if time.Now().After(deadline) {
			t.Fatalf("redis-server on %d did not answer:\n%s", port, p.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return p
}

// TestRedisKilledUnderLoad: Redis is SIGKILLed while clients create,
// execute and read orders through two gateways — one with the default
// configuration (keyed writes fail closed) and one configured to fail open
// (STXGATE_FAIL_OPEN=keyed-write,...). While Redis is down the default
// gateway answers every order mutation 503 (never 500, never unlimited) and
// keeps serving keyed and public reads without counting them; the fail-open
// one serves writes unlimited, without rate-limit headers, as configured.
// Redis comes back empty on the same port: both gateways recover, without a
// restart, and count again.
func TestRedisKilledUnderLoad(t *testing.T) {
	skipShort(t)
	port := freePort(t)
	rds := startRedis(t, port)
	env := gatewayEnv(t)
	env["REDIS_URL"] = fmt.Sprintf("redis://127.0.0.1:%d/0", port)
	closed := startGateway(t, "stxgate(default)", env)
	openEnv := maps.Clone(env)
	delete(openEnv, "STXGATE_LISTEN")
	openEnv["STXGATE_FAIL_OPEN"] = "keyed-write,keyed-read,signed-read,public"
	open := startGateway(t, "stxgate(fail-open)", openEnv)
	w := mustWallet(t, privA)
	key := createKey(t, closed, w)

	phase := newPhases("1 up")
	fail := phase.fail
	tl := newTally()
	// check records r under gateway/route/phase and asserts what the phase demands.
	check := func(gw, route string, write bool, startPhase string, r result) {
		p := phase.span(startPhase) // crossed a fault boundary: only "never 500" applies
		tl.add(fmt.Sprintf("%-10s %-8s %s", gw, route, p), r)
		limited := r.Header.Get("X-RateLimit-Limit") != ""
		keyed := route != "get"
		switch {
		case r.Err != nil || r.Status >= 500 && r.Status != http.StatusServiceUnavailable:
			fail("%s %s (%s): %s", gw, route, p, r)
		case p == "1 up" || p == "4 recovered":
			if r.Status/100 != 2 || keyed && !limited {
				fail("%s %s (%s): %s limited=%v", gw, route, p, r, limited)
			}
		case p == "2 down" && gw == "default" && write:
			if r.Status != http.StatusServiceUnavailable || r.errorText() != errLimiterDown {
				fail("%s %s while Redis is down: %s, want 503 %q", gw, route, r, errLimiterDown)
			}
		case p == "2 down":
			if r.Status/100 != 2 || limited {
				fail("%s %s while Redis is down: %s limited=%v, want 2xx without limits", gw, route, r, limited)
			}
		}
	}

	// Each client keeps a queue of open orders: it creates one and executes
	// the oldest every round, so executes go on while creates are refused.
	type client struct {
		gw   *gateway
		name string
		pool []string
	}
	var clients []*client
	for i, g := range []*gateway{closed, open, closed, open} {
		name := map[*gateway]string{closed: "default", open: "fail-open"}[g]
		clients = append(clients, &client{gw: g, name: name, pool: createOrders(t, g, w, key, fmt.Sprintf("pre%d", i), 25)})
	}
	stopLoad := startLoad(len(clients), func(i int) func(n int) {
		cl, c := clients[i], httpClient(false)
		h := map[string]string{"X-API-Key": key}
		known := cl.pool[len(cl.pool)-1] // an order that exists, for the public read
		return func(n int) {
			u := fmt.Sprintf("load%d-%d", i, n)
			p := phase.get()
			r := do(c, "POST", cl.gw.url+"/api/v1/orders/new", w.orderBody(t, u), h)
			check(cl.name, "create", true, p, r)
			if r.Status == http.StatusCreated {
				cl.pool = append(cl.pool, u)
			}
			if len(cl.pool) > 0 {
				p = phase.get()
				r = do(c, "POST", cl.gw.url+"/api/v1/orders/"+cl.pool[0]+"/execute", "", h)
				check(cl.name, "execute", true, p, r)
				if r.Status == http.StatusOK {
					cl.pool = cl.pool[1:]
				}
			}
			p = phase.get()
			check(cl.name, "self", false, p, do(c, "GET", cl.gw.url+"/api/v1/api-keys/self", "", h))
			p = phase.get()
			check(cl.name, "get", false, p, do(c, "GET", cl.gw.url+"/api/v1/orders/"+known, "", nil))
		}
	})

	time.Sleep(800 * time.Millisecond)
	phase.set("1→2 killing")
	rds.kill()
	phase.set("2 down")
	time.Sleep(1200 * time.Millisecond)
	readyDown := do(httpClient(false), "GET", closed.url+"/readyz", "", nil)
	phase.set("2→3 restarting")
	startRedis(t, port) // same port, empty: nothing persisted
	phase.set("3 recovering")
	// Recovery: both gateways count keyed writes again, without a restart.
	recoverStart := time.Now()
	var recoveredIn time.Duration
	for _, g := range []*gateway{closed, open} {
		c := httpClient(false)
		recoveredIn = recovered(t, recoverStart, g.name+" counting again", func() result {
			return do(c, "GET", g.url+"/api/v1/api-keys/self", "", map[string]string{"X-API-Key": key})
		}, func(r result) bool { return r.Status == http.StatusOK && r.Header.Get("X-RateLimit-Limit") != "" })
	}
	phase.set("4 recovered")
	time.Sleep(800 * time.Millisecond)
	stopLoad()
	readyUp := do(httpClient(false), "GET", closed.url+"/readyz", "", nil)

	tl.log(t, "Redis SIGKILLed under load, then restarted empty on the same port (phases by request start → end):")
	t.Logf("readyz while down: %s; after: %s; both gateways counting again %s after Redis answered, same processes",
		readyDown, readyUp, recoveredIn.Round(time.Millisecond))
	phase.report(t)
	for _, gw := range []string{"default", "fail-open"} {
		for _, route := range []string{"create", "execute", "self", "get"} {
			for _, p := range []string{"1 up", "2 down", "4 recovered"} {
				if c := tl.get(fmt.Sprintf("%-10s %-8s %s", gw, route, p)); c.Sent == 0 {
					t.Errorf("no %s %s request in phase %s: the load did not cover it", gw, route, p)
				}
			}
		}
	}
	if total := tl.total(); total.S500 != 0 || total.Other5xx != 0 || total.Transport != 0 {
		t.Errorf("500s or dropped requests: %s", total)
	}
	if c := tl.get(fmt.Sprintf("%-10s %-8s %s", "default", "create", "2 down")); c.S2xx != 0 {
		t.Errorf("order created without a limiter on the fail-closed gateway: %s", c)
	}
	if readyDown.Status != http.StatusServiceUnavailable || readyUp.Status != http.StatusOK {
		t.Errorf("readyz: down %s, up %s", readyDown, readyUp)
	}
	for _, g := range []*gateway{closed, open} {
		select {
		case <-g.done:
			t.Errorf("%s exited", g.name)
		default:
		}
	}
}
