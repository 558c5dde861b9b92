//! The `/v1` HTTP endpoints: requests in, OpenAI-style answers and errors out.

use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRef, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde_json::{Value, json};

use crate::principal::ModelEntry;
use crate::{
    BODY_LIMIT, ChatRequest, DataPlane, DataPlaneError, Mode, WORKSPACE_HEADER, check_key,
    check_status,
};

fn header_str<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// `POST /v1/chat/completions`. It takes the request whole, not `HeaderMap` and `Bytes`, whose
/// extractors copy the headers.
async fn chat_completions(
    State(plane): State<Arc<DataPlane>>,
    request: axum::extract::Request,
) -> Response {
    let at = Utc::now();
    let (parts, body) = request.into_parts();
    let headers = &parts.headers;
    let request = match axum::body::to_bytes(body, BODY_LIMIT).await {
        Ok(bytes) => ChatRequest::parse(bytes),
        Err(e) if too_large(&e) => Err(DataPlaneError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request_error",
            "request_too_large",
            format!("The request body is larger than {BODY_LIMIT} bytes."),
        )),
        Err(_) => Err(DataPlaneError::bad_request(
            None,
            "The request body could not be read.",
        )),
    };
    let authorization = header_str(headers, header::AUTHORIZATION.as_str());
    let workspace = header_str(headers, WORKSPACE_HEADER);
    // A client that goes away drops this future wherever it is: admission only touches the
    // node's counters (never half-way), and a request dropped after it was admitted is metered
    // by its `Call` as it goes.
    let opened = plane
        .open(
            Some(&plane),
            authorization,
            request,
            workspace,
            at,
            &mut Mode::Live,
        )
        .await;
    let (mut call, request) = match opened {
        Ok(opened) => opened,
        Err(e) => return e.into_response(),
    };
    if request.stream {
        return plane.stream(call, request).await;
    }
    let (outcome, status, usage) = plane.complete(&call, &request).await;
    plane.finish(call.finished(status, usage, Utc::now()));
    outcome.into_response()
}

/// Whether reading a body failed because it passed its limit.
fn too_large(e: &axum::Error) -> bool {
    gatehouse_api::causes(e).any(|c| c.is::<http_body_util::LengthLimitError>())
}

/// `GET /v1/models`: the models granted to the key's user.
async fn list_models(State(plane): State<Arc<DataPlane>>, headers: HeaderMap) -> Response {
    let listed = async {
        plane.start_sync();
        let (snapshot, principal) = plane
            .lookup(header_str(&headers, header::AUTHORIZATION.as_str()), true)
            .await?;
        check_key(&principal, Utc::now())?;
        check_status(&principal)?;
        let mut models: Vec<&Arc<ModelEntry>> = snapshot
            .models
            .values()
            .filter(|m| principal.grants.contains(&m.id))
            .collect();
        models.sort_by(|a, b| a.id.cmp(&b.id));
        let data: Vec<Value> = models
            .iter()
            .map(|m| {
                json!({
                    "id": m.id,
                    "object": "model",
                    "created": m.created.timestamp(),
                    "owned_by": m.provider.as_str(),
                })
            })
            .collect();
        Ok::<_, DataPlaneError>(json!({ "object": "list", "data": data }))
    };
    match listed.await {
        Ok(body) => axum::Json(body).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn unknown_path() -> Response {
    DataPlaneError::new(
        StatusCode::NOT_FOUND,
        "invalid_request_error",
        "unknown_url",
        "The data plane serves POST /v1/chat/completions and GET /v1/models.",
    )
    .into_response()
}

/// The `/v1` routes, outside the admin API's problem+json conventions, for any state the
/// node's data plane can be taken from.
pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Arc<DataPlane>: FromRef<S>,
{
    use axum::routing::{any, get, post};
    Router::new()
        .route("/v1/chat/completions", post(chat_completions))
        .route("/v1/models", get(list_models))
        .route("/v1/{*rest}", any(unknown_path))
        .method_not_allowed_fallback(|| async {
            DataPlaneError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "invalid_request_error",
                "method_not_allowed",
                "This path does not take that method.",
            )
            .into_response()
        })
}
