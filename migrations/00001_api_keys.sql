-- +goose Up
CREATE TABLE api_keys (
    id                  text        PRIMARY KEY,
    wallet_address      text        NOT NULL,
    name                text        NOT NULL,
    key_hash            bytea       NOT NULL UNIQUE CHECK (octet_length(key_hash) = 32),
    key_prefix          text        NOT NULL,
    permissions         text[]      NOT NULL CHECK (cardinality(permissions) > 0
                                        AND permissions <@ ARRAY['create','execute','cancel']),
    status              text        NOT NULL CHECK (status IN ('active', 'revoked', 'suspended')),
    rate_limit_minute   integer     NOT NULL CHECK (rate_limit_minute > 0),
    rate_limit_hour     integer     NOT NULL CHECK (rate_limit_hour > 0),
    rate_limit_day      integer     NOT NULL CHECK (rate_limit_day > 0),
    ip_allowlist        cidr[]      NOT NULL DEFAULT '{}',
    expires_at          timestamptz,
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL,
    revoked_at          timestamptz,
    last_used_at        timestamptz,
    total_requests      bigint      NOT NULL DEFAULT 0,
    successful_requests bigint      NOT NULL DEFAULT 0,
    failed_requests     bigint      NOT NULL DEFAULT 0,
    creation_count      bigint      NOT NULL DEFAULT 0,
    execution_count     bigint      NOT NULL DEFAULT 0,
    cancellation_count  bigint      NOT NULL DEFAULT 0
);

-- Listing a wallet's keys, oldest first; also the active-key count on create.
CREATE INDEX api_keys_wallet_created_idx ON api_keys (wallet_address, created_at, id);

-- +goose Down
DROP TABLE api_keys;
