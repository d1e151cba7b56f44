// Package postgres is the production store on PostgreSQL (pgx/v5). SQL sits
// beside the method that runs it; driver errors become domain sentinels, and
// an unreachable server becomes fault.ErrUnavailable (answered with 503).
package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/stxgate/stxgate/internal/fault"
	"github.com/stxgate/stxgate/internal/groupcommit"
	"github.com/stxgate/stxgate/internal/order"
	"github.com/stxgate/stxgate/migrations"
)

// DBTX is what both a pool and a transaction can run, so queries work in either.
type DBTX interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Store implements the domain stores on a pgx pool.
type Store struct {
	pool *pgxpool.Pool
	// Claims and fills are group-committed: concurrent executions share one
	// statement and one commit (orders.go).
	claims *groupcommit.Batcher[claimReq, *order.Order]
	fills  *groupcommit.Batcher[fillReq, *order.Order]
	// claimFills: both in one statement, for instant settlement (ClaimFill).
	claimFills *groupcommit.Batcher[claimFillReq, *order.Order]
	poke       chan struct{} // a change with order events committed (RunNotifier)
}

// PoolConfig tunes the pool; zero values keep pgx defaults.
type PoolConfig struct {
	MaxConns         int32
	MinConns         int32
	StatementTimeout time.Duration
	MaxConnLifetime  time.Duration
	MaxConnIdleTime  time.Duration
	ReadOnly         bool // replica pools: every transaction read-only, so a misrouted write fails loudly
}

// Connect opens a pool on dsn and checks it answers.
func Connect(ctx context.Context, dsn string, pc PoolConfig) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("parse DATABASE_URL: %w", err)
	}
	if pc.MaxConns > 0 {
		cfg.MaxConns = pc.MaxConns
	}
	if pc.MinConns > 0 {
		cfg.MinConns = pc.MinConns
	}
	if pc.StatementTimeout > 0 {
		cfg.ConnConfig.RuntimeParams["statement_timeout"] = fmt.Sprint(pc.StatementTimeout.Milliseconds())
	}
	if pc.MaxConnLifetime > 0 {
		cfg.MaxConnLifetime = pc.MaxConnLifetime
	}
	if pc.MaxConnIdleTime > 0 {
		cfg.MaxConnIdleTime = pc.MaxConnIdleTime
	}
	if pc.ReadOnly {
		cfg.ConnConfig.RuntimeParams["default_transaction_read_only"] = "on"
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open pool: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("ping postgres: %w", err)
	}
	return pool, nil
}

// New returns a Store on pool.
func New(pool *pgxpool.Pool) *Store {
	s := &Store{pool: pool, poke: make(chan struct{}, 1)}
	s.claims = groupcommit.New(s.claimBatch, groupcommit.Options[claimReq]{
		Key: func(r claimReq) string { return r.uuid }, Split: DataError})
	s.fills = groupcommit.New(s.fillBatch, groupcommit.Options[fillReq]{
		Key: func(r fillReq) string { return r.uuid }, Split: DataError})
	s.claimFills = groupcommit.New(s.claimFillBatch, groupcommit.Options[claimFillReq]{
		Key: func(r claimFillReq) string { return r.claim.uuid }, Split: DataError})
	return s
}

// Pool exposes the pool for health checks.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Migrate applies every pending migration. Gateways starting together are
// serialised by a PostgreSQL advisory lock. Migrations numbered below the
// database's version are applied too (out of order): features developed side
// by side land with numbers that do not follow their landing order (00006
// and 00007 landed after 00010 and 00011), and a database migrated in between
// must still take them. Each such migration is written to apply in any order.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return fmt.Errorf("migration lock: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, migrations.FS, goose.WithSessionLocker(locker),
		goose.WithAllowOutofOrder(true))
	if err != nil {
		return fmt.Errorf("migration provider: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("apply migrations: %w", err)
	}
	return nil
}

// WithTx runs fn in a transaction; fn's error rolls back. Rollback runs under
// context.WithoutCancel so a cancelled request cannot leave a transaction open.
func (s *Store) WithTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return classify(fmt.Errorf("begin: %w", err))
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback(context.WithoutCancel(ctx))
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return classify(fmt.Errorf("commit: %w", err))
	}
	return nil
}

// Classify is the one rule for PostgreSQL errors, for every store on
// PostgreSQL (this one, auditpg): it marks errors caused by an unreachable or
// failing server with fault.ErrUnavailable (callers answer 503); SQL errors
// (constraints, syntax) stay as they are.
func Classify(err error) error { return classify(err) }

func classify(err error) error {
	if err == nil || errors.Is(err, pgx.ErrNoRows) || errors.Is(err, context.Canceled) {
		return err
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// 08: connection exception, 53: insufficient resources,
		// 57P: operator intervention (shutdown, crash, cannot connect now).
		if strings.HasPrefix(pgErr.Code, "08") || strings.HasPrefix(pgErr.Code, "53") || strings.HasPrefix(pgErr.Code, "57P") {
			return fmt.Errorf("%w: %w", fault.ErrUnavailable, err)
		}
		return err
	}
	var connErr *pgconn.ConnectError
	var netErr net.Error
	if errors.As(err, &connErr) || errors.As(err, &netErr) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || pgconn.SafeToRetry(err) || pgconn.Timeout(err) {
		return fmt.Errorf("%w: %w", fault.ErrUnavailable, err)
	}
	return err
}

// DataError reports whether err is PostgreSQL refusing the statement's data
// (a constraint, a malformed value), not an unreachable or failing server: a
// group-committed batch that fails so is retried one input at a time, so one
// bad input fails alone (the order store's batches and auditpg's).
func DataError(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && !errors.Is(classify(err), fault.ErrUnavailable)
}

func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505"
}
