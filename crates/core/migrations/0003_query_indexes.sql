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
-- ('all', key ''): a few thousand rows that stacked charts read instead of a million. Kept
-- exact by the triggers below as usage rows come, change and go.
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

-- A sync replaces usage rows with INSERT OR REPLACE; the cache runs with recursive_triggers on,
-- so the replaced row's DELETE trigger takes its old values out before the new ones go in.
CREATE TRIGGER usage_daily_added AFTER INSERT ON usage_daily BEGIN
    INSERT INTO usage_rollup (dim, key, day, requests, input_tokens, output_tokens, cost_micros)
    VALUES ('model', new.model_id, new.day, new.requests, new.input_tokens, new.output_tokens, new.cost_micros)
    ON CONFLICT (dim, key, day) DO UPDATE SET requests = requests + excluded.requests,
        input_tokens = input_tokens + excluded.input_tokens,
        output_tokens = output_tokens + excluded.output_tokens,
        cost_micros = cost_micros + excluded.cost_micros;
    INSERT INTO usage_rollup (dim, key, day, requests, input_tokens, output_tokens, cost_micros)
    VALUES ('workspace', new.workspace_id, new.day, new.requests, new.input_tokens, new.output_tokens, new.cost_micros)
    ON CONFLICT (dim, key, day) DO UPDATE SET requests = requests + excluded.requests,
        input_tokens = input_tokens + excluded.input_tokens,
        output_tokens = output_tokens + excluded.output_tokens,
        cost_micros = cost_micros + excluded.cost_micros;
    INSERT INTO usage_rollup (dim, key, day, requests, input_tokens, output_tokens, cost_micros)
    VALUES ('all', '', new.day, new.requests, new.input_tokens, new.output_tokens, new.cost_micros)
    ON CONFLICT (dim, key, day) DO UPDATE SET requests = requests + excluded.requests,
        input_tokens = input_tokens + excluded.input_tokens,
        output_tokens = output_tokens + excluded.output_tokens,
        cost_micros = cost_micros + excluded.cost_micros;
    INSERT INTO usage_key_totals (dim, key, cost_micros) VALUES ('user', new.user_id, new.cost_micros)
    ON CONFLICT (dim, key) DO UPDATE SET cost_micros = cost_micros + excluded.cost_micros;
    INSERT INTO usage_key_totals (dim, key, cost_micros) VALUES ('model', new.model_id, new.cost_micros)
    ON CONFLICT (dim, key) DO UPDATE SET cost_micros = cost_micros + excluded.cost_micros;
    INSERT INTO usage_key_totals (dim, key, cost_micros) VALUES ('workspace', new.workspace_id, new.cost_micros)
    ON CONFLICT (dim, key) DO UPDATE SET cost_micros = cost_micros + excluded.cost_micros;
END;

CREATE TRIGGER usage_daily_removed AFTER DELETE ON usage_daily BEGIN
    INSERT INTO usage_rollup (dim, key, day, requests, input_tokens, output_tokens, cost_micros)
    VALUES ('model', old.model_id, old.day, -old.requests, -old.input_tokens, -old.output_tokens, -old.cost_micros)
    ON CONFLICT (dim, key, day) DO UPDATE SET requests = requests + excluded.requests,
        input_tokens = input_tokens + excluded.input_tokens,
        output_tokens = output_tokens + excluded.output_tokens,
        cost_micros = cost_micros + excluded.cost_micros;
    INSERT INTO usage_rollup (dim, key, day, requests, input_tokens, output_tokens, cost_micros)
    VALUES ('workspace', old.workspace_id, old.day, -old.requests, -old.input_tokens, -old.output_tokens, -old.cost_micros)
    ON CONFLICT (dim, key, day) DO UPDATE SET requests = requests + excluded.requests,
        input_tokens = input_tokens + excluded.input_tokens,
        output_tokens = output_tokens + excluded.output_tokens,
        cost_micros = cost_micros + excluded.cost_micros;
    INSERT INTO usage_rollup (dim, key, day, requests, input_tokens, output_tokens, cost_micros)
    VALUES ('all', '', old.day, -old.requests, -old.input_tokens, -old.output_tokens, -old.cost_micros)
    ON CONFLICT (dim, key, day) DO UPDATE SET requests = requests + excluded.requests,
        input_tokens = input_tokens + excluded.input_tokens,
        output_tokens = output_tokens + excluded.output_tokens,
        cost_micros = cost_micros + excluded.cost_micros;
    INSERT INTO usage_key_totals (dim, key, cost_micros) VALUES ('user', old.user_id, -old.cost_micros)
    ON CONFLICT (dim, key) DO UPDATE SET cost_micros = cost_micros + excluded.cost_micros;
    INSERT INTO usage_key_totals (dim, key, cost_micros) VALUES ('model', old.model_id, -old.cost_micros)
    ON CONFLICT (dim, key) DO UPDATE SET cost_micros = cost_micros + excluded.cost_micros;
    INSERT INTO usage_key_totals (dim, key, cost_micros) VALUES ('workspace', old.workspace_id, -old.cost_micros)
    ON CONFLICT (dim, key) DO UPDATE SET cost_micros = cost_micros + excluded.cost_micros;
END;

CREATE TRIGGER usage_daily_changed AFTER UPDATE ON usage_daily BEGIN
    INSERT INTO usage_rollup (dim, key, day, requests, input_tokens, output_tokens, cost_micros)
    VALUES ('model', old.model_id, old.day, -old.requests, -old.input_tokens, -old.output_tokens, -old.cost_micros)
    ON CONFLICT (dim, key, day) DO UPDATE SET requests = requests + excluded.requests,
        input_tokens = input_tokens + excluded.input_tokens,
        output_tokens = output_tokens + excluded.output_tokens,
        cost_micros = cost_micros + excluded.cost_micros;
    INSERT INTO usage_rollup (dim, key, day, requests, input_tokens, output_tokens, cost_micros)
    VALUES ('workspace', old.workspace_id, old.day, -old.requests, -old.input_tokens, -old.output_tokens, -old.cost_micros)
    ON CONFLICT (dim, key, day) DO UPDATE SET requests = requests + excluded.requests,
        input_tokens = input_tokens + excluded.input_tokens,
        output_tokens = output_tokens + excluded.output_tokens,
        cost_micros = cost_micros + excluded.cost_micros;
    INSERT INTO usage_rollup (dim, key, day, requests, input_tokens, output_tokens, cost_micros)
    VALUES ('all', '', old.day, -old.requests, -old.input_tokens, -old.output_tokens, -old.cost_micros)
    ON CONFLICT (dim, key, day) DO UPDATE SET requests = requests + excluded.requests,
        input_tokens = input_tokens + excluded.input_tokens,
        output_tokens = output_tokens + excluded.output_tokens,
        cost_micros = cost_micros + excluded.cost_micros;
    INSERT INTO usage_key_totals (dim, key, cost_micros) VALUES ('user', old.user_id, -old.cost_micros)
    ON CONFLICT (dim, key) DO UPDATE SET cost_micros = cost_micros + excluded.cost_micros;
    INSERT INTO usage_key_totals (dim, key, cost_micros) VALUES ('model', old.model_id, -old.cost_micros)
    ON CONFLICT (dim, key) DO UPDATE SET cost_micros = cost_micros + excluded.cost_micros;
    INSERT INTO usage_key_totals (dim, key, cost_micros) VALUES ('workspace', old.workspace_id, -old.cost_micros)
    ON CONFLICT (dim, key) DO UPDATE SET cost_micros = cost_micros + excluded.cost_micros;
    INSERT INTO usage_rollup (dim, key, day, requests, input_tokens, output_tokens, cost_micros)
    VALUES ('model', new.model_id, new.day, new.requests, new.input_tokens, new.output_tokens, new.cost_micros)
    ON CONFLICT (dim, key, day) DO UPDATE SET requests = requests + excluded.requests,
        input_tokens = input_tokens + excluded.input_tokens,
        output_tokens = output_tokens + excluded.output_tokens,
        cost_micros = cost_micros + excluded.cost_micros;
    INSERT INTO usage_rollup (dim, key, day, requests, input_tokens, output_tokens, cost_micros)
    VALUES ('workspace', new.workspace_id, new.day, new.requests, new.input_tokens, new.output_tokens, new.cost_micros)
    ON CONFLICT (dim, key, day) DO UPDATE SET requests = requests + excluded.requests,
        input_tokens = input_tokens + excluded.input_tokens,
        output_tokens = output_tokens + excluded.output_tokens,
        cost_micros = cost_micros + excluded.cost_micros;
    INSERT INTO usage_rollup (dim, key, day, requests, input_tokens, output_tokens, cost_micros)
    VALUES ('all', '', new.day, new.requests, new.input_tokens, new.output_tokens, new.cost_micros)
    ON CONFLICT (dim, key, day) DO UPDATE SET requests = requests + excluded.requests,
        input_tokens = input_tokens + excluded.input_tokens,
        output_tokens = output_tokens + excluded.output_tokens,
        cost_micros = cost_micros + excluded.cost_micros;
    INSERT INTO usage_key_totals (dim, key, cost_micros) VALUES ('user', new.user_id, new.cost_micros)
    ON CONFLICT (dim, key) DO UPDATE SET cost_micros = cost_micros + excluded.cost_micros;
    INSERT INTO usage_key_totals (dim, key, cost_micros) VALUES ('model', new.model_id, new.cost_micros)
    ON CONFLICT (dim, key) DO UPDATE SET cost_micros = cost_micros + excluded.cost_micros;
    INSERT INTO usage_key_totals (dim, key, cost_micros) VALUES ('workspace', new.workspace_id, new.cost_micros)
    ON CONFLICT (dim, key) DO UPDATE SET cost_micros = cost_micros + excluded.cost_micros;
END;
