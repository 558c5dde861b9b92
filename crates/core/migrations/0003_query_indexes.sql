-- What the app's screens read fast from a large cache (100,000 users, 1,000,000 usage rows).
-- The users table's search runs on an in-memory index (queries/user_index.rs), not here.

-- Counting a role or status; "active now" on the overview.
CREATE INDEX users_role_status ON users (role, status);
CREATE INDEX users_last_active ON users (last_active_at);

-- One user's usage by day (their spend this month, their chart, a group's members' spend): a
-- covering index, so those sums never read the rows.
CREATE INDEX usage_daily_user ON usage_daily
    (user_id, day, requests, input_tokens, output_tokens, cost_micros);

-- Usage per day and per model (dim 'model'), workspace ('workspace') and for the whole org
-- ('all', key ''): a few thousand rows that stacked charts read instead of a million. Each
-- applied batch adds its usage rows' amounts and takes out those of the rows it replaced or
-- deleted (cache/rollup.rs), in the batch's transaction, so they are always exact.
CREATE TABLE usage_rollup (
    dim TEXT NOT NULL,
    key TEXT NOT NULL,
    day TEXT NOT NULL,
    requests INTEGER NOT NULL,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    cost_micros INTEGER NOT NULL,
    PRIMARY KEY (dim, key, day)
) WITHOUT ROWID;

-- Each user's, model's and workspace's cost over every cached day: an upper bound of its cost in
-- any range, which lets a top-N chart stop after the few keys that can still make the top.
CREATE TABLE usage_key_totals (
    dim TEXT NOT NULL,
    key TEXT NOT NULL,
    cost_micros INTEGER NOT NULL,
    PRIMARY KEY (dim, key)
) WITHOUT ROWID;
CREATE INDEX usage_key_totals_cost ON usage_key_totals (dim, cost_micros DESC, key);
