//! The admin-API client: reqwest with rustls, timeouts, retries for idempotent calls, and
//! problem+json parsed into [`CoreError::Api`].
//!
//! Every operation of the admin API (`ADMIN-API.md`) is one thin method on [`AdminClient`], in
//! the module of its resource (one `impl` block each), over one generic
//! [`AdminClient::request`] core here, which decides the retry policy from the method:
//! GET, PUT and DELETE are idempotent and are retried with exponential backoff and jitter when
//! the gateway cannot be reached, times out or answers 5xx (or 429/503 with a `Retry-After` the
//! client is willing to wait for); POST and PATCH are sent exactly once.
//!
//! Nothing here logs or formats a token, a password or a URL with its query: reqwest's errors are
//! stripped of their URL, the `Authorization` header is marked sensitive, and request bodies are
//! never logged.

use std::time::Duration;

use chrono::{DateTime, Utc};
use gatehouse_api::{
    LoginRequest, LoginResponse, Me, Page, Problem, Secret, SsoExchange, SsoProvider, SyncPage,
    User, UserListQuery,
};
use rand::Rng;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use reqwest::{Method, Response, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use url::Url;

use crate::error::{CoreError, CoreResult};

/// List, create, get, patch and delete of one collection under `/admin/v1/{path}`: the same five
/// one-line methods for workspaces, groups and models, written inside their `impl` block.
macro_rules! collection {
    ($path:literal, $item:ty, $create:ty, $patch:ty,
     $list_fn:ident, $create_fn:ident, $get_fn:ident, $patch_fn:ident, $delete_fn:ident) => {
        #[doc = concat!("`GET /", $path, "`")]
        pub async fn $list_fn(&self, q: &ListQuery) -> CoreResult<Page<$item>> {
            self.get(&[$path], q).await
        }
        #[doc = concat!("`POST /", $path, "`")]
        pub async fn $create_fn(&self, body: &$create) -> CoreResult<$item> {
            self.with_body(Method::POST, &[$path], body).await
        }
        #[doc = concat!("`GET /", $path, "/{id}`")]
        pub async fn $get_fn(&self, id: &str) -> CoreResult<$item> {
            self.get(&[$path, id], NO_QUERY).await
        }
        #[doc = concat!("`PATCH /", $path, "/{id}`: only the fields present change")]
        pub async fn $patch_fn(&self, id: &str, body: &$patch) -> CoreResult<$item> {
            self.with_body(Method::PATCH, &[$path, id], body).await
        }
        #[doc = concat!("`DELETE /", $path, "/{id}`")]
        pub async fn $delete_fn(&self, id: &str) -> CoreResult<()> {
            self.bare(Method::DELETE, &[$path, id]).await
        }
    };
}

mod alerts;
mod audit;
mod channels;
mod download;
mod groups;
mod identity;
mod invitations;
mod keys;
mod me;
mod models;
mod org;
mod policy;
mod profiles;
mod scim;
mod usage;
mod users;
mod workspaces;

pub use invitations::Invited;
pub use policy::Subject;

/// The calls the core's own logic makes to a gateway: the sync loop ([`crate::sync::sync`]) and
/// the console's start-up (`me`). A trait so that this logic can be tested against another
/// implementation without Tauri or a network; [`AdminClient`] is the real one.
///
/// It deliberately does not cover the whole API: every other operation is a plain pass-through
/// that the UI triggers and no core logic branches on, so it lives as an inherent method of
/// [`AdminClient`] only. A stand-in for tests then implements three methods, not sixty.
pub trait AdminApi: Send + Sync {
    fn me(&self) -> impl Future<Output = CoreResult<Me>> + Send;
    fn users(&self, query: &UserListQuery) -> impl Future<Output = CoreResult<Page<User>>> + Send;
    fn sync(&self, since: i64, limit: u32) -> impl Future<Output = CoreResult<SyncPage>> + Send;
}

/// When and how often an idempotent request is tried again.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Tries after the first; 0 never retries.
    pub retries: u32,
    /// The delay before the first retry; each further one doubles it, up to `max_delay`. The
    /// actual delay is drawn between half of it and all of it (jitter).
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// The longest `Retry-After` (on 429 and 503) the client waits for; a longer one is not
    /// retried: the error goes to the caller.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            retries: 3,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
            max_retry_after: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// Never retries: for tests and for callers that retry themselves.
    pub fn none() -> Self {
        Self {
            retries: 0,
            ..Self::default()
        }
    }

    /// The delay before retry number `attempt` (1-based): exponential, capped, with jitter.
    fn backoff(&self, attempt: u32) -> Duration {
        let full = self
            .base_delay
            .saturating_mul(1u32 << (attempt - 1).min(16))
            .min(self.max_delay);
        let half = full / 2;
        half + full
            .saturating_sub(half)
            .mul_f64(rand::thread_rng().r#gen::<f64>())
    }
}

/// How an [`AdminClient`] connects.
#[derive(Debug, Clone, Default)]
pub struct ClientOptions {
    /// PEM certificate(s) of a private CA that signed the gateway's certificate, trusted in
    /// addition to the public roots.
    pub ca_pem: Option<String>,
    pub retry: RetryPolicy,
    pub timeouts: Timeouts,
}

impl ClientOptions {
    /// The defaults, trusting `ca_pem` too.
    pub fn with_ca(ca_pem: Option<&str>) -> Self {
        Self {
            ca_pem: ca_pem.map(str::to_owned),
            ..Self::default()
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Timeouts {
    /// Establishing the TCP and TLS connection.
    pub connect: Duration,
    /// A whole JSON request, from sending it to its last byte.
    pub request: Duration,
    /// Silence while reading a response; for streamed downloads the only limit.
    pub read: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(5),
            request: Duration::from_secs(60),
            read: Duration::from_secs(30),
        }
    }
}

/// A signed-in session, from [`AdminClient::login`]. Unlike [`LoginResponse`] its token is a
/// [`Secret`], so it cannot be printed by accident.
#[derive(Debug, Clone)]
pub struct Session {
    pub token: Secret,
    pub expires_at: DateTime<Utc>,
    pub user: User,
}

/// A client of one gateway's admin API, signed in with one token. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AdminClient {
    http: reqwest::Client,
    base: Url,
    token: Option<Secret>,
    options: ClientOptions,
}

/// No query string.
const NO_QUERY: &[(&str, &str)] = &[];

/// A JSON body already encoded, so that a retry sends the same bytes.
type Body = Option<Vec<u8>>;

impl AdminClient {
    /// A client of the gateway at `base` (`http://` or `https://`), with the default options.
    pub fn new(base: &str, token: Secret) -> CoreResult<Self> {
        Self::with_options(base, token, ClientOptions::default())
    }

    /// A client of the gateway at `base` that trusts the CA certificate(s) in `ca_pem` as well.
    pub fn with_ca(base: &str, token: Secret, ca_pem: Option<&str>) -> CoreResult<Self> {
        Self::with_options(base, token, ClientOptions::with_ca(ca_pem))
    }

    pub fn with_options(base: &str, token: Secret, options: ClientOptions) -> CoreResult<Self> {
        Self::build(base, Some(token), options)
    }

    fn build(base: &str, token: Option<Secret>, options: ClientOptions) -> CoreResult<Self> {
        let mut base = Url::parse(base.trim())
            // Not echoed: a mistyped URL may still carry a password.
            .map_err(|e| CoreError::Invalid(format!("the gateway URL is not a URL: {e}")))?;
        if !matches!(base.scheme(), "http" | "https") || base.host_str().is_none() {
            return Err(CoreError::Invalid(
                "the gateway URL must start with http:// or https://".into(),
            ));
        }
        if !base.username().is_empty() || base.password().is_some() {
            return Err(CoreError::Invalid(
                "the gateway URL must not carry a user name or password".into(),
            ));
        }
        base.set_query(None);
        base.set_fragment(None);
        let mut builder = reqwest::Client::builder()
            .use_rustls_tls()
            .connect_timeout(options.timeouts.connect)
            .read_timeout(options.timeouts.read)
            .user_agent(concat!("gatehouse-desktop/", env!("CARGO_PKG_VERSION")));
        if let Some(pem) = &options.ca_pem {
            for cert in ca_certificates(pem)? {
                builder = builder.add_root_certificate(cert);
            }
        }
        let http = builder.build().map_err(|e| {
            CoreError::Invalid(format!(
                "the HTTP client could not be set up (is the CA certificate valid?): {}",
                e.without_url()
            ))
        })?;
        Ok(Self {
            http,
            base,
            token,
            options,
        })
    }

    pub fn base_url(&self) -> &str {
        self.base.as_str()
    }

    /// Signs in with an e-mail address and a password (`POST /auth/login`); a wrong pair is
    /// [`CoreError::Api`] with code `unauthorized`. Never retried: a sign-in is counted.
    pub async fn login(
        base: &str,
        email: &str,
        password: &Secret,
        ca_pem: Option<&str>,
    ) -> CoreResult<Session> {
        let anonymous = Self::build(base, None, ClientOptions::with_ca(ca_pem))?;
        let body = LoginRequest {
            email: email.to_owned(),
            password: password.expose().to_owned(),
        };
        let r: LoginResponse = anonymous
            .request(Method::POST, &["auth", "login"], NO_QUERY, json(&body)?)
            .await?;
        Ok(Session {
            token: Secret::new(r.token),
            expires_at: r.expires_at,
            user: r.user,
        })
    }

    /// The identity providers the gateway lets console users sign in with
    /// (`GET /auth/sso/providers`, no token: asked before anyone is signed in).
    pub async fn sso_providers(base: &str, ca_pem: Option<&str>) -> CoreResult<Vec<SsoProvider>> {
        let anonymous = Self::build(base, None, ClientOptions::with_ca(ca_pem))?;
        anonymous.get(&["auth", "sso", "providers"], NO_QUERY).await
    }

    /// Exchanges the one-time code of a single sign-on, with the PKCE verifier of the challenge
    /// the sign-in started with, for a session (`POST /auth/sso/token`). A used, expired or
    /// unknown code, or the wrong verifier, is [`CoreError::Api`] with code `unauthorized`.
    /// Never retried: the gateway takes the code out on the first try.
    pub async fn sso_token(
        base: &str,
        code: &Secret,
        verifier: &Secret,
        ca_pem: Option<&str>,
    ) -> CoreResult<Session> {
        let anonymous = Self::build(base, None, ClientOptions::with_ca(ca_pem))?;
        let body = SsoExchange {
            code: code.expose().to_owned(),
            code_verifier: verifier.expose().to_owned(),
        };
        let r: LoginResponse = anonymous
            .request(
                Method::POST,
                &["auth", "sso", "token"],
                NO_QUERY,
                json(&body)?,
            )
            .await?;
        Ok(Session {
            token: Secret::new(r.token),
            expires_at: r.expires_at,
            user: r.user,
        })
    }

    /// `/admin/v1/` and the percent-encoded `segments`: an id with `/` or `?` in it stays one
    /// segment. An empty id, `.` or `..` would name another resource and is refused.
    fn url(&self, segments: &[&str]) -> CoreResult<Url> {
        if let Some(bad) = segments.iter().find(|s| matches!(**s, "" | "." | "..")) {
            return Err(CoreError::Invalid(format!("{bad:?} is not an id")));
        }
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|()| CoreError::Invalid("the gateway URL cannot have a path".into()))?
            .pop_if_empty()
            .extend(["admin", "v1"])
            .extend(segments);
        Ok(url)
    }

    fn offline(&self) -> CoreError {
        CoreError::Offline {
            url: self.display_url(),
        }
    }

    fn display_url(&self) -> String {
        self.base.as_str().trim_end_matches('/').to_owned()
    }

    /// The one place a request is sent: retried as [`RetryPolicy`] says when `method` is
    /// idempotent, and the response turned into `T` or a typed error.
    async fn request<T: DeserializeOwned>(
        &self,
        method: Method,
        segments: &[&str],
        query: &(impl Serialize + ?Sized),
        body: Body,
    ) -> CoreResult<T> {
        let response = self.send(method, segments, query, body, true).await?;
        decode(response).await
    }

    /// Sends and retries; returns the final response when it is a success, the error otherwise.
    /// `whole` bounds the whole exchange by the request timeout (not for streamed downloads).
    async fn send(
        &self,
        method: Method,
        segments: &[&str],
        query: &(impl Serialize + ?Sized),
        body: Body,
        whole: bool,
    ) -> CoreResult<Response> {
        let url = self.url(segments)?;
        let idempotent = matches!(
            method,
            Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS
        );
        let policy = &self.options.retry;
        let mut attempt = 0;
        loop {
            let mut request = self.http.request(method.clone(), url.clone()).query(query);
            if whole {
                request = request.timeout(self.options.timeouts.request);
            }
            if let Some(token) = &self.token {
                let mut value = HeaderValue::try_from(format!("Bearer {}", token.expose()))
                    .map_err(|_| CoreError::Invalid("the token has invalid characters".into()))?;
                value.set_sensitive(true);
                request = request.header(AUTHORIZATION, value);
            }
            if let Some(body) = &body {
                request = request
                    .header(CONTENT_TYPE, "application/json")
                    .body(body.clone());
            }
            let sent = request.send().await;
            let delay = match &sent {
                _ if !idempotent || attempt >= policy.retries => None,
                // A certificate the client rejects will be rejected again.
                Err(e) if e.is_connect() || e.is_timeout() => tls_failure(e)
                    .is_none()
                    .then(|| policy.backoff(attempt + 1)),
                Err(_) => None,
                Ok(r) => retry_delay(r, policy, attempt + 1),
            };
            if let Some(delay) = delay {
                attempt += 1;
                tracing::debug!(%method, attempt, ?delay, "retrying an idempotent request");
                tokio::time::sleep(delay).await;
                continue;
            }
            return match sent {
                Ok(r) if r.status().is_success() => Ok(r),
                Ok(r) => Err(problem(r).await),
                Err(e) => Err(self.transport_error(e)),
            };
        }
    }

    fn transport_error(&self, e: reqwest::Error) -> CoreError {
        if let Some((certificate, reason)) = tls_failure(&e) {
            let url = self.display_url();
            return if certificate {
                CoreError::Untrusted { url, reason }
            } else {
                CoreError::Tls { url, reason }
            };
        }
        if e.is_connect() || e.is_timeout() {
            return self.offline();
        }
        CoreError::Protocol(e.without_url().to_string())
    }

    async fn get<T: DeserializeOwned>(
        &self,
        segments: &[&str],
        query: &(impl Serialize + ?Sized),
    ) -> CoreResult<T> {
        self.request(Method::GET, segments, query, None).await
    }

    /// A request with a JSON body and no query.
    async fn with_body<T: DeserializeOwned>(
        &self,
        method: Method,
        segments: &[&str],
        body: &impl Serialize,
    ) -> CoreResult<T> {
        self.request(method, segments, NO_QUERY, json(body)?).await
    }

    /// A request without body nor query whose answer is empty or ignored.
    async fn bare<T: DeserializeOwned>(&self, method: Method, segments: &[&str]) -> CoreResult<T> {
        self.request(method, segments, NO_QUERY, None).await
    }

    /// `{collection}/{id}/members/{user}`: the members of workspaces and of groups.
    async fn member<T: DeserializeOwned>(
        &self,
        method: Method,
        collection: &str,
        id: &str,
        user: &str,
        body: Body,
    ) -> CoreResult<T> {
        self.request(method, &[collection, id, "members", user], NO_QUERY, body)
            .await
    }
}

fn json(body: &impl Serialize) -> CoreResult<Body> {
    serde_json::to_vec(body)
        .map(Some)
        .map_err(|e| CoreError::Invalid(format!("the request could not be encoded: {e}")))
}

/// The delay before retrying after `response`, when it is worth retrying: any 5xx, and a 429
/// with a `Retry-After`. A `Retry-After` (on 429 or 503) longer than the policy's cap is not
/// waited for.
fn retry_delay(response: &Response, policy: &RetryPolicy, attempt: u32) -> Option<Duration> {
    let status = response.status();
    let retry_after = matches!(
        status,
        StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
    )
    .then(|| response.headers().get(RETRY_AFTER))
    .flatten()
    .and_then(|v| v.to_str().ok())
    .and_then(parse_retry_after);
    match retry_after {
        Some(wait) if wait > policy.max_retry_after => None,
        Some(wait) => Some(wait.max(policy.backoff(attempt))),
        None if status.is_server_error() => Some(policy.backoff(attempt)),
        None => None,
    }
}

/// `Retry-After`: delay-seconds or an HTTP date.
fn parse_retry_after(value: &str) -> Option<Duration> {
    if let Ok(seconds) = value.trim().parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = DateTime::parse_from_rfc2822(value.trim()).ok()?;
    Some(
        (at.with_timezone(&Utc) - Utc::now())
            .to_std()
            .unwrap_or_default(),
    )
}

/// The TLS failure behind `e`, if it is one: whether the server's certificate was rejected, and
/// rustls' reason.
fn tls_failure(e: &reqwest::Error) -> Option<(bool, String)> {
    let tls = gatehouse_api::causes(e).find_map(|c| c.downcast_ref::<rustls::Error>())?;
    let certificate = matches!(
        tls,
        rustls::Error::InvalidCertificate(_) | rustls::Error::NoCertificatesPresented
    );
    Some((certificate, tls.to_string()))
}

/// The certificates of a PEM bundle; an empty or malformed one is [`CoreError::Invalid`].
fn ca_certificates(pem: &str) -> CoreResult<Vec<reqwest::Certificate>> {
    let invalid = |why: &str| {
        CoreError::Invalid(format!(
            "the CA certificate is not usable: {why}; paste the PEM text, starting with \
             -----BEGIN CERTIFICATE-----"
        ))
    };
    let certs = reqwest::Certificate::from_pem_bundle(pem.as_bytes())
        .map_err(|_| invalid("it is not valid PEM"))?;
    if certs.is_empty() {
        return Err(invalid("it holds no certificate"));
    }
    Ok(certs)
}

/// A success body as `T`; an empty body reads as JSON `null`, so `()` takes a 204.
async fn decode<T: DeserializeOwned>(response: Response) -> CoreResult<T> {
    let bytes = response
        .bytes()
        .await
        .map_err(|e| CoreError::Protocol(e.without_url().to_string()))?;
    let bytes: &[u8] = if bytes.is_empty() { b"null" } else { &bytes };
    serde_json::from_slice(bytes).map_err(|e| CoreError::Protocol(e.to_string()))
}

/// An error response as [`CoreError::Api`] when it is a problem document.
async fn problem(response: Response) -> CoreError {
    let status = response.status();
    let is_problem = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(gatehouse_api::PROBLEM_JSON));
    let Ok(bytes) = response.bytes().await else {
        return CoreError::Protocol(format!("HTTP {status}, and its body could not be read"));
    };
    match serde_json::from_slice::<Problem>(&bytes) {
        Ok(problem) if is_problem => CoreError::Api(problem),
        _ => CoreError::Protocol(format!("HTTP {status} without a problem document")),
    }
}

impl AdminApi for AdminClient {
    async fn me(&self) -> CoreResult<Me> {
        self.get(&["me"], NO_QUERY).await
    }

    async fn users(&self, query: &UserListQuery) -> CoreResult<Page<User>> {
        self.get(&["users"], query).await
    }

    async fn sync(&self, since: i64, limit: u32) -> CoreResult<SyncPage> {
        self.get(&["sync"], &[("since", since), ("limit", i64::from(limit))])
            .await
    }
}
