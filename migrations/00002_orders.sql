-- +goose Up
CREATE TABLE orders (
    -- COLLATE "C": keyset pagination orders by (created_at, uuid); byte order
    -- makes that order the same on every server locale and in the in-memory store.
    uuid            text COLLATE "C" PRIMARY KEY CHECK (uuid ~ '^[A-Za-z0-9_-]{1,64}$'),
    owner           text        NOT NULL CHECK (owner <> ''),
    input_token     text        NOT NULL CHECK (input_token <> ''),
    output_token    text        NOT NULL CHECK (output_token <> ''),
    -- amount_in is numeric(39,0), not text: the database itself then enforces
    -- 0 < amount_in < 2^128 (the Clarity uint the owner signed), and amounts
    -- can be summed and compared in SQL (volume, reporting) exactly, without
    -- floats. It round-trips byte for byte because the service only accepts
    -- canonical integers (no sign, no leading zeros); reads cast it to text.
    amount_in       numeric(39,0) NOT NULL
                        CHECK (amount_in > 0 AND amount_in < 340282366920938463463374607431768211456),
    -- target_price stays text: it is a string-ascii in the signed tuple, so
    -- "0.30" must never come back as "0.3".
    target_price    text        NOT NULL CHECK (target_price ~ '^[0-9]{1,40}(\.[0-9]{1,40})?$'),
    direction       text        NOT NULL CHECK (direction IN ('gt', 'lt')),
    condition_token text        NOT NULL CHECK (condition_token <> ''),
    recipient       text        NOT NULL CHECK (recipient <> ''),
    signature       text        NOT NULL CHECK (signature <> ''),
    valid_from      timestamptz NOT NULL,
    valid_to        timestamptz NOT NULL,
    status          text        NOT NULL
                        CHECK (status IN ('open', 'executing', 'filled', 'cancelled', 'expired')),
    txid            text        CHECK (txid ~ '^0x[0-9a-f]{64}$'),
    settlement      text        CHECK (settlement <> ''),
    created_by      text        NOT NULL,
    executed_by     text,
    cancelled_by    text,
    last_error      text,
    attempts        integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    executing_since timestamptz,
    filled_at       timestamptz,
    cancelled_at    timestamptz,
    expired_at      timestamptz,

    CONSTRAINT orders_validity_window CHECK (valid_to > valid_from),
    -- Each state carries what it means: a filled order always has its
    -- transaction, an executing one the time it was claimed.
    CONSTRAINT orders_filled_has_txid CHECK (status <> 'filled' OR txid IS NOT NULL),
    CONSTRAINT orders_filled_complete CHECK (status <> 'filled' OR (settlement IS NOT NULL AND filled_at IS NOT NULL)),
    CONSTRAINT orders_executing_since CHECK (status <> 'executing' OR executing_since IS NOT NULL),
    CONSTRAINT orders_cancelled_at CHECK (status <> 'cancelled' OR cancelled_at IS NOT NULL),
    CONSTRAINT orders_expired_at CHECK (status <> 'expired' OR expired_at IS NOT NULL)
);

-- The public list, no filter: ORDER BY created_at DESC, uuid DESC
--   WHERE (created_at, uuid) < ($after, $uuid) LIMIT $n.
CREATE INDEX orders_created_idx ON orders (created_at DESC, uuid DESC);

-- The list filtered by owner: WHERE owner = $1 [AND (created_at, uuid) < …]
--   ORDER BY created_at DESC, uuid DESC LIMIT $n.
CREATE INDEX orders_owner_created_idx ON orders (owner, created_at DESC, uuid DESC);

-- The list filtered by owner and status (a bot's "my open orders"):
--   WHERE owner = $1 AND status = $2 [AND (created_at, uuid) < …] ORDER BY created_at DESC, uuid DESC.
CREATE INDEX orders_owner_status_created_idx ON orders (owner, status, created_at DESC, uuid DESC);

-- The list filtered by status only: WHERE status = $1 [AND (created_at, uuid) < …]
--   ORDER BY created_at DESC, uuid DESC.
CREATE INDEX orders_status_created_idx ON orders (status, created_at DESC, uuid DESC);

-- The expiry sweep: UPDATE … WHERE status = 'open' AND valid_to <= $now.
-- Partial: only open orders are ever swept, and they are the few.
CREATE INDEX orders_open_valid_to_idx ON orders (valid_to) WHERE status = 'open';

-- Reconciliation: SELECT … WHERE status = 'executing' AND executing_since <= $since
--   ORDER BY executing_since, uuid. Partial: executing orders are fewer still.
CREATE INDEX orders_executing_since_idx ON orders (executing_since, uuid) WHERE status = 'executing';

-- +goose Down
DROP TABLE orders;
