-- SCIM 2.0 provisioning (issue 15). An identity provider holds a SCIM token (only its hash is
-- kept) and provisions users and groups at /scim/v2. What it manages is marked, so that the
-- console shows those fields read-only: the provider would overwrite an edit at its next sync.
CREATE TABLE scim_tokens (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    secret_hash TEXT NOT NULL UNIQUE,
    created_by TEXT,
    created_at TEXT NOT NULL,
    last_used_at TEXT
);
-- externalId is the provider's own id for the resource; userName is kept as the provider sent
-- it (Entra sends the UPN, which need not be the e-mail the account is known by).
ALTER TABLE users ADD COLUMN scim_managed BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN scim_external_id TEXT;
ALTER TABLE users ADD COLUMN scim_user_name TEXT;
ALTER TABLE groups ADD COLUMN scim_managed BIGINT NOT NULL DEFAULT 0;
ALTER TABLE groups ADD COLUMN scim_external_id TEXT;
