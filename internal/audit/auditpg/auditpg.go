// Package auditpg is the audit trail on PostgreSQL: the append-only table
// audit_events (migrations/00003_audit.sql).
package auditpg

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/stxgate/stxgate/internal/audit"
	"github.com/stxgate/stxgate/internal/groupcommit"
	"github.com/stxgate/stxgate/internal/store/postgres"
)

// Store is an audit.Store on a pgx pool.
type Store struct {
	pool *pgxpool.Pool
	// Concurrent appends are group-committed: one INSERT and one commit for
	// every event that arrived while the previous batch was being written.
	appends *groupcommit.Batcher[row, int64]
}

// row is an event as the table stores it.
type row struct {
	e       *audit.Event
	details string
}

// New returns a Store on pool (migrated by postgres.Migrate).
func New(pool *pgxpool.Pool) *Store {
	s := &Store{pool: pool}
	s.appends = groupcommit.New(s.insert, groupcommit.Options[row]{Split: postgres.DataError})
	return s
}

// AppendStats tells how appends were batched (metrics).
func (s *Store) AppendStats() groupcommit.Stats { return s.appends.Stats() }

// Append implements audit.Store. It returns once the event is committed.
func (s *Store) Append(ctx context.Context, e *audit.Event) error {
	details, err := audit.EncodeDetails(e.Details)
	if err != nil {
		return err
	}
	id, err := s.appends.Do(ctx, row{e: e, details: string(details)})
	if err != nil {
		return postgres.Classify(fmt.Errorf("insert audit event: %w", err))
	}
	e.ID = id
	return nil
}

// insert writes a batch of events in one statement. PostgreSQL inserts the
// rows of INSERT … SELECT … ORDER BY in that order and returns them as it
// inserts them, so the ids come back in the batch's order (and increase).
func (s *Store) insert(ctx context.Context, batch []row) ([]int64, error) {
	const q = `INSERT INTO audit_events (at, wallet, event, key_id, order_uuid, actor, client_ip, request_id, details)
		SELECT at, wallet, event, NULLIF(key_id, ''), NULLIF(order_uuid, ''), actor,
			NULLIF(client_ip, '')::inet, NULLIF(request_id, ''), details::jsonb
		FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[])
			WITH ORDINALITY AS e(at, wallet, event, key_id, order_uuid, actor, client_ip, request_id, details, n)
		ORDER BY n
		RETURNING id`
	n := len(batch)
	at := make([]time.Time, n)
	cols := make([][]string, 8)
	for i := range cols {
		cols[i] = make([]string, n)
	}
	for i, r := range batch {
		e := r.e
		at[i] = e.At
		cols[0][i], cols[1][i], cols[2][i], cols[3][i] = e.Wallet, e.Event, e.KeyID, e.OrderUUID
		cols[4][i], cols[5][i], cols[6][i], cols[7][i] = e.Actor, e.ClientIP, e.RequestID, r.details
	}
	rows, err := s.pool.Query(ctx, q, at, cols[0], cols[1], cols[2], cols[3], cols[4], cols[5], cols[6], cols[7])
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

// List implements audit.Store. Each filter combination is its own statement
// text, so the planner uses the index made for it.
func (s *Store) List(ctx context.Context, q audit.Query) ([]*audit.Event, error) {
	const sel = `SELECT id, at, wallet, event, COALESCE(key_id, ''), COALESCE(order_uuid, ''), actor,
		COALESCE(host(client_ip), ''), COALESCE(request_id, ''), details
		FROM audit_events WHERE wallet = $1`
	args := []any{q.Wallet}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	sql := sel
	if q.KeyID != "" {
		sql += ` AND key_id = ` + arg(q.KeyID)
	}
	if q.BeforeID > 0 {
		sql += ` AND id < ` + arg(q.BeforeID)
	}
	limit := q.Limit
	if limit <= 0 || limit > audit.MaxLimit {
		limit = audit.MaxLimit
	}
	sql += ` ORDER BY id DESC LIMIT ` + arg(limit)
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, postgres.Classify(fmt.Errorf("select audit events: %w", err))
	}
	defer rows.Close()
	out := []*audit.Event{}
	for rows.Next() {
		var (
			e       audit.Event
			details []byte
		)
		if err := rows.Scan(&e.ID, &e.At, &e.Wallet, &e.Event, &e.KeyID, &e.OrderUUID, &e.Actor,
			&e.ClientIP, &e.RequestID, &details); err != nil {
			return nil, postgres.Classify(fmt.Errorf("scan audit event: %w", err))
		}
		if err := json.Unmarshal(details, &e.Details); err != nil {
			return nil, fmt.Errorf("audit event %d: details: %w", e.ID, err)
		}
		e.At = e.At.UTC()
		out = append(out, &e)
	}
	if err := rows.Err(); err != nil {
		return nil, postgres.Classify(fmt.Errorf("select audit events: %w", err))
	}
	return out, nil
}
