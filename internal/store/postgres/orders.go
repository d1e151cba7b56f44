package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/stxgate/stxgate/internal/audit"
	"github.com/stxgate/stxgate/internal/groupcommit"
	"github.com/stxgate/stxgate/internal/order"
)

// orderColumns is what every read returns, in scanOrder's order. Optional
// text columns are NULL in the table and "" in Go.
const orderColumns = `uuid, owner, input_token, output_token, amount_in::text, target_price, direction,
	condition_token, recipient, signature, valid_from, valid_to, status,
	COALESCE(txid, ''), COALESCE(settlement, ''), created_by,
	COALESCE(executed_by, ''), COALESCE(cancelled_by, ''), COALESCE(last_error, ''), attempts,
	created_at, updated_at, executing_since, filled_at, cancelled_at, expired_at,
	COALESCE(block_height, 0), submitted_at`

// maxListLimit bounds one page; a zero or negative limit asks for it.
const maxListLimit = 1000

func scanOrder(row pgx.Row) (*order.Order, error) {
	var o order.Order
	err := row.Scan(&o.UUID, &o.Owner, &o.InputToken, &o.OutputToken, &o.AmountIn, &o.TargetPrice, &o.Direction,
		&o.ConditionToken, &o.Recipient, &o.Signature, &o.ValidFrom, &o.ValidTo, &o.Status,
		&o.TxID, &o.Settlement, &o.CreatedBy,
		&o.ExecutedBy, &o.CancelledBy, &o.LastError, &o.Attempts,
		&o.CreatedAt, &o.UpdatedAt, &o.ExecutingSince, &o.FilledAt, &o.CancelledAt, &o.ExpiredAt,
		&o.BlockHeight, &o.SubmittedAt)
	if err != nil {
		return nil, err
	}
	inUTC(&o)
	return &o, nil
}

// inUTC puts o's times in UTC (PostgreSQL answers in the session's zone).
func inUTC(o *order.Order) {
	o.ValidFrom, o.ValidTo = o.ValidFrom.UTC(), o.ValidTo.UTC()
	o.CreatedAt, o.UpdatedAt = o.CreatedAt.UTC(), o.UpdatedAt.UTC()
	for _, p := range []**time.Time{&o.ExecutingSince, &o.SubmittedAt, &o.FilledAt, &o.CancelledAt, &o.ExpiredAt} {
		if *p != nil {
			t := (*p).UTC()
			*p = &t
		}
	}
}

// nullText stores "" as NULL.
func nullText(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// InsertOrder implements order.Store.
// With an event, the order and its audit row are one statement (a
// data-modifying CTE): one round trip, one transaction.
func (s *Store) InsertOrder(ctx context.Context, o *order.Order, ev *audit.Event) error {
	err := s.insertOrder(ctx, s.pool, o, ev)
	if err == nil {
		s.eventsCommitted()
	}
	return err
}

// insertOrder is InsertOrder's statement, run on db.
func (s *Store) insertOrder(ctx context.Context, db DBTX, o *order.Order, ev *audit.Event) error {
	const q = `INSERT INTO orders (uuid, owner, input_token, output_token, amount_in, target_price, direction,
			condition_token, recipient, signature, valid_from, valid_to, status,
			txid, settlement, created_by, executed_by, cancelled_by, last_error, attempts,
			created_at, updated_at, executing_since, filled_at, cancelled_at, expired_at, block_height, submitted_at)
		VALUES ($1, $2, $3, $4, $5::numeric, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20,
			$21, $22, $23, $24, $25, $26, NULLIF($27::bigint, 0), $28)`
	args := []any{o.UUID, o.Owner, o.InputToken, o.OutputToken, o.AmountIn, o.TargetPrice, o.Direction,
		o.ConditionToken, o.Recipient, o.Signature, o.ValidFrom, o.ValidTo, string(o.Status),
		nullText(o.TxID), nullText(o.Settlement), o.CreatedBy,
		nullText(o.ExecutedBy), nullText(o.CancelledBy), nullText(o.LastError), o.Attempts,
		o.CreatedAt, o.UpdatedAt, o.ExecutingSince, o.FilledAt, o.CancelledAt, o.ExpiredAt, o.BlockHeight, o.SubmittedAt}
	// The order, its order event and its audit row (if any): one statement.
	with := `WITH c AS (` + q + ` RETURNING *), ` + eventCTEs("c", order.EventCreated) + ` `
	if ev != nil {
		evArgs, err := eventArgs(ev, o.UUID, o.Owner, len(args))
		if err != nil {
			return err
		}
		args = append(args, evArgs...)
		var id int64
		err = db.QueryRow(ctx, with+insertEventFrom("c", len(args)-len(evArgs))+` RETURNING id`, args...).Scan(&id)
		if err == nil {
			ev.ID = id
		}
		return insertOrderError(err)
	}
	_, err := db.Exec(ctx, with+`SELECT count(*) FROM c`, args...)
	return insertOrderError(err)
}

func insertOrderError(err error) error {
	if isUniqueViolation(err) {
		return order.ErrDuplicate
	}
	if err != nil {
		return classify(fmt.Errorf("insert order: %w", err))
	}
	return nil
}

// OrderByUUID implements order.Store.
func (s *Store) OrderByUUID(ctx context.Context, uuid string) (*order.Order, error) {
	const q = `SELECT ` + orderColumns + ` FROM orders WHERE uuid = $1`
	o, err := scanOrder(s.pool.QueryRow(ctx, q, uuid))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, order.ErrNotFound
	}
	if err != nil {
		return nil, classify(fmt.Errorf("select order: %w", err))
	}
	return o, nil
}

// ListOrders implements order.Store: newest first, keyset pagination strictly
// after (AfterCreatedAt, AfterUUID). Each filter combination is its own
// statement text, so the planner picks the index made for it (see
// migrations/00002_orders.sql) instead of one generic plan with optional
// filters written as "($1 IS NULL OR owner = $1)".
func (s *Store) ListOrders(ctx context.Context, q order.ListQuery) ([]*order.Order, error) {
	const (
		sel     = `SELECT ` + orderColumns + ` FROM orders`
		byOwner = `owner = $`
		byState = `status = $`
		after   = `(created_at, uuid) < ($%d, $%d)`
		tail    = ` ORDER BY created_at DESC, uuid DESC LIMIT $`
	)
	var (
		where []string
		args  []any
	)
	arg := func(v any) string {
		args = append(args, v)
		return strconv.Itoa(len(args))
	}
	if q.Owner != "" {
		where = append(where, byOwner+arg(q.Owner))
	}
	if q.Status != "" {
		where = append(where, byState+arg(string(q.Status)))
	}
	if !q.AfterCreatedAt.IsZero() || q.AfterUUID != "" {
		args = append(args, q.AfterCreatedAt, q.AfterUUID)
		where = append(where, fmt.Sprintf(after, len(args)-1, len(args)))
	}
	limit := q.Limit
	if limit <= 0 || limit > maxListLimit {
		limit = maxListLimit
	}
	sql := sel
	if len(where) > 0 {
		sql += ` WHERE ` + strings.Join(where, ` AND `)
	}
	sql += tail + arg(limit)
	return s.queryOrders(ctx, s.pool, sql, args...)
}

func (s *Store) queryOrders(ctx context.Context, db DBTX, sql string, args ...any) ([]*order.Order, error) {
	rows, err := db.Query(ctx, sql, args...)
	if err != nil {
		return nil, classify(fmt.Errorf("select orders: %w", err))
	}
	defer rows.Close()
	out := []*order.Order{}
	for rows.Next() {
		o, err := scanOrder(rows)
		if err != nil {
			return nil, classify(fmt.Errorf("scan order: %w", err))
		}
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, classify(fmt.Errorf("select orders: %w", err))
	}
	return out, nil
}

// Claim implements order.Store: one conditional UPDATE, so of any number of
// concurrent claimers (on any number of gateways) exactly one wins.
// Concurrent claims on this gateway are group-committed (claimBatch): one
// statement and one commit for all of them.
func (s *Store) Claim(ctx context.Context, uuid, actor, owner string, now time.Time) (*order.Order, error) {
	o, err := s.claims.Do(ctx, claimReq{uuid: uuid, actor: actor, owner: owner, now: now})
	if err != nil {
		return nil, classify(fmt.Errorf("claim order: %w", err))
	}
	if o == nil {
		return nil, s.unmatched(ctx, "claim", uuid, order.ErrNotOpen)
	}
	return o, nil
}

// ClaimStats and FillStats tell how claims and fills were batched (metrics, tests).
func (s *Store) ClaimStats() groupcommit.Stats { return s.claims.Stats() }
func (s *Store) FillStats() groupcommit.Stats  { return s.fills.Stats() }

type claimReq struct {
	uuid, actor, owner string
	now                time.Time
}

// lockBatch is the head of every group-committed UPDATE: it locks the rows of
// the batch in uuid order before changing any of them, so two batches (of this
// gateway or another) that share orders can never deadlock. The UPDATE then
// re-checks each row's conditions on its newest version, as a single-row
// UPDATE does, so exactly one of any number of concurrent claims wins.
const lockBatch = `locked AS (
		SELECT uuid AS l_uuid FROM orders WHERE uuid IN (SELECT r_uuid FROM req) ORDER BY uuid FOR UPDATE)`

// claimBatch claims a batch of distinct orders in one statement; an order
// that was not open (or not the caller's, or outside its window) has no row
// in RETURNING and gets nil.
func (s *Store) claimBatch(ctx context.Context, batch []claimReq) ([]*order.Order, error) {
	q := `WITH req AS (
			SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[]) AS r(r_uuid, r_actor, r_owner, r_now)),
		` + lockBatch + `,
		c AS (UPDATE orders SET status = 'executing', attempts = attempts + 1,
			executing_since = r_now, executed_by = NULLIF(r_actor, ''), updated_at = r_now
		FROM req
		WHERE uuid = r_uuid AND uuid IN (SELECT l_uuid FROM locked)
			AND status = 'open' AND valid_from <= r_now AND valid_to > r_now
			AND (r_owner = '' OR owner = r_owner)
		RETURNING orders.*),
		-- The batch's order events: one multi-row insert.
		` + eventCTEs("c", order.EventExecuting) + `
		SELECT ` + orderColumns + ` FROM c`
	return s.updateBatch(ctx, q, len(batch), func(i int) (string, string, string, time.Time) {
		r := batch[i]
		return r.uuid, r.actor, r.owner, r.now
	})
}

// Fill implements order.Store. Concurrent fills are group-committed like claims.
func (s *Store) Fill(ctx context.Context, uuid, txid, settlement string, now time.Time, ev *audit.Event) (*order.Order, error) {
	req, err := newFillReq(uuid, txid, settlement, now, ev)
	if err != nil {
		return nil, err
	}
	o, err := s.fills.Do(ctx, req)
	if err != nil {
		return nil, classify(fmt.Errorf("fill order: %w", err))
	}
	if o == nil {
		return nil, s.unmatched(ctx, "fill", uuid, order.ErrNotPending)
	}
	if ev != nil {
		ev.Wallet = o.Owner
	}
	return o, nil
}

type fillReq struct {
	uuid, txid, settlement string
	now                    time.Time
	ev                     []any // eventArgs of the fill's audit event; nil: none
}

// newFillReq checks a fill and prepares its audit event's arguments.
func newFillReq(uuid, txid, settlement string, now time.Time, ev *audit.Event) (fillReq, error) {
	if err := checkFill(txid, settlement); err != nil {
		return fillReq{}, err
	}
	req := fillReq{uuid: uuid, txid: txid, settlement: settlement, now: now}
	if ev != nil {
		evArgs, err := eventArgs(ev, uuid, "", 0)
		if err != nil {
			return fillReq{}, err
		}
		req.ev = evArgs
	}
	return req, nil
}

// fillAuditCTE writes each fill's audit row from the rows of f (its e_*
// columns, fillAuditColumns), in the fill's own statement: one commit.
const fillAuditCTE = `e AS (INSERT INTO audit_events (at, wallet, event, key_id, order_uuid, actor, client_ip, request_id, details)
			SELECT e_at, owner, e_event, NULLIF(e_key, ''), uuid, e_actor, NULLIF(e_ip, '')::inet, NULLIF(e_req, ''), e_details::jsonb
			FROM f WHERE e_event <> '')`

// fillAuditColumns are the e_* arrays of fillAuditCTE for n fills: the
// event's time, then its event, key, actor, ip, request id and details (a
// fill without an event: its own time, no event, details {}).
func fillAuditColumns(n int, fill func(i int) *fillReq) []any {
	at := make([]time.Time, n)
	cols := make([][]string, 6)
	for i := range cols {
		cols[i] = make([]string, n)
	}
	for i := range n {
		r := fill(i)
		if r.ev == nil {
			at[i] = r.now
			cols[5][i] = "{}"
			continue
		}
		at[i] = r.ev[0].(time.Time)
		for c := range 6 {
			cols[c][i] = r.ev[c+1].(string)
		}
	}
	return []any{at, cols[0], cols[1], cols[2], cols[3], cols[4], cols[5]}
}

func (s *Store) fillBatch(ctx context.Context, batch []fillReq) ([]*order.Order, error) {
	q := `WITH req AS (
			SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[],
				$5::timestamptz[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[])
				AS r(r_uuid, r_txid, r_settlement, r_now, e_at, e_event, e_key, e_actor, e_ip, e_req, e_details)),
		` + lockBatch + `,
		f AS (UPDATE orders SET status = 'filled', txid = r_txid, settlement = r_settlement, filled_at = r_now, updated_at = r_now
			FROM req
			WHERE uuid = r_uuid AND uuid IN (SELECT l_uuid FROM locked) AND status = 'executing'
			RETURNING orders.*, req.*),
		-- Each fill's audit row, in the same statement (one commit for both).
		` + fillAuditCTE + `,
		` + eventCTEs("f", order.EventFilled) + `
		SELECT ` + orderColumns + ` FROM f`
	return s.updateBatch(ctx, q, len(batch), func(i int) (string, string, string, time.Time) {
		r := batch[i]
		return r.uuid, r.txid, r.settlement, r.now
	}, fillAuditColumns(len(batch), func(i int) *fillReq { return &batch[i] })...)
}

// ClaimFill implements order.ClaimFiller: Claim's conditions, then Fill's
// changes and audit row, with both order events (executing, then filled), in
// one group-committed statement.
func (s *Store) ClaimFill(ctx context.Context, uuid, actor, owner string, claimedAt time.Time, txid, settlement string,
	filledAt time.Time, ev *audit.Event) (*order.Order, error) {
	fill, err := newFillReq(uuid, txid, settlement, filledAt, ev)
	if err != nil {
		return nil, err
	}
	req := claimFillReq{claim: claimReq{uuid: uuid, actor: actor, owner: owner, now: claimedAt}, fill: fill}
	o, err := s.claimFills.Do(ctx, req)
	if err != nil {
		return nil, classify(fmt.Errorf("claim and fill order: %w", err))
	}
	if o == nil {
		return nil, s.unmatched(ctx, "claim", uuid, order.ErrNotOpen)
	}
	if ev != nil {
		ev.Wallet = o.Owner
	}
	return o, nil
}

// ClaimFillStats tells how claim-and-fills were batched (metrics, tests).
func (s *Store) ClaimFillStats() groupcommit.Stats { return s.claimFills.Stats() }

type claimFillReq struct {
	claim claimReq
	fill  fillReq
}

// claimFillBatch moves a batch of open orders straight to filled: one row
// version each instead of claimBatch's and fillBatch's two. The executing
// event shows the order as the claim alone would have left it: the fill's
// columns as they were (from the locked row), updated at the claim's time.
func (s *Store) claimFillBatch(ctx context.Context, batch []claimFillReq) ([]*order.Order, error) {
	q := `WITH req AS (
			SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[],
				$5::text[], $6::text[], $7::timestamptz[],
				$8::timestamptz[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[])
				AS r(r_uuid, r_actor, r_owner, r_now, r_txid, r_settlement, r_filled,
					e_at, e_event, e_key, e_actor, e_ip, e_req, e_details)),
		locked AS (
			SELECT uuid AS l_uuid, txid AS l_txid, settlement AS l_settlement, filled_at AS l_filled_at
			FROM orders WHERE uuid IN (SELECT r_uuid FROM req) ORDER BY uuid FOR UPDATE),
		f AS (UPDATE orders SET status = 'filled', attempts = attempts + 1,
			executing_since = r_now, executed_by = NULLIF(r_actor, ''),
			txid = r_txid, settlement = r_settlement, filled_at = r_filled, updated_at = r_filled
		FROM req JOIN locked ON l_uuid = r_uuid
		WHERE uuid = r_uuid
			AND status = 'open' AND valid_from <= r_now AND valid_to > r_now
			AND (r_owner = '' OR owner = r_owner)
		RETURNING orders.*, req.*, locked.*),
		` + fillAuditCTE + `,
		-- Two events per order, executing then filled (positions 2k and 2k+1).
		ev AS (INSERT INTO order_events (id, order_uuid, owner, type, created_at, ` + eventStateColumns + `)
			SELECT order_event_id(pg_current_xact_id(), 2 * (row_number() OVER (ORDER BY x.uuid) - 1)), x.uuid, x.owner,
				'` + string(order.EventExecuting) + `', x.r_now,
				'` + string(order.StatusExecuting) + `', x.l_txid, x.l_settlement, x.block_height, x.executed_by,
				x.cancelled_by, x.last_error, x.attempts, x.executing_since, x.submitted_at, x.l_filled_at,
				x.cancelled_at, x.expired_at
			FROM f x
			UNION ALL
			SELECT order_event_id(pg_current_xact_id(), 2 * (row_number() OVER (ORDER BY x.uuid) - 1) + 1), x.uuid, x.owner,
				'` + string(order.EventFilled) + `', x.updated_at, ` + eventState("x") + `
			FROM f x)
		SELECT ` + orderColumns + ` FROM f`
	n := len(batch)
	txids, settlements, filled := make([]string, n), make([]string, n), make([]time.Time, n)
	for i, r := range batch {
		txids[i], settlements[i], filled[i] = r.fill.txid, r.fill.settlement, r.fill.now
	}
	extra := append([]any{txids, settlements, filled}, fillAuditColumns(n, func(i int) *fillReq { return &batch[i].fill })...)
	return s.updateBatch(ctx, q, n, func(i int) (string, string, string, time.Time) {
		r := batch[i].claim
		return r.uuid, r.actor, r.owner, r.now
	}, extra...)
}

// updateBatch runs a group-committed UPDATE … RETURNING whose parameters are
// the batch as four arrays — uuid, two texts, a time — taken from row(i) for
// each of its n inputs, and gives each input its changed order, or nil when
// its row did not match.
func (s *Store) updateBatch(ctx context.Context, q string, n int, row func(i int) (uuid, a, b string, at time.Time), more ...any) ([]*order.Order, error) {
	uuids, as, bs, ats := make([]string, n), make([]string, n), make([]string, n), make([]time.Time, n)
	for i := range n {
		uuids[i], as[i], bs[i], ats[i] = row(i)
	}
	rows, err := s.pool.Query(ctx, q, append([]any{uuids, as, bs, ats}, more...)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	changed := make(map[string]*order.Order, len(uuids))
	for rows.Next() {
		o, err := scanOrder(rows)
		if err != nil {
			return nil, err
		}
		changed[o.UUID] = o
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(changed) > 0 {
		s.eventsCommitted()
	}
	out := make([]*order.Order, len(uuids))
	for i, u := range uuids {
		out[i] = changed[u]
	}
	return out, nil
}

// Release implements order.Store.
func (s *Store) Release(ctx context.Context, uuid, reason string, now time.Time) (*order.Order, error) {
	q := evented(order.EventFailed, `UPDATE orders SET status = 'open', last_error = $2, executing_since = NULL, updated_at = $3
		WHERE uuid = $1 AND status = 'executing'`)
	return s.transition(ctx, "release", order.ErrNotPending, q, uuid, nullText(reason), now)
}

// Cancel implements order.Store.
func (s *Store) Cancel(ctx context.Context, uuid, actor, owner string, now time.Time, ev *audit.Event) (*order.Order, error) {
	const upd = `UPDATE orders SET status = 'cancelled', cancelled_by = $2, cancelled_at = $3, updated_at = $3
		WHERE uuid = $1 AND status = 'open' AND valid_to > $3
			AND ($4 = '' OR owner = $4)`
	return s.auditedTransition(ctx, "cancel", order.ErrNotOpen, order.EventCancelled, upd, ev, uuid, nullText(actor), now, owner)
}

// auditedTransition is transition for the conditional UPDATE upd (without
// RETURNING) writing its order event of typ and ev, if any, in the same
// statement: the change and its rows commit together. The event's wallet is
// the order's owner, read from the changed row.
func (s *Store) auditedTransition(ctx context.Context, op string, notMatched error, typ order.EventType, upd string, ev *audit.Event, args ...any) (*order.Order, error) {
	if ev == nil {
		return s.transition(ctx, op, notMatched, evented(typ, upd), args...)
	}
	evArgs, err := eventArgs(ev, args[0].(string), "", len(args))
	if err != nil {
		return nil, err
	}
	q := evented(typ, upd, `e AS (`+insertEventFrom("c", len(args))+`)`)
	o, err := s.transition(ctx, op, notMatched, q, append(args, evArgs...)...)
	if err == nil {
		ev.Wallet = o.Owner
	}
	return o, err
}

// eventArgs completes ev with its order and returns the parameters of
// insertEventFrom, numbered after the statement's first n.
func eventArgs(ev *audit.Event, uuid, owner string, n int) ([]any, error) {
	ev.OrderUUID, ev.Wallet = uuid, owner
	probe := *ev
	if probe.Wallet == "" {
		probe.Wallet = "(the owner, read from the row)"
	}
	details, err := audit.CheckEncode(&probe)
	if err != nil {
		return nil, err
	}
	return []any{ev.At, ev.Event, ev.KeyID, ev.Actor, ev.ClientIP, ev.RequestID, string(details)}, nil
}

// insertEventFrom inserts one audit row per row of from (uuid and owner
// taken from it), the event's other fields being parameters n+1..n+7.
func insertEventFrom(from string, n int) string {
	p := func(i int) string { return "$" + strconv.Itoa(n+i) }
	return `INSERT INTO audit_events (at, wallet, event, key_id, order_uuid, actor, client_ip, request_id, details)
		SELECT ` + p(1) + `::timestamptz, ` + from + `.owner, ` + p(2) + `, NULLIF(` + p(3) + `, ''), ` + from + `.uuid, ` +
		p(4) + `, NULLIF(` + p(5) + `, '')::inet, NULLIF(` + p(6) + `, ''), ` + p(7) + `::jsonb FROM ` + from
}

// transition runs one conditional UPDATE … RETURNING whose $1 is the uuid.
// When it matches nothing, a second look tells a missing order (ErrNotFound)
// from one in another state (notMatched); the decision itself was atomic.
func (s *Store) transition(ctx context.Context, op string, notMatched error, q string, args ...any) (*order.Order, error) {
	o, err := scanOrder(s.pool.QueryRow(ctx, q, args...))
	if err == nil {
		s.eventsCommitted() // every transition appends its event
		return o, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return nil, classify(fmt.Errorf("%s order: %w", op, err))
	}
	return nil, s.unmatched(ctx, op, args[0].(string), notMatched)
}

// unmatched tells a missing order (ErrNotFound) from one in another state
// (notMatched) after a transition changed nothing.
func (s *Store) unmatched(ctx context.Context, op, uuid string, notMatched error) error {
	const exists = `SELECT EXISTS (SELECT 1 FROM orders WHERE uuid = $1)`
	var found bool
	if err := s.pool.QueryRow(ctx, exists, uuid).Scan(&found); err != nil {
		return classify(fmt.Errorf("%s order: check existence: %w", op, err))
	}
	if !found {
		return order.ErrNotFound
	}
	return notMatched
}

// Expire implements order.Store.
func (s *Store) Expire(ctx context.Context, uuid string, now time.Time) (int, error) {
	// A sweep expires at most 1000 orders per statement (the caller loops),
	// so one statement's work and locks stay bounded. It skips rows another statement holds (a claim in flight, a
	// sweep on another gateway): concurrent sweeps never wait on each other
	// nor deadlock, and each expired order is counted by exactly one of them.
	// Both answer "SELECT n", n the orders expired (and events appended).
	var (
		all = evented(order.EventExpired, `UPDATE orders SET status = 'expired', expired_at = $1, updated_at = $1
			WHERE status = 'open' AND uuid IN (
				SELECT uuid FROM orders WHERE status = 'open' AND valid_to <= $1
				ORDER BY valid_to LIMIT 1000 -- order.ExpireBatch
				FOR UPDATE SKIP LOCKED)`)
		one = evented(order.EventExpired, `UPDATE orders SET status = 'expired', expired_at = $1, updated_at = $1
			WHERE uuid = $2 AND status = 'open' AND valid_to <= $1`)
	)
	var (
		tag pgconn.CommandTag
		err error
	)
	if uuid == "" {
		tag, err = s.pool.Exec(ctx, all, now)
	} else {
		tag, err = s.pool.Exec(ctx, one, now, uuid)
	}
	if err != nil {
		return 0, classify(fmt.Errorf("expire orders: %w", err))
	}
	if tag.RowsAffected() > 0 {
		s.eventsCommitted()
	}
	return int(tag.RowsAffected()), nil
}

// TakeStuck implements order.Store. The rows are locked with SKIP LOCKED,
// so concurrent reconcilers (on any number of gateways) never wait on each
// other nor take the same order; the lease they set keeps the order theirs
// after the statement commits, while they ask settlement about it.
func (s *Store) TakeStuck(ctx context.Context, since, now time.Time, lease time.Duration, limit int) ([]*order.Order, error) {
	// MATERIALIZED: the locking subquery runs once (as "uuid IN (subquery)"
	// the planner may rescan it, taking more rows than the limit).
	const q = `WITH taken AS MATERIALIZED (
			SELECT uuid AS t_uuid FROM orders
			WHERE status = 'executing' AND executing_since <= $1 AND (reconcile_until IS NULL OR reconcile_until <= $3)
			ORDER BY executing_since, uuid LIMIT $4
			FOR UPDATE SKIP LOCKED)
		UPDATE orders SET reconcile_until = $2
		FROM taken WHERE uuid = t_uuid AND status = 'executing'
		RETURNING ` + orderColumns
	out, err := s.queryOrders(ctx, s.pool, q, since, now.Add(lease), now, limit)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b *order.Order) int {
		if c := a.ExecutingSince.Compare(*b.ExecutingSince); c != 0 {
			return c
		}
		return strings.Compare(a.UUID, b.UUID)
	})
	return out, nil
}

// checkFill refuses what the table would refuse, with a clearer error.
func checkFill(txid, settlement string) error {
	if !validTxID(txid) {
		return fmt.Errorf("fill order: txid %q is not 0x and 64 lower-case hex digits", txid)
	}
	if settlement == "" {
		return errors.New("fill order: settlement name is empty")
	}
	return nil
}

// validTxID reports whether s is "0x" + 64 lower-case hex digits.
func validTxID(s string) bool {
	if len(s) != 66 || !strings.HasPrefix(s, "0x") {
		return false
	}
	return strings.Trim(s[2:], "0123456789abcdef") == ""
}

// Submit implements order.Store.
func (s *Store) Submit(ctx context.Context, uuid, txid, settlement string, now time.Time, ev *audit.Event) (*order.Order, error) {
	if err := checkFill(txid, settlement); err != nil {
		return nil, err
	}
	const q = `UPDATE orders SET status = 'submitted', txid = $2, settlement = $3, submitted_at = $4, updated_at = $4
		WHERE uuid = $1 AND status = 'executing'`
	return s.auditedTransition(ctx, "submit", order.ErrNotPending, order.EventSubmitted, q, ev, uuid, txid, settlement, now)
}

// Resubmit implements order.Store.
func (s *Store) Resubmit(ctx context.Context, uuid, txid, newTxID string, now time.Time) (*order.Order, error) {
	if !validTxID(newTxID) {
		return nil, fmt.Errorf("resubmit order: txid %q is not 0x and 64 lower-case hex digits", newTxID)
	}
	// A replacement is an order.submitted event again: the txid to follow changed.
	q := evented(order.EventSubmitted, `UPDATE orders SET txid = $3, updated_at = $4
		WHERE uuid = $1 AND status = 'submitted' AND txid = $2`)
	return s.transition(ctx, "resubmit", order.ErrNotSubmitted, q, uuid, txid, newTxID, now)
}

// Confirm implements order.Store.
func (s *Store) Confirm(ctx context.Context, uuid, txid string, blockHeight int64, now time.Time, ev *audit.Event) (*order.Order, error) {
	if !validTxID(txid) {
		return nil, fmt.Errorf("confirm order: txid %q is not 0x and 64 lower-case hex digits", txid)
	}
	if blockHeight <= 0 {
		return nil, fmt.Errorf("confirm order: block height %d is not positive", blockHeight)
	}
	const q = `UPDATE orders SET status = 'filled', txid = $2, block_height = $3, filled_at = $4, updated_at = $4
		WHERE uuid = $1 AND status = 'submitted'`
	return s.auditedTransition(ctx, "confirm", order.ErrNotSubmitted, order.EventFilled, q, ev, uuid, txid, blockHeight, now)
}

// Reopen implements order.Store.
func (s *Store) Reopen(ctx context.Context, uuid, reason string, now time.Time, ev *audit.Event) (*order.Order, error) {
	const q = `UPDATE orders SET status = 'open', last_error = $2, txid = NULL, settlement = NULL,
			executing_since = NULL, submitted_at = NULL, updated_at = $3
		WHERE uuid = $1 AND status = 'submitted'`
	return s.auditedTransition(ctx, "reopen", order.ErrNotSubmitted, order.EventReopened, q, ev, uuid, nullText(reason), now)
}

// Submitted implements order.Store: oldest submission first.
func (s *Store) Submitted(ctx context.Context, limit int) ([]*order.Order, error) {
	if limit <= 0 || limit > maxListLimit {
		limit = maxListLimit
	}
	const q = `SELECT ` + orderColumns + ` FROM orders
		WHERE status = 'submitted' ORDER BY submitted_at, uuid LIMIT $1`
	return s.queryOrders(ctx, s.pool, q, limit)
}
