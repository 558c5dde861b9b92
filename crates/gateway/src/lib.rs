//! The Gatehouse gateway as a library: the admin API (`/admin/v1`, one module per resource,
//! each handler a permission check, a store call and an audit record) and its OpenAPI document,
//! sign-in (passwords, sessions, tokens, OIDC), the invitee and reset pages, mail, and the demo
//! and bench organisations; it serves the data plane's `/v1` beside them. The
//! `gatehouse-gateway` binary serves it; the desktop core embeds it, behind its `embedded-demo`
//! feature, to run a demo gateway in-process.
//!
//! The top layer of the server side, over `gatehouse-dataplane`, `gatehouse-store` (where all
//! its SQL lives) and `gatehouse-api`. It must not depend on `gatehouse-core`, the desktop app
//! or Tauri (`tests/layers.rs` checks this).

pub mod alerts;
pub mod audit;
pub mod auth;
#[cfg(feature = "bench-seed")]
pub mod bench_seed;
pub mod channels;
mod cursor;
pub use gatehouse_dataplane as dataplane;
pub mod demo;
pub mod error;
mod extract;
mod forecast;
pub mod groups;
pub mod identity;
pub mod invitations;
pub mod invite_key;
mod invite_mail;
mod invite_pages;
pub mod keys;
pub mod mail;
mod me;
pub mod models;
mod nul;
pub mod oidc;
pub mod options;
pub mod org;
pub mod pages;
pub mod password;
// Budget periods are the desktop's rule too, so they live with the wire types.
pub use gatehouse_api::periods;
pub mod permissions;
pub mod policy;
mod profiles;
mod reset;
pub mod scim;
mod sessions;
pub mod spend;
mod sync;
pub mod throttle;
mod tokens;
mod trace;
pub mod usage;
pub mod users;
mod validate;
pub mod webhooks;
pub mod workspaces;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use gatehouse_api::{ErrorCode, Health, Problem, Secret};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use gatehouse_store::{Db, db, hash_secret, new_id};
pub use options::GatewayOptions;

/// What `gatehouse-gateway` logs unless `RUST_LOG` says otherwise.
const DEFAULT_LOG_FILTER: &str = "info,sqlx=warn";

/// The gateway's logging, to stderr, filtered by `RUST_LOG` or [`DEFAULT_LOG_FILTER`]: the
/// binary's, and the data-plane bench's, so that it measures what a node runs.
pub fn init_logging() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| DEFAULT_LOG_FILTER.into()),
        )
        .with_writer(std::io::stderr)
        .init();
}

/// Largest request body the gateway reads.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// Shared by every handler.
#[derive(Debug, Clone)]
pub struct AppState {
    pub db: Db,
    pub mailer: mail::Mailer,
    /// Base of every link the gateway hands out (mails, invitations), without a trailing slash.
    pub public_url: Arc<str>,
    /// Per node, in memory: see `throttle`.
    pub sign_in_throttle: Arc<throttle::SignInThrottle>,
    /// The identity providers invitees restricted to one sign in with.
    pub oidc: Arc<oidc::OidcConfig>,
    /// `/v1`: this node's enforcement caches and metering writer.
    pub data_plane: Arc<dataplane::DataPlane>,
    /// What invitation tokens are sealed under in the database (and channels' signing secrets).
    pub invite_key: invite_key::InviteKey,
    /// Where and how events are delivered to notification channels.
    pub webhooks: Arc<webhooks::WebhookOptions>,
}

/// The `/v1` routes take the node's data plane out of the gateway's state.
impl axum::extract::FromRef<AppState> for Arc<dataplane::DataPlane> {
    fn from_ref(state: &AppState) -> Self {
        state.data_plane.clone()
    }
}

impl AppState {
    /// `path` (starting with `/`) under the public URL.
    pub fn link(&self, path: &str) -> String {
        format!("{}{path}", self.public_url)
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Gatehouse admin API", description = "The contract between the Gatehouse gateway and its clients."),
    paths(openapi_json),
    modifiers(&BearerAuth),
    components(schemas(Problem, ErrorCode))
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The gateway is alive and its database answers
#[utoipa::path(get, path = "/healthz", tag = "meta", responses(
    (status = 200, description = "Healthy", body = Health),
    (status = 503, description = "The database does not answer", body = Problem, content_type = "application/problem+json"),
))]
async fn healthz(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> axum::response::Response {
    match db::ping(&state.db.pool).await {
        Ok(()) => Json(Health {
            status: "ok".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        })
        .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "health check failed");
            let mut p = Problem::new(ErrorCode::Internal, "The database does not answer.");
            p.status = 503;
            error::problem_response(&p)
        }
    }
}

/// The OpenAPI 3.1 document of this server
///
/// Documented here, served by `router` from the document it builds once.
#[utoipa::path(get, path = "/openapi.json", tag = "meta", responses(
    (status = 200, description = "This document", content_type = "application/json"),
))]
#[allow(dead_code)]
async fn openapi_json() {}

/// The OpenAPI document, generated from the handlers.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api_router().split_for_parts().1
}

fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(healthz))
        .merge(me::routes())
        .merge(users::routes())
        .merge(org::routes())
        .merge(workspaces::routes())
        .merge(sync::routes())
        .merge(audit::routes())
        .merge(invite_pages::routes())
        .merge(groups::routes())
        .merge(policy::routes())
        .merge(keys::routes())
        .merge(invitations::routes())
        .merge(sessions::routes())
        .merge(tokens::routes())
        .merge(reset::routes())
        .merge(oidc::routes())
        .merge(models::routes())
        .merge(usage::routes())
        .merge(alerts::routes())
        .merge(scim::tokens::routes())
        .merge(identity::routes())
        .merge(profiles::routes())
        .merge(forecast::routes())
        .merge(channels::routes())
}

async fn not_found() -> error::ApiError {
    error::ApiError::not_found("resource at this path")
}

/// The whole HTTP surface of the gateway.
pub fn router(state: AppState) -> Router {
    let (router, doc) = api_router().split_for_parts();
    let doc = std::sync::Arc::new(doc);
    // Its own state, the node's data plane: a request clones that one `Arc`, not the admin
    // API's whole state.
    let data_plane = dataplane::router()
        .layer(tower_http::trace::TraceLayer::new_for_http().make_span_with(trace::span))
        .with_state(state.data_plane.clone());
    router
        .route(
            "/openapi.json",
            axum::routing::get(move || async move { Json(doc.as_ref().clone()) }),
        )
        .merge(scim::router())
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(axum::middleware::from_fn(nul::reject_nul))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            policy_may_have_changed,
        ))
        .layer(tower_http::trace::TraceLayer::new_for_http().make_span_with(trace::span))
        .with_state(state)
        .method_not_allowed_fallback(|| async {
            error::problem_response(&Problem {
                status: StatusCode::METHOD_NOT_ALLOWED.as_u16(),
                title: "Method not allowed".into(),
                ..Problem::new(ErrorCode::NotFound, "This path does not take that method.")
            })
        })
        .merge(data_plane)
}

/// After a request that may have changed something (any but GET, HEAD, OPTIONS), and before its
/// answer leaves, the node's data plane reads `policy_epoch`: a client that sees a suspension,
/// revocation or new limit answered then finds it in force on its next request to this node.
/// Other nodes see it at their next reconciliation.
async fn policy_may_have_changed(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::http::Method;
    let reads_only = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    let response = next.run(request).await;
    if !reads_only && let Err(e) = state.data_plane.policy_changed().await {
        tracing::warn!(error = %e, "the data plane could not read the policy epoch");
    }
    response
}

/// Creates the organisation and its first admin; returns the admin's token.
pub async fn init(
    db: &Db,
    org_name: &str,
    admin_email: &str,
    seat_limit: i64,
) -> anyhow::Result<Secret> {
    if org::get(&db.pool).await?.is_some() {
        anyhow::bail!("this gateway is already initialised");
    }
    let email = admin_email.trim().to_lowercase();
    if !gatehouse_api::looks_like_email(&email) {
        anyhow::bail!("{admin_email:?} is not an e-mail address");
    }
    let local = email.split('@').next().unwrap_or("admin");
    let mut tx = db.begin_write().await?;
    org::insert(&mut tx, org_name, seat_limit).await?;
    let admin = users::insert(
        &mut tx,
        &users::NewUser {
            email: email.clone(),
            first_name: capitalise(local),
            last_name: String::new(),
            role: gatehouse_api::Role::Admin,
            status: gatehouse_api::UserStatus::Active,
            workspace_ids: vec![],
            password_hash: None,
            created_at: db::now(),
            last_active_at: None,
        },
    )
    .await?;
    let token = auth::issue_token(&mut tx, &admin, "init").await?;
    tx.commit().await?;
    Ok(token)
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// A gateway serving on a socket of its own, in this process, until dropped or stopped.
#[derive(Debug)]
pub struct RunningGateway {
    pub addr: SocketAddr,
    pub state: AppState,
    /// A SQLite file is served by one gateway at a time.
    _serving: Option<gatehouse_store::db::ServingLock>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    /// Delivers events to notification channels.
    webhooks: Option<webhooks::Worker>,
}

impl RunningGateway {
    /// Serves `db` on `listener` in a background task, with the default options (no mail).
    pub async fn spawn(db: Db, listener: TcpListener) -> std::io::Result<Self> {
        Self::spawn_with(db, listener, GatewayOptions::default())
            .await
            .map_err(std::io::Error::other)
    }

    /// Serves `db` on `listener` in a background task, once the data plane's metering journal
    /// is replayed (the requests of a node that was killed).
    pub async fn spawn_with(
        db: Db,
        listener: TcpListener,
        options: GatewayOptions,
    ) -> anyhow::Result<Self> {
        let addr = listener.local_addr()?;
        let serving = db.serve_alone().await?;
        let state = options.into_state(db, addr)?;
        let replayed = state.data_plane.recover().await?;
        if replayed > 0 {
            tracing::info!(
                requests = replayed,
                "metered the requests a killed node had journaled"
            );
        }
        // The peer address is what sign-in throttling counts per client.
        let app = router(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await;
            if let Err(e) = served {
                tracing::error!(error = %e, "gateway stopped");
            }
        });
        let webhooks = Some(webhooks::Worker::start(&state));
        Ok(Self {
            addr,
            state,
            _serving: serving,
            stop: Some(stop),
            task: Some(task),
            webhooks,
        })
    }

    /// Binds 127.0.0.1 on a free port and serves `db` there.
    pub async fn start_on_loopback(db: Db) -> std::io::Result<Self> {
        Self::start_on_loopback_with(db, GatewayOptions::default())
            .await
            .map_err(std::io::Error::other)
    }

    /// Binds 127.0.0.1 on a free port and serves `db` there with `options`.
    pub async fn start_on_loopback_with(db: Db, options: GatewayOptions) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        Self::spawn_with(db, listener, options).await
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Waits until the webhook worker has looked at its outbox at least `n` times.
    pub async fn webhook_passes(&self, n: u64) {
        if let Some(worker) = &self.webhooks {
            let _ = worker.passes().wait_for(|done| *done >= n).await;
        }
    }

    /// Stops accepting, finishes requests in flight, waits for the server task and writes the
    /// usage still waiting to be metered.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        if let Some(worker) = self.webhooks.take() {
            worker.stop().await;
        }
        self.state.data_plane.close().await;
    }
}

impl Drop for RunningGateway {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
