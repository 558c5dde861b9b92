//! Workspaces and their memberships.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use gatehouse_api::{
    ErrorCode, ListQuery, MemberRole, Membership, Page, Role, SyncKind, Workspace, WorkspaceCreate,
    WorkspacePatch,
};
use gatehouse_store::workspaces as store;
use serde_json::json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Caller;
use crate::db::Tx;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::permissions::{self, Permission};
use crate::{AppState, audit, cursor, validate};

pub use gatehouse_store::workspaces::{
    MembershipRow, WORKSPACE_SELECT, WorkspaceRow, cap_roles, changed_since, insert,
    memberships_changed_since, put_member,
};

/// Fails with `validation_failed` unless every id names a workspace.
pub async fn ensure_exist(tx: &mut Tx, ids: &[String]) -> ApiResult<()> {
    for id in ids {
        if !store::exists(tx, id).await? {
            return Err(ApiError::invalid(
                "workspace_ids",
                format!("no workspace {id}"),
            ));
        }
    }
    Ok(())
}

async fn get_in(tx: &mut Tx, id: &str) -> ApiResult<Workspace> {
    store::get_in(tx, id)
        .await?
        .ok_or_else(|| ApiError::not_found("workspace"))
}

/// The caller's role in a workspace: the higher of their org role and their role there.
async fn role_in(
    state: &AppState,
    caller: &Caller,
    workspace_id: &str,
) -> Result<Role, sqlx::Error> {
    let role = store::role_of(&state.db.pool, workspace_id, &caller.user_id).await?;
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
    let limit = gatehouse_api::page_limit(query.limit)?;
    let after = query.cursor.as_deref().map(cursor::decode).transpose()?;
    let rows = store::list(&state.db.pool, after, limit + 1).await?;
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
    if store::slug_taken(&mut tx, &slug, "").await? {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!("The slug {slug} is taken."),
        ));
    }
    let id = store::insert(&mut tx, &name, &slug).await?;
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
        && store::slug_taken(&mut tx, slug, &id).await?
    {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!("The slug {slug} is taken."),
        ));
    }
    store::update(
        &mut tx,
        &id,
        name.as_deref().unwrap_or(&before.name),
        slug.as_deref().unwrap_or(&before.slug),
    )
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
    for user in store::member_ids(&mut tx, &id).await? {
        audit::tombstone(&mut tx, SyncKind::Membership, &format!("{id}:{user}")).await?;
    }
    store::delete(&mut tx, &id).await?;
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
    store::put_member(&mut tx, &id, &user_id, input.role).await?;
    let membership = store::member(&mut tx, &id, &user_id).await?;
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
    if !store::delete_member(&mut tx, &id, &user_id).await? {
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

/// This module's operations, which the gateway's router merges with the others'.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(show, patch, delete))
        .routes(routes!(put_member_handler, delete_member))
}
