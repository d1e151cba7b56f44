// Package loadkit holds what the load tools share (cmd/stxgate-bench and
// cmd/stxgate-soak): their processes, database, Redis and port plumbing and
// the order every load order is made from. The tests' internal/testenv uses
// its database and Redis plumbing too. The gateway never imports it.
package loadkit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/stxgate/stxgate/pkg/ordersig"
)

// EnvOr is the environment variable name, or def when it is unset or empty.
func EnvOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// Logf reports progress on stderr, each line after the time of day (the
// tools print their report on stdout).
func Logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s  "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

// WriteReport writes report to path, making its directory.
func WriteReport(path, report string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(report), 0o644)
}

// RandomHex is n random bytes, hex (run-unique Redis prefixes).
func RandomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// WithDatabase is dsn pointing at database name.
func WithDatabase(dsn, name string) (string, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return "", fmt.Errorf("parse DATABASE_URL: %w", err)
	}
	u.Path = "/" + name
	return u.String(), nil
}

// FreeLoopbackAddr picks a free port on 127.0.0.1.
func FreeLoopbackAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// DeletePrefix removes every key under prefix (a run's own prefix only).
func DeletePrefix(ctx context.Context, rdb *redis.Client, prefix string) error {
	iter := rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	var batch []string
	for iter.Next(ctx) {
		if batch = append(batch, iter.Val()); len(batch) == 1000 {
			if err := rdb.Unlink(ctx, batch...).Err(); err != nil {
				return err
			}
			batch = batch[:0]
		}
	}
	if err := iter.Err(); err != nil {
		return err
	}
	if len(batch) > 0 {
		return rdb.Unlink(ctx, batch...).Err()
	}
	return nil
}

// UsedMemory is INFO memory's used_memory.
func UsedMemory(ctx context.Context, rdb *redis.Client) (int64, error) {
	s, err := rdb.Info(ctx, "memory").Result()
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(s, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "used_memory:"); ok {
			return strconv.ParseInt(v, 10, 64)
		}
	}
	return 0, fmt.Errorf("no used_memory in INFO memory")
}

// Order is the order every load order shares but for owner, uuid and window:
// sBTC in, wSTX out, the owner its own recipient.
func Order(owner, uuid string, from, to time.Time) ordersig.Order {
	return ordersig.Order{
		Owner: owner, Recipient: owner,
		InputToken:     "SM3VDXK3WZZSA84XXFKAFAF15NNZX32CTSG82JFQ4.sbtc-token",
		ConditionToken: "SM3VDXK3WZZSA84XXFKAFAF15NNZX32CTSG82JFQ4.sbtc-token",
		OutputToken:    "SP102V8P0F7JX67ARQ77WEA3D3CFB5XW39REDT0AM.token-wstx",
		AmountIn:       "1000000", TargetPrice: "0.000123", Direction: "gt",
		UUID: uuid, ValidFrom: from.Unix(), ValidTo: to.Unix(),
	}
}

// CopyOpenOrders inserts n open orders into db's orders table exactly as
// the order service stores an API-created one (same columns, canonical
// lower-case RSV signature), much faster than the API: order i is what
// row(i) gives, signed sig and created by createdBy ("key:<id>",
// "wallet:<address>").
func CopyOpenOrders(ctx context.Context, db *pgxpool.Pool, n int, row func(i int) (o ordersig.Order, sig, createdBy string)) error {
	now := time.Now().UTC().Truncate(time.Microsecond)
	cols := []string{"uuid", "owner", "input_token", "output_token", "amount_in", "target_price", "direction",
		"condition_token", "recipient", "signature", "valid_from", "valid_to", "status", "created_by",
		"attempts", "created_at", "updated_at"}
	src := pgx.CopyFromSlice(n, func(i int) ([]any, error) {
		o, sig, createdBy := row(i)
		amount, err := strconv.ParseInt(o.AmountIn, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("order %s: amount in %q: %w", o.UUID, o.AmountIn, err)
		}
		return []any{o.UUID, o.Owner, o.InputToken, o.OutputToken, amount, o.TargetPrice, o.Direction,
			o.ConditionToken, o.Recipient, strings.ToLower(sig), time.Unix(o.ValidFrom, 0).UTC(),
			time.Unix(o.ValidTo, 0).UTC(), "open", createdBy, 0, now, now}, nil
	})
	if _, err := db.CopyFrom(ctx, pgx.Identifier{"orders"}, cols, src); err != nil {
		return fmt.Errorf("copy orders: %w", err)
	}
	return nil
}
