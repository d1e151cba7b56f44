package postgres

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/stxgate/stxgate/internal/apikey"
	"github.com/stxgate/stxgate/internal/audit"
)

const keyColumns = `id, wallet_address, name, key_hash, key_prefix, permissions, status,
	rate_limit_minute, rate_limit_hour, rate_limit_day, ip_allowlist, expires_at,
	created_at, updated_at, revoked_at, last_used_at,
	total_requests, successful_requests, failed_requests,
	creation_count, execution_count, cancellation_count, rotated_from, rotated_to`

func scanKey(row pgx.Row) (*apikey.Key, error) {
	var (
		k     apikey.Key
		hash  []byte
		perms []string
		allow []netip.Prefix
		from  *string
		to    *string
	)
	err := row.Scan(&k.ID, &k.WalletAddress, &k.Name, &hash, &k.Prefix, &perms, &k.Status,
		&k.Limits.Minute, &k.Limits.Hour, &k.Limits.Day, &allow, &k.ExpiresAt,
		&k.CreatedAt, &k.UpdatedAt, &k.RevokedAt, &k.LastUsedAt,
		&k.Usage.TotalRequests, &k.Usage.SuccessfulRequests, &k.Usage.FailedRequests,
		&k.Usage.CreationCount, &k.Usage.ExecutionCount, &k.Usage.CancellationCount, &from, &to)
	if err != nil {
		return nil, err
	}
	if from != nil {
		k.RotatedFrom = *from
	}
	if to != nil {
		k.RotatedTo = *to
	}
	if len(hash) != len(k.Hash) {
		return nil, fmt.Errorf("key %s: stored hash has %d bytes", k.ID, len(hash))
	}
	copy(k.Hash[:], hash)
	for _, p := range perms {
		k.Permissions = append(k.Permissions, apikey.Permission(p))
	}
	k.IPAllowlist = allow
	k.CreatedAt, k.UpdatedAt = k.CreatedAt.UTC(), k.UpdatedAt.UTC()
	return &k, nil
}

func permStrings(ps []apikey.Permission) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = string(p)
	}
	return out
}

func allowlist(ps []netip.Prefix) []netip.Prefix {
	if ps == nil {
		return []netip.Prefix{} // NOT NULL column: an empty array, never NULL
	}
	return ps
}

// InsertKey implements apikey.Store. The per-wallet advisory lock makes the
// count-then-insert atomic, so concurrent creates cannot exceed maxActive.
func (s *Store) InsertKey(ctx context.Context, k *apikey.Key, maxActive int, ev *audit.Event) error {
	return s.WithTx(ctx, func(tx pgx.Tx) error {
		if maxActive > 0 && k.Status == apikey.StatusActive {
			const lockWallet = `SELECT pg_advisory_xact_lock(hashtextextended('api_keys:' || $1, 0))`
			if _, err := tx.Exec(ctx, lockWallet, k.WalletAddress); err != nil {
				return classify(fmt.Errorf("lock wallet: %w", err))
			}
			const countActive = `SELECT count(*) FROM api_keys
				WHERE wallet_address = $1 AND status = 'active' AND (expires_at IS NULL OR expires_at > $2)
				AND rotated_to IS NULL`
			var n int
			if err := tx.QueryRow(ctx, countActive, k.WalletAddress, k.CreatedAt).Scan(&n); err != nil {
				return classify(fmt.Errorf("count active keys: %w", err))
			}
			if n >= maxActive {
				return apikey.ErrTooManyKeys
			}
		}
		return insertKey(ctx, tx, k, ev)
	})
}

// insertKey writes k and its event (if any) in tx.
func insertKey(ctx context.Context, tx pgx.Tx, k *apikey.Key, ev *audit.Event) error {
	const insert = `INSERT INTO api_keys (` + keyColumns + `)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,
			NULLIF($23, ''), NULLIF($24, ''))`
	_, err := tx.Exec(ctx, insert, k.ID, k.WalletAddress, k.Name, k.Hash[:], k.Prefix,
		permStrings(k.Permissions), string(k.Status),
		k.Limits.Minute, k.Limits.Hour, k.Limits.Day, allowlist(k.IPAllowlist), k.ExpiresAt,
		k.CreatedAt, k.UpdatedAt, k.RevokedAt, k.LastUsedAt,
		k.Usage.TotalRequests, k.Usage.SuccessfulRequests, k.Usage.FailedRequests,
		k.Usage.CreationCount, k.Usage.ExecutionCount, k.Usage.CancellationCount,
		k.RotatedFrom, k.RotatedTo)
	if isUniqueViolation(err) {
		return apikey.ErrDuplicate
	}
	if err != nil {
		return classify(fmt.Errorf("insert key: %w", err))
	}
	if ev != nil {
		ev.Wallet, ev.KeyID = k.WalletAddress, k.ID
		return appendAudit(ctx, tx, ev)
	}
	return nil
}

// KeyByHash implements apikey.Store.
func (s *Store) KeyByHash(ctx context.Context, h apikey.Hash) (*apikey.Key, error) {
	const q = `SELECT ` + keyColumns + ` FROM api_keys WHERE key_hash = $1`
	return s.oneKey(ctx, s.pool, q, h[:])
}

// KeyByID implements apikey.Store.
func (s *Store) KeyByID(ctx context.Context, id string) (*apikey.Key, error) {
	const q = `SELECT ` + keyColumns + ` FROM api_keys WHERE id = $1`
	return s.oneKey(ctx, s.pool, q, id)
}

func (s *Store) oneKey(ctx context.Context, db DBTX, q string, arg any) (*apikey.Key, error) {
	k, err := scanKey(db.QueryRow(ctx, q, arg))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, apikey.ErrNotFound
	}
	if err != nil {
		return nil, classify(fmt.Errorf("select key: %w", err))
	}
	return k, nil
}

// KeysByWallet implements apikey.Store.
func (s *Store) KeysByWallet(ctx context.Context, wallet string) ([]*apikey.Key, error) {
	const q = `SELECT ` + keyColumns + ` FROM api_keys WHERE wallet_address = $1 ORDER BY created_at, id`
	rows, err := s.pool.Query(ctx, q, wallet)
	if err != nil {
		return nil, classify(fmt.Errorf("select keys: %w", err))
	}
	defer rows.Close()
	var out []*apikey.Key
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, classify(fmt.Errorf("scan key: %w", err))
		}
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, classify(fmt.Errorf("select keys: %w", err))
	}
	return out, nil
}

// UpdateKey implements apikey.Store: SELECT … FOR UPDATE, fn, UPDATE, in one transaction.
func (s *Store) UpdateKey(ctx context.Context, id string, fn func(*apikey.Key) error, ev *audit.Event) (*apikey.Key, error) {
	var out *apikey.Key
	err := s.WithTx(ctx, func(tx pgx.Tx) error {
		k, err := s.lockKey(ctx, tx, id)
		if err != nil {
			return err
		}
		from, to := k.RotatedFrom, k.RotatedTo // immutable here: RotateKey sets them
		if err := fn(k); err != nil {
			return err
		}
		k.RotatedFrom, k.RotatedTo = from, to
		if err := updateKey(ctx, tx, id, k); err != nil {
			return err
		}
		if ev != nil {
			ev.Wallet, ev.KeyID = k.WalletAddress, k.ID
			if err := appendAudit(ctx, tx, ev); err != nil {
				return err
			}
		}
		out = k
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// RotateKey implements apikey.Store: the old key's row lock, fn, the old
// key's update, the new key's insert and both events, in one transaction.
// The wallet's active-key count needs no lock: a rotation ends one counted
// key (fn refuses a key that is not active) and adds one.
func (s *Store) RotateKey(ctx context.Context, id string, next *apikey.Key, fn func(old, next *apikey.Key) error, rotated, created *audit.Event) (*apikey.Key, error) {
	var out *apikey.Key
	err := s.WithTx(ctx, func(tx pgx.Tx) error {
		old, err := s.lockKey(ctx, tx, id)
		if err != nil {
			return err
		}
		oldID, oldHash, wallet := old.ID, old.Hash, old.WalletAddress
		if err := fn(old, next); err != nil {
			return err
		}
		old.ID, old.Hash, old.WalletAddress = oldID, oldHash, wallet
		old.RotatedTo, next.RotatedFrom, next.WalletAddress = next.ID, old.ID, old.WalletAddress
		// The new key first: the old key's rotated_to references it. The
		// events follow in the order of the story: rotated, then created.
		if err := insertKey(ctx, tx, next, nil); err != nil {
			return err
		}
		if err := updateKey(ctx, tx, id, old); err != nil {
			return err
		}
		for _, e := range apikey.RotationEvents(old, next, rotated, created) {
			if err := appendAudit(ctx, tx, e); err != nil {
				return err
			}
		}
		out = old
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// lockKey reads key id under a row lock (FOR UPDATE) in tx.
func (s *Store) lockKey(ctx context.Context, tx pgx.Tx, id string) (*apikey.Key, error) {
	const sel = `SELECT ` + keyColumns + ` FROM api_keys WHERE id = $1 FOR UPDATE`
	return s.oneKey(ctx, tx, sel, id)
}

// updateKey writes k's mutable columns and rotated_to (rotated_from is set
// at insert only).
func updateKey(ctx context.Context, tx pgx.Tx, id string, k *apikey.Key) error {
	const upd = `UPDATE api_keys SET name = $2, permissions = $3, status = $4,
		rate_limit_minute = $5, rate_limit_hour = $6, rate_limit_day = $7,
		ip_allowlist = $8, expires_at = $9, updated_at = $10, revoked_at = $11,
		rotated_to = NULLIF($12, '')
		WHERE id = $1`
	if _, err := tx.Exec(ctx, upd, id, k.Name, permStrings(k.Permissions), string(k.Status),
		k.Limits.Minute, k.Limits.Hour, k.Limits.Day, allowlist(k.IPAllowlist), k.ExpiresAt,
		k.UpdatedAt, k.RevokedAt, k.RotatedTo); err != nil {
		return classify(fmt.Errorf("update key: %w", err))
	}
	return nil
}

// AddUsage implements apikey.Store: one statement for the whole batch.
func (s *Store) AddUsage(ctx context.Context, deltas []apikey.UsageDelta) error {
	deltas = apikey.MergeDeltas(deltas) // UPDATE … FROM applies one row per key
	if len(deltas) == 0 {
		return nil
	}
	n := len(deltas)
	ids := make([]string, n)
	total, ok, failed := make([]int64, n), make([]int64, n), make([]int64, n)
	created, executed, cancelled := make([]int64, n), make([]int64, n), make([]int64, n)
	last := make([]*time.Time, n)
	for i, d := range deltas {
		ids[i] = d.KeyID
		total[i], ok[i], failed[i] = d.Usage.TotalRequests, d.Usage.SuccessfulRequests, d.Usage.FailedRequests
		created[i], executed[i], cancelled[i] = d.Usage.CreationCount, d.Usage.ExecutionCount, d.Usage.CancellationCount
		if !d.LastUsedAt.IsZero() {
			t := d.LastUsedAt
			last[i] = &t
		}
	}
	const q = `UPDATE api_keys k SET
			total_requests      = k.total_requests + d.total,
			successful_requests = k.successful_requests + d.ok,
			failed_requests     = k.failed_requests + d.failed,
			creation_count      = k.creation_count + d.created,
			execution_count     = k.execution_count + d.executed,
			cancellation_count  = k.cancellation_count + d.cancelled,
			last_used_at        = GREATEST(k.last_used_at, d.last_used)
		FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[], $8::timestamptz[])
			AS d(id, total, ok, failed, created, executed, cancelled, last_used)
		WHERE k.id = d.id`
	if _, err := s.pool.Exec(ctx, q, ids, total, ok, failed, created, executed, cancelled, last); err != nil {
		return classify(fmt.Errorf("add usage: %w", err))
	}
	return nil
}

// KeyHashes implements apikey.Store. stored_at is PostgreSQL's clock at the
// INSERT (migrations/00004_key_stored_at.sql), one clock for every gateway.
func (s *Store) KeyHashes(ctx context.Context, since time.Time) ([]apikey.Hash, time.Time, error) {
	const q = `SELECT key_hash, stored_at FROM api_keys WHERE stored_at >= $1`
	rows, err := s.pool.Query(ctx, q, since)
	if err != nil {
		return nil, since, classify(fmt.Errorf("select key hashes: %w", err))
	}
	defer rows.Close()
	var (
		out    []apikey.Hash
		raw    []byte
		at     time.Time
		newest = since
	)
	for rows.Next() {
		if err := rows.Scan(&raw, &at); err != nil {
			return nil, since, classify(fmt.Errorf("scan key hash: %w", err))
		}
		var h apikey.Hash
		if copy(h[:], raw) != len(h) {
			return nil, since, fmt.Errorf("stored key hash has %d bytes", len(raw))
		}
		out = append(out, h)
		if at.After(newest) {
			newest = at
		}
	}
	if err := rows.Err(); err != nil {
		return nil, since, classify(fmt.Errorf("select key hashes: %w", err))
	}
	return out, newest, nil
}
