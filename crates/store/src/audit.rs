//! The audit log and tombstones: what every change writes beside the row it changes, in the same
//! transaction.

use gatehouse_api::{AuditEntry, AuditQuery, SyncChange, SyncKind};
use serde_json::Value;
use sqlx::FromRow;

use crate::db::{self, Tx, next_revision};
use crate::sql::SqlText;

/// Records that `actor` did `action` to `target_kind`/`target_id`; `summary` holds `before`
/// and `after` where they apply. Never put a secret in it.
pub async fn record(
    tx: &mut Tx,
    actor: Option<&str>,
    action: &str,
    target_kind: &str,
    target_id: &str,
    summary: Value,
) -> Result<(), sqlx::Error> {
    let revision = next_revision(tx).await?;
    sqlx::query(
        "INSERT INTO audit (id, at, actor_id, action, target_kind, target_id, summary, revision) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(crate::new_id("aud"))
    .bind(db::now())
    .bind(actor.map(str::to_owned))
    .bind(action)
    .bind(target_kind)
    .bind(target_id)
    .bind(summary.to_string())
    .bind(revision)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Marks `kind`/`id` deleted for the change feed.
pub async fn tombstone(tx: &mut Tx, kind: SyncKind, id: &str) -> Result<(), sqlx::Error> {
    let revision = next_revision(tx).await?;
    let kind = serde_json::to_value(kind).expect("kinds serialize");
    sqlx::query(
        "INSERT INTO tombstones (kind, id, revision) VALUES ($1, $2, $3) \
         ON CONFLICT (kind, id) DO UPDATE SET revision = excluded.revision",
    )
    .bind(kind.as_str().unwrap_or_default().to_owned())
    .bind(id)
    .bind(revision)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[derive(Debug, FromRow)]
pub struct AuditRow {
    pub id: String,
    pub at: String,
    pub actor_id: Option<String>,
    pub action: String,
    pub target_kind: String,
    pub target_id: String,
    pub summary: String,
    pub revision: i64,
}

impl AuditRow {
    pub fn into_api(self) -> AuditEntry {
        AuditEntry {
            at: db::parse_timestamp(&self.at),
            summary: serde_json::from_str(&self.summary).unwrap_or(Value::Null),
            id: self.id,
            actor_id: self.actor_id,
            action: self.action,
            target_kind: self.target_kind,
            target_id: self.target_id,
            revision: self.revision,
        }
    }
}

pub const AUDIT_COLUMNS: &str =
    "id, at, actor_id, action, target_kind, target_id, summary, revision";

pub async fn changed_since(
    tx: &mut Tx,
    since: i64,
    fetch: i64,
) -> Result<Vec<SyncChange>, sqlx::Error> {
    let rows: Vec<AuditRow> = crate::feed::rows_since(
        tx,
        &format!("SELECT {AUDIT_COLUMNS} FROM audit"),
        "revision",
        since,
        fetch,
    )
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let entry = r.into_api();
            SyncChange::upsert(SyncKind::Audit, entry.id.clone(), entry.revision, &entry)
        })
        .collect())
}

/// One page of the audit log, newest first: the entries matching `query`'s filters older than
/// `before` (a revision), at most `fetch`.
pub async fn page(
    pool: &sqlx::AnyPool,
    query: &AuditQuery,
    before: Option<i64>,
    fetch: i64,
) -> Result<Vec<AuditRow>, sqlx::Error> {
    let mut q = SqlText::new(&format!("SELECT {AUDIT_COLUMNS} FROM audit WHERE 1 = 1"));
    if let Some(v) = &query.actor_id {
        q.push(" AND actor_id = ").bind(v.clone());
    }
    if let Some(v) = &query.target_id {
        q.push(" AND target_id = ").bind(v.clone());
    }
    if let Some(v) = &query.action {
        q.push(" AND action = ").bind(v.clone());
    }
    if let Some(v) = query.from {
        q.push(" AND at >= ").bind(db::timestamp(v));
    }
    if let Some(v) = query.to {
        q.push(" AND at <= ").bind(db::timestamp(v));
    }
    if let Some(revision) = before {
        q.push(" AND revision < ").bind(revision);
    }
    q.push(" ORDER BY revision DESC LIMIT ").bind(fetch);
    sqlx::query_as_with(&q.sql, q.args).fetch_all(pool).await
}
