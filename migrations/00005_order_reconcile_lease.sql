-- +goose Up
-- Reconciliation lease: the gateway that took an interrupted execution to
-- ask settlement about it again holds it until then; other gateways skip it
-- (order.Store.TakeStuck).
ALTER TABLE orders ADD COLUMN reconcile_until timestamptz;

-- +goose Down
ALTER TABLE orders DROP COLUMN reconcile_until;
