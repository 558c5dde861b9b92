//! Groups: shared grants, limits and budgets for their members, and managers who look after them.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use gatehouse_api::{
    ErrorCode, Group, GroupCreate, GroupMember, GroupMemberRole, GroupPatch, GroupRole, ListQuery,
    Page, SyncChange, SyncKind,
};
use serde_json::json;
use sqlx::FromRow;

use crate::auth::Caller;
use crate::db::{self, Tx, next_revision};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::permissions::Permission;
use crate::sql::SqlText;
use crate::{AppState, audit, cursor, validate};

#[derive(Debug, FromRow)]
pub struct GroupRow {
    pub id: String,
    pub name: String,
    pub description: String,
    pub created_at: String,
    pub revision: i64,
    pub member_count: i64,
}

impl GroupRow {
    pub fn into_api(self) -> Group {
        Group {
            id: self.id,
            name: self.name,
            description: self.description,
            member_count: self.member_count,
            created_at: db::parse_timestamp(&self.created_at),
            revision: self.revision,
        }
    }
}

const GROUP_SELECT: &str = "SELECT g.id, g.name, g.description, g.created_at, g.revision, \
     (SELECT COUNT(*) FROM group_members m WHERE m.group_id = g.id) AS member_count FROM groups g";

#[derive(Debug, FromRow)]
pub struct GroupMemberRow {
    pub group_id: String,
    pub user_id: String,
    pub role: String,
    pub revision: i64,
}

impl GroupMemberRow {
    pub fn into_api(self) -> GroupMember {
        GroupMember {
            role: if self.role == "manager" {
                GroupRole::Manager
            } else {
                GroupRole::Member
            },
            group_id: self.group_id,
            user_id: self.user_id,
            revision: self.revision,
        }
    }
}

pub async fn get_in(tx: &mut Tx, id: &str) -> ApiResult<Group> {
    let row: Option<GroupRow> = sqlx::query_as(&format!("{GROUP_SELECT} WHERE g.id = $1"))
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(row.ok_or_else(|| ApiError::not_found("group"))?.into_api())
}

/// Whether `user_id` manages group `group_id`.
pub async fn manages<'e, E>(exec: E, user_id: &str, group_id: &str) -> Result<bool, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM group_members WHERE group_id = $1 AND user_id = $2 AND role = 'manager'",
    )
    .bind(group_id)
    .bind(user_id)
    .fetch_one(exec)
    .await?;
    Ok(n > 0)
}

/// `user_id`'s role in `group_id`, if they belong to it.
pub async fn role_of<'e, E>(
    exec: E,
    group_id: &str,
    user_id: &str,
) -> Result<Option<String>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query_scalar("SELECT role FROM group_members WHERE group_id = $1 AND user_id = $2")
        .bind(group_id)
        .bind(user_id)
        .fetch_optional(exec)
        .await
}

/// The groups `manager_id` manages in which `user_id` is a plain member: the groups through
/// which a manager may act on that person (never on a co-manager, never on themselves).
pub async fn managed_over<'e, E>(
    exec: E,
    manager_id: &str,
    user_id: &str,
) -> Result<Vec<String>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    if manager_id == user_id {
        return Ok(Vec::new());
    }
    sqlx::query_scalar(
        "SELECT m.group_id FROM group_members m JOIN group_members me ON me.group_id = m.group_id \
         WHERE m.user_id = $1 AND m.role = 'member' AND me.user_id = $2 AND me.role = 'manager' \
         ORDER BY m.group_id",
    )
    .bind(user_id)
    .bind(manager_id)
    .fetch_all(exec)
    .await
}

pub async fn changed_since(
    tx: &mut Tx,
    since: i64,
    fetch: i64,
) -> Result<Vec<SyncChange>, sqlx::Error> {
    let rows: Vec<GroupRow> =
        gatehouse_store::feed::rows_since(tx, GROUP_SELECT, "g.revision", since, fetch).await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let g = r.into_api();
            SyncChange::upsert(SyncKind::Group, g.id.clone(), g.revision, &g)
        })
        .collect())
}

pub async fn members_changed_since(
    tx: &mut Tx,
    since: i64,
    fetch: i64,
) -> Result<Vec<SyncChange>, sqlx::Error> {
    let rows: Vec<GroupMemberRow> = gatehouse_store::feed::rows_since(
        tx,
        "SELECT group_id, user_id, role, revision FROM group_members",
        "revision",
        since,
        fetch,
    )
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let id = format!("{}:{}", r.group_id, r.user_id);
            SyncChange::upsert(SyncKind::GroupMember, id, r.revision, &r.into_api())
        })
        .collect())
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
    let limit = crate::users::page_limit(query.limit)?;
    let mut q = SqlText::new(&format!("{GROUP_SELECT} WHERE 1 = 1"));
    if let Some(c) = query.cursor.as_deref() {
        q.push(" AND g.id > ").bind(cursor::decode(c)?);
    }
    q.push(" ORDER BY g.id LIMIT ").bind(limit + 1);
    let rows: Vec<GroupRow> = sqlx::query_as_with(&q.sql, q.args)
        .fetch_all(&state.db.pool)
        .await?;
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

async fn name_taken(tx: &mut Tx, name: &str, except: &str) -> Result<bool, sqlx::Error> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM groups WHERE name = $1 AND id <> $2")
        .bind(name)
        .bind(except)
        .fetch_one(&mut **tx)
        .await?;
    Ok(n > 0)
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
    if name_taken(&mut tx, &name, "").await? {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!("A group named {name:?} exists."),
        ));
    }
    let id = insert(&mut tx, &name, &description).await?;
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

pub async fn insert(tx: &mut Tx, name: &str, description: &str) -> Result<String, sqlx::Error> {
    let id = crate::new_id("grp");
    let revision = next_revision(tx).await?;
    sqlx::query("INSERT INTO groups (id, name, description, created_at, revision) VALUES ($1, $2, $3, $4, $5)")
        .bind(&id)
        .bind(name)
        .bind(description)
        .bind(db::now())
        .bind(revision)
        .execute(&mut **tx)
        .await?;
    Ok(id)
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
        && name_taken(&mut tx, name, &id).await?
    {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!("A group named {name:?} exists."),
        ));
    }
    let revision = next_revision(&mut tx).await?;
    sqlx::query("UPDATE groups SET name = $1, description = $2, revision = $3 WHERE id = $4")
        .bind(name.unwrap_or_else(|| before.name.clone()))
        .bind(description.unwrap_or_else(|| before.description.clone()))
        .bind(revision)
        .bind(&id)
        .execute(&mut *tx)
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
    let members: Vec<(String,)> =
        sqlx::query_as("SELECT user_id FROM group_members WHERE group_id = $1")
            .bind(&id)
            .fetch_all(&mut *tx)
            .await?;
    for (user,) in members {
        audit::tombstone(&mut tx, SyncKind::GroupMember, &format!("{id}:{user}")).await?;
    }
    let grants: Vec<(String,)> = sqlx::query_as(
        "SELECT model_id FROM grants WHERE subject_kind = 'group' AND subject_id = $1",
    )
    .bind(&id)
    .fetch_all(&mut *tx)
    .await?;
    for (model,) in grants {
        audit::tombstone(&mut tx, SyncKind::Grant, &format!("group:{id}:{model}")).await?;
    }
    crate::policy::revoke_given_through(&mut tx, &id, None).await?;
    audit::tombstone(&mut tx, SyncKind::Limit, &format!("group:{id}")).await?;
    audit::tombstone(&mut tx, SyncKind::Budget, &format!("group:{id}")).await?;
    audit::tombstone(&mut tx, SyncKind::Group, &id).await?;
    for sql in [
        "DELETE FROM group_members WHERE group_id = $1",
        "DELETE FROM grants WHERE subject_kind = 'group' AND subject_id = $1",
        "DELETE FROM limits WHERE subject_kind = 'group' AND subject_id = $1",
        "DELETE FROM budgets WHERE subject_kind = 'group' AND subject_id = $1",
        "DELETE FROM groups WHERE id = $1",
    ] {
        sqlx::query(sql).bind(&id).execute(&mut *tx).await?;
    }
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
    let revision = next_revision(&mut tx).await?;
    sqlx::query(
        "INSERT INTO group_members (group_id, user_id, role, revision) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (group_id, user_id) DO UPDATE SET role = excluded.role, revision = excluded.revision",
    )
    .bind(&id)
    .bind(&user_id)
    .bind(input.role.as_str())
    .bind(revision)
    .execute(&mut *tx)
    .await?;
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
    sqlx::query("DELETE FROM group_members WHERE group_id = $1 AND user_id = $2")
        .bind(&id)
        .bind(&user_id)
        .execute(&mut *tx)
        .await?;
    let sync_id = format!("{id}:{user_id}");
    audit::tombstone(&mut tx, SyncKind::GroupMember, &sync_id).await?;
    let revoked = crate::policy::revoke_given_through(&mut tx, &id, Some(&user_id)).await?;
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
