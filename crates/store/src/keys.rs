//! Users' API keys as stored: never the secret, only its hash and the first characters that
//! let a person recognise it.

use gatehouse_api::{ApiKey, SyncChange, SyncKind};
use sqlx::FromRow;

use crate::db::{self, Tx};

#[derive(Debug, FromRow)]
pub struct KeyRow {
    pub id: String,
    pub user_id: String,
    pub name: String,
    pub prefix: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
    pub revision: i64,
}

impl KeyRow {
    pub fn into_api(self) -> ApiKey {
        ApiKey {
            id: self.id,
            user_id: self.user_id,
            name: self.name,
            prefix: self.prefix,
            created_at: db::parse_timestamp(&self.created_at),
            last_used_at: self.last_used_at.as_deref().map(db::parse_timestamp),
            revoked_at: self.revoked_at.as_deref().map(db::parse_timestamp),
            revision: self.revision,
        }
    }
}

pub const KEY_COLUMNS: &str =
    "id, user_id, name, prefix, created_at, last_used_at, revoked_at, revision";

/// A user's keys, newest first.
pub async fn of_user(tx: &mut Tx, user_id: &str) -> Result<Vec<ApiKey>, sqlx::Error> {
    let rows: Vec<KeyRow> = sqlx::query_as(&format!(
        "SELECT {KEY_COLUMNS} FROM api_keys WHERE user_id = $1 ORDER BY id DESC"
    ))
    .bind(user_id)
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows.into_iter().map(KeyRow::into_api).collect())
}

/// One key.
pub async fn find(tx: &mut Tx, id: &str) -> Result<Option<KeyRow>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut **tx)
        .await
}

/// A new key `id` of `user_id` at `revision`, stored by the hash of its secret.
pub struct NewKey<'a> {
    pub id: &'a str,
    pub user_id: &'a str,
    pub name: &'a str,
    pub prefix: &'a str,
    pub secret_hash: &'a str,
}

/// Stores `key` at `revision` and reads it back.
pub async fn insert(tx: &mut Tx, key: &NewKey<'_>, revision: i64) -> Result<ApiKey, sqlx::Error> {
    sqlx::query(
        "INSERT INTO api_keys (id, user_id, name, prefix, secret_hash, created_at, revision) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(key.id)
    .bind(key.user_id)
    .bind(key.name)
    .bind(key.prefix)
    .bind(key.secret_hash)
    .bind(db::now())
    .bind(revision)
    .execute(&mut **tx)
    .await?;
    let row = find(tx, key.id).await?.ok_or(sqlx::Error::RowNotFound)?;
    Ok(row.into_api())
}

/// Marks a key revoked now, at `revision`.
pub async fn revoke(tx: &mut Tx, id: &str, revision: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE api_keys SET revoked_at = $1, revision = $2 WHERE id = $3")
        .bind(db::now())
        .bind(revision)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub async fn changed_since(
    tx: &mut Tx,
    since: i64,
    fetch: i64,
) -> Result<Vec<SyncChange>, sqlx::Error> {
    let rows: Vec<KeyRow> = crate::feed::rows_since(
        tx,
        &format!("SELECT {KEY_COLUMNS} FROM api_keys"),
        "revision",
        since,
        fetch,
    )
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let key = r.into_api();
            SyncChange::upsert(SyncKind::ApiKey, key.id.clone(), key.revision, &key)
        })
        .collect())
}
