package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/stxgate/stxgate/internal/order"
)

var _ order.EventLog = (*Store)(nil)

// EventChannel is the NOTIFY channel that tells gateways new order events
// were committed (RunNotifier sends, ListenEvents hears).
const EventChannel = "stxgate_order_events"

// eventCTEs are the common table expressions that append one event of typ
// for each row of the CTE from (the changed orders, with every orders column),
// inside the statement that changed them, so both commit or neither does. A
// statement that changed nothing appends nothing.
//
// An event's id is order_event_id(writer's xid, rank in the statement)
// (migrations/00013_order_event_xid_ids.sql): no shared row is locked, so
// order-changing transactions no longer wait for each other's commits, and
// readers stop at their snapshot's xmin (EventsAfter) to see the ids in an
// order no later commit can break. One multi-row INSERT serves a whole
// group-committed batch.
func eventCTEs(from string, typ order.EventType) string {
	return `ev AS (INSERT INTO order_events (id, order_uuid, owner, type, created_at, ` + eventStateColumns + `)
			SELECT order_event_id(pg_current_xact_id(), row_number() OVER (ORDER BY x.uuid) - 1), x.uuid, x.owner, '` +
		string(typ) + `', x.updated_at, ` + eventState("x") + `
			FROM ` + from + ` x)`
}

// eventStateColumns are the order's fields an event stores
// (migrations/00014_order_event_state_columns.sql): those a change can
// change. The others are fixed when the order is created and read from its
// row (EventsAfter); updated_at is the event's created_at.
const eventStateColumns = `status, txid, settlement, block_height, executed_by, cancelled_by, last_error, attempts,
	executing_since, submitted_at, filled_at, cancelled_at, expired_at`

// eventState is eventStateColumns of the changed row x.
func eventState(x string) string {
	return x + `.status, ` + x + `.txid, ` + x + `.settlement, ` + x + `.block_height, ` + x + `.executed_by, ` +
		x + `.cancelled_by, ` + x + `.last_error, ` + x + `.attempts, ` + x + `.executing_since, ` + x + `.submitted_at, ` +
		x + `.filled_at, ` + x + `.cancelled_at, ` + x + `.expired_at`
}

// evented is the statement change (an UPDATE of orders without RETURNING)
// with its events appended, returning the changed orders as orderColumns.
// more are further CTEs over c, the changed rows (an audit row).
func evented(typ order.EventType, change string, more ...string) string {
	q := `WITH c AS (` + change + ` RETURNING *), ` + eventCTEs("c", typ)
	for _, m := range more {
		q += `, ` + m
	}
	return q + ` SELECT ` + orderColumns + ` FROM c`
}

// horizon is the smallest id an event not yet final could get: the events
// below it were written by transactions that have all ended, and no
// transaction can get such an xid any more. pg_current_snapshot() is the
// statement's own snapshot, the one its rows are read with. Its xmin counts
// the transactions of every database in the cluster, but only this
// database's can write its events: a running xid that pg_stat_activity shows
// on a backend of another database (a backend never changes database) does
// not hold the horizon (it shows 32-bit xids, hence the modulo), so a long
// transaction elsewhere on the cluster (a report, a migration, another
// application's, a parallel test's) no longer keeps the streams from their
// second. A running xid it cannot place (ended since the
// snapshot, prepared, hidden) holds it, as before.
const horizon = `order_event_id(COALESCE(
		(SELECT min(x) FROM pg_snapshot_xip(pg_current_snapshot()) x
			WHERE NOT EXISTS (SELECT 1 FROM pg_stat_get_activity(NULL) a
				WHERE a.backend_xid::text = (x::text::numeric % 4294967296)::text
				AND a.datid <> (SELECT oid FROM pg_database WHERE datname = current_database()))),
		pg_snapshot_xmax(pg_current_snapshot())), 0)`

// EventsAfter implements order.EventLog. It returns only final events (below
// the horizon): an event committed later can never have a smaller id than
// one returned, so "after the last id read" loses nothing. The price: a
// committed event waits until every transaction of this database that took
// its xid before it has ended (EventsHeldBack).
func (s *Store) EventsAfter(ctx context.Context, after int64, owner string, limit int) ([]order.Event, error) {
	if limit <= 0 || limit > maxListLimit {
		limit = maxListLimit
	}
	const (
		all     = eventSelect + ` WHERE e.id > $1 AND e.id < ` + horizon + ` AND ` + eventReadable + ` ORDER BY e.id LIMIT $2`
		byOwner = eventSelect + ` WHERE e.id > $1 AND e.id < ` + horizon + ` AND ` + eventReadable + ` AND e.owner = $3 ORDER BY e.id LIMIT $2`
	)
	var (
		rows pgx.Rows
		err  error
	)
	if owner == "" {
		rows, err = s.pool.Query(ctx, all, after, limit)
	} else {
		rows, err = s.pool.Query(ctx, byOwner, after, limit, owner)
	}
	if err != nil {
		return nil, classify(fmt.Errorf("select order events: %w", err))
	}
	defer rows.Close()
	out := []order.Event{}
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, classify(fmt.Errorf("select order events: %w", err))
	}
	return out, nil
}

// eventSelect reads events, scanEvent's columns: an event written since
// 00014 has its state and takes the fields fixed at creation from its order's
// row (o); an older one has its whole snapshot in data.
const eventSelect = `SELECT e.id, e.type, e.created_at, e.data, e.order_uuid, e.owner,
		COALESCE(e.status, ''), COALESCE(e.txid, ''), COALESCE(e.settlement, ''), COALESCE(e.block_height, 0),
		COALESCE(e.executed_by, ''), COALESCE(e.cancelled_by, ''), COALESCE(e.last_error, ''), COALESCE(e.attempts, 0),
		e.executing_since, e.submitted_at, e.filled_at, e.cancelled_at, e.expired_at,
		o.input_token, o.output_token, o.amount_in::text, o.target_price, o.direction, o.condition_token,
		o.recipient, o.valid_from, o.valid_to, o.created_by, o.created_at
	FROM order_events e LEFT JOIN orders o ON e.data IS NULL AND o.uuid = e.order_uuid`

// eventReadable leaves out the events written since 00014 of an order whose
// row was deleted by hand: their fixed fields went with it. Without it such
// an event would fail every read of the log and stall every stream behind
// it; the order is gone, and so are its events.
const eventReadable = `(e.data IS NOT NULL OR o.uuid IS NOT NULL)`

// scanEvent reads one row of eventSelect.
func scanEvent(row pgx.Row) (order.Event, error) {
	var (
		e     order.Event
		data  []byte
		o     order.Order
		fixed struct {
			inputToken, outputToken, amountIn, targetPrice, direction, conditionToken, recipient, createdBy *string
			validFrom, validTo, createdAt                                                                   *time.Time
		}
	)
	err := row.Scan(&e.ID, &e.Type, &e.At, &data, &o.UUID, &o.Owner,
		&o.Status, &o.TxID, &o.Settlement, &o.BlockHeight, &o.ExecutedBy, &o.CancelledBy, &o.LastError, &o.Attempts,
		&o.ExecutingSince, &o.SubmittedAt, &o.FilledAt, &o.CancelledAt, &o.ExpiredAt,
		&fixed.inputToken, &fixed.outputToken, &fixed.amountIn, &fixed.targetPrice, &fixed.direction,
		&fixed.conditionToken, &fixed.recipient, &fixed.validFrom, &fixed.validTo, &fixed.createdBy, &fixed.createdAt)
	if err != nil {
		return e, classify(fmt.Errorf("scan order event: %w", err))
	}
	e.At = e.At.UTC()
	if data != nil {
		snap, err := decodeEventOrder(data)
		if err != nil {
			return e, fmt.Errorf("order event %d: %w", e.ID, err)
		}
		e.Order = snap
		return e, nil
	}
	if fixed.createdAt == nil {
		return e, fmt.Errorf("order event %d: order %s is not in the orders table", e.ID, o.UUID)
	}
	o.InputToken, o.OutputToken, o.AmountIn, o.TargetPrice = *fixed.inputToken, *fixed.outputToken, *fixed.amountIn, *fixed.targetPrice
	o.Direction, o.ConditionToken, o.Recipient, o.CreatedBy = *fixed.direction, *fixed.conditionToken, *fixed.recipient, *fixed.createdBy
	o.ValidFrom, o.ValidTo, o.CreatedAt, o.UpdatedAt = *fixed.validFrom, *fixed.validTo, *fixed.createdAt, e.At
	inUTC(&o)
	e.Order = &o
	return e, nil
}

// decodeEventOrder reads the data snapshot of an event written before 00014
// (order.Order's fields by their Go names, the signature left out), times in
// UTC as scanOrder gives them.
func decodeEventOrder(data []byte) (*order.Order, error) {
	var o order.Order
	if err := json.Unmarshal(data, &o); err != nil {
		return nil, err
	}
	inUTC(&o)
	return &o, nil
}

// LastEventID implements order.EventLog: the newest final event (below the
// horizon), so that "every event after it" misses none still to become final.
func (s *Store) LastEventID(ctx context.Context) (int64, error) {
	const q = `SELECT COALESCE(max(id), 0) FROM order_events WHERE id < ` + horizon
	var id int64
	if err := s.pool.QueryRow(ctx, q).Scan(&id); err != nil {
		return 0, classify(fmt.Errorf("select last order event: %w", err))
	}
	return id, nil
}

// EventsHeldBack implements order.EventHorizon: whether committed events
// above after exist, visible now. After EventsAfter returned every event up to
// its horizon, such events are ones it held back, because a transaction that
// took its xid before theirs was still running (in this database), or
// ones committed since. The streams read again shortly while it says so, since
// the notification of those events may have come and gone.
func (s *Store) EventsHeldBack(ctx context.Context, after int64) (bool, error) {
	const q = `SELECT EXISTS (SELECT 1 FROM order_events WHERE id > $1)`
	var held bool
	if err := s.pool.QueryRow(ctx, q, after).Scan(&held); err != nil {
		return false, classify(fmt.Errorf("select held-back order events: %w", err))
	}
	return held, nil
}

// DeleteEventsBefore implements order.EventLog. SKIP LOCKED: retention jobs
// on several gateways never wait on each other nor count a row twice.
func (s *Store) DeleteEventsBefore(ctx context.Context, cutoff time.Time, limit int) (int, error) {
	const q = `DELETE FROM order_events WHERE id IN (
			SELECT id FROM order_events WHERE created_at < $1 ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED)`
	tag, err := s.pool.Exec(ctx, q, cutoff, limit)
	if err != nil {
		return 0, classify(fmt.Errorf("delete old order events: %w", err))
	}
	return int(tag.RowsAffected()), nil
}

// eventsCommitted tells RunNotifier that a change with events committed; it
// never blocks (pokes while a notification is on its way merge into the next).
func (s *Store) eventsCommitted() {
	select {
	case s.poke <- struct{}{}:
	default:
	}
}

// RunNotifier sends one NOTIFY on EventChannel after each committed change
// with events (merging those that come while one is on its way) until ctx
// ends. The notification is its own statement, after the change committed,
// not part of the change: a NOTIFY in the change's transaction takes
// PostgreSQL's cluster-wide notify lock at commit, which serialises every
// order change behind the previous one's commit (with the event counter row
// that ids came from then, it more than halved the execute path's throughput).
// A notification lost (this gateway crashing between commit and NOTIFY, an
// error) is made up for by the streams' periodic read.
//
// Notifications are at least notifyEvery apart: under load every batch of
// claims or fills commits events, and a NOTIFY per batch was a transaction
// per batch (the execute path's PostgreSQL transactions per request went from
// 0.18 to 0.50). Changes committed within the interval share one NOTIFY.
func (s *Store) RunNotifier(ctx context.Context, onError func(error)) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.poke:
		}
		sent := time.Now()
		if _, err := s.pool.Exec(ctx, `SELECT pg_notify($1, '')`, EventChannel); err != nil && ctx.Err() == nil {
			onError(classify(fmt.Errorf("notify order events: %w", err)))
		}
		if wait := notifyEvery - time.Since(sent); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
	}
}

// notifyEvery is the least time between two of one gateway's notifications:
// at most 50 NOTIFY transactions a second, and a stream hears of a change at
// most this much later than it would have.
const notifyEvery = 20 * time.Millisecond

// ListenEvents calls wake whenever any gateway sharing the database
// committed order events (RunNotifier), until ctx ends. It holds one
// connection of its own (not the pool's) and, after losing it, connects again
// and calls wake once, since notifications sent meanwhile are lost. wake must
// not block; the log stays the source of truth, the signal only says "read".
// Each lost connection is reported to onError.
func (s *Store) ListenEvents(ctx context.Context, wake func(), retry time.Duration, onError func(error)) {
	for {
		err := s.listenOnce(ctx, wake)
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			err = errors.New("connection closed")
		}
		onError(classify(fmt.Errorf("listen for order events: %w", err)))
		t := time.NewTimer(retry)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

func (s *Store) listenOnce(ctx context.Context, wake func()) error {
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
	if err != nil {
		return err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		_ = conn.Close(cctx)
	}()
	if _, err := conn.Exec(ctx, `LISTEN `+EventChannel); err != nil {
		return err
	}
	wake() // whatever was appended while nobody listened
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return err
		}
		wake()
	}
}
