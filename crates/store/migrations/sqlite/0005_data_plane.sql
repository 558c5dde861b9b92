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
CREATE TRIGGER policy_epoch_api_keys_update AFTER UPDATE OF user_id, secret_hash, revoked_at ON api_keys
BEGIN UPDATE policy_epoch SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER policy_epoch_api_keys_delete AFTER DELETE ON api_keys
BEGIN UPDATE policy_epoch SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER policy_epoch_users_update AFTER UPDATE OF status ON users
BEGIN UPDATE policy_epoch SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER policy_epoch_users_delete AFTER DELETE ON users
BEGIN UPDATE policy_epoch SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER policy_epoch_memberships_insert AFTER INSERT ON memberships
BEGIN UPDATE policy_epoch SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER policy_epoch_memberships_update AFTER UPDATE ON memberships
BEGIN UPDATE policy_epoch SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER policy_epoch_memberships_delete AFTER DELETE ON memberships
BEGIN UPDATE policy_epoch SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER policy_epoch_workspaces_update AFTER UPDATE OF slug ON workspaces
BEGIN UPDATE policy_epoch SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER policy_epoch_workspaces_delete AFTER DELETE ON workspaces
BEGIN UPDATE policy_epoch SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER policy_epoch_groups_update AFTER UPDATE OF name ON groups
BEGIN UPDATE policy_epoch SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER policy_epoch_groups_delete AFTER DELETE ON groups
BEGIN UPDATE policy_epoch SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER policy_epoch_group_members_insert AFTER INSERT ON group_members
BEGIN UPDATE policy_epoch SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER policy_epoch_group_members_update AFTER UPDATE OF group_id, user_id ON group_members
BEGIN UPDATE policy_epoch SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER policy_epoch_group_members_delete AFTER DELETE ON group_members
BEGIN UPDATE policy_epoch SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER policy_epoch_grants_insert AFTER INSERT ON grants
BEGIN UPDATE policy_epoch SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER policy_epoch_grants_update AFTER UPDATE ON grants
BEGIN UPDATE policy_epoch SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER policy_epoch_grants_delete AFTER DELETE ON grants
BEGIN UPDATE policy_epoch SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER policy_epoch_limits_insert AFTER INSERT ON limits
BEGIN UPDATE policy_epoch SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER policy_epoch_limits_update AFTER UPDATE ON limits
BEGIN UPDATE policy_epoch SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER policy_epoch_limits_delete AFTER DELETE ON limits
BEGIN UPDATE policy_epoch SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER policy_epoch_budgets_insert AFTER INSERT ON budgets
BEGIN UPDATE policy_epoch SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER policy_epoch_budgets_update AFTER UPDATE ON budgets
BEGIN UPDATE policy_epoch SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER policy_epoch_budgets_delete AFTER DELETE ON budgets
BEGIN UPDATE policy_epoch SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER policy_epoch_models_insert AFTER INSERT ON models
BEGIN UPDATE policy_epoch SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER policy_epoch_models_update AFTER UPDATE ON models
BEGIN UPDATE policy_epoch SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER policy_epoch_models_delete AFTER DELETE ON models
BEGIN UPDATE policy_epoch SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER policy_epoch_org_update AFTER UPDATE OF time_zone ON org
BEGIN UPDATE policy_epoch SET value = value + 1 WHERE id = 1; END;

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
) WITHOUT ROWID;

-- One row per request in flight and subject with a concurrency limit. A node renews its leases
-- while the requests run and deletes them when they end; a node that dies leaves leases that
-- expire (`expires_at`, Unix milliseconds), so its slots come back on their own.
-- One B-tree, keyed for the count by subject: every request writes two rows here (taken and
-- released), and each index would be another page in its transactions. Renewing by node and
-- sweeping scan it, and it holds only what is in flight.
CREATE TABLE concurrency_leases (
    subject TEXT NOT NULL,
    request_id TEXT NOT NULL,
    node TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (subject, request_id)
) WITHOUT ROWID;

-- Spend counters: each user's cost per day in the org's time zone, the sum of their
-- usage_daily rows, kept by the same statements that write usage_daily. Budget periods are
-- whole days, so a budget check reads at most a month of rows per user.
CREATE TABLE spend_daily (
    user_id TEXT NOT NULL,
    day TEXT NOT NULL,
    cost_micros BIGINT NOT NULL,
    PRIMARY KEY (user_id, day)
) WITHOUT ROWID;
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
) WITHOUT ROWID;
CREATE TRIGGER api_keys_retire AFTER DELETE ON api_keys
BEGIN
    INSERT INTO retired_api_keys (secret_hash, key_id, user_id, retired_at)
    VALUES (OLD.secret_hash, OLD.id, OLD.user_id, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
    ON CONFLICT (secret_hash) DO NOTHING;
END;
