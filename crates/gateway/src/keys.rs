//! Users' API keys for the data plane: 256 random bits behind a `gk_` prefix, stored as a hash;
//! the secret is shown once.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use gatehouse_api::{ApiKey, ApiKeyCreate, ApiKeyCreated, Secret};
use gatehouse_store::keys as store;
pub use gatehouse_store::keys::{KeyRow, changed_since};
use serde_json::json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Caller, new_secret};
use crate::db::{Tx, next_revision};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath};
use crate::permissions::Permission;
use crate::{AppState, audit, validate};

pub use gatehouse_dataplane::KEY_PREFIX;
/// How much of the secret the key shows, to recognise it.
const SHOWN: usize = 10;

fn require_owner_or(
    caller: &Caller,
    user_id: &str,
    permission: Permission,
    what: &str,
) -> ApiResult<()> {
    if caller.user_id == user_id {
        Ok(())
    } else {
        caller.require(permission, what)
    }
}

/// A user's API keys (never their secrets)
#[utoipa::path(
    get, path = "/admin/v1/users/{id}/keys", tag = "keys",
    params(("id" = String, Path, description = "User id")),
    responses(
        (status = 200, description = "The keys, newest first", body = Vec<ApiKey>),
        (status = 401, description = "No valid token", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Forbidden", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = gatehouse_api::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Vec<ApiKey>>> {
    require_owner_or(&caller, &id, Permission::KeysRead, "read other users' keys")?;
    let mut tx = state.db.begin_read().await?;
    crate::users::ensure_exists(&mut tx, &id).await?;
    let keys = store::of_user(&mut tx, &id).await?;
    tx.commit().await?;
    Ok(Json(keys))
}

/// Create an API key for a user; the secret is returned this once
#[utoipa::path(
    post, path = "/admin/v1/users/{id}/keys", tag = "keys",
    params(("id" = String, Path, description = "User id")),
    request_body = ApiKeyCreate,
    responses(
        (status = 201, description = "The key and its secret", body = ApiKeyCreated),
        (status = 401, description = "No valid token", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Forbidden", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid name", body = gatehouse_api::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<ApiKeyCreate>,
) -> ApiResult<(StatusCode, Json<ApiKeyCreated>)> {
    require_owner_or(
        &caller,
        &id,
        Permission::KeysWrite,
        "create keys for other users",
    )?;
    let name = validate::text("name", &input.name, 1, 100)?;
    let mut tx = state.db.begin_write().await?;
    crate::users::ensure_exists(&mut tx, &id).await?;
    let (key, secret) = insert(&mut tx, &id, &name, &caller.user_id).await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(ApiKeyCreated {
            key,
            secret: secret.expose().to_owned(),
        }),
    ))
}

/// Creates an API key named `name` for the existing user `user_id`, with its audit entry by
/// `actor`, in `tx`; returns it and its secret, the only time the secret exists in clear.
pub async fn insert(
    tx: &mut Tx,
    user_id: &str,
    name: &str,
    actor: &str,
) -> Result<(ApiKey, Secret), sqlx::Error> {
    let (secret, hash) = new_secret(KEY_PREFIX);
    let key_id = crate::new_id("key");
    let revision = next_revision(tx).await?;
    let prefix: String = secret.expose().chars().take(SHOWN).collect();
    let key = store::insert(
        tx,
        &store::NewKey {
            id: &key_id,
            user_id,
            name,
            prefix: &prefix,
            secret_hash: &hash,
        },
        revision,
    )
    .await?;
    audit::record(
        tx,
        Some(actor),
        "key.created",
        "api_key",
        &key_id,
        json!({ "after": key }),
    )
    .await?;
    Ok((key, secret))
}

/// Revoke an API key at once
#[utoipa::path(
    delete, path = "/admin/v1/keys/{id}", tag = "keys",
    params(("id" = String, Path, description = "Key id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 401, description = "No valid token", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Forbidden", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such key", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already revoked", body = gatehouse_api::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    let mut tx = state.db.begin_write().await?;
    let row = store::find(&mut tx, &id).await?;
    let row = row.ok_or_else(|| ApiError::not_found("key"))?;
    require_owner_or(
        &caller,
        &row.user_id,
        Permission::KeysWrite,
        "revoke other users' keys",
    )?;
    if row.revoked_at.is_some() {
        return Err(ApiError::new(
            gatehouse_api::ErrorCode::Conflict,
            "The key is already revoked.",
        ));
    }
    let revision = next_revision(&mut tx).await?;
    store::revoke(&mut tx, &id, revision).await?;
    audit::record(
        &mut tx,
        Some(&caller.user_id),
        "key.revoked",
        "api_key",
        &id,
        json!({ "before": row.into_api() }),
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// This module's operations, which the gateway's router merges with the others'.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(revoke))
}
