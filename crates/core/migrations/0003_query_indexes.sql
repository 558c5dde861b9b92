-- What the app's screens read fast from a large cache (100,000 users, 1,000,000 usage rows).
-- The users table's search runs on an in-memory index (queries/user_index.rs), not here.

-- Counting a role or status; "active now" on the overview.
CREATE INDEX users_role_status ON users (role, status);
CREATE INDEX users_last_active ON users (last_active_at);

-- One user's usage by day (their spend this month, their chart, a group's members' spend): a
-- covering index, so those sums never read the rows.
CREATE INDEX usage_daily_user ON usage_daily
    (user_id, day, requests, input_tokens, output_tokens, cost_micros);

-- The days whose usage changed since the roll-ups below were last brought up to date: a sync
-- marks them (one tiny upsert per usage row) and brings the roll-ups up to date at its end
-- (Cache::refresh_usage_rollup).
CREATE TABLE usage_stale_days (day TEXT PRIMARY KEY) WITHOUT ROWID;
INSERT OR IGNORE INTO usage_stale_days SELECT DISTINCT day FROM usage_daily;
CREATE TRIGGER usage_daily_inserted AFTER INSERT ON usage_daily BEGIN
    INSERT OR IGNORE INTO usage_stale_days (day) VALUES (new.day);
END;
CREATE TRIGGER usage_daily_updated AFTER UPDATE ON usage_daily BEGIN
    INSERT OR IGNORE INTO usage_stale_days (day) VALUES (old.day);
    INSERT OR IGNORE INTO usage_stale_days (day) VALUES (new.day);
END;
CREATE TRIGGER usage_daily_deleted AFTER DELETE ON usage_daily BEGIN
    INSERT OR IGNORE INTO usage_stale_days (day) VALUES (old.day);
END;

-- Usage per day and per model (dim 'model'), workspace ('workspace') and for the whole org
-- ('all', key ''): a few thousand rows that stacked charts read instead of a million, rebuilt
-- for the stale days from the usage rows of those days.
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
-- Recomputed when usage changed: users' from the usage_daily_user index in one ordered pass,
-- models' and workspaces' from the roll-up.
CREATE TABLE usage_key_totals (
    dim TEXT NOT NULL,
    key TEXT NOT NULL,
    cost_micros INTEGER NOT NULL,
    PRIMARY KEY (dim, key)
) WITHOUT ROWID;
CREATE INDEX usage_key_totals_cost ON usage_key_totals (dim, cost_micros DESC, key);
