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
//! - Budgets: the spend counters of the user and of each group, read before the call. Spend is
//!   known only when a request ends, so a budget may be passed by the cost of the requests in
//!   flight when it was reached.

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;
use gatehouse_api::BudgetPeriod;

use super::error::{DataPlaneError, LimitHit};
use super::principal::{Principal, Subject};
use crate::db::Backend;
use crate::spend::{period_bounds, period_spend};

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
    fn refused_alone(&self) -> Option<DataPlaneError> {
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

    /// Checks and counts the request in every window and takes its leases, in `conn`, which
    /// must be a transaction (or savepoint) that the caller rolls back on a refusal, as the
    /// subjects before the refusing one have already counted it.
    pub async fn admit(
        &self,
        conn: &mut sqlx::AnyConnection,
        backend: Backend,
    ) -> Result<Result<(), DataPlaneError>, sqlx::Error> {
        if let Some(refused) = self.refused_alone() {
            return Ok(Err(refused));
        }
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
        let sql = format!(
            "INSERT INTO rate_windows (subject, minute, requests, input_tokens, output_tokens) \
             VALUES ($1, $2, 1, $3, 0) ON CONFLICT (subject) DO UPDATE SET \
             requests = {req} + 1, input_tokens = {inp} + excluded.input_tokens, \
             output_tokens = {out}, minute = {newest} \
             WHERE {req} + 1 <= $4 AND {inp} + excluded.input_tokens <= $5 AND {out} < $6 \
             RETURNING requests",
            req = current("requests"),
            inp = current("input_tokens"),
            out = current("output_tokens"),
        );
        for s in &self.subjects {
            let l = &s.limits;
            let counted: Option<i64> = sqlx::query_scalar(&sql)
                .bind(&s.key)
                .bind(minute)
                .bind(self.estimated_input_tokens)
                .bind(l.requests_per_min.unwrap_or(i64::MAX))
                .bind(l.input_tokens_per_min.unwrap_or(i64::MAX))
                .bind(l.output_tokens_per_min.unwrap_or(i64::MAX))
                .fetch_optional(&mut *conn)
                .await?;
            if counted.is_none() {
                return Ok(Err(self.window_refusal(conn, s, minute).await?));
            }
        }
        for s in &self.subjects {
            let Some(max) = s.limits.max_concurrent else {
                continue;
            };
            let taken = sqlx::query(
                "INSERT INTO concurrency_leases (request_id, subject, node, expires_at) \
                 SELECT $1, $2, $3, $4 WHERE (SELECT COUNT(*) FROM concurrency_leases \
                 WHERE subject = $2 AND expires_at > $5) < $6",
            )
            .bind(self.request_id)
            .bind(&s.key)
            .bind(self.node)
            .bind(self.lease_expires_ms)
            .bind(self.at.timestamp_millis())
            .bind(max)
            .execute(&mut *conn)
            .await?;
            if taken.rows_affected() == 0 {
                let used: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM concurrency_leases WHERE subject = $1 AND expires_at > $2",
                )
                .bind(&s.key)
                .bind(self.at.timestamp_millis())
                .fetch_one(&mut *conn)
                .await?;
                return Ok(Err(self.concurrency_hit(s, max, used)));
            }
        }
        Ok(Ok(()))
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

/// The budget refusal of `principal` at `at`, if the user or a group has spent a cap of a period
/// that contains `at`: of several, the one that frees up last, since the request cannot pass
/// before then.
pub async fn budget_refusal(
    conn: &mut sqlx::AnyConnection,
    principal: &Principal,
    at: DateTime<Utc>,
    tz: Tz,
) -> Result<Option<DataPlaneError>, sqlx::Error> {
    let mut worst: Option<(DateTime<Utc>, LimitHit, String)> = None;
    let bounds = period_bounds(at, tz);
    for s in principal.subjects.iter().filter(|s| !s.caps.is_empty()) {
        let spent = period_spend(conn, s.kind, &s.id, at, tz).await?;
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
                crate::db::timestamp(resets_at)
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
    Ok(worst.map(|(_, hit, message)| DataPlaneError::limited(hit, message)))
}
