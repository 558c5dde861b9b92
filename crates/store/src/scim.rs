//! SCIM provisioning's own rows: the tokens identity providers hold (`scim_tokens`, only the
//! hash of each secret), and what a provider manages on users and groups (the `scim_*` columns).

use std::collections::HashMap;

use gatehouse_api::ScimToken;
use sqlx::{AnyPool, FromRow};

use crate::db::{self, Tx, next_revision};

#[derive(Debug, FromRow)]
pub struct ScimTokenRow {
    pub id: String,
    pub name: String,
    pub created_by: Option<String>,
    pub created_at: String,
    pub last_used_at: Option<String>,
}

impl ScimTokenRow {
    pub fn into_api(self) -> ScimToken {
        ScimToken {
            created_at: db::parse_timestamp(&self.created_at),
            last_used_at: self.last_used_at.as_deref().map(db::parse_timestamp),
            id: self.id,
            name: self.name,
            created_by: self.created_by,
        }
    }
}

const TOKEN_COLUMNS: &str = "id, name, created_by, created_at, last_used_at";

pub async fn insert_token(
    tx: &mut Tx,
    id: &str,
    name: &str,
    secret_hash: &str,
    created_by: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO scim_tokens (id, name, secret_hash, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id)
    .bind(name)
    .bind(secret_hash)
    .bind(created_by)
    .bind(db::now())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Every SCIM token, oldest first: an org holds a handful (one per provider or environment).
pub async fn list_tokens(pool: &AnyPool) -> Result<Vec<ScimTokenRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {TOKEN_COLUMNS} FROM scim_tokens ORDER BY id"
    ))
    .fetch_all(pool)
    .await
}

pub async fn count_tokens(tx: &mut Tx) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM scim_tokens")
        .fetch_one(&mut **tx)
        .await
}

pub async fn get_token(tx: &mut Tx, id: &str) -> Result<Option<ScimTokenRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {TOKEN_COLUMNS} FROM scim_tokens WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(&mut **tx)
    .await
}

pub async fn delete_token(tx: &mut Tx, id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM scim_tokens WHERE id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The token whose secret hashes to `hash`.
pub async fn token_by_hash(
    pool: &AnyPool,
    hash: &str,
) -> Result<Option<ScimTokenRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {TOKEN_COLUMNS} FROM scim_tokens WHERE secret_hash = $1"
    ))
    .bind(hash)
    .fetch_optional(pool)
    .await
}

pub async fn touch_token(tx: &mut Tx, id: &str, at: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE scim_tokens SET last_used_at = $1 WHERE id = $2")
        .bind(at)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// What a provider said about a user beyond the account's own fields.
#[derive(Debug, Clone, Default, PartialEq, FromRow)]
pub struct ScimUser {
    pub id: String,
    pub scim_external_id: Option<String>,
    pub scim_user_name: Option<String>,
}

/// The SCIM fields of every user (`ids` empty) or of `ids`.
pub async fn users<'e, E>(exec: E, ids: &[&str]) -> Result<HashMap<String, ScimUser>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let rows: Vec<ScimUser> = if ids.is_empty() {
        sqlx::query_as("SELECT id, scim_external_id, scim_user_name FROM users")
            .fetch_all(exec)
            .await?
    } else {
        let mut q = crate::sql::SqlText::new(
            "SELECT id, scim_external_id, scim_user_name FROM users WHERE id IN (",
        );
        for (i, id) in ids.iter().enumerate() {
            if i > 0 {
                q.push(", ");
            }
            q.bind(id.to_string());
        }
        q.push(")");
        sqlx::query_as_with(&q.sql, q.args).fetch_all(exec).await?
    };
    Ok(rows.into_iter().map(|r| (r.id.clone(), r)).collect())
}

/// Marks `id` managed by a provider, with the provider's `externalId` and `userName`.
pub async fn set_user(
    tx: &mut Tx,
    id: &str,
    external_id: Option<&str>,
    user_name: &str,
) -> Result<(), sqlx::Error> {
    let revision = next_revision(tx).await?;
    sqlx::query(
        "UPDATE users SET scim_managed = 1, scim_external_id = $1, scim_user_name = $2, \
         revision = $3 WHERE id = $4",
    )
    .bind(external_id.map(str::to_owned))
    .bind(user_name)
    .bind(revision)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Whether a user other than `except` has `user_name` as their SCIM userName (or, never given
/// one, as their e-mail), ignoring case.
pub async fn user_name_taken(
    tx: &mut Tx,
    user_name: &str,
    except: &str,
) -> Result<bool, sqlx::Error> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM users WHERE LOWER(COALESCE(scim_user_name, email)) = $1 AND id <> $2",
    )
    .bind(user_name.to_lowercase())
    .bind(except)
    .fetch_one(&mut **tx)
    .await?;
    Ok(n > 0)
}

/// Whether a user other than `except` has `email`.
pub async fn email_taken(tx: &mut Tx, email: &str, except: &str) -> Result<bool, sqlx::Error> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE email = $1 AND id <> $2")
        .bind(email)
        .bind(except)
        .fetch_one(&mut **tx)
        .await?;
    Ok(n > 0)
}

/// The `externalId` of every group.
pub async fn group_external_ids(
    tx: &mut Tx,
) -> Result<HashMap<String, Option<String>>, sqlx::Error> {
    let rows: Vec<(String, Option<String>)> =
        sqlx::query_as("SELECT id, scim_external_id FROM groups")
            .fetch_all(&mut **tx)
            .await?;
    Ok(rows.into_iter().collect())
}

/// Marks group `id` managed by a provider, with the provider's `externalId`.
pub async fn set_group(
    tx: &mut Tx,
    id: &str,
    external_id: Option<&str>,
) -> Result<(), sqlx::Error> {
    let revision = next_revision(tx).await?;
    sqlx::query(
        "UPDATE groups SET scim_managed = 1, scim_external_id = $1, revision = $2 WHERE id = $3",
    )
    .bind(external_id.map(str::to_owned))
    .bind(revision)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
