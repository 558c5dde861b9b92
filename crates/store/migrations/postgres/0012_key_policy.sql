-- API keys with their own policy (issue 16): an expiry, a subset of the user's models, the
-- key's own rate limits and budget caps (micro-USD, as in `budgets`), and the secret a rotation
-- replaced, which works until its grace period ends.
ALTER TABLE api_keys ADD COLUMN expires_at TEXT;
-- A JSON array of model ids; NULL: every model the user has.
ALTER TABLE api_keys ADD COLUMN model_ids TEXT;
ALTER TABLE api_keys ADD COLUMN requests_per_min BIGINT;
ALTER TABLE api_keys ADD COLUMN input_tokens_per_min BIGINT;
ALTER TABLE api_keys ADD COLUMN output_tokens_per_min BIGINT;
ALTER TABLE api_keys ADD COLUMN max_concurrent BIGINT;
ALTER TABLE api_keys ADD COLUMN daily_micros BIGINT;
ALTER TABLE api_keys ADD COLUMN weekly_micros BIGINT;
ALTER TABLE api_keys ADD COLUMN monthly_micros BIGINT;
ALTER TABLE api_keys ADD COLUMN rotated_at TEXT;
ALTER TABLE api_keys ADD COLUMN previous_secret_hash TEXT;
ALTER TABLE api_keys ADD COLUMN previous_secret_expires_at TEXT;
CREATE UNIQUE INDEX api_keys_previous_secret ON api_keys (previous_secret_hash);

-- Every column the data plane caches moves the epoch; `last_used_at` and `name` do not.
DROP TRIGGER policy_epoch_api_keys ON api_keys;
CREATE TRIGGER policy_epoch_api_keys AFTER UPDATE OF user_id, secret_hash, revoked_at,
    expires_at, model_ids, requests_per_min, input_tokens_per_min, output_tokens_per_min,
    max_concurrent, daily_micros, weekly_micros, monthly_micros, previous_secret_hash,
    previous_secret_expires_at OR DELETE ON api_keys
    FOR EACH STATEMENT EXECUTE FUNCTION bump_policy_epoch();

-- A deleted account's rotated-out secret is told `account_deleted` too.
CREATE OR REPLACE FUNCTION retire_api_key() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO retired_api_keys (secret_hash, key_id, user_id, retired_at)
    VALUES (OLD.secret_hash, OLD.id, OLD.user_id,
            to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
    ON CONFLICT (secret_hash) DO NOTHING;
    IF OLD.previous_secret_hash IS NOT NULL THEN
        INSERT INTO retired_api_keys (secret_hash, key_id, user_id, retired_at)
        VALUES (OLD.previous_secret_hash, OLD.id, OLD.user_id,
                to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
        ON CONFLICT (secret_hash) DO NOTHING;
    END IF;
    RETURN NULL;
END
$$;

-- Usage per key: the key is part of a daily row's identity ('' for use metered before).
ALTER TABLE usage_daily ADD COLUMN key_id TEXT NOT NULL DEFAULT '';
ALTER TABLE usage_daily DROP CONSTRAINT usage_daily_pkey;
ALTER TABLE usage_daily ADD PRIMARY KEY (day, user_id, model_id, workspace_id, key_id);
CREATE INDEX usage_daily_key_day ON usage_daily (key_id, day);

-- Spend counters per key and day, as `spend_daily` per user: kept by the statements that
-- write usage_daily, read by the key's budget check. Keys start at what they spend from now.
CREATE TABLE key_spend_daily (
    key_id TEXT NOT NULL,
    day TEXT NOT NULL,
    cost_micros BIGINT NOT NULL,
    PRIMARY KEY (key_id, day)
);
