//! The users table: substring search, filters, sort and paging, then the page's workspaces,
//! groups and month-to-date spend, computed for the page's rows only.

use std::collections::HashMap;

use chrono::Utc;
use gatehouse_api::{Role, UserStatus};
use sqlx::Row;

use super::{id_list, month_of, page, parse_time, usd};
use crate::cache::Cache;
use crate::error::CoreResult;
use crate::ipc::{UserFilter, UserRow, UserRows};

/// Splits a `char(31)`-joined list of names into a sorted vector.
fn names(joined: Option<String>) -> Vec<String> {
    let mut names: Vec<String> = joined
        .map(|w| w.split('\u{1f}').map(str::to_owned).collect())
        .unwrap_or_default();
    names.sort();
    names
}

impl Cache {
    /// The users matching `filter`, sorted and paged, with the total count. The search runs on
    /// the in-memory user index; the page's rows are read from the cache.
    pub async fn users(&self, filter: &UserFilter) -> CoreResult<UserRows> {
        let (limit, offset) = page(filter.limit, filter.offset)?;
        let started = std::time::Instant::now();
        let index = self.user_index().await?;
        let (total, ids) = index.search(filter, limit as usize, offset as usize);
        let searched = started.elapsed();
        let rows = self.user_rows_of(&ids).await?;
        tracing::debug!(
            total,
            rows = rows.len(),
            search_us = searched.as_micros() as u64,
            rows_us = (started.elapsed() - searched).as_micros() as u64,
            "users"
        );
        Ok(UserRows { total, rows })
    }

    /// Every row of `filter` in its order, for an export.
    pub(crate) async fn all_user_rows(&self, filter: &UserFilter) -> CoreResult<Vec<UserRow>> {
        let (_, ids) = self.user_index().await?.search(filter, usize::MAX, 0);
        self.user_rows_of(&ids).await
    }

    /// What the table shows of `ids`, in their order, read for those rows only.
    async fn user_rows_of(&self, ids: &[String]) -> CoreResult<Vec<UserRow>> {
        let mut rows = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            let mut by_id = self.user_rows_by_id(chunk).await?;
            rows.extend(chunk.iter().filter_map(|id| by_id.remove(id)));
        }
        Ok(rows)
    }

    async fn user_rows_by_id(&self, ids: &[String]) -> CoreResult<HashMap<String, UserRow>> {
        let (first, next) = month_of(self.today(Utc::now()).await?);
        let rows = sqlx::query(
            "SELECT u.id, u.email, u.name, u.role, u.status, u.created_at, u.last_active_at, \
             COALESCE(json_extract(u.data, '$.scim_managed'), 0) AS scim_managed, \
             (SELECT group_concat(w.name, char(31)) FROM memberships m JOIN workspaces w ON w.id = m.workspace_id \
              WHERE m.user_id = u.id) AS workspaces, \
             (SELECT group_concat(g.name, char(31)) FROM group_members gm JOIN groups g ON g.id = gm.group_id \
              WHERE gm.user_id = u.id) AS groups, \
             (SELECT COALESCE(SUM(d.cost_micros), 0) FROM usage_daily d \
              WHERE d.user_id = u.id AND d.day >= $2 AND d.day < $3) AS spend \
             FROM json_each($1) j CROSS JOIN users u ON u.id = j.value",
        )
        .bind(id_list(ids))
        .bind(first.to_string())
        .bind(next.to_string())
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let last_active: Option<String> = r.get("last_active_at");
                let row = UserRow {
                    id: r.get("id"),
                    email: r.get("email"),
                    name: r.get("name"),
                    role: Role::parse(r.get("role")).unwrap_or(Role::Member),
                    status: UserStatus::parse(r.get("status")).unwrap_or(UserStatus::Suspended),
                    workspaces: names(r.get("workspaces")),
                    groups: names(r.get("groups")),
                    created_at: parse_time(r.get("created_at")),
                    last_active_at: last_active.as_deref().map(parse_time),
                    spend_mtd_usd: usd(r.get("spend")),
                    scim_managed: r.get::<i64, _>("scim_managed") != 0,
                };
                (row.id.clone(), row)
            })
            .collect())
    }
}
