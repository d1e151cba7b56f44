-- +goose Up
-- The submitted state (stacks settlement): the transaction is broadcast and
-- awaits its block; filled orders on chain carry the block height.
ALTER TABLE orders DROP CONSTRAINT orders_status_check;
ALTER TABLE orders ADD CONSTRAINT orders_status_check
    CHECK (status IN ('open', 'executing', 'submitted', 'filled', 'cancelled', 'expired'));
ALTER TABLE orders ADD COLUMN block_height bigint CHECK (block_height > 0);
ALTER TABLE orders ADD COLUMN submitted_at timestamptz;
ALTER TABLE orders ADD CONSTRAINT orders_submitted_complete
    CHECK (status <> 'submitted' OR (txid IS NOT NULL AND settlement IS NOT NULL AND submitted_at IS NOT NULL));

-- The tracker: SELECT … WHERE status = 'submitted' ORDER BY submitted_at, uuid LIMIT n.
CREATE INDEX orders_submitted_idx ON orders (submitted_at, uuid) WHERE status = 'submitted';

-- The executor's nonces, one row per executor account: reserving a nonce
-- locks the account's row, so gateways sharing the database hand out every
-- nonce exactly once and skip none.
CREATE TABLE stacks_executor_accounts (
    address    text   PRIMARY KEY,
    next_nonce bigint NOT NULL CHECK (next_nonce >= 0)
);

-- One row per reserved nonce: the transaction signed under it (raw, so a
-- crash between reserving and broadcasting re-broadcasts the same bytes and
-- leaves no gap), for which order and claim, and every txid it had (a
-- replacement by fee keeps the nonce and changes the txid).
--   pending: reserved or broadcast, not yet mined
--   mined:   the nonce is used on chain (success or abort)
--   free:    reserved, then refused by the node: the next reservation takes it
--   void:    the nonce was used by something else (BadNonce): never reused
CREATE TABLE stacks_executor_txs (
    address      text        NOT NULL REFERENCES stacks_executor_accounts (address),
    nonce        bigint      NOT NULL CHECK (nonce >= 0),
    order_uuid   text,
    attempt      integer,
    state        text        NOT NULL CHECK (state IN ('pending', 'mined', 'free', 'void')),
    txid         text        CHECK (txid ~ '^0x[0-9a-f]{64}$'),
    txids        text[]      NOT NULL DEFAULT '{}',
    fee          bigint      NOT NULL DEFAULT 0 CHECK (fee >= 0),
    raw          bytea,
    reserved_at  timestamptz NOT NULL,
    broadcast_at timestamptz,
    updated_at   timestamptz NOT NULL,
    PRIMARY KEY (address, nonce),
    CONSTRAINT stacks_executor_txs_pending_signed CHECK (state <> 'pending' OR (txid IS NOT NULL AND raw IS NOT NULL))
);
-- One live transaction per order claim.
CREATE UNIQUE INDEX stacks_executor_txs_order_idx ON stacks_executor_txs (order_uuid, attempt)
    WHERE order_uuid IS NOT NULL AND state IN ('pending', 'mined');
CREATE INDEX stacks_executor_txs_pending_idx ON stacks_executor_txs (address, nonce) WHERE state = 'pending';

-- +goose Down
DROP TABLE stacks_executor_txs;
DROP TABLE stacks_executor_accounts;
DROP INDEX orders_submitted_idx;
ALTER TABLE orders DROP CONSTRAINT orders_submitted_complete;
ALTER TABLE orders DROP COLUMN submitted_at;
ALTER TABLE orders DROP COLUMN block_height;
ALTER TABLE orders DROP CONSTRAINT orders_status_check;
ALTER TABLE orders ADD CONSTRAINT orders_status_check
    CHECK (status IN ('open', 'executing', 'filled', 'cancelled', 'expired'));
