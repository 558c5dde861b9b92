//! Model grants, rate limits and budgets of users and groups, and the effective policy of a user:
//! for each limit and budget period the strictest of the user's own value and every group's.
//!
//! Who may change them: `policy.write` (admins, operators) for anyone. A group's managers act
//! on the group's plain members (never on themselves or a co-manager), and only so far as
//! leaves nobody with more than the group gives or less than an admin chose for them to keep:
//! - a grant only of a model the group grants, recorded as given through the group, so that it
//!   goes when the member leaves the group; never a grant someone holds on their own;
//! - limits and budgets within the group's own caps, and never looser than the member's own
//!   values as they stand: a manager tightens, an admin or operator loosens. Where the group
//!   sets no cap, that means the manager may not loosen anything, not that anything goes.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use gatehouse_api::{Budget, EffectivePolicy, Grant, Limits, SubjectKind};
use gatehouse_store::policy::{self as store, grant_id};
pub use gatehouse_store::policy::{
    budget_of, changed_since, effective, limits_of, micros, revoke_given_through, usd,
};
use serde_json::json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Caller;
use crate::db::{Tx, next_revision};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath};
use crate::permissions::Permission;
use crate::{AppState, audit, groups};

async fn subject_exists(tx: &mut Tx, kind: SubjectKind, id: &str) -> ApiResult<()> {
    if !store::subject_exists(tx, kind, id).await? {
        return Err(ApiError::not_found(kind.as_str()));
    }
    Ok(())
}

/// Reading a subject's policy: anyone who may read users/groups or write policy, the user
/// themselves, and the managers of the groups concerned (of a plain member's, as for writing).
async fn require_read(
    state: &AppState,
    caller: &Caller,
    kind: SubjectKind,
    id: &str,
) -> ApiResult<()> {
    let by_role = match kind {
        SubjectKind::User => caller.allows(Permission::UsersRead) || caller.user_id == id,
        SubjectKind::Group => caller.allows(Permission::GroupsRead),
        // A key's policy is read through the key (`GET /keys/{id}`), never here.
        SubjectKind::Key => false,
    };
    if by_role || caller.allows(Permission::PolicyWrite) {
        return Ok(());
    }
    let manager = match kind {
        SubjectKind::User => !groups::managed_over(&state.db.pool, &caller.user_id, id)
            .await?
            .is_empty(),
        SubjectKind::Group => groups::manages(&state.db.pool, &caller.user_id, id).await?,
        SubjectKind::Key => false,
    };
    if manager {
        Ok(())
    } else {
        Err(ApiError::forbidden("read this policy"))
    }
}

/// The groups through which a manager (without `policy.write`) may change a user's policy;
/// `None` when the caller has `policy.write`.
async fn manager_scope(
    tx: &mut Tx,
    caller: &Caller,
    kind: SubjectKind,
    id: &str,
) -> ApiResult<Option<Vec<String>>> {
    if caller.allows(Permission::PolicyWrite) {
        return Ok(None);
    }
    if kind == SubjectKind::User {
        if id == caller.user_id {
            return Err(ApiError::forbidden(
                "change your own grants, limits or budget",
            ));
        }
        let managed = groups::managed_over(&mut **tx, &caller.user_id, id).await?;
        if !managed.is_empty() {
            return Ok(Some(managed));
        }
    }
    Err(ApiError::forbidden("change this policy"))
}

fn looser_than_own(part: &str) -> ApiError {
    ApiError::forbidden(&format!(
        "set {part} looser than this person's own; an admin or operator can"
    ))
}

fn beyond_group(part: &str) -> ApiError {
    ApiError::forbidden(&format!("set {part} beyond what your group allows"))
}

async fn model_exists(tx: &mut Tx, model_id: &str) -> ApiResult<()> {
    if !store::model_exists(tx, model_id).await? {
        return Err(ApiError::not_found("model"));
    }
    Ok(())
}

async fn put_grant(
    state: &AppState,
    caller: &Caller,
    kind: SubjectKind,
    id: &str,
    model_id: &str,
) -> ApiResult<Grant> {
    let mut tx = state.db.begin_write().await?;
    // The group a manager gives the grant through; `None` for policy.write.
    let mut via = None;
    if let Some(scope) = manager_scope(&mut tx, caller, kind, id).await? {
        for group in &scope {
            if store::group_grants(&mut tx, group, model_id).await? {
                via = Some(group.clone());
                break;
            }
        }
        if via.is_none() {
            return Err(beyond_group("a grant"));
        }
    }
    subject_exists(&mut tx, kind, id).await?;
    model_exists(&mut tx, model_id).await?;
    let revision = next_revision(&mut tx).await?;
    let grant = store::put_grant(&mut tx, kind, id, model_id, via.as_deref(), revision).await?;
    audit::record(
        &mut tx,
        Some(&caller.user_id),
        "grant.set",
        "grant",
        &grant_id(kind, id, model_id),
        json!({ "after": grant }),
    )
    .await?;
    tx.commit().await?;
    Ok(grant)
}

async fn delete_grant(
    state: &AppState,
    caller: &Caller,
    kind: SubjectKind,
    id: &str,
    model_id: &str,
) -> ApiResult<()> {
    let mut tx = state.db.begin_write().await?;
    let scope = manager_scope(&mut tx, caller, kind, id).await?;
    let via = store::grant_via(&mut tx, kind, id, model_id).await?;
    let Some(via) = via else {
        return Err(ApiError::not_found("grant"));
    };
    if let Some(scope) = scope
        && !via.is_some_and(|g| scope.contains(&g))
    {
        return Err(ApiError::forbidden(
            "take away a grant your group did not give",
        ));
    }
    let sync_id = store::delete_grant(&mut tx, kind, id, model_id).await?;
    audit::record(
        &mut tx,
        Some(&caller.user_id),
        "grant.revoked",
        "grant",
        &sync_id,
        json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

fn limit_fields(l: &Limits) -> [(&'static str, Option<i64>); 4] {
    [
        ("requests_per_min", l.requests_per_min),
        ("input_tokens_per_min", l.input_tokens_per_min),
        ("output_tokens_per_min", l.output_tokens_per_min),
        ("max_concurrent", l.max_concurrent),
    ]
}

fn budget_fields(b: &Budget) -> [(&'static str, Option<f64>); 3] {
    [
        ("daily_usd", b.daily_usd),
        ("weekly_usd", b.weekly_usd),
        ("monthly_usd", b.monthly_usd),
    ]
}

/// Whether `new` stays within `group` for every field the group sets.
fn within<T: PartialOrd + Copy>(new: &[(&str, Option<T>)], group: &[(&str, Option<T>)]) -> bool {
    new.iter().zip(group).all(|((_, n), (_, g))| match (n, g) {
        (_, None) => true,
        (Some(n), Some(g)) => n <= g,
        (None, Some(_)) => false,
    })
}

pub(crate) fn validate_limits(l: &Limits) -> ApiResult<()> {
    for (field, value) in limit_fields(l) {
        if let Some(v) = value
            && !(0..=1_000_000_000_000).contains(&v)
        {
            return Err(ApiError::invalid(
                field,
                "must be a whole number from 0 to 1,000,000,000,000 (leave it empty for no limit)",
            ));
        }
    }
    Ok(())
}

pub(crate) fn validate_budget(b: &mut Budget) -> ApiResult<()> {
    for (field, value) in budget_fields(b) {
        if let Some(v) = value
            && !(v.is_finite() && (0.0..=1e9).contains(&v))
        {
            return Err(ApiError::invalid(
                field,
                "must be an amount from 0 to 1,000,000,000 USD (leave it empty for no cap)",
            ));
        }
    }
    if b.alert_thresholds.len() > 10 || b.alert_thresholds.iter().any(|t| !(1..=1000).contains(t)) {
        return Err(ApiError::invalid(
            "alert_thresholds",
            "must be at most 10 percentages, each from 1 to 1,000",
        ));
    }
    b.alert_thresholds.sort_unstable();
    b.alert_thresholds.dedup();
    Ok(())
}

async fn put_limits(
    state: &AppState,
    caller: &Caller,
    kind: SubjectKind,
    id: &str,
    limits: Limits,
) -> ApiResult<Limits> {
    validate_limits(&limits)?;
    let mut tx = state.db.begin_write().await?;
    if let Some(scope) = manager_scope(&mut tx, caller, kind, id).await? {
        let mut ok = false;
        for group in &scope {
            let (g, _) = limits_of(&mut *tx, SubjectKind::Group, group).await?;
            ok |= within(&limit_fields(&limits), &limit_fields(&g));
        }
        if !ok {
            return Err(beyond_group("limits"));
        }
        let (own, _) = limits_of(&mut *tx, kind, id).await?;
        if !within(&limit_fields(&limits), &limit_fields(&own)) {
            return Err(looser_than_own("limits"));
        }
    }
    subject_exists(&mut tx, kind, id).await?;
    let (before, _) = limits_of(&mut *tx, kind, id).await?;
    let revision = next_revision(&mut tx).await?;
    store::put_limits(&mut tx, kind, id, &limits, revision).await?;
    let target = format!("{}:{id}", kind.as_str());
    audit::record(
        &mut tx,
        Some(&caller.user_id),
        "limits.set",
        "limit",
        &target,
        json!({ "before": before, "after": limits }),
    )
    .await?;
    tx.commit().await?;
    Ok(limits)
}

async fn put_budget(
    state: &AppState,
    caller: &Caller,
    kind: SubjectKind,
    id: &str,
    mut budget: Budget,
) -> ApiResult<Budget> {
    validate_budget(&mut budget)?;
    let mut tx = state.db.begin_write().await?;
    if let Some(scope) = manager_scope(&mut tx, caller, kind, id).await? {
        let mut ok = false;
        for group in &scope {
            let (g, _) = budget_of(&mut *tx, SubjectKind::Group, group).await?;
            ok |= within(&budget_fields(&budget), &budget_fields(&g));
        }
        if !ok {
            return Err(beyond_group("a budget"));
        }
        let (own, _) = budget_of(&mut *tx, kind, id).await?;
        if !within(&budget_fields(&budget), &budget_fields(&own)) {
            return Err(looser_than_own("a budget"));
        }
    }
    subject_exists(&mut tx, kind, id).await?;
    let (before, _) = budget_of(&mut *tx, kind, id).await?;
    let revision = next_revision(&mut tx).await?;
    store::put_budget(&mut tx, kind, id, &budget, revision).await?;
    let target = format!("{}:{id}", kind.as_str());
    audit::record(
        &mut tx,
        Some(&caller.user_id),
        "budget.set",
        "budget",
        &target,
        json!({ "before": before, "after": budget }),
    )
    .await?;
    let (stored, _) = budget_of(&mut *tx, kind, id).await?;
    // A cap lowered below what was already spent crosses thresholds now: no further spend will
    // come to raise them, since the data plane refuses every request at the cap.
    let tz = gatehouse_store::usage::org_time_zone(&mut tx).await?;
    let raised =
        gatehouse_store::spend::check_subject_alerts(&mut tx, kind, id, chrono::Utc::now(), tz)
            .await?;
    tx.commit().await?;
    if let Err(e) = crate::spend::mail_admins(state, &raised).await {
        tracing::warn!(error = %e, "the budget alert mails could not be sent");
    }
    Ok(stored)
}

macro_rules! policy_handlers {
    ($kind:expr, $tag:literal, $noun:literal,
     $grant_put:ident, $grant_delete:ident, $grant_path:literal,
     $limits_get:ident, $limits_put:ident, $limits_path:literal,
     $budget_get:ident, $budget_put:ident, $budget_path:literal) => {
        #[doc = concat!("Grant a model to a ", $noun)]
        #[utoipa::path(
            put, path = $grant_path, tag = $tag,
            params(("id" = String, Path), ("model_id" = String, Path)),
            request_body(content = Option<Object>, description = "Empty, or `{}`"),
            responses(
                (status = 200, description = "The grant", body = Grant),
                (status = 401, description = "No valid token", body = gatehouse_api::Problem, content_type = "application/problem+json"),
                (status = 403, description = "Forbidden", body = gatehouse_api::Problem, content_type = "application/problem+json"),
                (status = 404, description = "No such subject or model", body = gatehouse_api::Problem, content_type = "application/problem+json"),
            ),
            security(("bearer" = []))
        )]
        pub async fn $grant_put(
            State(state): State<AppState>,
            caller: Caller,
            ApiPath((id, model_id)): ApiPath<(String, String)>,
        ) -> ApiResult<Json<Grant>> {
            Ok(Json(put_grant(&state, &caller, $kind, &id, &model_id).await?))
        }

        #[doc = concat!("Revoke a ", $noun, "'s grant of a model")]
        #[utoipa::path(
            delete, path = $grant_path, tag = $tag,
            params(("id" = String, Path), ("model_id" = String, Path)),
            responses(
                (status = 204, description = "Revoked"),
                (status = 401, description = "No valid token", body = gatehouse_api::Problem, content_type = "application/problem+json"),
                (status = 403, description = "Forbidden", body = gatehouse_api::Problem, content_type = "application/problem+json"),
                (status = 404, description = "No such grant", body = gatehouse_api::Problem, content_type = "application/problem+json"),
            ),
            security(("bearer" = []))
        )]
        pub async fn $grant_delete(
            State(state): State<AppState>,
            caller: Caller,
            ApiPath((id, model_id)): ApiPath<(String, String)>,
        ) -> ApiResult<StatusCode> {
            delete_grant(&state, &caller, $kind, &id, &model_id).await?;
            Ok(StatusCode::NO_CONTENT)
        }

        #[doc = concat!("A ", $noun, "'s own rate limits")]
        #[utoipa::path(
            get, path = $limits_path, tag = $tag,
            params(("id" = String, Path)),
            responses(
                (status = 200, description = "The limits; null is unlimited", body = Limits),
                (status = 401, description = "No valid token", body = gatehouse_api::Problem, content_type = "application/problem+json"),
                (status = 403, description = "Forbidden", body = gatehouse_api::Problem, content_type = "application/problem+json"),
                (status = 404, description = "Not found", body = gatehouse_api::Problem, content_type = "application/problem+json"),
            ),
            security(("bearer" = []))
        )]
        pub async fn $limits_get(
            State(state): State<AppState>,
            caller: Caller,
            ApiPath(id): ApiPath<String>,
        ) -> ApiResult<Json<Limits>> {
            require_read(&state, &caller, $kind, &id).await?;
            let mut tx = state.db.begin_read().await?;
            subject_exists(&mut tx, $kind, &id).await?;
            let (limits, _) = limits_of(&mut *tx, $kind, &id).await?;
            tx.commit().await?;
            Ok(Json(limits))
        }

        #[doc = concat!("Set a ", $noun, "'s rate limits")]
        #[utoipa::path(
            put, path = $limits_path, tag = $tag,
            params(("id" = String, Path)),
            request_body = Limits,
            responses(
                (status = 200, description = "The limits", body = Limits),
                (status = 401, description = "No valid token", body = gatehouse_api::Problem, content_type = "application/problem+json"),
                (status = 403, description = "Forbidden, or beyond the manager's group", body = gatehouse_api::Problem, content_type = "application/problem+json"),
                (status = 404, description = "Not found", body = gatehouse_api::Problem, content_type = "application/problem+json"),
                (status = 413, description = "Body too large", body = gatehouse_api::Problem, content_type = "application/problem+json"),
                (status = 422, description = "Invalid values", body = gatehouse_api::Problem, content_type = "application/problem+json"),
            ),
            security(("bearer" = []))
        )]
        pub async fn $limits_put(
            State(state): State<AppState>,
            caller: Caller,
            ApiPath(id): ApiPath<String>,
            ApiJson(limits): ApiJson<Limits>,
        ) -> ApiResult<Json<Limits>> {
            Ok(Json(put_limits(&state, &caller, $kind, &id, limits).await?))
        }

        #[doc = concat!("A ", $noun, "'s own budget")]
        #[utoipa::path(
            get, path = $budget_path, tag = $tag,
            params(("id" = String, Path)),
            responses(
                (status = 200, description = "The budget; null caps are none", body = Budget),
                (status = 401, description = "No valid token", body = gatehouse_api::Problem, content_type = "application/problem+json"),
                (status = 403, description = "Forbidden", body = gatehouse_api::Problem, content_type = "application/problem+json"),
                (status = 404, description = "Not found", body = gatehouse_api::Problem, content_type = "application/problem+json"),
            ),
            security(("bearer" = []))
        )]
        pub async fn $budget_get(
            State(state): State<AppState>,
            caller: Caller,
            ApiPath(id): ApiPath<String>,
        ) -> ApiResult<Json<Budget>> {
            require_read(&state, &caller, $kind, &id).await?;
            let mut tx = state.db.begin_read().await?;
            subject_exists(&mut tx, $kind, &id).await?;
            let (budget, _) = budget_of(&mut *tx, $kind, &id).await?;
            tx.commit().await?;
            Ok(Json(budget))
        }

        #[doc = concat!("Set a ", $noun, "'s budget")]
        #[utoipa::path(
            put, path = $budget_path, tag = $tag,
            params(("id" = String, Path)),
            request_body = Budget,
            responses(
                (status = 200, description = "The budget", body = Budget),
                (status = 401, description = "No valid token", body = gatehouse_api::Problem, content_type = "application/problem+json"),
                (status = 403, description = "Forbidden, or beyond the manager's group", body = gatehouse_api::Problem, content_type = "application/problem+json"),
                (status = 404, description = "Not found", body = gatehouse_api::Problem, content_type = "application/problem+json"),
                (status = 413, description = "Body too large", body = gatehouse_api::Problem, content_type = "application/problem+json"),
                (status = 422, description = "Invalid values", body = gatehouse_api::Problem, content_type = "application/problem+json"),
            ),
            security(("bearer" = []))
        )]
        pub async fn $budget_put(
            State(state): State<AppState>,
            caller: Caller,
            ApiPath(id): ApiPath<String>,
            ApiJson(budget): ApiJson<Budget>,
        ) -> ApiResult<Json<Budget>> {
            Ok(Json(put_budget(&state, &caller, $kind, &id, budget).await?))
        }
    };
}

policy_handlers!(
    SubjectKind::User,
    "users",
    "user",
    user_grant_put,
    user_grant_delete,
    "/admin/v1/users/{id}/grants/{model_id}",
    user_limits_get,
    user_limits_put,
    "/admin/v1/users/{id}/limits",
    user_budget_get,
    user_budget_put,
    "/admin/v1/users/{id}/budget"
);

policy_handlers!(
    SubjectKind::Group,
    "groups",
    "group",
    group_grant_put,
    group_grant_delete,
    "/admin/v1/groups/{id}/grants/{model_id}",
    group_limits_get,
    group_limits_put,
    "/admin/v1/groups/{id}/limits",
    group_budget_get,
    group_budget_put,
    "/admin/v1/groups/{id}/budget"
);

/// A user's effective grants, limits and budgets, each with its source
#[utoipa::path(
    get, path = "/admin/v1/users/{id}/effective", tag = "users",
    params(("id" = String, Path)),
    responses(
        (status = 200, description = "The strictest of the user's own values and every group's", body = EffectivePolicy),
        (status = 401, description = "No valid token", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Forbidden", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = gatehouse_api::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn user_effective(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<EffectivePolicy>> {
    require_read(&state, &caller, SubjectKind::User, &id).await?;
    let mut tx = state.db.begin_read().await?;
    subject_exists(&mut tx, SubjectKind::User, &id).await?;
    let policy = effective(&mut tx, &id).await?;
    tx.commit().await?;
    Ok(Json(policy))
}

/// This module's operations, which the gateway's router merges with the others'.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(user_grant_put, user_grant_delete))
        .routes(routes!(user_limits_get, user_limits_put))
        .routes(routes!(user_budget_get, user_budget_put))
        .routes(routes!(group_grant_put, group_grant_delete))
        .routes(routes!(group_limits_get, group_limits_put))
        .routes(routes!(group_budget_get, group_budget_put))
        .routes(routes!(user_effective))
}
