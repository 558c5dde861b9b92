//! Bearer tokens: 256 random bits, stored only as a SHA-256 hash. A token is found by its hash
//! (an index lookup), so no comparison of secret bytes ever runs on attacker input.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gatehouse_api::{ErrorCode, Role, Secret, UserStatus};
pub use gatehouse_store::hash_secret;
use gatehouse_store::tokens;
use rand::RngCore;

use crate::AppState;
use crate::db::{self, Tx};
use crate::error::{ApiError, ApiResult};
use crate::permissions::{self, Permission};

/// Prefix of the admin API's bearer tokens.
pub const TOKEN_PREFIX: &str = "gat_";

/// A fresh secret with `prefix`, and the hash under which it is stored.
pub fn new_secret(prefix: &str) -> (Secret, String) {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let secret = format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes));
    let hash = hash_secret(&secret);
    (Secret::new(secret), hash)
}

/// `tokens.kind` of a personal access token: made by its owner, may live forever; revoked by a
/// password reset unless the person keeps them, kept (but refused) while the account is
/// suspended.
pub const KIND_PAT: &str = "pat";
/// `tokens.kind` of a sign-in session: always expires, revoked when the password is reset or the
/// account is suspended.
pub const KIND_SESSION: &str = "session";

/// Creates a personal access token for `user_id` that never expires and returns its secret,
/// the only time it exists in clear.
pub async fn issue_token(tx: &mut Tx, user_id: &str, name: &str) -> Result<Secret, sqlx::Error> {
    Ok(issue(tx, user_id, name, KIND_PAT, None).await?.1)
}

/// Creates a token of `kind` for `user_id`; returns its id and its secret.
pub async fn issue(
    tx: &mut Tx,
    user_id: &str,
    name: &str,
    kind: &str,
    expires_at: Option<&str>,
) -> Result<(String, Secret), sqlx::Error> {
    let (secret, hash) = new_secret(TOKEN_PREFIX);
    let id = crate::new_id("tok");
    tokens::insert(
        tx,
        &tokens::NewToken {
            id: &id,
            user_id,
            name,
            kind,
            secret_hash: &hash,
            expires_at,
        },
    )
    .await?;
    Ok((id, secret))
}

/// Deletes every token of `kind` that `user_id` holds, so it stops working at once and for
/// good; returns how many there were.
pub async fn revoke(tx: &mut Tx, user_id: &str, kind: &str) -> Result<u64, sqlx::Error> {
    tokens::delete_all(tx, user_id, kind).await
}

/// The authenticated caller of an admin API request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: String,
    pub role: Role,
}

impl Caller {
    pub fn allows(&self, permission: Permission) -> bool {
        permissions::allows(self.role, permission)
    }

    pub fn require(&self, permission: Permission, what: &str) -> ApiResult<()> {
        if permissions::allows(self.role, permission) {
            Ok(())
        } else {
            Err(ApiError::forbidden(what))
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Self> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .ok_or_else(ApiError::unauthorized)?;
        let token = header
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| t.starts_with(TOKEN_PREFIX))
            .ok_or_else(ApiError::unauthorized)?;
        let tokens::Bearer {
            user_id,
            role,
            status,
            token_id,
            expires_at,
            last_used_at,
        } = tokens::bearer(&state.db.pool, &hash_secret(token))
            .await?
            .ok_or_else(ApiError::unauthorized)?;
        if expires_at.is_some_and(|e| e <= db::now()) {
            return Err(ApiError::new(
                ErrorCode::Unauthorized,
                "The token has expired.",
            ));
        }
        match UserStatus::parse(&status) {
            Some(UserStatus::Active) => {}
            Some(UserStatus::Suspended) => {
                return Err(ApiError::new(
                    ErrorCode::AccountSuspended,
                    "This account is suspended.",
                ));
            }
            _ => {
                return Err(ApiError::new(
                    ErrorCode::Forbidden,
                    "This account is not active yet.",
                ));
            }
        }
        let role =
            Role::parse(&role).ok_or_else(|| ApiError::Internal(format!("bad role {role}")))?;
        touch(state, &token_id, &user_id, last_used_at.as_deref());
        Ok(Caller { user_id, role })
    }
}

/// How stale `last_used_at` and `last_active_at` may get: writing them on every request would
/// take the write lock for every read.
const TOUCH_EVERY: chrono::Duration = chrono::Duration::minutes(1);

/// Records, in the background, that the token and its user were just used.
fn touch(state: &AppState, token_id: &str, user_id: &str, last_used_at: Option<&str>) {
    let now = chrono::Utc::now();
    if last_used_at.is_some_and(|t| db::parse_timestamp(t) > now - TOUCH_EVERY) {
        return;
    }
    let (db, token_id, user_id) = (state.db.clone(), token_id.to_owned(), user_id.to_owned());
    tokio::spawn(async move {
        let result = async {
            let mut tx = db.begin_write().await?;
            let at = db::timestamp(now);
            tokens::touch(&mut tx, &token_id, &at).await?;
            gatehouse_store::users::touch_active(&mut tx, &user_id, &at).await?;
            tx.commit().await
        }
        .await;
        if let Err(e) = result {
            tracing::warn!(error = %e, "could not record token use");
        }
    });
}

#[cfg(test)]
mod tests {
    #[test]
    fn secrets_hash_to_lower_case_hex_sha256() {
        assert_eq!(
            super::hash_secret("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
