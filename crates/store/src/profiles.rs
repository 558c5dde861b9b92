//! The `access_profiles` table, and copying a profile to a new account as the account's own
//! grants, limits and budget.

use gatehouse_api::{AccessProfile, Budget, Limits, SubjectKind, SyncChange, SyncKind};
use sqlx::FromRow;

use crate::db::{self, Tx, next_revision};
use crate::policy;

const COLUMNS: &str =
    "id, name, description, grants, limits, budget, created_at, updated_at, revision";

#[derive(Debug, FromRow)]
struct ProfileRow {
    id: String,
    name: String,
    description: String,
    grants: String,
    limits: String,
    budget: String,
    created_at: String,
    updated_at: String,
    revision: i64,
}

impl ProfileRow {
    fn into_api(self) -> AccessProfile {
        // Only this module writes the JSON columns, always from the wire types.
        AccessProfile {
            grants: serde_json::from_str(&self.grants).unwrap_or_default(),
            limits: serde_json::from_str(&self.limits).unwrap_or_default(),
            budget: serde_json::from_str(&self.budget).unwrap_or_default(),
            created_at: db::parse_timestamp(&self.created_at),
            updated_at: db::parse_timestamp(&self.updated_at),
            id: self.id,
            name: self.name,
            description: self.description,
            revision: self.revision,
        }
    }
}

/// Every profile, by name.
pub async fn list(pool: &sqlx::AnyPool) -> Result<Vec<AccessProfile>, sqlx::Error> {
    let rows: Vec<ProfileRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM access_profiles ORDER BY name, id"
    ))
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(ProfileRow::into_api).collect())
}

pub async fn get<'e, E>(exec: E, id: &str) -> Result<Option<AccessProfile>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let row: Option<ProfileRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM access_profiles WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(exec)
    .await?;
    Ok(row.map(ProfileRow::into_api))
}

/// Whether another profile than `except` is called `name`.
pub async fn name_taken(
    tx: &mut Tx,
    name: &str,
    except: Option<&str>,
) -> Result<bool, sqlx::Error> {
    let n: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM access_profiles WHERE name = $1 AND id <> $2")
            .bind(name)
            .bind(except.unwrap_or(""))
            .fetch_one(&mut **tx)
            .await?;
    Ok(n > 0)
}

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("wire types serialize")
}

/// Inserts a profile with a new id; returns it.
pub async fn insert(
    tx: &mut Tx,
    name: &str,
    description: &str,
    grants: &[String],
    limits: &Limits,
    budget: &Budget,
) -> Result<AccessProfile, sqlx::Error> {
    let id = crate::new_id("apr");
    let revision = next_revision(tx).await?;
    let now = db::now();
    sqlx::query(
        "INSERT INTO access_profiles (id, name, description, grants, limits, budget, created_at, updated_at, revision) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8)",
    )
    .bind(&id)
    .bind(name)
    .bind(description)
    .bind(json(&grants))
    .bind(json(limits))
    .bind(json(budget))
    .bind(now)
    .bind(revision)
    .execute(&mut **tx)
    .await?;
    Ok(get(&mut **tx, &id).await?.expect("just inserted"))
}

/// Writes every field of `profile` but its id and creation time, at a new revision.
pub async fn update(tx: &mut Tx, profile: &AccessProfile) -> Result<AccessProfile, sqlx::Error> {
    let revision = next_revision(tx).await?;
    sqlx::query(
        "UPDATE access_profiles SET name = $1, description = $2, grants = $3, limits = $4, budget = $5, \
         updated_at = $6, revision = $7 WHERE id = $8",
    )
    .bind(&profile.name)
    .bind(&profile.description)
    .bind(json(&profile.grants))
    .bind(json(&profile.limits))
    .bind(json(&profile.budget))
    .bind(db::now())
    .bind(revision)
    .bind(&profile.id)
    .execute(&mut **tx)
    .await?;
    Ok(get(&mut **tx, &profile.id).await?.expect("exists"))
}

/// Removes the profile with its tombstone. Accounts that started from it keep its id and name;
/// an org default pointing at it is cleared (returns whether it was).
pub async fn delete(tx: &mut Tx, id: &str) -> Result<bool, sqlx::Error> {
    sqlx::query("DELETE FROM access_profiles WHERE id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    crate::audit::tombstone(tx, SyncKind::AccessProfile, id).await?;
    let was_default: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM org WHERE default_profile_id = $1")
            .bind(id)
            .fetch_one(&mut **tx)
            .await?;
    if was_default > 0 {
        let revision = next_revision(tx).await?;
        sqlx::query(
            "UPDATE org SET default_profile_id = NULL, revision = $1 WHERE default_profile_id = $2",
        )
        .bind(revision)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    }
    Ok(was_default > 0)
}

/// Takes `model_id` out of every profile that grants it (the model left the catalog); returns
/// the ids of the profiles changed.
pub async fn remove_model(tx: &mut Tx, model_id: &str) -> Result<Vec<String>, sqlx::Error> {
    let rows: Vec<ProfileRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM access_profiles ORDER BY id"
    ))
    .fetch_all(&mut **tx)
    .await?;
    let mut changed = Vec::new();
    for row in rows {
        let mut profile = row.into_api();
        if !profile.grants.iter().any(|m| m == model_id) {
            continue;
        }
        profile.grants.retain(|m| m != model_id);
        update(tx, &profile).await?;
        changed.push(profile.id);
    }
    Ok(changed)
}

/// Copies `profile` to the account `user_id` as its own grants (models still in the catalog),
/// limits and budget, and records the profile (id and name) on the account, at new revisions.
/// The caller writes the audit entry.
pub async fn apply(
    tx: &mut Tx,
    user_id: &str,
    profile: &AccessProfile,
) -> Result<Vec<String>, sqlx::Error> {
    let mut granted = Vec::new();
    for model in &profile.grants {
        if policy::model_exists(tx, model).await? {
            let revision = next_revision(tx).await?;
            policy::put_grant(tx, SubjectKind::User, user_id, model, None, revision).await?;
            granted.push(model.clone());
        }
    }
    let revision = next_revision(tx).await?;
    policy::put_limits(tx, SubjectKind::User, user_id, &profile.limits, revision).await?;
    let revision = next_revision(tx).await?;
    policy::put_budget(tx, SubjectKind::User, user_id, &profile.budget, revision).await?;
    let revision = next_revision(tx).await?;
    sqlx::query("UPDATE users SET profile_id = $1, profile_name = $2, revision = $3 WHERE id = $4")
        .bind(&profile.id)
        .bind(&profile.name)
        .bind(revision)
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    Ok(granted)
}

pub async fn changed_since(
    tx: &mut Tx,
    since: i64,
    fetch: i64,
) -> Result<Vec<SyncChange>, sqlx::Error> {
    let rows: Vec<ProfileRow> = crate::feed::rows_since(
        tx,
        &format!("SELECT {COLUMNS} FROM access_profiles"),
        "revision",
        since,
        fetch,
    )
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let p = r.into_api();
            SyncChange::upsert(SyncKind::AccessProfile, p.id.clone(), p.revision, &p)
        })
        .collect())
}
