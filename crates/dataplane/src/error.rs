//! The data plane's errors, in OpenAI's shape (`{"error": {"message", "type", "code", "param"}}`)
//! rather than the admin API's problem+json, so that OpenAI client libraries raise their usual
//! exceptions. A refusal by a limit or a budget adds `limit`: what was hit, whose it is and when
//! it resets, with `Retry-After`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use gatehouse_api::SubjectKind;
use serde::Serialize;
use serde_json::json;

/// The limit or budget cap a 429 names.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LimitHit {
    /// `requests_per_min`, `input_tokens_per_min`, `output_tokens_per_min`, `max_concurrent`,
    /// `daily_usd`, `weekly_usd` or `monthly_usd`.
    pub name: &'static str,
    /// Whose limit: the caller's own (`user`), one of their groups' (`group`) or the API key's
    /// (`key`).
    pub scope: SubjectKind,
    /// The user's or the group's id.
    pub subject_id: String,
    /// The limit's value (a count, tokens, or USD).
    pub value: f64,
    /// What is used of it in the current window or period (for `max_concurrent`, the requests
    /// in flight; for budgets, USD spent).
    pub used: f64,
    /// When the window or period ends and the limit frees up; `None` for `max_concurrent`,
    /// which frees up when a request in flight ends.
    pub resets_at: Option<DateTime<Utc>>,
    /// The same as the `Retry-After` header.
    pub retry_after_secs: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DataPlaneError {
    pub status: StatusCode,
    /// OpenAI's `type`: `invalid_request_error`, `permission_error`, `rate_limit_error`,
    /// `insufficient_quota`, `upstream_error` or `server_error`.
    pub kind: &'static str,
    pub code: &'static str,
    pub message: String,
    pub param: Option<&'static str>,
    pub limit: Option<Box<LimitHit>>,
    /// `Retry-After` when there is no `limit` to take it from (an upstream's own 429).
    pub retry_after_secs: Option<u64>,
}

impl DataPlaneError {
    pub fn new(
        status: StatusCode,
        kind: &'static str,
        code: &'static str,
        message: impl Into<String>,
    ) -> Self {
        Self {
            status,
            kind,
            code,
            message: message.into(),
            param: None,
            limit: None,
            retry_after_secs: None,
        }
    }

    pub fn missing_key() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "invalid_request_error",
            "missing_api_key",
            "No API key: send it as `Authorization: Bearer gk_…`.",
        )
    }

    pub fn invalid_key() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "invalid_request_error",
            "invalid_api_key",
            "The API key is not valid.",
        )
    }

    pub fn revoked_key() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "invalid_request_error",
            "invalid_api_key",
            "The API key has been revoked.",
        )
    }

    pub fn expired_key(at: DateTime<Utc>) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "invalid_request_error",
            "expired_api_key",
            format!(
                "The API key expired at {}; ask for a new one or a later expiry.",
                at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ),
        )
    }

    /// A secret a rotation replaced, after its grace period.
    pub fn rotated_key(at: DateTime<Utc>) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "invalid_request_error",
            "invalid_api_key",
            format!(
                "This secret of the API key was replaced by a rotation and stopped working at {}.",
                at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ),
        )
    }

    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "permission_error", code, message)
    }

    pub fn bad_request(param: Option<&'static str>, message: impl Into<String>) -> Self {
        Self {
            param,
            ..Self::new(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                "invalid_request",
                message,
            )
        }
    }

    pub fn model_not_found(model: &str) -> Self {
        let shown: String = model.chars().take(64).collect();
        Self {
            param: Some("model"),
            ..Self::new(
                StatusCode::NOT_FOUND,
                "invalid_request_error",
                "model_not_found",
                format!("The model {shown:?} does not exist."),
            )
        }
    }

    /// 429 for `hit`, whose code says whether a rate limit or a budget refused.
    pub fn limited(hit: LimitHit, message: String) -> Self {
        let (kind, code) = if hit.name.ends_with("_usd") {
            ("insufficient_quota", "budget_exceeded")
        } else {
            ("rate_limit_error", "rate_limit_exceeded")
        };
        Self {
            limit: Some(Box::new(hit)),
            ..Self::new(StatusCode::TOO_MANY_REQUESTS, kind, code, message)
        }
    }

    pub fn upstream(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self::new(status, "upstream_error", code, message)
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "internal_error",
            "The gateway failed to handle this request.",
        )
    }

    pub fn retry_after(&self) -> Option<u64> {
        self.limit
            .as_ref()
            .map(|l| l.retry_after_secs)
            .or(self.retry_after_secs)
    }

    pub fn body(&self) -> serde_json::Value {
        let mut error = json!({
            "message": self.message,
            "type": self.kind,
            "code": self.code,
            "param": self.param,
        });
        if let Some(limit) = &self.limit {
            error["limit"] = json!(limit);
        }
        json!({ "error": error })
    }
}

impl From<sqlx::Error> for DataPlaneError {
    fn from(e: sqlx::Error) -> Self {
        tracing::error!(error = %e, "data plane: database error");
        Self::internal()
    }
}

impl IntoResponse for DataPlaneError {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(self.body())).into_response();
        if let Some(secs) = self.retry_after() {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

pub type DpResult<T> = Result<T, DataPlaneError>;
