-- What the app's screens read fast from a large cache (100,000 users, 1,000,000 usage rows),
-- at little cost to a sync: two small indexes, and usage roll-ups that a sync only marks stale
-- (one tiny upsert per usage row); the queries rebuild the stale days. The users table's search
-- runs on an in-memory index (queries/user_index.rs), not on SQLite.
-- Counting a role or status; "active now" on the overview.
CREATE INDEX users_role_status ON users (role, status);
CREATE INDEX users_last_active ON users (last_active_at);

-- The days whose usage changed since the roll-ups were last brought up to date.
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

-- Usage per day and per user (dim 'user'), model ('model'), workspace ('workspace'), and for
-- the whole org (dim 'all', key ''). Rebuilt from usage_daily for the stale days.
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
CREATE INDEX usage_rollup_day ON usage_rollup (day);

-- Each key's cost over every cached day: an upper bound of its cost in any range, which lets a
-- top-N chart stop after the few keys that can still make the top.
CREATE TABLE usage_key_totals (
    dim TEXT NOT NULL,
    key TEXT NOT NULL,
    cost_micros INTEGER NOT NULL,
    PRIMARY KEY (dim, key)
) WITHOUT ROWID;
CREATE INDEX usage_key_totals_cost ON usage_key_totals (dim, cost_micros DESC, key);
