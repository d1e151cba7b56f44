-- +goose Up
-- The order event log (GET /api/v1/orders/events): one row per order change,
-- appended by the statement that makes the change, so the log holds every
-- change exactly once and nothing that was rolled back.
--
-- Ids come from the one row of order_event_counter, updated by that same
-- statement, not from a sequence: a sequence hands out numbers when rows are
-- inserted, and transactions commit in another order, so a reader that saw id
-- 8 could later miss a 7 committed after it. The counter row stays locked
-- until its transaction ends, so the next writer gets its ids only after this
-- one committed (or rolled back, and then the numbers are reused): ids are in
-- commit order and have no gaps, and "every event after N" is exact
-- (docs/decisions.md, "Order event ids").
CREATE TABLE order_event_counter (
    one     boolean PRIMARY KEY DEFAULT true CHECK (one),
    last_id bigint  NOT NULL CHECK (last_id >= 0)
);
INSERT INTO order_event_counter (one, last_id) VALUES (true, 0);

CREATE TABLE order_events (
    id         bigint      PRIMARY KEY,
    order_uuid text        NOT NULL,
    owner      text        NOT NULL,
    type       text        NOT NULL CHECK (type IN
                   ('created', 'executing', 'submitted', 'filled', 'cancelled', 'expired', 'failed', 'reopened')),
    -- The order as it stood after the change (every column but the signature),
    -- keyed by the Go field names of order.Order.
    data       jsonb       NOT NULL,
    created_at timestamptz NOT NULL
);

-- A stream of one owner's orders: WHERE owner = $1 AND id > $2 ORDER BY id.
CREATE INDEX order_events_owner_idx ON order_events (owner, id);
-- Retention: DELETE … WHERE created_at < $cutoff.
CREATE INDEX order_events_created_idx ON order_events (created_at);

-- +goose Down
DROP TABLE order_events;
DROP TABLE order_event_counter;
