-- One gateway-wide, strictly increasing revision sequence. Writers take the next value inside
-- their transaction, which also serialises them, so revisions commit in order and a sync that
-- pages by revision never skips a row.
CREATE TABLE revision_counter (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    value BIGINT NOT NULL
);
INSERT INTO revision_counter (id, value) VALUES (1, 0);

CREATE TABLE org (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    seat_limit BIGINT NOT NULL DEFAULT 10,
    invite_ttl_days BIGINT NOT NULL DEFAULT 7,
    time_zone TEXT NOT NULL DEFAULT 'UTC',
    require_approval BIGINT NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    revision BIGINT NOT NULL
);

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    role TEXT NOT NULL,
    status TEXT NOT NULL,
    password_hash TEXT,
    search_text TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    last_active_at TEXT,
    revision BIGINT NOT NULL
);
CREATE INDEX users_revision ON users (revision);

CREATE TABLE workspaces (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    slug TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    revision BIGINT NOT NULL
);
CREATE INDEX workspaces_revision ON workspaces (revision);

CREATE TABLE memberships (
    workspace_id TEXT NOT NULL REFERENCES workspaces (id),
    user_id TEXT NOT NULL REFERENCES users (id),
    role TEXT NOT NULL,
    revision BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, user_id)
);
CREATE INDEX memberships_user ON memberships (user_id);
CREATE INDEX memberships_revision ON memberships (revision);

CREATE TABLE tokens (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id),
    name TEXT NOT NULL,
    secret_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    expires_at TEXT,
    last_used_at TEXT
);
CREATE INDEX tokens_user ON tokens (user_id);

CREATE TABLE tombstones (
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    revision BIGINT NOT NULL,
    PRIMARY KEY (kind, id)
);
CREATE INDEX tombstones_revision ON tombstones (revision);
