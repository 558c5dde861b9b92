//! The audit log, filtered, newest first, paged.

use sqlx::{QueryBuilder, Sqlite};

use super::{page, parse, stamp};
use crate::cache::Cache;
use crate::error::{CoreError, CoreResult};
use crate::ipc::{AuditFilter, AuditRows};

fn conditions<'a>(q: &mut QueryBuilder<'a, Sqlite>, filter: &'a AuditFilter) {
    q.push(" WHERE 1 = 1");
    if let Some(actor) = &filter.actor_id {
        q.push(" AND actor_id = ").push_bind(actor.as_str());
    }
    if let Some(target) = &filter.target_id {
        q.push(" AND target_id = ").push_bind(target.as_str());
    }
    if let Some(action) = &filter.action {
        q.push(" AND action = ").push_bind(action.as_str());
    }
    if let Some(from) = filter.from {
        q.push(" AND at >= ").push_bind(stamp(from));
    }
    if let Some(to) = filter.to {
        q.push(" AND at < ").push_bind(stamp(to));
    }
}

impl Cache {
    /// Audit entries matching `filter`, newest first, with the total count.
    pub async fn audit(&self, filter: &AuditFilter) -> CoreResult<AuditRows> {
        let (limit, offset) = page(filter.limit, filter.offset)?;
        if let (Some(from), Some(to)) = (filter.from, filter.to)
            && to < from
        {
            return Err(CoreError::Invalid(format!(
                "the range ends ({to}) before it starts ({from})"
            )));
        }
        let mut count = QueryBuilder::<Sqlite>::new("SELECT COUNT(*) FROM audit");
        conditions(&mut count, filter);
        let total: i64 = count.build_query_scalar().fetch_one(self.pool()).await?;
        let mut q = QueryBuilder::<Sqlite>::new("SELECT data FROM audit");
        conditions(&mut q, filter);
        q.push(" ORDER BY at DESC, id DESC LIMIT ").push_bind(limit);
        q.push(" OFFSET ").push_bind(offset);
        let rows = q
            .build_query_scalar::<String>()
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(|d| parse("audit entry", d))
            .collect::<CoreResult<Vec<_>>>()?;
        Ok(AuditRows {
            total: total as u64,
            rows,
        })
    }
}
