package stacks

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ledger keeps one executor account's nonces in PostgreSQL
// (migrations/00010_stacks_settlement.sql), shared by every gateway. pool
// is every account of the executor pool, this one included: an order
// claim's transaction may be on any of them.
type ledger struct {
	pool     *pgxpool.Pool
	address  string
	accounts []string
}

// slot is one reserved nonce of an account and the transaction signed under it.
type slot struct {
	Address     string
	Nonce       uint64
	OrderUUID   string
	Attempt     int
	State       string
	TxID        string
	TxIDs       []string
	Fee         uint64
	Raw         []byte
	BroadcastAt *time.Time
}

const slotColumns = `address, nonce, COALESCE(order_uuid, ''), COALESCE(attempt, 0), state, COALESCE(txid, ''), txids, fee, raw, broadcast_at`

func scanSlot(row pgx.Row) (*slot, error) {
	var s slot
	var nonce, fee int64
	if err := row.Scan(&s.Address, &nonce, &s.OrderUUID, &s.Attempt, &s.State, &s.TxID, &s.TxIDs, &fee, &s.Raw, &s.BroadcastAt); err != nil {
		return nil, err
	}
	s.Nonce, s.Fee = uint64(nonce), uint64(fee)
	return &s, nil
}

// liveSlot is the live (pending or mined) slot of an order's claim on any
// account of the pool (there is at most one: stacks_executor_txs_order_idx).
const liveSlot = `SELECT ` + slotColumns + ` FROM stacks_executor_txs
	WHERE address = ANY($1) AND order_uuid = $2 AND attempt = $3 AND state IN ('pending', 'mined')`

// forOrder returns the live slot of an order's claim on any account of the
// pool, or nil.
func (l *ledger) forOrder(ctx context.Context, uuid string, attempt int) (*slot, error) {
	s, err := scanSlot(l.pool.QueryRow(ctx, liveSlot, l.accounts, uuid, attempt))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("executor ledger: %w", err)
	}
	return s, nil
}

// errChainFull: the account has limit unconfirmed transactions already.
// (Another account of the pool may have room.)
var errChainFull = errors.New("executor account has the most unconfirmed transactions the mempool chains")

// reserve hands out the account's lowest free nonce (one a refused broadcast
// gave back) or its next one, and records the transaction sign(nonce) makes
// for the order's claim, all in one transaction that holds the account's
// row: gateways sharing the database never reuse or skip a nonce. startAt is
// the node's possible next nonce, used when the account is new here. With
// limit pending transactions already, it reserves nothing (errChainFull).
// An order claim that already has a slot, on this account or another of the
// pool, gets that slot back (also when another gateway reserved it for the
// claim on another account at the same moment: the unique index on live
// claims refuses the second, which then returns the first).
func (l *ledger) reserve(ctx context.Context, uuid string, attempt int, startAt, confirmed uint64, limit int, now time.Time,
	sign func(nonce uint64) (raw []byte, txid string, fee uint64, err error)) (*slot, bool, error) {
	tx, err := l.pool.Begin(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("executor ledger: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if _, err := tx.Exec(ctx, `INSERT INTO stacks_executor_accounts (address, next_nonce) VALUES ($1, $2)
		ON CONFLICT (address) DO NOTHING`, l.address, int64(startAt)); err != nil {
		return nil, false, fmt.Errorf("executor ledger: %w", err)
	}
	var next int64
	if err := tx.QueryRow(ctx, `SELECT next_nonce FROM stacks_executor_accounts WHERE address = $1 FOR UPDATE`, l.address).Scan(&next); err != nil {
		return nil, false, fmt.Errorf("executor ledger: lock account: %w", err)
	}
	// Under the account's lock: another gateway may have reserved for this claim.
	existing, err := scanSlot(tx.QueryRow(ctx, liveSlot, l.accounts, uuid, attempt))
	if err == nil {
		return existing, false, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return nil, false, fmt.Errorf("executor ledger: %w", err)
	}
	var pending int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM stacks_executor_txs WHERE address = $1 AND state = 'pending'`, l.address).Scan(&pending); err != nil {
		return nil, false, fmt.Errorf("executor ledger: %w", err)
	}
	if pending >= limit {
		return nil, false, errChainFull
	}
	// A given-back nonce the chain has used meanwhile (below its confirmed
	// nonce: a transaction of ours came back after all) is no one's to take.
	if _, err := tx.Exec(ctx, `UPDATE stacks_executor_txs SET state = 'void', updated_at = $3
		WHERE address = $1 AND state = 'free' AND nonce < $2`, l.address, int64(confirmed), now); err != nil {
		return nil, false, fmt.Errorf("executor ledger: %w", err)
	}
	var nonce int64
	reuse := true
	err = tx.QueryRow(ctx, `SELECT nonce FROM stacks_executor_txs WHERE address = $1 AND state = 'free' ORDER BY nonce LIMIT 1`, l.address).Scan(&nonce)
	if errors.Is(err, pgx.ErrNoRows) {
		nonce, reuse = next, false
	} else if err != nil {
		return nil, false, fmt.Errorf("executor ledger: %w", err)
	}
	raw, txid, fee, err := sign(uint64(nonce))
	if err != nil {
		return nil, false, err
	}
	if reuse {
		_, err = tx.Exec(ctx, `UPDATE stacks_executor_txs SET order_uuid = $3, attempt = $4, state = 'pending', txid = $5,
			txids = ARRAY[$5], fee = $6, raw = $7, reserved_at = $8, broadcast_at = NULL, updated_at = $8
			WHERE address = $1 AND nonce = $2`, l.address, nonce, uuid, attempt, txid, int64(fee), raw, now)
	} else {
		_, err = tx.Exec(ctx, `INSERT INTO stacks_executor_txs (address, nonce, order_uuid, attempt, state, txid, txids, fee, raw, reserved_at, updated_at)
			VALUES ($1, $2, $3, $4, 'pending', $5, ARRAY[$5], $6, $7, $8, $8)`, l.address, nonce, uuid, attempt, txid, int64(fee), raw, now)
		if err == nil {
			_, err = tx.Exec(ctx, `UPDATE stacks_executor_accounts SET next_nonce = $2 WHERE address = $1`, l.address, nonce+1)
		}
	}
	if err == nil {
		err = signed(ctx, tx, l.address, uuid, uint64(nonce), txid, now)
	}
	if err == nil {
		err = tx.Commit(ctx)
	}
	if isUniqueViolation(err) {
		// Another gateway reserved for this claim on another account meanwhile.
		_ = tx.Rollback(context.WithoutCancel(ctx))
		if s, ferr := l.forOrder(ctx, uuid, attempt); ferr != nil || s != nil {
			return s, false, ferr
		}
	}
	if err != nil {
		return nil, false, fmt.Errorf("executor ledger: record reservation: %w", err)
	}
	return &slot{Address: l.address, Nonce: uint64(nonce), OrderUUID: uuid, Attempt: attempt, State: "pending", TxID: txid, TxIDs: []string{txid}, Fee: fee, Raw: raw}, true, nil
}

func (l *ledger) exec(ctx context.Context, q string, args ...any) error {
	if _, err := l.pool.Exec(ctx, q, append([]any{l.address}, args...)...); err != nil {
		return fmt.Errorf("executor ledger: %w", err)
	}
	return nil
}

func (l *ledger) markBroadcast(ctx context.Context, nonce uint64, now time.Time) error {
	return l.exec(ctx, `UPDATE stacks_executor_txs SET broadcast_at = $3, updated_at = $3
		WHERE address = $1 AND nonce = $2 AND state = 'pending'`, int64(nonce), now)
}

// release gives a refused transaction's nonce back (free) or, when the nonce
// is used on chain by something else, retires it (void).
func (l *ledger) release(ctx context.Context, nonce uint64, state string, now time.Time) error {
	return l.exec(ctx, `UPDATE stacks_executor_txs SET state = $3, order_uuid = NULL, attempt = NULL, txid = NULL, raw = NULL,
		broadcast_at = NULL, updated_at = $4 WHERE address = $1 AND nonce = $2 AND state = 'pending'`, int64(nonce), state, now)
}

// raiseNext moves the account's next nonce up to at least n (BadNonce: the
// chain is further than the ledger knew).
func (l *ledger) raiseNext(ctx context.Context, n uint64) error {
	return l.exec(ctx, `UPDATE stacks_executor_accounts SET next_nonce = GREATEST(next_nonce, $2) WHERE address = $1`, int64(n))
}

// replace records a re-signed transaction under the same nonce (a higher
// fee): the old txid stays in txids, since it may still be the one mined.
func (l *ledger) replace(ctx context.Context, nonce uint64, oldTxID, txid string, fee uint64, raw []byte, now time.Time) (bool, error) {
	var uuid string
	err := l.pool.QueryRow(ctx, `WITH r AS (UPDATE stacks_executor_txs SET txid = $4, txids = array_append(txids, $4), fee = $5, raw = $6,
			broadcast_at = NULL, updated_at = $7 WHERE address = $1 AND nonce = $2 AND state = 'pending' AND txid = $3
			RETURNING order_uuid),
		s AS (INSERT INTO stacks_executor_signed (txid, address, order_uuid, nonce, signed_at)
			SELECT $4, $1, order_uuid, $2, $7 FROM r WHERE order_uuid IS NOT NULL ON CONFLICT (txid) DO NOTHING)
		SELECT COALESCE(order_uuid, '') FROM r`,
		l.address, int64(nonce), oldTxID, txid, int64(fee), raw, now).Scan(&uuid)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("executor ledger: %w", err)
	}
	return true, nil
}

// signed records a transaction signed for an order (stacks_executor_signed).
func signed(ctx context.Context, tx pgx.Tx, address, uuid string, nonce uint64, txid string, now time.Time) error {
	_, err := tx.Exec(ctx, `INSERT INTO stacks_executor_signed (txid, address, order_uuid, nonce, signed_at)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT (txid) DO NOTHING`, txid, address, uuid, int64(nonce), now)
	return err
}

func (l *ledger) markMined(ctx context.Context, nonce uint64, now time.Time) error {
	return l.exec(ctx, `UPDATE stacks_executor_txs SET state = 'mined', updated_at = $3
		WHERE address = $1 AND nonce = $2 AND state = 'pending'`, int64(nonce), now)
}

// minedBelow marks every pending slot below the confirmed nonce mined.
func (l *ledger) minedBelow(ctx context.Context, confirmed uint64, now time.Time) error {
	return l.exec(ctx, `UPDATE stacks_executor_txs SET state = 'mined', updated_at = $3
		WHERE address = $1 AND nonce < $2 AND state = 'pending'`, int64(confirmed), now)
}

func (l *ledger) byNonce(ctx context.Context, nonce uint64) (*slot, error) {
	s, err := scanSlot(l.pool.QueryRow(ctx, `SELECT `+slotColumns+` FROM stacks_executor_txs WHERE address = $1 AND nonce = $2`, l.address, int64(nonce)))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("executor ledger: %w", err)
	}
	return s, nil
}

// fill records a filler transaction under a free nonce below the account's
// next nonce (a gap no order will take), if it is still free.
func (l *ledger) fill(ctx context.Context, nonce uint64, txid string, fee uint64, raw []byte, now time.Time) (bool, error) {
	tag, err := l.pool.Exec(ctx, `UPDATE stacks_executor_txs SET state = 'pending', txid = $3, txids = ARRAY[$3], fee = $4, raw = $5,
		broadcast_at = $6, updated_at = $6 WHERE address = $1 AND nonce = $2 AND state = 'free'`,
		l.address, int64(nonce), txid, int64(fee), raw, now)
	if err != nil {
		return false, fmt.Errorf("executor ledger: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

// orderTxIDs is every txid the executor pool ever signed for the order
// uuid, over all its claims and accounts, oldest first (whatever became of
// their nonces).
func (l *ledger) orderTxIDs(ctx context.Context, uuid string) ([]string, error) {
	rows, err := l.pool.Query(ctx, `SELECT txid FROM stacks_executor_signed
		WHERE address = ANY($1) AND order_uuid = $2 ORDER BY signed_at, txid`, l.accounts, uuid)
	if err != nil {
		return nil, fmt.Errorf("executor ledger: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("executor ledger: %w", err)
	}
	return ids, nil
}

// pending counts the account's reserved or broadcast, unmined transactions.
func (l *ledger) pending(ctx context.Context) (int64, error) {
	var n int64
	err := l.pool.QueryRow(ctx, `SELECT count(*) FROM stacks_executor_txs WHERE address = $1 AND state = 'pending'`, l.address).Scan(&n)
	return n, err
}

func isUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}
