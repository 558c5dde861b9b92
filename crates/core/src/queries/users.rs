//! The users table: substring search, filters, sort and paging on the in-memory user index,
//! then the page's month-to-date spend, computed for the page's rows only.

use std::collections::HashMap;

use chrono::Utc;

use super::user_index::{Scope, UserIndex};
use super::{id_list, page};
use crate::cache::Cache;
use crate::error::CoreResult;
use crate::ipc::{UserFilter, UserRow, UserRows, UserSort};

impl Cache {
    /// The users matching `filter`, sorted and paged, with the total count. The search and the
    /// rows come from the in-memory user index; the month-to-date spend from the cache.
    pub async fn users(&self, filter: &UserFilter) -> CoreResult<UserRows> {
        let (limit, offset) = page(filter.limit, filter.offset)?;
        let started = std::time::Instant::now();
        let index = match self.built_user_index() {
            Some(index) => index,
            None if by_name_alone(filter) => {
                let first = self.users_by_name(filter, limit, offset).await;
                // After the page, not beside it: the build takes both CPUs for a second.
                self.warm_user_index();
                return first;
            }
            None => self.user_index().await?,
        };
        let (total, page) = index.search(filter, limit as usize, offset as usize);
        let searched = started.elapsed();
        let rows = self.user_rows_at(&index, &page).await?;
        tracing::debug!(
            total,
            rows = rows.len(),
            search_us = searched.as_micros() as u64,
            rows_us = (started.elapsed() - searched).as_micros() as u64,
            "users"
        );
        Ok(UserRows { total, rows })
    }

    /// A page of all users by name, read with SQL's index on names rather than the in-memory
    /// index: what the console shows first, while that index is still being built from every
    /// user (a second over 100,000 encrypted ones). The same rows in the same order: the page's
    /// users go through an index of their own.
    async fn users_by_name(
        &self,
        filter: &UserFilter,
        limit: i64,
        offset: i64,
    ) -> CoreResult<UserRows> {
        let dir = if filter.descending { "DESC" } else { "ASC" };
        let ids: Vec<String> = sqlx::query_scalar(&format!(
            "SELECT id FROM users ORDER BY name COLLATE NOCASE {dir}, id {dir} LIMIT $1 OFFSET $2"
        ))
        .bind(limit)
        .bind(offset)
        .fetch_all(self.pool())
        .await?;
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(self.pool())
            .await?;
        let index = UserIndex::build(self.pool(), Scope::Ids(&id_list(&ids))).await?;
        let rows = self.user_rows_at(&index, &index.positions(&ids)).await?;
        Ok(UserRows {
            total: total as u64,
            rows,
        })
    }

    /// Every row of `filter` in its order, for an export.
    pub(crate) async fn all_user_rows(&self, filter: &UserFilter) -> CoreResult<Vec<UserRow>> {
        let index = self.user_index().await?;
        let (_, page) = index.search(filter, usize::MAX, 0);
        self.user_rows_at(&index, &page).await
    }

    /// What the table shows of the users at `page` of `index`, in that order.
    async fn user_rows_at(&self, index: &UserIndex, page: &[u32]) -> CoreResult<Vec<UserRow>> {
        let names = |table: &'static str| async move {
            let pairs: Vec<(String, String)> =
                sqlx::query_as(&format!("SELECT id, name FROM {table}"))
                    .fetch_all(self.pool())
                    .await?;
            CoreResult::Ok(pairs.into_iter().collect::<HashMap<_, _>>())
        };
        let (workspaces, groups) = (names("workspaces").await?, names("groups").await?);
        let month = self.today(Utc::now()).await?.format("%Y-%m").to_string();
        let mut spend = HashMap::new();
        for chunk in page.chunks(500) {
            let ids: Vec<&str> = chunk.iter().map(|&i| index.id(i)).collect();
            // The month's rows of the per-user monthly sums (migration 0006), which stay cached.
            let sums: Vec<(String, i64)> = sqlx::query_as(
                "SELECT j.value, COALESCE((SELECT m.cost_micros FROM usage_user_month m \
                 WHERE m.month = $2 AND m.user_id = j.value), 0) FROM json_each($1) j",
            )
            .bind(id_list(&ids))
            .bind(&month)
            .fetch_all(self.pool())
            .await?;
            spend.extend(sums);
        }
        Ok(index.rows(page, &workspaces, &groups, &spend))
    }
}

/// Whether `filter` asks for every user by name (the console's first view): what SQL's index on
/// names answers without the in-memory index.
fn by_name_alone(filter: &UserFilter) -> bool {
    filter.query.trim().is_empty()
        && filter.role.is_none()
        && filter.status.is_none()
        && filter.workspace_id.is_none()
        && filter.group_id.is_none()
        && filter.sort == UserSort::Name
}
