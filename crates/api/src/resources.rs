use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;
use utoipa::ToSchema;

/// An org-wide or workspace role.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema, TS,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Member,
    Auditor,
    Operator,
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Admin, Role::Operator, Role::Auditor, Role::Member];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Operator => "operator",
            Self::Auditor => "auditor",
            Self::Member => "member",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// Where an account is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema, TS)]
#[serde(rename_all = "snake_case")]
pub enum UserStatus {
    Active,
    Pending,
    Suspended,
}

impl UserStatus {
    pub const ALL: [UserStatus; 3] = [Self::Active, Self::Pending, Self::Suspended];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Pending => "pending",
            Self::Suspended => "suspended",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// An account of the organisation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
#[serde(deny_unknown_fields)]
pub struct User {
    pub id: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub role: Role,
    pub status: UserStatus,
    pub workspace_ids: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub last_active_at: Option<DateTime<Utc>>,
    /// An identity provider provisions this account over SCIM: its e-mail, name and status are
    /// the provider's to change, and the console shows them read-only.
    #[serde(default)]
    pub scim_managed: bool,
    /// How the person signs in: the issuer of the identity-provider account they are bound to
    /// (with Microsoft's tenant id), if any, and whether they have a password.
    #[serde(default)]
    pub identity_issuer: Option<String>,
    #[serde(default)]
    pub identity_tenant: Option<String>,
    #[serde(default)]
    pub has_password: bool,
    #[ts(type = "number")]
    pub revision: i64,
    /// The access profile the account started from (its values were copied at creation), and
    /// the profile's name then: kept when the profile is renamed or deleted.
    #[serde(default)]
    pub profile_id: Option<String>,
    #[serde(default)]
    pub profile_name: Option<String>,
}

/// A workspace: a part of the organisation with its own members and roles.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
pub struct Workspace {
    pub id: String,
    pub name: String,
    pub slug: String,
    #[ts(type = "number")]
    pub member_count: i64,
    pub created_at: DateTime<Utc>,
    #[ts(type = "number")]
    pub revision: i64,
}

/// A user's role inside one workspace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
pub struct WorkspaceRole {
    pub workspace_id: String,
    pub role: Role,
}

/// The organisation and its settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
pub struct Org {
    pub id: String,
    pub name: String,
    #[ts(type = "number")]
    pub seat_limit: i64,
    #[ts(type = "number")]
    pub seats_used: i64,
    #[ts(type = "number")]
    pub invite_ttl_days: i64,
    pub time_zone: String,
    pub require_approval: bool,
    #[ts(type = "number")]
    pub revision: i64,
    /// The access profile new accounts start from when no other is picked.
    #[serde(default)]
    pub default_profile_id: Option<String>,
}

/// The caller of the API: who they are and what they may do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
pub struct Me {
    pub user: User,
    pub workspace_roles: Vec<WorkspaceRole>,
    pub permissions: Vec<String>,
    pub org: Org,
}

/// One page of a list. `next_cursor` is absent on the last page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// `GET /admin/v1/users` query.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UserListQuery {
    /// Substring of the name or e-mail, case-insensitive.
    #[param(max_length = 200)]
    pub query: Option<String>,
    pub role: Option<Role>,
    pub status: Option<UserStatus>,
    pub workspace_id: Option<String>,
    pub group_id: Option<String>,
    /// 1 to 1000, default 100.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// The kinds of entity `/admin/v1/sync` reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema, TS)]
#[serde(rename_all = "snake_case")]
pub enum SyncKind {
    Org,
    Workspace,
    User,
    Membership,
    Group,
    GroupMember,
    Invitation,
    Model,
    Grant,
    Limit,
    Budget,
    ApiKey,
    UsageDaily,
    Alert,
    Audit,
    AccessProfile,
}

/// One changed entity; `data` is absent for a deletion (a tombstone). `data` is the entity's JSON
/// as the gateway wrote it: clients parse it by `kind`, and nobody pays for a generic JSON tree.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS)]
pub struct SyncChange {
    pub kind: SyncKind,
    pub id: String,
    #[ts(type = "number")]
    pub revision: i64,
    pub deleted: bool,
    #[schema(value_type = Option<Object>)]
    #[ts(type = "unknown")]
    pub data: Option<Box<serde_json::value::RawValue>>,
}

impl SyncChange {
    /// A created or updated entity.
    pub fn upsert<T: Serialize>(kind: SyncKind, id: String, revision: i64, data: &T) -> Self {
        let data = serde_json::value::to_raw_value(data).expect("wire types serialize");
        Self {
            kind,
            id,
            revision,
            deleted: false,
            data: Some(data),
        }
    }
}

/// `GET /admin/v1/sync` response.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, TS)]
pub struct SyncPage {
    pub changes: Vec<SyncChange>,
    #[ts(type = "number")]
    pub next_since: i64,
    pub has_more: bool,
    /// The highest revision the gateway had given out when the page was read: how far a sync
    /// has to go, for a progress bar.
    #[serde(default)]
    #[ts(type = "number")]
    pub head: i64,
}

/// `GET /admin/v1/sync` query.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SyncQuery {
    /// Changes after this revision; 0 is a full snapshot.
    #[param(minimum = 0)]
    pub since: Option<i64>,
    /// 1 to 5000, default 1000.
    #[param(minimum = 1, maximum = 5000)]
    pub limit: Option<u32>,
}

/// A membership row as synced: a user in a workspace with a role there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
pub struct Membership {
    pub workspace_id: String,
    pub user_id: String,
    pub role: Role,
    #[ts(type = "number")]
    pub revision: i64,
}

/// `GET /healthz`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
pub struct Health {
    pub status: String,
    pub version: String,
}
