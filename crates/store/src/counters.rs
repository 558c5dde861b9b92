//! What the data plane's nodes share on PostgreSQL: each node's admission counters, one row per
//! node (the counts are the data plane's, stored as it writes them), read back by the others at
//! every reconciliation together with `policy_epoch` and the committed spend of the budgets in use.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use gatehouse_api::SubjectKind;
use sqlx::Row;

use crate::db::Db;
use crate::spend::push_period_spend;
use crate::sql::SqlText;

/// A subject whose spend in the budget periods of `at` a node wants.
#[derive(Debug, Clone)]
pub struct SpendRead {
    pub kind: SubjectKind,
    pub id: String,
    pub at: DateTime<Utc>,
    pub tz: Tz,
}

/// What one reconciliation read.
#[derive(Debug, Default)]
pub struct Exchange {
    pub epoch: i64,
    /// The counts of each other node that reconciled within the expiry.
    pub others: Vec<String>,
    /// What each [`SpendRead`] had spent, in order.
    pub spent: Vec<[i64; 3]>,
}

/// The current `policy_epoch`, which every change to what the data plane caches moves.
pub async fn read_epoch(db: &Db) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT value FROM policy_epoch WHERE id = 1")
        .fetch_one(&db.pool)
        .await
}

/// Writes `node`'s `counts` as of `now`, and reads in the same statement (one round trip) the
/// counts of the other nodes that wrote theirs less than `expiry` ago, `policy_epoch` and the
/// spend of `reads`. Rows of nodes gone for ten expiries are deleted on the way. PostgreSQL only
/// (a statement that writes in its `WITH`).
pub async fn exchange(
    db: &Db,
    node: &str,
    counts: &str,
    now: DateTime<Utc>,
    expiry: chrono::Duration,
    reads: &[&SpendRead],
) -> Result<Exchange, sqlx::Error> {
    let now_ms = now.timestamp_millis();
    let fresh = now_ms.saturating_sub(expiry.num_milliseconds());
    let gone = now_ms.saturating_sub(expiry.num_milliseconds().saturating_mul(10));
    let mut q =
        SqlText::new("WITH mine AS (INSERT INTO node_counters (node, counts, updated_ms) VALUES (");
    q.bind(node.to_owned()).push(", ");
    q.bind(counts.to_owned()).push(", ");
    q.bind(now_ms).push(
        ") ON CONFLICT (node) DO UPDATE SET counts = excluded.counts, \
         updated_ms = excluded.updated_ms RETURNING node), \
         gone AS (DELETE FROM node_counters WHERE updated_ms < ",
    );
    q.bind(gone).push(
        " RETURNING node) \
         SELECT 'e', '', (SELECT value FROM policy_epoch WHERE id = 1), \
         CAST(0 AS BIGINT), CAST(0 AS BIGINT), CAST(0 AS BIGINT) \
         UNION ALL SELECT 'n', counts, CAST(0 AS BIGINT), CAST(0 AS BIGINT), CAST(0 AS BIGINT), \
         CAST(0 AS BIGINT) FROM node_counters WHERE node <> ",
    );
    q.bind(node.to_owned())
        .push(" AND updated_ms > ")
        .bind(fresh);
    for (i, r) in reads.iter().enumerate() {
        q.push(" UNION ALL SELECT 's', ")
            .bind(i.to_string())
            .push(", CAST(0 AS BIGINT)");
        push_period_spend(&mut q, r.kind, &r.id, r.at, r.tz);
    }
    let rows = sqlx::query_with(&q.sql, q.args).fetch_all(&db.pool).await?;
    let mut out = Exchange {
        spent: vec![[0; 3]; reads.len()],
        ..Exchange::default()
    };
    for row in rows {
        let tag: String = row.try_get(0)?;
        match tag.as_str() {
            "e" => out.epoch = row.try_get(2)?,
            "n" => out.others.push(row.try_get(1)?),
            _ => {
                let i: String = row.try_get(1)?;
                if let Some(spent) = i.parse().ok().and_then(|i: usize| out.spent.get_mut(i)) {
                    *spent = [row.try_get(3)?, row.try_get(4)?, row.try_get(5)?];
                }
            }
        }
    }
    Ok(out)
}
