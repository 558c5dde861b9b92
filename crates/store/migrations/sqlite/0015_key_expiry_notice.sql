-- The expiry an `api_key.expiring` event was sent for: one notice per key and expiry, whichever
-- node's scan finds it first; a new expiry (the key was extended) is told again. Not a policy
-- column, so setting it moves neither the key's revision nor the policy epoch.
ALTER TABLE api_keys ADD COLUMN expiry_notice_for TEXT;
