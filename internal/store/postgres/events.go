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
	return `ev AS (INSERT INTO order_events (id, order_uuid, owner, type, data, created_at)
			SELECT order_event_id(pg_current_xact_id(), row_number() OVER (ORDER BY x.uuid) - 1), x.uuid, x.owner, '` +
		string(typ) + `', ` + eventData("x") + `, x.updated_at
			FROM ` + from + ` x)`
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

// eventData renders the row x as the event's data: order.Order's fields, by
// their Go names, the signature left out.
func eventData(x string) string {
	return `jsonb_build_object('UUID', ` + x + `.uuid, 'Owner', ` + x + `.owner, 'InputToken', ` + x + `.input_token,
		'OutputToken', ` + x + `.output_token, 'AmountIn', ` + x + `.amount_in::text, 'TargetPrice', ` + x + `.target_price,
		'Direction', ` + x + `.direction, 'ConditionToken', ` + x + `.condition_token, 'Recipient', ` + x + `.recipient,
		'ValidFrom', ` + x + `.valid_from, 'ValidTo', ` + x + `.valid_to, 'Status', ` + x + `.status,
		'TxID', COALESCE(` + x + `.txid, ''), 'Settlement', COALESCE(` + x + `.settlement, ''),
		'BlockHeight', COALESCE(` + x + `.block_height, 0), 'CreatedBy', ` + x + `.created_by,
		'ExecutedBy', COALESCE(` + x + `.executed_by, ''), 'CancelledBy', COALESCE(` + x + `.cancelled_by, ''),
		'LastError', COALESCE(` + x + `.last_error, ''), 'Attempts', ` + x + `.attempts,
		'CreatedAt', ` + x + `.created_at, 'UpdatedAt', ` + x + `.updated_at, 'ExecutingSince', ` + x + `.executing_since,
		'SubmittedAt', ` + x + `.submitted_at, 'FilledAt', ` + x + `.filled_at, 'CancelledAt', ` + x + `.cancelled_at,
		'ExpiredAt', ` + x + `.expired_at)`
}

// horizon is the smallest id an event not yet final could get: the events
// below it were written by transactions below the xmin of the statement's
// snapshot, which have all ended, and no transaction can get such an xid any
// more. pg_current_snapshot() is the statement's own snapshot, the one its
// rows are read with.
const horizon = `order_event_id(pg_snapshot_xmin(pg_current_snapshot()), 0)`

// EventsAfter implements order.EventLog. It returns only final events (below
// the horizon): an event committed later can never have a smaller id than
// one returned, so "after the last id read" loses nothing. The price: a
// committed event waits until every transaction in the cluster that took its
// xid before it has ended (EventsHeldBack).
func (s *Store) EventsAfter(ctx context.Context, after int64, owner string, limit int) ([]order.Event, error) {
	if limit <= 0 || limit > maxListLimit {
		limit = maxListLimit
	}
	const (
		all = `SELECT id, type, data, created_at FROM order_events
			WHERE id > $1 AND id < ` + horizon + ` ORDER BY id LIMIT $2`
		byOwner = `SELECT id, type, data, created_at FROM order_events
			WHERE id > $1 AND id < ` + horizon + ` AND owner = $3 ORDER BY id LIMIT $2`
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
		var (
			e    order.Event
			data []byte
		)
		if err := rows.Scan(&e.ID, &e.Type, &data, &e.At); err != nil {
			return nil, classify(fmt.Errorf("scan order event: %w", err))
		}
		o, err := decodeEventOrder(data)
		if err != nil {
			return nil, fmt.Errorf("order event %d: %w", e.ID, err)
		}
		e.Order, e.At = o, e.At.UTC()
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, classify(fmt.Errorf("select order events: %w", err))
	}
	return out, nil
}

// decodeEventOrder reads eventData back, times in UTC as scanOrder gives them.
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
// took its xid before theirs was still running (anywhere in the cluster), or
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
