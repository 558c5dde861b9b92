//! Console sign-in through the identity provider, for a native app (RFC 8252): the app opens
//! the system browser at `GET /sso/{provider}/start` with its loopback redirect (`http://127.0.0.1`
//! and a port), its `state` and a PKCE challenge. The gateway runs the provider's flow (its own
//! state, nonce and PKCE, as for invitations), and on `/oidc/callback` finds the account:
//!
//! 1. the account bound to the provider's stable subject (`iss` + `sub`; Microsoft's `tid` +
//!    `oid`), never a mutable claim;
//! 2. else the account of an address the provider vouches for (the rules of
//!    [`identity`](super::identity)), which is then bound;
//! 3. else a pending invitation of such an address, which the sign-in accepts (and binds);
//! 4. else, just in time, a new account for a vouched address of an allowed domain, taking a seat.
//!
//! A suspended account cannot come back this way, and a deleted one has no binding left. The
//! role mapping then applies, and the browser goes to the app's redirect with a one-time code
//! (two minutes) that only the holder of the PKCE verifier exchanges for a session at
//! `POST /admin/v1/auth/sso/token`. A failure goes to the app's redirect too, as `error`.

#[allow(clippy::wildcard_imports)]
use super::*;

use axum::Json;
use gatehouse_api::{IdentitySettingsInput, JoinMode, LoginResponse, Role, SsoExchange, User};
use gatehouse_store::identity::{self as identity_store, SsoCode, SsoSignIn};
use serde_json::json;

use crate::error::ApiResult;
use crate::extract::ApiJson;

/// How long the app has to exchange its code.
const CODE_MINUTES: i64 = 2;

/// The app's side of the start: where to send the browser back, and its PKCE challenge.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StartQuery {
    /// `http://127.0.0.1:{port}/…` (or `[::1]`): the app's one-request listener.
    redirect_uri: Option<String>,
    /// The app's own state, handed back unchanged.
    state: Option<String>,
    /// BASE64URL(SHA-256(verifier)), 43 characters.
    code_challenge: Option<String>,
    /// `S256`, the only method taken.
    code_challenge_method: Option<String>,
}

/// A loopback redirect as RFC 8252 §7.3 has it: http, an IP literal of the loopback interface
/// (not `localhost`, which a hosts file may point elsewhere), a port, no credentials or fragment.
fn app_redirect(uri: &str) -> Option<url::Url> {
    let url = url::Url::parse(uri).ok()?;
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        _ => false,
    };
    (url.scheme() == "http"
        && loopback
        && url.port().is_some()
        && url.username().is_empty()
        && url.password().is_none()
        && url.fragment().is_none())
    .then_some(url)
}

fn is_challenge(c: &str) -> bool {
    (43..=128).contains(&c.len())
        && c.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn bad_start(text: &str) -> Stop {
    Stop::new(
        ErrorCode::ValidationFailed,
        "This sign-in cannot start",
        text,
    )
    .with_status(StatusCode::BAD_REQUEST)
    .and("Start again from the Gatehouse app: Sign in with SSO.")
}

async fn start(state: &AppState, provider: &str, query: StartQuery) -> Result<Response, Stop> {
    let provider = provider_named(provider)
        .ok_or_else(|| bad_start("The gateway has no such identity provider."))?;
    let config = state
        .oidc
        .get(provider)
        .ok_or_else(|| bad_start("This identity provider is not set up on the gateway."))?;
    let redirect = query
        .redirect_uri
        .as_deref()
        .and_then(app_redirect)
        .ok_or_else(|| bad_start("The app's address is not a loopback address with a port."))?;
    let app_state = query
        .state
        .filter(|s| !s.is_empty() && s.len() <= 512)
        .ok_or_else(|| bad_start("The app sent no state."))?;
    let challenge = query
        .code_challenge
        .filter(|c| is_challenge(c))
        .ok_or_else(|| bad_start("The app sent no PKCE challenge."))?;
    if query.code_challenge_method.as_deref() != Some("S256") {
        return Err(bad_start("The app's PKCE challenge must be S256."));
    }
    let settings = identity_store::get(&state.db.pool).await?.input;
    // Microsoft: the org's own tenant where the settings name one, else its multi-tenant
    // endpoint.
    let issuer = issuer_for(provider, config, settings.microsoft_tenant.as_deref())?;
    let metadata = discover(provider, &issuer).await?;

    let leg = ProviderLeg::new();
    let now = Utc::now();
    let mut tx = state.db.begin_write().await?;
    identity_store::insert_signin(
        &mut tx,
        &leg.state_hash,
        &SsoSignIn {
            provider: provider.as_str().to_owned(),
            issuer,
            pkce_verifier: leg.verifier.clone(),
            nonce: leg.nonce.clone(),
            app_redirect: redirect.to_string(),
            app_state,
            app_challenge: challenge,
            expires_at: db::timestamp(now + chrono::Duration::minutes(PENDING_MINUTES)),
        },
        &db::timestamp(now),
    )
    .await?;
    tx.commit().await?;

    tracing::info!(
        provider = provider.as_str(),
        "console sign-in sent to the provider"
    );
    leg.redirect(state, provider, config, &metadata, None)
}

/// Start signing in to the console with an identity provider (for the desktop app)
///
/// Sends the browser to the provider; it comes back through `/oidc/callback` to the app's
/// loopback `redirect_uri` with `code` and `state`, or `error` and `error_description`.
#[utoipa::path(
    get, path = "/sso/{provider}/start", tag = "auth",
    params(("provider" = String, Path, description = "`google` or `microsoft`"), StartQuery),
    responses(
        (status = 303, description = "To the provider's sign-in page"),
        (status = 400, description = "An unknown or unconfigured provider, or a bad redirect, state or challenge", content_type = "text/html"),
        (status = 502, description = "The provider did not answer", content_type = "text/html"),
    )
)]
pub async fn sso_start(
    State(state): State<AppState>,
    provider: Result<Path<String>, PathRejection>,
    query: Result<Query<StartQuery>, QueryRejection>,
) -> Response {
    let (Ok(Path(provider)), Ok(Query(query))) = (provider, query) else {
        return bad_start("The address of this page is malformed.").into_response();
    };
    start(&state, &provider, query)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

/// The console sign-in of `state_value`, taken out of the database, if it is one.
pub(super) async fn take(state: &AppState, state_value: &str) -> Result<Option<SsoSignIn>, Stop> {
    let mut tx = state.db.begin_write().await?;
    let signin = identity_store::take_signin(&mut tx, &hash_secret(state_value)).await?;
    tx.commit().await?;
    Ok(signin)
}

/// Back from the provider: the browser goes on to the app with a code, or with the error.
pub(super) async fn finish(state: &AppState, signin: SsoSignIn, query: CallbackQuery) -> Response {
    let Some(mut back) = app_redirect(&signin.app_redirect) else {
        return Stop::restart("The app's address is gone.").into_response();
    };
    let outcome = complete(state, &signin, query).await;
    {
        let mut pairs = back.query_pairs_mut();
        match &outcome {
            Ok(code) => {
                pairs.append_pair("code", code.expose());
            }
            Err(stop) => {
                pairs
                    .append_pair("error", stop.code.as_str())
                    .append_pair("error_description", &stop.paragraphs.join(" "));
            }
        }
        pairs.append_pair("state", &signin.app_state);
    }
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(location) = HeaderValue::from_str(back.as_str()) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    html::secure_headers(&mut response);
    response
}

fn refused(title: &str, text: impl Into<String>) -> Stop {
    Stop::new(ErrorCode::Forbidden, title, text)
}

async fn complete(
    state: &AppState,
    signin: &SsoSignIn,
    query: CallbackQuery,
) -> Result<Secret, Stop> {
    if signin.expires_at <= db::now() {
        return Err(refused(
            "The sign-in took too long",
            format!("The sign-in took longer than {PENDING_MINUTES} minutes; start it again."),
        ));
    }
    let provider = provider_named(&signin.provider)
        .ok_or_else(|| ApiError::Internal(format!("pending provider {}", signin.provider)))?;
    let name = display_name(provider);
    if query.error.is_some() {
        return Err(refused(
            "The sign-in did not complete",
            format!("{name} ended the sign-in; nothing was changed."),
        ));
    }
    let code = query
        .code
        .filter(|c| !c.is_empty() && c.len() <= 4096)
        .ok_or_else(|| {
            refused(
                "The sign-in did not complete",
                format!("{name} sent no code."),
            )
        })?;
    let claims = signed_in(
        state,
        provider,
        &signin.issuer,
        &code,
        &signin.pkce_verifier,
        &signin.nonce,
    )
    .await?;
    let settings = identity_store::get(&state.db.pool).await?.input;

    // Microsoft: an org that names its tenant takes only that tenant's accounts, and trusts its
    // directory for their addresses.
    let tenant_checked = match settings.microsoft_tenant.as_deref() {
        Some(want) if provider == IdentityProvider::Microsoft => {
            if claims.tid.as_deref().and_then(tenant_guid).as_deref() != Some(want) {
                return Err(refused(
                    "Wrong Microsoft organisation",
                    "The account you signed in with belongs to another Microsoft Entra tenant \
                     than this organisation's. Nothing was changed.",
                ));
            }
            true
        }
        _ => false,
    };
    let account = account(provider, &claims);
    if account.subject.is_empty() {
        return Err(Stop::unverified(provider));
    }
    let who = identity(provider, &claims, tenant_checked);

    let mut tx = state.db.begin_write().await?;
    let user = resolve(&mut tx, provider, &settings, &claims, &account, &who).await?;
    match user.status {
        UserStatus::Active => {}
        UserStatus::Suspended => {
            return Err(Stop::new(
                ErrorCode::AccountSuspended,
                "This account is suspended",
                "This account is suspended. Ask an admin to reactivate it.",
            ));
        }
        _ => {
            return Err(refused(
                "Waiting for approval",
                "This account is waiting for an admin's approval and cannot sign in yet.",
            ));
        }
    }
    apply_role_mapping(&mut tx, &settings, &claims, &user).await?;
    let (code, code_hash) = new_secret("");
    let now = Utc::now();
    identity_store::insert_code(
        &mut tx,
        &code_hash,
        &SsoCode {
            user_id: user.id.clone(),
            app_challenge: signin.app_challenge.clone(),
            provider: provider.as_str().to_owned(),
            expires_at: db::timestamp(now + chrono::Duration::minutes(CODE_MINUTES)),
        },
        &db::timestamp(now),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(user = %user.id, provider = provider.as_str(), "console sign-in verified");
    Ok(code)
}

/// The account the signed-in provider account is, in the order the module doc gives.
async fn resolve(
    tx: &mut db::Tx,
    provider: IdentityProvider,
    settings: &IdentitySettingsInput,
    claims: &Claims,
    account: &Account,
    who: &Identity,
) -> Result<User, Stop> {
    if let Some(id) = users::bound_elsewhere(tx, &account.issuer, &account.subject, "").await? {
        return users::get_in(tx, &id)
            .await?
            .ok_or_else(|| Stop::unverified(provider));
    }
    for email in &who.verified {
        if let Some(id) = users::id_by_email(&mut **tx, email).await? {
            bind(tx, provider, &id, account).await?;
            return users::get_in(tx, &id)
                .await?
                .ok_or_else(|| Stop::unverified(provider));
        }
    }
    for email in &who.verified {
        for row in gatehouse_store::invitations::pending_of(tx, email).await? {
            let fits = matches!(row.identity_provider(), IdentityProvider::Any)
                || row.identity_provider() == provider;
            if !fits || check_account(provider, &row, claims).is_err() {
                continue;
            }
            let user = accept_invitation(tx, provider, &row, claims).await?;
            return Ok(user);
        }
    }
    let allowed = who.verified.iter().find(|e| {
        e.rsplit_once('@')
            .is_some_and(|(_, domain)| settings.jit_domains.iter().any(|d| d == domain))
    });
    match (settings.join_mode, allowed) {
        (JoinMode::JustInTime, Some(email)) => {
            org::check_seats(tx, 1).await?;
            let id = users::insert(
                tx,
                &users::NewUser {
                    email: email.clone(),
                    first_name: claimed_name(&claims.given_name),
                    last_name: claimed_name(&claims.family_name),
                    role: settings.jit_role,
                    status: UserStatus::Active,
                    workspace_ids: Vec::new(),
                    password_hash: None,
                    created_at: db::now(),
                    last_active_at: None,
                },
            )
            .await?;
            bind(tx, provider, &id, account).await?;
            let profile = crate::profiles::default_of(tx).await?;
            crate::profiles::start_from(tx, Some(&id), &id, profile.as_ref()).await?;
            let user = users::get_in(tx, &id)
                .await?
                .ok_or_else(|| Stop::unverified(provider))?;
            crate::audit::record(
                tx,
                Some(&id),
                "user.created",
                "user",
                &id,
                json!({ "after": user, "via": "sso", "provider": provider.as_str(), "just_in_time": true }),
            )
            .await?;
            Ok(user)
        }
        _ => {
            tracing::info!(
                provider = provider.as_str(),
                "console sign-in refused: no account"
            );
            Err(refused(
                "No account here",
                match &who.shown {
                    Some(e) => format!(
                        "{e} has no account in this organisation, and no invitation. Ask an \
                         admin to invite you."
                    ),
                    None => "The account you signed in with has no verified e-mail address \
                             this organisation knows. Ask an admin to invite you."
                        .to_owned(),
                },
            ))
        }
    }
}

/// The values of the settings' groups claim: a list of strings, or one string.
fn groups_of(claims: &Claims, claim: &str) -> Vec<String> {
    match claims.extra.get(claim) {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        Some(Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

/// Applies the role mapping to `user` at sign-in: the highest role of their matching entries
/// (none matching leaves the role alone), membership of each mapped group they match, and
/// leaving mapped groups they no longer match (as a plain member; managers stay). The
/// break-glass admin's role is never changed this way, nor the last active admin lowered.
async fn apply_role_mapping(
    tx: &mut db::Tx,
    settings: &IdentitySettingsInput,
    claims: &Claims,
    user: &User,
) -> Result<(), Stop> {
    if settings.role_mapping.is_empty() {
        return Ok(());
    }
    let groups = groups_of(claims, &settings.groups_claim);
    let matched: Vec<&gatehouse_api::RoleMapping> = settings
        .role_mapping
        .iter()
        .filter(|m| groups.contains(&m.claim_value))
        .collect();
    let role: Option<Role> = matched.iter().filter_map(|m| m.role).max();
    let break_glass = settings.break_glass_user_id.as_deref() == Some(user.id.as_str());
    // A mapping that would take the org's last active admin below admin leaves them be: the
    // org would have nobody left to change the settings back.
    let last_admin = user.role == Role::Admin && users::active_admins(&mut **tx).await? <= 1;
    if let Some(role) = role
        && role != user.role
        && !break_glass
        && !(last_admin && role < Role::Admin)
    {
        let mut after = user.clone();
        after.role = role;
        users::update(tx, &after, user.status).await?;
        if role < user.role {
            crate::workspaces::cap_roles(tx, &user.id, role).await?;
        }
        crate::audit::record(
            tx,
            Some(&user.id),
            "user.updated",
            "user",
            &user.id,
            json!({ "before": user, "after": after, "via": "sso_role_mapping" }),
        )
        .await?;
    }
    for m in &settings.role_mapping {
        let Some(group) = &m.group_id else { continue };
        let wanted = matched.iter().any(|x| std::ptr::eq(*x, m));
        let now = gatehouse_store::groups::role_of(&mut **tx, group, &user.id).await?;
        match (wanted, now.as_deref()) {
            (true, None) if gatehouse_store::groups::get_in(tx, group).await?.is_some() => {
                gatehouse_store::groups::put_member(
                    tx,
                    group,
                    &user.id,
                    gatehouse_api::GroupRole::Member,
                )
                .await?;
                crate::audit::record(
                    tx,
                    Some(&user.id),
                    "group.member_set",
                    "group_member",
                    &format!("{group}:{}", user.id),
                    json!({ "via": "sso_role_mapping", "claim_value": m.claim_value }),
                )
                .await?;
            }
            (false, Some("member")) => {
                let revoked = crate::groups::remove_member(tx, group, &user.id).await?;
                crate::audit::record(
                    tx,
                    Some(&user.id),
                    "group.member_removed",
                    "group_member",
                    &format!("{group}:{}", user.id),
                    json!({ "via": "sso_role_mapping", "grants_revoked": revoked }),
                )
                .await?;
            }
            _ => {}
        }
    }
    Ok(())
}

/// The identity providers console users can sign in with
///
/// No token: the app's sign-in form asks before anyone is signed in. Names and ids only.
#[utoipa::path(
    get, path = "/admin/v1/auth/sso/providers", tag = "auth",
    responses((status = 200, description = "The providers set up on this gateway", body = Vec<gatehouse_api::SsoProvider>)),
)]
pub async fn sso_providers(State(state): State<AppState>) -> Json<Vec<gatehouse_api::SsoProvider>> {
    Json(crate::identity::providers(&state))
}

/// Exchange the code from a console sign-in for a session
///
/// The code works once, for two minutes, and only with the PKCE verifier of the challenge the
/// app started with.
#[utoipa::path(
    post, path = "/admin/v1/auth/sso/token", tag = "auth",
    request_body = SsoExchange,
    responses(
        (status = 200, description = "Signed in", body = LoginResponse),
        (status = 401, description = "An unknown, used or expired code, or the wrong verifier", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 403, description = "The account was suspended meanwhile", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not an exchange request", body = gatehouse_api::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn sso_token(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<SsoExchange>,
) -> ApiResult<Json<LoginResponse>> {
    let unknown = || {
        ApiError::new(
            ErrorCode::Unauthorized,
            "This sign-in code is not valid; sign in again.",
        )
    };
    if body.code.is_empty() || body.code.len() > 512 || body.code_verifier.len() > 256 {
        return Err(unknown());
    }
    let mut tx = state.db.begin_write().await?;
    let code = identity_store::take_code(&mut tx, &hash_secret(&body.code)).await?;
    // Taken out whatever comes next: a code is never tried twice.
    tx.commit().await?;
    let code = code.ok_or_else(unknown)?;
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(body.code_verifier.as_bytes()));
    if code.expires_at <= db::now() || challenge != code.app_challenge {
        return Err(unknown());
    }
    let user = crate::users::get(&state.db.pool, &code.user_id).await?;
    if user.status != UserStatus::Active {
        return Err(ApiError::new(
            ErrorCode::AccountSuspended,
            "This account is not active.",
        ));
    }
    let session = crate::sessions::open_session(
        &state,
        &code.user_id,
        json!({ "via": "sso", "provider": code.provider }),
    )
    .await?;
    Ok(Json(session))
}
