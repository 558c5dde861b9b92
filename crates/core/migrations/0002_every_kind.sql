-- Every kind of the change feed gets a table of its own, with the columns the app filters, sorts
-- and sums on; `data` keeps the entity as the gateway sent it. The rows the generic `entities`
-- table held are not carried over: the cache starts again from revision 0 and the next sync
-- fills every table.

DROP TABLE entities;
DELETE FROM org;
DELETE FROM users;
DELETE FROM workspaces;
DELETE FROM memberships;
UPDATE sync_state SET since = 0, synced_at = NULL WHERE id = 1;

CREATE TABLE groups (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    data TEXT NOT NULL,
    revision INTEGER NOT NULL
);

-- id is the feed's id of the membership
CREATE TABLE group_members (
    id TEXT PRIMARY KEY,
    group_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    role TEXT NOT NULL,
    revision INTEGER NOT NULL
);
CREATE INDEX group_members_user ON group_members (user_id);
CREATE INDEX group_members_group ON group_members (group_id);

-- `data` is the invitation without its link. The link carries the invitee's token, a secret:
-- it is kept only sealed (ChaCha20-Poly1305 under a key held in the keychain), see seal.rs.
CREATE TABLE invitations (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    data TEXT NOT NULL,
    link_sealed BLOB,
    revision INTEGER NOT NULL
);
CREATE INDEX invitations_status ON invitations (status, created_at);

CREATE TABLE models (
    id TEXT PRIMARY KEY,
    data TEXT NOT NULL,
    revision INTEGER NOT NULL
);

-- subject_kind is `user` or `group`
CREATE TABLE grants (
    id TEXT PRIMARY KEY,
    subject_kind TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    model_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revision INTEGER NOT NULL
);
CREATE INDEX grants_subject ON grants (subject_kind, subject_id);

-- data is the `Limits` object
CREATE TABLE limits (
    id TEXT PRIMARY KEY,
    subject_kind TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    data TEXT NOT NULL,
    revision INTEGER NOT NULL
);
CREATE INDEX limits_subject ON limits (subject_kind, subject_id);

-- data is the `Budget` object
CREATE TABLE budgets (
    id TEXT PRIMARY KEY,
    subject_kind TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    data TEXT NOT NULL,
    revision INTEGER NOT NULL
);
CREATE INDEX budgets_subject ON budgets (subject_kind, subject_id);

CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    data TEXT NOT NULL,
    revision INTEGER NOT NULL
);
CREATE INDEX api_keys_user ON api_keys (user_id);

-- One day of one user's use of one model in one workspace (`''` when none). Money is kept in
-- micro-dollars, as the gateway keeps it, so sums are exact.
CREATE TABLE usage_daily (
    id TEXT PRIMARY KEY,
    day TEXT NOT NULL,
    user_id TEXT NOT NULL,
    model_id TEXT NOT NULL,
    workspace_id TEXT NOT NULL,
    requests INTEGER NOT NULL,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    cost_micros INTEGER NOT NULL,
    revision INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE alerts (
    id TEXT PRIMARY KEY,
    subject_kind TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    data TEXT NOT NULL,
    revision INTEGER NOT NULL
);
CREATE INDEX alerts_created ON alerts (created_at);

CREATE TABLE audit (
    id TEXT PRIMARY KEY,
    at TEXT NOT NULL,
    actor_id TEXT,
    action TEXT NOT NULL,
    target_kind TEXT NOT NULL,
    target_id TEXT NOT NULL,
    data TEXT NOT NULL,
    revision INTEGER NOT NULL
);
CREATE INDEX audit_at ON audit (at);
CREATE INDEX audit_actor ON audit (actor_id, at);
CREATE INDEX audit_target ON audit (target_id, at);
