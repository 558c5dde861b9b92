//! Users: storage and the `/admin/v1/users` handlers.

use std::collections::HashMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use gatehouse_api::{
    Page, Role, SyncChange, SyncKind, User, UserCreate, UserListQuery, UserPatch, UserStatus,
};
use serde_json::json;
use sqlx::FromRow;

use crate::AppState;
use crate::auth::Caller;
use crate::db::{self, Tx, next_revision};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::permissions::Permission;
use crate::sql::SqlText;
use crate::validate;

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
    if let Some(group) = query.group_id {
        q.push(
            " AND EXISTS (SELECT 1 FROM group_members g WHERE g.user_id = u.id AND g.group_id = ",
        )
        .bind(group)
        .push(")");
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
    let rows: Vec<UserRow> = gatehouse_store::feed::rows_since(
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

fn user_path_error() -> ApiError {
    ApiError::not_found("user")
}

/// Fails unless the caller has `permission` or is the user `id` themselves.
fn require_self_or(caller: &Caller, id: &str, permission: Permission, what: &str) -> ApiResult<()> {
    if caller.user_id == id {
        Ok(())
    } else {
        caller.require(permission, what)
    }
}

async fn get_in(tx: &mut Tx, id: &str) -> ApiResult<User> {
    let row: Option<UserRow> =
        sqlx::query_as(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"))
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?;
    let row = row.ok_or_else(user_path_error)?;
    Ok(attach_workspaces(&mut **tx, vec![row]).await?.remove(0))
}

/// One user
#[utoipa::path(
    get, path = "/admin/v1/users/{id}", tag = "users",
    params(("id" = String, Path, description = "User id")),
    responses(
        (status = 200, description = "The user", body = User),
        (status = 401, description = "No valid token", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Forbidden", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = gatehouse_api::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<User>> {
    require_self_or(&caller, &id, Permission::UsersRead, "read other users")?;
    Ok(Json(get(&state.db.pool, &id).await?))
}

/// Add an account directly
#[utoipa::path(
    post, path = "/admin/v1/users", tag = "users",
    request_body = UserCreate,
    responses(
        (status = 201, description = "The new user", body = User),
        (status = 401, description = "No valid token", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Forbidden", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The e-mail has an account, or no seat is free (`seat_limit_reached`)", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = gatehouse_api::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(input): ApiJson<UserCreate>,
) -> ApiResult<(StatusCode, Json<User>)> {
    caller.require(Permission::UsersWrite, "add users")?;
    let email = validate::email("email", &input.email)?;
    let first_name = validate::name("first_name", &input.first_name)?;
    let last_name = validate::name("last_name", &input.last_name)?;
    let password_hash = match input.password.as_deref() {
        Some(p) => {
            crate::password::validate("password", p)?;
            Some(crate::password::hash(p.to_owned()).await?)
        }
        None => None,
    };
    let mut tx = state.db.begin_write().await?;
    if exists_email(&mut tx, &email).await? {
        return Err(ApiError::new(
            gatehouse_api::ErrorCode::Conflict,
            format!("{email} already has an account."),
        ));
    }
    crate::workspaces::ensure_exist(&mut tx, &input.workspace_ids).await?;
    crate::org::check_seats(&mut tx, 1).await?;
    let id = insert(
        &mut tx,
        &NewUser {
            email,
            first_name,
            last_name,
            role: input.role,
            status: UserStatus::Active,
            workspace_ids: input.workspace_ids.clone(),
            password_hash: password_hash.clone(),
            created_at: db::now(),
            last_active_at: None,
        },
    )
    .await?;
    let user = get_in(&mut tx, &id).await?;
    crate::audit::record(
        &mut tx,
        Some(&caller.user_id),
        "user.created",
        "user",
        &id,
        json!({ "after": user }),
    )
    .await?;
    let reset = if password_hash.is_none() {
        Some(crate::reset::issue(&mut tx, &id).await?.0)
    } else {
        None
    };
    tx.commit().await?;
    if let Some(reset) = reset {
        let org = crate::org::get(&state.db.pool)
            .await?
            .map(|o| o.name)
            .unwrap_or_default();
        crate::reset::send(
            &state,
            crate::reset::Purpose::Welcome,
            &user.email,
            &user.first_name,
            &org,
            &reset,
        );
    }
    Ok((StatusCode::CREATED, Json(user)))
}

pub async fn exists_email(tx: &mut Tx, email: &str) -> Result<bool, sqlx::Error> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE email = $1")
        .bind(email)
        .fetch_one(&mut **tx)
        .await?;
    Ok(n > 0)
}

/// Writes `user`'s new fields and a fresh revision.
async fn update_row(tx: &mut Tx, user: &User, status: UserStatus) -> Result<(), sqlx::Error> {
    let revision = next_revision(tx).await?;
    let search = format!("{} {} {}", user.first_name, user.last_name, user.email).to_lowercase();
    sqlx::query(
        "UPDATE users SET first_name = $1, last_name = $2, role = $3, status = $4, search_text = $5, \
         updated_at = $6, revision = $7 WHERE id = $8",
    )
    .bind(&user.first_name)
    .bind(&user.last_name)
    .bind(user.role.as_str())
    .bind(status.as_str())
    .bind(search)
    .bind(db::now())
    .bind(revision)
    .bind(&user.id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Edit a user's name or role
#[utoipa::path(
    patch, path = "/admin/v1/users/{id}", tag = "users",
    params(("id" = String, Path, description = "User id")),
    request_body = UserPatch,
    responses(
        (status = 200, description = "The changed user", body = User),
        (status = 401, description = "No valid token", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Forbidden", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The last admin may not be demoted", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = gatehouse_api::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn patch(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<UserPatch>,
) -> ApiResult<Json<User>> {
    // Everyone edits their own name; roles and other people need users.write.
    if input.role.is_some() || caller.user_id != id {
        caller.require(Permission::UsersWrite, "edit users or roles")?;
    }
    let first_name = input
        .first_name
        .as_deref()
        .map(|v| validate::name("first_name", v))
        .transpose()?;
    let last_name = input
        .last_name
        .as_deref()
        .map(|v| validate::name("last_name", v))
        .transpose()?;
    let mut tx = state.db.begin_write().await?;
    let before = get_in(&mut tx, &id).await?;
    // Nobody changes their own role: an admin demoting themselves by a slip locks themselves out.
    if caller.user_id == id && input.role.is_some_and(|r| r != before.role) {
        return Err(ApiError::new(
            gatehouse_api::ErrorCode::Conflict,
            "You cannot change your own role; ask another admin.",
        ));
    }
    let mut after = before.clone();
    if let Some(v) = first_name {
        after.first_name = v;
    }
    if let Some(v) = last_name {
        after.last_name = v;
    }
    if let Some(v) = input.role {
        after.role = v;
    }
    update_row(&mut tx, &after, before.status).await?;
    let lowered = if after.role < before.role {
        crate::workspaces::cap_roles(&mut tx, &id, after.role).await?
    } else {
        Vec::new()
    };
    let after = get_in(&mut tx, &id).await?;
    let mut details = json!({ "before": before, "after": after });
    if !lowered.is_empty() {
        details["workspace_roles_lowered"] = json!(lowered);
    }
    crate::audit::record(
        &mut tx,
        Some(&caller.user_id),
        "user.updated",
        "user",
        &id,
        details,
    )
    .await?;
    tx.commit().await?;
    Ok(Json(after))
}

/// Removes an account and everything that hangs on it (memberships, group memberships, grants,
/// limits, budget, API keys, tokens); usage and audit history stay.
async fn remove_account(tx: &mut Tx, id: &str) -> Result<(), sqlx::Error> {
    let memberships: Vec<(String,)> =
        sqlx::query_as("SELECT workspace_id FROM memberships WHERE user_id = $1")
            .bind(id)
            .fetch_all(&mut **tx)
            .await?;
    for (ws,) in memberships {
        crate::audit::tombstone(tx, SyncKind::Membership, &format!("{ws}:{id}")).await?;
    }
    let groups: Vec<(String,)> =
        sqlx::query_as("SELECT group_id FROM group_members WHERE user_id = $1")
            .bind(id)
            .fetch_all(&mut **tx)
            .await?;
    for (group,) in groups {
        crate::audit::tombstone(tx, SyncKind::GroupMember, &format!("{group}:{id}")).await?;
    }
    let grants: Vec<(String,)> = sqlx::query_as(
        "SELECT model_id FROM grants WHERE subject_kind = 'user' AND subject_id = $1",
    )
    .bind(id)
    .fetch_all(&mut **tx)
    .await?;
    for (model,) in grants {
        crate::audit::tombstone(tx, SyncKind::Grant, &format!("user:{id}:{model}")).await?;
    }
    let keys: Vec<(String,)> = sqlx::query_as("SELECT id FROM api_keys WHERE user_id = $1")
        .bind(id)
        .fetch_all(&mut **tx)
        .await?;
    for (key,) in keys {
        crate::audit::tombstone(tx, SyncKind::ApiKey, &key).await?;
    }
    crate::audit::tombstone(tx, SyncKind::Limit, &format!("user:{id}")).await?;
    crate::audit::tombstone(tx, SyncKind::Budget, &format!("user:{id}")).await?;
    crate::audit::tombstone(tx, SyncKind::User, id).await?;
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

/// Delete a user; usage and audit history stay
#[utoipa::path(
    delete, path = "/admin/v1/users/{id}", tag = "users",
    params(("id" = String, Path, description = "User id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No valid token", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Forbidden", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The caller or the last admin", body = gatehouse_api::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    caller.require(Permission::UsersLifecycle, "delete users")?;
    if caller.user_id == id {
        return Err(ApiError::new(
            gatehouse_api::ErrorCode::Conflict,
            "You cannot delete your own account.",
        ));
    }
    let mut tx = state.db.begin_write().await?;
    let before = get_in(&mut tx, &id).await?;
    remove_account(&mut tx, &id).await?;
    crate::audit::record(
        &mut tx,
        Some(&caller.user_id),
        "user.deleted",
        "user",
        &id,
        json!({ "before": before }),
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The lifecycle steps: which status each starts from and ends in.
#[derive(Debug, Clone, Copy)]
enum Step {
    Suspend,
    Reactivate,
    Approve,
    Decline,
}

impl Step {
    fn from(self) -> UserStatus {
        match self {
            Self::Suspend => UserStatus::Active,
            Self::Reactivate => UserStatus::Suspended,
            Self::Approve | Self::Decline => UserStatus::Pending,
        }
    }

    fn action(self) -> &'static str {
        match self {
            Self::Suspend => "user.suspended",
            Self::Reactivate => "user.reactivated",
            Self::Approve => "user.approved",
            Self::Decline => "user.declined",
        }
    }
}

async fn lifecycle(
    state: &AppState,
    caller: &Caller,
    id: &str,
    step: Step,
) -> ApiResult<Option<User>> {
    caller.require(Permission::UsersLifecycle, "change a user's status")?;
    if caller.user_id == id {
        return Err(ApiError::new(
            gatehouse_api::ErrorCode::Conflict,
            "You cannot change your own status.",
        ));
    }
    let mut tx = state.db.begin_write().await?;
    let before = get_in(&mut tx, id).await?;
    if before.status != step.from() {
        return Err(ApiError::new(
            gatehouse_api::ErrorCode::Conflict,
            format!(
                "The user is {}; only {} users can be {}.",
                before.status.as_str(),
                step.from().as_str(),
                &step.action()[5..]
            ),
        ));
    }
    let mut sessions_revoked = None;
    let after = match step {
        Step::Decline => {
            remove_account(&mut tx, id).await?;
            None
        }
        Step::Suspend => {
            update_row(&mut tx, &before, UserStatus::Suspended).await?;
            // Sessions end for good, rather than being refused while suspended, so that
            // reactivation does not revive them. Personal access tokens and API keys stay: they
            // are refused while suspended and were made on purpose.
            sessions_revoked =
                Some(crate::auth::revoke(&mut tx, id, crate::auth::KIND_SESSION).await?);
            Some(get_in(&mut tx, id).await?)
        }
        Step::Approve => {
            // A pending account already holds a seat; approval fails only when the limit was
            // lowered below what is in use.
            crate::org::check_seats(&mut tx, 0).await?;
            update_row(&mut tx, &before, UserStatus::Active).await?;
            Some(get_in(&mut tx, id).await?)
        }
        Step::Reactivate => {
            update_row(&mut tx, &before, UserStatus::Active).await?;
            Some(get_in(&mut tx, id).await?)
        }
    };
    crate::audit::record(
        &mut tx,
        Some(&caller.user_id),
        step.action(),
        "user",
        id,
        match sessions_revoked {
            Some(n) => json!({ "before": before, "after": after, "sessions_revoked": n }),
            None => json!({ "before": before, "after": after }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

macro_rules! lifecycle_handler {
    ($name:ident, $step:expr, $path:literal, $summary:literal) => {
        #[doc = $summary]
        #[utoipa::path(
            post, path = $path, tag = "users",
            params(("id" = String, Path, description = "User id")),
            responses(
                (status = 200, description = "The user after the step", body = User),
                (status = 401, description = "No valid token", body = gatehouse_api::Problem, content_type = "application/problem+json"),
                (status = 403, description = "Forbidden", body = gatehouse_api::Problem, content_type = "application/problem+json"),
                (status = 404, description = "No such user", body = gatehouse_api::Problem, content_type = "application/problem+json"),
                (status = 409, description = "Not in the status this step starts from, the caller, the last admin, or no seat (`seat_limit_reached`)", body = gatehouse_api::Problem, content_type = "application/problem+json"),
            ),
            security(("bearer" = []))
        )]
        pub async fn $name(
            State(state): State<AppState>,
            caller: Caller,
            ApiPath(id): ApiPath<String>,
        ) -> ApiResult<Json<User>> {
            let user = lifecycle(&state, &caller, &id, $step).await?;
            Ok(Json(user.expect("only decline removes the account")))
        }
    };
}

lifecycle_handler!(
    suspend,
    Step::Suspend,
    "/admin/v1/users/{id}/suspend",
    "Suspend a user: blocks sign-in and every token and key at once"
);
lifecycle_handler!(
    reactivate,
    Step::Reactivate,
    "/admin/v1/users/{id}/reactivate",
    "Reactivate a suspended user"
);
lifecycle_handler!(
    approve,
    Step::Approve,
    "/admin/v1/users/{id}/approve",
    "Approve a pending user"
);

/// Decline a pending user: the account is removed
#[utoipa::path(
    post, path = "/admin/v1/users/{id}/decline", tag = "users",
    params(("id" = String, Path, description = "User id")),
    responses(
        (status = 204, description = "Declined and removed"),
        (status = 401, description = "No valid token", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Forbidden", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The user is not pending", body = gatehouse_api::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn decline(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    lifecycle(&state, &caller, &id, Step::Decline).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn ensure_exists(tx: &mut Tx, id: &str) -> ApiResult<()> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE id = $1")
        .bind(id)
        .fetch_one(&mut **tx)
        .await?;
    if n == 0 {
        Err(user_path_error())
    } else {
        Ok(())
    }
}
