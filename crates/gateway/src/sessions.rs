//! Password sign-in: `POST /admin/v1/auth/login` trades an e-mail address and a password for a
//! session token that expires after [`SESSION_TTL`].
//!
//! Every wrong answer looks the same from outside: an unknown address, an account without a
//! password and a wrong password all take one argon2 verification and get the same 401. Whether
//! an account is suspended or pending is only said to whoever knows its password.

use std::net::{IpAddr, SocketAddr};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use axum::Json;
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use chrono::Utc;
use gatehouse_api::{ErrorCode, LoginRequest, LoginResponse, UserStatus};
use serde_json::json;

use crate::AppState;
use crate::auth::{self, KIND_SESSION};
use crate::db;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::{audit, password, throttle, users};

/// How long a sign-in session lasts.
pub const SESSION_TTL: chrono::Duration = chrono::Duration::hours(12);

/// Longest e-mail address a mailbox can have (RFC 5321 path limit); longer is not worth a hash.
const MAX_EMAIL_LEN: usize = 254;

/// The TCP peer of the request, when the server was started with connect info.
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(addr)| addr.ip()),
        ))
    }
}

fn wrong_credentials() -> ApiError {
    ApiError::new(
        ErrorCode::Unauthorized,
        "The e-mail address or the password is wrong.",
    )
}

/// Sign in with an e-mail address and a password
///
/// Returns a session token that expires after 12 hours. After 5 failed attempts within 15
/// minutes from one client address at one e-mail address, or 20 from one client address at any,
/// that client's further attempts get 429 until the oldest failure is 15 minutes old (counted
/// per gateway node). Other clients are not held up, so nobody can lock someone else out.
#[utoipa::path(
    post, path = "/admin/v1/auth/login", tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in: a session token, shown once", body = LoginResponse),
        (status = 401, description = "Wrong e-mail address or password (which of the two is not said)", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 403, description = "The account is suspended (`account_suspended`) or awaits approval (`forbidden`)", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not a sign-in request", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed sign-ins from this client, at this address or at all", body = gatehouse_api::Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds until the next attempt is allowed"))),
    )
)]
pub async fn login(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    ApiJson(request): ApiJson<LoginRequest>,
) -> ApiResult<Json<LoginResponse>> {
    let email = request.email.trim().to_lowercase();
    if email.is_empty() || email.len() > MAX_EMAIL_LEN {
        return Err(ApiError::invalid(
            "email",
            format!("must be 1 to {MAX_EMAIL_LEN} characters long"),
        ));
    }
    if request.password.chars().count() > password::MAX_LEN {
        return Err(ApiError::invalid(
            "password",
            format!("must be at most {} characters long", password::MAX_LEN),
        ));
    }
    let attempt = state
        .sign_in_throttle
        .begin(&email, client)
        .map_err(|wait| {
            tracing::info!(client = ?client, "sign-in throttled");
            ApiError::rate_limited(
                "Too many failed sign-ins. Wait before trying again.",
                throttle::retry_after_secs(wait),
            )
        })?;

    let account = gatehouse_store::users::credentials_by_email(&state.db.pool, &email).await?;
    let (user_id, status, stored) = match account {
        Some(a) => (Some(a.id), Some(a.status), a.password_hash),
        None => (None, None, None),
    };
    if !password::verify(request.password, stored).await? {
        attempt.failed();
        tracing::info!(client = ?client, "sign-in failed");
        return Err(wrong_credentials());
    }
    // A hash only verifies for an existing account.
    let (Some(user_id), Some(status)) = (user_id, status) else {
        return Err(wrong_credentials());
    };
    if crate::identity::sso_required_of(&state.db.pool, &user_id).await? {
        attempt.forgive();
        return Err(crate::identity::sso_required());
    }
    match UserStatus::parse(&status) {
        Some(UserStatus::Active) => {}
        Some(UserStatus::Suspended) => {
            attempt.forgive();
            return Err(ApiError::new(
                ErrorCode::AccountSuspended,
                "This account is suspended. Ask an admin to reactivate it.",
            ));
        }
        _ => {
            attempt.forgive();
            return Err(ApiError::new(
                ErrorCode::Forbidden,
                "This account is waiting for an admin's approval and cannot sign in yet.",
            ));
        }
    }
    attempt.succeeded();
    Ok(Json(
        open_session(&state, &user_id, json!({ "via": "password" })).await?,
    ))
}

/// A new session for `user_id`, who just proved who they are (`via` says how, for the audit).
pub(crate) async fn open_session(
    state: &AppState,
    user_id: &str,
    via: serde_json::Value,
) -> ApiResult<LoginResponse> {
    let now = Utc::now();
    let expires_at = db::timestamp(now + SESSION_TTL);
    let mut tx = state.db.begin_write().await?;
    let (token_id, secret) =
        auth::issue(&mut tx, user_id, "sign-in", KIND_SESSION, Some(&expires_at)).await?;
    gatehouse_store::users::touch_active(&mut tx, user_id, &db::timestamp(now)).await?;
    let mut summary = json!({ "after": { "token_id": token_id, "kind": KIND_SESSION, "expires_at": expires_at } });
    summary["how"] = via;
    audit::record(
        &mut tx,
        Some(user_id),
        "session.create",
        "user",
        user_id,
        summary,
    )
    .await?;
    tx.commit().await?;
    tracing::info!(user = %user_id, "signed in");

    let user = users::get(&state.db.pool, user_id).await?;
    Ok(LoginResponse {
        token: secret.expose().to_owned(),
        expires_at: db::parse_timestamp(&expires_at),
        user,
    })
}

/// This module's operations, which the gateway's router merges with the others'.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(login))
}
