-- +goose Up
-- When each key was stored, by PostgreSQL's clock (one clock for every
-- gateway instance): instances learn of keys created elsewhere by listing
-- the hashes stored since their last look (apikey.Store.KeyHashes).
ALTER TABLE api_keys ADD COLUMN stored_at timestamptz NOT NULL DEFAULT clock_timestamp();
CREATE INDEX api_keys_stored_at_idx ON api_keys (stored_at);

-- +goose Down
DROP INDEX api_keys_stored_at_idx;
ALTER TABLE api_keys DROP COLUMN stored_at;
