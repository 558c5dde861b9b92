//! What the desktop shell hands the web UI: plain data with TypeScript bindings.

use chrono::{DateTime, Utc};
use gatehouse_api::{FieldError, Me, Role, Secret, UserStatus};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

mod queries;
pub use queries::*;

/// The one error type at the IPC boundary: a stable code the UI acts on and a message for people.
///
/// Codes the UI acts on: `unauthorized` (sign in again), `seat_limit_reached` (show the seats;
/// the message says "N of M seats used."), `validation_failed` (show `fields` next to the
/// inputs), `offline`, `untrusted_certificate` (add the CA to the profile).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct IpcError {
    pub code: String,
    pub message: String,
    /// The invalid fields of a `validation_failed` request; absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub fields: Option<Vec<FieldError>>,
}

/// A profile as the UI sees it; the credential never leaves the keychain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct ProfileSummary {
    pub id: String,
    pub name: String,
    pub url: String,
    /// The demo gateway that runs inside the app.
    pub embedded: bool,
    /// The profile trusts a CA certificate of its own.
    pub custom_ca: bool,
    /// The keychain holds a credential for it.
    pub signed_in: bool,
    /// The admin chose plain `http://` to a host other than this computer: passwords and
    /// tokens cross the network unencrypted.
    pub insecure_http: bool,
}

/// A profile as the admin enters it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct ProfileInput {
    pub name: String,
    /// The gateway's base URL, `https://…`; `http://` only for this computer (localhost,
    /// 127.0.0.0/8, ::1) unless `insecure_http` is set.
    pub url: String,
    /// A PEM certificate (or bundle) to trust for this gateway besides the system's roots.
    /// Editing a profile, absent (`null`) keeps the CA it has and `""` removes it.
    #[serde(default)]
    pub ca_pem: Option<String>,
    /// The admin ticked "allow an insecure connection": plain `http://` to another host.
    #[serde(default)]
    pub insecure_http: bool,
}

/// How an admin signs in to a profile. The password or token goes straight to the gateway and
/// the keychain; it is never stored anywhere else, logged, or sent back to the UI.
#[derive(Debug, Clone, Deserialize, TS)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum SignIn {
    Password {
        email: String,
        #[ts(type = "string")]
        password: Secret,
    },
    /// A personal access token made in the gateway (or printed by `gatehouse-gateway init`).
    Token {
        #[ts(type = "string")]
        token: Secret,
    },
}

/// The identity provider an admin signs in with (`/sso/{provider}/start`); whether the gateway
/// has it set up shows when the browser opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum SignInProvider {
    Google,
    Microsoft,
    /// The organisation's own OpenID Connect provider (Okta, Keycloak, …).
    Oidc,
}

impl SignInProvider {
    /// The provider's name in the gateway's paths.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Google => "google",
            Self::Microsoft => "microsoft",
            Self::Oidc => "oidc",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Opening the profile, starting the demo gateway, first sync.
    Starting,
    Ready,
    /// The active profile has no credential, or the gateway refused it: sign in again. What the
    /// cache holds stays readable.
    SignedOut,
    /// Nothing can be shown; `error` says why.
    Failed,
}

/// Progress of a running sync, for a progress bar: it has gone from `start` to `revision` of
/// the way to `head`, so the bar is `(revision - start) / (head - start)`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, TS)]
pub struct SyncProgress {
    #[ts(type = "number")]
    pub applied: u64,
    /// The revision the sync started from.
    #[ts(type = "number")]
    pub start: i64,
    /// The revision the cache has reached.
    #[ts(type = "number")]
    pub revision: i64,
    /// The highest revision the gateway had when it sent the last page.
    #[ts(type = "number")]
    pub head: i64,
}

/// Everything the UI shows about the connection and the cache.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct AppStatus {
    pub phase: Phase,
    pub profile: Option<ProfileSummary>,
    pub me: Option<Me>,
    /// The gateway did not answer the last time it was asked; the data is as of `synced_at`.
    pub offline: bool,
    pub synced_at: Option<DateTime<Utc>>,
    pub syncing: Option<SyncProgress>,
    pub error: Option<IpcError>,
    /// Something to tell the admin about this profile's cache, in plain words (it was started
    /// afresh because its key was gone).
    pub notice: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum UserSort {
    #[default]
    Name,
    Email,
    Role,
    Status,
    CreatedAt,
    LastActiveAt,
}

/// A query of the cached users.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
#[serde(default)]
pub struct UserFilter {
    /// Case-insensitive substring of the name or e-mail.
    pub query: String,
    pub role: Option<Role>,
    pub status: Option<UserStatus>,
    pub workspace_id: Option<String>,
    pub group_id: Option<String>,
    pub sort: UserSort,
    pub descending: bool,
    pub offset: u32,
    /// 1 to 1000; 0 is 100.
    pub limit: u32,
}

/// One row of the users table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct UserRow {
    pub id: String,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub status: UserStatus,
    /// Names of the user's workspaces and groups, sorted.
    pub workspaces: Vec<String>,
    pub groups: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub last_active_at: Option<DateTime<Utc>>,
    /// Spend this month, in the org's time zone.
    pub spend_mtd_usd: f64,
    /// An identity provider provisions the account over SCIM.
    pub scim_managed: bool,
}

/// One page of cached users and how many match in all.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct UserRows {
    #[ts(type = "number")]
    pub total: u64,
    pub rows: Vec<UserRow>,
}

/// How much room the open profile's cache takes on this computer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct CacheInfo {
    pub profile_name: String,
    /// The database with its write-ahead log.
    #[ts(type = "number")]
    pub bytes: u64,
    pub synced_at: Option<DateTime<Utc>>,
}

/// What a finished sync did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct SyncReport {
    #[ts(type = "number")]
    pub applied: u64,
    #[ts(type = "number")]
    pub revision: i64,
    pub synced_at: DateTime<Utc>,
}

/// A newer version of the app that the update server offers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct UpdateInfo {
    pub version: String,
    /// The version running now.
    pub current_version: String,
    /// The release notes, as the update manifest gives them.
    pub notes: Option<String>,
    /// When it was published (RFC 3339), if the manifest says.
    pub date: Option<String>,
}

/// How far a download of an update has come, sent to the UI as `update-progress` events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "phase", rename_all = "snake_case")]
pub enum UpdateProgress {
    /// `received` bytes of `total` (when the server says how many).
    Downloading {
        #[ts(type = "number")]
        received: u64,
        #[ts(type = "number | null")]
        total: Option<u64>,
    },
    /// Downloaded and its signature checked: ready to install.
    Verified,
}

/// Where the app writes its logs, and what decides their level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct LogInfo {
    /// The log folder, to show; the UI opens it through the `open_log_folder` command.
    pub dir: String,
    /// `RUST_LOG` is set and decides the level instead of the settings.
    pub level_from_env: bool,
}
