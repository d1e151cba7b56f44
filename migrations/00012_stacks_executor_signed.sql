-- +goose Up
-- Every transaction the executor signed for an order, kept after its nonce
-- row moves on (a given-back nonce is reused by another order): when a
-- transaction aborts because the order's uuid is already executed on chain,
-- the executor looks up whether one of its own earlier transactions did it.
CREATE TABLE stacks_executor_signed (
    txid       text        PRIMARY KEY CHECK (txid ~ '^0x[0-9a-f]{64}$'),
    address    text        NOT NULL,
    order_uuid text        NOT NULL,
    nonce      bigint      NOT NULL CHECK (nonce >= 0),
    signed_at  timestamptz NOT NULL
);
CREATE INDEX stacks_executor_signed_order_idx ON stacks_executor_signed (address, order_uuid);

-- +goose Down
DROP TABLE stacks_executor_signed;
