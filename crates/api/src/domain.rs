//! The rest of the admin API's resources: requests and responses beyond users and sync.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;
use utoipa::{IntoParams, ToSchema};

use crate::{Role, User};

/// `PATCH /org`: only the fields present change.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[serde(deny_unknown_fields)]
pub struct OrgPatch {
    #[ts(optional)]
    pub name: Option<String>,
    #[ts(optional, type = "number")]
    pub seat_limit: Option<i64>,
    /// 1 to 30.
    #[ts(optional, type = "number")]
    pub invite_ttl_days: Option<i64>,
    /// An IANA time zone such as `Europe/Berlin`; budget periods follow it.
    #[ts(optional)]
    pub time_zone: Option<String>,
    #[ts(optional)]
    pub require_approval: Option<bool>,
    /// The access profile new accounts start from; `""` for none.
    #[ts(optional)]
    pub default_profile_id: Option<String>,
}

/// A built-in role and what it may do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
pub struct RoleInfo {
    pub role: Role,
    pub description: String,
    pub permissions: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[serde(deny_unknown_fields)]
pub struct WorkspaceCreate {
    pub name: String,
    /// Lower-case letters, digits and dashes; made from the name when absent.
    #[ts(optional)]
    pub slug: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[serde(deny_unknown_fields)]
pub struct WorkspacePatch {
    #[ts(optional)]
    pub name: Option<String>,
    #[ts(optional)]
    pub slug: Option<String>,
}

/// `PUT /workspaces/{id}/members/{user_id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[serde(deny_unknown_fields)]
pub struct MemberRole {
    pub role: Role,
}

/// `POST /users`: add an account directly.
#[derive(Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[serde(deny_unknown_fields)]
pub struct UserCreate {
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub role: Role,
    #[serde(default)]
    pub workspace_ids: Vec<String>,
    /// Without one the user is mailed a link to set a password.
    #[serde(default)]
    #[ts(optional)]
    pub password: Option<String>,
    /// The access profile to copy to the new account; the org's default when absent, none when
    /// `""`.
    #[serde(default)]
    #[ts(optional)]
    pub profile_id: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    #[ts(optional)]
    pub first_name: Option<String>,
    #[ts(optional)]
    pub last_name: Option<String>,
    #[ts(optional)]
    pub role: Option<Role>,
}

/// `POST /auth/login`.
#[derive(Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

/// A session token, returned once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
pub struct LoginResponse {
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub user: User,
}

/// A personal access token; its secret is shown only when it is made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
pub struct AccessToken {
    pub id: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[serde(deny_unknown_fields)]
pub struct AccessTokenCreate {
    pub name: String,
    /// 1 to 365; never expires when absent.
    #[serde(default)]
    #[ts(optional, type = "number")]
    pub expires_in_days: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
pub struct AccessTokenCreated {
    pub token: AccessToken,
    pub secret: String,
}

/// A SCIM token: what an identity provider provisions users and groups with at `/scim/v2`. Its
/// secret is shown only when it is made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
pub struct ScimToken {
    pub id: String,
    pub name: String,
    /// The admin who made it, if their account still exists.
    pub created_by: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[serde(deny_unknown_fields)]
pub struct ScimTokenCreate {
    /// Says which provider holds it, e.g. "Entra ID production".
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
pub struct ScimTokenCreated {
    pub token: ScimToken,
    pub secret: String,
}

/// Who may enter through single sign-on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
#[serde(rename_all = "snake_case")]
pub enum JoinMode {
    /// Only people with an account or a pending invitation (which the sign-in accepts).
    InviteOnly,
    /// Also anyone with a verified address of one of `jit_domains`: an account with `jit_role`,
    /// taking a seat.
    JustInTime,
}

/// One entry of the role mapping: people whose groups claim holds `claim_value` get `role`
/// (the highest of their entries) and join `group_id`, at each sign-in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[serde(deny_unknown_fields)]
pub struct RoleMapping {
    pub claim_value: String,
    #[serde(default)]
    #[ts(optional)]
    pub role: Option<Role>,
    #[serde(default)]
    #[ts(optional)]
    pub group_id: Option<String>,
}

/// A provider console users can sign in with: one the gateway's configuration sets up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
pub struct SsoProvider {
    pub id: IdentityProvider,
    pub name: String,
}

/// The org's single sign-on settings, and the providers configured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
pub struct IdentitySettings {
    pub providers: Vec<SsoProvider>,
    pub join_mode: JoinMode,
    pub jit_domains: Vec<String>,
    pub jit_role: Role,
    /// The Microsoft Entra tenant (a GUID) whose members sign in with Microsoft; its directory
    /// is trusted for their addresses.
    pub microsoft_tenant: Option<String>,
    /// Password sign-in and password-reset mails are refused for everyone but the break-glass
    /// admin.
    pub require_sso: bool,
    pub break_glass_user_id: Option<String>,
    /// The ID-token claim that lists the person's groups.
    pub groups_claim: String,
    pub role_mapping: Vec<RoleMapping>,
    #[ts(type = "number")]
    pub revision: i64,
}

/// What `PUT /admin/v1/identity` sets: the settings without the providers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[serde(deny_unknown_fields)]
pub struct IdentitySettingsInput {
    pub join_mode: JoinMode,
    #[serde(default)]
    pub jit_domains: Vec<String>,
    pub jit_role: Role,
    #[serde(default)]
    pub microsoft_tenant: Option<String>,
    pub require_sso: bool,
    #[serde(default)]
    pub break_glass_user_id: Option<String>,
    pub groups_claim: String,
    #[serde(default)]
    pub role_mapping: Vec<RoleMapping>,
}

/// The desktop app's side of a single sign-on: the one-time code its loopback redirect got,
/// and the PKCE verifier of the challenge it started with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[serde(deny_unknown_fields)]
pub struct SsoExchange {
    pub code: String,
    pub code_verifier: String,
}

/// Who a grant, limit or budget belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema, TS)]
#[serde(rename_all = "snake_case")]
pub enum SubjectKind {
    User,
    Group,
    /// An API key, whose own limits and budget apply under its user's (issue 16). Grants,
    /// limits and budgets are never stored for it in the subject tables: a key carries them.
    Key,
}

impl SubjectKind {
    pub const ALL: [Self; 3] = [Self::User, Self::Group, Self::Key];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Group => "group",
            Self::Key => "key",
        }
    }

    /// The kind stored as `s` (its [`Self::as_str`]).
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema, TS)]
#[serde(rename_all = "snake_case")]
pub enum GroupRole {
    Member,
    Manager,
}

impl GroupRole {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Member => "member",
            Self::Manager => "manager",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
pub struct Group {
    pub id: String,
    pub name: String,
    pub description: String,
    #[ts(type = "number")]
    pub member_count: i64,
    pub created_at: DateTime<Utc>,
    /// An identity provider provisions this group and its members over SCIM.
    #[serde(default)]
    pub scim_managed: bool,
    #[ts(type = "number")]
    pub revision: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[serde(deny_unknown_fields)]
pub struct GroupCreate {
    pub name: String,
    #[serde(default)]
    #[ts(optional)]
    pub description: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[serde(deny_unknown_fields)]
pub struct GroupPatch {
    #[ts(optional)]
    pub name: Option<String>,
    #[ts(optional)]
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
pub struct GroupMember {
    pub group_id: String,
    pub user_id: String,
    pub role: GroupRole,
    #[ts(type = "number")]
    pub revision: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[serde(deny_unknown_fields)]
pub struct GroupMemberRole {
    pub role: GroupRole,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
#[serde(rename_all = "snake_case")]
pub enum Provider {
    /// Built in: answers with the prompt, deterministically. For demos and tests.
    Echo,
    /// Any OpenAI-compatible upstream.
    Openai,
}

impl Provider {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Echo => "echo",
            Self::Openai => "openai",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
pub struct Model {
    pub id: String,
    pub display_name: String,
    pub provider: Provider,
    pub upstream_base_url: Option<String>,
    pub input_usd_per_mtok: f64,
    pub output_usd_per_mtok: f64,
    pub created_at: DateTime<Utc>,
    #[ts(type = "number")]
    pub revision: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[serde(deny_unknown_fields)]
pub struct ModelCreate {
    /// A slug the admin picks, e.g. `gpt-4o-mini`.
    pub id: String,
    pub display_name: String,
    pub provider: Provider,
    #[serde(default)]
    #[ts(optional)]
    pub upstream_base_url: Option<String>,
    pub input_usd_per_mtok: f64,
    pub output_usd_per_mtok: f64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[serde(deny_unknown_fields)]
pub struct ModelPatch {
    #[ts(optional)]
    pub display_name: Option<String>,
    #[ts(optional)]
    pub provider: Option<Provider>,
    #[ts(optional)]
    pub upstream_base_url: Option<String>,
    #[ts(optional)]
    pub input_usd_per_mtok: Option<f64>,
    #[ts(optional)]
    pub output_usd_per_mtok: Option<f64>,
}

/// A model granted to a user or a group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
pub struct Grant {
    pub subject_kind: SubjectKind,
    pub subject_id: String,
    pub model_id: String,
    pub created_at: DateTime<Utc>,
    #[ts(type = "number")]
    pub revision: i64,
}

/// Rate limits; `null` is unlimited.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    #[ts(type = "number | null")]
    pub requests_per_min: Option<i64>,
    #[ts(type = "number | null")]
    pub input_tokens_per_min: Option<i64>,
    #[ts(type = "number | null")]
    pub output_tokens_per_min: Option<i64>,
    #[ts(type = "number | null")]
    pub max_concurrent: Option<i64>,
}

/// Budget caps in USD, kept to the micro-dollar; `null` is none. Thresholds are percents of each
/// cap.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[serde(deny_unknown_fields)]
pub struct Budget {
    pub daily_usd: Option<f64>,
    pub weekly_usd: Option<f64>,
    pub monthly_usd: Option<f64>,
    #[serde(default = "default_thresholds")]
    pub alert_thresholds: Vec<u32>,
}

fn default_thresholds() -> Vec<u32> {
    vec![50, 80, 100]
}

impl Default for Budget {
    fn default() -> Self {
        Self {
            daily_usd: None,
            weekly_usd: None,
            monthly_usd: None,
            alert_thresholds: default_thresholds(),
        }
    }
}

/// A limit or a budget cap as stored for one subject, for sync.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
pub struct SubjectLimits {
    pub subject_kind: SubjectKind,
    pub subject_id: String,
    pub limits: Limits,
    #[ts(type = "number")]
    pub revision: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
pub struct SubjectBudget {
    pub subject_kind: SubjectKind,
    pub subject_id: String,
    pub budget: Budget,
    #[ts(type = "number")]
    pub revision: i64,
}

/// One effective limit and where it comes from: `user`, or the id of a group. No source when
/// nothing sets it (unlimited).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
pub struct EffectiveCount {
    #[ts(type = "number | null")]
    pub value: Option<i64>,
    pub source: Option<String>,
}

/// One effective budget cap in USD and where it comes from, as for [`EffectiveCount`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
pub struct EffectiveUsd {
    pub value: Option<f64>,
    pub source: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
pub struct EffectiveGrant {
    pub model_id: String,
    /// `user` and/or the ids of the groups that grant it.
    pub sources: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
pub struct EffectiveLimits {
    pub requests_per_min: EffectiveCount,
    pub input_tokens_per_min: EffectiveCount,
    pub output_tokens_per_min: EffectiveCount,
    pub max_concurrent: EffectiveCount,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
pub struct EffectiveBudget {
    pub daily_usd: EffectiveUsd,
    pub weekly_usd: EffectiveUsd,
    pub monthly_usd: EffectiveUsd,
}

/// `GET /users/{id}/effective`: the strictest of the user's own values and every group's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
pub struct EffectivePolicy {
    pub user_id: String,
    /// The key whose policy this is, for `GET /keys/{id}/effective`; none for a user's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub key_id: Option<String>,
    pub grants: Vec<EffectiveGrant>,
    pub limits: EffectiveLimits,
    pub budget: EffectiveBudget,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
pub struct ApiKey {
    pub id: String,
    pub user_id: String,
    pub name: String,
    /// The first characters of the secret, to recognise it.
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// From then on the key is refused (401, saying it expired); none: it does not expire.
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
    /// The models the key may use, a subset of its user's; none: every model the user has.
    #[serde(default)]
    pub model_ids: Option<Vec<String>>,
    /// The key's own rate limits, applied under the user's and the groups'.
    #[serde(default)]
    pub limits: Limits,
    /// The key's own budget caps, and the percents of them at which alerts are raised.
    #[serde(default)]
    pub budget: Budget,
    /// When the secret was last replaced.
    #[serde(default)]
    pub rotated_at: Option<DateTime<Utc>>,
    /// Until then the secret replaced by the last rotation still works, metered to this key.
    #[serde(default)]
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    #[ts(type = "number")]
    pub revision: i64,
}

/// `POST /users/{id}/keys`: a name and, optionally, the key's own policy.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyCreate {
    pub name: String,
    /// In the future; none: the key does not expire.
    #[serde(default)]
    #[ts(optional)]
    pub expires_at: Option<DateTime<Utc>>,
    /// A subset of the models the user is granted; none: all of them, now and later.
    #[serde(default)]
    #[ts(optional)]
    pub model_ids: Option<Vec<String>>,
    #[serde(default)]
    #[ts(optional)]
    pub limits: Option<Limits>,
    #[serde(default)]
    #[ts(optional)]
    pub budget: Option<Budget>,
}

/// `PATCH /keys/{id}`: the fields present change. `expires_at` and `model_ids` take `null` to
/// clear them (no expiry; every model of the user).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyUpdate {
    #[serde(default)]
    #[ts(optional)]
    pub name: Option<String>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<DateTime<Utc>>)]
    #[ts(optional, type = "string | null")]
    pub expires_at: Option<Option<DateTime<Utc>>>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<Vec<String>>)]
    #[ts(optional, type = "Array<string> | null")]
    pub model_ids: Option<Option<Vec<String>>>,
    #[serde(default)]
    #[ts(optional)]
    pub limits: Option<Limits>,
    #[serde(default)]
    #[ts(optional)]
    pub budget: Option<Budget>,
}

/// A PATCH field that may be absent (`None`), `null` (`Some(None)`) or a value.
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// `POST /keys/{id}/rotate`: how long the replaced secret keeps working, 0 to 7 days; one of
/// the two (neither: no grace).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyRotate {
    #[serde(default)]
    #[ts(optional, type = "number")]
    pub grace_hours: Option<i64>,
    #[serde(default)]
    #[ts(optional, type = "number")]
    pub grace_seconds: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
pub struct ApiKeyCreated {
    pub key: ApiKey,
    /// Shown this once; only its hash is kept.
    pub secret: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
#[serde(rename_all = "snake_case")]
pub enum IdentityProvider {
    Any,
    Google,
    Microsoft,
    /// The organisation's own OpenID Connect provider (Okta, Keycloak, Auth0, …), as the
    /// gateway's `--oidc-issuer` sets it up.
    Oidc,
}

impl IdentityProvider {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Any => "any",
            Self::Google => "google",
            Self::Microsoft => "microsoft",
            Self::Oidc => "oidc",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
#[serde(rename_all = "snake_case")]
pub enum InvitationStatus {
    Pending,
    Accepted,
    Expired,
    Revoked,
}

impl InvitationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Accepted => "accepted",
            Self::Expired => "expired",
            Self::Revoked => "revoked",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
pub struct Invitation {
    pub id: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub role: Role,
    pub workspace_ids: Vec<String>,
    pub identity_provider: IdentityProvider,
    pub tenant_id: Option<String>,
    pub notification_email: Option<String>,
    pub status: InvitationStatus,
    pub invited_by: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub accepted_at: Option<DateTime<Utc>>,
    /// The invitee's link; present only for callers allowed to invite.
    pub link: Option<String>,
    #[ts(type = "number")]
    pub revision: i64,
    /// The access profile the account will start from (chosen, or the org's default then).
    #[serde(default)]
    pub profile_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[serde(deny_unknown_fields)]
pub struct InvitationCreate {
    pub email: String,
    #[serde(default)]
    #[ts(optional)]
    pub first_name: Option<String>,
    #[serde(default)]
    #[ts(optional)]
    pub last_name: Option<String>,
    pub role: Role,
    #[serde(default)]
    pub workspace_ids: Vec<String>,
    #[serde(default)]
    #[ts(optional)]
    pub identity_provider: Option<IdentityProvider>,
    #[serde(default)]
    #[ts(optional)]
    pub tenant_id: Option<String>,
    #[serde(default)]
    #[ts(optional)]
    pub notification_email: Option<String>,
    /// The access profile to copy to the new account; the org's default when absent, none when
    /// `""`.
    #[serde(default)]
    #[ts(optional)]
    pub profile_id: Option<String>,
}

/// `POST /users/{id}/suspend`'s optional body: why, kept in the audit entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[serde(deny_unknown_fields)]
pub struct Suspension {
    /// Up to 500 characters; empty is none.
    #[serde(default)]
    #[ts(optional)]
    pub reason: Option<String>,
}

/// `POST /invitations/bulk`: people are read from `text` and `emails` alike, a line at a time,
/// with the names written beside their addresses (`gatehouse_api::extract_invitees`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[serde(deny_unknown_fields)]
pub struct BulkInvite {
    #[serde(default)]
    #[ts(optional)]
    pub text: Option<String>,
    #[serde(default)]
    #[ts(optional)]
    pub emails: Option<Vec<String>>,
    pub role: Role,
    #[serde(default)]
    pub workspace_ids: Vec<String>,
    /// The access profile to copy to the new account; the org's default when absent, none when
    /// `""`.
    #[serde(default)]
    #[ts(optional)]
    pub profile_id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
#[serde(rename_all = "snake_case")]
pub enum BulkOutcome {
    Invited,
    AlreadyMember,
    /// The address has a pending invitation already.
    AlreadyInvited,
    /// The address appears earlier in the list.
    Duplicate,
    Invalid,
    SeatLimitReached,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
pub struct BulkInviteItem {
    pub email: String,
    pub outcome: BulkOutcome,
    pub invitation: Option<Invitation>,
    pub message: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
pub struct BulkInviteResult {
    pub results: Vec<BulkInviteItem>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct InvitationListQuery {
    pub status: Option<InvitationStatus>,
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// One day of one user's use of one model in one workspace (`""` when none).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
pub struct UsageDaily {
    pub day: NaiveDate,
    pub user_id: String,
    pub model_id: String,
    pub workspace_id: String,
    /// The API key the use was metered to (`""` for use before keys were metered, and in rows
    /// grouped without it).
    #[serde(default)]
    pub key_id: String,
    #[ts(type = "number")]
    pub requests: i64,
    #[ts(type = "number")]
    pub input_tokens: i64,
    #[ts(type = "number")]
    pub output_tokens: i64,
    pub cost_usd: f64,
    #[ts(type = "number")]
    pub revision: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UsageQuery {
    /// First day, inclusive (`YYYY-MM-DD`).
    pub from: Option<NaiveDate>,
    /// Last day, inclusive.
    pub to: Option<NaiveDate>,
    pub user_id: Option<String>,
    pub group_id: Option<String>,
    pub model_id: Option<String>,
    pub workspace_id: Option<String>,
    pub key_id: Option<String>,
    /// `key`: one row per day, user and key, summed over models and workspaces (their ids
    /// `""`). Without it, one row per day, user, model, workspace and key.
    #[param(inline)]
    pub group_by: Option<UsageGroupBy>,
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
#[serde(rename_all = "snake_case")]
pub enum UsageGroupBy {
    Key,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema, TS)]
#[serde(rename_all = "snake_case")]
pub enum BudgetPeriod {
    Daily,
    Weekly,
    Monthly,
}

impl BudgetPeriod {
    pub const ALL: [BudgetPeriod; 3] = [Self::Daily, Self::Weekly, Self::Monthly];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Daily => "daily",
            Self::Weekly => "weekly",
            Self::Monthly => "monthly",
        }
    }
}

/// A budget threshold crossed in one period; raised once per period and threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
pub struct Alert {
    pub id: String,
    pub subject_kind: SubjectKind,
    pub subject_id: String,
    pub period: BudgetPeriod,
    pub period_start: DateTime<Utc>,
    pub threshold: u32,
    pub spent_usd: f64,
    pub cap_usd: f64,
    pub created_at: DateTime<Utc>,
    #[ts(type = "number")]
    pub revision: i64,
}

/// One change made through the admin API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
pub struct AuditEntry {
    pub id: String,
    pub at: DateTime<Utc>,
    pub actor_id: Option<String>,
    pub action: String,
    pub target_kind: String,
    pub target_id: String,
    /// What changed: `before` and `after` where they apply.
    #[schema(value_type = Object)]
    pub summary: serde_json::Value,
    #[ts(type = "number")]
    pub revision: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    pub actor_id: Option<String>,
    pub target_id: Option<String>,
    pub action: Option<String>,
    /// Entries whose action is in this category: the part before its first dot (`user` holds
    /// `user.suspend` and `user.update`). Lower-case letters and `_`, 1 to 40.
    pub category: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// The invitee's form: `POST /invite/{token}`.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[serde(deny_unknown_fields)]
pub struct AcceptInvitation {
    #[serde(default)]
    #[ts(optional)]
    pub password: Option<String>,
    #[serde(default)]
    #[ts(optional)]
    pub first_name: Option<String>,
    #[serde(default)]
    #[ts(optional)]
    pub last_name: Option<String>,
}

/// `POST /reset/{token}`.
#[derive(Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[serde(deny_unknown_fields)]
pub struct PasswordReset {
    pub password: String,
    /// Whether the account's personal access tokens are revoked too (sessions always are).
    /// Absent means yes, as on the page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub revoke_tokens: Option<bool>,
}

#[cfg(test)]
mod tests {
    use utoipa::OpenApi;

    /// "Unlimited" is sent as `{"value": null, "source": null}`; the document must allow it.
    #[test]
    fn an_effective_value_may_be_null_in_the_document() {
        #[derive(OpenApi)]
        #[openapi(components(schemas(super::EffectivePolicy)))]
        struct Doc;
        let doc = serde_json::to_value(Doc::openapi()).unwrap();
        let schemas = &doc["components"]["schemas"];
        for (parent, field) in [
            ("EffectiveLimits", "requests_per_min"),
            ("EffectiveBudget", "monthly_usd"),
        ] {
            let reference = schemas[parent]["properties"][field]["$ref"]
                .as_str()
                .unwrap();
            let name = reference.rsplit('/').next().unwrap();
            let value = &schemas[name]["properties"]["value"];
            assert!(
                value["type"]
                    .as_array()
                    .is_some_and(|t| t.contains(&"null".into())),
                "{name}: {value}"
            );
        }
    }
}

/// Requests that carry a password print it as `<redacted>`, so a debug log line cannot leak it.
macro_rules! redacted_debug {
    ($ty:ident { $($field:ident),* } password) => {
        impl std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($ty))
                    $(.field(stringify!($field), &self.$field))*
                    .field("password", &"<redacted>")
                    .finish()
            }
        }
    };
}

redacted_debug!(UserCreate { email, first_name, last_name, role, workspace_ids, profile_id } password);
redacted_debug!(LoginRequest { email } password);
redacted_debug!(AcceptInvitation { first_name, last_name } password);
redacted_debug!(PasswordReset { revoke_tokens } password);

#[cfg(test)]
mod redaction_tests {
    use super::*;

    #[test]
    fn requests_never_print_their_password() {
        let login = LoginRequest {
            email: "a@b.example".into(),
            password: "hunter2hunter2".into(),
        };
        let accept = AcceptInvitation {
            password: Some("hunter2hunter2".into()),
            ..Default::default()
        };
        let reset = PasswordReset {
            password: "hunter2hunter2".into(),
            revoke_tokens: None,
        };
        for text in [
            format!("{login:?}"),
            format!("{accept:?}"),
            format!("{reset:?}"),
        ] {
            assert!(
                !text.contains("hunter2") && text.contains("<redacted>"),
                "{text}"
            );
        }
    }
}
