-- +goose Up
-- Orders settled on chain (stacks) are audited at each step: order.executed
-- when the transaction is broadcast, then order.filled when it is mined with
-- success or order.reopened when it aborted on chain. (key.rotated comes from
-- 00006_key_rotation.sql, which runs first: this list keeps it.)
ALTER TABLE audit_events DROP CONSTRAINT audit_events_event_check;
ALTER TABLE audit_events ADD CONSTRAINT audit_events_event_check
    CHECK (event IN ('key.created', 'key.updated', 'key.revoked', 'key.rotated', 'key.suspended', 'key.unsuspended',
                     'order.created', 'order.executed', 'order.cancelled', 'order.filled', 'order.reopened'));

-- +goose Down
ALTER TABLE audit_events DROP CONSTRAINT audit_events_event_check;
ALTER TABLE audit_events ADD CONSTRAINT audit_events_event_check
    CHECK (event IN ('key.created', 'key.updated', 'key.revoked', 'key.rotated', 'key.suspended', 'key.unsuspended',
                     'order.created', 'order.executed', 'order.cancelled'));
