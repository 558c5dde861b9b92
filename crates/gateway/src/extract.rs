//! Extractors whose rejections are problem+json like every other error.

use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// `Query<T>` that answers a bad query string with `validation_failed`.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(value)) => Ok(Self(value)),
            Err(rejection) => {
                let text = rejection.body_text();
                let message = text
                    .strip_prefix("Failed to deserialize query string: ")
                    .unwrap_or(&text);
                Err(ApiError::invalid("query", message.to_owned()))
            }
        }
    }
}

/// `Json<T>` whose rejections are problem+json: 413 `payload_too_large` past the body limit,
/// 422 `validation_failed` for malformed JSON, a wrong content type, wrong types or unknown
/// fields (the wire types deny them).
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> axum::extract::FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        use axum::extract::rejection::JsonRejection;
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => {
                if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    return Err(ApiError::new(
                        gatehouse_api::ErrorCode::PayloadTooLarge,
                        format!(
                            "The request body is larger than {} bytes.",
                            crate::BODY_LIMIT
                        ),
                    ));
                }
                let message = match &rejection {
                    JsonRejection::MissingJsonContentType(_) => {
                        "expected Content-Type: application/json".to_owned()
                    }
                    other => other.body_text(),
                };
                Err(ApiError::invalid("body", message))
            }
        }
    }
}

/// An optional body: none without a `Content-Type`, else as [`ApiJson`] reads it.
impl<T: DeserializeOwned, S: Send + Sync> axum::extract::OptionalFromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(
        req: axum::extract::Request,
        state: &S,
    ) -> Result<Option<Self>, ApiError> {
        if !req.headers().contains_key(axum::http::header::CONTENT_TYPE) {
            return Ok(None);
        }
        <Self as axum::extract::FromRequest<S>>::from_request(req, state)
            .await
            .map(Some)
    }
}

/// `Path<T>` that answers a bad path segment with `validation_failed`.
#[derive(Debug)]
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Self(value)),
            Err(rejection) => Err(ApiError::invalid("path", rejection.body_text())),
        }
    }
}
