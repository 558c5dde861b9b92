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
DROP TRIGGER policy_epoch_api_keys_update;
CREATE TRIGGER policy_epoch_api_keys_update AFTER UPDATE OF user_id, secret_hash, revoked_at,
    expires_at, model_ids, requests_per_min, input_tokens_per_min, output_tokens_per_min,
    max_concurrent, daily_micros, weekly_micros, monthly_micros, previous_secret_hash,
    previous_secret_expires_at ON api_keys
BEGIN UPDATE policy_epoch SET value = value + 1 WHERE id = 1; END;

-- A deleted account's rotated-out secret is told `account_deleted` too.
DROP TRIGGER api_keys_retire;
CREATE TRIGGER api_keys_retire AFTER DELETE ON api_keys
BEGIN
    INSERT INTO retired_api_keys (secret_hash, key_id, user_id, retired_at)
    VALUES (OLD.secret_hash, OLD.id, OLD.user_id, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
    ON CONFLICT (secret_hash) DO NOTHING;
    INSERT INTO retired_api_keys (secret_hash, key_id, user_id, retired_at)
    SELECT OLD.previous_secret_hash, OLD.id, OLD.user_id, strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
    WHERE OLD.previous_secret_hash IS NOT NULL
    ON CONFLICT (secret_hash) DO NOTHING;
END;

-- Usage per key: the key is part of a daily row's identity ('' for use metered before).
CREATE TABLE usage_daily_by_key (
    day TEXT NOT NULL,
    user_id TEXT NOT NULL,
    model_id TEXT NOT NULL,
    workspace_id TEXT NOT NULL DEFAULT '',
    key_id TEXT NOT NULL DEFAULT '',
    requests BIGINT NOT NULL,
    input_tokens BIGINT NOT NULL,
    output_tokens BIGINT NOT NULL,
    cost_micros BIGINT NOT NULL,
    revision BIGINT NOT NULL,
    PRIMARY KEY (day, user_id, model_id, workspace_id, key_id)
);
INSERT INTO usage_daily_by_key (day, user_id, model_id, workspace_id, key_id, requests,
    input_tokens, output_tokens, cost_micros, revision)
SELECT day, user_id, model_id, workspace_id, '', requests, input_tokens, output_tokens,
    cost_micros, revision FROM usage_daily;
DROP TABLE usage_daily;
ALTER TABLE usage_daily_by_key RENAME TO usage_daily;
CREATE INDEX usage_daily_user_day ON usage_daily (user_id, day);
CREATE INDEX usage_daily_revision ON usage_daily (revision);
CREATE INDEX usage_daily_key_day ON usage_daily (key_id, day);

-- Spend counters per key and day, as `spend_daily` per user: kept by the statements that
-- write usage_daily, read by the key's budget check. Keys start at what they spend from now.
CREATE TABLE key_spend_daily (
    key_id TEXT NOT NULL,
    day TEXT NOT NULL,
    cost_micros BIGINT NOT NULL,
    PRIMARY KEY (key_id, day)
) WITHOUT ROWID;
