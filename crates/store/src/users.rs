//! The `users` table: accounts, their credentials and the identity they are bound to.

use std::collections::HashMap;

use gatehouse_api::{Role, SyncChange, SyncKind, User, UserStatus};
use sqlx::{AnyPool, FromRow};

use crate::db::{self, Tx, next_revision};
use crate::sql::SqlText;

pub const USER_COLUMNS: &str = "id, email, first_name, last_name, role, status, created_at, updated_at, last_active_at, scim_managed, \
     idp_issuer, idp_tenant, CAST(CASE WHEN password_hash IS NULL THEN 0 ELSE 1 END AS BIGINT) AS has_password, revision, profile_id, profile_name";

#[derive(Debug, FromRow)]
pub struct UserRow {
    pub id: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub role: String,
    pub status: String,
    pub created_at: String,
    pub updated_at: String,
    pub last_active_at: Option<String>,
    pub scim_managed: i64,
    pub idp_issuer: Option<String>,
    pub idp_tenant: Option<String>,
    pub has_password: i64,
    pub revision: i64,
    pub profile_id: Option<String>,
    pub profile_name: Option<String>,
}

impl UserRow {
    pub fn into_api(self, workspace_ids: Vec<String>) -> User {
        User {
            role: Role::parse(&self.role).unwrap_or(Role::Member),
            status: UserStatus::parse(&self.status).unwrap_or(UserStatus::Suspended),
            created_at: db::parse_timestamp(&self.created_at),
            updated_at: db::parse_timestamp(&self.updated_at),
            last_active_at: self.last_active_at.as_deref().map(db::parse_timestamp),
            id: self.id,
            email: self.email,
            first_name: self.first_name,
            last_name: self.last_name,
            workspace_ids,
            scim_managed: self.scim_managed != 0,
            identity_issuer: self.idp_issuer,
            identity_tenant: self.idp_tenant,
            has_password: self.has_password != 0,
            revision: self.revision,
            profile_id: self.profile_id,
            profile_name: self.profile_name,
        }
    }
}

/// The workspaces of each of `user_ids`, in one query.
pub async fn workspace_ids_of<'e, E>(
    exec: E,
    user_ids: &[&str],
) -> Result<HashMap<String, Vec<String>>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    if user_ids.is_empty() {
        return Ok(out);
    }
    let mut q = SqlText::new("SELECT user_id, workspace_id FROM memberships WHERE user_id IN (");
    for (i, id) in user_ids.iter().enumerate() {
        if i > 0 {
            q.push(", ");
        }
        q.bind(id.to_string());
    }
    q.push(") ORDER BY workspace_id");
    let rows: Vec<(String, String)> = sqlx::query_as_with(&q.sql, q.args).fetch_all(exec).await?;
    for (user, workspace) in rows {
        out.entry(user).or_default().push(workspace);
    }
    Ok(out)
}

pub async fn attach_workspaces<'e, E>(exec: E, rows: Vec<UserRow>) -> Result<Vec<User>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let mut workspaces = workspace_ids_of(exec, &ids).await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let ws = workspaces.remove(&r.id).unwrap_or_default();
            r.into_api(ws)
        })
        .collect())
}

/// The user `id` with their workspaces, read from the pool.
pub async fn get(pool: &AnyPool, id: &str) -> Result<Option<User>, sqlx::Error> {
    let row: Option<UserRow> =
        sqlx::query_as(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"))
            .bind(id)
            .fetch_optional(pool)
            .await?;
    match row {
        Some(row) => Ok(Some(attach_workspaces(pool, vec![row]).await?.remove(0))),
        None => Ok(None),
    }
}

/// The user `id` with their workspaces, read inside `tx`.
pub async fn get_in(tx: &mut Tx, id: &str) -> Result<Option<User>, sqlx::Error> {
    let row: Option<UserRow> =
        sqlx::query_as(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"))
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?;
    match row {
        Some(row) => Ok(Some(
            attach_workspaces(&mut **tx, vec![row]).await?.remove(0),
        )),
        None => Ok(None),
    }
}

/// What it takes to create an account.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub role: Role,
    pub status: UserStatus,
    pub workspace_ids: Vec<String>,
    pub password_hash: Option<String>,
    pub created_at: String,
    pub last_active_at: Option<String>,
}

/// Inserts an account and its workspace memberships (with the account's org role) in `tx`.
pub async fn insert(tx: &mut Tx, user: &NewUser) -> Result<String, sqlx::Error> {
    let id = crate::new_id("usr");
    let email = user.email.trim().to_lowercase();
    let search = format!("{} {} {}", user.first_name, user.last_name, email).to_lowercase();
    let revision = next_revision(tx).await?;
    sqlx::query(
        "INSERT INTO users (id, email, first_name, last_name, role, status, password_hash, search_text, \
         created_at, updated_at, last_active_at, revision) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10, $11)",
    )
    .bind(&id)
    .bind(&email)
    .bind(&user.first_name)
    .bind(&user.last_name)
    .bind(user.role.as_str())
    .bind(user.status.as_str())
    .bind(user.password_hash.clone())
    .bind(search)
    .bind(&user.created_at)
    .bind(user.last_active_at.clone())
    .bind(revision)
    .execute(&mut **tx)
    .await?;
    for workspace_id in &user.workspace_ids {
        crate::workspaces::put_member(tx, workspace_id, &id, user.role).await?;
    }
    Ok(id)
}

/// Which users a page of the user list holds; every field but `limit` narrows it.
#[derive(Debug, Default)]
pub struct Filter {
    /// Matched anywhere in the name or e-mail, case-insensitively and literally.
    pub text: Option<String>,
    pub role: Option<Role>,
    pub status: Option<UserStatus>,
    pub workspace_id: Option<String>,
    pub group_id: Option<String>,
    /// Only ids after this one (the page's cursor).
    pub after: Option<String>,
    /// Rows to fetch.
    pub limit: i64,
}

/// Users matching `filter`, in id order.
pub async fn list(pool: &AnyPool, filter: Filter) -> Result<Vec<UserRow>, sqlx::Error> {
    let mut q = SqlText::new(&format!("SELECT {USER_COLUMNS} FROM users u WHERE 1 = 1"));
    if let Some(text) = filter.text {
        let escaped = text
            .to_lowercase()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        q.push(" AND u.search_text LIKE ")
            .bind(format!("%{escaped}%"))
            .push(" ESCAPE '\\'");
    }
    if let Some(role) = filter.role {
        q.push(" AND u.role = ").bind(role.as_str().to_owned());
    }
    if let Some(status) = filter.status {
        q.push(" AND u.status = ").bind(status.as_str().to_owned());
    }
    if let Some(ws) = filter.workspace_id {
        q.push(
            " AND EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = u.id AND m.workspace_id = ",
        )
        .bind(ws)
        .push(")");
    }
    if let Some(group) = filter.group_id {
        q.push(
            " AND EXISTS (SELECT 1 FROM group_members g WHERE g.user_id = u.id AND g.group_id = ",
        )
        .bind(group)
        .push(")");
    }
    if let Some(after) = filter.after {
        q.push(" AND u.id > ").bind(after);
    }
    q.push(" ORDER BY u.id LIMIT ").bind(filter.limit);
    sqlx::query_as_with(&q.sql, q.args).fetch_all(pool).await
}

pub async fn changed_since(
    tx: &mut Tx,
    since: i64,
    fetch: i64,
) -> Result<Vec<SyncChange>, sqlx::Error> {
    let rows: Vec<UserRow> = crate::feed::rows_since(
        tx,
        &format!("SELECT {USER_COLUMNS} FROM users"),
        "revision",
        since,
        fetch,
    )
    .await?;
    // The same window as a join: binding thousands of ids makes sqlx-sqlite quadratic.
    let pairs: Vec<(String, String)> = sqlx::query_as(
        "SELECT m.user_id, m.workspace_id FROM \
         (SELECT id FROM users WHERE revision > $1 ORDER BY revision LIMIT $2) w \
         JOIN memberships m ON m.user_id = w.id ORDER BY m.workspace_id",
    )
    .bind(since)
    .bind(fetch)
    .fetch_all(&mut **tx)
    .await?;
    let mut workspaces: HashMap<String, Vec<String>> = HashMap::new();
    for (user, workspace) in pairs {
        workspaces.entry(user).or_default().push(workspace);
    }
    Ok(rows
        .into_iter()
        .map(|r| {
            let ws = workspaces.remove(&r.id).unwrap_or_default();
            r.into_api(ws)
        })
        .map(|u| SyncChange::upsert(SyncKind::User, u.id.clone(), u.revision, &u))
        .collect())
}

pub async fn exists_email(tx: &mut Tx, email: &str) -> Result<bool, sqlx::Error> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE email = $1")
        .bind(email)
        .fetch_one(&mut **tx)
        .await?;
    Ok(n > 0)
}

/// The id of the account with `email`, if there is one.
pub async fn id_by_email<'e, E>(exec: E, email: &str) -> Result<Option<String>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
        .bind(email)
        .fetch_optional(exec)
        .await
}

pub async fn exists(tx: &mut Tx, id: &str) -> Result<bool, sqlx::Error> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE id = $1")
        .bind(id)
        .fetch_one(&mut **tx)
        .await?;
    Ok(n > 0)
}

/// Writes `user`'s new fields (its e-mail too, which only a SCIM provider changes) and a fresh
/// revision.
pub async fn update(tx: &mut Tx, user: &User, status: UserStatus) -> Result<(), sqlx::Error> {
    let revision = next_revision(tx).await?;
    let search = format!("{} {} {}", user.first_name, user.last_name, user.email).to_lowercase();
    sqlx::query(
        "UPDATE users SET first_name = $1, last_name = $2, role = $3, status = $4, search_text = $5, \
         updated_at = $6, revision = $7, email = $9 WHERE id = $8",
    )
    .bind(&user.first_name)
    .bind(&user.last_name)
    .bind(user.role.as_str())
    .bind(status.as_str())
    .bind(search)
    .bind(db::now())
    .bind(revision)
    .bind(&user.id)
    .bind(user.email.trim().to_lowercase())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// What hangs on an account and has its own place in the change feed, which a deletion must
/// mark deleted there.
#[derive(Debug, Default)]
pub struct Dependents {
    pub workspace_ids: Vec<String>,
    pub group_ids: Vec<String>,
    /// The models of the grants made to the user themselves.
    pub granted_model_ids: Vec<String>,
    pub api_key_ids: Vec<String>,
}

pub async fn dependents(tx: &mut Tx, id: &str) -> Result<Dependents, sqlx::Error> {
    let workspace_ids =
        sqlx::query_scalar("SELECT workspace_id FROM memberships WHERE user_id = $1")
            .bind(id)
            .fetch_all(&mut **tx)
            .await?;
    let group_ids = sqlx::query_scalar("SELECT group_id FROM group_members WHERE user_id = $1")
        .bind(id)
        .fetch_all(&mut **tx)
        .await?;
    let granted_model_ids = sqlx::query_scalar(
        "SELECT model_id FROM grants WHERE subject_kind = 'user' AND subject_id = $1",
    )
    .bind(id)
    .fetch_all(&mut **tx)
    .await?;
    let api_key_ids = sqlx::query_scalar("SELECT id FROM api_keys WHERE user_id = $1")
        .bind(id)
        .fetch_all(&mut **tx)
        .await?;
    Ok(Dependents {
        workspace_ids,
        group_ids,
        granted_model_ids,
        api_key_ids,
    })
}

/// Removes an account and everything that hangs on it (memberships, group memberships, grants,
/// limits, budget, API keys, tokens, reset links); usage and audit history stay.
pub async fn delete(tx: &mut Tx, id: &str) -> Result<(), sqlx::Error> {
    for sql in [
        "DELETE FROM memberships WHERE user_id = $1",
        "DELETE FROM group_members WHERE user_id = $1",
        "DELETE FROM grants WHERE subject_kind = 'user' AND subject_id = $1",
        "DELETE FROM limits WHERE subject_kind = 'user' AND subject_id = $1",
        "DELETE FROM budgets WHERE subject_kind = 'user' AND subject_id = $1",
        "DELETE FROM api_keys WHERE user_id = $1",
        "DELETE FROM tokens WHERE user_id = $1",
        "DELETE FROM password_resets WHERE user_id = $1",
        "DELETE FROM users WHERE id = $1",
    ] {
        sqlx::query(sql).bind(id).execute(&mut **tx).await?;
    }
    Ok(())
}

/// What a password sign-in checks: the account with `email`, its status and password hash.
#[derive(Debug, FromRow)]
pub struct Credentials {
    pub id: String,
    pub status: String,
    pub password_hash: Option<String>,
}

pub async fn credentials_by_email(
    pool: &AnyPool,
    email: &str,
) -> Result<Option<Credentials>, sqlx::Error> {
    sqlx::query_as("SELECT id, status, password_hash FROM users WHERE email = $1")
        .bind(email)
        .fetch_optional(pool)
        .await
}

/// How many active admins the org has.
pub async fn active_admins<'e, E>(exec: E) -> Result<i64, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE role = 'admin' AND status = 'active'")
        .fetch_one(exec)
        .await
}

/// Records that `id` was active at `at` (a new revision, as the user's row changed).
pub async fn touch_active(tx: &mut Tx, id: &str, at: &str) -> Result<(), sqlx::Error> {
    let revision = next_revision(tx).await?;
    sqlx::query("UPDATE users SET last_active_at = $1, revision = $2 WHERE id = $3")
        .bind(at)
        .bind(revision)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// What a mail to `id` needs: their e-mail and first name.
pub async fn mail_name(tx: &mut Tx, id: &str) -> Result<Option<(String, String)>, sqlx::Error> {
    sqlx::query_as("SELECT email, first_name FROM users WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut **tx)
        .await
}

/// Replaces `id`'s password hash; false when there is no such user.
pub async fn set_password(
    tx: &mut Tx,
    id: &str,
    password_hash: String,
    now: &str,
) -> Result<bool, sqlx::Error> {
    let revision = next_revision(tx).await?;
    let updated = sqlx::query(
        "UPDATE users SET password_hash = $1, updated_at = $2, revision = $3 WHERE id = $4",
    )
    .bind(password_hash)
    .bind(now)
    .bind(revision)
    .bind(id)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(updated == 1)
}

/// An identity provider's account: its issuer, subject and (Microsoft) tenant.
#[derive(Debug, Clone, Copy)]
pub struct Identity<'a> {
    pub issuer: &'a str,
    pub tenant: Option<&'a str>,
    pub subject: &'a str,
}

/// The issuer and subject `id` is bound to, if any.
pub async fn bound_identity(
    tx: &mut Tx,
    id: &str,
) -> Result<(Option<String>, Option<String>), sqlx::Error> {
    sqlx::query_as("SELECT idp_issuer, idp_subject FROM users WHERE id = $1")
        .bind(id)
        .fetch_one(&mut **tx)
        .await
}

/// Another user than `except` bound to `issuer` and `subject`, if any.
pub async fn bound_elsewhere(
    tx: &mut Tx,
    issuer: &str,
    subject: &str,
    except: &str,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT id FROM users WHERE idp_issuer = $1 AND idp_subject = $2 AND id <> $3",
    )
    .bind(issuer)
    .bind(subject)
    .bind(except)
    .fetch_optional(&mut **tx)
    .await
}

/// Binds `id` to the identity provider's account `identity`.
pub async fn bind_identity(
    tx: &mut Tx,
    id: &str,
    identity: Identity<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE users SET idp_issuer = $1, idp_tenant = $2, idp_subject = $3 WHERE id = $4",
    )
    .bind(identity.issuer)
    .bind(identity.tenant.map(str::to_owned))
    .bind(identity.subject)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
