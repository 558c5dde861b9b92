//! Metering: what each finished request writes, and the node's writer that writes it.
//!
//! A finished request is handed to the writer and the response goes out at once; the writer
//! takes everything handed to it since its last commit and writes it in one transaction (the
//! usage events, `usage_daily` and the spend counters, when its key and user were last used),
//! then checks the budget alert thresholds. Under load the batches grow, so the database sees
//! one write transaction per batch rather than per request, and no more than one per gather
//! interval unless a batch fills. The node's admission counts what a
//! request cost as it ends and hears when it is committed (`Admission::committed`), so that the
//! spend it reads from the database again never counts a request twice or misses one.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use gatehouse_api::{Alert, SubjectKind};
use tokio::sync::watch;

use super::admission::Admission;
use super::journal::{self, Journal, JournalError};
use super::principal::{Principal, Subject};
use gatehouse_store::alerts::{self, NewAlert};
use gatehouse_store::db::{self, Backend, Db, Tx};
use gatehouse_store::spend::{self, Caps};
use gatehouse_store::sql::Statements;
use gatehouse_store::usage::{self, Revisions, UsageEvent};

/// A request that has ended, as metering writes it.
#[derive(Debug, Clone)]
pub struct Finished {
    pub event: UsageEvent,
    /// When it ended: its output tokens count in that minute's windows.
    pub ended_at: DateTime<Utc>,
    /// The org's time zone when it was admitted, which decides its day.
    pub tz: Tz,
    /// The subjects whose concurrency slots it holds.
    pub slots: Vec<String>,
    /// Whose rate windows and budgets it counts in: the principal it was admitted for. None
    /// for a refusal, and for a request replayed from the journal (its windows have passed).
    pub principal: Option<Arc<Principal>>,
    /// What each subject of `principal` with a budget had spent when it was admitted, in the
    /// order of its subjects.
    pub spent_before: Vec<[i64; 3]>,
}

impl Finished {
    fn subjects(&self) -> impl Iterator<Item = &Subject> {
        self.principal.iter().flat_map(|p| &p.subjects)
    }

    /// The keys of the rate windows that count its output tokens.
    pub fn windows(&self) -> impl Iterator<Item = &str> {
        self.subjects()
            .filter(|s| s.has_limits())
            .map(|s| s.key.as_str())
    }

    /// The subjects with a budget, whose alert thresholds it may cross, each with what it had
    /// spent when the request was admitted.
    pub fn capped(&self) -> impl Iterator<Item = (&Subject, [i64; 3])> {
        self.subjects()
            .filter(|s| !s.caps.is_empty())
            .zip(self.spent_before.iter().copied())
    }
}

/// An alert already raised (here or by another node) in this period: `(subject, period index,
/// period start, threshold)`.
pub type RaisedKey = (String, usize, DateTime<Utc>, u32);

/// What the writer remembers between batches so that it does not write what it wrote already.
#[derive(Debug, Default)]
pub struct Memory {
    /// When each key's and user's last use was last written.
    touched: HashMap<String, DateTime<Utc>>,
    /// Alerts raised (here or by another node).
    pub raised: HashSet<RaisedKey>,
}

/// How stale `last_used_at` and `last_active_at` may get, as for admin tokens (`auth::touch`).
const TOUCH_EVERY: chrono::Duration = chrono::Duration::minutes(1);
/// A bound on [`Memory`], which starts over past it.
const MEMORY_LIMIT: usize = 100_000;
/// Rows per multi-row statement (see `usage::ROWS_PER_STATEMENT`).
const ROWS_PER_STATEMENT: usize = 25;

/// Writes `batch` in `tx`. Once `tx` commits, pass what this returns to [`Memory::remember_touched`].
pub async fn write(
    tx: &mut Tx,
    batch: &[Finished],
    memory: &Memory,
) -> Result<Vec<(String, DateTime<Utc>)>, sqlx::Error> {
    let mut statements = Statements::for_connection(tx);
    let touched = push_write(&mut statements, batch, memory);
    statements.execute(tx).await?;
    Ok(touched)
}

/// The statements that write `batch`; see [`write`].
pub fn push_write(
    statements: &mut Statements,
    batch: &[Finished],
    memory: &Memory,
) -> Vec<(String, DateTime<Utc>)> {
    let mut touched = Vec::new();
    let Some(last) = batch.last() else {
        return touched;
    };
    let events: Vec<UsageEvent> = batch.iter().map(|f| f.event.clone()).collect();
    usage::push_record_many(statements, &events, last.tz);

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
        push_touch(statements, table, &due);
    }

    touched
}

/// Sets `last_used_at` (keys) or `last_active_at` (users) of each row of `table` in `due` to its
/// time, unless it is already later, each changed row taking a revision so that the console's
/// sync sees it.
fn push_touch(statements: &mut Statements, table: &str, due: &[(&str, DateTime<Utc>)]) {
    if due.is_empty() {
        return;
    }
    let column = if table == "users" {
        "last_active_at"
    } else {
        "last_used_at"
    };
    let mut revisions = Revisions::take(statements, due.len() as i64);
    for chunk in due.chunks(ROWS_PER_STATEMENT) {
        let q = statements.next_statement();
        q.push(&format!(
            "UPDATE {table} SET {column} = v.column2, revision = v.column3 FROM (VALUES "
        ));
        for (i, (id, at)) in chunk.iter().enumerate() {
            q.push(if i == 0 { "(" } else { ", (" });
            q.bind(id.to_string()).push(", ");
            q.bind(db::timestamp(*at)).push(", ");
            revisions.push_next(q);
            q.push(")");
        }
        q.push(&format!(
            ") AS v WHERE {table}.id = v.column1 AND ({table}.{column} IS NULL OR {table}.{column} < v.column2)"
        ));
    }
}

/// The alert thresholds the subjects of `batch` have reached that `memory` does not know to be
/// raised already, read in `conn`. A subject is read only when what it had spent when its last
/// request was admitted, plus what the batch adds, reaches a threshold not known raised: in the
/// usual case a batch reads nothing.
pub async fn due_alerts(
    conn: &mut sqlx::AnyConnection,
    batch: &[Finished],
    raised: &HashSet<RaisedKey>,
) -> Result<Vec<NewAlert>, sqlx::Error> {
    // Per subject: its caps, the latest request's time, zone and spend, and the batch's cost.
    struct Seen<'b> {
        kind: SubjectKind,
        caps: &'b Caps,
        at: DateTime<Utc>,
        tz: Tz,
        spent: [i64; 3],
        added: i64,
    }
    let mut seen: BTreeMap<(&str, &str), Seen<'_>> = BTreeMap::new();
    for f in batch {
        for (c, spent_before) in f.capped() {
            let e = seen
                .entry((c.kind.as_str(), c.id.as_str()))
                .or_insert(Seen {
                    kind: c.kind,
                    caps: &c.caps,
                    at: f.event.at,
                    tz: f.tz,
                    spent: spent_before,
                    added: 0,
                });
            if f.event.at >= e.at {
                (e.at, e.spent) = (f.event.at, spent_before);
            }
            e.added += f.event.cost_micros;
        }
    }
    let mut due = Vec::new();
    for ((_, id), s) in seen {
        let projected = s.spent.map(|spent| spent + s.added);
        let maybe = spend::reached(s.kind, id, s.caps, projected, s.at, s.tz)
            .iter()
            .any(|a| !raised.contains(&raised_key(a)));
        if !maybe {
            continue;
        }
        let spent = spend::period_spend(conn, s.kind, id, s.at, s.tz).await?;
        due.extend(
            spend::reached(s.kind, id, s.caps, spent, s.at, s.tz)
                .into_iter()
                .filter(|a| !raised.contains(&raised_key(a))),
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
/// raised, to mail once committed. Once `tx` commits, pass `due` to [`Memory::remember_raised`].
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
    pub fn remember_touched(&mut self, touched: Vec<(String, DateTime<Utc>)>) {
        if self.touched.len() > MEMORY_LIMIT {
            self.touched.clear();
        }
        self.touched.extend(touched);
    }

    /// Remembers alerts [`raise`] raised (or found raised), once committed.
    pub fn remember_raised(&mut self, due: &[NewAlert]) {
        if self.raised.len() > MEMORY_LIMIT {
            self.raised.clear();
        }
        self.raised.extend(due.iter().map(raised_key));
    }
}

/// What the node's admissions and its writer share.
#[derive(Debug, Default)]
struct Shared {
    /// Finished requests not yet written.
    queue: Mutex<VecDeque<Finished>>,
    /// Written requests whose budgets' alert thresholds the writer has yet to check, how many
    /// were ever handed over to check, and how many it has checked.
    to_check: Mutex<Vec<Finished>>,
    to_check_total: AtomicU64,
    checked: watch::Sender<u64>,
    memory: Mutex<Memory>,
    /// Batches committed (or given up on): with `committed`, how big they run.
    batches: AtomicU64,
    /// Requests handed over, and how many of them are committed (or given up on).
    submitted: AtomicU64,
    committed: watch::Sender<u64>,
    /// Something to do: a request handed over, or written requests to check.
    wake: tokio::sync::Notify,
    /// Asks the writer to write now rather than gather a bigger batch.
    hurry: tokio::sync::Notify,
    /// The ledger is gone: write what is left and stop.
    closed: std::sync::atomic::AtomicBool,
    /// Where each request handed over is appended first (locked inside `queue`, so that it
    /// appends in the order the writer commits), once the node has one.
    journal: Mutex<Option<Journal>>,
    /// Requests committed for good, in order: the journal keeps the rest.
    durable: AtomicU64,
}

/// Everything the writer needs.
#[derive(Clone)]
pub struct WriterContext {
    pub db: Db,
    /// The node's write turn: its writes, and its reads of spend that must see each batch
    /// either committed or still pending, take turns here (on SQLite also rather than in its
    /// busy handler, which sleeps a millisecond or more per retry).
    pub gate: Arc<tokio::sync::Mutex<()>>,
    pub on_alerts: crate::AlertListener,
    pub admission: Arc<dyn Admission>,
}

impl std::fmt::Debug for WriterContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriterContext")
            .field("admission", &self.admission)
            .finish_non_exhaustive()
    }
}

/// The node's metering: a queue of finished requests, and the task that writes them (started
/// on first use).
#[derive(Debug)]
pub struct Ledger {
    start: Mutex<Option<WriterContext>>,
    shared: Arc<Shared>,
}

impl Drop for Ledger {
    fn drop(&mut self) {
        self.shared.closed.store(true, Ordering::SeqCst);
        self.shared.wake.notify_one();
    }
}

/// Attempts at a batch before its usage is given up (and logged).
const ATTEMPTS: u32 = 4;
/// Most requests per batch: a bound on one transaction's size.
const MAX_BATCH: usize = 500;
/// How long the writer gathers finished requests before it writes them, unless asked to hurry:
/// on one node (SQLite) long, as the journal holds them meanwhile and each commit takes a CPU
/// from the requests for a while (50 ms took the added latency at p50 from ~190 to ~130 µs,
/// measured side by side); on several (PostgreSQL) short, as the other nodes learn of the
/// spend only once it is committed.
fn gather(backend: Backend) -> Duration {
    match backend {
        Backend::Sqlite => Duration::from_millis(50),
        Backend::Postgres => Duration::from_millis(5),
    }
}

impl Ledger {
    pub fn new(context: WriterContext) -> Self {
        Self {
            start: Mutex::new(Some(context)),
            shared: Arc::default(),
        }
    }

    fn ensure_started(&self) {
        let Some(context) = self.start.lock().expect("ledger lock").take() else {
            return;
        };
        tokio::spawn(run(context, self.shared.clone()));
    }

    /// Hands a finished request over to be written, once it is in the journal (if the node
    /// has one): the caller's answer must not end before it is.
    pub fn submit(&self, finished: Finished) {
        self.ensure_started();
        {
            let mut queue = self.shared.queue.lock().expect("ledger lock");
            if let Some(journal) = self.shared.journal.lock().expect("ledger lock").as_mut()
                && let Err(e) = journal.append(&finished.event, finished.tz)
            {
                tracing::error!(error = %e, "could not append to the metering journal");
            }
            queue.push_back(finished);
        }
        self.shared.submitted.fetch_add(1, Ordering::SeqCst);
        self.shared.wake.notify_one();
    }

    /// How many batches the writer has committed, and how many requests they held.
    pub fn batches(&self) -> (u64, u64) {
        (
            self.shared.batches.load(Ordering::SeqCst),
            *self.shared.committed.borrow(),
        )
    }

    /// Waits until every request handed over before this call is committed, asking the writer
    /// to write at once.
    pub async fn caught_up(&self) {
        let target = self.shared.submitted.load(Ordering::SeqCst);
        let mut committed = self.shared.committed.subscribe();
        if *committed.borrow() < target {
            self.shared.hurry.notify_one();
        }
        let _ = committed.wait_for(|c| *c >= target).await;
    }

    /// Writes the requests that the journal in `dir` holds and the database does not (those of
    /// a node that was killed), then journals this node's requests there. Call before serving.
    pub async fn recover(&self, dir: &std::path::Path, node: &str) -> Result<usize, JournalError> {
        let context = self
            .start
            .lock()
            .expect("ledger lock")
            .clone()
            .ok_or(JournalError::Started)?;
        let leftovers = journal::leftovers(dir)?;
        let mut replayed = 0;
        for (path, file, records) in leftovers {
            let mut missing = Vec::new();
            for chunk in records.chunks(MAX_BATCH) {
                let ids: Vec<String> = chunk.iter().map(|r| r.event.id.clone()).collect();
                let recorded: HashSet<String> = usage::recorded(&context.db.pool, &ids)
                    .await?
                    .into_iter()
                    .collect();
                missing.extend(
                    chunk
                        .iter()
                        .filter(|r| !recorded.contains(&r.event.id))
                        .map(|r| Finished {
                            event: r.event.clone(),
                            ended_at: r.event.at,
                            tz: r.tz(),
                            slots: Vec::new(),
                            principal: None,
                            spent_before: Vec::new(),
                        }),
                );
            }
            let mut own = None;
            for batch in missing.chunks(MAX_BATCH) {
                write_batch(&context, &mut own, batch, &Memory::default()).await?;
            }
            replayed += missing.len();
            tracing::info!(
                segment = %path.display(),
                records = records.len(),
                written = missing.len(),
                "replayed a metering journal"
            );
            std::fs::remove_file(&path)?;
            drop(file);
        }
        *self.shared.journal.lock().expect("ledger lock") = Some(Journal::open(dir, node)?);
        tokio::spawn(sync_journal(Arc::downgrade(&self.shared)));
        Ok(replayed)
    }

    /// The node stops: waits until everything is written, then deletes its journal.
    pub async fn close(&self) {
        self.flush().await;
        let journal = self.shared.journal.lock().expect("ledger lock").take();
        if let Some(journal) = journal {
            journal.close(self.shared.durable.load(Ordering::SeqCst));
        }
    }

    /// Waits until everything handed over so far is written, and its budgets' alerts raised.
    pub async fn flush(&self) {
        if self.start.lock().expect("ledger lock").is_some() {
            return;
        }
        self.caught_up().await;
        let target = self.shared.to_check_total.load(Ordering::SeqCst);
        let mut checked = self.shared.checked.subscribe();
        let _ = checked.wait_for(|c| *c >= target).await;
    }
}

/// The SQLite connection the writer keeps for itself. Taken from the pool for each batch, the
/// writer landed on a different connection each time, whose page cache the other connections'
/// commits had made stale: it read 5 to 8 pages back from the WAL per batch (1.5 `pread`s per
/// request at the top rate). Its own, out of the pool (which opens another in its place), keeps
/// the pages it appends to in its cache. Dropped after an error, so the next batch starts on a
/// fresh one.
type OwnConnection = Option<sqlx::AnyConnection>;

/// What one attempt at writing a batch came to.
async fn write_batch(
    context: &WriterContext,
    own: &mut OwnConnection,
    batch: &[Finished],
    memory: &Memory,
) -> Result<Vec<(String, DateTime<Utc>)>, sqlx::Error> {
    if context.db.backend == Backend::Postgres {
        let mut tx = context.db.begin_write().await?;
        let touched = write(&mut tx, batch, memory).await?;
        tx.commit().await?;
        return Ok(touched);
    }
    // SQLite: the whole transaction in one call to the connection's worker.
    let mut statements = Statements::new(Backend::Sqlite);
    statements.next_statement().push("BEGIN IMMEDIATE");
    let touched = push_write(&mut statements, batch, memory);
    statements.next_statement().push("COMMIT");
    let conn = match own {
        Some(conn) => conn,
        None => own.insert(context.db.pool.acquire().await?.detach()),
    };
    if let Err(e) = execute_or_roll_back(conn, statements).await {
        *own = None;
        return Err(e);
    }
    Ok(touched)
}

/// Runs `statements`, which begin and commit a transaction themselves; on an error, rolls back
/// whatever part ran, so that the connection does not go back to the pool inside it.
pub async fn execute_or_roll_back(
    conn: &mut sqlx::AnyConnection,
    statements: Statements,
) -> Result<(), sqlx::Error> {
    let done = statements.execute(conn).await;
    if done.is_err() && sqlx::query("ROLLBACK").execute(&mut *conn).await.is_err() {
        // No transaction was open: nothing to undo.
    }
    done
}

async fn run(context: WriterContext, shared: Arc<Shared>) {
    let mut own: OwnConnection = None;
    let gather = gather(context.db.backend);
    // A batch starts no sooner than `gather` after the one before it, unless it is full. Under
    // a steady load the queue is never empty when a commit ends; started at once, the next
    // batch was small and the writer committed back to back (about 10 requests a commit at the
    // top rate), spending a transaction's locks and pages on each.
    let mut due = tokio::time::Instant::now();
    loop {
        let idle = shared.queue.lock().expect("ledger lock").is_empty()
            && shared.to_check.lock().expect("ledger lock").is_empty();
        let mut hurried = false;
        if idle {
            if shared.closed.load(Ordering::SeqCst) {
                return;
            }
            tokio::select! {
                _ = shared.wake.notified() => {}
                _ = shared.hurry.notified() => hurried = true,
            }
            // Gather for a moment: nobody waits for the writer unless they say so, and one
            // transaction for several requests costs the database, and this node's other
            // writers, far less than one each.
            due = tokio::time::Instant::now() + gather;
        }
        let gathering = !hurried
            && shared.queue.lock().expect("ledger lock").len() < MAX_BATCH
            && !shared.closed.load(Ordering::SeqCst);
        if gathering {
            tokio::select! {
                _ = tokio::time::sleep_until(due) => {}
                _ = shared.hurry.notified() => {}
            }
        }
        due = tokio::time::Instant::now() + gather;
        if !shared.queue.lock().expect("ledger lock").is_empty() {
            let _turn = context.gate.lock().await;
            let batch: Vec<Finished> = {
                let mut queue = shared.queue.lock().expect("ledger lock");
                let n = queue.len().min(MAX_BATCH);
                queue.drain(..n).collect()
            };
            if !batch.is_empty() {
                commit_batch(&context, &mut own, &shared, batch).await;
            }
        }
        let check = std::mem::take(&mut *shared.to_check.lock().expect("ledger lock"));
        if !check.is_empty() {
            if let Err(e) = alert_batch(&context, &shared, &check).await {
                tracing::warn!(error = %e, "budget alert check failed");
            }
            shared.checked.send_modify(|c| *c += check.len() as u64);
        }
    }
}

/// Writes `batch` (the write turn held), retrying a few times before its usage is given up.
async fn commit_batch(
    context: &WriterContext,
    own: &mut OwnConnection,
    shared: &Shared,
    batch: Vec<Finished>,
) {
    let (mut attempt, mut lost) = (0, false);
    loop {
        attempt += 1;
        let memory = std::mem::take(&mut *shared.memory.lock().expect("ledger lock"));
        let written = write_batch(context, own, &batch, &memory).await;
        *shared.memory.lock().expect("ledger lock") = memory;
        match written {
            Ok(touched) => {
                shared
                    .memory
                    .lock()
                    .expect("ledger lock")
                    .remember_touched(touched);
                break;
            }
            Err(e) if attempt < ATTEMPTS => {
                tracing::warn!(error = %e, attempt, "metering batch failed; retrying");
                tokio::time::sleep(Duration::from_millis(50 << attempt)).await;
            }
            Err(e) => {
                tracing::error!(
                    error = %e,
                    requests = batch.len(),
                    "metering batch not written: the journal keeps it for the next start"
                );
                lost = true;
                break;
            }
        }
    }
    context.admission.committed(&batch);
    {
        let mut journal = shared.journal.lock().expect("ledger lock");
        if let Some(journal) = journal.as_mut() {
            if lost {
                journal.keep_all();
            }
            let durable = shared
                .durable
                .fetch_add(batch.len() as u64, Ordering::SeqCst);
            journal.committed(durable + batch.len() as u64);
        }
    }
    let n = batch.len() as u64;
    shared.batches.fetch_add(1, Ordering::SeqCst);
    let capped: Vec<Finished> = batch
        .into_iter()
        .filter(|f| f.capped().next().is_some())
        .collect();
    shared
        .to_check_total
        .fetch_add(capped.len() as u64, Ordering::SeqCst);
    shared.to_check.lock().expect("ledger lock").extend(capped);
    shared.committed.send_modify(|c| *c += n);
}

async fn alert_batch(
    context: &WriterContext,
    shared: &Shared,
    batch: &[Finished],
) -> Result<(), sqlx::Error> {
    let due = {
        let raised = shared.memory.lock().expect("ledger lock").raised.clone();
        let mut conn = context.db.pool.acquire().await?;
        due_alerts(&mut conn, batch, &raised).await?
    };
    if due.is_empty() {
        return Ok(());
    }
    let raised = {
        let _turn = context.gate.lock().await;
        let mut tx = context.db.begin_write().await?;
        let raised = raise(&mut tx, &due).await?;
        tx.commit().await?;
        raised
    };
    shared
        .memory
        .lock()
        .expect("ledger lock")
        .remember_raised(&due);
    if !raised.is_empty() {
        (context.on_alerts)(raised);
    }
    Ok(())
}

/// Fsyncs what the journal appended, every [`journal::SYNC_EVERY`], while the ledger lives.
async fn sync_journal(shared: std::sync::Weak<Shared>) {
    let mut tick = tokio::time::interval(journal::SYNC_EVERY);
    loop {
        tick.tick().await;
        let Some(shared) = shared.upgrade() else {
            return;
        };
        let files = match shared.journal.lock().expect("ledger lock").as_mut() {
            Some(journal) => journal.take_unsynced(),
            None => return,
        };
        drop(shared);
        if files.is_empty() {
            continue;
        }
        let synced =
            tokio::task::spawn_blocking(move || files.iter().try_for_each(|f| f.sync_data())).await;
        if let Ok(Err(e)) = synced {
            tracing::warn!(error = %e, "could not fsync the metering journal");
        }
    }
}
