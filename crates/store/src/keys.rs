//! Users' API keys as stored: never the secret, only its hash and the first characters that
//! let a person recognise it.

use chrono::{DateTime, Utc};
use gatehouse_api::{ApiKey, Budget, Limits, SyncChange, SyncKind};
use sqlx::FromRow;

use crate::db::{self, Tx};
use crate::policy::{micros, usd};

#[derive(Debug, FromRow)]
pub struct KeyRow {
    pub id: String,
    pub user_id: String,
    pub name: String,
    pub prefix: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
    pub expires_at: Option<String>,
    pub model_ids: Option<String>,
    pub requests_per_min: Option<i64>,
    pub input_tokens_per_min: Option<i64>,
    pub output_tokens_per_min: Option<i64>,
    pub max_concurrent: Option<i64>,
    pub daily_micros: Option<i64>,
    pub weekly_micros: Option<i64>,
    pub monthly_micros: Option<i64>,
    pub rotated_at: Option<String>,
    pub previous_secret_expires_at: Option<String>,
    pub alert_thresholds: Option<String>,
    pub revision: i64,
}

/// What a key sets on top of its user's policy, as stored.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KeyPolicyValues {
    pub expires_at: Option<DateTime<Utc>>,
    pub model_ids: Option<Vec<String>>,
    pub limits: Limits,
    pub budget: Budget,
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
            expires_at: self.expires_at.as_deref().map(db::parse_timestamp),
            model_ids: parse_models(self.model_ids.as_deref()),
            limits: Limits {
                requests_per_min: self.requests_per_min,
                input_tokens_per_min: self.input_tokens_per_min,
                output_tokens_per_min: self.output_tokens_per_min,
                max_concurrent: self.max_concurrent,
            },
            budget: Budget {
                daily_usd: self.daily_micros.map(usd),
                weekly_usd: self.weekly_micros.map(usd),
                monthly_usd: self.monthly_micros.map(usd),
                alert_thresholds: self
                    .alert_thresholds
                    .as_deref()
                    .and_then(|t| serde_json::from_str(t).ok())
                    .unwrap_or_else(|| Budget::default().alert_thresholds),
            },
            rotated_at: self.rotated_at.as_deref().map(db::parse_timestamp),
            previous_secret_expires_at: self
                .previous_secret_expires_at
                .as_deref()
                .map(db::parse_timestamp),
            revision: self.revision,
        }
    }
}

/// The stored model subset (a JSON array) as a list; a value that does not parse (only a
/// hand-edited database has one) allows nothing rather than everything.
pub fn parse_models(stored: Option<&str>) -> Option<Vec<String>> {
    stored.map(|s| serde_json::from_str(s).unwrap_or_default())
}

pub const KEY_COLUMNS: &str = "id, user_id, name, prefix, created_at, last_used_at, revoked_at, \
     expires_at, model_ids, requests_per_min, input_tokens_per_min, output_tokens_per_min, \
     max_concurrent, daily_micros, weekly_micros, monthly_micros, rotated_at, \
     previous_secret_expires_at, alert_thresholds, revision";

/// Sets the policy of key `id` at `revision`.
pub async fn set_policy(
    tx: &mut Tx,
    id: &str,
    policy: &KeyPolicyValues,
    revision: i64,
) -> Result<(), sqlx::Error> {
    let models = policy
        .model_ids
        .as_ref()
        .map(|m| serde_json::to_string(m).expect("strings serialize"));
    sqlx::query(
        "UPDATE api_keys SET expires_at = $1, model_ids = $2, requests_per_min = $3, \
         input_tokens_per_min = $4, output_tokens_per_min = $5, max_concurrent = $6, \
         daily_micros = $7, weekly_micros = $8, monthly_micros = $9, alert_thresholds = $10, \
         revision = $11 WHERE id = $12",
    )
    .bind(policy.expires_at.map(db::timestamp))
    .bind(models)
    .bind(policy.limits.requests_per_min)
    .bind(policy.limits.input_tokens_per_min)
    .bind(policy.limits.output_tokens_per_min)
    .bind(policy.limits.max_concurrent)
    .bind(policy.budget.daily_usd.map(micros))
    .bind(policy.budget.weekly_usd.map(micros))
    .bind(policy.budget.monthly_usd.map(micros))
    .bind(serde_json::to_string(&policy.budget.alert_thresholds).expect("numbers serialize"))
    .bind(revision)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Renames key `id` at `revision`.
pub async fn rename(tx: &mut Tx, id: &str, name: &str, revision: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE api_keys SET name = $1, revision = $2 WHERE id = $3")
        .bind(name)
        .bind(revision)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Replaces the secret of key `id` by the one hashed `new_hash` (shown by `prefix`): the
/// current secret becomes the previous one, valid until `grace_until` (a rotation before an
/// earlier grace ends cuts that older secret off).
pub async fn rotate(
    tx: &mut Tx,
    id: &str,
    new_hash: &str,
    prefix: &str,
    grace_until: DateTime<Utc>,
    revision: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE api_keys SET previous_secret_hash = secret_hash, \
         previous_secret_expires_at = $1, secret_hash = $2, prefix = $3, rotated_at = $4, \
         revision = $5 WHERE id = $6",
    )
    .bind(db::timestamp(grace_until))
    .bind(new_hash)
    .bind(prefix)
    .bind(db::now())
    .bind(revision)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

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

/// Marks the keys that expire after `now` and within `within` of it, and were not yet told for
/// that expiry, as told; the keys marked. In the transaction that queues their events, so each
/// expiry is told once across nodes.
pub async fn claim_expiring(
    tx: &mut Tx,
    now: DateTime<Utc>,
    within: chrono::Duration,
) -> Result<Vec<ApiKey>, sqlx::Error> {
    let ids: Vec<String> = sqlx::query_scalar(
        "UPDATE api_keys SET expiry_notice_for = expires_at \
         WHERE revoked_at IS NULL AND expires_at > $1 AND expires_at <= $2 \
         AND (expiry_notice_for IS NULL OR expiry_notice_for <> expires_at) RETURNING id",
    )
    .bind(db::timestamp(now))
    .bind(db::timestamp(now + within))
    .fetch_all(&mut **tx)
    .await?;
    let mut keys = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(row) = find(tx, &id).await? {
            keys.push(row.into_api());
        }
    }
    Ok(keys)
}
