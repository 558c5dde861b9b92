//! Users' API keys for the data plane: 256 random bits behind a `gk_` prefix, stored as a hash;
//! the secret is shown once.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use gatehouse_api::{
    ApiKey, ApiKeyCreate, ApiKeyCreated, ApiKeyRotate, ApiKeyUpdate, Budget, EffectivePolicy,
    Limits, Secret, SubjectKind,
};
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

/// How long a rotated-out secret may keep working, at most.
const MAX_GRACE_SECONDS: i64 = 7 * 24 * 3600;

/// The key's policy as asked, checked against the owner's effective grants as they are now:
/// a key only narrows what its user was given.
async fn checked_policy(
    tx: &mut Tx,
    user_id: &str,
    expires_at: Option<DateTime<Utc>>,
    model_ids: Option<Vec<String>>,
    limits: Limits,
    mut budget: Budget,
) -> ApiResult<store::KeyPolicyValues> {
    if let Some(at) = expires_at
        && at <= Utc::now()
    {
        return Err(ApiError::invalid("expires_at", "must be in the future"));
    }
    let model_ids = match model_ids {
        None => None,
        Some(mut models) => {
            models.sort();
            models.dedup();
            if models.is_empty() {
                return Err(ApiError::invalid(
                    "model_ids",
                    "must name at least one model; leave it out (null) for every model",
                ));
            }
            if models.len() > 1000 {
                return Err(ApiError::invalid(
                    "model_ids",
                    "must name at most 1000 models",
                ));
            }
            let owner = gatehouse_store::policy::effective(tx, user_id).await?;
            if let Some(other) = models
                .iter()
                .find(|m| !owner.grants.iter().any(|g| &g.model_id == *m))
            {
                let shown: String = other.chars().take(64).collect();
                return Err(ApiError::invalid(
                    "model_ids",
                    format!("{shown:?} is not granted to the key's user"),
                ));
            }
            Some(models)
        }
    };
    crate::policy::validate_limits(&limits)?;
    crate::policy::validate_budget(&mut budget)?;
    Ok(store::KeyPolicyValues {
        expires_at,
        model_ids,
        limits,
        budget,
    })
}

/// The key `id`, for a caller who may act on it: its owner, or a caller with `permission`
/// (403 otherwise, as for revoking).
async fn visible_key(
    tx: &mut Tx,
    caller: &Caller,
    id: &str,
    permission: Permission,
    what: &str,
) -> ApiResult<ApiKey> {
    let row = store::find(tx, id)
        .await?
        .ok_or_else(|| ApiError::not_found("key"))?;
    require_owner_or(caller, &row.user_id, permission, what)?;
    Ok(row.into_api())
}

/// The key `id` for its owner or a caller with `keys.read`.
async fn readable_key(tx: &mut Tx, caller: &Caller, id: &str) -> ApiResult<ApiKey> {
    visible_key(
        tx,
        caller,
        id,
        Permission::KeysRead,
        "read other users' keys",
    )
    .await
}

/// The key `id` for a change by its owner or a caller with `keys.write`; a revoked key changes
/// no more (409).
async fn changeable_key(tx: &mut Tx, caller: &Caller, id: &str, what: &str) -> ApiResult<ApiKey> {
    let key = visible_key(tx, caller, id, Permission::KeysWrite, what).await?;
    not_revoked(&key)?;
    Ok(key)
}

/// The key as changed, after its audit entry `action` (with `before`, the key after, and the
/// fields of `extra`).
async fn audited(
    tx: &mut Tx,
    caller: &Caller,
    action: &str,
    before: ApiKey,
    mut extra: serde_json::Value,
) -> ApiResult<ApiKey> {
    let after = store::find(tx, &before.id)
        .await?
        .ok_or_else(|| ApiError::not_found("key"))?
        .into_api();
    extra["before"] = json!(before);
    extra["after"] = json!(after);
    audit::record(
        tx,
        Some(&caller.user_id),
        action,
        "api_key",
        &after.id,
        extra,
    )
    .await?;
    Ok(after)
}

/// A revoked key changes no more (409).
fn not_revoked(key: &ApiKey) -> ApiResult<()> {
    if key.revoked_at.is_some() {
        return Err(ApiError::new(
            gatehouse_api::ErrorCode::Conflict,
            "The key is revoked.",
        ));
    }
    Ok(())
}

/// One API key (never its secret)
#[utoipa::path(
    get, path = "/admin/v1/keys/{id}", tag = "keys",
    params(("id" = String, Path, description = "Key id")),
    responses(
        (status = 200, description = "The key", body = ApiKey),
        (status = 401, description = "No valid token", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Another user's key, without `keys.read`", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such key", body = gatehouse_api::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<ApiKey>> {
    let mut tx = state.db.begin_read().await?;
    let key = readable_key(&mut tx, &caller, &id).await?;
    tx.commit().await?;
    Ok(Json(key))
}

/// Change an API key's name, expiry, models, limits or budget
///
/// The fields present change; `expires_at` or `model_ids` set to null clears them. The models
/// must be granted to the key's user now; the expiry must be in the future.
#[utoipa::path(
    patch, path = "/admin/v1/keys/{id}", tag = "keys",
    params(("id" = String, Path, description = "Key id")),
    request_body = ApiKeyUpdate,
    responses(
        (status = 200, description = "The key", body = ApiKey),
        (status = 401, description = "No valid token", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Forbidden", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such key", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The key is revoked", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid field", body = gatehouse_api::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<ApiKeyUpdate>,
) -> ApiResult<Json<ApiKey>> {
    let name = input
        .name
        .as_deref()
        .map(|n| validate::text("name", n, 1, 100))
        .transpose()?;
    let mut tx = state.db.begin_write().await?;
    let before = changeable_key(&mut tx, &caller, &id, "change other users' keys").await?;
    let policy_asked = input.expires_at.is_some()
        || input.model_ids.is_some()
        || input.limits.is_some()
        || input.budget.is_some();
    let revision = next_revision(&mut tx).await?;
    if policy_asked {
        // Fields left out keep their values, but an expiry kept as it is need not be in the
        // future again (it may have passed: extending it is what the caller is doing).
        let policy = checked_policy(
            &mut tx,
            &before.user_id,
            input.expires_at.unwrap_or(None),
            input.model_ids.unwrap_or_else(|| before.model_ids.clone()),
            input.limits.unwrap_or_else(|| before.limits.clone()),
            input.budget.unwrap_or_else(|| before.budget.clone()),
        )
        .await?;
        let expires_at = match input.expires_at {
            None => before.expires_at,
            Some(_) => policy.expires_at,
        };
        let policy = store::KeyPolicyValues {
            expires_at,
            ..policy
        };
        store::set_policy(&mut tx, &id, &policy, revision).await?;
    }
    if let Some(name) = &name {
        store::rename(&mut tx, &id, name, revision).await?;
    }
    let after = audited(&mut tx, &caller, "key.updated", before, json!({})).await?;
    // As for a user's budget: a cap lowered below what the key spent crosses thresholds now.
    let raised = if policy_asked {
        let tz = gatehouse_store::usage::org_time_zone(&mut tx).await?;
        let now = chrono::Utc::now();
        gatehouse_store::spend::check_subject_alerts(&mut tx, SubjectKind::Key, &id, now, tz)
            .await?
    } else {
        Vec::new()
    };
    tx.commit().await?;
    if let Err(e) = crate::spend::mail_admins(&state, &raised).await {
        tracing::warn!(error = %e, "the budget alert mails could not be sent");
    }
    Ok(Json(after))
}

/// Give an API key a new secret; the old one keeps working for the grace period
///
/// `grace_hours` or `grace_seconds`, 0 to 7 days (neither: 0): until then both secrets work
/// and are metered to this key. The new secret is returned this once.
#[utoipa::path(
    post, path = "/admin/v1/keys/{id}/rotate", tag = "keys",
    params(("id" = String, Path, description = "Key id")),
    request_body = ApiKeyRotate,
    responses(
        (status = 200, description = "The key and its new secret", body = ApiKeyCreated),
        (status = 401, description = "No valid token", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Forbidden", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such key", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The key is revoked", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A grace outside 0 to 7 days, or both given", body = gatehouse_api::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn rotate(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<ApiKeyRotate>,
) -> ApiResult<Json<ApiKeyCreated>> {
    let grace = match (input.grace_hours, input.grace_seconds) {
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid(
                "grace_seconds",
                "give grace_hours or grace_seconds, not both",
            ));
        }
        (Some(h), None) if (0..=MAX_GRACE_SECONDS / 3600).contains(&h) => h * 3600,
        (Some(_), None) => {
            return Err(ApiError::invalid(
                "grace_hours",
                "must be between 0 and 168",
            ));
        }
        (None, Some(s)) if (0..=MAX_GRACE_SECONDS).contains(&s) => s,
        (None, Some(_)) => {
            return Err(ApiError::invalid(
                "grace_seconds",
                "must be between 0 and 604800 (7 days)",
            ));
        }
        (None, None) => 0,
    };
    let mut tx = state.db.begin_write().await?;
    let before = changeable_key(&mut tx, &caller, &id, "rotate other users' keys").await?;
    let (secret, hash) = new_secret(KEY_PREFIX);
    let prefix: String = secret.expose().chars().take(SHOWN).collect();
    let grace_until = Utc::now() + chrono::Duration::seconds(grace);
    let revision = next_revision(&mut tx).await?;
    store::rotate(&mut tx, &id, &hash, &prefix, grace_until, revision).await?;
    let extra = json!({ "grace_seconds": grace });
    let key = audited(&mut tx, &caller, "key.rotated", before, extra).await?;
    tx.commit().await?;
    Ok(Json(ApiKeyCreated {
        key,
        secret: secret.expose().to_owned(),
    }))
}

/// An API key's effective models, limits and budgets, each with its source
///
/// The strictest of the key's own (`key`), its user's (`user`) and each group's (the group's
/// id); the models are the user's, narrowed by the key's subset.
#[utoipa::path(
    get, path = "/admin/v1/keys/{id}/effective", tag = "keys",
    params(("id" = String, Path, description = "Key id")),
    responses(
        (status = 200, description = "The effective policy", body = EffectivePolicy),
        (status = 401, description = "No valid token", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Another user's key, without `keys.read`", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such key", body = gatehouse_api::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn effective(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<EffectivePolicy>> {
    let mut tx = state.db.begin_read().await?;
    let key = readable_key(&mut tx, &caller, &id).await?;
    let policy = gatehouse_store::policy::key_effective(&mut tx, &key).await?;
    tx.commit().await?;
    Ok(Json(policy))
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
    let policy = checked_policy(
        &mut tx,
        &id,
        input.expires_at,
        input.model_ids,
        input.limits.unwrap_or_default(),
        input.budget.unwrap_or_default(),
    )
    .await?;
    let (key, secret) = insert_with(&mut tx, &id, &name, &policy, &caller.user_id).await?;
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
    insert_with(tx, user_id, name, &store::KeyPolicyValues::default(), actor).await
}

/// [`insert`] with the key's own policy, checked by the caller.
async fn insert_with(
    tx: &mut Tx,
    user_id: &str,
    name: &str,
    policy: &store::KeyPolicyValues,
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
    let key = if *policy == store::KeyPolicyValues::default() {
        key
    } else {
        store::set_policy(tx, &key_id, policy, revision).await?;
        store::find(tx, &key_id)
            .await?
            .ok_or(sqlx::Error::RowNotFound)?
            .into_api()
    };
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
        .routes(routes!(revoke, show, update))
        .routes(routes!(rotate))
        .routes(routes!(effective))
}
