-- Single sign-on for console users (issue 15). One row of the org's identity settings; the
-- providers themselves (client ids and secrets) are the gateway's configuration, never here.
CREATE TABLE org_identity (
    id BIGINT PRIMARY KEY,
    join_mode TEXT NOT NULL DEFAULT 'invite_only',
    jit_domains TEXT NOT NULL DEFAULT '[]',
    jit_role TEXT NOT NULL DEFAULT 'member',
    microsoft_tenant TEXT,
    require_sso BIGINT NOT NULL DEFAULT 0,
    break_glass_user_id TEXT,
    groups_claim TEXT NOT NULL DEFAULT 'groups',
    role_mapping TEXT NOT NULL DEFAULT '[]',
    revision BIGINT NOT NULL DEFAULT 0
);
INSERT INTO org_identity (id) VALUES (1);
-- A console sign-in sent to a provider: the provider's leg (state, nonce, PKCE verifier) and
-- the app's (its loopback redirect, its state and its PKCE challenge), single-use.
CREATE TABLE sso_signins (
    state_hash TEXT PRIMARY KEY,
    provider TEXT NOT NULL,
    issuer TEXT NOT NULL,
    pkce_verifier TEXT NOT NULL,
    nonce TEXT NOT NULL,
    app_redirect TEXT NOT NULL,
    app_state TEXT NOT NULL,
    app_challenge TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
-- The one-time code the app exchanges, with its PKCE verifier, for a session.
CREATE TABLE sso_codes (
    code_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    app_challenge TEXT NOT NULL,
    provider TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
