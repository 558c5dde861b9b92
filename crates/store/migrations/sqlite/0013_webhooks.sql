-- Notification channels (issue 16): outgoing webhooks, the outbox of events still to deliver
-- to them, and the log of delivery attempts (the last 1,000 per channel are kept). An event is
-- written to the outbox in the transaction of the change it tells of, so that none is lost
-- over a restart; nodes claim due rows with a lease (`claimed_until`) so that two never send
-- the same row.
CREATE TABLE notification_channels (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    url TEXT NOT NULL,
    format TEXT NOT NULL,
    -- A JSON array of event types.
    events TEXT NOT NULL,
    enabled BIGINT NOT NULL DEFAULT 1,
    -- The signing secret, sealed under the gateway's key (never in plain text).
    secret_sealed TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    revision BIGINT NOT NULL
);
CREATE TABLE webhook_outbox (
    -- The delivery id (`Gatehouse-Delivery`).
    id TEXT PRIMARY KEY,
    channel_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    -- The event's JSON as of when it happened.
    event TEXT NOT NULL,
    created_at TEXT NOT NULL,
    -- pending, delivered or failed.
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    first_attempt_at TEXT,
    next_attempt_at TEXT NOT NULL,
    claimed_until TEXT NOT NULL,
    claim TEXT
);
CREATE INDEX webhook_outbox_due ON webhook_outbox (status, next_attempt_at);
CREATE INDEX webhook_outbox_channel ON webhook_outbox (channel_id);
CREATE TABLE webhook_attempts (
    id TEXT PRIMARY KEY,
    channel_id TEXT NOT NULL,
    delivery_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    attempt BIGINT NOT NULL,
    at TEXT NOT NULL,
    outcome TEXT NOT NULL,
    status_code BIGINT,
    error TEXT,
    duration_ms BIGINT NOT NULL,
    next_attempt_at TEXT
);
CREATE INDEX webhook_attempts_channel ON webhook_attempts (channel_id, id);
