-- +goose Up
-- Order event ids from the writer's transaction id instead of the counter row
-- of 00007_order_events.sql (docs/decisions.md, "Order event ids").
--
-- The counter row serialised every order-changing transaction through its
-- commit. Now the id of an event is
--
--     order_event_id(xid, pos) = xid * 1024 + pos + offset
--
-- where xid is the writing transaction's pg_current_xact_id() (xid8: 64 bits,
-- never wraps), pos the event's rank (0..1023) within its statement, and
-- offset a constant fixed here so that every new id is above every id the
-- counter handed out. Ids are in (xid, pos) order. They are not in commit
-- order: a reader returns only events whose writer's xid is below the xmin of
-- its snapshot, pg_snapshot_xmin(pg_current_snapshot()). Every transaction
-- below that xmin has ended, and no new one can get such an xid, so the
-- events below order_event_id(xmin, 0) are final: "every event after N" stays
-- exact for any N a reader was given.
--
-- Bound: ids stay below 2^53 (exact in JavaScript) while the cluster has used
-- fewer than 2^43 (8.8e12) transaction ids: 27 years at 10,000 writing
-- transactions a second, sustained. A statement appending 1024 or more events
-- fails (the id is NULL); the largest is an expiry sweep of
-- order.ExpireBatch = 1000, a group-committed batch is at most 256. Each
-- statement that appends events is its own transaction: a second one in the
-- same transaction would reuse its positions and fail on the primary key.
--
-- Gateways older than this migration take ids from the counter, which is
-- dropped here: their order changes fail until they are replaced, instead of
-- writing ids out of order. (A database that takes 00007 after this one, as
-- TestMigrateAppliesMigrationsThatLandedLate does, keeps an unused counter.)
-- +goose StatementBegin
DO $$
DECLARE
    last_counter_id bigint;
BEGIN
    -- Absent when this runs before 00007 (migrations apply in any order).
    IF to_regclass('order_event_counter') IS NOT NULL THEN
        EXECUTE 'SELECT last_id FROM order_event_counter' INTO last_counter_id;
    END IF;
    EXECUTE format($f$
        CREATE FUNCTION order_event_id(x xid8, pos bigint) RETURNS bigint
        LANGUAGE sql IMMUTABLE PARALLEL SAFE
        AS $b$ SELECT CASE WHEN pos >= 0 AND pos < 1024 THEN x::text::bigint * 1024 + pos + %s END $b$ $f$,
        -- Any later writer's xid is above this transaction's.
        GREATEST(0, COALESCE(last_counter_id, 0) + 1 - (pg_current_xact_id()::text::bigint + 1) * 1024));
END
$$;
-- +goose StatementEnd
DROP TABLE IF EXISTS order_event_counter;

-- +goose Down
CREATE TABLE IF NOT EXISTS order_event_counter (
    one     boolean PRIMARY KEY DEFAULT true CHECK (one),
    last_id bigint  NOT NULL CHECK (last_id >= 0)
);
INSERT INTO order_event_counter (one, last_id) SELECT true, COALESCE(max(id), 0) FROM order_events
    ON CONFLICT (one) DO UPDATE SET last_id = EXCLUDED.last_id;
DROP FUNCTION order_event_id(xid8, bigint);
