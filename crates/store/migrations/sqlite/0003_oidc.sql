-- Sign-ins with an identity provider that are under way: the browser went to the provider and
-- has not come back yet. Kept here rather than in memory so that the node that receives the
-- callback need not be the one that sent the browser away. Only the hash of `state` is stored:
-- the state travels through the browser and the provider, and a copy of this table must not be
-- enough to complete someone's sign-in.
CREATE TABLE oidc_signins (
    state_hash TEXT PRIMARY KEY,
    invitation_id TEXT NOT NULL REFERENCES invitations (id),
    provider TEXT NOT NULL,
    -- The issuer the sign-in was sent to (for Microsoft, with the tenant filled in), so that
    -- the callback verifies against the same one.
    issuer TEXT NOT NULL,
    pkce_verifier TEXT NOT NULL,
    nonce TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX oidc_signins_expires ON oidc_signins (expires_at);
