//! What the screens read from the cache: users, a user's detail, invitations, usage charts,
//! spend against budgets, the overview, the audit log and the lists.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use gatehouse_api::{
    AccessProfile, Alert, ApiKey, AuditEntry, Budget, BudgetPeriod, EffectivePolicy, Forecast,
    Grant, GroupRole, Invitation, InvitationStatus, Limits, Role, SubjectKind, User,
};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// A workspace a user belongs to, and their role there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct UserWorkspace {
    pub id: String,
    pub name: String,
    pub role: Role,
}

/// A group a user belongs to, and their role there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct UserGroup {
    pub id: String,
    pub name: String,
    pub role: GroupRole,
}

/// Everything the user detail screen shows, from the cache.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct UserDetail {
    pub user: User,
    pub workspaces: Vec<UserWorkspace>,
    pub groups: Vec<UserGroup>,
    /// The user's own grants, limits and budget.
    pub grants: Vec<Grant>,
    pub limits: Limits,
    pub budget: Budget,
    /// The strictest of the user's own values and every group's, as the gateway enforces it.
    pub effective: EffectivePolicy,
    /// Never a secret: the gateway keeps only hashes.
    pub api_keys: Vec<ApiKey>,
    /// What the user did and what was done to them, newest first (at most 100).
    pub audit: Vec<AuditEntry>,
    /// What `audit`'s actors and targets are called, as in [`AuditRows::names`].
    pub audit_names: BTreeMap<String, String>,
    /// Spend this month, in the org's time zone.
    pub spend_mtd_usd: f64,
    /// Each key's effective policy (the strictest of the key, the user and every group, by
    /// `gatehouse_api::effective::effective_for_key`, as the gateway enforces it), by key id.
    pub key_effective: BTreeMap<String, EffectivePolicy>,
    /// Each key's spend this month, in the org's time zone, by key id (keys without use absent).
    pub key_spend_mtd_usd: BTreeMap<String, f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
#[serde(default)]
pub struct InvitationFilter {
    /// As the gateway decides it: a pending invitation past its expiry is expired.
    pub status: Option<InvitationStatus>,
    pub offset: u32,
    /// 1 to 1000; 0 is 100.
    pub limit: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct InvitationRow {
    /// With its status as of now and never its link: that carries the invitee's token.
    pub invitation: Invitation,
    /// The cache holds the link (copy it with `copy_invite_link`).
    pub has_link: bool,
    /// Seconds until a pending invitation expires; `null` for any other status.
    #[ts(type = "number | null")]
    pub seconds_left: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct InvitationRows {
    #[ts(type = "number")]
    pub total: u64,
    pub rows: Vec<InvitationRow>,
}

/// What a bulk invitation would do with one entry of the pasted text, as far as the cache knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum BulkPreviewKind {
    ToInvite,
    /// Earlier in the list.
    Duplicate,
    /// Has a pending invitation.
    AlreadyInvited,
    AlreadyMember,
    Invalid,
}

/// One entry of a pasted list of people (`gatehouse_api::extract_invitees`, the gateway's rule).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct BulkPreviewItem {
    /// The address, lower-cased; as pasted when it is not one.
    pub text: String,
    pub first_name: String,
    pub last_name: String,
    pub kind: BulkPreviewKind,
}

/// What a usage chart stacks by.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum UsageGroupBy {
    #[default]
    User,
    Model,
    Workspace,
    /// By API key (spend per key).
    Key,
}

/// A usage query: days `from` to `to` inclusive (days in the org's time zone, as the gateway
/// counts them), optionally narrowed to one user, group, model or workspace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct UsageFilter {
    pub from: NaiveDate,
    pub to: NaiveDate,
    #[serde(default)]
    pub group_by: UsageGroupBy,
    /// How many series before "other": 1 to 50; 0 is 10.
    #[serde(default)]
    pub top: u32,
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub group_id: Option<String>,
    #[serde(default)]
    pub model_id: Option<String>,
    #[serde(default)]
    pub workspace_id: Option<String>,
    /// One API key's usage.
    #[serde(default)]
    #[ts(optional)]
    pub key_id: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, TS)]
pub struct UsageTotals {
    #[ts(type = "number")]
    pub requests: i64,
    #[ts(type = "number")]
    pub input_tokens: i64,
    #[ts(type = "number")]
    pub output_tokens: i64,
    pub cost_usd: f64,
}

/// One series of a stacked chart: a user, model or workspace, or everything else.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct UsageSeries {
    /// The id of the user, model or workspace; `null` for "other".
    pub key: Option<String>,
    pub label: String,
    pub total: UsageTotals,
}

/// One day of a stacked chart: a value per series, in the order of [`UsageChart::series`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct UsageDay {
    pub day: NaiveDate,
    pub values: Vec<UsageTotals>,
    pub total: UsageTotals,
}

/// Usage by day: the top series by cost over the range, then "other" when anything else was
/// used; every day of the range is present, empty ones with zeros.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct UsageChart {
    pub series: Vec<UsageSeries>,
    pub days: Vec<UsageDay>,
    pub total: UsageTotals,
}

/// Whose spend: a user, a group (all its members), or the whole org (`kind` and `id` null).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
#[serde(default)]
pub struct SpendSubject {
    pub kind: Option<SubjectKind>,
    pub id: Option<String>,
}

/// Spend in the budget period that contains now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct PeriodSpend {
    pub period: BudgetPeriod,
    /// `[start, end)` in the org's time zone.
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub spent_usd: f64,
    pub cap_usd: Option<f64>,
    /// Spent as a percent of the cap; `null` without a cap.
    pub percent: Option<f64>,
    /// The alert thresholds (percents of the cap) and those the spend has reached.
    pub thresholds: Vec<u32>,
    pub crossed: Vec<u32>,
    /// When the period's budget starts again: `end`, named for the screens that say "resets
    /// in …".
    pub resets_at: DateTime<Utc>,
}

/// One day of the current month.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct DaySpend {
    pub day: NaiveDate,
    pub spent_usd: f64,
    /// Since the 1st of the month, this day included.
    pub cumulative_usd: f64,
}

/// Spend against a subject's own budget (the org has none: its periods carry no cap).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct BudgetStatus {
    pub subject: SpendSubject,
    pub time_zone: String,
    /// Daily, weekly and monthly, each when it has a cap (all three for the org).
    pub periods: Vec<PeriodSpend>,
    /// The caps the chart draws: for a user the effective ones (the strictest of their own and
    /// their groups'), else the subject's own.
    pub daily_cap_usd: Option<f64>,
    pub monthly_cap_usd: Option<f64>,
    /// The name of the group whose cap `daily_cap_usd` is, when it is not the subject's own.
    pub daily_cap_group: Option<String>,
    pub monthly_cap_group: Option<String>,
    /// Every day of the current month up to today: daily bars against the daily cap, the
    /// cumulative line against the monthly cap.
    pub month: Vec<DaySpend>,
    /// Month-end spend at the current pace and the day each budget runs out, by the gateway's
    /// rule (`gatehouse_api::forecast`); its periods carry all three reset instants.
    pub forecast: Forecast,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct Overview {
    pub org_name: String,
    #[ts(type = "number")]
    pub seats_used: i64,
    #[ts(type = "number")]
    pub seat_limit: i64,
    #[ts(type = "number")]
    pub total_users: u64,
    /// Users seen by the gateway within [`ACTIVE_NOW_MINUTES`] of now.
    #[ts(type = "number")]
    pub active_now: u64,
    #[ts(type = "number")]
    pub pending_invitations: u64,
    /// This month in the org's time zone.
    pub spend_mtd_usd: f64,
    /// The latest budget alerts, newest first (at most 10).
    pub recent_alerts: Vec<Alert>,
}

/// "Active now": seen within this many minutes. The gateway records a user's activity at most
/// once a minute (auth.rs `TOUCH_EVERY`), and a sync adds its own delay.
pub const ACTIVE_NOW_MINUTES: i64 = 15;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
#[serde(default)]
pub struct AuditFilter {
    pub actor_id: Option<String>,
    pub target_id: Option<String>,
    pub action: Option<String>,
    /// The part of the action before its first dot (`user` of `user.suspend`).
    pub category: Option<String>,
    /// Inclusive.
    pub from: Option<DateTime<Utc>>,
    /// Exclusive.
    pub to: Option<DateTime<Utc>>,
    pub offset: u32,
    /// 1 to 1000; 0 is 100.
    pub limit: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct AuditRows {
    #[ts(type = "number")]
    pub total: u64,
    pub rows: Vec<AuditEntry>,
    /// What the rows' actors and targets are called (people, workspaces, groups by name,
    /// invitations by e-mail), by id; an id the cache no longer knows is not here.
    pub names: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct WorkspaceRow {
    pub id: String,
    pub name: String,
    pub slug: String,
    /// Counted in the cache.
    #[ts(type = "number")]
    pub member_count: u64,
    pub created_at: DateTime<Utc>,
}

/// A person in a list: a group's manager or member.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct Person {
    pub id: String,
    pub name: String,
    pub email: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct GroupRow {
    pub id: String,
    pub name: String,
    pub description: String,
    #[ts(type = "number")]
    pub member_count: u64,
    pub managers: Vec<Person>,
    pub created_at: DateTime<Utc>,
    /// An identity provider provisions the group and its members over SCIM.
    pub scim_managed: bool,
}

/// What a group itself sets, which its editors start from (the cache holds it; no request).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct GroupPolicy {
    /// The ids of the models granted to the group, sorted.
    pub grants: Vec<String>,
    pub limits: Limits,
    pub budget: Budget,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct GroupMemberRow {
    pub person: Person,
    pub role: GroupRole,
}

/// The access profiles new people start from, by name, and which one is the org's default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct AccessProfiles {
    pub profiles: Vec<AccessProfile>,
    pub default_profile_id: Option<String>,
}
