//! `/admin/v1/scim/tokens`: the tokens identity providers provision with. Admins make and revoke
//! them (`identity.write`); auditors see them (`identity.read`). A secret is shown once and stored
//! only as its hash; a revoked token stops working at once.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use gatehouse_api::{ErrorCode, ScimToken, ScimTokenCreate, ScimTokenCreated};
use gatehouse_store::scim as store;
use serde_json::json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::audit;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath};
use crate::permissions::Permission;

/// Prefix of a SCIM token's secret, so that neither kind of token is taken for the other.
pub const SCIM_TOKEN_PREFIX: &str = "gsc_";
/// Most SCIM tokens an org holds: one per provider and environment is a handful.
const MAX_TOKENS: i64 = 50;
const MAX_NAME_CHARS: usize = 100;

/// Every SCIM token, oldest first (never their secrets)
#[utoipa::path(
    get, path = "/admin/v1/scim/tokens", tag = "identity",
    responses(
        (status = 200, description = "The SCIM tokens", body = Vec<ScimToken>),
        (status = 401, description = "No valid token", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role may not see how people are provisioned", body = gatehouse_api::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Vec<ScimToken>>> {
    caller.require(Permission::IdentityRead, "see SCIM tokens")?;
    let rows = store::list_tokens(&state.db.pool).await?;
    Ok(Json(
        rows.into_iter()
            .map(store::ScimTokenRow::into_api)
            .collect(),
    ))
}

/// Make a SCIM token for an identity provider; its secret is in this answer and never again
#[utoipa::path(
    post, path = "/admin/v1/scim/tokens", tag = "identity",
    request_body = ScimTokenCreate,
    responses(
        (status = 201, description = "The token, with its secret, shown once", body = ScimTokenCreated),
        (status = 401, description = "No valid token", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role may not make SCIM tokens", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The org already holds the most SCIM tokens allowed (50)", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is too large", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A bad name", body = gatehouse_api::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<ScimTokenCreate>,
) -> ApiResult<(StatusCode, Json<ScimTokenCreated>)> {
    caller.require(Permission::IdentityWrite, "make SCIM tokens")?;
    let name = crate::validate::text("name", &body.name, 1, MAX_NAME_CHARS)?;
    let mut tx = state.db.begin_write().await?;
    if store::count_tokens(&mut tx).await? >= MAX_TOKENS {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!("The organisation already holds {MAX_TOKENS} SCIM tokens; revoke one first."),
        ));
    }
    let (secret, hash) = crate::auth::new_secret(SCIM_TOKEN_PREFIX);
    let id = crate::new_id("stk");
    store::insert_token(&mut tx, &id, &name, &hash, &caller.user_id).await?;
    audit::record(
        &mut tx,
        Some(&caller.user_id),
        "scim_token.created",
        "scim_token",
        &id,
        json!({ "after": { "name": name } }),
    )
    .await?;
    let row = store::get_token(&mut tx, &id)
        .await?
        .ok_or_else(|| ApiError::Internal("token just made is gone".into()))?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(ScimTokenCreated {
            token: row.into_api(),
            secret: secret.expose().to_owned(),
        }),
    ))
}

/// Revoke a SCIM token; the provider holding it is refused from now on
#[utoipa::path(
    delete, path = "/admin/v1/scim/tokens/{id}", tag = "identity",
    params(("id" = String, Path, description = "The token's id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 401, description = "No valid token", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role may not revoke SCIM tokens", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No SCIM token with this id", body = gatehouse_api::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    caller.require(Permission::IdentityWrite, "revoke SCIM tokens")?;
    let mut tx = state.db.begin_write().await?;
    let row = store::get_token(&mut tx, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("SCIM token"))?;
    store::delete_token(&mut tx, &id).await?;
    audit::record(
        &mut tx,
        Some(&caller.user_id),
        "scim_token.revoked",
        "scim_token",
        &id,
        json!({ "before": { "name": row.name } }),
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// This module's operations, which the gateway's router merges with the others'.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(delete))
}
