-- The desktop cache of one profile. Forward-only: change it with a new file, never an edit.

-- How far the cache has synced: every change up to `since` is applied.
CREATE TABLE sync_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    since INTEGER NOT NULL,
    synced_at TEXT
);
INSERT INTO sync_state (id, since, synced_at) VALUES (1, 0, NULL);

CREATE TABLE org (
    id TEXT PRIMARY KEY,
    data TEXT NOT NULL,
    revision INTEGER NOT NULL
);

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_active_at TEXT,
    -- lower-cased name and e-mail, for substring search
    search_text TEXT NOT NULL,
    data TEXT NOT NULL,
    revision INTEGER NOT NULL
);
CREATE INDEX users_name ON users (name COLLATE NOCASE);
CREATE INDEX users_email ON users (email);
CREATE INDEX users_created ON users (created_at);

CREATE TABLE workspaces (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    data TEXT NOT NULL,
    revision INTEGER NOT NULL
);

CREATE TABLE memberships (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    role TEXT NOT NULL,
    revision INTEGER NOT NULL
);
CREATE INDEX memberships_user ON memberships (user_id);
CREATE INDEX memberships_workspace ON memberships (workspace_id);

-- Every other kind of the change feed, as the gateway sent it, until it gets a table of its own.
CREATE TABLE entities (
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    data TEXT NOT NULL,
    revision INTEGER NOT NULL,
    PRIMARY KEY (kind, id)
);
