//! Notification channels (outgoing webhooks) as stored, the outbox of events still to deliver,
//! and the log of delivery attempts. [`emit`] is the one place events are made: it writes an
//! outbox row per subscribed channel inside the transaction of the change the event tells of,
//! so that an event exists exactly when its change committed and none is lost over a restart.
//! Every change writes an audit entry, and [`on_audit`] (called by `audit::record`) turns the
//! entries that are events into them, so the modules making changes need no call of their own.

use chrono::{DateTime, Duration, Utc};
use gatehouse_api::{
    Alert, ApiKey, ApiKeyData, AuditEntry, Channel, ChannelFormat, DeliveryAttempt,
    DeliveryOutcome, Event, EventPayload, EventType, InvitedData, Role, SeatsData, User, UserData,
};
use serde_json::Value;
use sqlx::FromRow;

use crate::db::{self, Tx};

/// Attempts kept in a channel's delivery log.
pub const LOG_KEPT: i64 = 1000;

const CHANNEL_COLUMNS: &str =
    "id, name, url, format, events, enabled, secret_sealed, created_at, updated_at, revision";

#[derive(Debug, FromRow)]
pub struct ChannelRow {
    pub id: String,
    pub name: String,
    pub url: String,
    pub format: String,
    pub events: String,
    pub enabled: i64,
    /// The signing secret sealed under the gateway's key; only the delivery worker opens it.
    pub secret_sealed: String,
    pub created_at: String,
    pub updated_at: String,
    pub revision: i64,
}

impl ChannelRow {
    pub fn events(&self) -> Vec<EventType> {
        serde_json::from_str::<Vec<String>>(&self.events)
            .unwrap_or_default()
            .iter()
            .filter_map(|e| EventType::parse(e))
            .collect()
    }

    pub fn format(&self) -> ChannelFormat {
        ChannelFormat::parse(&self.format).unwrap_or(ChannelFormat::Json)
    }

    pub fn into_api(self) -> Channel {
        Channel {
            events: self.events(),
            format: self.format(),
            enabled: self.enabled != 0,
            created_at: db::parse_timestamp(&self.created_at),
            updated_at: db::parse_timestamp(&self.updated_at),
            id: self.id,
            name: self.name,
            url: self.url,
            revision: self.revision,
        }
    }
}

/// A channel's settings as written.
#[derive(Debug, Clone)]
pub struct ChannelFields {
    pub name: String,
    pub url: String,
    pub format: ChannelFormat,
    pub events: Vec<EventType>,
    pub enabled: bool,
}

fn events_text(events: &[EventType]) -> String {
    serde_json::to_string(&events.iter().map(|e| e.as_str()).collect::<Vec<_>>())
        .unwrap_or_else(|_| "[]".to_owned())
}

pub async fn insert_channel(
    tx: &mut Tx,
    id: &str,
    fields: &ChannelFields,
    secret_sealed: &str,
) -> Result<(), sqlx::Error> {
    let revision = db::next_revision(tx).await?;
    let now = db::now();
    sqlx::query(
        "INSERT INTO notification_channels (id, name, url, format, events, enabled, \
         secret_sealed, created_at, updated_at, revision) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(id)
    .bind(&fields.name)
    .bind(&fields.url)
    .bind(fields.format.as_str())
    .bind(events_text(&fields.events))
    .bind(i64::from(fields.enabled))
    .bind(secret_sealed)
    .bind(&now)
    .bind(&now)
    .bind(revision)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn update_channel(
    tx: &mut Tx,
    id: &str,
    fields: &ChannelFields,
) -> Result<(), sqlx::Error> {
    let revision = db::next_revision(tx).await?;
    sqlx::query(
        "UPDATE notification_channels SET name = $1, url = $2, format = $3, events = $4, \
         enabled = $5, updated_at = $6, revision = $7 WHERE id = $8",
    )
    .bind(&fields.name)
    .bind(&fields.url)
    .bind(fields.format.as_str())
    .bind(events_text(&fields.events))
    .bind(i64::from(fields.enabled))
    .bind(db::now())
    .bind(revision)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn set_secret(tx: &mut Tx, id: &str, secret_sealed: &str) -> Result<(), sqlx::Error> {
    let revision = db::next_revision(tx).await?;
    sqlx::query(
        "UPDATE notification_channels SET secret_sealed = $1, updated_at = $2, revision = $3 \
         WHERE id = $4",
    )
    .bind(secret_sealed)
    .bind(db::now())
    .bind(revision)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Deletes a channel with its undelivered events and its delivery log.
pub async fn delete_channel(tx: &mut Tx, id: &str) -> Result<(), sqlx::Error> {
    for sql in [
        "DELETE FROM webhook_outbox WHERE channel_id = $1",
        "DELETE FROM webhook_attempts WHERE channel_id = $1",
        "DELETE FROM notification_channels WHERE id = $1",
    ] {
        sqlx::query(sql).bind(id).execute(&mut **tx).await?;
    }
    Ok(())
}

pub async fn get_channel<'e, E>(exec: E, id: &str) -> Result<Option<ChannelRow>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query_as(&format!(
        "SELECT {CHANNEL_COLUMNS} FROM notification_channels WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(exec)
    .await
}

/// Every channel, oldest first.
pub async fn list_channels(pool: &sqlx::AnyPool) -> Result<Vec<ChannelRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {CHANNEL_COLUMNS} FROM notification_channels ORDER BY created_at, id"
    ))
    .fetch_all(pool)
    .await
}

pub async fn count_channels(tx: &mut Tx) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM notification_channels")
        .fetch_one(&mut **tx)
        .await
}

/// Queues `payload` for every enabled channel subscribed to its type, inside `tx`: the one
/// place events are made. Returns how many channels will be sent it.
pub async fn emit(tx: &mut Tx, payload: EventPayload) -> Result<usize, sqlx::Error> {
    let kind = payload.event_type();
    let channels = subscribed(tx).await?;
    let to: Vec<&String> = channels
        .iter()
        .filter(|(_, events)| events.contains(&kind))
        .map(|(id, _)| id)
        .collect();
    if to.is_empty() {
        return Ok(0);
    }
    let event = new_event(payload);
    for channel in &to {
        enqueue(tx, channel, &event).await?;
    }
    Ok(to.len())
}

/// An event that happens now.
pub fn new_event(payload: EventPayload) -> Event {
    Event {
        id: crate::new_id("evt"),
        occurred_at: Utc::now(),
        payload,
    }
}

/// Queues `event` for `channel_id` whatever it subscribes to (the "send test event" action).
pub async fn enqueue(tx: &mut Tx, channel_id: &str, event: &Event) -> Result<(), sqlx::Error> {
    let now = db::now();
    sqlx::query(
        "INSERT INTO webhook_outbox (id, channel_id, event_id, event_type, event, created_at, \
         status, attempts, next_attempt_at, claimed_until) \
         VALUES ($1, $2, $3, $4, $5, $6, 'pending', 0, $6, $6)",
    )
    .bind(crate::new_id("dlv"))
    .bind(channel_id)
    .bind(&event.id)
    .bind(event.payload.event_type().as_str())
    .bind(serde_json::to_string(event).unwrap_or_default())
    .bind(&now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The enabled channels and what each subscribes to.
async fn subscribed(tx: &mut Tx) -> Result<Vec<(String, Vec<EventType>)>, sqlx::Error> {
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT id, events FROM notification_channels WHERE enabled = 1")
            .fetch_all(&mut **tx)
            .await?;
    Ok(rows
        .into_iter()
        .map(|(id, events)| {
            let events = serde_json::from_str::<Vec<String>>(&events)
                .unwrap_or_default()
                .iter()
                .filter_map(|e| EventType::parse(e))
                .collect();
            (id, events)
        })
        .collect())
}

/// The events an audit entry stands for: every entry is an `audit.entry`, and the entries of
/// budget alerts, invitations, joins, suspensions, deletions and keys are their events too
/// (with the seat events when a seat was taken). Called by `audit::record` in its transaction.
pub async fn on_audit(tx: &mut Tx, entry: &AuditEntry) -> Result<(), sqlx::Error> {
    let channels = subscribed(tx).await?;
    if channels.is_empty() {
        return Ok(());
    }
    let wanted = |t: EventType| channels.iter().any(|(_, events)| events.contains(&t));
    let s = &entry.summary;
    let mut events: Vec<EventPayload> = Vec::new();
    let mut seat_taken = false;
    match entry.action.as_str() {
        "alert.raised" => events.extend(parse::<Alert>(&s["after"]).map(EventPayload::of_alert)),
        "invitation.created" => {
            seat_taken = true;
            events.push(EventPayload::UserInvited(InvitedData {
                invitation_id: entry.target_id.clone(),
                email: s["email"].as_str().unwrap_or_default().to_owned(),
                role: parse::<Role>(&s["role"]).unwrap_or(Role::Member),
                workspace_ids: parse(&s["workspace_ids"]).unwrap_or_default(),
                expires_at: parse(&s["expires_at"]),
            }));
        }
        "user.created" => {
            seat_taken = true;
            events.extend(
                parse::<User>(&s["after"]).map(|user| EventPayload::UserJoined(UserData { user })),
            );
        }
        "invitation.accepted" if wanted(EventType::UserJoined) => {
            if let Some(id) = s["user_id"].as_str()
                && let Some(user) = crate::users::get_in(tx, id).await?
            {
                events.push(EventPayload::UserJoined(UserData { user }));
            }
        }
        "user.suspended" => events.extend(
            parse::<User>(&s["after"]).map(|user| EventPayload::UserSuspended(UserData { user })),
        ),
        "user.deleted" => events.extend(
            parse::<User>(&s["before"]).map(|user| EventPayload::UserDeleted(UserData { user })),
        ),
        "key.created" => events.extend(parse::<ApiKey>(&s["after"]).map(|key| {
            EventPayload::ApiKeyCreated(ApiKeyData {
                key,
                expires_at: None,
            })
        })),
        "key.revoked" => events.extend(parse::<ApiKey>(&s["before"]).map(|mut key| {
            key.revoked_at.get_or_insert(entry.at);
            EventPayload::ApiKeyRevoked(ApiKeyData {
                key,
                expires_at: None,
            })
        })),
        _ => {}
    }
    if seat_taken && (wanted(EventType::Seats90Percent) || wanted(EventType::SeatsFull)) {
        events.extend(seat_events(tx).await?);
    }
    events.push(EventPayload::AuditEntry(entry.clone()));
    for payload in events {
        if wanted(payload.event_type()) {
            emit(tx, payload).await?;
        }
    }
    Ok(())
}

fn parse<T: serde::de::DeserializeOwned>(v: &Value) -> Option<T> {
    if v.is_null() {
        return None;
    }
    match serde_json::from_value(v.clone()) {
        Ok(t) => Some(t),
        Err(e) => {
            tracing::warn!(error = %e, "an audit summary did not read as its event's data");
            None
        }
    }
}

/// The seat events of a seat just taken: each is sent when this seat is the one that reached
/// its level (90 % of the limit, or the limit), so a level is told once on the way up.
async fn seat_events(tx: &mut Tx) -> Result<Vec<EventPayload>, sqlx::Error> {
    let limit: Option<i64> = sqlx::query_scalar("SELECT seat_limit FROM org LIMIT 1")
        .fetch_optional(&mut **tx)
        .await?;
    let Some(limit) = limit.filter(|l| *l > 0) else {
        return Ok(Vec::new());
    };
    let used = crate::org::seats_used(&mut **tx).await?;
    let data = SeatsData {
        seats_used: used,
        seat_limit: limit,
    };
    let ninety = (limit * 9 + 9) / 10;
    let mut out = Vec::new();
    if used >= ninety && used - 1 < ninety {
        out.push(EventPayload::Seats90Percent(data.clone()));
    }
    if used >= limit && used - 1 < limit {
        out.push(EventPayload::SeatsFull(data));
    }
    Ok(out)
}

/// An outbox row a node claimed, with what sending it needs.
#[derive(Debug, FromRow)]
pub struct DueRow {
    pub id: String,
    pub channel_id: String,
    pub event_id: String,
    pub event_type: String,
    pub event: String,
    pub attempts: i64,
    pub first_attempt_at: Option<String>,
    /// This node's claim on it.
    pub claim: Option<String>,
}

/// Claims up to `limit` due rows for `lease`: a row is due when pending, its next attempt is
/// now or past and no node holds a lease on it. One UPDATE claims them, so two nodes never
/// claim one row (PostgreSQL re-checks the lease of a row another node just updated).
pub async fn claim_due(
    pool: &sqlx::AnyPool,
    now: DateTime<Utc>,
    lease: Duration,
    limit: i64,
) -> Result<Vec<DueRow>, sqlx::Error> {
    let claim = crate::new_id("clm");
    let now_text = db::timestamp(now);
    sqlx::query(
        "UPDATE webhook_outbox SET claimed_until = $1, claim = $2 \
         WHERE status = 'pending' AND next_attempt_at <= $3 AND claimed_until <= $3 \
         AND id IN (SELECT id FROM webhook_outbox WHERE status = 'pending' \
         AND next_attempt_at <= $3 AND claimed_until <= $3 ORDER BY next_attempt_at LIMIT $4)",
    )
    .bind(db::timestamp(now + lease))
    .bind(&claim)
    .bind(&now_text)
    .bind(limit)
    .execute(pool)
    .await?;
    sqlx::query_as(
        "SELECT id, channel_id, event_id, event_type, event, attempts, first_attempt_at, claim \
         FROM webhook_outbox WHERE claim = $1 AND status = 'pending' ORDER BY next_attempt_at",
    )
    .bind(&claim)
    .fetch_all(pool)
    .await
}

/// Extends this node's lease on `row` to `until` right before it is sent; `false` when the
/// lease ran out meanwhile and another node claimed the row (which then sends it, not this one).
pub async fn renew(
    pool: &sqlx::AnyPool,
    row: &DueRow,
    until: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE webhook_outbox SET claimed_until = $1 WHERE id = $2 AND claim = $3 \
         AND status = 'pending'",
    )
    .bind(db::timestamp(until))
    .bind(&row.id)
    .bind(row.claim.clone())
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// What one attempt came to.
#[derive(Debug, Clone)]
pub struct AttemptResult {
    pub outcome: DeliveryOutcome,
    pub status_code: Option<u16>,
    pub error: Option<String>,
    pub duration_ms: i64,
    /// When to try again (`Retrying` only).
    pub next_attempt_at: Option<DateTime<Utc>>,
}

/// Writes an attempt at `row` to the outbox and the channel's log, releases the row's lease and
/// keeps the log to its last [`LOG_KEPT`] attempts.
pub async fn finish_attempt(
    tx: &mut Tx,
    row: &DueRow,
    at: DateTime<Utc>,
    result: &AttemptResult,
) -> Result<(), sqlx::Error> {
    let attempt = row.attempts + 1;
    let at_text = db::timestamp(at);
    let status = match result.outcome {
        DeliveryOutcome::Delivered => "delivered",
        DeliveryOutcome::Retrying => "pending",
        DeliveryOutcome::Failed => "failed",
    };
    let next = result.next_attempt_at.map(db::timestamp);
    let ours = sqlx::query(
        "UPDATE webhook_outbox SET status = $1, attempts = $2, \
         first_attempt_at = COALESCE(first_attempt_at, $3), next_attempt_at = $4, \
         claimed_until = $3, claim = NULL WHERE id = $5 AND claim = $6",
    )
    .bind(status)
    .bind(attempt)
    .bind(&at_text)
    .bind(next.clone().unwrap_or_else(|| at_text.clone()))
    .bind(&row.id)
    .bind(row.claim.clone())
    .execute(&mut **tx)
    .await?;
    // Another node took the row over (this one outlived its lease): the attempt is still logged.
    if ours.rows_affected() == 0 {
        tracing::warn!(delivery = %row.id, "a webhook delivery outlived its lease");
    }
    sqlx::query(
        "INSERT INTO webhook_attempts (id, channel_id, delivery_id, event_id, event_type, \
         attempt, at, outcome, status_code, error, duration_ms, next_attempt_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(crate::new_id("att"))
    .bind(&row.channel_id)
    .bind(&row.id)
    .bind(&row.event_id)
    .bind(&row.event_type)
    .bind(attempt)
    .bind(&at_text)
    .bind(result.outcome.as_str())
    .bind(result.status_code.map(i64::from))
    .bind(result.error.clone())
    .bind(result.duration_ms)
    .bind(next)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "DELETE FROM webhook_attempts WHERE channel_id = $1 AND id < \
         (SELECT id FROM webhook_attempts WHERE channel_id = $1 ORDER BY id DESC LIMIT 1 OFFSET $2)",
    )
    .bind(&row.channel_id)
    .bind(LOG_KEPT - 1)
    .execute(&mut **tx)
    .await?;
    // A delivered or failed row is done with: the log keeps what became of it.
    if ours.rows_affected() == 1 && result.outcome != DeliveryOutcome::Retrying {
        sqlx::query("DELETE FROM webhook_outbox WHERE id = $1")
            .bind(&row.id)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

#[derive(Debug, FromRow)]
pub struct AttemptRow {
    pub id: String,
    pub delivery_id: String,
    pub event_id: String,
    pub event_type: String,
    pub attempt: i64,
    pub at: String,
    pub outcome: String,
    pub status_code: Option<i64>,
    pub error: Option<String>,
    pub duration_ms: i64,
    pub next_attempt_at: Option<String>,
}

impl AttemptRow {
    pub fn into_api(self) -> DeliveryAttempt {
        DeliveryAttempt {
            event_type: EventType::parse(&self.event_type).unwrap_or(EventType::AuditEntry),
            attempt: u32::try_from(self.attempt).unwrap_or(0),
            at: db::parse_timestamp(&self.at),
            outcome: DeliveryOutcome::parse(&self.outcome),
            status_code: self.status_code.and_then(|c| u16::try_from(c).ok()),
            next_attempt_at: self.next_attempt_at.as_deref().map(db::parse_timestamp),
            id: self.id,
            delivery_id: self.delivery_id,
            event_id: self.event_id,
            error: self.error,
            duration_ms: self.duration_ms,
        }
    }
}

/// A channel's delivery log, newest first.
pub async fn attempts(
    pool: &sqlx::AnyPool,
    channel_id: &str,
) -> Result<Vec<AttemptRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, delivery_id, event_id, event_type, attempt, at, outcome, status_code, error, \
         duration_ms, next_attempt_at FROM webhook_attempts WHERE channel_id = $1 \
         ORDER BY id DESC LIMIT $2",
    )
    .bind(channel_id)
    .bind(LOG_KEPT)
    .fetch_all(pool)
    .await
}
