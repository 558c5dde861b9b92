-- The identity-provider account a user joined with, so that it, and not an e-mail address the
-- provider lets its accounts change, is what later sign-ins are bound to. Google: the issuer
-- and `sub`. Microsoft: the tenant's own issuer, its `tid`, and the account's object id `oid`
-- (stable for the account in that tenant, where `sub` is per application). NULL for users who
-- joined with a password or were created by an admin.
ALTER TABLE users ADD COLUMN idp_issuer TEXT;
ALTER TABLE users ADD COLUMN idp_tenant TEXT;
ALTER TABLE users ADD COLUMN idp_subject TEXT;
CREATE UNIQUE INDEX users_idp_account ON users (idp_issuer, idp_subject);
