//! Metering: what each finished request writes, and the node's writer that writes it.
//!
//! A finished request is handed to the writer and the response goes out at once; the writer
//! takes everything handed to it since its last commit and writes it in one transaction (the
//! usage events, `usage_daily` and the spend counters, the output tokens in the rate windows,
//! the end of the request's concurrency leases, when its key and user were last used), then
//! checks the budget alert thresholds. Under load the batches grow, so the database sees one
//! write transaction per batch rather than per request.
//!
//! A request that needs to see usage (a budget, an output-token limit) first waits until every
//! request this node finished before it started is committed ([`Ledger::caught_up`]): a client
//! that sends its next request after the previous answer always has the previous one counted,
//! and a request is in flight, as far as budgets are concerned, from its admission until its
//! usage is committed.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use gatehouse_api::{Alert, SubjectKind};
use tokio::sync::{mpsc, oneshot, watch};

use super::admission::minute_of;
use crate::alerts::{self, NewAlert};
use crate::db::{self, Db, Tx};
use crate::mail::Mailer;
use crate::spend::{self, Caps};
use crate::sql::SqlText;
use crate::usage::{self, UsageEvent};

/// A request that has ended, as metering writes it.
#[derive(Debug, Clone)]
pub struct Finished {
    pub event: UsageEvent,
    /// When it ended: its output tokens count in that minute's windows.
    pub ended_at: DateTime<Utc>,
    /// The org's time zone when it was admitted, which decides its day.
    pub tz: Tz,
    /// Its id, when it holds concurrency leases to release.
    pub leases: Option<String>,
    /// The keys of the rate windows that count its output tokens.
    pub windows: Vec<String>,
    /// The user and groups with a budget, whose alert thresholds it may cross.
    pub capped: Vec<(SubjectKind, String, Caps)>,
}

/// An alert already raised (here or by another node) in this period: `(subject, period index,
/// period start, threshold)`.
type RaisedKey = (String, usize, DateTime<Utc>, u32);

/// What the writer remembers between batches so that it does not write what it wrote already.
#[derive(Debug, Default)]
pub struct Memory {
    /// When each key's and user's last use was last written.
    touched: HashMap<String, DateTime<Utc>>,
    raised: HashSet<RaisedKey>,
}

/// How stale `last_used_at` and `last_active_at` may get, as for admin tokens (`auth::touch`).
const TOUCH_EVERY: chrono::Duration = chrono::Duration::minutes(1);
/// A bound on [`Memory`], which starts over past it.
const MEMORY_LIMIT: usize = 100_000;
/// Rows per multi-row statement (see `usage::ROWS_PER_STATEMENT`).
const ROWS_PER_STATEMENT: usize = 25;

/// Writes `batch` in `tx`. Once `tx` commits, pass what this returns to [`Memory::touched`].
pub async fn write(
    tx: &mut Tx,
    batch: &[Finished],
    memory: &Memory,
) -> Result<Vec<(String, DateTime<Utc>)>, sqlx::Error> {
    let mut touched = Vec::new();
    let Some(last) = batch.last() else {
        return Ok(touched);
    };
    let events: Vec<UsageEvent> = batch.iter().map(|f| f.event.clone()).collect();
    usage::record_many(tx, &events, last.tz).await?;

    // Output tokens per window and minute, in key order (the order admissions lock them in).
    let mut windows: BTreeMap<(&str, i64), i64> = BTreeMap::new();
    for f in batch {
        for w in &f.windows {
            *windows
                .entry((w.as_str(), minute_of(f.ended_at)))
                .or_default() += f.event.output_tokens;
        }
    }
    for ((subject, minute), output) in windows {
        sqlx::query(
            "UPDATE rate_windows SET \
             requests = CASE WHEN minute < $2 THEN 0 ELSE requests END, \
             input_tokens = CASE WHEN minute < $2 THEN 0 ELSE input_tokens END, \
             output_tokens = (CASE WHEN minute < $2 THEN 0 ELSE output_tokens END) + $3, \
             minute = CASE WHEN minute < $2 THEN $2 ELSE minute END \
             WHERE subject = $1",
        )
        .bind(subject)
        .bind(minute)
        .bind(output)
        .execute(&mut **tx)
        .await?;
    }

    let leases: Vec<&String> = batch.iter().filter_map(|f| f.leases.as_ref()).collect();
    for chunk in leases.chunks(ROWS_PER_STATEMENT * 2) {
        let mut q = SqlText::new("DELETE FROM concurrency_leases WHERE request_id IN (");
        for (i, id) in chunk.iter().enumerate() {
            if i > 0 {
                q.push(", ");
            }
            q.bind((*id).clone());
        }
        q.push(")");
        sqlx::query_with(&q.sql, q.args).execute(&mut **tx).await?;
    }

    let mut keys: BTreeMap<&str, DateTime<Utc>> = BTreeMap::new();
    let mut users: BTreeMap<&str, DateTime<Utc>> = BTreeMap::new();
    for f in batch {
        if let Some(key) = &f.event.key_id {
            let t = keys.entry(key.as_str()).or_insert(f.event.at);
            *t = (*t).max(f.event.at);
        }
        let t = users.entry(f.event.user_id.as_str()).or_insert(f.event.at);
        *t = (*t).max(f.event.at);
    }
    for (table, seen) in [("api_keys", keys), ("users", users)] {
        let column = if table == "users" {
            "last_active_at"
        } else {
            "last_used_at"
        };
        let due: Vec<(&str, DateTime<Utc>)> = seen
            .into_iter()
            .filter(|(id, at)| {
                let tag = format!("{table}:{id}");
                let due = memory
                    .touched
                    .get(&tag)
                    .is_none_or(|before| *at >= *before + TOUCH_EVERY);
                if due {
                    touched.push((tag, *at));
                }
                due
            })
            .collect();
        touch(tx, table, column, &due).await?;
    }
    Ok(touched)
}

/// Sets `column` of each row of `table` in `due` to its time, unless it is already later, each
/// changed row taking a revision so that the console's sync sees it.
async fn touch(
    tx: &mut Tx,
    table: &str,
    column: &str,
    due: &[(&str, DateTime<Utc>)],
) -> Result<(), sqlx::Error> {
    if due.is_empty() {
        return Ok(());
    }
    let mut revision = usage::reserve_revisions(tx, due.len() as i64).await?;
    for chunk in due.chunks(ROWS_PER_STATEMENT) {
        let mut q = SqlText::new(&format!(
            "UPDATE {table} SET {column} = v.column2, revision = v.column3 FROM (VALUES "
        ));
        for (i, (id, at)) in chunk.iter().enumerate() {
            q.push(if i == 0 { "(" } else { ", (" });
            q.bind(id.to_string()).push(", ");
            q.bind(db::timestamp(*at)).push(", ");
            q.bind(revision).push(")");
            revision += 1;
        }
        q.push(&format!(
            ") AS v WHERE {table}.id = v.column1 AND ({table}.{column} IS NULL OR {table}.{column} < v.column2)"
        ));
        sqlx::query_with(&q.sql, q.args).execute(&mut **tx).await?;
    }
    Ok(())
}

/// The alert thresholds the subjects of `batch` have reached that `memory` does not know to be
/// raised already, read in `conn`.
pub async fn due_alerts(
    conn: &mut sqlx::AnyConnection,
    batch: &[Finished],
    memory: &Memory,
) -> Result<Vec<NewAlert>, sqlx::Error> {
    // Per subject, its caps and the latest request's time and zone.
    type Latest<'b> = (SubjectKind, &'b Caps, DateTime<Utc>, Tz);
    let mut latest: BTreeMap<(&str, &str), Latest<'_>> = BTreeMap::new();
    for f in batch {
        for (kind, id, caps) in &f.capped {
            let e = latest
                .entry((kind.as_str(), id.as_str()))
                .or_insert((*kind, caps, f.event.at, f.tz));
            e.2 = e.2.max(f.event.at);
        }
    }
    let mut due = Vec::new();
    for ((_, id), (kind, caps, at, tz)) in latest {
        let spent = spend::period_spend(conn, kind, id, at, tz).await?;
        due.extend(
            spend::reached(kind, id, caps, spent, at, tz)
                .into_iter()
                .filter(|a| !memory.raised.contains(&raised_key(a))),
        );
    }
    Ok(due)
}

fn raised_key(a: &NewAlert) -> RaisedKey {
    (
        format!("{}:{}", a.subject_kind.as_str(), a.subject_id),
        a.period as usize,
        a.period_start,
        a.threshold,
    )
}

/// Raises `due` in `tx` (each once, whichever node gets there first); returns those this call
/// raised, to mail once committed. Once `tx` commits, pass `due` to [`Memory::raised`].
pub async fn raise(tx: &mut Tx, due: &[NewAlert]) -> Result<Vec<Alert>, sqlx::Error> {
    let mut raised = Vec::new();
    for alert in due {
        if let Some(a) = alerts::raise(tx, alert).await? {
            raised.push(a);
        }
    }
    Ok(raised)
}

impl Memory {
    /// Remembers the uses [`write`] wrote, once committed.
    pub fn touched(&mut self, touched: Vec<(String, DateTime<Utc>)>) {
        if self.touched.len() > MEMORY_LIMIT {
            self.touched.clear();
        }
        self.touched.extend(touched);
    }

    /// Remembers alerts [`raise`] raised (or found raised), once committed.
    pub fn raised(&mut self, due: &[NewAlert]) {
        if self.raised.len() > MEMORY_LIMIT {
            self.raised.clear();
        }
        self.raised.extend(due.iter().map(raised_key));
    }
}

enum Message {
    Finished(Box<Finished>),
    /// Answered once everything handed over before it is committed.
    Flush(oneshot::Sender<()>),
}

/// What the node's admissions and its writer share.
#[derive(Debug)]
struct Shared {
    /// Requests handed to the writer, and how many of them it has committed (or given up on).
    submitted: AtomicU64,
    committed: watch::Sender<u64>,
    /// Requests of this node holding concurrency leases, which the writer renews.
    leases_held: AtomicI64,
}

/// Everything the writer needs.
#[derive(Debug, Clone)]
pub struct WriterContext {
    pub db: Db,
    /// On SQLite, the node's write gate (see `DataPlane`).
    pub gate: Option<Arc<tokio::sync::Mutex<()>>>,
    pub mailer: Mailer,
    pub node: String,
    pub lease_ttl: Duration,
}

/// The node's metering writer: a queue and the task that empties it, started on first use.
#[derive(Debug)]
pub struct Ledger {
    sender: mpsc::UnboundedSender<Message>,
    start: Mutex<Option<(mpsc::UnboundedReceiver<Message>, WriterContext)>>,
    shared: Arc<Shared>,
}

/// Attempts at a batch before its usage is given up (and logged).
const ATTEMPTS: u32 = 4;
/// Most requests per batch: a bound on one transaction's size.
const MAX_BATCH: usize = 2_000;

impl Ledger {
    pub fn new(context: WriterContext) -> Self {
        let (sender, receiver) = mpsc::unbounded_channel();
        Self {
            sender,
            start: Mutex::new(Some((receiver, context))),
            shared: Arc::new(Shared {
                submitted: AtomicU64::new(0),
                committed: watch::Sender::new(0),
                leases_held: AtomicI64::new(0),
            }),
        }
    }

    fn ensure_started(&self) {
        let Some((receiver, context)) = self.start.lock().expect("ledger lock").take() else {
            return;
        };
        tokio::spawn(run(receiver, context, self.shared.clone()));
    }

    /// Counts a request that took concurrency leases, so that the writer renews them.
    pub fn leases_taken(&self) {
        self.ensure_started();
        self.shared.leases_held.fetch_add(1, Ordering::Relaxed);
    }

    /// Hands a finished request to the writer.
    pub fn submit(&self, finished: Finished) {
        self.ensure_started();
        self.shared.submitted.fetch_add(1, Ordering::SeqCst);
        if self
            .sender
            .send(Message::Finished(Box::new(finished)))
            .is_err()
        {
            tracing::error!("metering writer gone; a request's usage is lost");
            self.shared.committed.send_modify(|c| *c += 1);
        }
    }

    /// Waits until every request handed over before this call is committed.
    pub async fn caught_up(&self) {
        let target = self.shared.submitted.load(Ordering::SeqCst);
        let mut committed = self.shared.committed.subscribe();
        let _ = committed.wait_for(|c| *c >= target).await;
    }

    /// Waits until everything handed over so far is written.
    pub async fn flush(&self) {
        if self.start.lock().expect("ledger lock").is_some() {
            return;
        }
        let (done, wait) = oneshot::channel();
        if self.sender.send(Message::Flush(done)).is_ok() {
            let _ = wait.await;
        }
    }
}

async fn run(
    mut receiver: mpsc::UnboundedReceiver<Message>,
    context: WriterContext,
    shared: Arc<Shared>,
) {
    let mut memory = Memory::default();
    let mut renew = tokio::time::interval((context.lease_ttl / 3).max(Duration::from_millis(100)));
    renew.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut ticks: u64 = 0;
    loop {
        let first = tokio::select! {
            message = receiver.recv() => match message {
                Some(m) => m,
                None => return,
            },
            _ = renew.tick() => {
                ticks += 1;
                if let Err(e) = renew_leases(&context, &shared, ticks).await {
                    tracing::warn!(error = %e, "could not renew concurrency leases");
                }
                continue;
            }
        };
        let mut batch = Vec::new();
        let mut flushes = Vec::new();
        let mut next = Some(first);
        while let Some(message) = next.take() {
            match message {
                Message::Finished(f) => batch.push(*f),
                Message::Flush(done) => flushes.push(done),
            }
            if batch.len() < MAX_BATCH {
                next = receiver.try_recv().ok();
            }
        }
        if !batch.is_empty() {
            commit_batch(&context, &shared, &batch, &mut memory).await;
        }
        for done in flushes {
            let _ = done.send(());
        }
    }
}

async fn commit_batch(
    context: &WriterContext,
    shared: &Shared,
    batch: &[Finished],
    memory: &mut Memory,
) {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let written = async {
            let _gate = match &context.gate {
                Some(g) => Some(g.lock().await),
                None => None,
            };
            let mut tx = context.db.begin_write().await?;
            let touched = write(&mut tx, batch, memory).await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(touched)
        }
        .await;
        match written {
            Ok(touched) => {
                memory.touched(touched);
                break;
            }
            Err(e) if attempt < ATTEMPTS => {
                tracing::warn!(error = %e, attempt, "metering batch failed; retrying");
                tokio::time::sleep(Duration::from_millis(50 << attempt)).await;
            }
            Err(e) => {
                tracing::error!(error = %e, requests = batch.len(), "metering batch lost");
                break;
            }
        }
    }
    let released = batch.iter().filter(|f| f.leases.is_some()).count() as i64;
    shared.leases_held.fetch_sub(released, Ordering::Relaxed);
    shared.committed.send_modify(|c| *c += batch.len() as u64);
    if let Err(e) = alert_batch(context, batch, memory).await {
        tracing::warn!(error = %e, "budget alert check failed");
    }
}

async fn alert_batch(
    context: &WriterContext,
    batch: &[Finished],
    memory: &mut Memory,
) -> Result<(), sqlx::Error> {
    if batch.iter().all(|f| f.capped.is_empty()) {
        return Ok(());
    }
    let due = {
        let mut conn = context.db.pool.acquire().await?;
        due_alerts(&mut conn, batch, memory).await?
    };
    if due.is_empty() {
        return Ok(());
    }
    let raised = {
        let _gate = match &context.gate {
            Some(g) => Some(g.lock().await),
            None => None,
        };
        let mut tx = context.db.begin_write().await?;
        let raised = raise(&mut tx, &due).await?;
        tx.commit().await?;
        raised
    };
    memory.raised(&due);
    spend::mail_admins_with(&context.db.pool, &context.mailer, &raised).await
}

/// Pushes back the expiry of this node's leases while it holds any, and now and then deletes
/// leases that expired (those of a node that died).
async fn renew_leases(
    context: &WriterContext,
    shared: &Shared,
    ticks: u64,
) -> Result<(), sqlx::Error> {
    let now = Utc::now().timestamp_millis();
    let ttl = i64::try_from(context.lease_ttl.as_millis()).unwrap_or(i64::MAX);
    let holding = shared.leases_held.load(Ordering::Relaxed) > 0;
    let sweep = ticks.is_multiple_of(30);
    if !holding && !sweep {
        return Ok(());
    }
    let _gate = match &context.gate {
        Some(g) => Some(g.lock().await),
        None => None,
    };
    if holding {
        sqlx::query("UPDATE concurrency_leases SET expires_at = $1 WHERE node = $2")
            .bind(now.saturating_add(ttl))
            .bind(&context.node)
            .execute(&context.db.pool)
            .await?;
    }
    if sweep {
        sqlx::query("DELETE FROM concurrency_leases WHERE expires_at < $1")
            .bind(now)
            .execute(&context.db.pool)
            .await?;
    }
    Ok(())
}
