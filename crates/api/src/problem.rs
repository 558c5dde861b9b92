use serde::{Deserialize, Serialize};
use ts_rs::TS;
use utoipa::ToSchema;

/// The machine-readable error codes of the contract. Clients act on these, never on text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema, TS)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    Unauthorized,
    Forbidden,
    AccountSuspended,
    NotFound,
    Conflict,
    SeatLimitReached,
    InviteExpired,
    InviteRevoked,
    InviteUsed,
    // A password-reset link past its hour (plain comments: ts-rs would not render variant docs).
    ResetExpired,
    // A password-reset link already used, or replaced by a newer one.
    ResetUsed,
    ValidationFailed,
    PayloadTooLarge,
    RateLimited,
    BudgetExceeded,
    Internal,
}

impl ErrorCode {
    pub fn status(self) -> u16 {
        match self {
            Self::Unauthorized => 401,
            Self::Forbidden | Self::AccountSuspended => 403,
            Self::NotFound => 404,
            Self::Conflict | Self::SeatLimitReached => 409,
            Self::InviteExpired
            | Self::InviteRevoked
            | Self::InviteUsed
            | Self::ResetExpired
            | Self::ResetUsed => 410,
            Self::PayloadTooLarge => 413,
            Self::ValidationFailed => 422,
            Self::RateLimited | Self::BudgetExceeded => 429,
            Self::Internal => 500,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::AccountSuspended => "account_suspended",
            Self::NotFound => "not_found",
            Self::Conflict => "conflict",
            Self::SeatLimitReached => "seat_limit_reached",
            Self::InviteExpired => "invite_expired",
            Self::InviteRevoked => "invite_revoked",
            Self::InviteUsed => "invite_used",
            Self::ResetExpired => "reset_expired",
            Self::ResetUsed => "reset_used",
            Self::ValidationFailed => "validation_failed",
            Self::PayloadTooLarge => "payload_too_large",
            Self::RateLimited => "rate_limited",
            Self::BudgetExceeded => "budget_exceeded",
            Self::Internal => "internal",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Self::Unauthorized => "Unauthorized",
            Self::Forbidden => "Forbidden",
            Self::AccountSuspended => "Account suspended",
            Self::NotFound => "Not found",
            Self::Conflict => "Conflict",
            Self::SeatLimitReached => "Seat limit reached",
            Self::InviteExpired => "Invitation expired",
            Self::InviteRevoked => "Invitation revoked",
            Self::InviteUsed => "Invitation already used",
            Self::ResetExpired => "Reset link expired",
            Self::ResetUsed => "Reset link already used",
            Self::ValidationFailed => "Validation failed",
            Self::PayloadTooLarge => "Payload too large",
            Self::RateLimited => "Rate limited",
            Self::BudgetExceeded => "Budget exceeded",
            Self::Internal => "Internal server error",
        }
    }
}

/// One invalid field of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, TS)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// An RFC 9457 problem document, as every error of the admin API is sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    pub code: ErrorCode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub errors: Option<Vec<FieldError>>,
}

impl Problem {
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self {
            kind: format!("https://gatehouse.dev/problems/{}", code.as_str()),
            title: code.title().to_owned(),
            status: code.status(),
            detail: detail.into(),
            code,
            errors: None,
        }
    }

    pub fn with_errors(mut self, errors: Vec<FieldError>) -> Self {
        self.errors = Some(errors);
        self
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.title, self.status, self.detail)
    }
}
