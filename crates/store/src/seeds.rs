//! The statements only the demo organisation and the benchmarks' large one make: backdating,
//! whole-table reads for the demo's history, and rows written in states the API reaches only
//! over time (an invitation sent days ago, already expired or revoked).

use crate::db::{self, Tx};

/// Gives the account `email` a name and a creation time in the past.
pub async fn set_name_and_created(
    tx: &mut Tx,
    email: &str,
    first_name: &str,
    last_name: &str,
    created_at: chrono::DateTime<chrono::Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE users SET first_name = $1, last_name = $2, search_text = $3, created_at = $4 \
         WHERE email = $5",
    )
    .bind(first_name)
    .bind(last_name)
    .bind(format!("{first_name} {last_name} {email}").to_lowercase())
    .bind(db::timestamp(created_at))
    .bind(email)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Suspends `id` at `revision`, as the history's end leaves them.
pub async fn suspend(tx: &mut Tx, id: &str, revision: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET status = 'suspended', revision = $1 WHERE id = $2")
        .bind(revision)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The active members' ids, by e-mail.
pub async fn active_members(tx: &mut Tx) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT id FROM users WHERE role = 'member' AND status = 'active' ORDER BY email",
    )
    .fetch_all(&mut **tx)
    .await
}

/// The first workspace by id.
pub async fn first_workspace(tx: &mut Tx) -> Result<String, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM workspaces ORDER BY id LIMIT 1")
        .fetch_one(&mut **tx)
        .await
}

/// An invitation as it stands some days after it was sent.
pub struct PastInvitation<'a> {
    pub email: &'a str,
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub workspace_id: &'a str,
    pub identity_provider: &'a str,
    pub tenant_id: Option<&'a str>,
    pub token_sealed: String,
    pub token_hash: String,
    pub status: &'a str,
    pub invited_by: &'a str,
    pub sent_at: chrono::DateTime<chrono::Utc>,
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

pub async fn insert_past_invitation(
    tx: &mut Tx,
    invitation: &PastInvitation<'_>,
    revision: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO invitations (id, email, first_name, last_name, role, workspace_ids, identity_provider, \
         tenant_id, notification_email, token_sealed, token_hash, status, invited_by, created_at, sent_at, expires_at, \
         revision) VALUES ($1, $2, $3, $4, 'member', $5, $6, $7, NULL, $8, $9, $10, $11, $12, $12, $13, $14)",
    )
    .bind(crate::new_id("inv"))
    .bind(invitation.email)
    .bind(invitation.first_name)
    .bind(invitation.last_name)
    .bind(serde_json::to_string(&[invitation.workspace_id]).expect("ids serialize"))
    .bind(invitation.identity_provider)
    .bind(invitation.tenant_id)
    .bind(&invitation.token_sealed)
    .bind(&invitation.token_hash)
    .bind(invitation.status)
    .bind(invitation.invited_by)
    .bind(db::timestamp(invitation.sent_at))
    .bind(db::timestamp(invitation.expires_at))
    .bind(revision)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Everyone as (id, status, created_at, email), by e-mail.
pub async fn people(tx: &mut Tx) -> Result<Vec<(String, String, String, String)>, sqlx::Error> {
    sqlx::query_as("SELECT id, status, created_at, email FROM users ORDER BY email")
        .fetch_all(&mut **tx)
        .await
}

/// Every workspace membership as (user_id, workspace_id).
pub async fn memberships(tx: &mut Tx) -> Result<Vec<(String, String)>, sqlx::Error> {
    sqlx::query_as("SELECT user_id, workspace_id FROM memberships ORDER BY user_id, workspace_id")
        .fetch_all(&mut **tx)
        .await
}

/// How many daily usage rows there are.
pub async fn usage_rows(pool: &sqlx::AnyPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM usage_daily")
        .fetch_one(pool)
        .await
}

/// Fresh statistics for the planner, as a long-running gateway would have.
pub async fn analyze(pool: &sqlx::AnyPool) -> Result<(), sqlx::Error> {
    sqlx::query("ANALYZE").execute(pool).await?;
    Ok(())
}
