//! Rate limits, concurrency and budgets, enforced through the database so that every node
//! sharing it enforces one limit together.
//!
//! - Requests, input tokens and output tokens per minute: each subject with a limit has one row
//!   in `rate_windows` for the current clock minute (UTC). One conditional upsert per subject
//!   checks and counts at once (the row lock orders nodes on PostgreSQL; SQLite has one writer),
//!   so requests and input tokens never pass their limit. Input tokens are the gateway's
//!   estimate before the call; output tokens are counted when a request ends, so a window may
//!   pass its output limit by what the requests in flight then produce.
//! - Concurrency: a row per request in flight in `concurrency_leases`, counted and inserted
//!   under the subject's window row lock, deleted when the request ends, and expiring
//!   (`lease_ttl`, renewed while the request runs) if its node dies.
//! - Budgets: the spend counters of the user and of each group, read before the call (with the
//!   policy epoch, in one statement). Spend is known only when a request ends, so a budget may be
//!   passed by the cost of the requests in flight when it was reached.

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;
use gatehouse_api::BudgetPeriod;

use sqlx::Row;
use sqlx::any::AnyRow;

use super::error::{DataPlaneError, LimitHit};
use super::principal::{Principal, Subject};
use gatehouse_store::db::Backend;
use gatehouse_store::spend::{period_bounds, push_period_spend};
use gatehouse_store::sql::SqlText;

/// What one request asks of the windows and leases of the subjects that limit it.
#[derive(Debug)]
pub struct Plan<'a> {
    /// The subjects with a limit, in key order: every node locks their rows in that order.
    pub subjects: Vec<&'a Subject>,
    pub estimated_input_tokens: i64,
    pub at: DateTime<Utc>,
    pub request_id: &'a str,
    pub node: &'a str,
    /// When the leases expire unless renewed, in Unix milliseconds.
    pub lease_expires_ms: i64,
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

impl<'a> Plan<'a> {
    pub fn new(
        principal: &'a Principal,
        estimated_input_tokens: i64,
        at: DateTime<Utc>,
        request_id: &'a str,
        node: &'a str,
        lease_expires_ms: i64,
    ) -> Self {
        let mut subjects: Vec<&Subject> = principal
            .subjects
            .iter()
            .filter(|s| s.has_limits())
            .collect();
        subjects.sort_by(|a, b| a.key.cmp(&b.key));
        Self {
            subjects,
            estimated_input_tokens,
            at,
            request_id,
            node,
            lease_expires_ms,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.subjects.is_empty()
    }

    pub fn takes_leases(&self) -> bool {
        self.subjects
            .iter()
            .any(|s| s.limits.max_concurrent.is_some())
    }

    fn rate_hit(
        &self,
        s: &Subject,
        name: &'static str,
        limit: i64,
        used: i64,
        window: i64,
    ) -> DataPlaneError {
        let resets_at = start_of_minute(window + 1);
        let retry = seconds_until(self.at, resets_at);
        let what = match name {
            "requests_per_min" => "requests",
            "input_tokens_per_min" => "input tokens",
            _ => "output tokens",
        };
        let message = if name == "input_tokens_per_min" && self.estimated_input_tokens > limit {
            format!(
                "This request's {} estimated input tokens alone are more than {} limit of {limit} \
                 input tokens per minute.",
                self.estimated_input_tokens, s.label
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

    fn concurrency_hit(&self, s: &Subject, limit: i64, used: i64) -> DataPlaneError {
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

    /// A refusal that needs no database: the request alone is over a limit.
    pub fn refused_alone(&self) -> Option<DataPlaneError> {
        let window = minute_of(self.at);
        for s in &self.subjects {
            let l = &s.limits;
            if let Some(n) = l.requests_per_min.filter(|n| *n < 1) {
                return Some(self.rate_hit(s, "requests_per_min", n, 0, window));
            }
            if let Some(n) = l
                .input_tokens_per_min
                .filter(|n| self.estimated_input_tokens > *n)
            {
                return Some(self.rate_hit(s, "input_tokens_per_min", n, 0, window));
            }
            if let Some(n) = l.output_tokens_per_min.filter(|n| *n < 1) {
                return Some(self.rate_hit(s, "output_tokens_per_min", n, 0, window));
            }
            if let Some(n) = l.max_concurrent.filter(|n| *n < 1) {
                return Some(self.concurrency_hit(s, n, 0));
            }
        }
        None
    }

    /// Appends the upsert that checks and counts the request in every window (one statement
    /// whatever the number of subjects), returning `('w', subject)` for each window that counted
    /// it.
    pub fn push_windows(&self, q: &mut SqlText, backend: Backend) {
        let minute = minute_of(self.at);
        let newest = match backend {
            Backend::Sqlite => "MAX(rate_windows.minute, excluded.minute)",
            Backend::Postgres => "GREATEST(rate_windows.minute, excluded.minute)",
        };
        // A row from an older minute counts as empty; a node whose clock is a little behind
        // counts into the newer minute another node already opened.
        let current = |column: &str| {
            format!(
                "(CASE WHEN rate_windows.minute >= excluded.minute THEN rate_windows.{column} \
                 ELSE 0 END)"
            )
        };
        q.push(
            "INSERT INTO rate_windows (subject, minute, requests, input_tokens, output_tokens, \
             requests_limit, input_tokens_limit, output_tokens_limit) VALUES ",
        );
        for (i, s) in self.subjects.iter().enumerate() {
            let l = &s.limits;
            q.push(if i == 0 { "(" } else { ", (" });
            q.bind(s.key.clone()).push(", ");
            q.bind(minute).push(", 1, ");
            q.bind(self.estimated_input_tokens).push(", 0, ");
            q.bind(l.requests_per_min.unwrap_or(i64::MAX)).push(", ");
            q.bind(l.input_tokens_per_min.unwrap_or(i64::MAX))
                .push(", ");
            q.bind(l.output_tokens_per_min.unwrap_or(i64::MAX))
                .push(")");
        }
        q.push(&format!(
            " ON CONFLICT (subject) DO UPDATE SET \
             requests = {req} + 1, input_tokens = {inp} + excluded.input_tokens, \
             output_tokens = {out}, minute = {newest}, \
             requests_limit = excluded.requests_limit, \
             input_tokens_limit = excluded.input_tokens_limit, \
             output_tokens_limit = excluded.output_tokens_limit \
             WHERE {req} + 1 <= excluded.requests_limit \
             AND {inp} + excluded.input_tokens <= excluded.input_tokens_limit \
             AND {out} < excluded.output_tokens_limit \
             RETURNING 'w', subject",
            req = current("requests"),
            inp = current("input_tokens"),
            out = current("output_tokens"),
        ));
    }

    /// The subjects with a concurrency limit, and the limit.
    fn leased(&self) -> Vec<(&Subject, i64)> {
        self.subjects
            .iter()
            .filter_map(|s| Some((*s, s.limits.max_concurrent?)))
            .collect()
    }

    /// Appends the insert of a lease for every subject with a concurrency limit that has a slot
    /// free (one statement), returning `('l', subject)` for each lease taken. `guarded`: only if
    /// the statement just before (the windows' upsert) counted every window, for SQLite, where
    /// the two run in one call.
    pub fn push_leases(&self, q: &mut SqlText, guarded: bool) {
        q.push("INSERT INTO concurrency_leases (request_id, subject, node, expires_at) SELECT ");
        q.bind(self.request_id.to_owned()).push(", v.column1, ");
        q.bind(self.node.to_owned()).push(", ");
        q.bind(self.lease_expires_ms).push(" FROM (VALUES ");
        for (i, (s, max)) in self.leased().iter().enumerate() {
            q.push(if i == 0 { "(" } else { ", (" });
            q.bind(s.key.clone()).push(", ").bind(*max).push(")");
        }
        q.push(
            ") AS v WHERE (SELECT COUNT(*) FROM concurrency_leases c \
             WHERE c.subject = v.column1 AND c.expires_at > ",
        )
        .bind(self.at.timestamp_millis())
        .push(") < v.column2");
        if guarded {
            q.push(" AND changes() = ").bind(self.subjects.len() as i64);
        }
        q.push(" RETURNING 'l', subject");
    }

    /// What the windows and leases statements' returned `('w' | 'l', subject)` rows mean: the
    /// refusal of the first subject that did not count or got no lease, if any.
    pub async fn outcome(
        &self,
        conn: &mut sqlx::AnyConnection,
        returned: &[(String, String)],
    ) -> Result<Result<(), DataPlaneError>, sqlx::Error> {
        let has = |tag: &str, key: &str| returned.iter().any(|(t, k)| t == tag && k == key);
        if let Some(s) = self.subjects.iter().find(|s| !has("w", &s.key)) {
            return Ok(Err(self
                .window_refusal(conn, s, minute_of(self.at))
                .await?));
        }
        for (s, max) in self.leased() {
            if has("l", &s.key) {
                continue;
            }
            let used: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM concurrency_leases WHERE subject = $1 AND expires_at > $2 \
                 AND request_id <> $3",
            )
            .bind(&s.key)
            .bind(self.at.timestamp_millis())
            .bind(self.request_id)
            .fetch_one(&mut *conn)
            .await?;
            return Ok(Err(self.concurrency_hit(s, max, used)));
        }
        Ok(Ok(()))
    }

    /// Takes back what an admission that is not going ahead counted (`returned` as for
    /// [`Plan::outcome`]), where it ran outside a transaction (SQLite, under the node's write
    /// gate).
    pub async fn take_back(
        &self,
        conn: &mut sqlx::AnyConnection,
        returned: &[(String, String)],
    ) -> Result<(), sqlx::Error> {
        let mut q = SqlText::new(
            "UPDATE rate_windows SET requests = MAX(requests - 1, 0), input_tokens = \
             MAX(input_tokens - ",
        );
        q.bind(self.estimated_input_tokens)
            .push(", 0) WHERE subject IN ('' ");
        for (_, key) in returned.iter().filter(|(t, _)| t == "w") {
            q.push(", ").bind(key.clone());
        }
        q.push("); DELETE FROM concurrency_leases WHERE request_id = ")
            .bind(self.request_id.to_owned());
        sqlx::query_with(&q.sql, q.args).execute(conn).await?;
        Ok(())
    }

    /// Checks and counts the request in every window and takes its leases, in `conn`, which
    /// must be a transaction (or savepoint) that the caller rolls back on a refusal, as the
    /// subjects that passed have already counted it.
    pub async fn admit(
        &self,
        conn: &mut sqlx::AnyConnection,
        backend: Backend,
    ) -> Result<Result<(), DataPlaneError>, sqlx::Error> {
        if let Some(refused) = self.refused_alone() {
            return Ok(Err(refused));
        }
        let mut q = SqlText::default();
        self.push_windows(&mut q, backend);
        let mut returned: Vec<(String, String)> = sqlx::query_as_with(&q.sql, q.args)
            .fetch_all(&mut *conn)
            .await?;
        if returned.len() == self.subjects.len() && !self.leased().is_empty() {
            let mut q = SqlText::default();
            self.push_leases(&mut q, false);
            returned.extend(
                sqlx::query_as_with::<_, (String, String), _>(&q.sql, q.args)
                    .fetch_all(&mut *conn)
                    .await?,
            );
        }
        self.outcome(conn, &returned).await
    }

    /// Which of `s`'s limits its window refused the request for.
    async fn window_refusal(
        &self,
        conn: &mut sqlx::AnyConnection,
        s: &Subject,
        minute: i64,
    ) -> Result<DataPlaneError, sqlx::Error> {
        let (window, requests, input, output): (i64, i64, i64, i64) = sqlx::query_as(
            "SELECT minute, requests, input_tokens, output_tokens FROM rate_windows WHERE subject = $1",
        )
        .bind(&s.key)
        .fetch_one(&mut *conn)
        .await?;
        let window = window.max(minute);
        let l = &s.limits;
        Ok(
            match (
                l.requests_per_min,
                l.input_tokens_per_min,
                l.output_tokens_per_min,
            ) {
                (Some(n), _, _) if requests + 1 > n => {
                    self.rate_hit(s, "requests_per_min", n, requests, window)
                }
                (_, Some(n), _) if input + self.estimated_input_tokens > n => {
                    self.rate_hit(s, "input_tokens_per_min", n, input, window)
                }
                (_, _, Some(n)) => self.rate_hit(s, "output_tokens_per_min", n, output, window),
                // Only a window that moved on between the two statements gets here.
                _ => self.rate_hit(s, "requests_per_min", requests, requests, window),
            },
        )
    }
}

/// What a request reads before it is admitted, in one statement: `policy_epoch` (for the live
/// endpoint, to check its cached policy) and the spend of the user and each group with a budget.
#[derive(Debug, Clone, Default)]
pub struct Reading {
    pub epoch: Option<i64>,
    /// Per subject with a budget, in the principal's order: spent in each period.
    pub spent: Vec<[i64; 3]>,
}

/// Appends the select of [`Reading`] for `principal` (and of the epoch when `epoch`); returns
/// whether there is anything to read.
pub fn push_read(
    q: &mut SqlText,
    principal: &Principal,
    epoch: bool,
    at: DateTime<Utc>,
    tz: Tz,
) -> bool {
    q.push(if epoch {
        "SELECT (SELECT value FROM policy_epoch WHERE id = 1)"
    } else {
        "SELECT 0"
    });
    let mut capped = 0;
    for s in principal.subjects.iter().filter(|s| !s.caps.is_empty()) {
        push_period_spend(q, s.kind, &s.id, at, tz);
        capped += 1;
    }
    epoch || capped > 0
}

impl Reading {
    /// The row [`push_read`]'s select returned.
    pub fn from_row(row: &AnyRow, principal: &Principal, epoch: bool) -> Result<Self, sqlx::Error> {
        let capped = principal
            .subjects
            .iter()
            .filter(|s| !s.caps.is_empty())
            .count();
        let mut spent = Vec::with_capacity(capped);
        for i in 0..capped {
            spent.push([
                row.try_get(1 + 3 * i)?,
                row.try_get(2 + 3 * i)?,
                row.try_get(3 + 3 * i)?,
            ]);
        }
        Ok(Self {
            epoch: if epoch { Some(row.try_get(0)?) } else { None },
            spent,
        })
    }
}

/// Reads [`Reading`] for `principal` in `exec`.
pub async fn read<'e, E>(
    exec: E,
    principal: &Principal,
    epoch: bool,
    at: DateTime<Utc>,
    tz: Tz,
) -> Result<Reading, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let mut q = SqlText::default();
    if !push_read(&mut q, principal, epoch, at, tz) {
        return Ok(Reading::default());
    }
    let row = sqlx::query_with(&q.sql, q.args).fetch_one(exec).await?;
    Reading::from_row(&row, principal, epoch)
}

/// The budget refusal of `principal` at `at`, given what [`read`] found spent, if the user or a
/// group has spent a cap of a period that contains `at`: of several, the one that frees up
/// last, since the request cannot pass before then.
pub fn budget_refusal(
    principal: &Principal,
    reading: &Reading,
    at: DateTime<Utc>,
    tz: Tz,
) -> Option<DataPlaneError> {
    let mut worst: Option<(DateTime<Utc>, LimitHit, String)> = None;
    let bounds = period_bounds(at, tz);
    let capped = principal.subjects.iter().filter(|s| !s.caps.is_empty());
    for (s, spent) in capped.zip(&reading.spent) {
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
