-- +goose Up
-- Order events keep the order's changing fields in typed columns instead of
-- a jsonb snapshot of the whole order (docs/decisions.md, "What the log
-- costs the execute path"). Building the 26-field jsonb, with its seven
-- timestamps rendered as text, twice per execute, and writing ~1 KB rows, was
-- the largest cost of the log. An event now stores what a change can change
-- (status and the fields each transition sets); the fields fixed at creation
-- (tokens, amount, price, direction, condition, recipient, validity, creator,
-- creation time) are read from the order's own row, which never changes them
-- and is never deleted. updated_at is the event's created_at.
--
-- Events written before this migration keep their data snapshot and are
-- read as before; new events have data NULL and status set. Gateways older
-- than this migration cannot read new events (their streams fail loudly on
-- the NULL data) until they are replaced.
--
-- Absent order_events (00007 not applied yet: migrations apply in any order)
-- leaves nothing to do here.
-- +goose StatementBegin
DO $$
BEGIN
    IF to_regclass('order_events') IS NULL THEN
        RETURN;
    END IF;
    ALTER TABLE order_events
        ALTER COLUMN data DROP NOT NULL,
        ADD COLUMN status          text,
        ADD COLUMN txid            text,
        ADD COLUMN settlement      text,
        ADD COLUMN block_height    bigint,
        ADD COLUMN executed_by     text,
        ADD COLUMN cancelled_by    text,
        ADD COLUMN last_error      text,
        ADD COLUMN attempts        integer,
        ADD COLUMN executing_since timestamptz,
        ADD COLUMN submitted_at    timestamptz,
        ADD COLUMN filled_at       timestamptz,
        ADD COLUMN cancelled_at    timestamptz,
        ADD COLUMN expired_at      timestamptz,
        -- Old rows have data; new rows have the state. NOT VALID: the old
        -- rows need no scan (they all have data).
        ADD CONSTRAINT order_events_data_or_state CHECK (data IS NOT NULL OR (status IS NOT NULL AND attempts IS NOT NULL))
            NOT VALID;
END
$$;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
DO $$
BEGIN
    IF to_regclass('order_events') IS NULL OR NOT EXISTS (SELECT 1 FROM information_schema.columns
            WHERE table_name = 'order_events' AND column_name = 'status') THEN
        RETURN;
    END IF;
    -- The snapshot of each new event, from its state and its order's row.
    UPDATE order_events e SET data = jsonb_build_object('UUID', o.uuid, 'Owner', o.owner,
            'InputToken', o.input_token, 'OutputToken', o.output_token, 'AmountIn', o.amount_in::text,
            'TargetPrice', o.target_price, 'Direction', o.direction, 'ConditionToken', o.condition_token,
            'Recipient', o.recipient, 'ValidFrom', o.valid_from, 'ValidTo', o.valid_to, 'Status', e.status,
            'TxID', COALESCE(e.txid, ''), 'Settlement', COALESCE(e.settlement, ''),
            'BlockHeight', COALESCE(e.block_height, 0), 'CreatedBy', o.created_by,
            'ExecutedBy', COALESCE(e.executed_by, ''), 'CancelledBy', COALESCE(e.cancelled_by, ''),
            'LastError', COALESCE(e.last_error, ''), 'Attempts', e.attempts,
            'CreatedAt', o.created_at, 'UpdatedAt', e.created_at, 'ExecutingSince', e.executing_since,
            'SubmittedAt', e.submitted_at, 'FilledAt', e.filled_at, 'CancelledAt', e.cancelled_at,
            'ExpiredAt', e.expired_at)
        FROM orders o WHERE e.data IS NULL AND o.uuid = e.order_uuid;
    DELETE FROM order_events WHERE data IS NULL;
    ALTER TABLE order_events
        DROP CONSTRAINT order_events_data_or_state,
        ALTER COLUMN data SET NOT NULL,
        DROP COLUMN status, DROP COLUMN txid, DROP COLUMN settlement, DROP COLUMN block_height,
        DROP COLUMN executed_by, DROP COLUMN cancelled_by, DROP COLUMN last_error, DROP COLUMN attempts,
        DROP COLUMN executing_since, DROP COLUMN submitted_at, DROP COLUMN filled_at,
        DROP COLUMN cancelled_at, DROP COLUMN expired_at;
END
$$;
-- +goose StatementEnd
