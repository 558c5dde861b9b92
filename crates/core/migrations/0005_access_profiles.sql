-- Access profiles (issue 16), synced as kind `access_profile`. Numbered after the gateway's
-- migration of the same change so that other branches' cache migrations keep their numbers.
CREATE TABLE access_profiles (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    data TEXT NOT NULL,
    revision INTEGER NOT NULL
);
