//! Passwords (argon2id, PHC strings) and single-use set/reset-password links.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHasher, SaltString};
use gatehouse_api::{Secret, User};

use crate::AppState;
use crate::auth::new_secret;
use crate::db::{self, Tx};
use crate::error::{ApiError, ApiResult};

pub const MIN_LEN: usize = 12;
pub const MAX_LEN: usize = 1024;
/// How long a set/reset-password link works.
pub const RESET_TTL_HOURS: i64 = 1;

/// Checks a new password's length and hashes it with argon2id.
pub async fn hash_new(password: &str) -> ApiResult<String> {
    let n = password.chars().count();
    if !(MIN_LEN..=MAX_LEN).contains(&n) {
        return Err(ApiError::invalid(
            "password",
            format!("must be {MIN_LEN} to {MAX_LEN} characters"),
        ));
    }
    let password = password.to_owned();
    // Hashing takes tens of milliseconds of CPU on purpose: keep it off the async workers.
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        argon2::Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
    })
    .await
    .map_err(|e| ApiError::Internal(format!("hashing a password: {e}")))?
    .map_err(|e| ApiError::Internal(format!("hashing a password: {e}")))
}

/// Creates a single-use reset token for `user_id`, stored as a hash; returns the token.
pub async fn issue_reset(tx: &mut Tx, user_id: &str) -> Result<Secret, sqlx::Error> {
    let (token, hash) = new_secret("");
    let now = chrono::Utc::now();
    sqlx::query("INSERT INTO password_resets (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
        .bind(hash)
        .bind(user_id)
        .bind(db::timestamp(now))
        .bind(db::timestamp(now + chrono::Duration::hours(RESET_TTL_HOURS)))
        .execute(&mut **tx)
        .await?;
    Ok(token)
}

/// Tells a new user where to set their password.
pub async fn mail_set_password(_state: &AppState, user: &User, _token: &Secret) {
    tracing::info!(user = %user.id, "set-password link issued");
}
