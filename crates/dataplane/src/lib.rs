//! The data plane: `POST /v1/chat/completions` (streamed or not) and `GET /v1/models`, OpenAI's
//! API, for users' API keys. Each request is checked in this order, each refusal an OpenAI-style
//! error: the key (401), the user's status (403), the model's grant (403), the rate limits and
//! concurrency of the user and each group (429), their budgets (429). It then goes to the
//! model's provider (the built-in `echo`, or an OpenAI-compatible upstream with the key the
//! gateway's configuration gives for it), and every request of a known key is metered.
//!
//! What the checks read is cached per key (`principal`); what several nodes must enforce
//! together lives in the database (`admission`); metering is written in batches by one writer
//! per node (`ledger`); the HTTP side is `http`. The demo organisation's history is made by the
//! same steps, in-process, with [`Replay`].
//!
//! A layer of the gateway between the store (`gatehouse-store`, all its SQL) and the admin HTTP
//! layer (`gatehouse-gateway`): it must not depend on the gateway, on mail (budget alerts go to
//! an [`AlertListener`]) or on Tauri; `tests/layers.rs` reads `cargo metadata` and fails if it
//! does.

mod admission;
pub mod egress;
mod error;
mod http;
mod ledger;
mod principal;
mod provider;
mod replay;
mod request;
pub mod upstreams;

use std::convert::Infallible;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use gatehouse_api::{Provider, UserStatus};
use serde_json::Value;
use sqlx::Row;

use admission::{Plan, Reading};
pub use egress::UpstreamNets;
pub use error::{DataPlaneError, DpResult, LimitHit};
use gatehouse_store::db::{Backend, Db, Tx};
use gatehouse_store::sql::Statements;
use gatehouse_store::usage::{UsageEvent, cost_micros};
pub use http::router;
use ledger::{Finished, Ledger, Memory, WriterContext};
use principal::{Lookup, ModelEntry, Principal, PrincipalCache, Snapshot};
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
    /// How long a concurrency slot outlives a node that stopped renewing it (it died).
    pub lease_ttl: Duration,
}

impl Default for DataPlaneOptions {
    fn default() -> Self {
        Self {
            upstream_keys: UpstreamKeys::default(),
            allowed_upstream_nets: UpstreamNets::default(),
            lease_ttl: Duration::from_secs(30),
        }
    }
}

/// One gateway node's data plane.
#[derive(Debug)]
pub struct DataPlane {
    db: Db,
    /// This node's name in the leases it holds.
    node: String,
    cache: PrincipalCache,
    ledger: Ledger,
    /// On SQLite, the node's writers (admissions, metering) take turns here rather than in
    /// SQLite's busy handler, which sleeps a millisecond or more per retry.
    gate: Option<Arc<tokio::sync::Mutex<()>>>,
    upstream_keys: UpstreamKeys,
    upstream_nets: Arc<UpstreamNets>,
    lease_ttl: Duration,
    http: OnceLock<reqwest::Client>,
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
    leases: bool,
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
            leases: self.leases.then(|| self.id.clone()),
            windows: p
                .subjects
                .iter()
                .filter(|s| s.has_limits())
                .map(|s| s.key.clone())
                .collect(),
            capped: p
                .subjects
                .iter()
                .filter(|s| !s.caps.is_empty())
                .zip(&self.spent)
                .map(|(s, spent)| ledger::Capped {
                    kind: s.kind,
                    id: s.id.clone(),
                    key: s.key.clone(),
                    caps: s.caps.clone(),
                    spent_before: *spent,
                })
                .collect(),
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
            plane.ledger.submit(self.finished(499, usage, Utc::now()));
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
        leases: None,
        windows: Vec::new(),
        capped: Vec::new(),
    }
}

/// Where admissions and metering go: the live endpoint's own transactions and writer, or the
/// transaction of a [`Replay`].
enum Mode<'a> {
    Live,
    Replay {
        tx: &'a mut Tx,
        batch: &'a mut Vec<Finished>,
        memory: &'a mut Memory,
    },
}

/// How an admission went: through or refused, or it found the cached policy out of date (and
/// has taken back what it counted), so the checks must run again.
enum Admission {
    Done(DpResult<(bool, Vec<[i64; 3]>)>),
    Stale,
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
    /// raises.
    pub fn new(db: Db, on_alerts: AlertListener, options: DataPlaneOptions) -> Self {
        let node = gatehouse_store::new_id("node");
        let gate = (db.backend == Backend::Sqlite).then(Arc::default);
        let ledger = Ledger::new(WriterContext {
            db: db.clone(),
            gate: gate.clone(),
            on_alerts,
            node: node.clone(),
            lease_ttl: options.lease_ttl,
        });
        Self {
            db,
            node,
            cache: PrincipalCache::default(),
            ledger,
            gate,
            upstream_keys: options.upstream_keys,
            upstream_nets: Arc::new(options.allowed_upstream_nets),
            lease_ttl: options.lease_ttl,
            http: OnceLock::new(),
        }
    }

    /// Waits until the usage of every request that has ended is written.
    pub async fn flush(&self) {
        self.ledger.flush().await;
    }

    /// The ranges this gateway may call upstreams in, which the admin API checks models by.
    pub fn upstream_nets(&self) -> &UpstreamNets {
        &self.upstream_nets
    }

    fn http(&self) -> &reqwest::Client {
        self.http
            .get_or_init(|| provider::http_client(self.upstream_nets.clone()))
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
            Mode::Live => self.ledger.submit(finished),
            Mode::Replay { batch, .. } => batch.push(finished),
        }
    }

    /// The snapshot and the key's principal, read from the cache (or loaded into it).
    async fn lookup(
        &self,
        authorization: Option<&str>,
    ) -> DpResult<(Arc<Snapshot>, Arc<Principal>)> {
        let snapshot = self.cache.current(&self.db).await?;
        let principal = self.principal(&snapshot, authorization).await?;
        Ok((snapshot, principal))
    }

    /// Whether the live endpoint's cached policy is out of date: `policy_epoch` has moved past
    /// `snapshot` (read here when nothing else was read with it). The cache is rebuilt then.
    async fn stale(&self, snapshot: &Snapshot, epoch: Option<i64>) -> DpResult<bool> {
        let epoch = match epoch {
            Some(e) => e,
            None => principal::read_epoch(&self.db).await?,
        };
        if epoch == snapshot.epoch {
            return Ok(false);
        }
        self.cache.refresh(&self.db, epoch).await?;
        Ok(true)
    }

    /// Every check of a chat request, in order; a refusal after the key is known is metered.
    /// The checks run on the cached policy; what the request reads from the database (with its
    /// admission on SQLite) includes `policy_epoch`, and when that moved the cache is rebuilt
    /// and the checks run again, so a refusal or an admission always stands on the policy as it
    /// is. A replay pins its snapshot: nothing changes the policy while it runs.
    async fn open(
        &self,
        plane: Option<&Arc<Self>>,
        authorization: Option<&str>,
        request: DpResult<ChatRequest>,
        workspace: Option<&str>,
        at: DateTime<Utc>,
        mode: &mut Mode<'_>,
    ) -> DpResult<(Call, ChatRequest)> {
        // A policy that changes between every two reads could keep this going; the third
        // round goes ahead on the snapshot the second built.
        for round in 0..3 {
            let live = matches!(mode, Mode::Live) && round < 2;
            let (snapshot, principal) = self.lookup(authorization).await?;
            let tz = snapshot.tz;
            let checked = if principal.revoked {
                Err(DataPlaneError::revoked_key())
            } else {
                check_status(&principal).and(request.clone())
            }
            .and_then(|r| {
                resolve(&snapshot, &principal, &r.model, workspace).map(|found| (r, found))
            });
            let (request, (model, workspace)) = match checked {
                Ok(ok) => ok,
                Err(e) => {
                    if live && self.stale(&snapshot, None).await? {
                        continue;
                    }
                    // The model is named only when it is in the catalog.
                    let model = request
                        .as_ref()
                        .ok()
                        .filter(|r| snapshot.models.contains_key(&r.model))
                        .map_or("", |r| r.model.as_str());
                    self.meter(mode, refused(&principal, model, None, at, tz, e.status));
                    return Err(e);
                }
            };
            let id = gatehouse_store::new_id("req");
            let admitted = match self
                .admit(&snapshot, &principal, &request, at, &id, live, mode)
                .await?
            {
                Admission::Stale => continue,
                Admission::Done(admitted) => admitted,
            };
            let (leases, spent) = match admitted {
                Ok(ok) => ok,
                Err(e) => {
                    let refusal = refused(&principal, &model.id, workspace, at, tz, e.status);
                    self.meter(mode, refusal);
                    return Err(e);
                }
            };
            return Ok((
                Call {
                    plane: plane.cloned(),
                    estimated_input_tokens: request.estimated_input_tokens,
                    principal,
                    model,
                    workspace,
                    at,
                    tz,
                    id,
                    leases,
                    spent,
                    streamed_output_tokens: 0,
                    metered: false,
                },
                request,
            ));
        }
        Err(DataPlaneError::internal())
    }

    /// The rate limits and concurrency of the request, then its budgets: whether it took
    /// leases, and what its subjects with a budget had spent. `live`: check `policy_epoch` too.
    ///
    /// - Live on SQLite: the read, the windows and the leases in one call under the node's write
    ///   gate, outside a transaction (the gate keeps this node's writers apart; a second process
    ///   on the file could see a count that is then taken back, which only errs on refusing);
    ///   what a refused or stale admission counted is taken back under the same gate.
    /// - Live on PostgreSQL: the read, then the windows and leases in a transaction that rolls
    ///   back on a refusal (row locks order the nodes).
    /// - Replay: the same in the replay's transaction, with a savepoint.
    #[allow(clippy::too_many_arguments)]
    async fn admit(
        &self,
        snapshot: &Snapshot,
        principal: &Principal,
        request: &ChatRequest,
        at: DateTime<Utc>,
        id: &str,
        live: bool,
        mode: &mut Mode<'_>,
    ) -> DpResult<Admission> {
        let ttl = i64::try_from(self.lease_ttl.as_millis()).unwrap_or(i64::MAX);
        let plan = Plan::new(
            principal,
            request.estimated_input_tokens,
            at,
            id,
            &self.node,
            at.timestamp_millis().saturating_add(ttl),
        );
        let backend = self.db.backend;
        let tz = snapshot.tz;
        let done = |reading: Reading, rate: Result<(), DataPlaneError>, leases: bool| {
            let budget = admission::budget_refusal(principal, &reading, at, tz);
            Admission::Done(match (rate, budget) {
                (Err(e), _) | (Ok(()), Some(e)) => Err(e),
                (Ok(()), None) => Ok((leases, reading.spent)),
            })
        };
        if let Mode::Replay { tx, batch, memory } = mode {
            // The replay's own usage so far counts, as the live endpoint's does.
            if principal.has_caps() && !batch.is_empty() {
                let touched = ledger::write(tx, batch, memory).await?;
                memory.remember_touched(touched);
                batch.clear();
            }
            let reading = admission::read(&mut ***tx, principal, false, at, tz).await?;
            if plan.is_empty() {
                return Ok(done(reading, Ok(()), false));
            }
            let mut savepoint = sqlx::Acquire::begin(&mut **tx).await?;
            let rate = plan.admit(&mut savepoint, backend).await?;
            let go =
                rate.is_ok() && admission::budget_refusal(principal, &reading, at, tz).is_none();
            if go {
                savepoint.commit().await?;
            } else {
                savepoint.rollback().await?;
            }
            return Ok(done(reading, rate, plan.takes_leases()));
        }
        if backend == Backend::Postgres || (plan.is_empty() && !principal.has_caps()) {
            // A budget must see every request this node finished before this one.
            if principal.has_caps() {
                self.ledger.caught_up().await;
            }
            let reading = admission::read(&self.db.pool, principal, live, at, tz).await?;
            if live && self.stale(snapshot, reading.epoch).await? {
                return Ok(Admission::Stale);
            }
            if plan.is_empty() {
                return Ok(done(reading, Ok(()), false));
            }
            if let Some(refused) = plan.refused_alone() {
                return Ok(done(reading, Err(refused), false));
            }
            let mut tx = self
                .db
                .pool
                .begin_with("BEGIN ISOLATION LEVEL READ COMMITTED")
                .await?;
            let rate = plan.admit(&mut tx, backend).await?;
            if rate.is_ok() && admission::budget_refusal(principal, &reading, at, tz).is_none() {
                tx.commit().await?;
                if plan.takes_leases() {
                    self.ledger.leases_taken();
                }
            } else {
                tx.rollback().await?;
            }
            return Ok(done(reading, rate, plan.takes_leases()));
        }

        // SQLite: one transaction in one call, with the node's write turn: the read, the windows
        // and the leases. This node is the only one, so what it has finished and not yet
        // written is added to what the read found spent.
        let alone = plan.refused_alone();
        let _turn = match &self.gate {
            Some(gate) => Some(gate.lock().await),
            None => None,
        };
        let mut statements = Statements::new(Backend::Sqlite);
        statements.next_statement().push("BEGIN IMMEDIATE");
        let q = statements.next_statement();
        admission::push_read(q, principal, live, at, tz);
        if alone.is_none() && !plan.is_empty() {
            q.push("; ");
            plan.push_windows(q, backend);
            if plan.takes_leases() {
                q.push("; ");
                plan.push_leases(q, true);
            }
        }
        statements.next_statement().push("COMMIT");
        let mut conn = self.db.pool.acquire().await?;
        let rows = ledger::fetch_or_roll_back(&mut conn, statements).await?;
        let mut reading = Reading::from_row(
            rows.first().ok_or_else(DataPlaneError::internal)?,
            principal,
            live,
        )?;
        let capped = principal.subjects.iter().filter(|s| !s.caps.is_empty());
        for (s, spent) in capped.zip(&mut reading.spent) {
            let pending = self.ledger.pending_cost(&s.key);
            for period in spent.iter_mut() {
                *period += pending;
            }
        }
        let returned = rows[1..]
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect::<Result<Vec<(String, String)>, sqlx::Error>>()?;
        let rate = match alone {
            Some(refused) => Err(refused),
            None if plan.is_empty() => Ok(()),
            None => plan.outcome(&mut conn, &returned).await?,
        };
        let stale = live && reading.epoch != Some(snapshot.epoch);
        let budget = admission::budget_refusal(principal, &reading, at, tz);
        if (stale || rate.is_err() || budget.is_some()) && !returned.is_empty() {
            plan.take_back(&mut conn, &returned).await?;
        } else if plan.takes_leases() {
            self.ledger.leases_taken();
        }
        drop(conn);
        drop(_turn);
        if stale && self.stale(snapshot, reading.epoch).await? {
            return Ok(Admission::Stale);
        }
        Ok(done(reading, rate, plan.takes_leases()))
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
                match provider::complete(self.http(), &self.upstream_nets, base, key, request).await
                {
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
                    plane.ledger.submit(call.finished(200, usage, Utc::now()));
                    yield Ok(Bytes::from_static(provider::DONE));
                })
            }
            Provider::Openai => {
                let Some(base) = call.model.upstream_base_url.clone() else {
                    let (outcome, status, usage) = no_upstream(&call.model.id);
                    self.ledger.submit(call.finished(status, usage, Utc::now()));
                    return outcome.into_response();
                };
                let key = self.upstream_keys.key_for(&base);
                let opened =
                    provider::open_stream(self.http(), &self.upstream_nets, &base, key, &request)
                        .await;
                let response = match opened {
                    Ok(r) => r,
                    Err(e) => {
                        let status = e.status.as_u16();
                        self.ledger
                            .submit(call.finished(status, Usage::default(), Utc::now()));
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
                    plane.ledger.submit(call.finished(status, usage, Utc::now()));
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
