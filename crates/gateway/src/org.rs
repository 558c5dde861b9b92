//! The organisation (one per gateway), its seats, and the built-in roles.

use axum::Json;
use axum::extract::State;
use gatehouse_api::{ErrorCode, Org, OrgPatch, Role, RoleInfo};
use gatehouse_store::org as store;
use serde_json::json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::Caller;
use crate::db::Tx;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::permissions::{self, Permission};

pub use gatehouse_store::org::{changed_since, get, get_in, insert};

/// Fails with `seat_limit_reached` unless `adding` more seats fit. Inside a write transaction
/// (`Db::begin_write` serialises writers), so two requests never both take the last seat.
pub async fn check_seats(tx: &mut Tx, adding: i64) -> ApiResult<()> {
    let org = get_in(tx).await?;
    if org.seats_used + adding > org.seat_limit {
        return Err(ApiError::new(
            ErrorCode::SeatLimitReached,
            format!("{} of {} seats used.", org.seats_used, org.seat_limit),
        ));
    }
    Ok(())
}

/// The organisation and its settings
#[utoipa::path(
    get, path = "/admin/v1/org", tag = "org",
    responses(
        (status = 200, description = "The organisation", body = Org),
        (status = 401, description = "No valid token", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Forbidden", body = gatehouse_api::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn show(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Org>> {
    caller.require(Permission::OrgRead, "read the organisation")?;
    let org = get(&state.db.pool)
        .await?
        .ok_or_else(|| ApiError::Internal("no org".into()))?;
    Ok(Json(org))
}

fn validate_patch(patch: &OrgPatch) -> ApiResult<()> {
    if let Some(name) = &patch.name {
        crate::validate::text("name", name, 1, 200)?;
    }
    if let Some(n) = patch.seat_limit
        && !(1..=1_000_000).contains(&n)
    {
        return Err(ApiError::invalid(
            "seat_limit",
            "must be between 1 and 1000000",
        ));
    }
    if let Some(n) = patch.invite_ttl_days
        && !(1..=30).contains(&n)
    {
        return Err(ApiError::invalid(
            "invite_ttl_days",
            "must be between 1 and 30",
        ));
    }
    if let Some(tz) = &patch.time_zone
        && tz.parse::<chrono_tz::Tz>().is_err()
    {
        return Err(ApiError::invalid(
            "time_zone",
            "is not an IANA time zone such as Europe/Berlin",
        ));
    }
    Ok(())
}

/// Change the organisation's settings
#[utoipa::path(
    patch, path = "/admin/v1/org", tag = "org",
    request_body = OrgPatch,
    responses(
        (status = 200, description = "The changed organisation", body = Org),
        (status = 401, description = "No valid token", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only admins change settings", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid settings", body = gatehouse_api::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn patch(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(patch): ApiJson<OrgPatch>,
) -> ApiResult<Json<Org>> {
    caller.require(Permission::OrgWrite, "change the organisation's settings")?;
    validate_patch(&patch)?;
    let mut tx = state.db.begin_write().await?;
    let before = get_in(&mut tx).await?;
    let mut changed = before.clone();
    if let Some(name) = patch.name.as_deref() {
        name.trim().clone_into(&mut changed.name);
    }
    if let Some(n) = patch.seat_limit {
        changed.seat_limit = n;
    }
    if let Some(n) = patch.invite_ttl_days {
        changed.invite_ttl_days = n;
    }
    if let Some(tz) = &patch.time_zone {
        changed.time_zone.clone_from(tz);
    }
    if let Some(b) = patch.require_approval {
        changed.require_approval = b;
    }
    if let Some(profile) = patch.default_profile_id.as_deref().map(str::trim) {
        changed.default_profile_id = if profile.is_empty() {
            None
        } else if gatehouse_store::profiles::get(&mut *tx, profile)
            .await?
            .is_some()
        {
            Some(profile.to_owned())
        } else {
            return Err(ApiError::invalid(
                "default_profile_id",
                "is not an access profile",
            ));
        };
    }
    store::update(&mut tx, &changed).await?;
    let after = get_in(&mut tx).await?;
    crate::audit::record(
        &mut tx,
        Some(&caller.user_id),
        "org.updated",
        "org",
        &after.id,
        json!({ "before": before, "after": after }),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(after))
}

/// The built-in roles and their permissions
#[utoipa::path(
    get, path = "/admin/v1/roles", tag = "org",
    responses(
        (status = 200, description = "Every role", body = Vec<RoleInfo>),
        (status = 401, description = "No valid token", body = gatehouse_api::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn roles(_caller: Caller) -> Json<Vec<RoleInfo>> {
    Json(
        Role::ALL
            .into_iter()
            .map(|role| RoleInfo {
                role,
                description: permissions::describe(role).to_owned(),
                permissions: permissions::permissions_of(role),
            })
            .collect(),
    )
}

/// This module's operations, which the gateway's router merges with the others'.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(show, patch))
        .routes(routes!(roles))
}
