//! `/admin/v1/{users,groups}/{id}/forecast` and `/admin/v1/org/forecast`: month-end spend at the
//! current pace and the day each budget runs out, by the one rule in
//! `gatehouse_api::forecast`, over spend per local day from the spend counters.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Duration, Utc};
use gatehouse_api::{BudgetPeriod, Forecast, SubjectKind, forecast, periods};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::Caller;
use crate::db::Tx;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiPath;
use crate::permissions::Permission;

/// The forecast of `subject` (`None`: the org) as of `now`, against its own budget.
pub async fn of(
    tx: &mut Tx,
    subject: Option<(SubjectKind, &str)>,
    now: DateTime<Utc>,
) -> ApiResult<Forecast> {
    let tz = gatehouse_store::usage::org_time_zone(tx).await?;
    let today = now.with_timezone(&tz).date_naive();
    let local = |t: DateTime<Utc>| t.with_timezone(&tz).date_naive();
    // Every day the rule reads: the pace's window, this week and this month.
    let first = [
        today - Duration::days(forecast::PACE_DAYS),
        local(periods::bounds(BudgetPeriod::Weekly, now, tz).0),
        local(periods::bounds(BudgetPeriod::Monthly, now, tz).0),
    ]
    .into_iter()
    .min()
    .unwrap_or(today);
    let (spend, first_usage) =
        gatehouse_store::forecast::daily_spend(tx, subject, first, today).await?;
    let budget = match subject {
        Some((kind, id)) => Some(
            gatehouse_store::policy::budget_of(&mut **tx, kind, id)
                .await?
                .0,
        ),
        None => None,
    };
    Ok(forecast::forecast(
        &spend,
        first_usage,
        budget.as_ref(),
        now,
        tz,
        tz.name(),
    ))
}

/// A user's spend forecast
///
/// Month-end spend at the pace of the last 7 complete days and the day each of the user's own
/// budgets runs out at that pace (docs/gateway.md, "Forecasts"). A user may read their own.
#[utoipa::path(
    get, path = "/admin/v1/users/{id}/forecast", tag = "usage",
    params(("id" = String, Path, description = "User id")),
    responses(
        (status = 200, description = "The forecast, with when each budget period resets", body = Forecast),
        (status = 401, description = "No valid token", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Forbidden", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = gatehouse_api::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn user(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Forecast>> {
    if caller.user_id != id {
        caller.require(Permission::UsageRead, "read other users' usage")?;
    }
    let mut tx = state.db.begin_read().await?;
    crate::users::get_in(&mut tx, &id).await?;
    let out = of(&mut tx, Some((SubjectKind::User, &id)), Utc::now()).await?;
    tx.commit().await?;
    Ok(Json(out))
}

/// A group's spend forecast
///
/// The spend of the group's current members against the group's own budget, by the same rule.
#[utoipa::path(
    get, path = "/admin/v1/groups/{id}/forecast", tag = "usage",
    params(("id" = String, Path, description = "Group id")),
    responses(
        (status = 200, description = "The forecast, with when each budget period resets", body = Forecast),
        (status = 401, description = "No valid token", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Forbidden", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such group", body = gatehouse_api::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn group(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Forecast>> {
    caller.require(Permission::UsageRead, "read usage")?;
    let mut tx = state.db.begin_read().await?;
    if gatehouse_store::groups::get_in(&mut tx, &id)
        .await?
        .is_none()
    {
        return Err(ApiError::not_found("group"));
    }
    let out = of(&mut tx, Some((SubjectKind::Group, &id)), Utc::now()).await?;
    tx.commit().await?;
    Ok(Json(out))
}

/// The organisation's spend forecast
///
/// Everyone's spend by the same rule; the org has no budget, so no period runs out.
#[utoipa::path(
    get, path = "/admin/v1/org/forecast", tag = "usage",
    responses(
        (status = 200, description = "The forecast, with when each budget period resets", body = Forecast),
        (status = 401, description = "No valid token", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Forbidden", body = gatehouse_api::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn org(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Forecast>> {
    caller.require(Permission::UsageRead, "read usage")?;
    let mut tx = state.db.begin_read().await?;
    let out = of(&mut tx, None, Utc::now()).await?;
    tx.commit().await?;
    Ok(Json(out))
}

/// This module's operations, which the gateway's router merges with the others'.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(user))
        .routes(routes!(group))
        .routes(routes!(org))
}
