//! The audit log, filtered, newest first, paged.

use std::collections::{BTreeMap, BTreeSet};

use gatehouse_api::AuditEntry;
use sqlx::{QueryBuilder, Sqlite};

use super::{id_list, page, parse, stamp};
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
    if let Some(category) = &filter.category {
        q.push(" AND substr(action, 1, ")
            .push_bind(category.len() as i64 + 1)
            .push(") = ")
            .push_bind(format!("{category}."));
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
            names: self.audit_names(&rows).await?,
            rows,
        })
    }

    /// The categories of the actions in the cache (`user` of `user.suspend`), in order: what
    /// the audit log can be narrowed to.
    pub async fn audit_categories(&self) -> CoreResult<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT DISTINCT substr(action, 1, instr(action, '.') - 1) FROM audit \
             WHERE instr(action, '.') > 1 ORDER BY 1",
        )
        .fetch_all(self.pool())
        .await?)
    }

    /// What the actors and targets of `entries` are called, by id: people, workspaces and
    /// groups by name, invitations by e-mail. A target like `user:<id>` (a user's budget) or
    /// `group:<id>:<model>` (a group's grant) is named by its subject.
    pub(crate) async fn audit_names(
        &self,
        entries: &[AuditEntry],
    ) -> CoreResult<BTreeMap<String, String>> {
        let mut ids = BTreeSet::new();
        for e in entries {
            ids.extend(e.actor_id.as_deref());
            ids.insert(subject_of(&e.target_id));
        }
        let ids: Vec<&str> = ids.into_iter().collect();
        let names: Vec<(String, String)> = sqlx::query_as(
            "SELECT u.id, u.name FROM json_each($1) j JOIN users u ON u.id = j.value \
             UNION ALL SELECT w.id, w.name FROM json_each($1) j JOIN workspaces w ON w.id = j.value \
             UNION ALL SELECT g.id, g.name FROM json_each($1) j JOIN groups g ON g.id = j.value \
             UNION ALL SELECT i.id, i.email FROM json_each($1) j JOIN invitations i ON i.id = j.value",
        )
        .bind(id_list(&ids))
        .fetch_all(self.pool())
        .await?;
        Ok(names.into_iter().collect())
    }
}

/// The id an audit target is about: `user:<id>` and `group:<id>:…` name their subject.
pub(crate) fn subject_of(target_id: &str) -> &str {
    ["user:", "group:"]
        .iter()
        .find_map(|kind| target_id.strip_prefix(kind))
        .map_or(target_id, |rest| rest.split(':').next().unwrap_or(rest))
}
