use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use gatehouse_api::{ErrorCode, FieldError, PROBLEM_JSON, Problem};

/// Every error a handler returns. It becomes a problem+json response; internal causes are
/// logged here and never sent.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    Problem(Problem),
    /// A problem the client may retry after `retry_after_secs`, sent with `Retry-After`.
    #[error("{problem}")]
    Retry {
        problem: Problem,
        retry_after_secs: u64,
    },
    #[error("database: {0}")]
    Db(sqlx::Error),
    #[error("internal: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self::Problem(Problem::new(code, detail))
    }

    pub fn unauthorized() -> Self {
        Self::new(ErrorCode::Unauthorized, "A valid bearer token is required.")
    }

    pub fn forbidden(what: &str) -> Self {
        Self::new(ErrorCode::Forbidden, format!("Your role may not {what}."))
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(ErrorCode::NotFound, format!("No such {what}."))
    }

    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        Self::Problem(
            Problem::new(ErrorCode::ValidationFailed, format!("{field}: {message}")).with_errors(
                vec![FieldError {
                    field: field.to_owned(),
                    message,
                }],
            ),
        )
    }

    /// 429 `rate_limited` with `Retry-After`.
    pub fn rate_limited(detail: impl Into<String>, retry_after_secs: u64) -> Self {
        Self::Retry {
            problem: Problem::new(ErrorCode::RateLimited, detail),
            retry_after_secs,
        }
    }

    pub fn problem(&self) -> Problem {
        match self {
            Self::Problem(p) | Self::Retry { problem: p, .. } => p.clone(),
            Self::Db(_) | Self::Internal(_) => Problem::new(
                ErrorCode::Internal,
                "The gateway failed to handle this request.",
            ),
        }
    }
}

impl From<gatehouse_api::FieldError> for ApiError {
    fn from(e: gatehouse_api::FieldError) -> Self {
        Self::invalid(&e.field, e.message)
    }
}

impl From<sqlx::Error> for ApiError {
    /// A constraint that two concurrent requests raced for is the client's conflict, not a
    /// server failure; everything else is internal.
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &e {
            if db.is_unique_violation() {
                return Self::new(
                    ErrorCode::Conflict,
                    "That conflicts with a change made at the same time; try again.",
                );
            }
            if db.is_foreign_key_violation() {
                return Self::new(
                    ErrorCode::Conflict,
                    "Something this refers to was removed at the same time; try again.",
                );
            }
        }
        Self::Db(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if matches!(self, Self::Db(_) | Self::Internal(_)) {
            tracing::error!(error = %self, "request failed");
        }
        let mut response = problem_response(&self.problem());
        if let Self::Retry {
            retry_after_secs, ..
        } = self
        {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
        }
        response
    }
}

pub fn problem_response(problem: &Problem) -> Response {
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, axum::Json(problem)).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    response
}

pub type ApiResult<T> = Result<T, ApiError>;
