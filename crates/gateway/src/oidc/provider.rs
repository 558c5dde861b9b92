//! The providers this gateway is registered with, their discovery documents and the one HTTP
//! client that talks to them.

#[allow(clippy::wildcard_imports)]
use super::*;

/// Google's issuer.
pub const GOOGLE_ISSUER: &str = "https://accounts.google.com";

/// Microsoft's issuer, where `{tenant}` becomes the invitation's tenant id, or `common` (work,
/// school and personal Microsoft accounts) when the invitation names no tenant. An issuer
/// without `{tenant}` is used as it is, e.g. a single-tenant app's own tenant.
pub const MICROSOFT_ISSUER: &str = "https://login.microsoftonline.com/{tenant}/v2.0";

/// The whole of one call to a provider, so that a provider that hangs cannot hold a request.
pub(super) const PROVIDER_TIMEOUT: Duration = Duration::from_secs(10);

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
    /// The organisation's own provider, found by discovery at its issuer; its `email` counts
    /// only with `email_verified`, as Google's.
    pub generic: Option<ProviderConfig>,
    /// What people see it called ("Okta", "Keycloak"); "Single sign-on" when not set.
    pub generic_name: Option<String>,
}

impl OidcConfig {
    /// Whether the gateway's configuration sets up `provider`.
    pub fn configured(&self, provider: IdentityProvider) -> bool {
        self.get(provider).is_some()
    }

    pub(super) fn get(&self, provider: IdentityProvider) -> Option<&ProviderConfig> {
        match provider {
            IdentityProvider::Google => self.google.as_ref(),
            IdentityProvider::Microsoft => self.microsoft.as_ref(),
            IdentityProvider::Oidc => self.generic.as_ref(),
            IdentityProvider::Any => None,
        }
    }
}

pub(super) fn display_name(provider: IdentityProvider) -> &'static str {
    match provider {
        IdentityProvider::Google => "Google",
        IdentityProvider::Microsoft => "Microsoft",
        IdentityProvider::Oidc => "your identity provider",
        IdentityProvider::Any => "an identity provider",
    }
}

pub(super) fn provider_named(name: &str) -> Option<IdentityProvider> {
    match name {
        "google" => Some(IdentityProvider::Google),
        "microsoft" => Some(IdentityProvider::Microsoft),
        "oidc" => Some(IdentityProvider::Oidc),
        _ => None,
    }
}

/// `url` if the gateway may talk to it: https, or http to a loopback address; no credentials.
pub(super) fn check_endpoint(url: &str) -> Result<url::Url, String> {
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
// Talking to the provider

/// One client for every provider call: no redirects (a token request must never be replayed
/// to wherever a redirect points) and a deadline.
pub(super) fn http() -> Result<&'static reqwest::Client, ApiError> {
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
pub(super) struct Metadata {
    pub(super) issuer: String,
    pub(super) authorization_endpoint: String,
    pub(super) token_endpoint: String,
    pub(super) jwks_uri: String,
    #[serde(default)]
    pub(super) token_endpoint_auth_methods_supported: Option<Vec<String>>,
}

/// Whether the issuer a discovery document names is the one asked for. Microsoft's
/// multi-tenant documents (`common`, `organizations`) name `…/{tenantid}/v2.0`, a template the
/// ID token's `tid` fills in; such a segment matches any one segment here.
pub(super) fn issuer_matches(discovered: &str, requested: &str) -> bool {
    let d: Vec<&str> = discovered.trim_end_matches('/').split('/').collect();
    let r: Vec<&str> = requested.trim_end_matches('/').split('/').collect();
    d.len() == r.len()
        && d.iter()
            .zip(&r)
            .all(|(d, r)| d == r || (*d == "{tenantid}" && !r.is_empty()))
}

pub(super) async fn fetch_json<T: serde::de::DeserializeOwned>(
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
pub(super) async fn discover(provider: IdentityProvider, issuer: &str) -> Result<Metadata, Stop> {
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
pub(super) fn issuer_for(
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
pub fn tenant_guid(s: &str) -> Option<String> {
    uuid::Uuid::try_parse(s.trim())
        .ok()
        .map(|u| u.hyphenated().to_string())
}
