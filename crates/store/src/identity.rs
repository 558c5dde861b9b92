//! Single sign-on's rows: the org's identity settings (`org_identity`, one row), console
//! sign-ins sent to a provider (`sso_signins`) and the one-time codes the desktop app exchanges
//! for a session (`sso_codes`). Codes are kept as hashes; states too.

use gatehouse_api::{IdentitySettingsInput, JoinMode, Role, RoleMapping};
use sqlx::FromRow;

use crate::db::{Tx, next_revision};

#[derive(Debug, FromRow)]
pub struct IdentityRow {
    pub join_mode: String,
    pub jit_domains: String,
    pub jit_role: String,
    pub microsoft_tenant: Option<String>,
    pub require_sso: i64,
    pub break_glass_user_id: Option<String>,
    pub groups_claim: String,
    pub role_mapping: String,
    pub revision: i64,
}

/// The settings as the code uses them.
#[derive(Debug, Clone)]
pub struct Identity {
    pub input: IdentitySettingsInput,
    pub revision: i64,
}

impl IdentityRow {
    fn parse(self) -> Identity {
        Identity {
            input: IdentitySettingsInput {
                join_mode: if self.join_mode == "just_in_time" {
                    JoinMode::JustInTime
                } else {
                    JoinMode::InviteOnly
                },
                jit_domains: serde_json::from_str(&self.jit_domains).unwrap_or_default(),
                jit_role: Role::parse(&self.jit_role).unwrap_or(Role::Member),
                microsoft_tenant: self.microsoft_tenant,
                require_sso: self.require_sso != 0,
                break_glass_user_id: self.break_glass_user_id,
                groups_claim: self.groups_claim,
                role_mapping: serde_json::from_str::<Vec<RoleMapping>>(&self.role_mapping)
                    .unwrap_or_default(),
            },
            revision: self.revision,
        }
    }
}

const COLUMNS: &str = "join_mode, jit_domains, jit_role, microsoft_tenant, require_sso, \
     break_glass_user_id, groups_claim, role_mapping, revision";

pub async fn get<'e, E>(exec: E) -> Result<Identity, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let row: IdentityRow =
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM org_identity WHERE id = 1"))
            .fetch_one(exec)
            .await?;
    Ok(row.parse())
}

pub async fn set(tx: &mut Tx, input: &IdentitySettingsInput) -> Result<(), sqlx::Error> {
    let revision = next_revision(tx).await?;
    let mode = match input.join_mode {
        JoinMode::InviteOnly => "invite_only",
        JoinMode::JustInTime => "just_in_time",
    };
    sqlx::query(
        "UPDATE org_identity SET join_mode = $1, jit_domains = $2, jit_role = $3, \
         microsoft_tenant = $4, require_sso = $5, break_glass_user_id = $6, groups_claim = $7, \
         role_mapping = $8, revision = $9 WHERE id = 1",
    )
    .bind(mode)
    .bind(serde_json::to_string(&input.jit_domains).unwrap_or_else(|_| "[]".into()))
    .bind(input.jit_role.as_str())
    .bind(input.microsoft_tenant.clone())
    .bind(i64::from(input.require_sso))
    .bind(input.break_glass_user_id.clone())
    .bind(&input.groups_claim)
    .bind(serde_json::to_string(&input.role_mapping).unwrap_or_else(|_| "[]".into()))
    .bind(revision)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A console sign-in on its way to a provider.
#[derive(Debug, FromRow)]
pub struct SsoSignIn {
    pub provider: String,
    pub issuer: String,
    pub pkce_verifier: String,
    pub nonce: String,
    pub app_redirect: String,
    pub app_state: String,
    pub app_challenge: String,
    pub expires_at: String,
}

pub async fn insert_signin(
    tx: &mut Tx,
    state_hash: &str,
    signin: &SsoSignIn,
    created_at: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM sso_signins WHERE expires_at <= $1")
        .bind(created_at)
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "INSERT INTO sso_signins (state_hash, provider, issuer, pkce_verifier, nonce, app_redirect, \
         app_state, app_challenge, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(state_hash)
    .bind(&signin.provider)
    .bind(&signin.issuer)
    .bind(&signin.pkce_verifier)
    .bind(&signin.nonce)
    .bind(&signin.app_redirect)
    .bind(&signin.app_state)
    .bind(&signin.app_challenge)
    .bind(created_at)
    .bind(&signin.expires_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Takes the sign-in of `state_hash` out: a state never works twice.
pub async fn take_signin(tx: &mut Tx, state_hash: &str) -> Result<Option<SsoSignIn>, sqlx::Error> {
    sqlx::query_as(
        "DELETE FROM sso_signins WHERE state_hash = $1 RETURNING provider, issuer, pkce_verifier, \
         nonce, app_redirect, app_state, app_challenge, expires_at",
    )
    .bind(state_hash)
    .fetch_optional(&mut **tx)
    .await
}

#[derive(Debug, FromRow)]
pub struct SsoCode {
    pub user_id: String,
    pub app_challenge: String,
    pub provider: String,
    pub expires_at: String,
}

pub async fn insert_code(
    tx: &mut Tx,
    code_hash: &str,
    code: &SsoCode,
    now: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM sso_codes WHERE expires_at <= $1")
        .bind(now)
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "INSERT INTO sso_codes (code_hash, user_id, app_challenge, provider, expires_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(code_hash)
    .bind(&code.user_id)
    .bind(&code.app_challenge)
    .bind(&code.provider)
    .bind(&code.expires_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Takes the code of `code_hash` out: a code never works twice, right or wrong verifier.
pub async fn take_code(tx: &mut Tx, code_hash: &str) -> Result<Option<SsoCode>, sqlx::Error> {
    sqlx::query_as(
        "DELETE FROM sso_codes WHERE code_hash = $1 \
         RETURNING user_id, app_challenge, provider, expires_at",
    )
    .bind(code_hash)
    .fetch_optional(&mut **tx)
    .await
}
