-- +goose Up
-- The audit trail: what happened to keys and orders, by whom, from where.
-- Append-only: the triggers below refuse UPDATE, DELETE and TRUNCATE, so
-- neither the gateway nor a stray statement can rewrite history. (A
-- superuser can still drop a trigger; see docs/operations.md for the grants
-- that keep the gateway's own role to INSERT and SELECT.)
CREATE TABLE audit_events (
    id          bigserial   PRIMARY KEY,
    at          timestamptz NOT NULL,
    -- The wallet the event belongs to (owner of the key or order): the
    -- only wallet that may read it.
    wallet      text        NOT NULL CHECK (wallet <> ''),
    event       text        NOT NULL CHECK (event IN ('key.created', 'key.updated', 'key.revoked',
                                'key.suspended', 'key.unsuspended',
                                'order.created', 'order.executed', 'order.cancelled')),
    key_id      text,
    order_uuid  text,
    -- "key:<id>", "wallet:<address>" or "operator".
    actor       text        NOT NULL CHECK (actor <> ''),
    client_ip   inet,
    request_id  text,
    details     jsonb       NOT NULL DEFAULT '{}'::jsonb,

    CONSTRAINT audit_events_subject CHECK (key_id IS NOT NULL OR order_uuid IS NOT NULL)
);

-- A wallet's trail, newest first: WHERE wallet = $1 [AND id < $cursor] ORDER BY id DESC LIMIT $n.
CREATE INDEX audit_events_wallet_idx ON audit_events (wallet, id DESC);

-- One key's trail: WHERE wallet = $1 AND key_id = $2 [AND id < $cursor] ORDER BY id DESC LIMIT $n.
CREATE INDEX audit_events_key_idx ON audit_events (key_id, id DESC) WHERE key_id IS NOT NULL;

-- One order's history (operators: WHERE order_uuid = $1 ORDER BY id).
CREATE INDEX audit_events_order_idx ON audit_events (order_uuid, id) WHERE order_uuid IS NOT NULL;

-- +goose StatementBegin
CREATE FUNCTION audit_events_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
-- +goose StatementEnd

CREATE TRIGGER audit_events_no_update_delete
    BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();

CREATE TRIGGER audit_events_no_truncate
    BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();

-- +goose Down
DROP TABLE audit_events;
DROP FUNCTION audit_events_append_only();
