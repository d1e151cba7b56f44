package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/stxgate/stxgate/internal/testgateway"
	"github.com/stxgate/stxgate/pkg/client"
)

// A client that hangs up while its request waits on PostgreSQL is one INFO
// access-log line with status 499 — never a 500, never ERROR — and what the
// request had not committed is not done. PostgreSQL holds the request: the
// test locks what it needs, so the request waits until its client has gone.
func TestClientGoneIsLogged499AtInfo(t *testing.T) {
	t.Run("PublicRead", func(t *testing.T) {
		g := testgateway.Start(t)
		hangUpWhileLocked(t, g, `LOCK TABLE orders IN ACCESS EXCLUSIVE MODE`, `FROM orders WHERE uuid = $1`,
			newRequest(t, http.MethodGet, g.URL+"/api/v1/orders/gone-1", nil), "/api/v1/orders/:uuid")
	})
	// The keyed middleware answers its handler's errors itself (to record
	// the key's usage with the real status): the same 499 there.
	t.Run("KeyedCancel", func(t *testing.T) {
		g := testgateway.Start(t)
		ctx := context.Background()
		k := testgateway.Key(t, testgateway.PrivA)
		owner := g.Wallet(t, k)
		key := testgateway.NewKey(t, owner, "bot", "create", "cancel")
		bot := g.Client(t, client.WithSigner(client.PrivateKeySigner{Key: k}), client.WithAPIKey(key.APIKey))
		if _, _, err := bot.CreateOrder(ctx, client.NewOrder{UUID: "gone-2", InputToken: testgateway.SBTC,
			OutputToken: testgateway.WSTX, AmountIn: "1000000", TargetPrice: "0.30", Direction: "gt",
			ConditionToken: testgateway.SBTC}); err != nil {
			t.Fatal(err)
		}
		req := newRequest(t, http.MethodPatch, g.URL+"/api/v1/orders/gone-2/cancel", map[string]string{"X-API-Key": key.APIKey})
		hangUpWhileLocked(t, g, `SELECT 1 FROM orders WHERE uuid = 'gone-2' FOR UPDATE`,
			`UPDATE orders SET status = 'cancelled'`, req, "/api/v1/orders/:uuid/cancel")
		o, _, err := bot.GetOrder(ctx, "gone-2")
		if err != nil || o.Status != "open" {
			t.Fatalf("after the hang-up the order is %+v (%v), want still open: the cancel never committed", o, err)
		}
	})
}

const goneRequestID = "client-gone-1"

func newRequest(t *testing.T, method, url string, headers map[string]string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	req.Header.Set("X-Request-Id", goneRequestID)
	return req
}

// hangUpWhileLocked holds lock in a transaction, sends req, waits until its
// statement (the SQL containing stmt) waits on the lock, hangs up, and checks
// the gateway's log: one INFO access-log line with status 499 for route, and
// no ERROR line at all.
func hangUpWhileLocked(t *testing.T, g *testgateway.Gateway, lock, stmt string, req *http.Request, route string) {
	t.Helper()
	ctx := context.Background()
	locker, err := pgx.Connect(ctx, g.Config.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer locker.Close(ctx)
	watcher, err := pgx.Connect(ctx, g.Config.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer watcher.Close(ctx)
	tx, err := locker.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, lock); err != nil {
		t.Fatal(err)
	}
	var lockerPID int
	if err := tx.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&lockerPID); err != nil {
		t.Fatal(err)
	}
	// The request's statements waiting on this test's lock: not other tests'
	// lock waits in the same database (packages' tests run in parallel), nor
	// the gateway's own maintenance (its first reconcile and expiry sweep run
	// as it starts and wait on a table lock too). Counting those, the test
	// hung up before the request reached PostgreSQL (no access-log line at
	// all) or waited for a sweep that waits out its statement timeout.
	blocked := func() int {
		var n int
		if err := watcher.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE $1 = ANY(pg_blocking_pids(pid)) AND strpos(query, $2) > 0`, lockerPID, stmt).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	reqCtx, hangUp := context.WithCancel(ctx)
	answered := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req.WithContext(reqCtx))
		if err == nil {
			resp.Body.Close()
			err = errors.New("answered with " + resp.Status)
		}
		answered <- err
	}()
	waitFor(t, "the request to wait on the lock", func() bool { return blocked() > 0 })
	hangUp()
	if err := <-answered; !errors.Is(err, context.Canceled) {
		t.Fatalf("client: %v, want its own cancellation", err)
	}
	waitFor(t, "the access-log line", func() bool { return strings.Contains(g.Logs.String(), `"status":499`) })
	// The driver's cancel request reaches PostgreSQL on a connection of its
	// own, after the handler has returned: released before it lands, the
	// lock would let the abandoned statement run after all.
	waitFor(t, "PostgreSQL to cancel the abandoned statement", func() bool { return blocked() == 0 })
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}

	var lines []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(g.Logs.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if m["level"] == "ERROR" {
			t.Errorf("ERROR line: %s", line)
		}
		if m["request_id"] == goneRequestID {
			lines = append(lines, m)
		}
	}
	if len(lines) != 1 {
		t.Fatalf("%d log lines for the request, want 1: %v", len(lines), lines)
	}
	l := lines[0]
	if l["level"] != "INFO" || l["msg"] != "request" || l["status"] != float64(499) ||
		l["route"] != route || l["method"] != req.Method {
		t.Fatalf("log line %v, want an INFO access-log line with status 499 for %s", l, route)
	}
	if ms, ok := l["latency_ms"].(float64); !ok || ms <= 0 {
		t.Fatalf("latency_ms %v, want the request's duration in milliseconds", l["latency_ms"])
	}
}

// waitFor polls cond every 10 ms for up to 10 s (a condition, not a sleep).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
