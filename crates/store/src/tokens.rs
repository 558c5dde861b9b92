//! The `tokens` table as its owners see it: their personal access tokens, never the secrets.

use gatehouse_api::AccessToken;
use sqlx::{AnyPool, FromRow};

use crate::db::{self, Tx};

#[derive(Debug, FromRow)]
pub struct TokenRow {
    pub id: String,
    pub name: String,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub last_used_at: Option<String>,
}

impl TokenRow {
    pub fn into_api(self) -> AccessToken {
        AccessToken {
            created_at: db::parse_timestamp(&self.created_at),
            expires_at: self.expires_at.as_deref().map(db::parse_timestamp),
            last_used_at: self.last_used_at.as_deref().map(db::parse_timestamp),
            id: self.id,
            name: self.name,
        }
    }
}

const COLUMNS: &str = "id, name, created_at, expires_at, last_used_at";

/// At most `limit` of `user_id`'s tokens of `kind` after the id `after`, in id order.
pub async fn list(
    pool: &AnyPool,
    user_id: &str,
    kind: &str,
    after: String,
    limit: i64,
) -> Result<Vec<TokenRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM tokens WHERE user_id = $1 AND kind = $2 AND id > $3 \
         ORDER BY id LIMIT $4"
    ))
    .bind(user_id)
    .bind(kind)
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// How many tokens of `kind` `user_id` holds.
pub async fn count(tx: &mut Tx, user_id: &str, kind: &str) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM tokens WHERE user_id = $1 AND kind = $2")
        .bind(user_id)
        .bind(kind)
        .fetch_one(&mut **tx)
        .await
}

pub async fn get(tx: &mut Tx, id: &str) -> Result<TokenRow, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM tokens WHERE id = $1"))
        .bind(id)
        .fetch_one(&mut **tx)
        .await
}

/// The token `id` if it is `user_id`'s and of `kind`.
pub async fn get_owned(
    tx: &mut Tx,
    id: &str,
    user_id: &str,
    kind: &str,
) -> Result<Option<TokenRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM tokens WHERE id = $1 AND user_id = $2 AND kind = $3"
    ))
    .bind(id)
    .bind(user_id)
    .bind(kind)
    .fetch_optional(&mut **tx)
    .await
}

pub async fn delete(tx: &mut Tx, id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM tokens WHERE id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// A new token of `kind` (a session or a personal access token), stored by its secret's hash.
pub struct NewToken<'a> {
    pub id: &'a str,
    pub user_id: &'a str,
    pub name: &'a str,
    pub kind: &'a str,
    pub secret_hash: &'a str,
    pub expires_at: Option<&'a str>,
}

pub async fn insert(tx: &mut Tx, token: &NewToken<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO tokens (id, user_id, name, secret_hash, created_at, expires_at, kind) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(token.id)
    .bind(token.user_id)
    .bind(token.name)
    .bind(token.secret_hash)
    .bind(crate::db::now())
    .bind(token.expires_at.map(str::to_owned))
    .bind(token.kind)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Deletes every token of `kind` that `user_id` holds; returns how many there were.
pub async fn delete_all(tx: &mut Tx, user_id: &str, kind: &str) -> Result<u64, sqlx::Error> {
    Ok(
        sqlx::query("DELETE FROM tokens WHERE user_id = $1 AND kind = $2")
            .bind(user_id)
            .bind(kind)
            .execute(&mut **tx)
            .await?
            .rows_affected(),
    )
}

/// Who holds the token whose secret hashes to `hash`, as a request's authentication reads it.
#[derive(Debug, sqlx::FromRow)]
pub struct Bearer {
    pub user_id: String,
    pub role: String,
    pub status: String,
    pub token_id: String,
    pub expires_at: Option<String>,
    pub last_used_at: Option<String>,
}

pub async fn bearer(pool: &sqlx::AnyPool, hash: &str) -> Result<Option<Bearer>, sqlx::Error> {
    sqlx::query_as(
        "SELECT u.id AS user_id, u.role, u.status, t.id AS token_id, t.expires_at, t.last_used_at \
         FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.secret_hash = $1",
    )
    .bind(hash)
    .fetch_optional(pool)
    .await
}

/// Records that the token was used at `at`.
pub async fn touch(tx: &mut Tx, id: &str, at: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE tokens SET last_used_at = $1 WHERE id = $2")
        .bind(at)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
