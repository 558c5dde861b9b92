//! The invitee's pages: `GET /invite/{token}` shows the invitation and a form to set a
//! password (or the identity-provider sign-in it requires); `POST /invite/{token}` takes the form
//! or JSON. Expired, revoked and used links get a clear page and change nothing.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use gatehouse_api::{AcceptInvitation, IdentityProvider};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;
use crate::extract::ApiPath;
use crate::invitations::{self, InvitationRow};
use crate::pages::{self, Submitted, error_page, escape, respond};
use crate::sessions::ClientIp;
use crate::{AppState, org};

const TITLE: &str = "Join your team";

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    respond(status, title, &format!("<h1>{}</h1>{body}", escape(title)))
}

fn form(row: &InvitationRow, org_name: &str, token: &str, error: Option<&str>) -> String {
    let who = escape(&row.email);
    let mut body = format!(
        "<p>You are invited to join <strong>{}</strong> as <strong>{}</strong> with the account <strong>{who}</strong>.</p>",
        escape(org_name),
        escape(&row.role),
    );
    if let Some(e) = error {
        body.push_str(&format!(
            "<p class=\"error\" role=\"alert\">{}</p>",
            escape(e)
        ));
    }
    let restricted = row.identity_provider != IdentityProvider::Any.as_str();
    if restricted {
        let name = if row.identity_provider == "google" {
            "Google"
        } else {
            "Microsoft"
        };
        body.push_str(&format!(
            "<p>This invitation must be accepted by signing in with {name} as {who}.</p>\
             <p><a class=\"button\" href=\"/invite/{token}/signin\">Sign in with {name}</a></p>",
            token = escape(token),
        ));
    } else {
        body.push_str(&format!(
            "<form method=\"post\" action=\"/invite/{token}\">\
             <label>First name <input name=\"first_name\" value=\"{first}\" autocomplete=\"given-name\"></label>\
             <label>Last name <input name=\"last_name\" value=\"{last}\" autocomplete=\"family-name\"></label>\
             <label>Password (at least {min} characters) \
             <input type=\"password\" name=\"password\" minlength=\"{min}\" required autocomplete=\"new-password\"></label>\
             <button type=\"submit\">Join</button></form>",
            token = escape(token),
            first = escape(&row.first_name),
            last = escape(&row.last_name),
            min = crate::password::MIN_LEN,
        ));
    }
    body
}

/// The invitee's page
#[utoipa::path(
    get, path = "/invite/{token}", tag = "invitee",
    params(("token" = String, Path, description = "The token from the invitation link")),
    responses(
        (status = 200, description = "The invitation and its form", content_type = "text/html"),
        (status = 404, description = "No such invitation", content_type = "text/html"),
        (status = 410, description = "Expired, revoked or used", content_type = "text/html"),
    )
)]
pub async fn show(State(state): State<AppState>, ApiPath(token): ApiPath<String>) -> Response {
    let result = async {
        let mut tx = state.db.begin_read().await?;
        let row = invitations::open(&mut tx, &token).await?;
        let org = org::get_in(&mut tx).await?;
        tx.commit().await?;
        Ok::<_, ApiError>((row, org.name))
    }
    .await;
    match result {
        Ok((row, org_name)) => page(
            StatusCode::OK,
            "Join your team",
            &form(&row, &org_name, &token, None),
        ),
        Err(e) => error_page(&e),
    }
}

/// Accept the invitation: a form (HTML back) or JSON (the new user or problem+json back)
#[utoipa::path(
    post, path = "/invite/{token}", tag = "invitee",
    params(("token" = String, Path, description = "The token from the invitation link")),
    request_body(content = AcceptInvitation, description = "JSON, or the same fields as a form", content_type = "application/json"),
    responses(
        (status = 200, description = "Joined: the new user", body = gatehouse_api::User),
        (status = 403, description = "The invitation requires an identity-provider sign-in", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such invitation", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 410, description = "Expired (`invite_expired`), revoked (`invite_revoked`) or used (`invite_used`)", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid password or names", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed posts to reset or invitation links from this client", body = gatehouse_api::Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds until the next attempt is allowed"))),
    )
)]
pub async fn accept(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    ApiPath(token): ApiPath<String>,
    body: Submitted<AcceptInvitation, AcceptInvitation>,
) -> Response {
    let attempt = match pages::begin_link_post(&state, client, &body) {
        Ok(attempt) => attempt,
        Err(throttled) => return *throttled,
    };
    let (input, json) = match body {
        Submitted::Json(input) => (input, true),
        Submitted::Form(input) => (input, false),
    };
    let accepted = invitations::accept(&state, &token, &input).await;
    attempt.settle(accepted.is_ok());
    if json {
        return match accepted {
            Ok(user) => Json(user).into_response(),
            Err(e) => e.into_response(),
        };
    }
    match accepted {
        Ok(user) => {
            let org = org::get(&state.db.pool)
                .await
                .ok()
                .flatten()
                .map(|o| o.name)
                .unwrap_or_default();
            let next = if user.status == gatehouse_api::UserStatus::Pending {
                "An admin will approve your account shortly."
            } else {
                "You can now sign in to the gateway and create API keys."
            };
            page(
                StatusCode::OK,
                "Welcome",
                &format!(
                    "<p>You joined <strong>{}</strong> as {}.</p><p>{next}</p>",
                    escape(&org),
                    escape(&user.email)
                ),
            )
        }
        Err(ApiError::Problem(p)) if p.code == gatehouse_api::ErrorCode::ValidationFailed => {
            // Show the form again with what was wrong, when the invitation is still open.
            let reopened = async {
                let mut tx = state.db.begin_read().await?;
                let row = invitations::open(&mut tx, &token).await?;
                let org = org::get_in(&mut tx).await?;
                tx.commit().await?;
                Ok::<_, ApiError>((row, org.name))
            }
            .await;
            match reopened {
                Ok((row, org_name)) => page(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    TITLE,
                    &form(&row, &org_name, &token, Some(&p.detail)),
                ),
                Err(e) => error_page(&e),
            }
        }
        Err(e) => error_page(&e),
    }
}

/// This module's operations, which the gateway's router merges with the others'.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(show, accept))
}
