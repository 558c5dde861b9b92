-- The data plane's shared state: what several gateway nodes on one database must agree on to
-- enforce limits and budgets together, and what tells each node that its cached view of keys,
-- users, grants, limits, budgets and models is out of date.

-- Bumped, in the same transaction, by every change to what the data plane caches (see the
-- triggers below). A node compares it with the value its cache was built at on every request,
-- so a revoked key or a suspended user is refused by every node from the next request on.
CREATE TABLE policy_epoch (
    id BIGINT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO policy_epoch (id, value) VALUES (1, 0);

CREATE FUNCTION bump_policy_epoch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE policy_epoch SET value = value + 1 WHERE id = 1;
    RETURN NULL;
END
$$;
CREATE TRIGGER policy_epoch_api_keys AFTER UPDATE OF user_id, secret_hash, revoked_at OR DELETE ON api_keys
    FOR EACH STATEMENT EXECUTE FUNCTION bump_policy_epoch();
CREATE TRIGGER policy_epoch_users AFTER UPDATE OF status OR DELETE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION bump_policy_epoch();
CREATE TRIGGER policy_epoch_memberships AFTER INSERT OR UPDATE OR DELETE ON memberships
    FOR EACH STATEMENT EXECUTE FUNCTION bump_policy_epoch();
CREATE TRIGGER policy_epoch_workspaces AFTER UPDATE OF slug OR DELETE ON workspaces
    FOR EACH STATEMENT EXECUTE FUNCTION bump_policy_epoch();
CREATE TRIGGER policy_epoch_groups AFTER UPDATE OF name OR DELETE ON groups
    FOR EACH STATEMENT EXECUTE FUNCTION bump_policy_epoch();
CREATE TRIGGER policy_epoch_group_members AFTER INSERT OR UPDATE OF group_id, user_id OR DELETE ON group_members
    FOR EACH STATEMENT EXECUTE FUNCTION bump_policy_epoch();
CREATE TRIGGER policy_epoch_grants AFTER INSERT OR UPDATE OR DELETE ON grants
    FOR EACH STATEMENT EXECUTE FUNCTION bump_policy_epoch();
CREATE TRIGGER policy_epoch_limits AFTER INSERT OR UPDATE OR DELETE ON limits
    FOR EACH STATEMENT EXECUTE FUNCTION bump_policy_epoch();
CREATE TRIGGER policy_epoch_budgets AFTER INSERT OR UPDATE OR DELETE ON budgets
    FOR EACH STATEMENT EXECUTE FUNCTION bump_policy_epoch();
CREATE TRIGGER policy_epoch_models AFTER INSERT OR UPDATE OR DELETE ON models
    FOR EACH STATEMENT EXECUTE FUNCTION bump_policy_epoch();
CREATE TRIGGER policy_epoch_org AFTER UPDATE OF time_zone ON org
    FOR EACH STATEMENT EXECUTE FUNCTION bump_policy_epoch();

-- Each subject's (`user:<id>`, `group:<id>`) rate-limit window: the clock minute (Unix minutes,
-- UTC) and what was admitted in it. One row per subject with a limit, reset when a request
-- arrives in a later minute; admission checks and counts every subject of a request in one
-- conditional upsert, which is why each row carries the limits it was last checked against
-- (the request's, as its node knew them).
CREATE TABLE rate_windows (
    subject TEXT PRIMARY KEY,
    minute BIGINT NOT NULL,
    requests BIGINT NOT NULL,
    input_tokens BIGINT NOT NULL,
    output_tokens BIGINT NOT NULL,
    requests_limit BIGINT NOT NULL,
    input_tokens_limit BIGINT NOT NULL,
    output_tokens_limit BIGINT NOT NULL
);

-- One row per request in flight and subject with a concurrency limit. A node renews its leases
-- while the requests run and deletes them when they end; a node that dies leaves leases that
-- expire (`expires_at`, Unix milliseconds), so its slots come back on their own. Keyed for the
-- count by subject; renewing by node and sweeping scan it, and it holds only what is in flight.
CREATE TABLE concurrency_leases (
    subject TEXT NOT NULL,
    request_id TEXT NOT NULL,
    node TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (subject, request_id)
);

-- Spend counters: each user's cost per day in the org's time zone, the sum of their
-- usage_daily rows, kept by the same statements that write usage_daily. Budget periods are
-- whole days, so a budget check reads at most a month of rows per user.
CREATE TABLE spend_daily (
    user_id TEXT NOT NULL,
    day TEXT NOT NULL,
    cost_micros BIGINT NOT NULL,
    PRIMARY KEY (user_id, day)
);
INSERT INTO spend_daily (user_id, day, cost_micros)
SELECT user_id, day, CAST(SUM(cost_micros) AS BIGINT) FROM usage_daily GROUP BY user_id, day;

-- The hashes of the API keys of deleted accounts, so that such a key is told `account_deleted`
-- (403) rather than `invalid_api_key` (401). Kept by a trigger: a key row goes only when its
-- account does.
CREATE TABLE retired_api_keys (
    secret_hash TEXT PRIMARY KEY,
    key_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    retired_at TEXT NOT NULL
);
CREATE FUNCTION retire_api_key() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO retired_api_keys (secret_hash, key_id, user_id, retired_at)
    VALUES (OLD.secret_hash, OLD.id, OLD.user_id,
            to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
    ON CONFLICT (secret_hash) DO NOTHING;
    RETURN NULL;
END
$$;
CREATE TRIGGER api_keys_retire AFTER DELETE ON api_keys
    FOR EACH ROW EXECUTE FUNCTION retire_api_key();
