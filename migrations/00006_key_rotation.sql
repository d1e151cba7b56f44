-- +goose Up
-- Key rotation (POST /api-keys/:keyId/rotate) and the read permission.
-- A rotation links the old key and its replacement both ways: rotated_to
-- marks a key that was rotated (it cannot be rotated again, and it no
-- longer counts against the wallet's active keys while its grace period
-- runs out), rotated_from tells where a key came from. Each key is replaced
-- at most once, so rotated_from is unique.
ALTER TABLE api_keys ADD COLUMN rotated_from text UNIQUE REFERENCES api_keys (id);
ALTER TABLE api_keys ADD COLUMN rotated_to text UNIQUE REFERENCES api_keys (id);

ALTER TABLE api_keys DROP CONSTRAINT api_keys_permissions_check;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_permissions_check CHECK (cardinality(permissions) > 0
    AND permissions <@ ARRAY['create','execute','cancel','read']);

-- The event list is every event there is, 00011's included: a database that
-- ran 00011 before this migration existed applies it late (out of order,
-- postgres.Migrate), and must keep order.filled and order.reopened.
ALTER TABLE audit_events DROP CONSTRAINT audit_events_event_check;
ALTER TABLE audit_events ADD CONSTRAINT audit_events_event_check CHECK (event IN ('key.created', 'key.updated',
    'key.revoked', 'key.rotated', 'key.suspended', 'key.unsuspended',
    'order.created', 'order.executed', 'order.cancelled', 'order.filled', 'order.reopened'));

-- +goose Down
-- Rows written under the new rules stay; the old checks guard new rows only.
ALTER TABLE audit_events DROP CONSTRAINT audit_events_event_check;
ALTER TABLE audit_events ADD CONSTRAINT audit_events_event_check CHECK (event IN ('key.created', 'key.updated',
    'key.revoked', 'key.suspended', 'key.unsuspended',
    'order.created', 'order.executed', 'order.cancelled', 'order.filled', 'order.reopened')) NOT VALID;
ALTER TABLE api_keys DROP CONSTRAINT api_keys_permissions_check;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_permissions_check CHECK (cardinality(permissions) > 0
    AND permissions <@ ARRAY['create','execute','cancel']) NOT VALID;
ALTER TABLE api_keys DROP COLUMN rotated_to;
ALTER TABLE api_keys DROP COLUMN rotated_from;
