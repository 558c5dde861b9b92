//! Groups: shared grants, limits and budgets for their members, and managers who look after them.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use gatehouse_api::{
    ErrorCode, Group, GroupCreate, GroupMember, GroupMemberRole, GroupPatch, GroupRole, ListQuery,
    Page, SyncKind,
};
use gatehouse_store::groups as store;
use serde_json::json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Caller;
use crate::db::Tx;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::permissions::Permission;
use crate::{AppState, audit, cursor, validate};

pub use gatehouse_store::groups::{
    GroupMemberRow, GroupRow, changed_since, insert, managed_over, manages, members_changed_since,
    role_of,
};

pub async fn get_in(tx: &mut Tx, id: &str) -> ApiResult<Group> {
    store::get_in(tx, id)
        .await?
        .ok_or_else(|| ApiError::not_found("group"))
}

/// Every group
#[utoipa::path(
    get, path = "/admin/v1/groups", tag = "groups",
    params(ListQuery),
    responses(
        (status = 200, description = "One page of groups", body = Page<Group>),
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
) -> ApiResult<Json<Page<Group>>> {
    caller.require(Permission::GroupsRead, "list groups")?;
    let limit = gatehouse_api::page_limit(query.limit)?;
    let after = query.cursor.as_deref().map(cursor::decode).transpose()?;
    let rows = store::list(&state.db.pool, after, limit + 1).await?;
    let page = cursor::paginate(rows, limit, |r| r.id.clone());
    Ok(Json(Page {
        items: page.items.into_iter().map(GroupRow::into_api).collect(),
        next_cursor: page.next_cursor,
    }))
}

async fn require_read(state: &AppState, caller: &Caller, id: &str) -> ApiResult<()> {
    if caller.allows(Permission::GroupsRead) || manages(&state.db.pool, &caller.user_id, id).await?
    {
        Ok(())
    } else {
        Err(ApiError::forbidden("read this group"))
    }
}

/// One group
#[utoipa::path(
    get, path = "/admin/v1/groups/{id}", tag = "groups",
    params(("id" = String, Path, description = "Group id")),
    responses(
        (status = 200, description = "The group", body = Group),
        (status = 401, description = "No valid token", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Forbidden", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such group", body = gatehouse_api::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Group>> {
    require_read(&state, &caller, &id).await?;
    let mut tx = state.db.begin_read().await?;
    let g = get_in(&mut tx, &id).await?;
    tx.commit().await?;
    Ok(Json(g))
}

/// Create a group
#[utoipa::path(
    post, path = "/admin/v1/groups", tag = "groups",
    request_body = GroupCreate,
    responses(
        (status = 201, description = "The new group", body = Group),
        (status = 401, description = "No valid token", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Forbidden", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The name is taken", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = gatehouse_api::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(input): ApiJson<GroupCreate>,
) -> ApiResult<(StatusCode, Json<Group>)> {
    caller.require(Permission::GroupsWrite, "create groups")?;
    let name = validate::text("name", &input.name, 1, 100)?;
    let description = validate::text(
        "description",
        input.description.as_deref().unwrap_or(""),
        0,
        1000,
    )?;
    let mut tx = state.db.begin_write().await?;
    if store::name_taken(&mut tx, &name, "").await? {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!("A group named {name:?} exists."),
        ));
    }
    let id = store::insert(&mut tx, &name, &description).await?;
    let group = get_in(&mut tx, &id).await?;
    audit::record(
        &mut tx,
        Some(&caller.user_id),
        "group.created",
        "group",
        &id,
        json!({ "after": group }),
    )
    .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(group)))
}

/// Rename a group or change its description
#[utoipa::path(
    patch, path = "/admin/v1/groups/{id}", tag = "groups",
    params(("id" = String, Path, description = "Group id")),
    request_body = GroupPatch,
    responses(
        (status = 200, description = "The changed group", body = Group),
        (status = 401, description = "No valid token", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Forbidden", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such group", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The name is taken", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = gatehouse_api::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn patch(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<GroupPatch>,
) -> ApiResult<Json<Group>> {
    caller.require(Permission::GroupsWrite, "change groups")?;
    let name = input
        .name
        .as_deref()
        .map(|n| validate::text("name", n, 1, 100))
        .transpose()?;
    let description = input
        .description
        .as_deref()
        .map(|d| validate::text("description", d, 0, 1000))
        .transpose()?;
    let mut tx = state.db.begin_write().await?;
    let before = get_in(&mut tx, &id).await?;
    if let Some(name) = &name
        && store::name_taken(&mut tx, name, &id).await?
    {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!("A group named {name:?} exists."),
        ));
    }
    store::update(
        &mut tx,
        &id,
        name.as_deref().unwrap_or(&before.name),
        description.as_deref().unwrap_or(&before.description),
    )
    .await?;
    let after = get_in(&mut tx, &id).await?;
    audit::record(
        &mut tx,
        Some(&caller.user_id),
        "group.updated",
        "group",
        &id,
        json!({ "before": before, "after": after }),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(after))
}

/// Delete a group with its memberships, grants, limits and budget
#[utoipa::path(
    delete, path = "/admin/v1/groups/{id}", tag = "groups",
    params(("id" = String, Path, description = "Group id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No valid token", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Forbidden", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such group", body = gatehouse_api::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    caller.require(Permission::GroupsWrite, "delete groups")?;
    let mut tx = state.db.begin_write().await?;
    let before = get_in(&mut tx, &id).await?;
    remove_group(&mut tx, &id).await?;
    audit::record(
        &mut tx,
        Some(&caller.user_id),
        "group.deleted",
        "group",
        &id,
        json!({ "before": before }),
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Add a user to a group or change their role there
#[utoipa::path(
    put, path = "/admin/v1/groups/{id}/members/{user_id}", tag = "groups",
    params(("id" = String, Path, description = "Group id"), ("user_id" = String, Path, description = "User id")),
    request_body = GroupMemberRole,
    responses(
        (status = 200, description = "The membership", body = GroupMember),
        (status = 401, description = "No valid token", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Forbidden; managers may add members, not managers", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such group or user", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid role", body = gatehouse_api::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn put_member(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((id, user_id)): ApiPath<(String, String)>,
    ApiJson(input): ApiJson<GroupMemberRole>,
) -> ApiResult<Json<GroupMember>> {
    if !caller.allows(Permission::GroupsWrite) {
        // Managers look after the members an admin put in the group. Adding someone would put
        // anyone in the org (an admin included) within their reach, so only groups.write adds;
        // and only admins make managers, so a manager neither demotes a co-manager (who could
        // then be removed) nor changes their own membership.
        if input.role == GroupRole::Manager
            || !manages(&state.db.pool, &caller.user_id, &id).await?
        {
            return Err(ApiError::forbidden("manage this group's members"));
        }
        match role_of(&state.db.pool, &id, &user_id).await?.as_deref() {
            None => return Err(ApiError::forbidden("add people to this group")),
            Some("member") if user_id != caller.user_id => {}
            Some(_) => return Err(ApiError::forbidden("change a manager's membership")),
        }
    }
    let mut tx = state.db.begin_write().await?;
    get_in(&mut tx, &id).await?;
    crate::users::ensure_exists(&mut tx, &user_id).await?;
    let revision = store::put_member(&mut tx, &id, &user_id, input.role).await?;
    let member = GroupMember {
        group_id: id.clone(),
        user_id: user_id.clone(),
        role: input.role,
        revision,
    };
    let sync_id = format!("{id}:{user_id}");
    audit::record(
        &mut tx,
        Some(&caller.user_id),
        "group.member_set",
        "group_member",
        &sync_id,
        json!({ "after": member }),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(member))
}

/// Remove a user from a group
#[utoipa::path(
    delete, path = "/admin/v1/groups/{id}/members/{user_id}", tag = "groups",
    params(("id" = String, Path, description = "Group id"), ("user_id" = String, Path, description = "User id")),
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
    if !caller.allows(Permission::GroupsWrite)
        && !manages(&state.db.pool, &caller.user_id, &id).await?
    {
        return Err(ApiError::forbidden("manage this group's members"));
    }
    let mut tx = state.db.begin_write().await?;
    let role = role_of(&mut *tx, &id, &user_id)
        .await?
        .ok_or_else(|| ApiError::not_found("group member"))?;
    if role == "manager" && !caller.allows(Permission::GroupsWrite) {
        return Err(ApiError::forbidden("remove a group's manager"));
    }
    let revoked = remove_member(&mut tx, &id, &user_id).await?;
    let sync_id = format!("{id}:{user_id}");
    audit::record(
        &mut tx,
        Some(&caller.user_id),
        "group.member_removed",
        "group_member",
        &sync_id,
        json!({ "role": role, "grants_revoked": revoked }),
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Deletes group `id` with its memberships, the grants given through it, its limits and budget,
/// marking each deleted for the change feed.
pub(crate) async fn remove_group(tx: &mut Tx, id: &str) -> ApiResult<()> {
    let (members, granted_model_ids) = store::dependents(tx, id).await?;
    for user in members {
        audit::tombstone(tx, SyncKind::GroupMember, &format!("{id}:{user}")).await?;
    }
    for model in granted_model_ids {
        audit::tombstone(tx, SyncKind::Grant, &format!("group:{id}:{model}")).await?;
    }
    crate::policy::revoke_given_through(tx, id, None).await?;
    audit::tombstone(tx, SyncKind::Limit, &format!("group:{id}")).await?;
    audit::tombstone(tx, SyncKind::Budget, &format!("group:{id}")).await?;
    audit::tombstone(tx, SyncKind::Group, id).await?;
    store::delete(tx, id).await?;
    Ok(())
}

/// Takes `user_id` out of group `group_id`, and the grants a manager gave them through it;
/// returns the models of those grants.
pub(crate) async fn remove_member(
    tx: &mut Tx,
    group_id: &str,
    user_id: &str,
) -> ApiResult<Vec<String>> {
    store::delete_member(tx, group_id, user_id).await?;
    audit::tombstone(tx, SyncKind::GroupMember, &format!("{group_id}:{user_id}")).await?;
    Ok(crate::policy::revoke_given_through(tx, group_id, Some(user_id)).await?)
}

/// This module's operations, which the gateway's router merges with the others'.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(show, patch, delete))
        .routes(routes!(put_member, delete_member))
}
