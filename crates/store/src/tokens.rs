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
