//! A real OpenID Connect issuer on 127.0.0.1 (a free port) for the gateway to sign invitees in
//! with, written for the tests: discovery, a JWKS with the RSA key in `tests/keys/issuer.pem`,
//! an authorization endpoint that signs the configured identity in at once and redirects back
//! with a code, and a token endpoint that checks the code, the client and PKCE and returns an ID
//! token signed RS256 with the nonce it was given.
//!
//! Like Microsoft's, it also serves issuers per tenant under `/{tenant}/v2.0`; `common` and
//! `organizations` announce the multi-tenant issuer template `…/{tenantid}/v2.0`, which the ID
//! token's `iss` fills in with its `tid`. As Microsoft does, a tenant's tokens carry the
//! account's object id `oid`, so that a test can play an attacker's tenant that signs in an
//! account of its own under the victim's name. Unless a test sets them, `sub` and `oid` are
//! derived from the account's name, so that different people are different accounts.
#![allow(dead_code)] // each test file uses part of it

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

pub const CLIENT_ID: &str = "gatehouse-test-client";
pub const CLIENT_SECRET: &str = "test-client-secret-8d1f0c";
pub const KEY_ID: &str = "test-key-1";

const ISSUER_KEY: &str = include_str!("../keys/issuer.pem");
/// Not in the JWKS: tokens signed with it must be refused.
const OTHER_KEY: &str = include_str!("../keys/other.pem");

/// What the issuer does on the next sign-ins.
#[derive(Debug, Clone, Default)]
pub struct Behaviour {
    /// The signed-in account's claims (`email`, `email_verified`, `tid`, …), on top of `iss`,
    /// `sub`, `aud`, `iat`, `exp` and `nonce`.
    pub claims: Map<String, Value>,
    /// Applied last, over every claim, to forge a bad token (`aud`, `exp`, `nonce`, `iss`);
    /// `null` removes the claim.
    pub overrides: Map<String, Value>,
    /// Sign with a key that is not in the JWKS (under the same key id).
    pub sign_with_other_key: bool,
    /// The invitee cancels at the provider: back with `error=access_denied`.
    pub deny: bool,
}

struct Grant {
    realm: Option<String>,
    client_id: String,
    redirect_uri: String,
    challenge: String,
    nonce: Option<String>,
    claims: Map<String, Value>,
    overrides: Map<String, Value>,
    other_key: bool,
}

struct Inner {
    base: String,
    key: EncodingKey,
    other_key: EncodingKey,
    jwk: Value,
    behaviour: Mutex<Behaviour>,
    grants: Mutex<HashMap<String, Grant>>,
    /// The query of each authorization request, in order.
    authorizations: Mutex<Vec<HashMap<String, String>>>,
    /// Every code and ID token handed out, to check none ever shows up where it must not.
    handed_out: Mutex<Vec<String>>,
}

pub struct TestIssuer {
    /// `http://127.0.0.1:PORT`, the Google-style issuer; `{url}/{tenant}/v2.0` the Microsoft ones.
    pub url: String,
    inner: Arc<Inner>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TestIssuer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TestIssuer {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let key = EncodingKey::from_rsa_pem(ISSUER_KEY.as_bytes()).unwrap();
        let mut jwk =
            serde_json::to_value(Jwk::from_encoding_key(&key, Algorithm::RS256).unwrap()).unwrap();
        jwk["kid"] = json!(KEY_ID);
        jwk["use"] = json!("sig");
        let inner = Arc::new(Inner {
            base: url.clone(),
            key,
            other_key: EncodingKey::from_rsa_pem(OTHER_KEY.as_bytes()).unwrap(),
            jwk,
            behaviour: Mutex::new(Behaviour::default()),
            grants: Mutex::new(HashMap::new()),
            authorizations: Mutex::new(Vec::new()),
            handed_out: Mutex::new(Vec::new()),
        });
        let app = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route(
                "/{tenant}/v2.0/.well-known/openid-configuration",
                get(tenant_discovery),
            )
            .route("/authorize", get(authorize))
            .route("/{tenant}/v2.0/authorize", get(tenant_authorize))
            .route("/token", post(token))
            .route("/{tenant}/v2.0/token", post(tenant_token))
            .route("/jwks", get(jwks))
            .with_state(inner.clone());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self { url, inner, task }
    }

    /// `{tenant}`-templated issuer, as the gateway's Microsoft setting takes it.
    pub fn microsoft_issuer(&self) -> String {
        format!("{}/{{tenant}}/v2.0", self.url)
    }

    /// The next sign-ins are of an account with `claims`, and behave as `behaviour` says.
    pub fn set(&self, claims: Value, behaviour: Behaviour) {
        let Value::Object(claims) = claims else {
            panic!("claims must be an object")
        };
        *self.inner.behaviour.lock().unwrap() = Behaviour {
            claims,
            ..behaviour
        };
    }

    /// The next sign-ins are of an account with `claims`, and go well.
    pub fn sign_in_as(&self, claims: Value) {
        self.set(claims, Behaviour::default());
    }

    pub fn authorizations(&self) -> Vec<HashMap<String, String>> {
        self.inner.authorizations.lock().unwrap().clone()
    }

    pub fn handed_out(&self) -> Vec<String> {
        self.inner.handed_out.lock().unwrap().clone()
    }
}

/// The issuer a realm announces: the base, a tenant's, or the multi-tenant template.
fn issuer(base: &str, realm: Option<&str>) -> String {
    match realm {
        None => base.to_owned(),
        Some("common" | "organizations") => format!("{base}/{{tenantid}}/v2.0"),
        Some(tenant) => format!("{base}/{tenant}/v2.0"),
    }
}

fn document(inner: &Inner, realm: Option<&str>) -> Json<Value> {
    let prefix = match realm {
        None => inner.base.clone(),
        Some(t) => format!("{}/{t}/v2.0", inner.base),
    };
    Json(json!({
        "issuer": issuer(&inner.base, realm),
        "authorization_endpoint": format!("{prefix}/authorize"),
        "token_endpoint": format!("{prefix}/token"),
        "jwks_uri": format!("{}/jwks", inner.base),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid", "email", "profile"],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "code_challenge_methods_supported": ["S256"],
    }))
}

async fn discovery(State(inner): State<Arc<Inner>>) -> Json<Value> {
    document(&inner, None)
}

async fn tenant_discovery(
    State(inner): State<Arc<Inner>>,
    Path(tenant): Path<String>,
) -> Json<Value> {
    document(&inner, Some(&tenant))
}

async fn jwks(State(inner): State<Arc<Inner>>) -> Json<Value> {
    // An encryption key beside the signing key, as real key sets may have: it must be ignored.
    Json(json!({ "keys": [
        { "kty": "RSA", "use": "enc", "kid": "enc-key", "alg": "RSA-OAEP", "n": inner.jwk["n"], "e": inner.jwk["e"] },
        inner.jwk,
    ]}))
}

fn random() -> String {
    let bytes: [u8; 24] = rand::random();
    URL_SAFE_NO_PAD.encode(bytes)
}

fn bad_request(what: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        format!("bad authorization request: {what}"),
    )
        .into_response()
}

async fn authorize_in(
    inner: Arc<Inner>,
    realm: Option<String>,
    query: HashMap<String, String>,
) -> Response {
    inner.authorizations.lock().unwrap().push(query.clone());
    let param = |k: &str| query.get(k).cloned().unwrap_or_default();
    if param("client_id") != CLIENT_ID {
        return bad_request("unknown client");
    }
    if param("response_type") != "code"
        || !param("scope").split(' ').any(|s| s == "openid")
        || param("code_challenge_method") != "S256"
        || param("code_challenge").is_empty()
        || param("state").is_empty()
    {
        return bad_request("not an OpenID Connect code request with PKCE");
    }
    let Ok(mut back) = url::Url::parse(&param("redirect_uri")) else {
        return bad_request("redirect_uri");
    };
    let behaviour = inner.behaviour.lock().unwrap().clone();
    if behaviour.deny {
        back.query_pairs_mut()
            .append_pair("error", "access_denied")
            .append_pair("state", &param("state"));
        return found(&back);
    }
    let code = random();
    inner.handed_out.lock().unwrap().push(code.clone());
    inner.grants.lock().unwrap().insert(
        code.clone(),
        Grant {
            realm,
            client_id: param("client_id"),
            redirect_uri: param("redirect_uri"),
            challenge: param("code_challenge"),
            nonce: query.get("nonce").cloned(),
            claims: behaviour.claims,
            overrides: behaviour.overrides,
            other_key: behaviour.sign_with_other_key,
        },
    );
    // The extra parameters real providers add (Google's scope and authuser, Microsoft's
    // session_state) must not disturb the gateway.
    back.query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", &param("state"))
        .append_pair("scope", &param("scope"))
        .append_pair("authuser", "0")
        .append_pair("session_state", "0f1e2d3c");
    found(&back)
}

/// 302, as Google and Microsoft answer.
fn found(to: &url::Url) -> Response {
    (StatusCode::FOUND, [(header::LOCATION, to.to_string())]).into_response()
}

async fn authorize(
    State(inner): State<Arc<Inner>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    authorize_in(inner, None, query).await
}

async fn tenant_authorize(
    State(inner): State<Arc<Inner>>,
    Path(tenant): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    authorize_in(inner, Some(tenant), query).await
}

fn oauth_error(status: StatusCode, error: &str) -> Response {
    (status, Json(json!({ "error": error }))).into_response()
}

/// The client's credentials: in the form (`client_secret_post`) or Basic (`client_secret_basic`).
fn client_credentials(
    headers: &HeaderMap,
    form: &HashMap<String, String>,
) -> Option<(String, String)> {
    if let Some(basic) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
    {
        let decoded = String::from_utf8(STANDARD.decode(basic).ok()?).ok()?;
        let (id, secret) = decoded.split_once(':')?;
        return Some((id.to_owned(), secret.to_owned()));
    }
    Some((
        form.get("client_id")?.clone(),
        form.get("client_secret")?.clone(),
    ))
}

async fn token_in(
    inner: Arc<Inner>,
    realm: Option<String>,
    headers: HeaderMap,
    form: HashMap<String, String>,
) -> Response {
    match client_credentials(&headers, &form) {
        Some((id, secret)) if id == CLIENT_ID && secret == CLIENT_SECRET => {}
        _ => return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client"),
    }
    if form.get("grant_type").map(String::as_str) != Some("authorization_code") {
        return oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type");
    }
    // Codes are single-use: taken out whether or not the rest checks out.
    let Some(grant) = form
        .get("code")
        .and_then(|c| inner.grants.lock().unwrap().remove(c))
    else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    };
    let verifier = form.get("code_verifier").cloned().unwrap_or_default();
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    if grant.realm != realm
        || grant.client_id != CLIENT_ID
        || form.get("redirect_uri") != Some(&grant.redirect_uri)
        || challenge != grant.challenge
    {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    }
    let now = chrono::Utc::now().timestamp();
    let mut claims = Map::new();
    let name = ["email", "preferred_username"]
        .iter()
        .find_map(|k| grant.claims.get(*k).and_then(Value::as_str))
        .unwrap_or("nobody")
        .to_lowercase();
    let id = Sha256::digest(name.as_bytes());
    let id = uuid::Uuid::from_slice(&id[..16]).unwrap();
    claims.insert("sub".into(), json!(format!("subject-{}", id.simple())));
    claims.insert("aud".into(), json!(CLIENT_ID));
    claims.insert("iat".into(), json!(now));
    claims.insert("exp".into(), json!(now + 600));
    if let Some(nonce) = grant.nonce {
        claims.insert("nonce".into(), json!(nonce));
    }
    claims.extend(grant.claims);
    if realm.is_some() && !claims.contains_key("oid") {
        claims.insert("oid".into(), json!(id.hyphenated().to_string()));
    }
    let announced = issuer(&inner.base, realm.as_deref());
    let tid = claims.get("tid").and_then(Value::as_str).unwrap_or("none");
    claims.insert("iss".into(), json!(announced.replace("{tenantid}", tid)));
    for (k, v) in grant.overrides {
        if v.is_null() {
            claims.remove(&k);
        } else {
            claims.insert(k, v);
        }
    }
    let mut jwt_header = Header::new(Algorithm::RS256);
    jwt_header.kid = Some(KEY_ID.into());
    let key = if grant.other_key {
        &inner.other_key
    } else {
        &inner.key
    };
    let id_token = jsonwebtoken::encode(&jwt_header, &Value::Object(claims), key).unwrap();
    inner.handed_out.lock().unwrap().push(id_token.clone());
    let access_token = random();
    inner.handed_out.lock().unwrap().push(access_token.clone());
    Json(json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": 3600,
        "scope": "openid email profile",
        "id_token": id_token,
    }))
    .into_response()
}

async fn token(
    State(inner): State<Arc<Inner>>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    token_in(inner, None, headers, form).await
}

async fn tenant_token(
    State(inner): State<Arc<Inner>>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    token_in(inner, Some(tenant), headers, form).await
}
