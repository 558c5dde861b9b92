//! Workspaces and their memberships.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use gatehouse_api::{
    ErrorCode, ListQuery, MemberRole, Membership, Page, Role, SyncChange, SyncKind, Workspace,
    WorkspaceCreate, WorkspacePatch,
};
use serde_json::json;
use sqlx::FromRow;

use crate::auth::Caller;
use crate::db::{self, Tx, next_revision};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::permissions::{self, Permission};
use crate::sql::SqlText;
use crate::{AppState, audit, cursor, validate};

#[derive(Debug, FromRow)]
pub struct WorkspaceRow {
    pub id: String,
    pub name: String,
    pub slug: String,
    pub created_at: String,
    pub revision: i64,
    pub member_count: i64,
}

impl WorkspaceRow {
    pub fn into_api(self) -> Workspace {
        Workspace {
            id: self.id,
            name: self.name,
            slug: self.slug,
            member_count: self.member_count,
            created_at: db::parse_timestamp(&self.created_at),
            revision: self.revision,
        }
    }
}

pub const WORKSPACE_SELECT: &str = "SELECT w.id, w.name, w.slug, w.created_at, w.revision, \
     (SELECT COUNT(*) FROM memberships m WHERE m.workspace_id = w.id) AS member_count FROM workspaces w";

pub async fn insert(tx: &mut Tx, name: &str, slug: &str) -> Result<String, sqlx::Error> {
    let id = crate::new_id("ws");
    let revision = next_revision(tx).await?;
    sqlx::query(
        "INSERT INTO workspaces (id, name, slug, created_at, revision) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&id)
    .bind(name)
    .bind(slug)
    .bind(db::now())
    .bind(revision)
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

/// Adds `user_id` to `workspace_id` with `role`, or changes the role of an existing member.
pub async fn put_member(
    tx: &mut Tx,
    workspace_id: &str,
    user_id: &str,
    role: Role,
) -> Result<(), sqlx::Error> {
    let revision = next_revision(tx).await?;
    sqlx::query(
        "INSERT INTO memberships (workspace_id, user_id, role, revision) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (workspace_id, user_id) DO UPDATE SET role = excluded.role, revision = excluded.revision",
    )
    .bind(workspace_id)
    .bind(user_id)
    .bind(role.as_str())
    .bind(revision)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Lowers `user_id`'s role in every workspace where it is above `role` down to `role`; returns
/// those workspaces. A demotion calls it: memberships made at invitation or creation carry the
/// org role of that day, and the higher of the two roles counts in a workspace, so without this
/// a demoted admin would stay an admin wherever they had been a member.
pub async fn cap_roles(tx: &mut Tx, user_id: &str, role: Role) -> Result<Vec<String>, sqlx::Error> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT workspace_id, role FROM memberships WHERE user_id = $1 ORDER BY workspace_id",
    )
    .bind(user_id)
    .fetch_all(&mut **tx)
    .await?;
    let mut lowered = Vec::new();
    for (workspace_id, current) in rows {
        if Role::parse(&current).is_none_or(|r| r > role) {
            put_member(tx, &workspace_id, user_id, role).await?;
            lowered.push(workspace_id);
        }
    }
    Ok(lowered)
}

#[derive(Debug, FromRow)]
pub struct MembershipRow {
    pub workspace_id: String,
    pub user_id: String,
    pub role: String,
    pub revision: i64,
}

impl MembershipRow {
    /// The id a membership has in the change feed.
    pub fn sync_id(&self) -> String {
        format!("{}:{}", self.workspace_id, self.user_id)
    }

    pub fn into_api(self) -> Membership {
        Membership {
            role: Role::parse(&self.role).unwrap_or(Role::Member),
            workspace_id: self.workspace_id,
            user_id: self.user_id,
            revision: self.revision,
        }
    }
}

pub async fn changed_since(
    tx: &mut Tx,
    since: i64,
    fetch: i64,
) -> Result<Vec<SyncChange>, sqlx::Error> {
    let rows: Vec<WorkspaceRow> =
        gatehouse_store::feed::rows_since(tx, WORKSPACE_SELECT, "w.revision", since, fetch).await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let ws = r.into_api();
            SyncChange::upsert(SyncKind::Workspace, ws.id.clone(), ws.revision, &ws)
        })
        .collect())
}

pub async fn memberships_changed_since(
    tx: &mut Tx,
    since: i64,
    fetch: i64,
) -> Result<Vec<SyncChange>, sqlx::Error> {
    let rows: Vec<MembershipRow> = gatehouse_store::feed::rows_since(
        tx,
        "SELECT workspace_id, user_id, role, revision FROM memberships",
        "revision",
        since,
        fetch,
    )
    .await?;
    Ok(rows
        .into_iter()
        .map(|m| SyncChange::upsert(SyncKind::Membership, m.sync_id(), m.revision, &m.into_api()))
        .collect())
}

/// Fails with `validation_failed` unless every id names a workspace.
pub async fn ensure_exist(tx: &mut Tx, ids: &[String]) -> ApiResult<()> {
    for id in ids {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM workspaces WHERE id = $1")
            .bind(id)
            .fetch_one(&mut **tx)
            .await?;
        if n == 0 {
            return Err(ApiError::invalid(
                "workspace_ids",
                format!("no workspace {id}"),
            ));
        }
    }
    Ok(())
}

async fn get_in(tx: &mut Tx, id: &str) -> ApiResult<Workspace> {
    let row: Option<WorkspaceRow> = sqlx::query_as(&format!("{WORKSPACE_SELECT} WHERE w.id = $1"))
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(row
        .ok_or_else(|| ApiError::not_found("workspace"))?
        .into_api())
}

/// The caller's role in a workspace: the higher of their org role and their role there.
async fn role_in(
    state: &AppState,
    caller: &Caller,
    workspace_id: &str,
) -> Result<Role, sqlx::Error> {
    let role: Option<String> =
        sqlx::query_scalar("SELECT role FROM memberships WHERE workspace_id = $1 AND user_id = $2")
            .bind(workspace_id)
            .bind(&caller.user_id)
            .fetch_optional(&state.db.pool)
            .await?;
    Ok(role
        .and_then(|r| Role::parse(&r))
        .map_or(caller.role, |r| r.max(caller.role)))
}

async fn require_in(
    state: &AppState,
    caller: &Caller,
    workspace_id: &str,
    what: &str,
) -> ApiResult<()> {
    if permissions::allows(
        role_in(state, caller, workspace_id).await?,
        Permission::WorkspacesWrite,
    ) {
        Ok(())
    } else {
        Err(ApiError::forbidden(what))
    }
}

/// Every workspace
#[utoipa::path(
    get, path = "/admin/v1/workspaces", tag = "workspaces",
    params(ListQuery),
    responses(
        (status = 200, description = "One page of workspaces", body = Page<Workspace>),
        (status = 401, description = "No valid token", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Forbidden", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A bad parameter", body = gatehouse_api::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> ApiResult<Json<Page<Workspace>>> {
    caller.require(Permission::WorkspacesRead, "list workspaces")?;
    let limit = crate::users::page_limit(query.limit)?;
    let mut q = SqlText::new(&format!("{WORKSPACE_SELECT} WHERE 1 = 1"));
    if let Some(cursor) = query.cursor.as_deref() {
        q.push(" AND w.id > ").bind(cursor::decode(cursor)?);
    }
    q.push(" ORDER BY w.id LIMIT ").bind(limit + 1);
    let rows: Vec<WorkspaceRow> = sqlx::query_as_with(&q.sql, q.args)
        .fetch_all(&state.db.pool)
        .await?;
    let page = cursor::paginate(rows, limit, |r| r.id.clone());
    Ok(Json(Page {
        items: page.items.into_iter().map(WorkspaceRow::into_api).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// One workspace
#[utoipa::path(
    get, path = "/admin/v1/workspaces/{id}", tag = "workspaces",
    params(("id" = String, Path, description = "Workspace id")),
    responses(
        (status = 200, description = "The workspace", body = Workspace),
        (status = 401, description = "No valid token", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Forbidden", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such workspace", body = gatehouse_api::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Workspace>> {
    caller.require(Permission::WorkspacesRead, "read workspaces")?;
    let mut tx = state.db.begin_read().await?;
    let ws = get_in(&mut tx, &id).await?;
    tx.commit().await?;
    Ok(Json(ws))
}

async fn slug_taken(tx: &mut Tx, slug: &str, except: &str) -> Result<bool, sqlx::Error> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM workspaces WHERE slug = $1 AND id <> $2")
        .bind(slug)
        .bind(except)
        .fetch_one(&mut **tx)
        .await?;
    Ok(n > 0)
}

/// Create a workspace
#[utoipa::path(
    post, path = "/admin/v1/workspaces", tag = "workspaces",
    request_body = WorkspaceCreate,
    responses(
        (status = 201, description = "The new workspace", body = Workspace),
        (status = 401, description = "No valid token", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Forbidden", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The slug is taken", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = gatehouse_api::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(input): ApiJson<WorkspaceCreate>,
) -> ApiResult<(StatusCode, Json<Workspace>)> {
    caller.require(Permission::WorkspacesWrite, "create workspaces")?;
    let name = validate::text("name", &input.name, 1, 100)?;
    let slug = match input.slug.as_deref() {
        Some(s) => validate::slug("slug", s)?,
        None => validate::slug_from(&name),
    };
    let mut tx = state.db.begin_write().await?;
    if slug_taken(&mut tx, &slug, "").await? {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!("The slug {slug} is taken."),
        ));
    }
    let id = insert(&mut tx, &name, &slug).await?;
    let ws = get_in(&mut tx, &id).await?;
    audit::record(
        &mut tx,
        Some(&caller.user_id),
        "workspace.created",
        "workspace",
        &id,
        json!({ "after": ws }),
    )
    .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(ws)))
}

/// Rename a workspace or change its slug
#[utoipa::path(
    patch, path = "/admin/v1/workspaces/{id}", tag = "workspaces",
    params(("id" = String, Path, description = "Workspace id")),
    request_body = WorkspacePatch,
    responses(
        (status = 200, description = "The changed workspace", body = Workspace),
        (status = 401, description = "No valid token", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Forbidden", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such workspace", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The slug is taken", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = gatehouse_api::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn patch(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<WorkspacePatch>,
) -> ApiResult<Json<Workspace>> {
    require_in(&state, &caller, &id, "change this workspace").await?;
    let name = input
        .name
        .as_deref()
        .map(|n| validate::text("name", n, 1, 100))
        .transpose()?;
    let slug = input
        .slug
        .as_deref()
        .map(|s| validate::slug("slug", s))
        .transpose()?;
    let mut tx = state.db.begin_write().await?;
    let before = get_in(&mut tx, &id).await?;
    if let Some(slug) = &slug
        && slug_taken(&mut tx, slug, &id).await?
    {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!("The slug {slug} is taken."),
        ));
    }
    let revision = next_revision(&mut tx).await?;
    sqlx::query("UPDATE workspaces SET name = $1, slug = $2, revision = $3 WHERE id = $4")
        .bind(name.unwrap_or_else(|| before.name.clone()))
        .bind(slug.unwrap_or_else(|| before.slug.clone()))
        .bind(revision)
        .bind(&id)
        .execute(&mut *tx)
        .await?;
    let after = get_in(&mut tx, &id).await?;
    audit::record(
        &mut tx,
        Some(&caller.user_id),
        "workspace.updated",
        "workspace",
        &id,
        json!({ "before": before, "after": after }),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(after))
}

/// Delete a workspace and its memberships
#[utoipa::path(
    delete, path = "/admin/v1/workspaces/{id}", tag = "workspaces",
    params(("id" = String, Path, description = "Workspace id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No valid token", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Forbidden", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such workspace", body = gatehouse_api::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    caller.require(Permission::WorkspacesWrite, "delete workspaces")?;
    let mut tx = state.db.begin_write().await?;
    let before = get_in(&mut tx, &id).await?;
    let members: Vec<(String,)> =
        sqlx::query_as("SELECT user_id FROM memberships WHERE workspace_id = $1")
            .bind(&id)
            .fetch_all(&mut *tx)
            .await?;
    for (user,) in &members {
        audit::tombstone(&mut tx, SyncKind::Membership, &format!("{id}:{user}")).await?;
    }
    sqlx::query("DELETE FROM memberships WHERE workspace_id = $1")
        .bind(&id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM workspaces WHERE id = $1")
        .bind(&id)
        .execute(&mut *tx)
        .await?;
    audit::tombstone(&mut tx, SyncKind::Workspace, &id).await?;
    audit::record(
        &mut tx,
        Some(&caller.user_id),
        "workspace.deleted",
        "workspace",
        &id,
        json!({ "before": before }),
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Add a user to a workspace, or change their role there
#[utoipa::path(
    put, path = "/admin/v1/workspaces/{id}/members/{user_id}", tag = "workspaces",
    params(("id" = String, Path, description = "Workspace id"), ("user_id" = String, Path, description = "User id")),
    request_body = MemberRole,
    responses(
        (status = 200, description = "The membership", body = Membership),
        (status = 401, description = "No valid token", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Forbidden", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such workspace or user", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid role", body = gatehouse_api::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn put_member_handler(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((id, user_id)): ApiPath<(String, String)>,
    ApiJson(input): ApiJson<MemberRole>,
) -> ApiResult<Json<Membership>> {
    require_in(&state, &caller, &id, "manage this workspace's members").await?;
    // Nobody hands out a higher workspace role than their own there.
    if input.role > role_in(&state, &caller, &id).await? {
        return Err(ApiError::forbidden("grant a role higher than your own"));
    }
    let mut tx = state.db.begin_write().await?;
    get_in(&mut tx, &id).await?;
    crate::users::ensure_exists(&mut tx, &user_id).await?;
    put_member(&mut tx, &id, &user_id, input.role).await?;
    let row: MembershipRow =
        sqlx::query_as("SELECT workspace_id, user_id, role, revision FROM memberships WHERE workspace_id = $1 AND user_id = $2")
            .bind(&id)
            .bind(&user_id)
            .fetch_one(&mut *tx)
            .await?;
    let membership = row.into_api();
    audit::record(
        &mut tx,
        Some(&caller.user_id),
        "workspace.member_set",
        "membership",
        &format!("{id}:{user_id}"),
        json!({ "after": membership }),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(membership))
}

/// Remove a user from a workspace
#[utoipa::path(
    delete, path = "/admin/v1/workspaces/{id}/members/{user_id}", tag = "workspaces",
    params(("id" = String, Path, description = "Workspace id"), ("user_id" = String, Path, description = "User id")),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, description = "No valid token", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Forbidden", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not a member", body = gatehouse_api::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn delete_member(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((id, user_id)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    require_in(&state, &caller, &id, "manage this workspace's members").await?;
    let mut tx = state.db.begin_write().await?;
    let removed = sqlx::query("DELETE FROM memberships WHERE workspace_id = $1 AND user_id = $2")
        .bind(&id)
        .bind(&user_id)
        .execute(&mut *tx)
        .await?;
    if removed.rows_affected() == 0 {
        return Err(ApiError::not_found("membership"));
    }
    let sync_id = format!("{id}:{user_id}");
    audit::tombstone(&mut tx, SyncKind::Membership, &sync_id).await?;
    audit::record(
        &mut tx,
        Some(&caller.user_id),
        "workspace.member_removed",
        "membership",
        &sync_id,
        json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
