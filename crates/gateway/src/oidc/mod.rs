//! Accepting an invitation that is restricted to Google or Microsoft by signing in there.
//!
//! OpenID Connect's authorization code flow with PKCE (S256), `state` and `nonce`.
//! `GET /invite/{token}/signin` sends the browser to the provider; `GET /oidc/callback` takes it
//! back, exchanges the code at the token endpoint and verifies the ID token here: signature by a
//! key of the issuer's JWKS, issuer, audience, expiry, nonce. The sign-in under way lives in the
//! database (`oidc_signins`), not in memory, so that any node of a PostgreSQL-backed cluster can
//! receive the callback; its state is single-use and lives ten minutes. Only when the signed-in,
//! verified e-mail is the invited one does the invitation turn into an account, through
//! `invitations::redeem`, the step the password path uses too.
//!
//! Who signed in is the provider's account, not an e-mail address: Google's `iss` and `sub`,
//! Microsoft's tenant (`tid`, with `iss` that tenant's own issuer) and object id (`oid`). The
//! account is recorded on the user (`idp_issuer`, `idp_tenant`, `idp_subject`); a user bound to
//! one account is never joined by another, and one account never joins two users. Microsoft's
//! `preferred_username` and `email` are whatever the account's tenant says, and anyone can
//! make a tenant (the "nOAuth" class), so neither alone proves an address: see [`identity`].
//!
//! No page and no log line shows the invitation token, the code, the state, the nonce, the PKCE
//! verifier, the ID token or the client secret; the pages escape everything they print.

use std::sync::OnceLock;
use std::time::Duration;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use gatehouse_api::{ErrorCode, IdentityProvider, Secret, UserStatus};
use gatehouse_store::oidc_signins::{self as signins, PendingSignIn as Pending};
use gatehouse_store::users;
use jsonwebtoken::jwk::{Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::auth::{hash_secret, new_secret};
use crate::error::ApiError;
use crate::{AppState, db, invitations, org, validate};

mod console;
mod provider;
mod token;

pub use provider::*;
use token::*;

/// How long the browser may take at the provider.
const PENDING_MINUTES: i64 = 10;

// ---------------------------------------------------------------------------------------------
// Pages

/// The invitee-facing pages of this flow, over the gateway's one page layout and policy.
mod html {
    use axum::http::StatusCode;
    use axum::response::Response;

    pub use crate::pages::{escape, secure_headers};

    /// A page with a heading, paragraphs and an optional error code, all escaped here.
    pub fn message(
        status: StatusCode,
        title: &str,
        paragraphs: &[&str],
        code: Option<&str>,
    ) -> Response {
        let mut body = format!("<h1>{}</h1>", escape(title));
        for p in paragraphs {
            body.push_str(&format!("<p>{}</p>", escape(p)));
        }
        if let Some(code) = code {
            body.push_str(&format!(
                "<p class=\"muted\">Error code: <code>{}</code></p>",
                escape(code)
            ));
        }
        crate::pages::respond(status, title, &body)
    }
}

/// Where the flow stops short of joining, and the page that says why. Nothing has changed when
/// one of these is shown.
#[derive(Debug)]
struct Stop {
    status: StatusCode,
    code: ErrorCode,
    title: String,
    paragraphs: Vec<String>,
}

impl Stop {
    fn new(code: ErrorCode, title: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            status: StatusCode::from_u16(code.status()).unwrap_or(StatusCode::BAD_REQUEST),
            code,
            title: title.into(),
            paragraphs: vec![text.into()],
        }
    }

    fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    fn and(mut self, text: impl Into<String>) -> Self {
        self.paragraphs.push(text.into());
        self
    }

    /// The state or code is missing, unknown, used or expired: start again from the link.
    fn restart(text: &str) -> Self {
        Self::new(
            ErrorCode::ValidationFailed,
            "This sign-in cannot continue",
            text,
        )
        .with_status(StatusCode::BAD_REQUEST)
        .and("Open the invitation link from your e-mail again to start over.")
    }

    /// The provider could not be reached or answered nonsense: not the invitee's fault.
    fn unreachable(provider: IdentityProvider) -> Self {
        Self::new(
            ErrorCode::Internal,
            format!("{} did not answer", display_name(provider)),
            format!(
                "The gateway could not complete the sign-in with {}. Nothing was changed; try \
                 again in a moment from your invitation link.",
                display_name(provider)
            ),
        )
        .with_status(StatusCode::BAD_GATEWAY)
    }

    /// The ID token failed a check: refuse without saying which, to the browser at least.
    fn unverified(provider: IdentityProvider) -> Self {
        Self::new(
            ErrorCode::Forbidden,
            "The sign-in could not be verified",
            format!(
                "The answer from {} did not pass the gateway's checks, so nothing was changed.",
                display_name(provider)
            ),
        )
        .and("Open the invitation link from your e-mail again to start over.")
    }

    fn not_configured(provider: IdentityProvider) -> Self {
        let name = display_name(provider);
        Self::new(
            ErrorCode::Conflict,
            format!("Sign-in with {name} is not set up"),
            format!(
                "This invitation must be accepted by signing in with {name}, but this gateway \
                 has no sign-in configured for {name}. Nothing was changed and your invitation \
                 is still valid: ask your administrator to set up {name} sign-in, then open the \
                 link again."
            ),
        )
    }
}

impl From<ApiError> for Stop {
    fn from(error: ApiError) -> Self {
        if matches!(error, ApiError::Db(_) | ApiError::Internal(_)) {
            tracing::error!(error = %error, "identity-provider sign-in failed");
        }
        let problem = error.problem();
        let mut stop = Self::new(problem.code, problem.title, problem.detail);
        stop.status =
            StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        stop
    }
}

impl From<sqlx::Error> for Stop {
    fn from(error: sqlx::Error) -> Self {
        ApiError::from(error).into()
    }
}

impl IntoResponse for Stop {
    fn into_response(self) -> Response {
        let paragraphs: Vec<&str> = self.paragraphs.iter().map(String::as_str).collect();
        html::message(
            self.status,
            &self.title,
            &paragraphs,
            Some(self.code.as_str()),
        )
    }
}

/// Records `account` on the user `user_id` just joined as, inside the joining transaction:
/// refused when the user is bound to another account or the account to another user.
async fn bind(
    tx: &mut db::Tx,
    provider: IdentityProvider,
    user_id: &str,
    account: &Account,
) -> Result<(), Stop> {
    let name = display_name(provider);
    let bound = users::bound_identity(tx, user_id).await?;
    let same = bound.0.as_deref() == Some(account.issuer.as_str())
        && bound.1.as_deref() == Some(account.subject.as_str());
    if bound.1.is_some() && !same {
        tracing::info!(user = %user_id, "sign-in refused: the user is bound to another account");
        return Err(Stop::new(
            ErrorCode::Forbidden,
            "Wrong account",
            format!(
                "This Gatehouse account belongs to another {name} account than the one you \
                 signed in with. Nothing was changed."
            ),
        ));
    }
    let other = users::bound_elsewhere(tx, &account.issuer, &account.subject, user_id).await?;
    if other.is_some() {
        tracing::info!(user = %user_id, "sign-in refused: the account joined as another user");
        return Err(Stop::new(
            ErrorCode::Forbidden,
            "Wrong account",
            format!(
                "The {name} account you signed in with already belongs to another Gatehouse \
                 account. Nothing was changed."
            ),
        ));
    }
    users::bind_identity(
        tx,
        user_id,
        users::Identity {
            issuer: &account.issuer,
            tenant: account.tenant.as_deref(),
            subject: &account.subject,
        },
    )
    .await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The pending sign-in

/// A random, URL-safe value of 256 bits.
fn random_value() -> String {
    new_secret("").0.expose().to_owned()
}

fn redirect_uri(state: &AppState) -> String {
    format!("{}/oidc/callback", state.public_url.trim_end_matches('/'))
}

/// This gateway's side of one trip to a provider, fresh for each sign-in: the state (the
/// database keeps its hash), the nonce and the PKCE verifier.
struct ProviderLeg {
    state: Secret,
    state_hash: String,
    nonce: String,
    verifier: String,
}

impl ProviderLeg {
    fn new() -> Self {
        let (state, state_hash) = new_secret("");
        Self {
            state,
            state_hash,
            nonce: random_value(),
            verifier: random_value(),
        }
    }

    /// The browser to the provider's authorization endpoint for this leg; `login_hint`
    /// preselects an account there.
    fn redirect(
        &self,
        state: &AppState,
        provider: IdentityProvider,
        config: &ProviderConfig,
        metadata: &Metadata,
        login_hint: Option<&str>,
    ) -> Result<Response, Stop> {
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(self.verifier.as_bytes()));
        let mut url = check_endpoint(&metadata.authorization_endpoint)
            .map_err(|_| Stop::unreachable(provider))?;
        {
            let mut pairs = url.query_pairs_mut();
            pairs
                .append_pair("response_type", "code")
                .append_pair("client_id", &config.client_id)
                .append_pair("redirect_uri", &redirect_uri(state))
                .append_pair("scope", "openid email profile")
                .append_pair("state", self.state.expose())
                .append_pair("nonce", &self.nonce)
                .append_pair("code_challenge", &challenge)
                .append_pair("code_challenge_method", "S256");
            if let Some(hint) = login_hint {
                pairs.append_pair("login_hint", hint);
            }
        }
        let location =
            HeaderValue::from_str(url.as_str()).map_err(|_| Stop::unreachable(provider))?;
        let mut response = StatusCode::SEE_OTHER.into_response();
        response.headers_mut().insert(header::LOCATION, location);
        html::secure_headers(&mut response);
        Ok(response)
    }
}

/// Accepts the invitation `row` for the signed-in provider account (already checked against it
/// with [`check_account`]) and binds the new account to it, inside `tx`. Names the invitation
/// leaves empty come from the ID token when they pass the rules for names.
async fn accept_invitation(
    tx: &mut db::Tx,
    provider: IdentityProvider,
    row: &invitations::InvitationRow,
    claims: &Claims,
) -> Result<gatehouse_api::User, Stop> {
    let name_or = |invited: &str, claimed: &Option<String>| {
        if !invited.is_empty() {
            return invited.to_owned();
        }
        claimed_name(claimed)
    };
    let first_name = name_or(&row.first_name, &claims.given_name);
    let last_name = name_or(&row.last_name, &claims.family_name);
    let user = invitations::redeem(tx, row, first_name, last_name, None, provider.as_str()).await?;
    bind(tx, provider, &user.id, &account(provider, claims)).await?;
    Ok(user)
}

/// A name from the ID token, or none when it breaks the rules for names.
fn claimed_name(claimed: &Option<String>) -> String {
    claimed
        .as_deref()
        .and_then(|n| validate::name("name", n).ok())
        .unwrap_or_default()
}

async fn start(state: &AppState, token: &str) -> Result<Response, Stop> {
    let row = {
        let mut tx = state.db.pool.begin().await?;
        invitations::open(&mut tx, token).await?
    };
    let provider = row.identity_provider();
    if provider == IdentityProvider::Any {
        return Err(Stop::new(
            ErrorCode::Conflict,
            "No sign-in needed",
            "This invitation is not restricted to an identity provider: accept it by choosing \
             a password on the invitation page.",
        ));
    }
    let config = state
        .oidc
        .get(provider)
        .ok_or_else(|| Stop::not_configured(provider))?;
    let issuer = issuer_for(provider, config, row.tenant_id.as_deref())?;
    let metadata = discover(provider, &issuer).await?;

    let leg = ProviderLeg::new();
    let now = Utc::now();
    let mut tx = state.db.begin_write().await?;
    signins::delete_expired(&mut tx, &db::timestamp(now)).await?;
    signins::insert(
        &mut tx,
        &signins::NewSignIn {
            state_hash: leg.state_hash.clone(),
            invitation_id: &row.id,
            provider: provider.as_str(),
            issuer: &issuer,
            pkce_verifier: &leg.verifier,
            nonce: &leg.nonce,
            created_at: db::timestamp(now),
            expires_at: db::timestamp(now + chrono::Duration::minutes(PENDING_MINUTES)),
        },
    )
    .await?;
    tx.commit().await?;

    tracing::info!(
        invitation = %row.id,
        provider = provider.as_str(),
        "invitee sent to sign in"
    );
    // Preselects the invited account at the provider; the e-mail is checked on return
    // regardless.
    leg.redirect(state, provider, config, &metadata, Some(&row.email))
}

/// Takes the pending sign-in of `state_value` out of the database: whatever happens next, the
/// same state never works twice.
async fn take_pending(state: &AppState, state_value: &str) -> Result<Option<Pending>, Stop> {
    let mut tx = state.db.begin_write().await?;
    let pending = signins::take(&mut tx, &hash_secret(state_value)).await?;
    tx.commit().await?;
    Ok(pending)
}

/// What the provider appends to the redirect URI.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CallbackQuery {
    /// The authorization code.
    code: Option<String>,
    /// The state this gateway sent.
    state: Option<String>,
    /// The provider's error name when the sign-in did not happen (e.g. `access_denied`).
    error: Option<String>,
}

/// The provider sent the browser back with an error instead of a code (the invitee cancelled,
/// or the provider refused). Only a plain OAuth error name is shown: anything else in the URL
/// is whoever made the link's free text.
fn ended_at_provider(provider: IdentityProvider, error: &str) -> Stop {
    let error = if error.len() <= 64 && error.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
        error
    } else {
        "error"
    };
    tracing::info!(
        provider = provider.as_str(),
        error,
        "the provider ended the sign-in"
    );
    let name = display_name(provider);
    Stop::new(
        ErrorCode::Forbidden,
        format!("The sign-in with {name} did not complete"),
        format!("{name} ended the sign-in ({error}); nothing was changed."),
    )
    .and("Open the invitation link from your e-mail again to try again.")
}

/// The signed-in account is the invited one: of the invited tenant where the invitation names
/// one, and with the invited e-mail among those the provider vouches for.
fn check_account(
    provider: IdentityProvider,
    row: &invitations::InvitationRow,
    claims: &Claims,
) -> Result<(), Stop> {
    let tenant_checked = match row.tenant_id.as_deref() {
        Some(t) if provider == IdentityProvider::Microsoft => {
            let want = tenant_guid(t).ok_or_else(|| Stop::unverified(provider))?;
            if claims.tid.as_deref().and_then(tenant_guid).as_deref() != Some(want.as_str()) {
                tracing::info!(invitation = %row.id, "sign-in refused: another tenant");
                return Err(Stop::new(
                    ErrorCode::Forbidden,
                    "Wrong Microsoft organisation",
                    format!(
                        "This invitation is for an account of the Microsoft Entra tenant {want}, \
                         and the account you signed in with belongs to another one. Nothing was \
                         changed."
                    ),
                )
                .and(format!(
                    "Sign in with your {} account of that organisation: open the invitation link \
                     again and choose it at Microsoft.",
                    row.email
                )));
            }
            true
        }
        _ => false,
    };
    let who = identity(provider, claims, tenant_checked);
    if !who.verified.iter().any(|e| *e == row.email.to_lowercase()) {
        tracing::info!(invitation = %row.id, "sign-in refused: another or an unverified e-mail");
        let name = display_name(provider);
        let signed_in_as = match &who.shown {
            Some(e) if who.verified.contains(e) => format!("You signed in as {e}."),
            Some(e) => format!("You signed in as {e}, an address {name} has not verified."),
            None => "The account you signed in with has no verified e-mail address.".to_owned(),
        };
        return Err(Stop::new(
            ErrorCode::Forbidden,
            "Wrong account",
            format!(
                "This invitation is for {}. {signed_in_as} Nothing was changed.",
                row.email
            ),
        )
        .and(format!(
            "Open the invitation link again and sign in at {name} with {}.",
            row.email
        )));
    }
    Ok(())
}

/// The provider's `code` exchanged (with this gateway's PKCE `verifier`) for an ID token, and
/// that token verified against `issuer`'s keys and the sign-in's `nonce`: who signed in.
async fn signed_in(
    state: &AppState,
    provider: IdentityProvider,
    issuer: &str,
    code: &str,
    verifier: &str,
    nonce: &str,
) -> Result<Claims, Stop> {
    let config = state
        .oidc
        .get(provider)
        .ok_or_else(|| Stop::not_configured(provider))?;
    let metadata = discover(provider, issuer).await?;
    let id_token = exchange(
        provider,
        config,
        &metadata,
        code,
        verifier,
        &redirect_uri(state),
    )
    .await?;
    verify(provider, config, &metadata, &id_token, nonce).await
}

async fn finish(state: &AppState, query: CallbackQuery) -> Result<Response, Stop> {
    let state_value = query
        .state
        .clone()
        .filter(|s| !s.is_empty() && s.len() <= 512)
        .ok_or_else(|| Stop::restart("The address of this page is incomplete."))?;
    let Some(pending) = take_pending(state, &state_value).await? else {
        // Not an invitation's: a console sign-in's, or none.
        return match console::take(state, &state_value).await? {
            Some(signin) => Ok(console::finish(state, signin, query).await),
            None => Err(Stop::restart(
                "This sign-in was already used, or it is not one this gateway started.",
            )),
        };
    };
    if pending.expires_at <= db::now() {
        return Err(Stop::restart(&format!(
            "The sign-in took longer than {PENDING_MINUTES} minutes."
        )));
    }
    let provider = provider_named(&pending.provider)
        .ok_or_else(|| ApiError::Internal(format!("pending provider {}", pending.provider)))?;
    if let Some(error) = query.error {
        return Err(ended_at_provider(provider, &error));
    }
    let code = query
        .code
        .filter(|c| !c.is_empty() && c.len() <= 4096)
        .ok_or_else(|| Stop::restart("The provider sent no code."))?;
    let claims = signed_in(
        state,
        provider,
        &pending.issuer,
        &code,
        &pending.pkce_verifier,
        &pending.nonce,
    )
    .await?;

    let mut tx = state.db.begin_write().await?;
    let row = invitations::open_by_id(&mut tx, &pending.invitation_id).await?;
    if row.identity_provider() != provider {
        return Err(Stop::unverified(provider));
    }
    check_account(provider, &row, &claims)?;
    let user = accept_invitation(&mut tx, provider, &row, &claims).await?;
    let org = org::get_in(&mut tx).await?;
    tx.commit().await?;
    tracing::info!(invitation = %row.id, user = %user.id, provider = provider.as_str(), "invitation accepted by sign-in");

    let signed_in = format!(
        "You signed in with {} as {}.",
        display_name(provider),
        user.email
    );
    let next = if user.status == UserStatus::Pending {
        "An administrator must approve your account before you can use it."
    } else {
        "Your account is ready. You can close this page."
    };
    Ok(html::message(
        StatusCode::OK,
        &format!("You joined {}", org.name),
        &[&signed_in, next],
        None,
    ))
}

/// Start accepting an invitation by signing in with the identity provider it is restricted to
///
/// Sends the browser to the provider's sign-in page (authorization code flow with PKCE); the
/// provider sends it back to `/oidc/callback`. Answers are HTML pages.
#[utoipa::path(
    get, path = "/invite/{token}/signin", tag = "invitee",
    params(("token" = String, Path, description = "The invitation's token, from its link")),
    responses(
        (status = 303, description = "To the provider's sign-in page"),
        (status = 404, description = "No such invitation", content_type = "text/html"),
        (status = 409, description = "Not restricted to a provider, the gateway has no sign-in configured for it, or an unusable tenant id", content_type = "text/html"),
        (status = 410, description = "Expired, revoked or used (`invite_expired`, `invite_revoked`, `invite_used`)", content_type = "text/html"),
        (status = 502, description = "The provider did not answer", content_type = "text/html"),
    )
)]
pub async fn signin(
    State(state): State<AppState>,
    token: Result<Path<String>, PathRejection>,
) -> Response {
    let Ok(Path(token)) = token else {
        return Stop::restart("The address of this page is not a valid invitation link.")
            .into_response();
    };
    start(&state, &token)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

/// Where the identity provider sends the invitee back after signing in
///
/// Verifies the sign-in and, when the verified e-mail is the invited one, accepts the
/// invitation: the same account, workspaces and audit entry as accepting with a password.
#[utoipa::path(
    get, path = "/oidc/callback", tag = "invitee",
    params(CallbackQuery),
    responses(
        (status = 200, description = "Joined: the account exists (active, or pending approval)", content_type = "text/html"),
        (status = 400, description = "Unknown, used or expired state, or no code: start again from the link", content_type = "text/html"),
        (status = 403, description = "Another account, an unverified e-mail, another tenant, or a token that fails verification; nothing changed", content_type = "text/html"),
        (status = 409, description = "The gateway has no sign-in configured for the provider", content_type = "text/html"),
        (status = 410, description = "The invitation expired, was revoked or used meanwhile", content_type = "text/html"),
        (status = 502, description = "The provider did not answer", content_type = "text/html"),
    )
)]
pub async fn callback(
    State(state): State<AppState>,
    query: Result<Query<CallbackQuery>, QueryRejection>,
) -> Response {
    let Ok(Query(query)) = query else {
        return Stop::restart("The address of this page is malformed.").into_response();
    };
    finish(&state, query)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

/// This module's operations, which the gateway's router merges with the others'.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(signin))
        .routes(routes!(callback))
        .routes(routes!(console::sso_start))
        .routes(routes!(console::sso_token))
        .routes(routes!(console::sso_providers))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_tenant_issuers_match_any_one_tenant_segment() {
        let template = "https://login.microsoftonline.com/{tenantid}/v2.0";
        assert!(issuer_matches(
            template,
            "https://login.microsoftonline.com/common/v2.0"
        ));
        assert!(issuer_matches(
            "https://accounts.google.com",
            "https://accounts.google.com/"
        ));
        assert!(!issuer_matches(
            template,
            "https://login.microsoftonline.com/common/extra/v2.0"
        ));
        assert!(!issuer_matches(
            "https://evil.example/{tenantid}/v2.0",
            "https://login.microsoftonline.com/common/v2.0"
        ));
    }

    #[test]
    fn endpoints_must_be_https_except_on_loopback() {
        assert!(check_endpoint("https://accounts.google.com/o/oauth2/v2/auth").is_ok());
        assert!(check_endpoint("http://127.0.0.1:8080/token").is_ok());
        assert!(check_endpoint("http://localhost/token").is_ok());
        assert!(check_endpoint("http://accounts.google.com/token").is_err());
        assert!(check_endpoint("https://user:pw@accounts.google.com/").is_err());
        assert!(check_endpoint("javascript:alert(1)").is_err());
    }

    #[test]
    fn a_provider_needs_a_client_id_and_with_it_a_secret() {
        assert!(
            ProviderConfig::from_settings("Google", GOOGLE_ISSUER, None, Some("s".into()))
                .unwrap()
                .is_none()
        );
        assert!(
            ProviderConfig::from_settings("Google", GOOGLE_ISSUER, Some("id".into()), None)
                .is_err()
        );
        let ms = ProviderConfig::from_settings(
            "Microsoft",
            MICROSOFT_ISSUER,
            Some(" id ".into()),
            Some("secret".into()),
        )
        .unwrap()
        .unwrap();
        assert_eq!(ms.client_id, "id");
        assert!(
            ProviderConfig::from_settings(
                "Google",
                "http://accounts.google.com",
                Some("id".into()),
                Some("s".into())
            )
            .is_err()
        );
    }

    #[test]
    fn tenant_ids_are_guids_in_one_form() {
        assert_eq!(
            tenant_guid("72F988BF-86F1-41AF-91AB-2D7CD011DB47").as_deref(),
            Some("72f988bf-86f1-41af-91ab-2d7cd011db47")
        );
        assert_eq!(tenant_guid("contoso.onmicrosoft.com"), None);
        assert_eq!(tenant_guid("../common"), None);
    }

    #[test]
    fn pages_escape_what_they_print() {
        let page = html::message(StatusCode::OK, "<b>", &["\"x\" & 'y'"], Some("<c>"));
        assert!(
            page.headers()[header::CONTENT_SECURITY_POLICY]
                .to_str()
                .unwrap()
                .starts_with("default-src 'none';")
        );
        assert_eq!(
            html::escape("<a href='x'>&\""),
            "&lt;a href=&#39;x&#39;&gt;&amp;&quot;"
        );
    }
}
