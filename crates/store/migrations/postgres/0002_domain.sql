-- The user-management domain: groups, invitations, models, grants, limits, budgets, API keys,
-- usage, alerts, audit, password resets. Money is micro-USD in BIGINT; prices and caps that an
-- admin types are DOUBLE PRECISION/DOUBLE USD.

CREATE TABLE groups (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    revision BIGINT NOT NULL
);
CREATE INDEX groups_revision ON groups (revision);

CREATE TABLE group_members (
    group_id TEXT NOT NULL REFERENCES groups (id),
    user_id TEXT NOT NULL REFERENCES users (id),
    role TEXT NOT NULL,
    revision BIGINT NOT NULL,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_user ON group_members (user_id);
CREATE INDEX group_members_revision ON group_members (revision);

CREATE TABLE invitations (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    role TEXT NOT NULL,
    workspace_ids TEXT NOT NULL,
    identity_provider TEXT NOT NULL,
    tenant_id TEXT,
    notification_email TEXT,
    -- The link must stay readable for admins (copy by hand), so the token is kept; it is looked
    -- up by its hash.
    token TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL,
    invited_by TEXT,
    created_at TEXT NOT NULL,
    sent_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    accepted_at TEXT,
    accepted_user_id TEXT,
    revision BIGINT NOT NULL
);
CREATE INDEX invitations_email ON invitations (email);
CREATE INDEX invitations_status ON invitations (status);
CREATE INDEX invitations_revision ON invitations (revision);

CREATE TABLE models (
    id TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    provider TEXT NOT NULL,
    upstream_base_url TEXT,
    input_usd_per_mtok DOUBLE PRECISION NOT NULL,
    output_usd_per_mtok DOUBLE PRECISION NOT NULL,
    created_at TEXT NOT NULL,
    revision BIGINT NOT NULL
);
CREATE INDEX models_revision ON models (revision);

-- subject_kind is 'user' or 'group'.
CREATE TABLE grants (
    subject_kind TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    model_id TEXT NOT NULL REFERENCES models (id),
    created_at TEXT NOT NULL,
    revision BIGINT NOT NULL,
    PRIMARY KEY (subject_kind, subject_id, model_id)
);
CREATE INDEX grants_revision ON grants (revision);
CREATE INDEX grants_model ON grants (model_id);

CREATE TABLE limits (
    subject_kind TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    requests_per_min BIGINT,
    input_tokens_per_min BIGINT,
    output_tokens_per_min BIGINT,
    max_concurrent BIGINT,
    revision BIGINT NOT NULL,
    PRIMARY KEY (subject_kind, subject_id)
);
CREATE INDEX limits_revision ON limits (revision);

CREATE TABLE budgets (
    subject_kind TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    -- Caps in micro-USD: whole numbers bind the same way on both backends, NULL or not.
    daily_micros BIGINT,
    weekly_micros BIGINT,
    monthly_micros BIGINT,
    alert_thresholds TEXT NOT NULL,
    revision BIGINT NOT NULL,
    PRIMARY KEY (subject_kind, subject_id)
);
CREATE INDEX budgets_revision ON budgets (revision);

CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id),
    name TEXT NOT NULL,
    prefix TEXT NOT NULL,
    secret_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at TEXT,
    revision BIGINT NOT NULL
);
CREATE INDEX api_keys_user ON api_keys (user_id);
CREATE INDEX api_keys_revision ON api_keys (revision);

-- One row per data-plane request. Kept when a user is deleted.
CREATE TABLE usage_events (
    id TEXT PRIMARY KEY,
    at TEXT NOT NULL,
    user_id TEXT NOT NULL,
    key_id TEXT,
    model_id TEXT NOT NULL,
    workspace_id TEXT NOT NULL DEFAULT '',
    input_tokens BIGINT NOT NULL,
    output_tokens BIGINT NOT NULL,
    cost_micros BIGINT NOT NULL,
    status BIGINT NOT NULL
);
CREATE INDEX usage_events_user_at ON usage_events (user_id, at);

-- Daily aggregates per user, model and workspace ('' for none), in the org's time zone.
CREATE TABLE usage_daily (
    day TEXT NOT NULL,
    user_id TEXT NOT NULL,
    model_id TEXT NOT NULL,
    workspace_id TEXT NOT NULL DEFAULT '',
    requests BIGINT NOT NULL,
    input_tokens BIGINT NOT NULL,
    output_tokens BIGINT NOT NULL,
    cost_micros BIGINT NOT NULL,
    revision BIGINT NOT NULL,
    PRIMARY KEY (day, user_id, model_id, workspace_id)
);
CREATE INDEX usage_daily_user_day ON usage_daily (user_id, day);
CREATE INDEX usage_daily_revision ON usage_daily (revision);

CREATE TABLE alerts (
    id TEXT PRIMARY KEY,
    subject_kind TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    period TEXT NOT NULL,
    period_start TEXT NOT NULL,
    threshold BIGINT NOT NULL,
    spent_micros BIGINT NOT NULL,
    cap_micros BIGINT NOT NULL,
    created_at TEXT NOT NULL,
    revision BIGINT NOT NULL,
    UNIQUE (subject_kind, subject_id, period, period_start, threshold)
);
CREATE INDEX alerts_revision ON alerts (revision);

CREATE TABLE audit (
    id TEXT PRIMARY KEY,
    at TEXT NOT NULL,
    actor_id TEXT,
    action TEXT NOT NULL,
    target_kind TEXT NOT NULL,
    target_id TEXT NOT NULL,
    summary TEXT NOT NULL,
    revision BIGINT NOT NULL
);
CREATE INDEX audit_revision ON audit (revision);
CREATE INDEX audit_actor ON audit (actor_id, at);
CREATE INDEX audit_target ON audit (target_id, at);

CREATE TABLE password_resets (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at TEXT
);

-- Sign-in sessions expire; personal access tokens may not.
ALTER TABLE tokens ADD COLUMN kind TEXT NOT NULL DEFAULT 'pat';
