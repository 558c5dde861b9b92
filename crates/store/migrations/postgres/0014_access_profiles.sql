-- Access profiles (issue 16): named grants, limits and a budget that new accounts start from.
-- Grants are a JSON array of model ids, limits and budget the JSON of the `Limits` and `Budget`
-- wire types: a profile is read and written whole, and only copied out (as the user's own rows
-- in grants, limits and budgets) when an account is created.
CREATE TABLE access_profiles (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    grants TEXT NOT NULL DEFAULT '[]',
    limits TEXT NOT NULL,
    budget TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    revision BIGINT NOT NULL
);
CREATE INDEX access_profiles_revision ON access_profiles (revision);
-- The profile new accounts start from when none is picked.
ALTER TABLE org ADD COLUMN default_profile_id TEXT;
-- The profile an account started from, and its name then (kept when it is renamed or deleted).
ALTER TABLE users ADD COLUMN profile_id TEXT;
ALTER TABLE users ADD COLUMN profile_name TEXT;
-- The profile an invitation's account will start from.
ALTER TABLE invitations ADD COLUMN profile_id TEXT;
