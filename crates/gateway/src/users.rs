//! Users: storage and the `/admin/v1/users` handlers.

use std::collections::HashMap;

use axum::Json;
use axum::extract::State;
use gatehouse_api::{Page, Role, SyncChange, SyncKind, User, UserListQuery, UserStatus};
use sqlx::FromRow;

use crate::AppState;
use crate::auth::Caller;
use crate::db::{self, Tx, next_revision};
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiQuery;
use crate::permissions::Permission;
use crate::sql::SqlText;

pub const USER_COLUMNS: &str = "id, email, first_name, last_name, role, status, created_at, updated_at, last_active_at, revision";

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
    pub revision: i64,
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
            revision: self.revision,
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

pub async fn get(pool: &sqlx::AnyPool, id: &str) -> ApiResult<User> {
    let row: Option<UserRow> =
        sqlx::query_as(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"))
            .bind(id)
            .fetch_optional(pool)
            .await?;
    let row = row.ok_or_else(|| ApiError::not_found("user"))?;
    Ok(attach_workspaces(pool, vec![row]).await?.remove(0))
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

pub fn page_limit(limit: Option<u32>) -> ApiResult<i64> {
    match limit {
        None => Ok(100),
        Some(n @ 1..=1000) => Ok(i64::from(n)),
        Some(_) => Err(ApiError::invalid("limit", "must be between 1 and 1000")),
    }
}

/// List the users of the organisation
#[utoipa::path(
    get, path = "/admin/v1/users", tag = "users",
    params(UserListQuery),
    responses(
        (status = 200, description = "One page of users, in creation order", body = Page<User>),
        (status = 401, description = "No valid token", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role may not read users", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A bad filter", body = gatehouse_api::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<UserListQuery>,
) -> ApiResult<Json<Page<User>>> {
    caller.require(Permission::UsersRead, "list users")?;
    let limit = page_limit(query.limit)?;
    let mut q = SqlText::new(&format!("SELECT {USER_COLUMNS} FROM users u WHERE 1 = 1"));
    if let Some(text) = query
        .query
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        // Characters, as the document's maxLength counts them, not bytes.
        if text.chars().count() > 200 {
            return Err(ApiError::invalid("query", "is longer than 200 characters"));
        }
        let escaped = text
            .to_lowercase()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        q.push(" AND u.search_text LIKE ")
            .bind(format!("%{escaped}%"))
            .push(" ESCAPE '\\'");
    }
    if let Some(role) = query.role {
        q.push(" AND u.role = ").bind(role.as_str().to_owned());
    }
    if let Some(status) = query.status {
        q.push(" AND u.status = ").bind(status.as_str().to_owned());
    }
    if let Some(ws) = query.workspace_id {
        q.push(
            " AND EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = u.id AND m.workspace_id = ",
        )
        .bind(ws)
        .push(")");
    }
    if query.group_id.is_some() {
        return Err(ApiError::invalid("group_id", "no such group"));
    }
    if let Some(cursor) = query.cursor.as_deref() {
        q.push(" AND u.id > ").bind(crate::cursor::decode(cursor)?);
    }
    q.push(" ORDER BY u.id LIMIT ").bind(limit + 1);
    let rows: Vec<UserRow> = sqlx::query_as_with(&q.sql, q.args)
        .fetch_all(&state.db.pool)
        .await?;
    let page = crate::cursor::paginate(rows, limit, |r| r.id.clone());
    let items = attach_workspaces(&state.db.pool, page.items).await?;
    Ok(Json(Page {
        items,
        next_cursor: page.next_cursor,
    }))
}

pub async fn changed_since(
    tx: &mut Tx,
    since: i64,
    fetch: i64,
) -> Result<Vec<SyncChange>, sqlx::Error> {
    let rows: Vec<UserRow> = sqlx::query_as(&format!(
        "SELECT {USER_COLUMNS} FROM users WHERE revision > $1 ORDER BY revision LIMIT $2"
    ))
    .bind(since)
    .bind(fetch)
    .fetch_all(&mut **tx)
    .await?;
    Ok(attach_workspaces(&mut **tx, rows)
        .await?
        .into_iter()
        .map(|u| SyncChange::upsert(SyncKind::User, u.id.clone(), u.revision, &u))
        .collect())
}
