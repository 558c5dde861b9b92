//! Rate limits, concurrency and budgets, admitted from counters in the node's memory: no
//! request reads or writes the database to be admitted.
//!
//! [`Admission`] has two implementations, chosen by the store:
//!
//! - [`OneNode`], on SQLite. SQLite is one node: a second `serve` on the same file refuses to
//!   start. The node sees every request, so its counters are exact: requests and input tokens
//!   never pass their limit, and concurrency never passes its own. A budget's spend is read from
//!   the database once per subject and period (and again after a policy change, which may move a
//!   group's members), then kept by adding each finished request's cost.
//! - [`SharedNodes`], on PostgreSQL, which several nodes share. Each node admits from its own
//!   counters plus what the other nodes had counted at its last reconciliation. Every `interval`
//!   (25 ms by default) it writes its counters to `node_counters` and reads the others' sums, the
//!   committed spend of the budgets it uses and `policy_epoch`, in one round trip
//!   (`gatehouse_store::counters`). A node's first request waits for its first reconciliation,
//!   before which it has not heard of the others.
//!
//! What several nodes can pass a limit by: a request node *j* admits reaches node *i*'s view at
//! most two reconciliations (and their round trips *d*) later, so with *N* nodes each admitting
//! at most *r* requests a second for one subject, a rate limit or a concurrency limit is passed
//! by at most `(N − 1) · r · 2 · (interval + d)` requests: with two nodes at 200 req/s each, the
//! default 25 ms and round trips up to as long again, 20. A budget is passed by at most that many
//! requests' cost (spend reaches the database within the 5 ms the writer gathers, which fits in
//! an interval) plus the cost of the requests in flight when it was reached, as spend is only
//! known once a request ends. On one node the first term is 0.
//!
//! Input tokens are the gateway's estimate before the call; output tokens are counted when a
//! request ends, so a window may pass its output limit by what the requests in flight produce.
//! A restart forgets the current minute's windows; spend is in the database.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;
use futures_util::future::BoxFuture;
use gatehouse_api::BudgetPeriod;
use gatehouse_store::counters::{Exchange, SpendRead};
use gatehouse_store::db::Db;
use gatehouse_store::spend::period_bounds;

use super::error::{DataPlaneError, LimitHit};
use super::ledger::Finished;
use super::principal::{Principal, Subject};

/// What a request asks of the counters.
#[derive(Debug, Clone, Copy)]
pub struct Ask<'a> {
    pub principal: &'a Principal,
    pub estimated_input_tokens: i64,
    pub at: DateTime<Utc>,
    pub tz: Tz,
}

/// What an admission came to.
#[derive(Debug)]
pub enum Verdict {
    /// Counted. What the user and each group with a budget had spent (for the alert thresholds
    /// its metering may cross), and the subjects it holds a concurrency slot of.
    Admitted {
        spent: Vec<[i64; 3]>,
        slots: Vec<String>,
    },
    Refused(DataPlaneError),
    /// These subjects' spend in the request's periods is not known yet: learn it, then ask again.
    SpendUnknown(Vec<Subject>),
}

/// How the node admits requests; see the module doc. Both implementations admit from
/// [`Counters`]; they differ in what else counts and in what they do between requests.
pub trait Admission: Send + Sync + fmt::Debug {
    /// The node's counters.
    fn counters(&self) -> &Counters;

    /// What the node does every [`Admission::interval`]: reads `policy_epoch` (and on several
    /// nodes reconciles the counters with the others'); returns the epoch.
    fn sync<'a>(&'a self, db: &'a Db) -> BoxFuture<'a, Result<i64, sqlx::Error>>;

    fn interval(&self) -> Duration;

    /// Checks the request against its subjects' rate limits, concurrency and budgets, in that
    /// order, and counts it if it passes.
    fn admit(&self, ask: &Ask<'_>) -> Verdict {
        self.counters().admit(ask)
    }

    /// `subject` had `committed` in the database in the budget periods of `at`, read after
    /// [`Admission::spend_generation`] gave `generation`.
    fn learn_spend(&self, s: &Subject, at: DateTime<Utc>, tz: Tz, committed: [i64; 3], g: u64) {
        self.counters().learn_spend(s, at, tz, committed, g);
    }

    /// Bumped whenever known spend is forgotten; see [`Admission::learn_spend`].
    fn spend_generation(&self) -> u64 {
        self.counters().generation()
    }

    /// A request has ended: frees its slots, counts its output tokens and cost.
    fn finished(&self, finished: &Finished) {
        self.counters().finished(finished);
    }

    /// These requests' usage is committed: their cost is in the database now.
    fn committed(&self, batch: &[Finished]) {
        self.counters().committed(batch);
    }

    /// The policy moved (a group's members among it): forget the spend read, read it again.
    fn policy_moved(&self) {
        self.counters().policy_moved();
    }
}

/// The clock minute of `at`, in Unix minutes.
pub fn minute_of(at: DateTime<Utc>) -> i64 {
    at.timestamp().div_euclid(60)
}

fn start_of_minute(minute: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(minute * 60, 0)
        .single()
        .unwrap_or_default()
}

/// Whole seconds from `at` to `until`, at least 1: what `Retry-After` says.
fn seconds_until(at: DateTime<Utc>, until: DateTime<Utc>) -> u64 {
    let ms = (until - at).num_milliseconds().max(0);
    u64::try_from((ms + 999) / 1000).unwrap_or(1).max(1)
}

/// One subject's requests and tokens in one clock minute.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Window {
    pub minute: i64,
    pub requests: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
}

impl Window {
    /// The window as of `minute`: empty if it is of an earlier one.
    fn at(self, minute: i64) -> Self {
        if self.minute >= minute {
            self
        } else {
            Self {
                minute,
                ..Self::default()
            }
        }
    }

    fn plus(self, other: Self, minute: i64) -> Self {
        let (a, b) = (self.at(minute), other.at(minute));
        Self {
            minute: a.minute.max(b.minute),
            requests: a.requests + b.requests,
            input_tokens: a.input_tokens + b.input_tokens,
            output_tokens: a.output_tokens + b.output_tokens,
        }
    }
}

/// What a subject with a budget has spent in the periods that start at `starts`.
#[derive(Debug, Clone)]
struct Spend {
    starts: [DateTime<Utc>; 3],
    spent: [i64; 3],
    /// When a request last used it: several nodes refresh only the spend in use.
    used: Instant,
    kind: gatehouse_api::SubjectKind,
    id: String,
    tz: Tz,
}

/// Counters by subject key. The keys are the gateway's own ids, not a caller's text, so a fast
/// hash (seeded per process) serves: every request hashes a dozen of them.
type ByKey<V> = HashMap<String, V, foldhash::fast::RandomState>;

/// `key`'s entry of `map`, made if missing; the key is copied only then.
fn entry<'m, V: Default>(map: &'m mut ByKey<V>, key: &str) -> &'m mut V {
    if !map.contains_key(key) {
        map.insert(key.to_owned(), V::default());
    }
    map.get_mut(key).expect("inserted above")
}

/// The node's counters.
#[derive(Debug, Default)]
struct Counts {
    windows: ByKey<Window>,
    slots: ByKey<i64>,
    spend: ByKey<Spend>,
    generation: u64,
    /// What the requests that ended and are not yet committed cost, per subject with a budget.
    pending: ByKey<i64>,
    /// The other nodes' windows and slots as of the last reconciliation.
    others_windows: ByKey<Window>,
    others_slots: ByKey<i64>,
}

/// The counters both implementations admit from.
#[derive(Debug, Default)]
pub struct Counters {
    counts: Mutex<Counts>,
}

fn starts_of(at: DateTime<Utc>, tz: Tz) -> [DateTime<Utc>; 3] {
    period_bounds(at, tz).map(|(start, _)| start)
}

impl Counters {
    fn lock(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.counts.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn admit(&self, ask: &Ask<'_>) -> Verdict {
        let p = ask.principal;
        let starts = starts_of(ask.at, ask.tz);
        let mut c = self.lock();
        let unknown: Vec<Subject> = p
            .subjects
            .iter()
            .filter(|s| !s.caps.is_empty())
            .filter(|s| c.spend.get(&s.key).is_none_or(|k| k.starts != starts))
            .cloned()
            .collect();
        if !unknown.is_empty() {
            return Verdict::SpendUnknown(unknown);
        }
        let mut limited: Vec<&Subject> = p.subjects.iter().filter(|s| s.has_limits()).collect();
        limited.sort_by(|a, b| a.key.cmp(&b.key));
        if let Some(refused) = refused_alone(ask, &limited) {
            return Verdict::Refused(refused);
        }
        let minute = minute_of(ask.at);
        for s in &limited {
            let own = c.windows.get(&s.key).copied().unwrap_or_default();
            let others = c.others_windows.get(&s.key).copied().unwrap_or_default();
            let w = own.plus(others, minute);
            let l = &s.limits;
            let hit = if let Some(n) = l.requests_per_min.filter(|n| w.requests + 1 > *n) {
                Some(("requests_per_min", n, w.requests))
            } else if let Some(n) = l
                .input_tokens_per_min
                .filter(|n| w.input_tokens + ask.estimated_input_tokens > *n)
            {
                Some(("input_tokens_per_min", n, w.input_tokens))
            } else {
                l.output_tokens_per_min
                    .filter(|n| w.output_tokens >= *n)
                    .map(|n| ("output_tokens_per_min", n, w.output_tokens))
            };
            if let Some((name, limit, used)) = hit {
                return Verdict::Refused(rate_hit(ask, s, name, limit, used, w.minute));
            }
        }
        for s in &limited {
            let Some(max) = s.limits.max_concurrent else {
                continue;
            };
            let used = c.slots.get(&s.key).copied().unwrap_or(0)
                + c.others_slots.get(&s.key).copied().unwrap_or(0);
            if used >= max {
                return Verdict::Refused(concurrency_hit(s, max, used));
            }
        }
        let now = Instant::now();
        let spent: Vec<[i64; 3]> = p
            .subjects
            .iter()
            .filter(|s| !s.caps.is_empty())
            .map(|s| {
                let known = c.spend.get_mut(&s.key).expect("checked above");
                known.used = now;
                known.spent
            })
            .collect();
        if let Some(refused) = budget_refusal(p, &spent, ask.at, ask.tz) {
            return Verdict::Refused(refused);
        }
        let mut slots = Vec::new();
        for s in &limited {
            let w = entry(&mut c.windows, &s.key);
            *w = w.at(minute);
            w.requests += 1;
            w.input_tokens += ask.estimated_input_tokens;
            if s.limits.max_concurrent.is_some() {
                *entry(&mut c.slots, &s.key) += 1;
                slots.push(s.key.clone());
            }
        }
        Verdict::Admitted { spent, slots }
    }

    fn learn_spend(
        &self,
        subject: &Subject,
        at: DateTime<Utc>,
        tz: Tz,
        committed: [i64; 3],
        generation: u64,
    ) {
        let mut c = self.lock();
        if c.generation != generation {
            return;
        }
        let pending = c.pending.get(&subject.key).copied().unwrap_or(0);
        c.spend.insert(
            subject.key.clone(),
            Spend {
                starts: starts_of(at, tz),
                spent: committed.map(|s| s + pending),
                used: Instant::now(),
                kind: subject.kind,
                id: subject.id.clone(),
                tz,
            },
        );
    }

    /// Drops the windows of past minutes and the subjects with no slot in use.
    fn prune(&self, now: DateTime<Utc>) {
        let minute = minute_of(now);
        let mut c = self.lock();
        c.windows.retain(|_, w| w.minute >= minute);
        c.slots.retain(|_, n| *n > 0);
    }

    fn finished(&self, f: &Finished) {
        let mut c = self.lock();
        for key in &f.slots {
            if let Some(n) = c.slots.get_mut(key) {
                *n -= 1;
                if *n <= 0 {
                    c.slots.remove(key);
                }
            }
        }
        let minute = minute_of(f.ended_at);
        for key in f.windows() {
            let w = entry(&mut c.windows, key);
            *w = w.at(minute);
            w.output_tokens += f.event.output_tokens;
        }
        let cost = f.event.cost_micros;
        if cost > 0 {
            let starts = starts_of(f.event.at, f.tz);
            for (capped, _) in f.capped() {
                *entry(&mut c.pending, &capped.key) += cost;
                if let Some(known) = c.spend.get_mut(&capped.key).filter(|k| k.starts == starts) {
                    for s in &mut known.spent {
                        *s += cost;
                    }
                }
            }
        }
    }

    fn committed(&self, batch: &[Finished]) {
        let mut c = self.lock();
        for f in batch.iter().filter(|f| f.event.cost_micros > 0) {
            for (capped, _) in f.capped() {
                if let Some(cost) = c.pending.get_mut(&capped.key) {
                    *cost -= f.event.cost_micros;
                    if *cost <= 0 {
                        c.pending.remove(&capped.key);
                    }
                }
            }
        }
    }

    fn policy_moved(&self) {
        let mut c = self.lock();
        c.spend.clear();
        c.generation += 1;
    }

    fn generation(&self) -> u64 {
        self.lock().generation
    }
}

/// One node on SQLite; see the module doc.
#[derive(Debug, Default)]
pub struct OneNode {
    counters: Counters,
}

/// How often one node reads `policy_epoch`, for changes made outside its own admin API (which
/// tells the data plane at once).
const ONE_NODE_INTERVAL: Duration = Duration::from_millis(250);

impl Admission for OneNode {
    fn counters(&self) -> &Counters {
        &self.counters
    }
    fn sync<'a>(&'a self, db: &'a Db) -> BoxFuture<'a, Result<i64, sqlx::Error>> {
        self.counters.prune(Utc::now());
        Box::pin(gatehouse_store::counters::read_epoch(db))
    }
    fn interval(&self) -> Duration {
        ONE_NODE_INTERVAL
    }
}

/// A node's counters of one subject as the others read them: the minute of its window, its
/// requests, input and output tokens in that minute, and its requests in flight.
type NodeCount = [i64; 5];

/// Several nodes on PostgreSQL; see the module doc.
#[derive(Debug)]
pub struct SharedNodes {
    counters: Counters,
    node: String,
    interval: Duration,
    /// How long the counters of a node that stopped reconciling (it died) still count.
    expiry: Duration,
    /// Spend unused this long is no longer refreshed (a request reads it again).
    spend_idle: Duration,
}

impl SharedNodes {
    pub fn new(node: String, interval: Duration, expiry: Duration) -> Self {
        Self {
            counters: Counters::default(),
            node,
            interval,
            expiry,
            spend_idle: Duration::from_secs(10),
        }
    }

    /// Writes this node's counters, reads the other nodes' and the committed spend of the
    /// budgets in use, in one round trip.
    async fn reconcile(&self, db: &Db) -> Result<i64, sqlx::Error> {
        let now = Utc::now();
        self.counters.prune(now);
        let (mine, reads, generation) = {
            let mut c = self.counters.lock();
            let mut mine: HashMap<&str, NodeCount> = HashMap::new();
            for (k, w) in &c.windows {
                mine.insert(
                    k,
                    [w.minute, w.requests, w.input_tokens, w.output_tokens, 0],
                );
            }
            for (k, n) in &c.slots {
                mine.entry(k).or_insert([minute_of(now), 0, 0, 0, 0])[4] = *n;
            }
            let mine = serde_json::to_string(&mine).unwrap_or_default();
            let idle = self.spend_idle;
            c.spend.retain(|_, s| s.used.elapsed() < idle);
            let reads: Vec<(String, SpendRead)> = c
                .spend
                .iter()
                .map(|(k, s)| {
                    let read = SpendRead {
                        kind: s.kind,
                        id: s.id.clone(),
                        at: now.max(s.starts[0]),
                        tz: s.tz,
                    };
                    (k.clone(), read)
                })
                .collect();
            (mine, reads, c.generation)
        };
        let spend: Vec<&SpendRead> = reads.iter().map(|(_, r)| r).collect();
        let expiry = chrono::Duration::from_std(self.expiry).unwrap_or(chrono::Duration::MAX);
        let Exchange {
            epoch,
            others,
            spent,
        } = gatehouse_store::counters::exchange(db, &self.node, &mine, now, expiry, &spend).await?;
        let minute = minute_of(now);
        let (mut windows, mut slots) = (ByKey::<Window>::default(), ByKey::<i64>::default());
        for node in others {
            let Ok(counts) = serde_json::from_str::<HashMap<String, NodeCount>>(&node) else {
                continue;
            };
            for (k, [m, requests, input_tokens, output_tokens, in_flight]) in counts {
                let w = Window {
                    minute: m,
                    requests,
                    input_tokens,
                    output_tokens,
                };
                let sum = windows.entry(k.clone()).or_default();
                *sum = sum.plus(w, minute);
                if in_flight > 0 {
                    *slots.entry(k).or_default() += in_flight;
                }
            }
        }
        let mut c = self.counters.lock();
        c.others_windows = windows;
        c.others_slots = slots;
        if c.generation == generation {
            for ((key, read), committed) in reads.iter().zip(spent) {
                let pending = c.pending.get(key).copied().unwrap_or(0);
                let starts = starts_of(read.at, read.tz);
                if let Some(s) = c.spend.get_mut(key).filter(|s| s.starts == starts) {
                    s.spent = committed.map(|v| v + pending);
                }
            }
        }
        Ok(epoch)
    }
}

impl Admission for SharedNodes {
    fn counters(&self) -> &Counters {
        &self.counters
    }
    fn sync<'a>(&'a self, db: &'a Db) -> BoxFuture<'a, Result<i64, sqlx::Error>> {
        Box::pin(self.reconcile(db))
    }
    fn interval(&self) -> Duration {
        self.interval
    }
}

fn rate_hit(
    ask: &Ask<'_>,
    s: &Subject,
    name: &'static str,
    limit: i64,
    used: i64,
    window: i64,
) -> DataPlaneError {
    let resets_at = start_of_minute(window + 1);
    let retry = seconds_until(ask.at, resets_at);
    let what = match name {
        "requests_per_min" => "requests",
        "input_tokens_per_min" => "input tokens",
        _ => "output tokens",
    };
    let message = if name == "input_tokens_per_min" && ask.estimated_input_tokens > limit {
        format!(
            "This request's {} estimated input tokens alone are more than {} limit of {limit} \
             input tokens per minute.",
            ask.estimated_input_tokens, s.label
        )
    } else {
        format!(
            "Rate limit reached: {} limit is {limit} {what} per minute and {used} are used; \
             it resets in {retry} s.",
            s.label
        )
    };
    DataPlaneError::limited(
        LimitHit {
            name,
            scope: s.kind,
            subject_id: s.id.clone(),
            value: limit as f64,
            used: used as f64,
            resets_at: Some(resets_at),
            retry_after_secs: retry,
        },
        message,
    )
}

fn concurrency_hit(s: &Subject, limit: i64, used: i64) -> DataPlaneError {
    DataPlaneError::limited(
        LimitHit {
            name: "max_concurrent",
            scope: s.kind,
            subject_id: s.id.clone(),
            value: limit as f64,
            used: used as f64,
            resets_at: None,
            retry_after_secs: 1,
        },
        format!(
            "Concurrency limit reached: {} limit is {limit} requests at once and {used} are \
             in flight; a slot frees when one of them ends.",
            s.label
        ),
    )
}

/// A refusal whatever the counters say: the request alone is over a limit.
fn refused_alone(ask: &Ask<'_>, limited: &[&Subject]) -> Option<DataPlaneError> {
    let window = minute_of(ask.at);
    for s in limited {
        let l = &s.limits;
        if let Some(n) = l.requests_per_min.filter(|n| *n < 1) {
            return Some(rate_hit(ask, s, "requests_per_min", n, 0, window));
        }
        if let Some(n) = l
            .input_tokens_per_min
            .filter(|n| ask.estimated_input_tokens > *n)
        {
            return Some(rate_hit(ask, s, "input_tokens_per_min", n, 0, window));
        }
        if let Some(n) = l.output_tokens_per_min.filter(|n| *n < 1) {
            return Some(rate_hit(ask, s, "output_tokens_per_min", n, 0, window));
        }
        if let Some(n) = l.max_concurrent.filter(|n| *n < 1) {
            return Some(concurrency_hit(s, n, 0));
        }
    }
    None
}

/// The budget refusal of `principal` at `at`, given what the user and each group with a budget
/// (in the principal's order) have spent, if one has spent a cap of a period that contains `at`:
/// of several, the one that frees up last, since the request cannot pass before then.
pub fn budget_refusal(
    principal: &Principal,
    spent: &[[i64; 3]],
    at: DateTime<Utc>,
    tz: Tz,
) -> Option<DataPlaneError> {
    let mut worst: Option<(DateTime<Utc>, LimitHit, String)> = None;
    let bounds = period_bounds(at, tz);
    let capped = principal.subjects.iter().filter(|s| !s.caps.is_empty());
    for (s, spent) in capped.zip(spent) {
        for (i, period) in BudgetPeriod::ALL.into_iter().enumerate() {
            let Some(cap) = s.caps.micros[i] else {
                continue;
            };
            if spent[i] < cap || worst.as_ref().is_some_and(|(r, _, _)| *r >= bounds[i].1) {
                continue;
            }
            let resets_at = bounds[i].1;
            let retry = seconds_until(at, resets_at);
            let name = match period {
                BudgetPeriod::Daily => "daily_usd",
                BudgetPeriod::Weekly => "weekly_usd",
                BudgetPeriod::Monthly => "monthly_usd",
            };
            let message = format!(
                "Budget exhausted: {} {} budget of ${:.2} is spent (${:.2}); it resets at {}.",
                s.label,
                period.as_str(),
                cap as f64 / 1e6,
                spent[i] as f64 / 1e6,
                gatehouse_store::db::timestamp(resets_at)
            );
            let hit = LimitHit {
                name,
                scope: s.kind,
                subject_id: s.id.clone(),
                value: cap as f64 / 1e6,
                used: spent[i] as f64 / 1e6,
                resets_at: Some(resets_at),
                retry_after_secs: retry,
            };
            worst = Some((resets_at, hit, message));
        }
    }
    worst.map(|(_, hit, message)| DataPlaneError::limited(hit, message))
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use gatehouse_api::{Limits, SubjectKind, UserStatus};
    use gatehouse_store::spend::Caps;

    use super::*;
    use gatehouse_store::usage::UsageEvent;

    fn principal(limits: Limits, caps: Caps) -> Principal {
        Principal {
            key_id: "key_1".into(),
            user_id: "usr_1".into(),
            revoked: false,
            status: Some(UserStatus::Active),
            workspaces: Vec::new(),
            grants: HashSet::new(),
            user_grants: HashSet::new(),
            expires_at: None,
            secret_valid_until: None,
            subjects: vec![Subject {
                kind: SubjectKind::User,
                id: "usr_1".into(),
                key: "user:usr_1".into(),
                label: "your".into(),
                limits,
                caps,
            }],
        }
    }

    fn ask(p: &Principal) -> Ask<'_> {
        Ask {
            principal: p,
            estimated_input_tokens: 10,
            at: Utc::now(),
            tz: chrono_tz::UTC,
        }
    }

    fn ended(p: &Principal, slots: Vec<String>, cost: i64, spent: [i64; 3]) -> Finished {
        Finished {
            event: UsageEvent {
                id: "uev_1".into(),
                at: Utc::now(),
                user_id: p.user_id.clone(),
                key_id: Some(p.key_id.clone()),
                model_id: "m".into(),
                workspace_id: None,
                input_tokens: 10,
                output_tokens: 5,
                cost_micros: cost,
                status: 200,
            },
            ended_at: Utc::now(),
            tz: chrono_tz::UTC,
            slots,
            principal: Some(std::sync::Arc::new(p.clone())),
            spent_before: if p.subjects[0].caps.is_empty() {
                Vec::new()
            } else {
                vec![spent]
            },
        }
    }

    fn refusal(v: Verdict) -> (&'static str, f64) {
        match v {
            Verdict::Refused(e) => {
                let hit = e.limit.expect("a limit");
                (hit.name, hit.used)
            }
            other => panic!("not refused: {other:?}"),
        }
    }

    #[test]
    fn windows_and_slots_count_this_node_and_what_the_others_counted() {
        let p = principal(
            Limits {
                requests_per_min: Some(3),
                max_concurrent: Some(2),
                ..Limits::default()
            },
            Caps::default(),
        );
        let node = SharedNodes::new(
            "node_a".into(),
            Duration::from_millis(25),
            Duration::from_secs(30),
        );
        let Verdict::Admitted { slots, .. } = node.admit(&ask(&p)) else {
            panic!("the first passes");
        };
        assert_eq!(slots, ["user:usr_1"]);
        {
            let mut c = node.counters.lock();
            c.others_slots.insert("user:usr_1".into(), 1);
        }
        assert_eq!(refusal(node.admit(&ask(&p))), ("max_concurrent", 2.0));
        node.finished(&ended(&p, slots, 0, [0; 3]));
        let minute = minute_of(Utc::now());
        {
            let mut c = node.counters.lock();
            c.others_windows.insert(
                "user:usr_1".into(),
                Window {
                    minute,
                    requests: 2,
                    ..Window::default()
                },
            );
        }
        // One here and two on the others make three: the limit.
        assert_eq!(refusal(node.admit(&ask(&p))), ("requests_per_min", 3.0));
    }

    #[test]
    fn spend_is_learnt_once_then_kept_by_what_ends_until_the_policy_moves() {
        let caps = Caps {
            micros: [Some(1_000), None, None],
            thresholds: Vec::new(),
        };
        let p = principal(Limits::default(), caps);
        let node = OneNode::default();
        let Verdict::SpendUnknown(unknown) = node.admit(&ask(&p)) else {
            panic!("spend is read first");
        };
        let generation = node.spend_generation();
        node.learn_spend(
            &unknown[0],
            Utc::now(),
            chrono_tz::UTC,
            [900, 900, 900],
            generation,
        );
        let Verdict::Admitted { spent, slots } = node.admit(&ask(&p)) else {
            panic!("under the cap");
        };
        assert_eq!(spent, [[900, 900, 900]]);
        node.finished(&ended(&p, slots, 150, spent[0]));
        assert_eq!(refusal(node.admit(&ask(&p))), ("daily_usd", 1050.0 / 1e6));

        // Read again after a policy change: the database has 900, the 150 is still pending.
        node.policy_moved();
        assert!(matches!(node.admit(&ask(&p)), Verdict::SpendUnknown(_)));
        // A read begun before the change is dropped.
        node.learn_spend(&unknown[0], Utc::now(), chrono_tz::UTC, [0; 3], generation);
        assert!(matches!(node.admit(&ask(&p)), Verdict::SpendUnknown(_)));
        node.learn_spend(
            &unknown[0],
            Utc::now(),
            chrono_tz::UTC,
            [900; 3],
            node.spend_generation(),
        );
        assert_eq!(refusal(node.admit(&ask(&p))), ("daily_usd", 1050.0 / 1e6));
        // Once committed, the pending cost is the database's to count.
        node.committed(&[ended(&p, Vec::new(), 150, [900; 3])]);
        node.policy_moved();
        node.learn_spend(
            &unknown[0],
            Utc::now(),
            chrono_tz::UTC,
            [1_050; 3],
            node.spend_generation(),
        );
        assert_eq!(refusal(node.admit(&ask(&p))), ("daily_usd", 1050.0 / 1e6));
    }
}
