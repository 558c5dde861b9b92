//! The usage roll-ups (migration 0003), kept exact batch by batch: a batch's usage rows are
//! summed in memory per model, workspace and org day and per user, model and workspace total,
//! the amounts of the rows it replaces or deletes are taken out, and the sums go to SQLite as a
//! few multi-row upserts in the batch's transaction. Per-row triggers did the same at several
//! times the cost of the rows themselves.

use std::collections::HashMap;

use gatehouse_api::{SyncChange, SyncKind};
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use super::apply::UsageWire;
use super::decode;
use crate::error::CoreResult;

/// Requests, input tokens, output tokens, micro-dollars.
type Amounts = [i64; 4];

/// One usage row's keys and amounts.
#[derive(sqlx::FromRow)]
struct UsageRow {
    day: String,
    user_id: String,
    model_id: String,
    workspace_id: String,
    requests: i64,
    input_tokens: i64,
    output_tokens: i64,
    cost_micros: i64,
}

impl UsageRow {
    fn amounts(&self) -> Amounts {
        [
            self.requests,
            self.input_tokens,
            self.output_tokens,
            self.cost_micros,
        ]
    }
}

/// What one batch changes in the roll-ups.
#[derive(Default)]
pub(super) struct RollupDelta {
    by_day: HashMap<(&'static str, String, String), Amounts>,
    totals: HashMap<(&'static str, String), i64>,
}

impl RollupDelta {
    fn add(&mut self, row: &UsageRow, sign: i64) {
        for (dim, key) in [
            ("model", &row.model_id),
            ("workspace", &row.workspace_id),
            ("all", &String::new()),
        ] {
            let sums = self
                .by_day
                .entry((dim, key.clone(), row.day.clone()))
                .or_default();
            for (sum, v) in sums.iter_mut().zip(row.amounts()) {
                *sum += sign * v;
            }
        }
        for (dim, key) in [
            ("user", &row.user_id),
            ("model", &row.model_id),
            ("workspace", &row.workspace_id),
        ] {
            *self.totals.entry((dim, key.clone())).or_default() += sign * row.cost_micros;
        }
    }

    /// The delta of `changes` (one batch), read before the batch is applied: the rows it will
    /// replace or delete count negative, the rows it brings positive.
    pub(super) async fn of_batch(
        conn: &mut SqliteConnection,
        changes: &[&SyncChange],
    ) -> CoreResult<Self> {
        let mut delta = Self::default();
        let usage: Vec<&&SyncChange> = changes
            .iter()
            .filter(|c| c.kind == SyncKind::UsageDaily)
            .collect();
        if usage.is_empty() {
            return Ok(delta);
        }
        let ids: Vec<&str> = usage.iter().map(|c| c.id.as_str()).collect();
        let before: Vec<UsageRow> = sqlx::query_as(
            "SELECT d.day, d.user_id, d.model_id, d.workspace_id, d.requests, d.input_tokens, \
             d.output_tokens, d.cost_micros FROM json_each($1) j CROSS JOIN usage_daily d \
             ON d.id = j.value",
        )
        .bind(crate::queries::id_list(&ids))
        .fetch_all(&mut *conn)
        .await?;
        for row in &before {
            delta.add(row, -1);
        }
        for change in usage.iter().filter(|c| !c.deleted) {
            let u: UsageWire = decode(change)?;
            let cost = u.cost_micros();
            let row = UsageRow {
                day: u.day.into_owned(),
                user_id: u.user_id.into_owned(),
                model_id: u.model_id.into_owned(),
                workspace_id: u.workspace_id.into_owned(),
                requests: u.requests,
                input_tokens: u.input_tokens,
                output_tokens: u.output_tokens,
                cost_micros: cost,
            };
            delta.add(&row, 1);
        }
        Ok(delta)
    }

    /// Adds the delta to the roll-ups.
    pub(super) async fn write(self, conn: &mut SqliteConnection) -> CoreResult<()> {
        let by_day: Vec<_> = self.by_day.into_iter().collect();
        for chunk in by_day.chunks(CHUNK) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO usage_rollup (dim, key, day, requests, input_tokens, output_tokens, \
                 cost_micros) ",
            );
            q.push_values(chunk, |mut b, ((dim, key, day), [r, i, o, c])| {
                b.push_bind(*dim)
                    .push_bind(key.as_str())
                    .push_bind(day.as_str())
                    .push_bind(*r)
                    .push_bind(*i)
                    .push_bind(*o)
                    .push_bind(*c);
            });
            q.push(
                " ON CONFLICT (dim, key, day) DO UPDATE SET requests = requests + excluded.requests, \
                 input_tokens = input_tokens + excluded.input_tokens, \
                 output_tokens = output_tokens + excluded.output_tokens, \
                 cost_micros = cost_micros + excluded.cost_micros",
            );
            q.build().execute(&mut *conn).await?;
        }
        let totals: Vec<_> = self.totals.into_iter().collect();
        for chunk in totals.chunks(CHUNK) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO usage_key_totals (dim, key, cost_micros) ",
            );
            q.push_values(chunk, |mut b, ((dim, key), cost)| {
                b.push_bind(*dim).push_bind(key.as_str()).push_bind(*cost);
            });
            q.push(
                " ON CONFLICT (dim, key) DO UPDATE SET cost_micros = cost_micros + excluded.cost_micros",
            );
            q.build().execute(&mut *conn).await?;
        }
        Ok(())
    }
}

/// Rows per upsert: 7 values each, well under SQLite's 32,766 parameters.
const CHUNK: usize = 1000;
