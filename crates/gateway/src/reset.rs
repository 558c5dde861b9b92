//! Password reset: an admin asks for it (`POST /admin/v1/users/{id}/password-reset`), the user
//! gets a single-use link valid for [`RESET_TTL`] by mail, and sets a new password on the page it
//! opens (`GET`/`POST /reset/{token}`).
//!
//! Only the SHA-256 of a reset token is stored. A new request replaces the user's earlier links.
//! Setting the password signs out every session of the account, and revokes its personal access
//! tokens unless the person unticks the page's box (or JSON says `"revoke_tokens": false`): a
//! reset usually means the password was lost or leaked, and a token made with it may be too.
//! Posts are throttled per client with the invitation links ([`crate::throttle`]).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use gatehouse_api::{ErrorCode, PasswordReset, Secret, User};
use serde::Deserialize;
use serde_json::json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::{self, Caller, KIND_PAT, KIND_SESSION};
use crate::db::{self, Tx};
use crate::error::{ApiError, ApiResult};
use crate::mail::Mail;
use crate::pages::{self, Submitted, escape};
use crate::permissions::Permission;
use crate::sessions::ClientIp;
use crate::{audit, password, users};

/// How long a reset link works.
pub const RESET_TTL: chrono::Duration = chrono::Duration::hours(1);
const TOKEN_PREFIX: &str = "rst_";

/// Mail a password-reset link to a user
///
/// The link works once, for one hour, and replaces any earlier link of the user. The answer does
/// not wait for the mail server; without one configured, no mail is sent (and the gateway logs
/// that).
#[utoipa::path(
    post, path = "/admin/v1/users/{id}/password-reset", tag = "users",
    params(("id" = String, Path, description = "The user's id")),
    responses(
        (status = 202, description = "The link is made and its mail is on its way"),
        (status = 401, description = "No valid token", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role may not reset passwords", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The org requires single sign-on of this user", body = gatehouse_api::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn request(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    caller.require(Permission::UsersLifecycle, "reset passwords")?;
    let mut tx = state.db.begin_write().await?;
    let (email, first_name) = gatehouse_store::users::mail_name(&mut tx, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    if crate::identity::sso_required_of(&mut *tx, &id).await? {
        return Err(ApiError::new(
            gatehouse_api::ErrorCode::Conflict,
            "This organisation requires single sign-on: a password would not let this person in, \
             so no reset mail was sent.",
        ));
    }
    let org = gatehouse_store::org::name(&mut tx).await?;
    let (token, expires_at) = issue(&mut tx, &id).await?;
    audit::record(
        &mut tx,
        Some(&caller.user_id),
        "user.password_reset_request",
        "user",
        &id,
        json!({
            "after": { "expires_at": expires_at },
            "mail": if state.mailer.is_enabled() { "queued" } else { "not_configured" },
        }),
    )
    .await?;
    tx.commit().await?;

    send(
        &state,
        Purpose::Reset,
        &email,
        &first_name,
        org.as_deref().unwrap_or("Gatehouse"),
        &token,
    );
    Ok(StatusCode::ACCEPTED)
}

/// Replaces `user_id`'s earlier links with a new single-use one (stored as a hash); returns its
/// token and expiry.
pub async fn issue(tx: &mut Tx, user_id: &str) -> Result<(Secret, String), sqlx::Error> {
    let now = db::now();
    let expires_at = db::timestamp(Utc::now() + RESET_TTL);
    let (token, hash) = auth::new_secret(TOKEN_PREFIX);
    gatehouse_store::resets::replace(tx, user_id, hash, &now, &expires_at).await?;
    Ok((token, expires_at))
}

/// Why someone gets a link to choose a password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// An admin asked for a new password.
    Reset,
    /// An admin added the account without one.
    Welcome,
}

/// Mails the link for `token` (after the transaction that made it has committed).
pub fn send(
    state: &AppState,
    purpose: Purpose,
    to: &str,
    first_name: &str,
    org: &str,
    token: &Secret,
) {
    let link = state.link(&format!("/reset/{}", token.expose()));
    state
        .mailer
        .send_later(reset_mail(purpose, to, first_name, org, &link));
}

fn reset_mail(purpose: Purpose, to: &str, first_name: &str, org: &str, link: &str) -> Mail {
    let greeting = if first_name.trim().is_empty() {
        "Hello,".to_owned()
    } else {
        format!("Hello {},", first_name.trim())
    };
    let (why, subject, kind) = match purpose {
        Purpose::Reset => (
            format!(
                "An admin of {org} asked for a new password for your Gatehouse account ({to})."
            ),
            format!("Reset your {org} password"),
            "password_reset",
        ),
        Purpose::Welcome => (
            format!("An admin of {org} made you a Gatehouse account ({to})."),
            format!("Choose your {org} password"),
            "welcome",
        ),
    };
    let text = format!(
        "{greeting}\n\n{why}\n\
         Open this link within one hour to choose your password:\n\n{link}\n\n\
         The link works once. If you did not expect this mail, ignore it.\n"
    );
    let html = format!(
        "<!DOCTYPE html><html><body style=\"font-family:sans-serif\">\
         <p>{}</p><p>{} Open this link within one hour to choose your password:</p>\
         <p><a href=\"{}\">Choose a password</a></p>\
         <p style=\"color:#5b6475\">Or copy this address into your browser: {}</p>\
         <p>The link works once. If you did not expect this mail, ignore it.</p></body></html>",
        escape(&greeting),
        escape(&why),
        escape(link),
        escape(link),
    );
    Mail {
        kind,
        to: to.to_owned(),
        subject,
        text,
        html,
    }
}

/// What a reset token is.
enum Link {
    Valid { user_id: String, email: String },
    Unknown,
    Used,
    Expired,
}

impl Link {
    async fn find(pool: &sqlx::AnyPool, token: &str) -> Result<Self, sqlx::Error> {
        let row = gatehouse_store::resets::find(pool, &auth::hash_secret(token)).await?;
        Ok(
            match row.map(|r| (r.user_id, r.expires_at, r.used_at, r.email)) {
                None | Some((_, _, _, None)) => Self::Unknown,
                Some((_, _, Some(_), _)) => Self::Used,
                Some((_, expires_at, None, _)) if expires_at <= db::now() => Self::Expired,
                Some((user_id, _, None, Some(email))) => Self::Valid { user_id, email },
            },
        )
    }

    /// The error for a link that cannot be used.
    fn error(&self) -> Option<ApiError> {
        match self {
            Self::Valid { .. } => None,
            Self::Unknown => Some(ApiError::new(
                ErrorCode::NotFound,
                "This password-reset link is not valid. Check that you opened the whole link \
                 from the mail, or ask an admin for a new one.",
            )),
            Self::Used => Some(ApiError::new(
                ErrorCode::ResetUsed,
                "This password-reset link has already been used, or a newer one replaced it. \
                 Ask an admin for a new link if you still need one.",
            )),
            Self::Expired => Some(ApiError::new(
                ErrorCode::ResetExpired,
                "This password-reset link has expired: links work for one hour. Ask an admin \
                 for a new one.",
            )),
        }
    }
}

fn form_page(status: StatusCode, email: &str, error: Option<&str>) -> Response {
    let error = error
        .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", escape(e)))
        .unwrap_or_default();
    pages::respond(
        status,
        "Choose a new password",
        &format!(
            "<h1>Choose a new password</h1>\
             <p class=\"muted\">For {email}. At least {min} characters.</p>{error}\
             <form method=\"post\">\
             <label for=\"password\">New password</label>\
             <input id=\"password\" name=\"password\" type=\"password\" \
             autocomplete=\"new-password\" minlength=\"{min}\" maxlength=\"{max}\" required autofocus>\
             <label for=\"password_confirm\">The same again</label>\
             <input id=\"password_confirm\" name=\"password_confirm\" type=\"password\" \
             autocomplete=\"new-password\" minlength=\"{min}\" maxlength=\"{max}\" required>\
             <input type=\"hidden\" name=\"tokens_asked\" value=\"yes\">\
             <label><input type=\"checkbox\" name=\"revoke_tokens\" value=\"yes\" checked>\
             Also revoke personal access tokens</label>\
             <p class=\"muted\">Every session signed in to this account is signed out either way.</p>\
             <button type=\"submit\">Set password</button></form>",
            email = escape(email),
            min = password::MIN_LEN,
            max = password::MAX_LEN,
        ),
    )
}

/// The password-reset page: a form for the new password
#[utoipa::path(
    get, path = "/reset/{token}", tag = "pages",
    params(("token" = String, Path, description = "The token of the mailed link")),
    responses(
        (status = 200, description = "The form", body = String, content_type = "text/html",
            headers(("Content-Security-Policy" = String, description = "Scripts, frames and other origins are forbidden"))),
        (status = 404, description = "Not a reset link", body = String, content_type = "text/html"),
        (status = 410, description = "The link has expired or was used (or replaced)", body = String, content_type = "text/html"),
    )
)]
pub async fn page(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    match Link::find(&state.db.pool, &token).await {
        Ok(Link::Valid { email, .. }) => form_page(StatusCode::OK, &email, None),
        Ok(link) => pages::error_page(&link.error().expect("not valid")),
        Err(e) => pages::error_page(&e.into()),
    }
}

/// The reset form as a browser posts it.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct ResetForm {
    password: String,
    /// The password typed again; refused when it differs.
    #[serde(default)]
    password_confirm: Option<String>,
    /// Sent (as `yes`) by the page, which asks about tokens: then an absent `revoke_tokens` is
    /// an unticked box. Without it, tokens are revoked, the page's default.
    #[serde(default)]
    tokens_asked: Option<String>,
    /// Present (as `yes`) when the box to revoke personal access tokens is ticked.
    #[serde(default)]
    revoke_tokens: Option<String>,
}

impl ResetForm {
    fn revoke_tokens(&self) -> bool {
        self.revoke_tokens.is_some() || self.tokens_asked.is_none()
    }
}

/// Set the new password of a reset link
///
/// Browsers post the form and get pages back; programs post JSON and get the user as JSON, or
/// problem+json. The link is used up, every session of the account is signed out, and its
/// personal access tokens are revoked unless `revoke_tokens` is false (on the page: the box is
/// unticked). Expired, used and unknown links change nothing. After 10 failed posts to reset or
/// invitation links within 15 minutes from one client address, that client gets 429.
#[utoipa::path(
    post, path = "/reset/{token}", tag = "pages",
    params(("token" = String, Path, description = "The token of the mailed link")),
    request_body(content(
        (PasswordReset = "application/json"),
        (ResetForm = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 200, description = "The password is set", content(
            (User = "application/json"),
            (String = "text/html"),
        )),
        (status = 404, description = "Not a reset link", content(
            (gatehouse_api::Problem = "application/problem+json"),
            (String = "text/html"),
        )),
        (status = 410, description = "The link has expired (`reset_expired`) or was used or replaced (`reset_used`)", content(
            (gatehouse_api::Problem = "application/problem+json"),
            (String = "text/html"),
        )),
        (status = 413, description = "The body is too large", content(
            (gatehouse_api::Problem = "application/problem+json"),
            (String = "text/html"),
        )),
        (status = 422, description = "The password is too short or too long, the two do not match, or the body is not a reset", content(
            (gatehouse_api::Problem = "application/problem+json"),
            (String = "text/html"),
        )),
        (status = 429, description = "Too many failed posts to reset or invitation links from this client", content(
            (gatehouse_api::Problem = "application/problem+json"),
            (String = "text/html"),
        ), headers(("Retry-After" = u64, description = "Seconds until the next attempt is allowed"))),
    )
)]
pub async fn submit(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    Path(token): Path<String>,
    body: Submitted<PasswordReset, ResetForm>,
) -> Response {
    let attempt = match pages::begin_link_post(&state, client, &body) {
        Ok(attempt) => attempt,
        Err(throttled) => return *throttled,
    };
    match body {
        Submitted::Json(PasswordReset {
            password,
            revoke_tokens,
        }) => {
            let result = set_password(
                &state,
                &token,
                password,
                None,
                revoke_tokens.unwrap_or(true),
            )
            .await;
            attempt.settle(result.is_ok());
            match result {
                Ok(user) => Json(user).into_response(),
                Err(e) => e.into_response(),
            }
        }
        Submitted::Form(form) => {
            let revoke_tokens = form.revoke_tokens();
            let result = set_password(
                &state,
                &token,
                form.password,
                form.password_confirm,
                revoke_tokens,
            )
            .await;
            attempt.settle(result.is_ok());
            form_result(&state, &token, result, revoke_tokens).await
        }
    }
}

/// The page that answers a posted form.
async fn form_result(
    state: &AppState,
    token: &str,
    result: ApiResult<User>,
    revoked_tokens: bool,
) -> Response {
    match result {
        Ok(_) => pages::message(
            StatusCode::OK,
            "Your password is set",
            if revoked_tokens {
                "Sign in with your new password. Every session that was signed in to your \
                     account has been signed out, and your personal access tokens have been \
                     revoked."
            } else {
                "Sign in with your new password. Every session that was signed in to your \
                     account has been signed out; your personal access tokens still work."
            },
        ),
        Err(e) if e.problem().code == ErrorCode::ValidationFailed => {
            match Link::find(&state.db.pool, token).await {
                Ok(Link::Valid { email, .. }) => form_page(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    &email,
                    Some(&e.problem().detail),
                ),
                Ok(link) => pages::error_page(&link.error().unwrap_or(e)),
                Err(db) => pages::error_page(&db.into()),
            }
        }
        Err(e) => pages::error_page(&e),
    }
}

async fn set_password(
    state: &AppState,
    token: &str,
    new_password: String,
    confirm: Option<String>,
    revoke_tokens: bool,
) -> ApiResult<User> {
    let pool = &state.db.pool;
    let user_id = match Link::find(pool, token).await? {
        Link::Valid { user_id, .. } => user_id,
        link => return Err(link.error().expect("not valid")),
    };
    password::validate("password", &new_password)?;
    if confirm.is_some_and(|c| c != new_password) {
        return Err(ApiError::invalid(
            "password_confirm",
            "does not match the password",
        ));
    }
    // Hashed before the write transaction, which must not wait for argon2.
    let hash = password::hash(new_password).await?;

    let mut tx = state.db.begin_write().await?;
    let now = db::now();
    // Claims the link in the same statement that checks it, so two submissions cannot both win.
    let claimed = gatehouse_store::resets::claim(&mut tx, &auth::hash_secret(token), &now).await?;
    if !claimed {
        drop(tx);
        return Err(Link::find(pool, token)
            .await?
            .error()
            .unwrap_or_else(|| ApiError::Internal("a reset link changed under us".into())));
    }
    let updated = gatehouse_store::users::set_password(&mut tx, &user_id, hash, &now).await?;
    if !updated {
        return Err(Link::Unknown.error().expect("unknown is an error"));
    }
    let sessions_revoked = auth::revoke(&mut tx, &user_id, KIND_SESSION).await?;
    let tokens_revoked = if revoke_tokens {
        auth::revoke(&mut tx, &user_id, KIND_PAT).await?
    } else {
        0
    };
    audit::record(
        &mut tx,
        Some(&user_id),
        "user.password_reset",
        "user",
        &user_id,
        json!({ "sessions_revoked": sessions_revoked, "tokens_revoked": tokens_revoked }),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(user = %user_id, sessions_revoked, tokens_revoked, "password reset");
    users::get(pool, &user_id).await
}

/// This module's operations, which the gateway's router merges with the others'.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(request))
        .routes(routes!(page, submit))
}
