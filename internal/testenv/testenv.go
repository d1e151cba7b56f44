// Package testenv gives tests real PostgreSQL and Redis: DATABASE_URL /
// REDIS_URL when set (CI), else the local default ports when they answer,
// else containers via testcontainers-go when a Docker engine runs, else the
// test is skipped loudly — but under CI=true it fails instead.
//
// Each call hands out an isolated resource: a fresh database (dropped at the
// end of the test) or a fresh Redis key prefix (its keys deleted at the end).
package testenv

import (
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
	tcpostgres "github.com/testcontainers/testcontainers-go/modules/postgres"
	tcredis "github.com/testcontainers/testcontainers-go/modules/redis"

	"github.com/stxgate/stxgate/internal/loadkit"
)

const (
	localPostgres = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	localRedis    = "redis://127.0.0.1:6379/0"
)

// InCI reports whether missing infrastructure must fail tests instead of skipping them.
func InCI() bool { return os.Getenv("CI") == "true" || os.Getenv("CI") == "1" }

func unavailable(t testing.TB, what string, err error) {
	t.Helper()
	msg := fmt.Sprintf("%s unavailable: %v (set %s, start the local service, or run a Docker engine)",
		what, err, map[string]string{"PostgreSQL": "DATABASE_URL", "Redis": "REDIS_URL"}[what])
	if InCI() {
		t.Fatalf("CI=true: %s", msg)
	}
	t.Skipf("SKIPPED — %s", msg)
}

var (
	pgOnce    sync.Once
	pgBaseDSN string
	pgErr     error

	redisOnce sync.Once
	redisURL  string
	redisErr  error
)

// PostgresDSN creates a fresh, empty database for t and returns its DSN.
// The database is dropped when t ends.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	pgOnce.Do(func() { pgBaseDSN, pgErr = findPostgres() })
	if pgErr != nil {
		unavailable(t, "PostgreSQL", pgErr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, pgBaseDSN)
	if err != nil {
		unavailable(t, "PostgreSQL", err)
	}
	defer admin.Close(ctx)
	name := "stxgate_test_" + loadkit.RandomHex(6)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, pgBaseDSN)
		if err != nil {
			t.Logf("drop test database %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Logf("drop test database %s: %v", name, err)
		}
	})
	dsn, err := loadkit.WithDatabase(pgBaseDSN, name)
	if err != nil {
		t.Fatal(err)
	}
	return dsn
}

// Redis returns a client and a fresh key prefix for t; keys under the prefix
// are deleted when t ends.
func Redis(t testing.TB) (*redis.Client, string) {
	t.Helper()
	opt, err := redis.ParseURL(RedisURL(t))
	if err != nil {
		t.Fatalf("parse REDIS_URL: %v", err)
	}
	rdb := redis.NewClient(opt)
	prefix := "stxgate-test:" + loadkit.RandomHex(6) + ":"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := loadkit.DeletePrefix(ctx, rdb, prefix); err != nil {
			t.Logf("delete Redis prefix %s: %v", prefix, err)
		}
		_ = rdb.Close()
	})
	return rdb, prefix
}

// RedisURL is the URL of the Redis the tests use (for starting whole gateways).
func RedisURL(t testing.TB) string {
	t.Helper()
	redisOnce.Do(func() { redisURL, redisErr = findRedis() })
	if redisErr != nil {
		unavailable(t, "Redis", redisErr)
	}
	return redisURL
}

func findPostgres() (string, error) {
	return find("DATABASE_URL", localPostgres, "127.0.0.1:5432", pingPostgres, func(ctx context.Context) (string, error) {
		c, err := tcpostgres.Run(ctx, "postgres:15-alpine",
			tcpostgres.WithDatabase("test"), tcpostgres.WithUsername("postgres"), tcpostgres.WithPassword("postgres"),
			tcpostgres.BasicWaitStrategies())
		if err != nil {
			return "", fmt.Errorf("start postgres container: %w", err)
		}
		return c.ConnectionString(ctx, "sslmode=disable")
	})
}

func findRedis() (string, error) {
	return find("REDIS_URL", localRedis, "127.0.0.1:6379", pingRedis, func(ctx context.Context) (string, error) {
		c, err := tcredis.Run(ctx, "redis:7-alpine")
		if err != nil {
			return "", fmt.Errorf("start redis container: %w", err)
		}
		return c.ConnectionString(ctx)
	})
}

// find is the URL in the environment variable env (it must answer ping),
// else local when it answers, else the URL of the container start runs
// when a Docker engine does.
func find(env, local, localAddr string, ping func(string) error, start func(context.Context) (string, error)) (string, error) {
	if u := os.Getenv(env); u != "" {
		return u, ping(u)
	}
	if err := ping(local); err == nil {
		return local, nil
	}
	if !dockerAvailable() {
		return "", fmt.Errorf("%s unset, nothing on %s, no Docker engine", env, localAddr)
	}
	return start(context.Background())
}

func pingPostgres(dsn string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	return conn.Close(ctx)
}

func pingRedis(u string) error {
	opt, err := redis.ParseURL(u)
	if err != nil {
		return err
	}
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	return rdb.Ping(ctx).Err()
}

// dockerAvailable checks for a Docker engine socket that answers, without
// letting testcontainers panic or hang when there is none.
func dockerAvailable() bool {
	host := os.Getenv("DOCKER_HOST")
	network, addr := "unix", "/var/run/docker.sock"
	if strings.HasPrefix(host, "unix://") {
		addr = strings.TrimPrefix(host, "unix://")
	} else if strings.HasPrefix(host, "tcp://") {
		network, addr = "tcp", strings.TrimPrefix(host, "tcp://")
	}
	conn, err := net.DialTimeout(network, addr, time.Second)
	if err != nil {
		return false
	}
	_ = conn.Close()
	return true
}
