-- Usage per API key (issue 16): the key a usage row was metered to ('' for rows synced before,
-- and for use metered before the gateway kept keys). A key's chart and spend read by this index.
ALTER TABLE usage_daily ADD COLUMN key_id TEXT NOT NULL DEFAULT '';
CREATE INDEX usage_daily_key ON usage_daily (key_id, day, cost_micros);
