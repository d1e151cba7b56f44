package logging_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/stxgate/stxgate/internal/config"
	"github.com/stxgate/stxgate/internal/logging"
	"github.com/stxgate/stxgate/internal/syncbuf"
)

func records(t *testing.T, s string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not a JSON line: %q", line)
		}
		out = append(out, m)
	}
	return out
}

func TestDurationsInMilliseconds(t *testing.T) {
	var buf bytes.Buffer
	log := logging.New(&buf, slog.LevelInfo, nil)
	log.Info("request", slog.Duration("latency", 1234567*time.Nanosecond), slog.Duration("timeout_ms", 15*time.Second),
		slog.Group("db", slog.Duration("wait", 2*time.Millisecond)))
	got := records(t, buf.String())[0]
	if got["latency_ms"] != 1.234 || got["timeout_ms"] != 15000.0 || got["db"].(map[string]any)["wait_ms"] != 2.0 {
		t.Fatalf("got %v", got)
	}
	if _, ok := got["latency"]; ok {
		t.Fatalf("the duration is also logged under its bare key: %v", got)
	}
}

// Secrets in the message, a string or an error value never reach the log.
func TestSecretsScrubbed(t *testing.T) {
	cfg, err := config.Load(nil, func(k string) string {
		return map[string]string{
			"DATABASE_URL":           "postgres://gw:dbPassw0rd!@db:5432/gw",
			"STXGATE_OPERATOR_TOKEN": "op_3f9a0c1d5e7b2468ace0bdf13579abcdef0123456789",
		}[k]
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	log := logging.New(&buf, slog.LevelInfo, cfg.Scrub)
	log.Error("connect postgres://gw:dbPassw0rd!@db:5432/gw failed",
		slog.Any("error", errors.New(`password authentication failed: "dbPassw0rd!"`)),
		slog.String("header", "Bearer op_3f9a0c1d5e7b2468ace0bdf13579abcdef0123456789"),
		slog.String("dsn", "host=db password=other user=gw"))
	out := buf.String()
	for _, secret := range []string{"dbPassw0rd!", "op_3f9a0c1d5e7b2468ace0bdf13579abcdef0123456789", "password=other"} {
		if strings.Contains(out, secret) {
			t.Fatalf("the log shows %q: %s", secret, out)
		}
	}
	got := records(t, out)[0]
	if got["msg"] != "connect postgres://xxxxx@db:5432/gw failed" || got["error"] != `password authentication failed: "xxxxx"` ||
		got["header"] != "Bearer xxxxx" || got["dsn"] != "host=db password=xxxxx user=gw" {
		t.Fatalf("got %v", got)
	}
}

// go-redis's own lines (here: a pool that cannot dial) are JSON records.
func TestRedisLinesAreJSON(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now

	var buf syncbuf.Buffer
	redis.SetLogger(logging.Redis(logging.New(&buf, slog.LevelInfo, nil)))
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	defer rdb.Close()
	if err := rdb.Ping(context.Background()).Err(); err == nil {
		t.Fatal("ping succeeded")
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(buf.String(), "failed to dial") && time.Now().Before(deadline) {
		_ = rdb.Ping(context.Background()).Err()
		time.Sleep(20 * time.Millisecond)
	}
	var line map[string]any
	for _, r := range records(t, buf.String()) {
		if strings.Contains(r["msg"].(string), "failed to dial") {
			line = r
		}
	}
	if line == nil || line["level"] != "WARN" || line["component"] != "go-redis" || !strings.HasPrefix(line["msg"].(string), "redis: connection pool: failed to dial") {
		t.Fatalf("no go-redis JSON record: %s", buf.String())
	}
}
