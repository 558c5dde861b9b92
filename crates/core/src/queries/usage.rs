//! Usage by day, stacked by user, model or workspace: the top series over the range plus
//! "other", from the roll-ups when nothing narrows the query, else from the usage rows.

use std::collections::HashMap;

use chrono::{Duration, NaiveDate};
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite};

use super::{id_list, parse, usd};
use crate::cache::Cache;
use crate::error::{CoreError, CoreResult};
use crate::ipc::{UsageChart, UsageDay, UsageFilter, UsageGroupBy, UsageSeries, UsageTotals};

/// The most series a chart stacks before "other".
pub const MAX_TOP: u32 = 50;
/// The longest range a query covers, in days.
pub const MAX_DAYS: i64 = 3660;
/// How many keys the top-N search tries by their all-time cost before it sums the range instead.
const THRESHOLD_KEYS: usize = 256;

/// Sums of one key (or of a day) in micro-dollars, as the cache keeps them.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Sums {
    requests: i64,
    input_tokens: i64,
    output_tokens: i64,
    cost_micros: i64,
}

impl Sums {
    /// Reads `requests, input_tokens, output_tokens, cost_micros` from column `at` on.
    fn read(r: &SqliteRow, at: usize) -> Self {
        Self {
            requests: r.get(at),
            input_tokens: r.get(at + 1),
            output_tokens: r.get(at + 2),
            cost_micros: r.get(at + 3),
        }
    }

    fn add(&mut self, o: &Self) {
        self.requests += o.requests;
        self.input_tokens += o.input_tokens;
        self.output_tokens += o.output_tokens;
        self.cost_micros += o.cost_micros;
    }

    fn minus(&self, o: &Self) -> Self {
        Self {
            requests: self.requests - o.requests,
            input_tokens: self.input_tokens - o.input_tokens,
            output_tokens: self.output_tokens - o.output_tokens,
            cost_micros: self.cost_micros - o.cost_micros,
        }
    }

    fn is_zero(&self) -> bool {
        *self == Self::default()
    }

    fn totals(&self) -> UsageTotals {
        UsageTotals {
            requests: self.requests,
            input_tokens: self.input_tokens,
            output_tokens: self.output_tokens,
            cost_usd: usd(self.cost_micros),
        }
    }
}

/// One key's sums per day in the range.
type KeyDays = (String, HashMap<NaiveDate, Sums>);

fn day_of(s: &str) -> NaiveDate {
    s.parse().unwrap_or_default()
}

fn dim(group_by: UsageGroupBy) -> (&'static str, &'static str) {
    match group_by {
        UsageGroupBy::User => ("user", "user_id"),
        UsageGroupBy::Model => ("model", "model_id"),
        UsageGroupBy::Workspace => ("workspace", "workspace_id"),
        UsageGroupBy::Key => ("key", "key_id"),
    }
}

/// The range and top of `filter`, checked.
pub(crate) fn checked(filter: &UsageFilter) -> CoreResult<(String, String, usize)> {
    if filter.to < filter.from {
        return Err(CoreError::Invalid(format!(
            "the range ends ({}) before it starts ({})",
            filter.to, filter.from
        )));
    }
    if (filter.to - filter.from).num_days() >= MAX_DAYS {
        return Err(CoreError::Invalid(format!(
            "a range covers at most {MAX_DAYS} days"
        )));
    }
    let top = match filter.top {
        0 => 10,
        1..=MAX_TOP => filter.top as usize,
        n => {
            return Err(CoreError::Invalid(format!(
                "a chart stacks at most {MAX_TOP} series, not {n}"
            )));
        }
    };
    Ok((filter.from.to_string(), filter.to.to_string(), top))
}

/// Appends the usage rows' conditions of `filter`: its range (by the row id, which starts with
/// the day, so that the primary key finds it) and what narrows it.
pub(crate) fn usage_conditions<'a>(
    q: &mut QueryBuilder<'a, Sqlite>,
    filter: &'a UsageFilter,
    (from, to): (String, String),
) {
    q.push(" WHERE d.id >= ")
        .push_bind(format!("{from}:"))
        .push(" AND d.id < ")
        .push_bind(format!("{to};"))
        .push(" AND d.day >= ")
        .push_bind(from)
        .push(" AND d.day <= ")
        .push_bind(to);
    if let Some(user) = &filter.user_id {
        q.push(" AND d.user_id = ").push_bind(user.as_str());
    }
    if let Some(model) = &filter.model_id {
        q.push(" AND d.model_id = ").push_bind(model.as_str());
    }
    if let Some(ws) = &filter.workspace_id {
        q.push(" AND d.workspace_id = ").push_bind(ws.as_str());
    }
    if let Some(key) = &filter.key_id {
        q.push(" AND d.key_id = ").push_bind(key.as_str());
    }
    if let Some(group) = &filter.group_id {
        q.push(" AND d.user_id IN (SELECT user_id FROM group_members WHERE group_id = ")
            .push_bind(group.as_str())
            .push(")");
    }
}

/// Whether the chart sums the usage rows rather than the roll-ups (which keep no keys).
fn narrowed(filter: &UsageFilter) -> bool {
    filter.group_by == UsageGroupBy::Key
        || filter.key_id.is_some()
        || filter.user_id.is_some()
        || filter.group_id.is_some()
        || filter.model_id.is_some()
        || filter.workspace_id.is_some()
}

/// Orders keys by cost, most first, then by key.
fn by_cost(a: &(String, i64), b: &(String, i64)) -> std::cmp::Ordering {
    b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0))
}

impl Cache {
    /// Brings the usage roll-ups up to date for the days whose usage changed; returns how many
    /// days it rebuilt. A sync calls it at its end, so that no screen pays for a sync's usage.
    pub async fn refresh_usage_rollup(&self) -> CoreResult<u64> {
        // IMMEDIATE: a second caller waits here, then finds nothing left to do.
        let mut tx = self.pool().begin_with("BEGIN IMMEDIATE").await?;
        let days: Vec<String> = sqlx::query_scalar("SELECT day FROM usage_stale_days")
            .fetch_all(&mut *tx)
            .await?;
        if days.is_empty() {
            return Ok(0);
        }
        for day in &days {
            sqlx::query("DELETE FROM usage_rollup WHERE day = $1")
                .bind(day)
                .execute(&mut *tx)
                .await?;
            for (dim, column) in [
                ("model", "model_id"),
                ("workspace", "workspace_id"),
                ("all", "''"),
            ] {
                // The row id starts with the day: the primary key finds the day's rows.
                sqlx::query(&format!(
                    "INSERT INTO usage_rollup (dim, key, day, requests, input_tokens, output_tokens, cost_micros) \
                     SELECT '{dim}', {column}, $1, SUM(requests), SUM(input_tokens), SUM(output_tokens), \
                     SUM(cost_micros) FROM usage_daily \
                     WHERE id >= $1 || ':' AND id < $1 || ';' AND day = $1 GROUP BY {column}"
                ))
                .bind(day)
                .execute(&mut *tx)
                .await?;
            }
        }
        sqlx::query("DELETE FROM usage_key_totals")
            .execute(&mut *tx)
            .await?;
        // In the order of the users' index: one pass, no sort.
        sqlx::query(
            "INSERT INTO usage_key_totals (dim, key, cost_micros) \
             SELECT 'user', user_id, SUM(cost_micros) FROM usage_daily INDEXED BY usage_daily_user \
             GROUP BY user_id",
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO usage_key_totals (dim, key, cost_micros) \
             SELECT dim, key, SUM(cost_micros) FROM usage_rollup WHERE dim <> 'all' GROUP BY dim, key",
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM usage_stale_days")
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(days.len() as u64)
    }

    /// Usage by day over `filter`'s range, stacked by its `group_by`.
    pub async fn usage_chart(&self, filter: &UsageFilter) -> CoreResult<UsageChart> {
        let (from, to, top) = checked(filter)?;
        let (dim, column) = dim(filter.group_by);
        let (keys, day_totals) = if narrowed(filter) {
            self.top_from_rows(filter, column, (from, to), top).await?
        } else {
            self.top_from_rollup(dim, (&from, &to), top).await?
        };
        let labels = self.labels(filter.group_by, &keys).await?;

        let mut days = Vec::new();
        let mut series_totals = vec![Sums::default(); keys.len() + 1];
        let mut total = Sums::default();
        let mut day = filter.from;
        while day <= filter.to {
            let all = day_totals.get(&day).copied().unwrap_or_default();
            let mut values: Vec<Sums> = keys
                .iter()
                .map(|(_, by_day)| by_day.get(&day).copied().unwrap_or_default())
                .collect();
            let mut listed = Sums::default();
            values.iter().for_each(|v| listed.add(v));
            values.push(all.minus(&listed));
            for (sum, v) in series_totals.iter_mut().zip(&values) {
                sum.add(v);
            }
            total.add(&all);
            days.push((day, values, all));
            day += Duration::days(1);
        }
        let with_other = !series_totals[keys.len()].is_zero();
        let mut series: Vec<UsageSeries> = keys
            .iter()
            .zip(&series_totals)
            .map(|((key, _), sums)| UsageSeries {
                key: Some(key.clone()),
                label: labels.get(key).cloned().unwrap_or_else(|| key.clone()),
                total: sums.totals(),
            })
            .collect();
        if with_other {
            series.push(UsageSeries {
                key: None,
                label: "Other".into(),
                total: series_totals[keys.len()].totals(),
            });
        }
        let days = days
            .into_iter()
            .map(|(day, values, all)| UsageDay {
                day,
                values: values.iter().take(series.len()).map(Sums::totals).collect(),
                total: all.totals(),
            })
            .collect();
        Ok(UsageChart {
            series,
            days,
            total: total.totals(),
        })
    }

    /// The top keys of `dim` by cost over the range, with their days, and the org's day
    /// totals. A key's all-time cost bounds its cost in any range, so keys are tried by
    /// all-time cost until no other can reach the top (a threshold algorithm); when too many
    /// have to be tried, the range is summed instead.
    async fn top_from_rollup(
        &self,
        dim: &str,
        (from, to): (&str, &str),
        top: usize,
    ) -> CoreResult<(Vec<KeyDays>, HashMap<NaiveDate, Sums>)> {
        // A user's days come from the usage rows by the covering usage_daily_user index; the
        // other dimensions' (and the org's) from the roll-ups.
        const ROLLUP_DAYS: &str = "SELECT day, requests, input_tokens, output_tokens, cost_micros \
             FROM usage_rollup WHERE dim = $1 AND key = $2 AND day >= $3 AND day <= $4";
        const USER_DAYS: &str = "SELECT day, SUM(requests), SUM(input_tokens), SUM(output_tokens), \
             SUM(cost_micros) FROM usage_daily WHERE $1 = 'user' AND user_id = $2 AND day >= $3 \
             AND day <= $4 GROUP BY day";
        let days_of = |dim: &str| {
            if dim == "user" {
                USER_DAYS
            } else {
                ROLLUP_DAYS
            }
        };
        let read_days = |rows: Vec<SqliteRow>| -> HashMap<NaiveDate, Sums> {
            rows.iter()
                .map(|r| (day_of(r.get(0)), Sums::read(r, 1)))
                .collect()
        };
        let day_totals = read_days(
            sqlx::query(ROLLUP_DAYS)
                .bind("all")
                .bind("")
                .bind(from)
                .bind(to)
                .fetch_all(self.pool())
                .await?,
        );

        let mut best: Vec<(String, i64)> = Vec::new();
        let mut found: HashMap<String, HashMap<NaiveDate, Sums>> = HashMap::new();
        let mut tried = 0;
        'search: loop {
            let batch: Vec<(String, i64)> = sqlx::query_as(
                "SELECT key, cost_micros FROM usage_key_totals WHERE dim = $1 \
                 ORDER BY cost_micros DESC, key LIMIT 64 OFFSET $2",
            )
            .bind(dim)
            .bind(tried as i64)
            .fetch_all(self.pool())
            .await?;
            if batch.is_empty() {
                break;
            }
            for (key, bound) in batch {
                if best.len() >= top && bound < best[top - 1].1 {
                    break 'search;
                }
                tried += 1;
                if tried > THRESHOLD_KEYS {
                    let sql = if dim == "user" {
                        "SELECT user_id, SUM(cost_micros) AS cost FROM usage_daily \
                         WHERE $1 = 'user' AND day >= $2 AND day <= $3 GROUP BY user_id \
                         ORDER BY cost DESC, user_id LIMIT $4"
                    } else {
                        "SELECT key, SUM(cost_micros) AS cost FROM usage_rollup \
                         WHERE dim = $1 AND day >= $2 AND day <= $3 GROUP BY key \
                         ORDER BY cost DESC, key LIMIT $4"
                    };
                    best = sqlx::query_as(sql)
                        .bind(dim)
                        .bind(from)
                        .bind(to)
                        .bind(top as i64)
                        .fetch_all(self.pool())
                        .await?;
                    found.clear();
                    for (key, _) in &best {
                        let rows = sqlx::query(days_of(dim))
                            .bind(dim)
                            .bind(key)
                            .bind(from)
                            .bind(to)
                            .fetch_all(self.pool())
                            .await?;
                        found.insert(key.clone(), read_days(rows));
                    }
                    break 'search;
                }
                let rows = sqlx::query(days_of(dim))
                    .bind(dim)
                    .bind(&key)
                    .bind(from)
                    .bind(to)
                    .fetch_all(self.pool())
                    .await?;
                if rows.is_empty() {
                    continue;
                }
                let by_day = read_days(rows);
                let cost = by_day.values().map(|s| s.cost_micros).sum();
                best.push((key.clone(), cost));
                best.sort_by(by_cost);
                best.truncate(top);
                if best.iter().any(|(k, _)| *k == key) {
                    found.insert(key, by_day);
                }
            }
        }
        let keys = best
            .into_iter()
            .filter_map(|(key, _)| found.remove(&key).map(|d| (key, d)))
            .collect();
        Ok((keys, day_totals))
    }

    /// The top keys by cost and the day totals, summed from the usage rows `filter` selects.
    async fn top_from_rows(
        &self,
        filter: &UsageFilter,
        column: &str,
        range: (String, String),
        top: usize,
    ) -> CoreResult<(Vec<KeyDays>, HashMap<NaiveDate, Sums>)> {
        let mut q = QueryBuilder::<Sqlite>::new(format!(
            "SELECT d.day, d.{column}, SUM(d.requests), SUM(d.input_tokens), SUM(d.output_tokens), \
             SUM(d.cost_micros) FROM usage_daily d"
        ));
        usage_conditions(&mut q, filter, range);
        q.push(format!(" GROUP BY d.day, d.{column}"));
        let rows = q.build().fetch_all(self.pool()).await?;
        let mut day_totals: HashMap<NaiveDate, Sums> = HashMap::new();
        let mut by_key: HashMap<String, HashMap<NaiveDate, Sums>> = HashMap::new();
        for r in &rows {
            let day = day_of(r.get(0));
            let sums = Sums::read(r, 2);
            day_totals.entry(day).or_default().add(&sums);
            by_key
                .entry(r.get(1))
                .or_default()
                .entry(day)
                .or_default()
                .add(&sums);
        }
        let mut ranked: Vec<(String, i64)> = by_key
            .iter()
            .map(|(k, days)| (k.clone(), days.values().map(|s| s.cost_micros).sum()))
            .collect();
        ranked.sort_by(by_cost);
        ranked.truncate(top);
        let keys = ranked
            .into_iter()
            .filter_map(|(key, _)| by_key.remove(&key).map(|d| (key, d)))
            .collect();
        Ok((keys, day_totals))
    }

    /// What a chart calls each key: a user's name (or e-mail), a model's display name, a
    /// workspace's name.
    async fn labels<K: AsRef<str>>(
        &self,
        group_by: UsageGroupBy,
        keys: &[(K, HashMap<NaiveDate, Sums>)],
    ) -> CoreResult<HashMap<String, String>> {
        let ids: Vec<&str> = keys.iter().map(|(k, _)| k.as_ref()).collect();
        self.names_of(group_by, &ids).await
    }

    /// The names of users, models or workspaces by id.
    pub(crate) async fn names_of(
        &self,
        group_by: UsageGroupBy,
        ids: &[&str],
    ) -> CoreResult<HashMap<String, String>> {
        let sql = match group_by {
            UsageGroupBy::User => {
                "SELECT id, CASE WHEN name = '' THEN email ELSE name END FROM users \
                 WHERE id IN (SELECT value FROM json_each($1))"
            }
            UsageGroupBy::Model => {
                "SELECT id, data FROM models WHERE id IN (SELECT value FROM json_each($1))"
            }
            UsageGroupBy::Workspace => {
                "SELECT id, name FROM workspaces WHERE id IN (SELECT value FROM json_each($1))"
            }
            UsageGroupBy::Key => {
                "SELECT id, json_extract(data, '$.name') FROM api_keys                  WHERE id IN (SELECT value FROM json_each($1))"
            }
        };
        let rows: Vec<(String, String)> = sqlx::query_as(sql)
            .bind(id_list(ids))
            .fetch_all(self.pool())
            .await?;
        let mut names = HashMap::new();
        for (id, name) in rows {
            let name = if group_by == UsageGroupBy::Model {
                parse::<gatehouse_api::Model>("model", &name)?.display_name
            } else {
                name
            };
            names.insert(id, name);
        }
        if group_by == UsageGroupBy::Workspace && ids.contains(&"") {
            names.insert(String::new(), "No workspace".into());
        }
        if group_by == UsageGroupBy::Key && ids.contains(&"") {
            names.insert(String::new(), "No key recorded".into());
        }
        Ok(names)
    }
}
