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
)

// A client that hangs up while its request waits on PostgreSQL is one INFO
// access-log line with status 499 and the cause — never a 500, never ERROR.
// PostgreSQL holds the request: the test locks the orders table, so the read
// waits until the client has gone.
func TestClientGoneIsLogged499AtInfo(t *testing.T) {
	g := testgateway.Start(t)
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
	if _, err := tx.Exec(ctx, `LOCK TABLE orders IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}

	const requestID = "client-gone-1"
	reqCtx, hangUp := context.WithCancel(ctx)
	req, _ := http.NewRequestWithContext(reqCtx, http.MethodGet, g.URL+"/api/v1/orders/gone-1", nil)
	req.Header.Set("X-Request-Id", requestID)
	answered := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			err = errors.New("answered with " + resp.Status)
		}
		answered <- err
	}()

	waitFor(t, "the read to wait on the table lock", func() bool {
		var n int
		err := watcher.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock' AND query ILIKE '%FROM orders%'`).Scan(&n)
		return err == nil && n > 0
	})
	hangUp()
	if err := <-answered; !errors.Is(err, context.Canceled) {
		t.Fatalf("client: %v, want its own cancellation", err)
	}
	waitFor(t, "the access-log line", func() bool { return strings.Contains(g.Logs.String(), `"status":499`) })
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
		if m["request_id"] == requestID {
			lines = append(lines, m)
		}
	}
	if len(lines) != 1 {
		t.Fatalf("%d log lines for the request, want 1: %v", len(lines), lines)
	}
	l := lines[0]
	if l["level"] != "INFO" || l["msg"] != "request" || l["status"] != float64(499) ||
		l["route"] != "/api/v1/orders/:uuid" || l["method"] != "GET" {
		t.Fatalf("log line %v, want an INFO access-log line with status 499", l)
	}
	if cause, _ := l["cause"].(string); !strings.Contains(cause, "context canceled") {
		t.Fatalf("cause %q, want the cancellation", cause)
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
