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
    let (id, at) = (crate::new_id("aud"), db::now());
    sqlx::query(
        "INSERT INTO audit (id, at, actor_id, action, target_kind, target_id, summary, revision) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&id)
    .bind(&at)
    .bind(actor.map(str::to_owned))
    .bind(action)
    .bind(target_kind)
    .bind(target_id)
    .bind(summary.to_string())
    .bind(revision)
    .execute(&mut **tx)
    .await?;
    // The entries that are events (and every entry, for audit streaming) reach the channels.
    let entry = AuditEntry {
        id,
        at: db::parse_timestamp(&at),
        actor_id: actor.map(str::to_owned),
        action: action.to_owned(),
        target_kind: target_kind.to_owned(),
        target_id: target_id.to_owned(),
        summary,
        revision,
    };
    crate::webhooks::on_audit(tx, &entry).await
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
    let mut q = filtered(query);
    if let Some(revision) = before {
        q.push(" AND revision < ").bind(revision);
    }
    q.push(" ORDER BY revision DESC LIMIT ").bind(fetch);
    sqlx::query_as_with(&q.sql, q.args).fetch_all(pool).await
}

/// The entries matching the export's filters (the list's), newest first, as a stream: the
/// export does not hold them all.
pub fn stream(
    pool: sqlx::AnyPool,
    query: &gatehouse_api::AuditExportQuery,
) -> futures_util::stream::BoxStream<'static, Result<AuditRow, sqlx::Error>> {
    let mut q = filtered(&AuditQuery {
        actor_id: query.actor_id.clone(),
        target_id: query.target_id.clone(),
        action: query.action.clone(),
        category: query.category.clone(),
        from: query.from,
        to: query.to,
        limit: None,
        cursor: None,
    });
    q.push(" ORDER BY revision DESC");
    Box::pin(async_stream::try_stream! {
        let SqlText { sql, args, .. } = q;
        let mut rows = sqlx::query_as_with::<_, AuditRow, _>(&sql, args).fetch(&pool);
        while let Some(row) = futures_util::StreamExt::next(&mut rows).await {
            yield row?;
        }
    })
}

/// The audit list's filters, one implementation for the list and the export.
fn filtered(query: &AuditQuery) -> SqlText {
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
    if let Some(v) = &query.category {
        q.push(" AND SUBSTR(action, 1, ")
            .bind(v.len() as i32 + 1)
            .push(") = ")
            .bind(format!("{v}."));
    }
    if let Some(v) = query.from {
        q.push(" AND at >= ").bind(db::timestamp(v));
    }
    if let Some(v) = query.to {
        q.push(" AND at <= ").bind(db::timestamp(v));
    }
    q
}
