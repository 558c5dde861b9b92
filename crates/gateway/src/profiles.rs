//! Access profiles: the `/admin/v1/profiles` handlers, and the one place a profile is copied to
//! a new account ([`start_from`]), whichever way the account is created.
//!
//! Reading profiles takes `users.read` (those who see people see what they start from);
//! changing them takes `policy.write`, as granting models, limits and budgets does. A profile
//! gives nobody anything until an account is created from it, and creating accounts has its
//! own permissions; choosing a profile other than the org's default for a new account also
//! takes `policy.write`, so nobody grants through a profile what they could not grant directly.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use gatehouse_api::{AccessProfile, AccessProfileCreate, AccessProfilePatch, ErrorCode};
use gatehouse_store::profiles as store;
use serde_json::json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Caller;
use crate::db::Tx;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath};
use crate::permissions::Permission;
use crate::{AppState, audit, validate};

const MAX_DESCRIPTION: usize = 1000;
const MAX_GRANTS: usize = 500;

async fn get_in(tx: &mut Tx, id: &str) -> ApiResult<AccessProfile> {
    store::get(&mut **tx, id)
        .await?
        .ok_or_else(|| ApiError::not_found("access profile"))
}

/// Checks a profile's values in place: a name, models of the catalog (each once), limits and a
/// budget as for a user.
async fn validate(tx: &mut Tx, profile: &mut AccessProfile) -> ApiResult<()> {
    profile.name = validate::text("name", &profile.name, 1, 200)?;
    profile.description = if profile.description.trim().is_empty() {
        String::new()
    } else {
        validate::text("description", &profile.description, 1, MAX_DESCRIPTION)?
    };
    if profile.grants.len() > MAX_GRANTS {
        return Err(ApiError::invalid("grants", "has more than 500 models"));
    }
    profile.grants.sort();
    profile.grants.dedup();
    for model in &profile.grants {
        if !gatehouse_store::policy::model_exists(tx, model).await? {
            return Err(ApiError::invalid(
                "grants",
                format!("{model} is not a model of the catalog"),
            ));
        }
    }
    crate::policy::validate_limits(&profile.limits)?;
    crate::policy::validate_budget(&mut profile.budget)?;
    if store::name_taken(tx, &profile.name, Some(&profile.id)).await? {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!("A profile is already called {}.", profile.name),
        ));
    }
    Ok(())
}

/// Access profiles, by name
#[utoipa::path(
    get, path = "/admin/v1/profiles", tag = "profiles",
    responses(
        (status = 200, description = "Every access profile", body = Vec<AccessProfile>),
        (status = 401, description = "No valid token", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Forbidden", body = gatehouse_api::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Vec<AccessProfile>>> {
    require_read(&caller)?;
    Ok(Json(store::list(&state.db.pool).await?))
}

fn require_read(caller: &Caller) -> ApiResult<()> {
    if caller.allows(Permission::PolicyWrite) {
        return Ok(());
    }
    caller.require(Permission::UsersRead, "read access profiles")
}

/// One access profile
#[utoipa::path(
    get, path = "/admin/v1/profiles/{id}", tag = "profiles",
    params(("id" = String, Path, description = "Profile id")),
    responses(
        (status = 200, description = "The profile", body = AccessProfile),
        (status = 401, description = "No valid token", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Forbidden", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such profile", body = gatehouse_api::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<AccessProfile>> {
    require_read(&caller)?;
    let mut tx = state.db.begin_read().await?;
    let profile = get_in(&mut tx, &id).await?;
    tx.commit().await?;
    Ok(Json(profile))
}

/// Create an access profile
#[utoipa::path(
    post, path = "/admin/v1/profiles", tag = "profiles",
    request_body = AccessProfileCreate,
    responses(
        (status = 201, description = "The new profile", body = AccessProfile),
        (status = 401, description = "No valid token", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Forbidden", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The name is taken", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, or a model not in the catalog", body = gatehouse_api::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(input): ApiJson<AccessProfileCreate>,
) -> ApiResult<(StatusCode, Json<AccessProfile>)> {
    caller.require(Permission::PolicyWrite, "change access profiles")?;
    let mut tx = state.db.begin_write().await?;
    let now = chrono::Utc::now();
    let mut profile = AccessProfile {
        id: String::new(),
        name: input.name,
        description: input.description.unwrap_or_default(),
        grants: input.grants,
        limits: input.limits,
        budget: input.budget,
        created_at: now,
        updated_at: now,
        revision: 0,
    };
    validate(&mut tx, &mut profile).await?;
    let created = store::insert(
        &mut tx,
        &profile.name,
        &profile.description,
        &profile.grants,
        &profile.limits,
        &profile.budget,
    )
    .await?;
    audit::record(
        &mut tx,
        Some(&caller.user_id),
        "profile.created",
        "access_profile",
        &created.id,
        json!({ "after": created }),
    )
    .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Change an access profile; accounts that started from it keep what they were given
#[utoipa::path(
    patch, path = "/admin/v1/profiles/{id}", tag = "profiles",
    params(("id" = String, Path, description = "Profile id")),
    request_body = AccessProfilePatch,
    responses(
        (status = 200, description = "The changed profile", body = AccessProfile),
        (status = 401, description = "No valid token", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Forbidden", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such profile", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The name is taken", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, or a model not in the catalog", body = gatehouse_api::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn patch(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(patch): ApiJson<AccessProfilePatch>,
) -> ApiResult<Json<AccessProfile>> {
    caller.require(Permission::PolicyWrite, "change access profiles")?;
    let mut tx = state.db.begin_write().await?;
    let before = get_in(&mut tx, &id).await?;
    let mut changed = before.clone();
    if let Some(name) = patch.name {
        changed.name = name;
    }
    if let Some(description) = patch.description {
        changed.description = description;
    }
    if let Some(grants) = patch.grants {
        changed.grants = grants;
    }
    if let Some(limits) = patch.limits {
        changed.limits = limits;
    }
    if let Some(budget) = patch.budget {
        changed.budget = budget;
    }
    validate(&mut tx, &mut changed).await?;
    let after = store::update(&mut tx, &changed).await?;
    audit::record(
        &mut tx,
        Some(&caller.user_id),
        "profile.updated",
        "access_profile",
        &id,
        json!({ "before": before, "after": after }),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(after))
}

/// Delete an access profile; accounts that started from it keep its name, and an org default
/// pointing at it is cleared
#[utoipa::path(
    delete, path = "/admin/v1/profiles/{id}", tag = "profiles",
    params(("id" = String, Path, description = "Profile id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No valid token", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Forbidden", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such profile", body = gatehouse_api::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    caller.require(Permission::PolicyWrite, "change access profiles")?;
    let mut tx = state.db.begin_write().await?;
    let before = get_in(&mut tx, &id).await?;
    let was_default = store::delete(&mut tx, &id).await?;
    audit::record(
        &mut tx,
        Some(&caller.user_id),
        "profile.deleted",
        "access_profile",
        &id,
        json!({ "before": before, "was_default": was_default }),
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Which profile a new account starts from, as a request asks: `None` for the org's default,
/// `""` for none.
#[derive(Debug, Clone, Copy)]
pub struct Choice<'a>(pub Option<&'a str>);

impl Choice<'_> {
    /// Whether the request names a profile of its own (not the default, not none).
    fn explicit(&self) -> Option<&str> {
        self.0.map(str::trim).filter(|p| !p.is_empty())
    }
}

/// The profile a request's `profile_id` (`field`) picks, checked: it must exist (else 422 on
/// `field`), and picking one explicitly takes `policy.write`. `None` when the request picks none
/// or leaves it to the org's default and there is none.
pub async fn resolve(
    tx: &mut Tx,
    caller: Option<&Caller>,
    choice: Choice<'_>,
    field: &str,
) -> ApiResult<Option<AccessProfile>> {
    if let Some(id) = choice.explicit() {
        if let Some(caller) = caller {
            caller.require(Permission::PolicyWrite, "pick an access profile")?;
        }
        return match store::get(&mut **tx, id).await? {
            Some(p) => Ok(Some(p)),
            None => Err(ApiError::invalid(field, "is not an access profile")),
        };
    }
    if choice.0.is_some() {
        return Ok(None);
    }
    let default = crate::org::get_in(tx).await?.default_profile_id;
    match default {
        Some(id) => Ok(store::get(&mut **tx, &id).await?),
        None => Ok(None),
    }
}

/// Copies `profile` to the new account `user_id` as its own grants, limits and budget, in the
/// account's creation transaction, with an audit entry by `actor` (`None`: the system, e.g. a
/// provider's SCIM call). The one place a profile reaches an account.
pub async fn start_from(
    tx: &mut Tx,
    actor: Option<&str>,
    user_id: &str,
    profile: Option<&AccessProfile>,
) -> ApiResult<()> {
    let Some(profile) = profile else {
        return Ok(());
    };
    let granted = store::apply(tx, user_id, profile).await?;
    audit::record(
        tx,
        actor,
        "user.profile_applied",
        "user",
        user_id,
        json!({ "profile_id": profile.id, "profile_name": profile.name, "grants": granted,
                "limits": profile.limits, "budget": profile.budget }),
    )
    .await?;
    Ok(())
}

/// The org's default profile, for accounts made without a request that could pick one
/// (just-in-time sign-in, SCIM).
pub async fn default_of(tx: &mut Tx) -> ApiResult<Option<AccessProfile>> {
    resolve(tx, None, Choice(None), "profile_id").await
}

/// This module's operations, which the gateway's router merges with the others'.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(show, patch, delete))
}
