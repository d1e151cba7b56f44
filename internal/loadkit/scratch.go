package loadkit

import (
	"context"
	"fmt"
	"os"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
)

// Scratch is what a load run makes and removes at its end: a temporary
// directory, PostgreSQL databases and the keys under a Redis prefix.
type Scratch struct {
	Dir    string
	Admin  *pgx.Conn // holds the tool's lock; creates and drops the databases
	Redis  *redis.Client
	Prefix string // the run's own Redis prefix

	dbURL     string
	databases []string // made by CreateDatabase, dropped by Remove
}

// NewScratch makes the directory (named after tool), connects to Redis and
// PostgreSQL and takes tool's advisory lock there, so a second run of the
// tool on the same PostgreSQL stops with a clear message instead of
// dropping the first one's databases (the lock lives as long as Admin). On
// an error too, the Scratch holds what was made: Remove it.
func NewScratch(ctx context.Context, tool, dbURL, redisURL, prefix string) (*Scratch, error) {
	s := &Scratch{Prefix: prefix, dbURL: dbURL}
	var err error
	if s.Dir, err = os.MkdirTemp("", tool+"-"); err != nil {
		return s, err
	}
	opt, err := redis.ParseURL(redisURL)
	if err != nil {
		return s, fmt.Errorf("parse REDIS_URL: %w", err)
	}
	s.Redis = redis.NewClient(opt)
	if err := s.Redis.Ping(ctx).Err(); err != nil {
		return s, fmt.Errorf("redis %s: %w", redisURL, err)
	}
	if s.Admin, err = pgx.Connect(ctx, dbURL); err != nil {
		return s, fmt.Errorf("postgresql: %w", err)
	}
	var locked bool
	if err := s.Admin.QueryRow(ctx, `SELECT pg_try_advisory_lock(hashtextextended($1, 0))`, tool).Scan(&locked); err != nil {
		return s, fmt.Errorf("advisory lock: %w", err)
	}
	if !locked {
		return s, fmt.Errorf("another %s run holds this PostgreSQL; wait for it to finish", tool)
	}
	return s, nil
}

// CreateDatabase drops name (a leftover of a killed run), creates it empty
// and returns its DSN. Remove drops it.
func (s *Scratch) CreateDatabase(ctx context.Context, name string) (dsn string, err error) {
	if _, err := s.Admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		return "", fmt.Errorf("drop %s: %w", name, err)
	}
	if _, err := s.Admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", fmt.Errorf("create %s: %w", name, err)
	}
	s.databases = append(s.databases, name)
	return WithDatabase(s.dbURL, name)
}

// Remove drops the databases, deletes the keys under the prefix and the
// directory, and closes the connections, logging what fails. It is for
// after a failure or an interrupt too; a nil s made nothing.
func (s *Scratch) Remove(ctx context.Context, logf func(format string, args ...any)) {
	if s == nil {
		return
	}
	if s.Admin != nil {
		for _, name := range s.databases {
			if _, err := s.Admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
				logf("drop database %s: %v", name, err)
			}
		}
		_ = s.Admin.Close(ctx)
	}
	if s.Redis != nil {
		if err := DeletePrefix(ctx, s.Redis, s.Prefix); err != nil {
			logf("delete Redis prefix %s: %v", s.Prefix, err)
		}
		_ = s.Redis.Close()
	}
	if s.Dir != "" {
		_ = os.RemoveAll(s.Dir)
	}
}
