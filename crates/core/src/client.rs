//! The admin-API client: reqwest with rustls, timeouts, retries for idempotent calls, and
//! problem+json parsed into [`CoreError::Api`].

use std::time::Duration;

use gatehouse_api::{LoginResponse, Me, Page, Problem, Secret, SyncPage, User, UserListQuery};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use serde::de::DeserializeOwned;
use url::Url;

use crate::error::{CoreError, CoreResult};

/// The calls the core makes to a gateway. A trait so that the core's logic is independent of the
/// transport; [`AdminClient`] is the one implementation.
pub trait AdminApi: Send + Sync {
    fn me(&self) -> impl Future<Output = CoreResult<Me>> + Send;
    fn users(&self, query: &UserListQuery) -> impl Future<Output = CoreResult<Page<User>>> + Send;
    fn sync(&self, since: i64, limit: u32) -> impl Future<Output = CoreResult<SyncPage>> + Send;
}

#[derive(Debug, Clone)]
pub struct AdminClient {
    http: reqwest::Client,
    base: Url,
    token: Secret,
}

const RETRIES: u32 = 2;

impl AdminClient {
    pub fn new(base: &str, token: Secret) -> CoreResult<Self> {
        let base = Url::parse(base)
            .map_err(|e| CoreError::Invalid(format!("{base:?} is not a URL: {e}")))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(CoreError::Invalid(
                "the gateway URL must start with http:// or https://".into(),
            ));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(60))
            .user_agent(concat!("gatehouse-desktop/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| CoreError::Protocol(e.to_string()))?;
        Ok(Self { http, base, token })
    }

    /// Signs in with an e-mail and password; the token in the answer is the credential to keep.
    pub async fn login(base: &str, email: &str, password: &Secret) -> CoreResult<LoginResponse> {
        let client = Self::new(base, Secret::new(""))?;
        let url = client
            .base
            .join("admin/v1/auth/login")
            .map_err(|e| CoreError::Invalid(e.to_string()))?;
        let body = serde_json::json!({ "email": email, "password": password.expose() });
        let response = match client.http.post(url).json(&body).send().await {
            Ok(r) => r,
            Err(e) if e.is_connect() || e.is_timeout() => return Err(client.offline()),
            Err(e) => return Err(CoreError::Protocol(without_url(e))),
        };
        decode(response).await
    }

    pub fn base_url(&self) -> &str {
        self.base.as_str()
    }

    fn offline(&self) -> CoreError {
        CoreError::Offline {
            url: self.base.as_str().trim_end_matches('/').to_owned(),
        }
    }

    /// A GET, retried with backoff when the gateway is unreachable or answers 5xx: GETs are
    /// idempotent, so a retry cannot do anything twice.
    async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> CoreResult<T> {
        let url = self
            .base
            .join(path)
            .map_err(|e| CoreError::Invalid(e.to_string()))?;
        let mut attempt = 0;
        loop {
            let sent = self
                .http
                .get(url.clone())
                .header(AUTHORIZATION, format!("Bearer {}", self.token.expose()))
                .query(query)
                .send()
                .await;
            let retryable = match &sent {
                Err(e) => e.is_connect() || e.is_timeout(),
                Ok(r) => r.status().is_server_error(),
            };
            if retryable && attempt < RETRIES {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(100 * 4u64.pow(attempt - 1))).await;
                continue;
            }
            let response = match sent {
                Ok(r) => r,
                Err(e) if e.is_connect() || e.is_timeout() => return Err(self.offline()),
                Err(e) => return Err(CoreError::Protocol(without_url(e))),
            };
            return decode(response).await;
        }
    }
}

/// Checks that `pem` holds at least one certificate.
pub fn check_ca(pem: &str) -> CoreResult<()> {
    match reqwest::Certificate::from_pem_bundle(pem.as_bytes()) {
        Ok(certs) if !certs.is_empty() => Ok(()),
        _ => Err(CoreError::Invalid(
            "the CA certificate must be PEM text starting with -----BEGIN CERTIFICATE-----".into(),
        )),
    }
}

/// reqwest's errors name the URL, which may carry query text; the log gets the kind only.
fn without_url(e: reqwest::Error) -> String {
    e.without_url().to_string()
}

async fn decode<T: DeserializeOwned>(response: reqwest::Response) -> CoreResult<T> {
    let status = response.status();
    let is_problem = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(gatehouse_api::PROBLEM_JSON));
    let bytes = response
        .bytes()
        .await
        .map_err(|e| CoreError::Protocol(without_url(e)))?;
    if status.is_success() {
        return serde_json::from_slice(&bytes).map_err(|e| CoreError::Protocol(e.to_string()));
    }
    if is_problem && let Ok(problem) = serde_json::from_slice::<Problem>(&bytes) {
        return Err(CoreError::Api(problem));
    }
    Err(CoreError::Protocol(format!(
        "HTTP {status} without a problem document"
    )))
}

impl AdminApi for AdminClient {
    async fn me(&self) -> CoreResult<Me> {
        self.get("admin/v1/me", &[]).await
    }

    async fn users(&self, query: &UserListQuery) -> CoreResult<Page<User>> {
        let mut q = Vec::new();
        if let Some(v) = &query.query {
            q.push(("query", v.clone()));
        }
        if let Some(v) = query.role {
            q.push(("role", v.as_str().to_owned()));
        }
        if let Some(v) = query.status {
            q.push(("status", v.as_str().to_owned()));
        }
        if let Some(v) = &query.workspace_id {
            q.push(("workspace_id", v.clone()));
        }
        if let Some(v) = query.limit {
            q.push(("limit", v.to_string()));
        }
        if let Some(v) = &query.cursor {
            q.push(("cursor", v.clone()));
        }
        self.get("admin/v1/users", &q).await
    }

    async fn sync(&self, since: i64, limit: u32) -> CoreResult<SyncPage> {
        self.get(
            "admin/v1/sync",
            &[("since", since.to_string()), ("limit", limit.to_string())],
        )
        .await
    }
}
