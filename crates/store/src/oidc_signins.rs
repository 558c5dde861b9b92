//! The `oidc_signins` table: sign-ins sent to an identity provider and not yet back, known by
//! the hash of the state value they carry.

use crate::db::Tx;

/// A sign-in sent to a provider, as taken back out of the table.
#[derive(Debug, sqlx::FromRow)]
pub struct PendingSignIn {
    pub invitation_id: String,
    pub provider: String,
    pub issuer: String,
    pub pkce_verifier: String,
    pub nonce: String,
    pub expires_at: String,
}

/// A sign-in about to be sent to a provider.
#[derive(Debug)]
pub struct NewSignIn<'a> {
    pub state_hash: String,
    pub invitation_id: &'a str,
    pub provider: &'a str,
    pub issuer: &'a str,
    pub pkce_verifier: &'a str,
    pub nonce: &'a str,
    pub created_at: String,
    pub expires_at: String,
}

/// Drops the sign-ins that expired at or before `now`.
pub async fn delete_expired(tx: &mut Tx, now: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM oidc_signins WHERE expires_at <= $1")
        .bind(now)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub async fn insert(tx: &mut Tx, new: &NewSignIn<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO oidc_signins (state_hash, invitation_id, provider, issuer, pkce_verifier, nonce, \
         created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&new.state_hash)
    .bind(new.invitation_id)
    .bind(new.provider)
    .bind(new.issuer)
    .bind(new.pkce_verifier)
    .bind(new.nonce)
    .bind(&new.created_at)
    .bind(&new.expires_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Takes the sign-in of `state_hash` out of the table: whatever happens next, the same state
/// never works twice.
pub async fn take(tx: &mut Tx, state_hash: &str) -> Result<Option<PendingSignIn>, sqlx::Error> {
    sqlx::query_as(
        "DELETE FROM oidc_signins WHERE state_hash = $1 \
         RETURNING invitation_id, provider, issuer, pkce_verifier, nonce, expires_at",
    )
    .bind(state_hash)
    .fetch_optional(&mut **tx)
    .await
}
