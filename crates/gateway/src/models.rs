//! The model catalog's `/admin/v1/models` handlers and its rules (ids, prices, upstream URLs);
//! its rows are the store's (`gatehouse_store::models`).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use gatehouse_api::{
    ErrorCode, FieldError, ListQuery, Model, ModelCreate, ModelPatch, Page, Problem, Provider,
};
use gatehouse_store::models as store;
pub use gatehouse_store::models::{MODEL_COLUMNS, ModelRow, changed_since};
use serde_json::json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Caller;
use crate::dataplane::UpstreamNets;
use crate::db::{Tx, next_revision};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::permissions::Permission;
use crate::{AppState, validate};

const MAX_ID_LEN: usize = 64;
const MAX_NAME_LEN: usize = 200;
const MAX_URL_LEN: usize = 2048;

/// Lower-case letters, digits, `.`, `-` and `_`, 1 to 64 characters: the id appears in URLs,
/// in the data plane's `model` field and in CSV exports, so it must need no escaping anywhere.
pub fn is_model_id(id: &str) -> bool {
    (1..=MAX_ID_LEN).contains(&id.len())
        && id
            .bytes()
            .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'_'))
}

/// The highest price per million tokens a model may have. The dearest models listed anywhere
/// cost a few hundred dollars per million tokens; past this a typo (or 1e308, which turns every
/// sum of costs into infinity) would make every budget meaningless.
pub const MAX_USD_PER_MTOK: f64 = 10_000.0;

fn check_price(field: &str, price: f64, errors: &mut Vec<FieldError>) {
    if !(price.is_finite() && (0.0..=MAX_USD_PER_MTOK).contains(&price)) {
        errors.push(FieldError {
            field: field.to_owned(),
            message: format!(
                "must be a price in USD per million tokens, from 0 to {MAX_USD_PER_MTOK}"
            ),
        });
    }
}

/// The URL must be one the data plane will call: see [`UpstreamNets::check_model_url`].
fn check_url(
    url: Option<&str>,
    provider: Provider,
    nets: &UpstreamNets,
    errors: &mut Vec<FieldError>,
) {
    let field = "upstream_base_url".to_owned();
    match url {
        None if provider == Provider::Openai => errors.push(FieldError {
            field,
            message: "is required for the openai provider".to_owned(),
        }),
        None => {}
        Some(u) => {
            let checked = if u.len() > MAX_URL_LEN {
                Err("must be an http:// or https:// URL".to_owned())
            } else {
                nets.check_model_url(u).map(drop)
            };
            if let Err(message) = checked {
                errors.push(FieldError { field, message });
            }
        }
    }
}

/// Every problem of a model at once, so that a form can mark all bad fields in one round trip.
/// `nets`: the non-public ranges the gateway's configuration lets upstreams be in.
fn validate(model: &ModelCreate, nets: &UpstreamNets) -> ApiResult<()> {
    let mut errors = Vec::new();
    if !is_model_id(&model.id) {
        errors.push(FieldError {
            field: "id".to_owned(),
            message: "must be 1 to 64 lower-case letters, digits, '.', '-' or '_'".to_owned(),
        });
    }
    let name = model.display_name.trim();
    let name_problem = if name.is_empty() || name.chars().count() > MAX_NAME_LEN {
        Some(format!("must be 1 to {MAX_NAME_LEN} characters"))
    } else {
        validate::unsafe_characters(name).map(str::to_owned)
    };
    if let Some(message) = name_problem {
        errors.push(FieldError {
            field: "display_name".to_owned(),
            message,
        });
    }
    check_url(
        model.upstream_base_url.as_deref(),
        model.provider,
        nets,
        &mut errors,
    );
    check_price("input_usd_per_mtok", model.input_usd_per_mtok, &mut errors);
    check_price(
        "output_usd_per_mtok",
        model.output_usd_per_mtok,
        &mut errors,
    );
    if errors.is_empty() {
        return Ok(());
    }
    let detail = errors
        .iter()
        .map(|e| format!("{}: {}", e.field, e.message))
        .collect::<Vec<_>>()
        .join("; ");
    Err(ApiError::Problem(
        Problem::new(ErrorCode::ValidationFailed, detail).with_errors(errors),
    ))
}

/// Validates and adds a model to the catalog, with its audit entry, in `tx`. An id already in
/// the catalog is `conflict`.
pub async fn insert(
    tx: &mut Tx,
    model: &ModelCreate,
    nets: &UpstreamNets,
    actor: Option<&str>,
) -> ApiResult<Model> {
    let model = ModelCreate {
        display_name: model.display_name.trim().to_owned(),
        upstream_base_url: model
            .upstream_base_url
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .map(str::to_owned),
        ..model.clone()
    };
    validate(&model, nets)?;
    let revision = next_revision(tx).await?;
    if !store::insert(tx, &model, revision).await? {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!("A model with the id {:?} already exists.", model.id),
        ));
    }
    let created = store::find(&mut **tx, &model.id)
        .await?
        .ok_or_else(|| ApiError::Internal("model vanished after insert".into()))?;
    crate::audit::record(
        tx,
        actor,
        "model.created",
        "model",
        &created.id,
        json!({ "after": created }),
    )
    .await?;
    Ok(created)
}

/// List the model catalog
#[utoipa::path(
    get, path = "/admin/v1/models", tag = "models",
    params(ListQuery),
    responses(
        (status = 200, description = "One page of models, ordered by id", body = Page<Model>),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role may not read models", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A bad limit or cursor", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> ApiResult<Json<Page<Model>>> {
    caller.require(Permission::ModelsRead, "read models")?;
    let limit = gatehouse_api::page_limit(query.limit)?;
    let after = query
        .cursor
        .as_deref()
        .map(crate::cursor::decode)
        .transpose()?;
    let rows = store::page(&state.db.pool, after, limit + 1).await?;
    let page = crate::cursor::paginate(rows, limit, |r| r.id.clone());
    Ok(Json(Page {
        items: page.items.into_iter().map(ModelRow::into_api).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// Add a model to the catalog
#[utoipa::path(
    post, path = "/admin/v1/models", tag = "models",
    request_body = ModelCreate,
    responses(
        (status = 201, description = "The new model", body = Model),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role may not change models", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A model with this id exists (`conflict`)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is too large", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A bad id, URL or price", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<ModelCreate>,
) -> ApiResult<(StatusCode, Json<Model>)> {
    caller.require(Permission::ModelsWrite, "change models")?;
    let mut tx = state.db.begin_write().await?;
    let nets = state.data_plane.upstream_nets();
    let model = insert(&mut tx, &body, nets, Some(&caller.user_id)).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(model)))
}

/// One model of the catalog
#[utoipa::path(
    get, path = "/admin/v1/models/{id}", tag = "models",
    params(("id" = String, Path, description = "The model's id")),
    responses(
        (status = 200, description = "The model", body = Model),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role may not read models", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such model", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Model>> {
    caller.require(Permission::ModelsRead, "read models")?;
    store::find(&state.db.pool, &id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found("model"))
}

/// Change a model; only the fields present change
///
/// An empty `upstream_base_url` removes the URL, which only an `echo` model may lack. The id
/// cannot change: grants and usage refer to it.
#[utoipa::path(
    patch, path = "/admin/v1/models/{id}", tag = "models",
    params(("id" = String, Path, description = "The model's id")),
    request_body = ModelPatch,
    responses(
        (status = 200, description = "The changed model", body = Model),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role may not change models", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such model", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is too large", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A bad URL or price", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn patch(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<ModelPatch>,
) -> ApiResult<Json<Model>> {
    caller.require(Permission::ModelsWrite, "change models")?;
    let mut tx = state.db.begin_write().await?;
    let before = store::find(&mut *tx, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("model"))?;
    let upstream_base_url = match body.upstream_base_url {
        Some(u) if u.trim().is_empty() => None,
        Some(u) => Some(u.trim().to_owned()),
        None => before.upstream_base_url.clone(),
    };
    let merged = ModelCreate {
        id: before.id.clone(),
        display_name: body
            .display_name
            .as_deref()
            .map_or_else(|| before.display_name.clone(), |n| n.trim().to_owned()),
        provider: body.provider.unwrap_or(before.provider),
        upstream_base_url,
        input_usd_per_mtok: body.input_usd_per_mtok.unwrap_or(before.input_usd_per_mtok),
        output_usd_per_mtok: body
            .output_usd_per_mtok
            .unwrap_or(before.output_usd_per_mtok),
    };
    validate(&merged, state.data_plane.upstream_nets())?;
    let revision = next_revision(&mut tx).await?;
    store::update(&mut tx, &merged, revision).await?;
    let after = store::find(&mut *tx, &id)
        .await?
        .ok_or_else(|| ApiError::Internal("model vanished during update".into()))?;
    crate::audit::record(
        &mut tx,
        Some(&caller.user_id),
        "model.updated",
        "model",
        &id,
        json!({ "before": before, "after": after }),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(after))
}

/// Remove a model from the catalog, with every grant of it
///
/// Usage already recorded for the model is kept.
#[utoipa::path(
    delete, path = "/admin/v1/models/{id}", tag = "models",
    params(("id" = String, Path, description = "The model's id")),
    responses(
        (status = 204, description = "Deleted, with its grants"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role may not change models", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such model", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    caller.require(Permission::ModelsWrite, "change models")?;
    let mut tx = state.db.begin_write().await?;
    let before = store::find(&mut *tx, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("model"))?;
    let revoked = store::delete(&mut tx, &id).await?;
    let profiles = gatehouse_store::profiles::remove_model(&mut tx, &id).await?;
    crate::audit::record(
        &mut tx,
        Some(&caller.user_id),
        "model.deleted",
        "model",
        &id,
        json!({ "before": before, "grants_removed": revoked, "profiles_changed": profiles }),
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// This module's operations, which the gateway's router merges with the others'.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(show, patch, delete))
}
