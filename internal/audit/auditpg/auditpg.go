// Package auditpg is the audit trail on PostgreSQL: the append-only table
// audit_events (migrations/00003_audit.sql).
package auditpg

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/stxgate/stxgate/internal/audit"
	"github.com/stxgate/stxgate/internal/fault"
)

// Store is an audit.Store on a pgx pool.
type Store struct {
	pool *pgxpool.Pool
}

// New returns a Store on pool (migrated by postgres.Migrate).
func New(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// Append implements audit.Store.
func (s *Store) Append(ctx context.Context, e *audit.Event) error {
	details, err := audit.EncodeDetails(e.Details)
	if err != nil {
		return err
	}
	const q = `INSERT INTO audit_events (at, wallet, event, key_id, order_uuid, actor, client_ip, request_id, details)
		VALUES ($1, $2, $3, NULLIF($4, ''), NULLIF($5, ''), $6, NULLIF($7, '')::inet, NULLIF($8, ''), $9::jsonb)
		RETURNING id`
	err = s.pool.QueryRow(ctx, q, e.At, e.Wallet, e.Event, e.KeyID, e.OrderUUID, e.Actor,
		e.ClientIP, e.RequestID, string(details)).Scan(&e.ID)
	if err != nil {
		return unavailable(fmt.Errorf("insert audit event: %w", err))
	}
	return nil
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
		return nil, unavailable(fmt.Errorf("select audit events: %w", err))
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
			return nil, unavailable(fmt.Errorf("scan audit event: %w", err))
		}
		if err := json.Unmarshal(details, &e.Details); err != nil {
			return nil, fmt.Errorf("audit event %d: details: %w", e.ID, err)
		}
		e.At = e.At.UTC()
		out = append(out, &e)
	}
	if err := rows.Err(); err != nil {
		return nil, unavailable(fmt.Errorf("select audit events: %w", err))
	}
	return out, nil
}

// unavailable marks errors of an unreachable or failing server so callers
// answer 503; SQL errors (a constraint, a refused statement) stay as they are.
func unavailable(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		for _, class := range []string{"08", "53", "57P"} { // connection, resources, operator intervention
			if strings.HasPrefix(pgErr.Code, class) {
				return fmt.Errorf("%w: %w", fault.ErrUnavailable, err)
			}
		}
		return err
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	return fmt.Errorf("%w: %w", fault.ErrUnavailable, err)
}
