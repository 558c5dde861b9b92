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

/// Google's issuer.
pub const GOOGLE_ISSUER: &str = "https://accounts.google.com";

/// Microsoft's issuer, where `{tenant}` becomes the invitation's tenant id, or `common` (work,
/// school and personal Microsoft accounts) when the invitation names no tenant. An issuer
/// without `{tenant}` is used as it is, e.g. a single-tenant app's own tenant.
pub const MICROSOFT_ISSUER: &str = "https://login.microsoftonline.com/{tenant}/v2.0";

/// How long the browser may take at the provider.
const PENDING_MINUTES: i64 = 10;

/// The whole of one call to a provider, so that a provider that hangs cannot hold a request.
const PROVIDER_TIMEOUT: Duration = Duration::from_secs(10);

/// Signature algorithms accepted on ID tokens: asymmetric only, so that a token can never be
/// "signed" with something public such as the client id, and never `none`.
const ALGORITHMS: [Algorithm; 8] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
];

/// One provider's registration at this gateway.
#[derive(Debug, Clone)]
pub struct ProviderConfig {
    /// The issuer URL; its discovery document is `{issuer}/.well-known/openid-configuration`.
    /// For Microsoft it may hold `{tenant}` (see [`MICROSOFT_ISSUER`]).
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Secret,
}

impl ProviderConfig {
    /// From the `serve` flags or their environment variables. A provider without a client id is
    /// off (`None`); with a client id, a client secret is required and the issuer must be an
    /// https URL (http only on loopback, for tests and local issuers).
    pub fn from_settings(
        name: &str,
        issuer: &str,
        client_id: Option<String>,
        client_secret: Option<String>,
    ) -> Result<Option<Self>, String> {
        let Some(client_id) = client_id
            .map(|c| c.trim().to_owned())
            .filter(|c| !c.is_empty())
        else {
            return Ok(None);
        };
        let client_secret = client_secret
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| format!("{name} sign-in has a client id but no client secret"))?;
        let issuer = issuer.trim().trim_end_matches('/').to_owned();
        check_endpoint(&issuer.replace("{tenant}", "common"))
            .map_err(|e| format!("{name} issuer {issuer:?}: {e}"))?;
        Ok(Some(Self {
            issuer,
            client_id,
            client_secret: Secret::new(client_secret.trim()),
        }))
    }
}

/// Which identity providers this gateway can send invitees to.
#[derive(Debug, Clone, Default)]
pub struct OidcConfig {
    pub google: Option<ProviderConfig>,
    pub microsoft: Option<ProviderConfig>,
}

impl OidcConfig {
    fn get(&self, provider: IdentityProvider) -> Option<&ProviderConfig> {
        match provider {
            IdentityProvider::Google => self.google.as_ref(),
            IdentityProvider::Microsoft => self.microsoft.as_ref(),
            IdentityProvider::Any => None,
        }
    }
}

fn display_name(provider: IdentityProvider) -> &'static str {
    match provider {
        IdentityProvider::Google => "Google",
        IdentityProvider::Microsoft => "Microsoft",
        IdentityProvider::Any => "an identity provider",
    }
}

fn provider_named(name: &str) -> Option<IdentityProvider> {
    match name {
        "google" => Some(IdentityProvider::Google),
        "microsoft" => Some(IdentityProvider::Microsoft),
        _ => None,
    }
}

/// `url` if the gateway may talk to it: https, or http to a loopback address; no credentials.
fn check_endpoint(url: &str) -> Result<url::Url, String> {
    let parsed = url::Url::parse(url).map_err(|e| format!("not a URL: {e}"))?;
    let loopback = match parsed.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => return Err("has no host".into()),
    };
    match parsed.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => return Err("must be an https:// URL".into()),
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err("must not carry credentials".into());
    }
    Ok(parsed)
}

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

// ---------------------------------------------------------------------------------------------
// Talking to the provider

/// One client for every provider call: no redirects (a token request must never be replayed
/// to wherever a redirect points) and a deadline.
fn http() -> Result<&'static reqwest::Client, ApiError> {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    if let Some(client) = CLIENT.get() {
        return Ok(client);
    }
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(PROVIDER_TIMEOUT)
        .user_agent(concat!("gatehouse-gateway/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| ApiError::Internal(format!("HTTP client: {e}")))?;
    Ok(CLIENT.get_or_init(|| client))
}

/// The parts of a discovery document this flow uses.
#[derive(Debug, Deserialize)]
struct Metadata {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
    #[serde(default)]
    token_endpoint_auth_methods_supported: Option<Vec<String>>,
}

/// Whether the issuer a discovery document names is the one asked for. Microsoft's
/// multi-tenant documents (`common`, `organizations`) name `…/{tenantid}/v2.0`, a template the
/// ID token's `tid` fills in; such a segment matches any one segment here.
fn issuer_matches(discovered: &str, requested: &str) -> bool {
    let d: Vec<&str> = discovered.trim_end_matches('/').split('/').collect();
    let r: Vec<&str> = requested.trim_end_matches('/').split('/').collect();
    d.len() == r.len()
        && d.iter()
            .zip(&r)
            .all(|(d, r)| d == r || (*d == "{tenantid}" && !r.is_empty()))
}

async fn fetch_json<T: serde::de::DeserializeOwned>(
    request: reqwest::RequestBuilder,
    provider: IdentityProvider,
    what: &str,
) -> Result<T, Stop> {
    let response = request
        .header(header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| {
            tracing::warn!(provider = provider.as_str(), error = %e.without_url(), "fetching the {what} failed");
            Stop::unreachable(provider)
        })?;
    if !response.status().is_success() {
        tracing::warn!(provider = provider.as_str(), status = %response.status(), "fetching the {what} failed");
        return Err(Stop::unreachable(provider));
    }
    response.json().await.map_err(|e| {
        tracing::warn!(provider = provider.as_str(), error = %e.without_url(), "the {what} is not what was expected");
        Stop::unreachable(provider)
    })
}

/// The provider's discovery document, checked: it is the issuer's own and its endpoints are
/// ones the gateway may send a client secret and an invitee to.
async fn discover(provider: IdentityProvider, issuer: &str) -> Result<Metadata, Stop> {
    let url = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    let metadata: Metadata = fetch_json(http()?.get(url), provider, "discovery document").await?;
    let endpoints = [
        &metadata.authorization_endpoint,
        &metadata.token_endpoint,
        &metadata.jwks_uri,
    ];
    if !issuer_matches(&metadata.issuer, issuer)
        || endpoints.iter().any(|e| check_endpoint(e).is_err())
    {
        tracing::warn!(
            provider = provider.as_str(),
            issuer,
            "the discovery document names another issuer or an unusable endpoint"
        );
        return Err(Stop::unreachable(provider));
    }
    if metadata
        .token_endpoint_auth_methods_supported
        .as_ref()
        .is_some_and(|m| !m.iter().any(|m| m == "client_secret_post"))
    {
        tracing::warn!(
            provider = provider.as_str(),
            "the token endpoint does not take client_secret_post"
        );
        return Err(Stop::unreachable(provider));
    }
    Ok(metadata)
}

/// The issuer an invitation's sign-in goes to.
fn issuer_for(
    provider: IdentityProvider,
    config: &ProviderConfig,
    tenant_id: Option<&str>,
) -> Result<String, Stop> {
    if provider != IdentityProvider::Microsoft {
        return Ok(config.issuer.clone());
    }
    let tenant = match tenant_id {
        Some(t) => tenant_guid(t).ok_or_else(|| {
            Stop::new(
                ErrorCode::Conflict,
                "This invitation names an unusable tenant",
                format!(
                    "The invitation is restricted to the Microsoft Entra tenant \"{t}\", which is \
                     not a directory (tenant) ID. Ask whoever invited you to invite you again \
                     with the tenant's ID, a GUID such as 72f988bf-86f1-41af-91ab-2d7cd011db47."
                ),
            )
        })?,
        None => "common".to_owned(),
    };
    Ok(config.issuer.replace("{tenant}", &tenant))
}

/// A tenant id in the one form Microsoft's `tid` claim has: a lower-case hyphenated GUID.
fn tenant_guid(s: &str) -> Option<String> {
    uuid::Uuid::try_parse(s.trim())
        .ok()
        .map(|u| u.hyphenated().to_string())
}

/// The code for tokens at the token endpoint; returns the ID token.
async fn exchange(
    provider: IdentityProvider,
    config: &ProviderConfig,
    metadata: &Metadata,
    code: &str,
    verifier: &str,
    redirect_uri: &str,
) -> Result<String, Stop> {
    let response = http()?
        .post(&metadata.token_endpoint)
        .header(header::ACCEPT, "application/json")
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("code_verifier", verifier),
            ("client_id", &config.client_id),
            ("client_secret", config.client_secret.expose()),
        ])
        .send()
        .await
        .map_err(|e| {
            tracing::warn!(provider = provider.as_str(), error = %e.without_url(), "the token request failed");
            Stop::unreachable(provider)
        })?;
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    if status.is_client_error() {
        // A refused code (used, expired, not ours) is the invitee's to retry, not an outage.
        // Only a plain OAuth error name is kept: the description is the provider's free text.
        let error = body["error"]
            .as_str()
            .filter(|e| e.len() <= 64 && e.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
            .unwrap_or("refused");
        tracing::info!(
            provider = provider.as_str(),
            %status,
            error,
            "the token endpoint refused the code"
        );
        return Err(Stop::new(
            ErrorCode::Forbidden,
            format!("{} did not accept the sign-in", display_name(provider)),
            format!(
                "{} refused to complete this sign-in ({error}); nothing was changed.",
                display_name(provider)
            ),
        )
        .and("Open the invitation link from your e-mail again to start over."));
    }
    match body["id_token"].as_str() {
        Some(token) if status.is_success() => Ok(token.to_owned()),
        _ => {
            tracing::warn!(provider = provider.as_str(), %status, "the token endpoint answered without an ID token");
            Err(Stop::unreachable(provider))
        }
    }
}

/// The claims of an ID token this flow reads. `exp`, `iss`, `aud`, `sub` are required and
/// `exp`/`nbf`/`aud` checked by `jsonwebtoken`; the rest here.
#[derive(Debug, Deserialize)]
struct Claims {
    iss: String,
    #[serde(default)]
    aud: Value,
    #[serde(default)]
    azp: Option<String>,
    #[serde(default)]
    nonce: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    email_verified: Option<Value>,
    #[serde(default)]
    preferred_username: Option<String>,
    /// The account at the issuer; required.
    #[serde(default)]
    sub: String,
    /// Microsoft: the tenant of the account.
    #[serde(default)]
    tid: Option<String>,
    /// Microsoft: the account's object id, stable for the account in its tenant.
    #[serde(default)]
    oid: Option<String>,
    /// Microsoft: the issuer that authenticated a guest, when it is not the tenant itself.
    #[serde(default)]
    idp: Option<String>,
    /// Microsoft: the e-mail's domain is verified by the tenant that owns it.
    #[serde(default)]
    xms_edov: Option<Value>,
    #[serde(default)]
    given_name: Option<String>,
    #[serde(default)]
    family_name: Option<String>,
}

fn truthy(v: Option<&Value>) -> bool {
    match v {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s == "true",
        _ => false,
    }
}

/// Why a token was refused, for the log: a fixed word, never the token or a claim's value.
fn refusal(kind: &jsonwebtoken::errors::ErrorKind) -> &'static str {
    use jsonwebtoken::errors::ErrorKind as K;
    match kind {
        K::InvalidSignature => "bad signature",
        K::ExpiredSignature => "expired",
        K::ImmatureSignature => "not yet valid",
        K::InvalidAudience => "another audience",
        K::InvalidIssuer => "another issuer",
        K::MissingRequiredClaim(_) => "a required claim is missing",
        K::InvalidAlgorithm | K::MissingAlgorithm => "an unexpected algorithm",
        _ => "malformed",
    }
}

/// The ID token, verified: signed by a key of the issuer's JWKS with an asymmetric algorithm,
/// issued by the issuer discovered for this sign-in, for this client, unexpired, carrying the
/// nonce this sign-in sent.
async fn verify(
    provider: IdentityProvider,
    config: &ProviderConfig,
    metadata: &Metadata,
    id_token: &str,
    nonce: &str,
) -> Result<Claims, Stop> {
    let refuse = |why: &str| {
        tracing::info!(
            provider = provider.as_str(),
            reason = why,
            "ID token refused"
        );
        Stop::unverified(provider)
    };
    let header = jsonwebtoken::decode_header(id_token).map_err(|e| refuse(refusal(e.kind())))?;
    if !ALGORITHMS.contains(&header.alg) {
        return Err(refuse("an unexpected algorithm"));
    }
    #[derive(Deserialize)]
    struct KeySet {
        keys: Vec<Value>,
    }
    let keys: KeySet = fetch_json(http()?.get(&metadata.jwks_uri), provider, "JWKS").await?;
    // Keys are read one at a time so that one key of a type this build does not know (the set
    // may hold encryption keys too) does not make the others unusable.
    let candidates: Vec<Jwk> = keys
        .keys
        .into_iter()
        .filter_map(|k| serde_json::from_value::<Jwk>(k).ok())
        .filter(|k| match (&header.kid, &k.common.key_id) {
            (Some(want), Some(have)) => want == have,
            (Some(_), None) => false,
            (None, _) => true,
        })
        .filter(|k| !matches!(k.common.public_key_use, Some(PublicKeyUse::Encryption)))
        .filter(|k| {
            k.common
                .key_algorithm
                .is_none_or(|a| a == KeyAlgorithm::from(header.alg))
        })
        .collect();
    let [jwk] = candidates.as_slice() else {
        return Err(refuse("no single matching key in the JWKS"));
    };
    let key = DecodingKey::from_jwk(jwk).map_err(|_| refuse("an unusable key in the JWKS"))?;
    if key.family() != header.alg.family() {
        return Err(refuse("a key of another type"));
    }
    let mut validation = Validation::new(header.alg);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation.set_audience(&[&config.client_id]);
    validation.validate_nbf = true;
    validation.leeway = 60;
    let claims = jsonwebtoken::decode::<Claims>(id_token, &key, &validation)
        .map_err(|e| refuse(refusal(e.kind())))?
        .claims;
    // Checked here rather than by `jsonwebtoken` because a multi-tenant issuer is a template.
    let expected_issuer = if metadata.issuer.contains("{tenantid}") {
        let tid = claims
            .tid
            .as_deref()
            .and_then(tenant_guid)
            .ok_or_else(|| refuse("no tenant for a multi-tenant issuer"))?;
        metadata.issuer.replace("{tenantid}", &tid)
    } else {
        metadata.issuer.clone()
    };
    // Google documents both forms of its issuer in ID tokens.
    let google_short = expected_issuer == GOOGLE_ISSUER && claims.iss == "accounts.google.com";
    if claims.iss != expected_issuer && !google_short {
        return Err(refuse("another issuer"));
    }
    // OpenID Connect Core 3.1.3.7: several audiences need an `azp`, and an `azp` must be us.
    let several = claims.aud.as_array().is_some_and(|a| a.len() > 1);
    if (several && claims.azp.is_none())
        || claims.azp.as_ref().is_some_and(|a| *a != config.client_id)
    {
        return Err(refuse("authorized for another party"));
    }
    if claims.nonce.as_deref() != Some(nonce) {
        return Err(refuse("another nonce"));
    }
    if provider == IdentityProvider::Microsoft {
        // The account is its tenant and its object id: both must be there, and the token must
        // come from that tenant's own issuer.
        let tid = claims
            .tid
            .as_deref()
            .and_then(tenant_guid)
            .ok_or_else(|| refuse("no tenant"))?;
        if !claims.iss.split('/').any(|segment| segment == tid) {
            return Err(refuse("an issuer of another tenant"));
        }
        if claims.oid.as_deref().and_then(tenant_guid).is_none() {
            return Err(refuse("no object id"));
        }
    } else if claims.sub.is_empty() {
        return Err(refuse("no subject"));
    }
    Ok(claims)
}

/// The provider's account behind a verified ID token, as recorded on the user.
struct Account {
    issuer: String,
    tenant: Option<String>,
    subject: String,
}

fn account(provider: IdentityProvider, claims: &Claims) -> Account {
    match provider {
        IdentityProvider::Microsoft => Account {
            issuer: claims.iss.clone(),
            tenant: claims.tid.as_deref().and_then(tenant_guid),
            subject: claims
                .oid
                .as_deref()
                .and_then(tenant_guid)
                .unwrap_or_default(),
        },
        _ => Account {
            issuer: claims.iss.clone(),
            tenant: None,
            subject: claims.sub.clone(),
        },
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

/// The e-mail addresses the provider vouches for, lower-cased, and (for the page) what the
/// account said its e-mail was when none is vouched for.
struct Identity {
    verified: Vec<String>,
    shown: Option<String>,
}

/// Google: `email` with `email_verified`. Microsoft sends no `email_verified`; its `email` and
/// `preferred_username` (the sign-in name) are set by the account's tenant, can change, and
/// anyone can make a tenant that names an account of its own after someone else's address.
/// Accepted from Microsoft:
/// - `email` that the owner of its domain verified (`xms_edov`, an optional claim to add in
///   the app registration; or an `email_verified`, should one come), from any tenant;
/// - `email` or `preferred_username` of a member of the tenant the invitation is restricted to
///   (`tid` checked, and no `idp`: not a guest from elsewhere), whose directory the inviting
///   admin chose to trust.
///
/// Never `preferred_username` (nor a plain `email`) from a tenant the invitation does not name.
fn identity(provider: IdentityProvider, claims: &Claims, tenant_checked: bool) -> Identity {
    let lower = |s: &Option<String>| {
        s.as_deref()
            .map(|e| e.trim().to_lowercase())
            .filter(|e| crate::demo::looks_like_email(e))
    };
    let email = lower(&claims.email);
    let email_verified = truthy(claims.email_verified.as_ref());
    let mut verified = Vec::new();
    match provider {
        IdentityProvider::Microsoft => {
            let member = tenant_checked && claims.idp.as_ref().is_none_or(|i| *i == claims.iss);
            if let Some(e) = &email
                && (email_verified || truthy(claims.xms_edov.as_ref()) || member)
            {
                verified.push(e.clone());
            }
            if let Some(u) = lower(&claims.preferred_username)
                && member
            {
                verified.push(u);
            }
        }
        _ => {
            if let Some(e) = &email
                && email_verified
            {
                verified.push(e.clone());
            }
        }
    }
    Identity {
        verified,
        shown: email.or_else(|| lower(&claims.preferred_username)),
    }
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

    let (state_value, state_hash) = new_secret("");
    let nonce = random_value();
    let verifier = random_value();
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let now = Utc::now();
    let mut tx = state.db.begin_write().await?;
    signins::delete_expired(&mut tx, &db::timestamp(now)).await?;
    signins::insert(
        &mut tx,
        &signins::NewSignIn {
            state_hash,
            invitation_id: &row.id,
            provider: provider.as_str(),
            issuer: &issuer,
            pkce_verifier: &verifier,
            nonce: &nonce,
            created_at: db::timestamp(now),
            expires_at: db::timestamp(now + chrono::Duration::minutes(PENDING_MINUTES)),
        },
    )
    .await?;
    tx.commit().await?;

    let mut url = check_endpoint(&metadata.authorization_endpoint)
        .map_err(|_| Stop::unreachable(provider))?;
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &config.client_id)
        .append_pair("redirect_uri", &redirect_uri(state))
        .append_pair("scope", "openid email profile")
        .append_pair("state", state_value.expose())
        .append_pair("nonce", &nonce)
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256")
        // Preselects the invited account at the provider; the e-mail is checked on return
        // regardless.
        .append_pair("login_hint", &row.email);
    let location = HeaderValue::from_str(url.as_str()).map_err(|_| Stop::unreachable(provider))?;
    tracing::info!(
        invitation = %row.id,
        provider = provider.as_str(),
        "invitee sent to sign in"
    );
    let mut response = StatusCode::SEE_OTHER.into_response();
    response.headers_mut().insert(header::LOCATION, location);
    html::secure_headers(&mut response);
    Ok(response)
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

async fn finish(state: &AppState, query: CallbackQuery) -> Result<Response, Stop> {
    let state_value = query
        .state
        .filter(|s| !s.is_empty() && s.len() <= 512)
        .ok_or_else(|| Stop::restart("The address of this page is incomplete."))?;
    let pending = take_pending(state, &state_value).await?.ok_or_else(|| {
        Stop::restart("This sign-in was already used, or it is not one this gateway started.")
    })?;
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
    let config = state
        .oidc
        .get(provider)
        .ok_or_else(|| Stop::not_configured(provider))?;
    let metadata = discover(provider, &pending.issuer).await?;
    let id_token = exchange(
        provider,
        config,
        &metadata,
        &code,
        &pending.pkce_verifier,
        &redirect_uri(state),
    )
    .await?;
    let claims = verify(provider, config, &metadata, &id_token, &pending.nonce).await?;

    let mut tx = state.db.begin_write().await?;
    let row = invitations::open_by_id(&mut tx, &pending.invitation_id).await?;
    if row.identity_provider() != provider {
        return Err(Stop::unverified(provider));
    }
    check_account(provider, &row, &claims)?;
    let name_or = |invited: &str, claimed: &Option<String>| {
        if !invited.is_empty() {
            return invited.to_owned();
        }
        claimed
            .as_deref()
            .and_then(|n| validate::name("name", n).ok())
            .unwrap_or_default()
    };
    let first_name = name_or(&row.first_name, &claims.given_name);
    let last_name = name_or(&row.last_name, &claims.family_name);
    let user = invitations::redeem(
        &mut tx,
        &row,
        first_name,
        last_name,
        None,
        provider.as_str(),
    )
    .await?;
    bind(&mut tx, provider, &user.id, &account(provider, &claims)).await?;
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
