//! The `password_resets` table: single-use links to choose a password, kept as the SHA-256 of
//! their token.

use sqlx::AnyPool;

use crate::db::Tx;

/// Ends `user_id`'s earlier links and stores a new one, valid until `expires_at`.
pub async fn replace(
    tx: &mut Tx,
    user_id: &str,
    token_hash: String,
    now: &str,
    expires_at: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE password_resets SET used_at = $1 WHERE user_id = $2 AND used_at IS NULL")
        .bind(now)
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "INSERT INTO password_resets (token_hash, user_id, created_at, expires_at) \
         VALUES ($1, $2, $3, $4)",
    )
    .bind(token_hash)
    .bind(user_id)
    .bind(now)
    .bind(expires_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A link as stored, with the e-mail of its user (`None` when the user is gone).
#[derive(Debug, sqlx::FromRow)]
pub struct ResetRow {
    pub user_id: String,
    pub expires_at: String,
    pub used_at: Option<String>,
    pub email: Option<String>,
}

pub async fn find(pool: &AnyPool, token_hash: &str) -> Result<Option<ResetRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT r.user_id, r.expires_at, r.used_at, u.email FROM password_resets r \
         LEFT JOIN users u ON u.id = r.user_id WHERE r.token_hash = $1",
    )
    .bind(token_hash)
    .fetch_optional(pool)
    .await
}

/// Uses up the link, in the same statement that checks it is unused and unexpired, so two
/// submissions cannot both win; false when it could not be used.
pub async fn claim(tx: &mut Tx, token_hash: &str, now: &str) -> Result<bool, sqlx::Error> {
    let claimed = sqlx::query(
        "UPDATE password_resets SET used_at = $1 \
         WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1",
    )
    .bind(now)
    .bind(token_hash)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(claimed == 1)
}
