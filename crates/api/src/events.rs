//! The event catalog: what the gateway tells notification channels (outgoing webhooks), one
//! JSON shape per event type, `{ "id", "type", "occurred_at", "data" }`. `docs/webhooks.md`
//! shows each shape; the channels' wire types (what an admin reads and writes at
//! `/admin/v1/channels`) live here too.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;
use utoipa::{IntoParams, ToSchema};

use crate::{Alert, ApiKey, AuditEntry, Role, User};

/// The kinds of event a channel may subscribe to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema, TS)]
pub enum EventType {
    /// A budget's spend crossed one of its alert thresholds below 100 %.
    #[serde(rename = "budget.threshold_crossed")]
    BudgetThresholdCrossed,
    /// A budget's spend reached its cap (a threshold of 100 % or more).
    #[serde(rename = "budget.exhausted")]
    BudgetExhausted,
    #[serde(rename = "user.invited")]
    UserInvited,
    /// An account was made: an invitation accepted, a direct add, SCIM or single sign-on.
    #[serde(rename = "user.joined")]
    UserJoined,
    #[serde(rename = "user.suspended")]
    UserSuspended,
    #[serde(rename = "user.deleted")]
    UserDeleted,
    #[serde(rename = "api_key.created")]
    ApiKeyCreated,
    #[serde(rename = "api_key.revoked")]
    ApiKeyRevoked,
    /// A key expires within [`KEY_EXPIRY_NOTICE_DAYS`] days.
    #[serde(rename = "api_key.expiring")]
    ApiKeyExpiring,
    /// Seats in use reached 90 % of the seat limit.
    #[serde(rename = "seats.90_percent")]
    Seats90Percent,
    /// Every seat is in use.
    #[serde(rename = "seats.full")]
    SeatsFull,
    /// Any audit entry, as it is written: audit streaming, e.g. to a SIEM.
    #[serde(rename = "audit.entry")]
    AuditEntry,
    /// What "send test event" sends; every channel gets it when asked, none subscribes to it.
    #[serde(rename = "channel.test")]
    ChannelTest,
}

/// How many days before a key expires `api_key.expiring` is sent.
pub const KEY_EXPIRY_NOTICE_DAYS: i64 = 7;

impl EventType {
    /// The types a channel may subscribe to, in the order the console lists them.
    pub const SUBSCRIBABLE: [EventType; 12] = [
        Self::BudgetThresholdCrossed,
        Self::BudgetExhausted,
        Self::UserInvited,
        Self::UserJoined,
        Self::UserSuspended,
        Self::UserDeleted,
        Self::ApiKeyCreated,
        Self::ApiKeyRevoked,
        Self::ApiKeyExpiring,
        Self::Seats90Percent,
        Self::SeatsFull,
        Self::AuditEntry,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::BudgetThresholdCrossed => "budget.threshold_crossed",
            Self::BudgetExhausted => "budget.exhausted",
            Self::UserInvited => "user.invited",
            Self::UserJoined => "user.joined",
            Self::UserSuspended => "user.suspended",
            Self::UserDeleted => "user.deleted",
            Self::ApiKeyCreated => "api_key.created",
            Self::ApiKeyRevoked => "api_key.revoked",
            Self::ApiKeyExpiring => "api_key.expiring",
            Self::Seats90Percent => "seats.90_percent",
            Self::SeatsFull => "seats.full",
            Self::AuditEntry => "audit.entry",
            Self::ChannelTest => "channel.test",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::SUBSCRIBABLE
            .into_iter()
            .chain([Self::ChannelTest])
            .find(|t| t.as_str() == s)
    }
}

/// `data` of `user.invited`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
pub struct InvitedData {
    pub invitation_id: String,
    pub email: String,
    pub role: Role,
    pub workspace_ids: Vec<String>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// `data` of `user.joined`, `user.suspended` and `user.deleted`: the account as it is after
/// (for a deletion, as it was before).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
pub struct UserData {
    pub user: User,
}

/// `data` of `api_key.created`, `api_key.revoked` and `api_key.expiring`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
pub struct ApiKeyData {
    pub key: ApiKey,
    /// When the key expires (`api_key.expiring`; absent otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub expires_at: Option<DateTime<Utc>>,
}

/// `data` of `seats.90_percent` and `seats.full`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
pub struct SeatsData {
    pub seats_used: i64,
    pub seat_limit: i64,
}

/// `data` of `channel.test`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
pub struct TestData {
    pub channel_id: String,
    pub message: String,
}

/// An event's type and its data, one shape per type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum EventPayload {
    #[serde(rename = "budget.threshold_crossed")]
    BudgetThresholdCrossed(Alert),
    #[serde(rename = "budget.exhausted")]
    BudgetExhausted(Alert),
    #[serde(rename = "user.invited")]
    UserInvited(InvitedData),
    #[serde(rename = "user.joined")]
    UserJoined(UserData),
    #[serde(rename = "user.suspended")]
    UserSuspended(UserData),
    #[serde(rename = "user.deleted")]
    UserDeleted(UserData),
    #[serde(rename = "api_key.created")]
    ApiKeyCreated(ApiKeyData),
    #[serde(rename = "api_key.revoked")]
    ApiKeyRevoked(ApiKeyData),
    #[serde(rename = "api_key.expiring")]
    ApiKeyExpiring(ApiKeyData),
    #[serde(rename = "seats.90_percent")]
    Seats90Percent(SeatsData),
    #[serde(rename = "seats.full")]
    SeatsFull(SeatsData),
    #[serde(rename = "audit.entry")]
    AuditEntry(AuditEntry),
    #[serde(rename = "channel.test")]
    ChannelTest(TestData),
}

impl EventPayload {
    pub fn event_type(&self) -> EventType {
        match self {
            Self::BudgetThresholdCrossed(_) => EventType::BudgetThresholdCrossed,
            Self::BudgetExhausted(_) => EventType::BudgetExhausted,
            Self::UserInvited(_) => EventType::UserInvited,
            Self::UserJoined(_) => EventType::UserJoined,
            Self::UserSuspended(_) => EventType::UserSuspended,
            Self::UserDeleted(_) => EventType::UserDeleted,
            Self::ApiKeyCreated(_) => EventType::ApiKeyCreated,
            Self::ApiKeyRevoked(_) => EventType::ApiKeyRevoked,
            Self::ApiKeyExpiring(_) => EventType::ApiKeyExpiring,
            Self::Seats90Percent(_) => EventType::Seats90Percent,
            Self::SeatsFull(_) => EventType::SeatsFull,
            Self::AuditEntry(_) => EventType::AuditEntry,
            Self::ChannelTest(_) => EventType::ChannelTest,
        }
    }

    /// The budget event of an alert: exhausted at a threshold of 100 % or more.
    pub fn of_alert(alert: Alert) -> Self {
        if alert.threshold >= 100 {
            Self::BudgetExhausted(alert)
        } else {
            Self::BudgetThresholdCrossed(alert)
        }
    }

    /// One line a person reads (the Slack body's `text`).
    pub fn headline(&self) -> String {
        match self {
            Self::BudgetThresholdCrossed(a) => format!(
                "Budget alert: {} {} reached {} % of its {} budget (${:.2} of ${:.2}).",
                a.subject_kind.as_str(),
                a.subject_id,
                a.threshold,
                a.period.as_str(),
                a.spent_usd,
                a.cap_usd
            ),
            Self::BudgetExhausted(a) => format!(
                "Budget exhausted: {} {} spent ${:.2} of its {} budget of ${:.2}.",
                a.subject_kind.as_str(),
                a.subject_id,
                a.spent_usd,
                a.period.as_str(),
                a.cap_usd
            ),
            Self::UserInvited(d) => format!("{} was invited as {}.", d.email, d.role.as_str()),
            Self::UserJoined(d) => format!("{} joined.", d.user.email),
            Self::UserSuspended(d) => format!("{} was suspended.", d.user.email),
            Self::UserDeleted(d) => format!("{} was deleted.", d.user.email),
            Self::ApiKeyCreated(d) => format!("API key {:?} was created.", d.key.name),
            Self::ApiKeyRevoked(d) => format!("API key {:?} was revoked.", d.key.name),
            Self::ApiKeyExpiring(d) => match d.expires_at {
                Some(at) => format!("API key {:?} expires on {}.", d.key.name, at.date_naive()),
                None => format!("API key {:?} expires soon.", d.key.name),
            },
            Self::Seats90Percent(d) => {
                format!("{} of {} seats are in use.", d.seats_used, d.seat_limit)
            }
            Self::SeatsFull(d) => format!("All {} seats are in use.", d.seat_limit),
            Self::AuditEntry(e) => {
                format!("Audit: {} on {} {}.", e.action, e.target_kind, e.target_id)
            }
            Self::ChannelTest(d) => d.message.clone(),
        }
    }
}

/// One event as a channel receives it (the `json` format's body).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub id: String,
    pub occurred_at: DateTime<Utc>,
    #[serde(flatten)]
    pub payload: EventPayload,
}

impl Event {
    /// The body a channel of `format` is sent.
    pub fn body(&self, format: ChannelFormat) -> serde_json::Value {
        match format {
            ChannelFormat::Json => serde_json::to_value(self).unwrap_or_default(),
            ChannelFormat::Slack => {
                let text = self.payload.headline();
                serde_json::json!({
                    "text": text,
                    "blocks": [
                        { "type": "section", "text": { "type": "mrkdwn", "text": text } },
                        { "type": "context", "elements": [ { "type": "mrkdwn", "text":
                            format!("`{}` · {} · {}", self.payload.event_type().as_str(),
                                    self.occurred_at.to_rfc3339(), self.id) } ] }
                    ]
                })
            }
        }
    }
}

/// What a channel's requests carry: the event itself, or a Slack-compatible message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
#[serde(rename_all = "snake_case")]
pub enum ChannelFormat {
    /// The event's JSON.
    Json,
    /// `{ "text", "blocks" }`, which Slack's incoming webhooks (and compatible chat tools) post.
    Slack,
}

impl ChannelFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Slack => "slack",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Json, Self::Slack]
            .into_iter()
            .find(|f| f.as_str() == s)
    }
}

/// A notification channel: an outgoing webhook. Its signing secret is shown only when it is
/// made or rotated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
pub struct Channel {
    pub id: String,
    pub name: String,
    pub url: String,
    pub format: ChannelFormat,
    pub events: Vec<EventType>,
    pub enabled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[ts(type = "number")]
    pub revision: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[serde(deny_unknown_fields)]
pub struct ChannelCreate {
    pub name: String,
    /// `https://…`; a loopback or private address only when the gateway allows it.
    pub url: String,
    /// `json` when absent.
    #[serde(default)]
    #[ts(optional)]
    pub format: Option<ChannelFormat>,
    pub events: Vec<EventType>,
    /// On when absent.
    #[serde(default)]
    #[ts(optional)]
    pub enabled: Option<bool>,
}

/// Fields to change; absent ones stay.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[serde(deny_unknown_fields)]
pub struct ChannelPatch {
    #[serde(default)]
    #[ts(optional)]
    pub name: Option<String>,
    #[serde(default)]
    #[ts(optional)]
    pub url: Option<String>,
    #[serde(default)]
    #[ts(optional)]
    pub format: Option<ChannelFormat>,
    #[serde(default)]
    #[ts(optional)]
    pub events: Option<Vec<EventType>>,
    #[serde(default)]
    #[ts(optional)]
    pub enabled: Option<bool>,
}

/// A channel with its signing secret: the answer to making one or rotating its secret, and
/// the only time the secret is shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
pub struct ChannelCreated {
    pub channel: Channel,
    /// `whsec_…`: the key of the `Gatehouse-Signature` HMAC.
    pub secret: String,
}

/// What became of one attempt to deliver an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryOutcome {
    /// The receiver answered 2xx.
    Delivered,
    /// It failed; another attempt is due.
    Retrying,
    /// It failed and no attempt follows (a day has passed since the first, or the channel is
    /// disabled or gone).
    Failed,
}

impl DeliveryOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Delivered => "delivered",
            Self::Retrying => "retrying",
            Self::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Self {
        match s {
            "delivered" => Self::Delivered,
            "retrying" => Self::Retrying,
            _ => Self::Failed,
        }
    }
}

/// One attempt in a channel's delivery log (the last 1,000 are kept).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
pub struct DeliveryAttempt {
    pub id: String,
    /// The `Gatehouse-Delivery` header: the same for every attempt at one event.
    pub delivery_id: String,
    pub event_id: String,
    pub event_type: EventType,
    /// 1 for the first attempt.
    pub attempt: u32,
    pub at: DateTime<Utc>,
    pub outcome: DeliveryOutcome,
    /// The receiver's HTTP status, when it answered.
    pub status_code: Option<u16>,
    /// What went wrong, in plain words.
    pub error: Option<String>,
    #[ts(type = "number")]
    pub duration_ms: i64,
    /// When the next attempt is due (`retrying` only).
    pub next_attempt_at: Option<DateTime<Utc>>,
}

/// The audit export's forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
#[serde(rename_all = "snake_case")]
pub enum AuditExportFormat {
    /// One entry per line, each the list's JSON.
    Jsonl,
    /// `at,actor_id,action,target_kind,target_id,summary,id,revision`, RFC 4180.
    Csv,
}

/// `GET /admin/v1/audit/export` query: the audit list's filters and the format.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditExportQuery {
    /// `jsonl` (the default) or `csv`.
    pub format: Option<AuditExportFormat>,
    pub actor_id: Option<String>,
    pub target_id: Option<String>,
    pub action: Option<String>,
    /// Entries whose action is in this category: the part before its first dot (`user` holds
    /// `user.suspend` and `user.update`). Lower-case letters and `_`, 1 to 40.
    pub category: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_is_id_type_occurred_at_and_data() {
        let event = Event {
            id: "evt_1".into(),
            occurred_at: DateTime::from_timestamp(0, 0).unwrap(),
            payload: EventPayload::SeatsFull(SeatsData {
                seats_used: 5,
                seat_limit: 5,
            }),
        };
        let v = event.body(ChannelFormat::Json);
        assert_eq!(v["type"], "seats.full");
        assert_eq!(v["id"], "evt_1");
        assert_eq!(v["data"]["seat_limit"], 5);
        assert_eq!(v["occurred_at"], "1970-01-01T00:00:00Z");
        let back: Event = serde_json::from_value(v).unwrap();
        assert_eq!(back, event);
        let slack = event.body(ChannelFormat::Slack);
        assert_eq!(slack["text"], "All 5 seats are in use.");
        assert_eq!(slack["blocks"][0]["type"], "section");
    }

    #[test]
    fn every_type_has_one_name() {
        for t in EventType::SUBSCRIBABLE
            .into_iter()
            .chain([EventType::ChannelTest])
        {
            assert_eq!(EventType::parse(t.as_str()), Some(t));
            assert_eq!(serde_json::to_value(t).unwrap(), t.as_str());
        }
        assert_eq!(EventType::parse("user.updated"), None);
    }
}
