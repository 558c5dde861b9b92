//! The data plane: `POST /v1/chat/completions` (streamed or not) and `GET /v1/models`, OpenAI's
//! API, for users' API keys. Each request is checked in this order, each refusal an OpenAI-style
//! error: the key (401: unknown, revoked, expired, or a rotated-out secret past its grace), the
//! user's status (403), the model's grant and the key's model subset (403), the rate limits and
//! concurrency of the user, each group and the key (429), their budgets (429). It then goes to the
//! model's provider (the built-in `echo`, or an OpenAI-compatible upstream with the key the
//! gateway's configuration gives for it), and every request of a known key is metered.
//!
//! What the checks read is cached per key (`principal`) and dropped when `policy_epoch` moves
//! (the node's own admin API says so at once; a background task reads it every few tens of
//! milliseconds on several nodes, every 250 ms on one). Rate limits, concurrency and budgets are
//! admitted from counters in memory (`admission`), reconciled between nodes on PostgreSQL;
//! metering is written in batches by one writer per node (`ledger`); the HTTP side is `http`.
//! No request reads the database once its key is cached. The demo organisation's history is
//! made by the same steps, in-process, with [`Replay`].
//!
//! A layer of the gateway between the store (`gatehouse-store`, all its SQL) and the admin HTTP
//! layer (`gatehouse-gateway`): it must not depend on the gateway, on mail (budget alerts go to
//! an [`AlertListener`]) or on Tauri; `tests/layers.rs` reads `cargo metadata` and fails if it
//! does.

mod admission;
pub mod client;
pub mod egress;
mod error;
mod http;
mod journal;
mod ledger;
mod principal;
mod provider;
mod replay;
mod request;
pub mod upstreams;

use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use gatehouse_api::{Provider, UserStatus};
use serde_json::Value;

use admission::{Admission, Ask, OneNode, SharedNodes, Verdict};
pub use egress::UpstreamNets;
pub use error::{DataPlaneError, DpResult, LimitHit};
use gatehouse_store::db::{Backend, Db, Tx};
use gatehouse_store::spend::period_spend;
use gatehouse_store::usage::{UsageEvent, cost_micros};
pub use http::router;
pub use journal::JournalError;
use ledger::{Finished, Ledger, WriterContext};
use principal::{Lookup, ModelEntry, Principal, PrincipalCache, Snapshot, Subject};
use provider::Usage;
pub use replay::Replay;
pub use request::ChatRequest;
pub use upstreams::UpstreamKeys;

/// Largest request body the data plane reads: long contexts and inline images are big.
pub const BODY_LIMIT: usize = 16 * 1024 * 1024;
/// Names the workspace (id or slug) a request is made in, for usage; see [`DataPlane`].
pub const WORKSPACE_HEADER: &str = "x-gatehouse-workspace";
/// Prefix of users' API keys.
/// What every API key starts with, so that a key pasted in the wrong place is recognisable.
pub const KEY_PREFIX: &str = "gk_";

/// Who hears of the budget alerts that metering raises, after they are committed (the gateway
/// mails the org's admins). The data plane knows no mail; the listener must not block.
pub type AlertListener = Arc<dyn Fn(Vec<gatehouse_api::Alert>) + Send + Sync>;

/// How the data plane of a gateway is configured.
#[derive(Debug, Clone)]
pub struct DataPlaneOptions {
    pub upstream_keys: UpstreamKeys,
    /// The loopback, private or link-local ranges upstreams may be in; none by default.
    pub allowed_upstream_nets: UpstreamNets,
    /// On several nodes: how long a node's counters (its concurrency slots among them) still
    /// count after it stopped reconciling (it died).
    pub lease_ttl: Duration,
    /// On several nodes: how often each reconciles its counters with the others'.
    pub reconcile_interval: Duration,
    /// Where the node journals its metering; by default beside a SQLite file, or in the user's
    /// state directory for PostgreSQL (`Db::node_dir`).
    pub journal_dir: Option<std::path::PathBuf>,
}

impl Default for DataPlaneOptions {
    fn default() -> Self {
        Self {
            upstream_keys: UpstreamKeys::default(),
            allowed_upstream_nets: UpstreamNets::default(),
            lease_ttl: Duration::from_secs(30),
            reconcile_interval: Duration::from_millis(25),
            journal_dir: None,
        }
    }
}

/// One gateway node's data plane.
#[derive(Debug)]
pub struct DataPlane {
    db: Db,
    cache: PrincipalCache,
    admission: Arc<dyn Admission>,
    /// The newest `policy_epoch` seen; a snapshot older than it is rebuilt.
    epoch: AtomicI64,
    /// Whether the task that reads the epoch (and reconciles) runs.
    syncing: AtomicBool,
    /// Whether that task has made its first attempt: read by every request, and, for the
    /// requests that come before it, something to wait on.
    synced: AtomicBool,
    first_sync: tokio::sync::watch::Sender<bool>,
    ledger: Ledger,
    journal_dir: Option<std::path::PathBuf>,
    /// This node's name, in its journal's files.
    node: String,
    /// The node's write turn (see `ledger::WriterContext`): spend is read under it.
    gate: Arc<tokio::sync::Mutex<()>>,
    upstream_keys: UpstreamKeys,
    upstream_nets: Arc<UpstreamNets>,
    http: OnceLock<client::UpstreamClient>,
}

/// A request admitted and not yet metered. Dropped before it is (the client went away
/// mid-answer), it meters what it knows with status 499.
struct Call {
    /// The node's data plane, for the live endpoint, so that a drop can meter.
    plane: Option<Arc<DataPlane>>,
    principal: Arc<Principal>,
    model: Arc<ModelEntry>,
    workspace: Option<String>,
    at: DateTime<Utc>,
    tz: Tz,
    id: String,
    /// The subjects whose concurrency slots it holds.
    slots: Vec<String>,
    /// What the user and each group with a budget had spent when it was admitted.
    spent: Vec<[i64; 3]>,
    estimated_input_tokens: i64,
    /// Output tokens streamed so far, estimated from the text.
    streamed_output_tokens: i64,
    metered: bool,
}

impl Call {
    fn finished(&mut self, status: u16, usage: Usage, ended_at: DateTime<Utc>) -> Finished {
        self.metered = true;
        let p = &self.principal;
        Finished {
            event: UsageEvent {
                // The request's own id: a journal replayed after a crash writes it once.
                id: ["uev_", self.id.trim_start_matches("req_")].concat(),
                at: self.at,
                user_id: p.user_id.clone(),
                key_id: Some(p.key_id.clone()),
                model_id: self.model.id.clone(),
                workspace_id: self.workspace.clone(),
                input_tokens: usage.input_tokens,
                output_tokens: usage.output_tokens,
                cost_micros: cost_micros(
                    usage.input_tokens,
                    usage.output_tokens,
                    self.model.input_usd_per_mtok,
                    self.model.output_usd_per_mtok,
                ),
                status,
            },
            ended_at,
            tz: self.tz,
            slots: std::mem::take(&mut self.slots),
            principal: Some(self.principal.clone()),
            spent_before: std::mem::take(&mut self.spent),
        }
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        if self.metered {
            return;
        }
        if let Some(plane) = self.plane.take() {
            let usage = Usage {
                input_tokens: self.estimated_input_tokens,
                output_tokens: self.streamed_output_tokens,
            };
            plane.finish(self.finished(499, usage, Utc::now()));
        }
    }
}

/// A request refused after its key was known: metered with its status and no tokens.
fn refused(
    principal: &Principal,
    model_id: &str,
    workspace: Option<String>,
    at: DateTime<Utc>,
    tz: Tz,
    status: StatusCode,
) -> Finished {
    Finished {
        event: UsageEvent {
            id: gatehouse_store::new_id("uev"),
            at,
            user_id: principal.user_id.clone(),
            key_id: Some(principal.key_id.clone()),
            model_id: model_id.to_owned(),
            workspace_id: workspace,
            input_tokens: 0,
            output_tokens: 0,
            cost_micros: 0,
            status: status.as_u16(),
        },
        ended_at: at,
        tz,
        slots: Vec::new(),
        principal: None,
        spent_before: Vec::new(),
    }
}

/// Where admissions and metering go: the live endpoint's own transactions and writer, or the
/// transaction of a [`Replay`].
enum Mode<'a> {
    Live,
    Replay {
        tx: &'a mut Tx,
        batch: &'a mut Vec<Finished>,
    },
}

/// What a provider answered.
enum Outcome {
    Json(Value),
    Body(Bytes),
    Failed(DataPlaneError),
}

impl Outcome {
    fn into_response(self) -> Response {
        match self {
            Self::Json(value) => json_response(StatusCode::OK, Bytes::from(value.to_string())),
            Self::Body(body) => json_response(StatusCode::OK, body),
            Self::Failed(e) => e.into_response(),
        }
    }
}

fn json_response(status: StatusCode, body: Bytes) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

/// The key itself at `at`, from its cached principal (no query): revoked, a secret a rotation
/// replaced once its grace has ended, or expired, each a 401.
fn check_key(principal: &Principal, at: DateTime<Utc>) -> DpResult<()> {
    if principal.revoked {
        return Err(DataPlaneError::revoked_key());
    }
    if let Some(until) = principal.secret_valid_until.filter(|u| at >= *u) {
        return Err(DataPlaneError::rotated_key(until));
    }
    if let Some(expired) = principal.expires_at.filter(|e| at >= *e) {
        return Err(DataPlaneError::expired_key(expired));
    }
    Ok(())
}

fn check_status(principal: &Principal) -> DpResult<()> {
    match principal.status {
        Some(UserStatus::Active) => Ok(()),
        Some(UserStatus::Suspended) => Err(DataPlaneError::forbidden(
            "account_suspended",
            "This account is suspended; its API keys work again when an admin reactivates it.",
        )),
        _ => Err(DataPlaneError::forbidden(
            "account_inactive",
            "This account is not active yet.",
        )),
    }
}

/// The model a refusal's usage names: the request's, when it is in the catalog.
fn catalog_model<'r>(snapshot: &Snapshot, request: &'r ChatRequest) -> &'r str {
    if snapshot.models.contains_key(&request.model) {
        &request.model
    } else {
        ""
    }
}

/// The model and the workspace of a request: the named workspace (id or slug), which must be
/// one of the user's, or else the user's only workspace, or none.
fn resolve(
    snapshot: &Snapshot,
    principal: &Principal,
    model_id: &str,
    workspace: Option<&str>,
) -> DpResult<(Arc<ModelEntry>, Option<String>)> {
    let model = snapshot
        .models
        .get(model_id)
        .cloned()
        .ok_or_else(|| DataPlaneError::model_not_found(model_id))?;
    if !principal.grants.contains(model_id) && principal.user_grants.contains(model_id) {
        return Err(DataPlaneError {
            param: Some("model"),
            ..DataPlaneError::forbidden(
                "model_not_allowed_for_key",
                format!("The model {model_id:?} is not among the models this API key may use."),
            )
        });
    }
    if !principal.grants.contains(model_id) {
        return Err(DataPlaneError {
            param: Some("model"),
            ..DataPlaneError::forbidden(
                "model_not_granted",
                format!("The model {model_id:?} is not granted to you or any of your groups."),
            )
        });
    }
    let workspace = match workspace.map(str::trim).filter(|w| !w.is_empty()) {
        Some(w) => Some(
            principal
                .workspaces
                .iter()
                .find(|(id, slug)| id == w || slug == w)
                .map(|(id, _)| id.clone())
                .ok_or_else(|| {
                    let shown: String = w.chars().take(64).collect();
                    DataPlaneError::forbidden(
                        "workspace_not_allowed",
                        format!("You are not a member of the workspace {shown:?}."),
                    )
                })?,
        ),
        None if principal.workspaces.len() == 1 => Some(principal.workspaces[0].0.clone()),
        None => None,
    };
    Ok((model, workspace))
}

impl DataPlane {
    /// The data plane of a node on `db`; `on_alerts` hears of the budget alerts its metering
    /// raises. Its admission is chosen by the store: one node on SQLite, several on PostgreSQL.
    pub fn new(db: Db, on_alerts: AlertListener, options: DataPlaneOptions) -> Self {
        let node = gatehouse_store::new_id("node");
        let admission: Arc<dyn Admission> = match db.backend {
            Backend::Sqlite => Arc::new(OneNode::default()),
            Backend::Postgres => Arc::new(SharedNodes::new(
                node.clone(),
                options.reconcile_interval,
                options.lease_ttl,
            )),
        };
        Self::with_admission(db, on_alerts, options, node, admission)
    }

    fn with_admission(
        db: Db,
        on_alerts: AlertListener,
        options: DataPlaneOptions,
        node: String,
        admission: Arc<dyn Admission>,
    ) -> Self {
        let gate = Arc::new(tokio::sync::Mutex::new(()));
        let ledger = Ledger::new(WriterContext {
            db: db.clone(),
            gate: gate.clone(),
            on_alerts,
            admission: admission.clone(),
        });
        let journal_dir = options
            .journal_dir
            .clone()
            .or_else(|| db.node_dir("journal"));
        Self {
            db,
            cache: PrincipalCache::default(),
            journal_dir,
            node,
            admission,
            epoch: AtomicI64::new(i64::MIN),
            syncing: AtomicBool::new(false),
            synced: AtomicBool::new(false),
            first_sync: tokio::sync::watch::Sender::new(false),
            ledger,
            gate,
            upstream_keys: options.upstream_keys,
            upstream_nets: Arc::new(options.allowed_upstream_nets),
            http: OnceLock::new(),
        }
    }

    /// Something may have changed the policy (the node's own admin API changed something):
    /// reads `policy_epoch` now, so that the next request runs on the policy as it is.
    pub async fn policy_changed(&self) -> Result<(), sqlx::Error> {
        let epoch = gatehouse_store::counters::read_epoch(&self.db).await?;
        self.observe_epoch(epoch);
        Ok(())
    }

    fn observe_epoch(&self, epoch: i64) {
        if self.epoch.fetch_max(epoch, Ordering::SeqCst) < epoch {
            self.admission.policy_moved();
        }
    }

    /// Starts, once, the task that reads `policy_epoch` and (on several nodes) reconciles the
    /// counters every interval of the admission, for as long as the data plane lives.
    fn start_sync(self: &Arc<Self>) {
        // Read before the swap: every request comes here, and a write to the flag on each would
        // bounce its cache line between the cores.
        if self.syncing.load(Ordering::Relaxed) || self.syncing.swap(true, Ordering::SeqCst) {
            return;
        }
        let plane: Weak<Self> = Arc::downgrade(self);
        let every = self.admission.interval();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut failing = false;
            loop {
                tick.tick().await;
                let Some(plane) = plane.upgrade() else {
                    return;
                };
                let synced = {
                    let _turn = plane.gate.lock().await;
                    plane.admission.sync(&plane.db).await
                };
                match synced {
                    Ok(epoch) => {
                        failing = false;
                        plane.observe_epoch(epoch);
                    }
                    // Once per outage, not every few milliseconds.
                    Err(e) if !failing => {
                        failing = true;
                        tracing::warn!(error = %e, "the data plane could not reconcile with the database");
                    }
                    Err(_) => {}
                }
                if !plane.synced.load(Ordering::Acquire) {
                    plane.first_sync.send_replace(true);
                    plane.synced.store(true, Ordering::Release);
                }
            }
        });
    }

    /// Meters a request that ended: its slots free and its cost counts at once, its usage is
    /// written by the node's writer.
    fn finish(&self, finished: Finished) {
        self.admission.finished(&finished);
        self.ledger.submit(finished);
    }

    /// Before the node serves: writes what the metering journal holds that the database does
    /// not (the requests of a node that was killed), then journals this node's requests. Returns
    /// how many requests it wrote.
    pub async fn recover(&self) -> Result<usize, JournalError> {
        match &self.journal_dir {
            Some(dir) => self.ledger.recover(dir, &self.node).await,
            None => Ok(0),
        }
    }

    /// The node stops: writes the usage of every request that has ended and deletes its journal.
    pub async fn close(&self) {
        self.ledger.close().await;
    }

    /// How many batches the metering writer has committed, and how many requests they held.
    pub fn metering_batches(&self) -> (u64, u64) {
        self.ledger.batches()
    }

    /// Waits until the usage of every request that has ended is written.
    pub async fn flush(&self) {
        self.ledger.flush().await;
    }

    /// The ranges this gateway may call upstreams in, which the admin API checks models by.
    pub fn upstream_nets(&self) -> &UpstreamNets {
        &self.upstream_nets
    }

    fn http(&self) -> &client::UpstreamClient {
        self.http
            .get_or_init(|| client::UpstreamClient::new(self.upstream_nets.clone()))
    }

    /// The principal behind an `Authorization` header: 401 without a valid key, 403 for the key
    /// of a deleted account.
    async fn principal(
        &self,
        snapshot: &Snapshot,
        authorization: Option<&str>,
    ) -> DpResult<Arc<Principal>> {
        let key = authorization
            .and_then(|h| {
                let (scheme, key) = h.trim().split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| key.trim())
            })
            .ok_or_else(DataPlaneError::missing_key)?;
        if !key.starts_with(KEY_PREFIX) {
            return Err(DataPlaneError::invalid_key());
        }
        match self
            .cache
            .principal(&self.db, snapshot, &gatehouse_store::hash_secret(key))
            .await?
        {
            Lookup::Found(p) => Ok(p),
            Lookup::Deleted => Err(DataPlaneError::forbidden(
                "account_deleted",
                "The account this API key belonged to has been deleted.",
            )),
            Lookup::Unknown => Err(DataPlaneError::invalid_key()),
        }
    }

    fn meter(&self, mode: &mut Mode<'_>, finished: Finished) {
        match mode {
            Mode::Live => self.finish(finished),
            Mode::Replay { batch, .. } => {
                self.admission.finished(&finished);
                batch.push(finished);
            }
        }
    }

    /// The snapshot and the key's principal, read from the cache (or loaded into it). The live
    /// endpoint's snapshot is rebuilt first if `policy_epoch` has moved past it; a replay pins
    /// its snapshot (nothing changes the policy while it runs).
    async fn lookup(
        &self,
        authorization: Option<&str>,
        live: bool,
    ) -> DpResult<(Arc<Snapshot>, Arc<Principal>)> {
        let mut snapshot = self.cache.current(&self.db).await?;
        let epoch = self.epoch.load(Ordering::SeqCst);
        if live && snapshot.epoch < epoch {
            snapshot = self.cache.refresh(&self.db, epoch).await?;
        }
        let principal = self.principal(&snapshot, authorization).await?;
        Ok((snapshot, principal))
    }

    /// Every check of a chat request, in order; a refusal after the key is known is metered.
    async fn open(
        &self,
        plane: Option<&Arc<Self>>,
        authorization: Option<&str>,
        request: DpResult<ChatRequest>,
        workspace: Option<&str>,
        at: DateTime<Utc>,
        mode: &mut Mode<'_>,
    ) -> DpResult<(Call, ChatRequest)> {
        if let Some(plane) = plane {
            plane.start_sync();
            // Before its first reconciliation a node of several has not heard of the others'
            // windows and slots, and would admit as though it were alone (a node's first request
            // went to the database in a race with it, and won it now and then).
            if !plane.synced.load(Ordering::Acquire) {
                let _ = plane.first_sync.subscribe().wait_for(|done| *done).await;
            }
        }
        let live = matches!(mode, Mode::Live);
        let (snapshot, principal) = self.lookup(authorization, live).await?;
        let tz = snapshot.tz;
        let refusal = check_key(&principal, at)
            .and_then(|()| check_status(&principal))
            .err();
        let checked = match (refusal, request) {
            (None, Ok(r)) => match resolve(&snapshot, &principal, &r.model, workspace) {
                Ok(found) => Ok((r, found)),
                Err(e) => Err((e, catalog_model(&snapshot, &r).to_owned())),
            },
            (Some(e), Ok(r)) => Err((e, catalog_model(&snapshot, &r).to_owned())),
            (Some(e), Err(_)) | (None, Err(e)) => Err((e, String::new())),
        };
        let (request, (model, workspace)) = match checked {
            Ok(ok) => ok,
            Err((e, named)) => {
                self.meter(mode, refused(&principal, &named, None, at, tz, e.status));
                return Err(e);
            }
        };
        let ask = Ask {
            principal: &principal,
            estimated_input_tokens: request.estimated_input_tokens,
            at,
            tz,
        };
        let (spent, slots) = match self.admit(&ask, mode).await? {
            Ok(admitted) => admitted,
            Err(e) => {
                let refusal = refused(&principal, &model.id, workspace, at, tz, e.status);
                self.meter(mode, refusal);
                return Err(e);
            }
        };
        Ok((
            Call {
                plane: plane.cloned(),
                estimated_input_tokens: request.estimated_input_tokens,
                principal,
                model,
                workspace,
                at,
                tz,
                id: gatehouse_store::new_id("req"),
                slots,
                spent,
                streamed_output_tokens: 0,
                metered: false,
            },
            request,
        ))
    }

    /// The rate limits and concurrency of the request, then its budgets, from the admission's
    /// counters: what its subjects with a budget had spent and the slots it holds. A budget's
    /// spend not known yet is read first (under the write turn, so that the writer's batches are
    /// either in what is read or still pending, never both or neither): from the database live,
    /// from the replay's transaction in a replay.
    async fn admit(
        &self,
        ask: &Ask<'_>,
        mode: &mut Mode<'_>,
    ) -> DpResult<Result<(Vec<[i64; 3]>, Vec<String>), DataPlaneError>> {
        // Policy that moves between every read and the next could keep this going.
        for _ in 0..5 {
            let unknown: Vec<Subject> = match self.admission.admit(ask) {
                Verdict::Admitted { spent, slots } => return Ok(Ok((spent, slots))),
                Verdict::Refused(e) => return Ok(Err(e)),
                Verdict::SpendUnknown(subjects) => subjects,
            };
            let generation = self.admission.spend_generation();
            for s in unknown {
                // Live, learnt before the write turn is given back: see the doc above.
                let _turn = match mode {
                    Mode::Live => Some(self.gate.lock().await),
                    Mode::Replay { .. } => None,
                };
                let spent = match mode {
                    Mode::Live => {
                        let mut conn = self.db.pool.acquire().await?;
                        period_spend(&mut conn, s.kind, &s.id, ask.at, ask.tz).await?
                    }
                    Mode::Replay { tx, .. } => {
                        period_spend(tx, s.kind, &s.id, ask.at, ask.tz).await?
                    }
                };
                self.admission
                    .learn_spend(&s, ask.at, ask.tz, spent, generation);
            }
        }
        tracing::warn!("the policy kept moving while a request was admitted");
        Err(DataPlaneError::internal())
    }

    /// A whole (not streamed) answer from the model's provider: what to send, the status the
    /// caller gets and the usage to meter.
    async fn complete(&self, call: &Call, request: &ChatRequest) -> (Outcome, u16, Usage) {
        match call.model.provider {
            Provider::Echo => {
                let (body, usage) = provider::echo::completion(
                    &completion_id(&call.id),
                    call.at.timestamp(),
                    request,
                );
                (Outcome::Json(body), 200, usage)
            }
            Provider::Openai => {
                let Some(base) = call.model.upstream_base_url.as_deref() else {
                    return no_upstream(&call.model.id);
                };
                let key = self.upstream_keys.key_for(base);
                let endpoint = call.model.endpoint(&self.upstream_nets);
                match provider::complete(self.http(), endpoint, key, request).await {
                    Ok((body, usage)) => (Outcome::Body(body), 200, usage),
                    Err(e) => {
                        let status = e.status.as_u16();
                        (Outcome::Failed(e), status, Usage::default())
                    }
                }
            }
        }
    }

    /// A streamed answer: the provider's events as they come, metered before the final
    /// `[DONE]`, so that a client that waits for it finds its usage counted.
    async fn stream(self: &Arc<Self>, mut call: Call, request: ChatRequest) -> Response {
        let created = call.at.timestamp();
        let id = completion_id(&call.id);
        let plane = self.clone();
        match call.model.provider {
            Provider::Echo => {
                let (events, usage) = provider::echo::chunks(&id, created, &request);
                sse(async_stream::stream! {
                    for event in events {
                        call.streamed_output_tokens += provider::inspect(&event).output_tokens;
                        yield Ok::<Bytes, Infallible>(event);
                    }
                    plane.finish(call.finished(200, usage, Utc::now()));
                    yield Ok(Bytes::from_static(provider::DONE));
                })
            }
            Provider::Openai => {
                let Some(base) = call.model.upstream_base_url.clone() else {
                    let (outcome, status, usage) = no_upstream(&call.model.id);
                    self.finish(call.finished(status, usage, Utc::now()));
                    return outcome.into_response();
                };
                let key = self.upstream_keys.key_for(&base);
                let opened = provider::open_stream(
                    self.http(),
                    call.model.endpoint(&self.upstream_nets),
                    key,
                    &request,
                )
                .await;
                let response = match opened {
                    Ok(r) => r,
                    Err(e) => {
                        let status = e.status.as_u16();
                        self.finish(call.finished(status, Usage::default(), Utc::now()));
                        return e.into_response();
                    }
                };
                let include_usage = request.include_usage;
                let estimated = request.estimated_input_tokens;
                sse(async_stream::stream! {
                    let mut splitter = provider::SseSplitter::default();
                    let mut upstream = response;
                    let (mut usage, mut done, mut broken, mut ended) = (None, false, false, false);
                    while !done && !ended {
                        let events = match upstream.chunk().await {
                            Ok(Some(chunk)) => splitter.push(&chunk),
                            Err(e) => {
                                tracing::warn!(error = %e, "upstream stream broke off");
                                broken = true;
                                break;
                            }
                            Ok(None) => {
                                ended = true;
                                splitter.rest().into_iter().collect()
                            }
                        };
                        for event in events {
                            let seen = provider::inspect(&event);
                            call.streamed_output_tokens += seen.output_tokens;
                            usage = seen.usage.or(usage);
                            done |= seen.done;
                            if !seen.relay.is_empty() && (!seen.usage_only || include_usage) {
                                yield Ok::<Bytes, Infallible>(Bytes::from(seen.relay));
                            }
                        }
                    }
                    let usage = usage.unwrap_or(Usage {
                        input_tokens: estimated,
                        output_tokens: call.streamed_output_tokens,
                    });
                    let status = if broken { 502 } else { 200 };
                    plane.finish(call.finished(status, usage, Utc::now()));
                    if !broken {
                        yield Ok(Bytes::from_static(provider::DONE));
                    }
                })
            }
        }
    }
}

fn completion_id(request_id: &str) -> String {
    format!("chatcmpl-{}", request_id.trim_start_matches("req_"))
}

fn no_upstream(model: &str) -> (Outcome, u16, Usage) {
    let e = DataPlaneError::upstream(
        StatusCode::BAD_GATEWAY,
        "upstream_unavailable",
        format!("The model {model:?} has no upstream configured."),
    );
    (Outcome::Failed(e), 502, Usage::default())
}

fn sse(
    events: impl futures_util::Stream<Item = Result<Bytes, Infallible>> + Send + 'static,
) -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        Body::from_stream(events),
    )
        .into_response()
}
