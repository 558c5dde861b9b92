-- Invitation tokens are no longer kept in clear: a copy of the database alone must not give
-- live links. The token is kept sealed (ChaCha20-Poly1305, "v1:" and base64) under the
-- gateway's invitation key, which lives in its configuration, never here; links are still
-- looked up by `token_hash`.
--
-- Tokens a gateway before this kept in clear are dropped, not sealed: migrations run before
-- any key is known, and sealing them later would keep them in clear until then. Their links
-- keep working (by hash); only copying them again needs a resend, which makes a new link.
ALTER TABLE invitations ADD COLUMN token_sealed TEXT;
ALTER TABLE invitations DROP COLUMN token;
