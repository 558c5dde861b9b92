//! SCIM 2.0 provisioning at `/scim/v2` (RFC 7643, RFC 7644): an identity provider (Entra ID,
//! Okta, Google, Keycloak) creates, updates, suspends and deletes users and groups here with a
//! SCIM token an admin made (`tokens`). Its own error shape and media type
//! (`application/scim+json`), not the admin API's problem+json.
//!
//! Resources are read as JSON documents in their SCIM form (`users`, `groups`), which filters
//! (`filter`), projections (`attributes`/`excludedAttributes`) and PATCH (`patch`) work on; a
//! PATCH is applied to that document and the result written like a PUT, so both take one path
//! into the accounts and groups the admin API manages.

pub mod filter;
mod groups;
pub mod patch;
mod schema;
pub mod tokens;
mod users;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::header::{self, AUTHORIZATION, CONTENT_TYPE, ETAG};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::error::ApiError;

pub const SCIM_JSON: &str = "application/scim+json";
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
pub const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const SEARCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
/// Results per page when the provider asks for no `count`, and the most it may ask for.
const DEFAULT_COUNT: usize = 100;
const MAX_COUNT: usize = 1000;

/// A SCIM error (RFC 7644 §3.12).
#[derive(Debug, Clone)]
pub struct ScimError {
    pub status: StatusCode,
    pub scim_type: Option<&'static str>,
    pub detail: String,
}

impl ScimError {
    pub fn new(
        status: StatusCode,
        scim_type: Option<&'static str>,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            status,
            scim_type,
            detail: detail.into(),
        }
    }

    pub fn bad(scim_type: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, Some(scim_type), detail)
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, None, format!("No such {what}."))
    }

    pub fn uniqueness(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, Some("uniqueness"), detail)
    }
}

/// The admin API's rules answer in problem+json; here the same refusal in SCIM's words.
impl From<ApiError> for ScimError {
    fn from(e: ApiError) -> Self {
        if matches!(e, ApiError::Db(_) | ApiError::Internal(_)) {
            tracing::error!(error = %e, "SCIM request failed");
        }
        let problem = e.problem();
        let status =
            StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let scim_type = match status {
            StatusCode::UNPROCESSABLE_ENTITY => Some("invalidValue"),
            _ => None,
        };
        let detail = match &problem.errors {
            Some(errors) if !errors.is_empty() => errors
                .iter()
                .map(|f| format!("{} {}", f.field, f.message))
                .collect::<Vec<_>>()
                .join("; "),
            _ => problem.detail.clone(),
        };
        // SCIM has no 422: a value the rules refuse is a bad request.
        let status = if status == StatusCode::UNPROCESSABLE_ENTITY {
            StatusCode::BAD_REQUEST
        } else {
            status
        };
        Self::new(status, scim_type, detail)
    }
}

impl From<sqlx::Error> for ScimError {
    fn from(e: sqlx::Error) -> Self {
        ApiError::Db(e).into()
    }
}

impl IntoResponse for ScimError {
    fn into_response(self) -> Response {
        let mut body = json!({
            "schemas": [ERROR_SCHEMA],
            "status": self.status.as_u16().to_string(),
            "detail": self.detail,
        });
        if let Some(t) = self.scim_type {
            body["scimType"] = json!(t);
        }
        scim_response(self.status, &body, None)
    }
}

pub type ScimResult<T> = Result<T, ScimError>;

/// `body` as `application/scim+json`, with its `ETag` when it has a version.
pub fn scim_response(status: StatusCode, body: &Value, version: Option<&str>) -> Response {
    let mut response = (status, body.to_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
    if let Some(v) = version.and_then(|v| HeaderValue::from_str(v).ok()) {
        headers.insert(ETAG, v);
    }
    response
}

/// A resource as answered: `status` and the document with its ETag.
pub fn resource_response(status: StatusCode, resource: &Value) -> Response {
    let version = resource["meta"]["version"].as_str();
    scim_response(status, resource, version)
}

/// A resource just made: 201, with its `Location`.
pub fn created_response(resource: &Value) -> Response {
    let mut response = resource_response(StatusCode::CREATED, resource);
    if let Some(location) = resource["meta"]["location"]
        .as_str()
        .and_then(|l| HeaderValue::from_str(l).ok())
    {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

/// `meta.version` of a row at `revision`: a weak ETag, as the document is rebuilt on each read.
pub fn version(revision: i64) -> String {
    format!("W/\"{revision}\"")
}

/// A provider's `If-Match`: the change goes ahead only on the version it read.
pub fn check_if_match(headers: &HeaderMap, current: &str) -> ScimResult<()> {
    let Some(wanted) = headers.get("if-match") else {
        return Ok(());
    };
    let wanted = wanted.to_str().unwrap_or_default().trim();
    let strip = |v: &str| v.trim_start_matches("W/").trim_matches('"').to_owned();
    if wanted == "*" || wanted.split(',').any(|w| strip(w.trim()) == strip(current)) {
        Ok(())
    } else {
        Err(ScimError::new(
            StatusCode::PRECONDITION_FAILED,
            None,
            "The resource changed since the version in If-Match.",
        ))
    }
}

/// A request body as JSON, whatever media type the provider labelled it with (SCIM's own or
/// plain JSON; some providers send neither).
pub fn parse_body(body: &Bytes) -> ScimResult<Value> {
    match serde_json::from_slice::<Value>(body) {
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(_) => Err(ScimError::bad(
            "invalidSyntax",
            "The body is not a JSON object.",
        )),
        Err(e) => Err(ScimError::bad(
            "invalidSyntax",
            format!("The body is not JSON: {e}."),
        )),
    }
}

/// What a write does to a resource as read: a PUT's whole new document, or a PATCH's
/// operations on it.
pub enum Edit {
    Replace(Value),
    Patch(Value),
}

impl Edit {
    pub fn from_request(method: &axum::http::Method, body: &Bytes) -> ScimResult<Self> {
        let body = parse_body(body)?;
        Ok(if method == axum::http::Method::PATCH {
            Self::Patch(body)
        } else {
            Self::Replace(body)
        })
    }

    /// The document the resource is to become.
    pub fn apply(self, mut doc: Value) -> ScimResult<Value> {
        match self {
            Self::Replace(new) => Ok(new),
            Self::Patch(operations) => {
                patch::apply(&mut doc, &operations)?;
                Ok(doc)
            }
        }
    }
}

/// The provider calling: a SCIM token's id and name, which its changes are audited under.
#[derive(Debug, Clone)]
pub struct ScimCaller {
    pub token_id: String,
    pub token_name: String,
}

impl ScimCaller {
    /// What the audit entry of a change says besides `before` and `after`.
    pub fn via(&self) -> Value {
        json!({ "via": "scim", "scim_token": self.token_name })
    }
}

impl FromRequestParts<AppState> for ScimCaller {
    type Rejection = ScimError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ScimResult<Self> {
        let unauthorized = || {
            ScimError::new(
                StatusCode::UNAUTHORIZED,
                None,
                "A valid SCIM bearer token is required.",
            )
        };
        let token = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| t.starts_with(tokens::SCIM_TOKEN_PREFIX))
            .ok_or_else(unauthorized)?;
        let row = gatehouse_store::scim::token_by_hash(&state.db.pool, &crate::hash_secret(token))
            .await?
            .ok_or_else(unauthorized)?;
        touch(state, &row.id, row.last_used_at.as_deref());
        Ok(Self {
            token_id: row.id,
            token_name: row.name,
        })
    }
}

/// Records, in the background and at most once a minute, that a token was used.
fn touch(state: &AppState, id: &str, last_used_at: Option<&str>) {
    let now = chrono::Utc::now();
    if last_used_at
        .is_some_and(|t| crate::db::parse_timestamp(t) > now - chrono::Duration::minutes(1))
    {
        return;
    }
    let (db, id) = (state.db.clone(), id.to_owned());
    tokio::spawn(async move {
        let result = async {
            let mut tx = db.begin_write().await?;
            gatehouse_store::scim::touch_token(&mut tx, &id, &crate::db::timestamp(now)).await?;
            tx.commit().await
        }
        .await;
        if let Err(e) = result {
            tracing::warn!(error = %e, "could not record SCIM token use");
        }
    });
}

/// `attributes`, `excludedAttributes`, `filter`, `startIndex` and `count` of a query string or
/// a `.search` body.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListParams {
    pub filter: Option<String>,
    pub attributes: Option<Projection>,
    pub excluded_attributes: Option<Projection>,
    pub start_index: Option<Number>,
    pub count: Option<Number>,
    #[serde(default)]
    pub schemas: Vec<String>,
    pub sort_by: Option<String>,
    pub sort_order: Option<String>,
}

/// A number as a query string (text) or a `.search` body (JSON number) carries it.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Number {
    Int(i64),
    Text(String),
}

impl Number {
    fn value(&self, name: &str) -> ScimResult<i64> {
        match self {
            Self::Int(n) => Ok(*n),
            Self::Text(t) => t
                .trim()
                .parse()
                .map_err(|_| ScimError::bad("invalidValue", format!("{name} is not a number."))),
        }
    }
}

/// Attribute names as a comma-separated query value or a `.search` body's array.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Projection {
    List(Vec<String>),
    Text(String),
}

impl Projection {
    pub fn names(&self) -> Vec<String> {
        let raw: Vec<String> = match self {
            Self::List(l) => l.clone(),
            Self::Text(t) => t.split(',').map(str::to_owned).collect(),
        };
        raw.into_iter()
            .map(|n| n.trim().to_owned())
            .filter(|n| !n.is_empty())
            .collect()
    }
}

/// Just the projection of a single-resource GET.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProjectionParams {
    pub attributes: Option<Projection>,
    pub excluded_attributes: Option<Projection>,
}

impl ProjectionParams {
    pub fn apply(&self, resource: Value) -> Value {
        schema::project(
            resource,
            self.attributes.as_ref().map(Projection::names).as_deref(),
            self.excluded_attributes
                .as_ref()
                .map(Projection::names)
                .as_deref(),
        )
    }
}

/// A query string SCIM's way: its errors are SCIM errors.
pub struct ScimQuery<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ScimQuery<T> {
    type Rejection = ScimError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> ScimResult<Self> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(v)| Self(v))
            .map_err(|e| ScimError::bad("invalidValue", e.body_text()))
    }
}

/// One page of `resources` (all of one or several types, in their order) as `params` ask.
pub fn list_response(resources: Vec<Value>, params: &ListParams) -> ScimResult<Response> {
    let filter = match params.filter.as_deref().map(str::trim) {
        Some(f) if !f.is_empty() => Some(f.parse::<scim_v2::filter::Filter>().map_err(|e| {
            ScimError::bad("invalidFilter", format!("The filter cannot be read: {e}"))
        })?),
        _ => None,
    };
    let mut matched: Vec<Value> = match &filter {
        Some(f) => resources
            .into_iter()
            .filter(|r| filter::matches(f, r))
            .collect(),
        None => resources,
    };
    if let Some(by) = params.sort_by.as_deref() {
        let key = |r: &Value| filter::sort_key(r, by);
        matched.sort_by_key(key);
        if params
            .sort_order
            .as_deref()
            .is_some_and(|o| o.eq_ignore_ascii_case("descending"))
        {
            matched.reverse();
        }
    }
    let total = matched.len();
    // startIndex is 1-based; less than 1 means 1 (RFC 7644 §3.4.2.4).
    let start = match &params.start_index {
        Some(n) => n.value("startIndex")?.max(1) as usize,
        None => 1,
    };
    let count = match &params.count {
        Some(n) => n.value("count")?.clamp(0, MAX_COUNT as i64) as usize,
        None => DEFAULT_COUNT,
    };
    let attributes = params.attributes.as_ref().map(Projection::names);
    let excluded = params.excluded_attributes.as_ref().map(Projection::names);
    let from = (start - 1).min(matched.len());
    let page: Vec<Value> = matched
        .split_off(from)
        .into_iter()
        .take(count)
        .map(|r| schema::project(r, attributes.as_deref(), excluded.as_deref()))
        .collect();
    Ok(scim_response(
        StatusCode::OK,
        &json!({
            "schemas": [LIST_SCHEMA],
            "totalResults": total,
            "startIndex": start,
            "itemsPerPage": page.len(),
            "Resources": page,
        }),
        None,
    ))
}

/// `POST /.search` at the root: users and groups together.
async fn search_all(
    State(state): State<AppState>,
    _caller: ScimCaller,
    body: Bytes,
) -> ScimResult<Response> {
    let params = search_params(&body)?;
    let base = base_url(&state);
    let mut all = users::all(&state, &base).await?;
    all.extend(groups::all(&state, &base).await?);
    list_response(all, &params)
}

/// A `.search` body.
pub fn search_params(body: &Bytes) -> ScimResult<ListParams> {
    let value = parse_body(body)?;
    serde_json::from_value(value).map_err(|e| {
        ScimError::bad(
            "invalidSyntax",
            format!("The search request is not valid: {e}."),
        )
    })
}

/// Where the SCIM resources live, as the provider reaches them.
pub fn base_url(state: &AppState) -> String {
    format!("{}/scim/v2", state.public_url)
}

async fn not_found() -> ScimError {
    ScimError::not_found("SCIM endpoint at this path")
}

async fn method_not_allowed() -> ScimError {
    ScimError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        None,
        "This SCIM endpoint does not take that method.",
    )
}

/// The `/scim/v2` routes, with SCIM's errors for unknown paths and methods.
pub fn router() -> Router<AppState> {
    let v2 = Router::new()
        .route(
            "/ServiceProviderConfig",
            get(schema::service_provider_config),
        )
        .route("/ResourceTypes", get(schema::resource_types))
        .route("/ResourceTypes/{id}", get(schema::resource_type))
        .route("/Schemas", get(schema::schemas))
        .route("/Schemas/{id}", get(schema::schema))
        .route("/Users", get(users::list).post(users::create))
        .route("/Users/.search", post(users::search))
        .route(
            "/Users/{id}",
            get(users::show)
                .put(users::update)
                .patch(users::update)
                .delete(users::delete),
        )
        .route("/Groups", get(groups::list).post(groups::create))
        .route("/Groups/.search", post(groups::search))
        .route(
            "/Groups/{id}",
            get(groups::show)
                .put(groups::update)
                .patch(groups::update)
                .delete(groups::delete),
        )
        .route("/.search", post(search_all))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed);
    Router::new().nest("/scim/v2", v2)
}
