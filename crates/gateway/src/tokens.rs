//! `/admin/v1/me/tokens`: the caller's personal access tokens. Every user manages their own and
//! nobody else's, so there is no permission to check beyond being signed in; another user's token
//! is answered exactly like a token that does not exist.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::Utc;
use gatehouse_api::{AccessToken, AccessTokenCreate, AccessTokenCreated, ListQuery, Page};
use gatehouse_store::tokens as store;
use serde_json::json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::{self, Caller, KIND_PAT};
use crate::db;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery};
use crate::{audit, cursor};

/// Most personal access tokens one user may hold; a bound on what one account can pile up.
pub const MAX_PER_USER: i64 = 100;
const MAX_NAME_CHARS: usize = 100;

/// The caller's personal access tokens, oldest first (never their secrets)
#[utoipa::path(
    get, path = "/admin/v1/me/tokens", tag = "me",
    params(ListQuery),
    responses(
        (status = 200, description = "One page of the caller's personal access tokens", body = Page<AccessToken>),
        (status = 401, description = "No valid token", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 403, description = "The account is suspended or not active", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A bad limit or cursor", body = gatehouse_api::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> ApiResult<Json<Page<AccessToken>>> {
    let limit = gatehouse_api::page_limit(query.limit)?;
    // Ids are time-ordered (UUIDv7), so they are the keyset.
    let after = match query.cursor.as_deref() {
        Some(c) => cursor::decode(c)?,
        None => String::new(),
    };
    let rows = store::list(&state.db.pool, &caller.user_id, KIND_PAT, after, limit + 1).await?;
    let page = cursor::paginate(rows, limit, |r| r.id.clone());
    Ok(Json(Page {
        items: page
            .items
            .into_iter()
            .map(store::TokenRow::into_api)
            .collect(),
        next_cursor: page.next_cursor,
    }))
}

/// Make a personal access token; its secret is in this answer and never again
#[utoipa::path(
    post, path = "/admin/v1/me/tokens", tag = "me",
    request_body = AccessTokenCreate,
    responses(
        (status = 201, description = "The token, with its secret, shown once", body = AccessTokenCreated),
        (status = 401, description = "No valid token", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 403, description = "The account is suspended or not active", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The caller already holds the most tokens allowed (100)", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is too large", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A bad name or lifetime", body = gatehouse_api::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<AccessTokenCreate>,
) -> ApiResult<(StatusCode, Json<AccessTokenCreated>)> {
    let name = crate::validate::text("name", &body.name, 1, MAX_NAME_CHARS)?;
    let expires_at = match body.expires_in_days {
        None => None,
        Some(days @ 1..=365) => Some(db::timestamp(Utc::now() + chrono::Duration::days(days))),
        Some(_) => {
            return Err(ApiError::invalid(
                "expires_in_days",
                "must be between 1 and 365",
            ));
        }
    };
    let mut tx = state.db.begin_write().await?;
    let held = store::count(&mut tx, &caller.user_id, KIND_PAT).await?;
    if held >= MAX_PER_USER {
        return Err(ApiError::new(
            gatehouse_api::ErrorCode::Conflict,
            format!("You already hold {MAX_PER_USER} personal access tokens; delete one first."),
        ));
    }
    let (id, secret) = auth::issue(
        &mut tx,
        &caller.user_id,
        &name,
        KIND_PAT,
        expires_at.as_deref(),
    )
    .await?;
    audit::record(
        &mut tx,
        Some(&caller.user_id),
        "token.create",
        "token",
        &id,
        json!({ "after": { "name": name, "kind": KIND_PAT, "expires_at": expires_at } }),
    )
    .await?;
    let row = store::get(&mut tx, &id).await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(AccessTokenCreated {
            token: row.into_api(),
            secret: secret.expose().to_owned(),
        }),
    ))
}

/// Delete one of the caller's personal access tokens; it stops working at once
#[utoipa::path(
    delete, path = "/admin/v1/me/tokens/{id}", tag = "me",
    params(("id" = String, Path, description = "The token's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No valid token", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 403, description = "The account is suspended or not active", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 404, description = "The caller has no personal access token with this id", body = gatehouse_api::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let mut tx = state.db.begin_write().await?;
    let row = store::get_owned(&mut tx, &id, &caller.user_id, KIND_PAT).await?;
    let row = row.ok_or_else(|| ApiError::not_found("personal access token"))?;
    store::delete(&mut tx, &id).await?;
    audit::record(
        &mut tx,
        Some(&caller.user_id),
        "token.delete",
        "token",
        &id,
        json!({ "before": { "name": row.name, "kind": KIND_PAT, "expires_at": row.expires_at } }),
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
