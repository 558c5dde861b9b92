-- The expiry an `api_key.expiring` event was sent for: one notice per key and expiry, whichever
-- node's scan finds it first; a new expiry (the key was extended) is told again. Not a policy
-- column, so setting it moves neither the key's revision nor the policy epoch.
ALTER TABLE api_keys ADD COLUMN expiry_notice_for TEXT;

-- The percents of a key's own budget caps at which a threshold alert is raised, as a JSON array
-- like `budgets.alert_thresholds`; NULL: the default ones.
ALTER TABLE api_keys ADD COLUMN alert_thresholds TEXT;
