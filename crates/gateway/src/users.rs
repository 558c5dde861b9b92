//! Users: storage and the `/admin/v1/users` handlers.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use gatehouse_api::{
    Page, Suspension, SyncKind, User, UserCreate, UserListQuery, UserPatch, UserStatus,
};
use gatehouse_store::users as store;
use serde_json::json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::Caller;
use crate::db::{self, Tx};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::permissions::Permission;
use crate::validate;

pub use gatehouse_store::users::{
    NewUser, USER_COLUMNS, UserRow, attach_workspaces, changed_since, exists_email, id_by_email,
    insert, workspace_ids_of,
};

pub async fn get(pool: &sqlx::AnyPool, id: &str) -> ApiResult<User> {
    store::get(pool, id)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))
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
    let limit = gatehouse_api::page_limit(query.limit)?;
    let text = query
        .query
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty());
    // Characters, as the document's maxLength counts them, not bytes.
    if text.is_some_and(|t| t.chars().count() > 200) {
        return Err(ApiError::invalid("query", "is longer than 200 characters"));
    }
    let after = query
        .cursor
        .as_deref()
        .map(crate::cursor::decode)
        .transpose()?;
    let rows = store::list(
        &state.db.pool,
        store::Filter {
            text: text.map(str::to_owned),
            role: query.role,
            status: query.status,
            workspace_id: query.workspace_id,
            group_id: query.group_id,
            after,
            limit: limit + 1,
        },
    )
    .await?;
    let page = crate::cursor::paginate(rows, limit, |r| r.id.clone());
    let items = attach_workspaces(&state.db.pool, page.items).await?;
    Ok(Json(Page {
        items,
        next_cursor: page.next_cursor,
    }))
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

pub(crate) async fn get_in(tx: &mut Tx, id: &str) -> ApiResult<User> {
    store::get_in(tx, id).await?.ok_or_else(user_path_error)
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
    let profile = crate::profiles::resolve(
        &mut tx,
        Some(&caller),
        crate::profiles::Choice(input.profile_id.as_deref()),
        "profile_id",
    )
    .await?;
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
    crate::profiles::start_from(&mut tx, Some(&caller.user_id), &id, profile.as_ref()).await?;
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
    // Where single sign-on is required, the person signs in there: no set-password mail.
    let reset =
        if password_hash.is_none() && !crate::identity::sso_required_of(&mut *tx, &id).await? {
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
    store::update(&mut tx, &after, before.status).await?;
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

/// Removes an account and everything that hangs on it, marking each deleted for the change
/// feed; usage and audit history stay.
pub(crate) async fn remove_account(tx: &mut Tx, id: &str) -> Result<(), sqlx::Error> {
    let dependents = store::dependents(tx, id).await?;
    for ws in &dependents.workspace_ids {
        crate::audit::tombstone(tx, SyncKind::Membership, &format!("{ws}:{id}")).await?;
    }
    for group in &dependents.group_ids {
        crate::audit::tombstone(tx, SyncKind::GroupMember, &format!("{group}:{id}")).await?;
    }
    for model in &dependents.granted_model_ids {
        crate::audit::tombstone(tx, SyncKind::Grant, &format!("user:{id}:{model}")).await?;
    }
    for key in &dependents.api_key_ids {
        crate::audit::tombstone(tx, SyncKind::ApiKey, key).await?;
    }
    crate::audit::tombstone(tx, SyncKind::Limit, &format!("user:{id}")).await?;
    crate::audit::tombstone(tx, SyncKind::Budget, &format!("user:{id}")).await?;
    crate::audit::tombstone(tx, SyncKind::User, id).await?;
    store::delete(tx, id).await
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
    reason: Option<String>,
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
            store::update(&mut tx, &before, UserStatus::Suspended).await?;
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
            store::update(&mut tx, &before, UserStatus::Active).await?;
            Some(get_in(&mut tx, id).await?)
        }
        Step::Reactivate => {
            store::update(&mut tx, &before, UserStatus::Active).await?;
            Some(get_in(&mut tx, id).await?)
        }
    };
    crate::audit::record(&mut tx, Some(&caller.user_id), step.action(), "user", id, {
        let mut summary = json!({ "before": before, "after": after });
        if let Some(n) = sessions_revoked {
            summary["sessions_revoked"] = json!(n);
        }
        if let Some(reason) = reason {
            summary["reason"] = json!(reason);
        }
        summary
    })
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
            let user = lifecycle(&state, &caller, &id, $step, None).await?;
            Ok(Json(user.expect("only decline removes the account")))
        }
    };
}

/// Suspend a user: blocks sign-in and every token and key at once
///
/// An optional body says why; the reason is kept in the audit entry.
#[utoipa::path(
    post, path = "/admin/v1/users/{id}/suspend", tag = "users",
    params(("id" = String, Path, description = "User id")),
    request_body(content = Option<Suspension>, description = "Why, for the audit log (optional)"),
    responses(
        (status = 200, description = "The user, suspended", body = User),
        (status = 401, description = "No valid token", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Forbidden", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not active, the caller, or the last admin", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A reason over 500 characters or with control characters", body = gatehouse_api::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn suspend(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    body: Option<ApiJson<Suspension>>,
) -> ApiResult<Json<User>> {
    let reason = match body.and_then(|ApiJson(s)| s.reason) {
        Some(r) => Some(validate::text("reason", &r, 0, 500)?).filter(|r| !r.is_empty()),
        None => None,
    };
    let user = lifecycle(&state, &caller, &id, Step::Suspend, reason).await?;
    Ok(Json(user.expect("only decline removes the account")))
}

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
    lifecycle(&state, &caller, &id, Step::Decline, None).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn ensure_exists(tx: &mut Tx, id: &str) -> ApiResult<()> {
    if store::exists(tx, id).await? {
        Ok(())
    } else {
        Err(user_path_error())
    }
}

/// This module's operations, which the gateway's router merges with the others'.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(show, patch, delete))
        .routes(routes!(suspend))
        .routes(routes!(reactivate))
        .routes(routes!(approve))
        .routes(routes!(decline))
}
