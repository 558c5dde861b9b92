//! The users table: substring search, filters, sort and paging, then the page's workspaces,
//! groups and month-to-date spend, computed for the page's rows only.

use std::collections::HashMap;

use chrono::Utc;
use gatehouse_api::{Role, UserStatus};
use sqlx::{QueryBuilder, Row, Sqlite};

use super::{id_list, month_of, page, parse_time, usd};
use crate::cache::Cache;
use crate::error::CoreResult;
use crate::ipc::{UserFilter, UserRow, UserRows, UserSort};

/// Splits a `char(31)`-joined list of names into a sorted vector.
fn names(joined: Option<String>) -> Vec<String> {
    let mut names: Vec<String> = joined
        .map(|w| w.split('\u{1f}').map(str::to_owned).collect())
        .unwrap_or_default();
    names.sort();
    names
}

/// `LIKE` pattern of a plain substring: its wildcards and the escape character escaped.
fn like_pattern(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// Appends the `WHERE` clause of `filter`.
fn conditions<'a>(q: &mut QueryBuilder<'a, Sqlite>, filter: &'a UserFilter) {
    q.push(" WHERE 1 = 1");
    let text = filter.query.trim();
    if !text.is_empty() {
        // search_text is lower-cased; LIKE scans the users_by_name index, never the rows.
        q.push(" AND u.search_text LIKE ")
            .push_bind(like_pattern(&text.to_lowercase()))
            .push(" ESCAPE '\\'");
    }
    if let Some(role) = filter.role {
        q.push(" AND u.role = ").push_bind(role.as_str());
    }
    if let Some(status) = filter.status {
        q.push(" AND u.status = ").push_bind(status.as_str());
    }
    if let Some(ws) = &filter.workspace_id {
        q.push(" AND u.id IN (SELECT user_id FROM memberships WHERE workspace_id = ")
            .push_bind(ws.as_str())
            .push(")");
    }
    if let Some(group) = &filter.group_id {
        q.push(" AND u.id IN (SELECT user_id FROM group_members WHERE group_id = ")
            .push_bind(group.as_str())
            .push(")");
    }
}

/// How many matches a search fetches at once: when fewer match, that one scan of the index
/// gives both the page and the count.
const PROBE: i64 = 2000;

/// The `FROM` of a search. A substring (or a workspace or group) is tested on the users_by_name
/// index, which holds what the filters need, so a search scans that index once and never the
/// rows with their JSON; SQLite would otherwise prefer the role index and read every row.
fn from(filter: &UserFilter) -> &'static str {
    if !filter.query.trim().is_empty() || filter.workspace_id.is_some() || filter.group_id.is_some()
    {
        " FROM users u INDEXED BY users_by_name"
    } else {
        " FROM users u"
    }
}

impl Cache {
    /// The users matching `filter`, sorted and paged, with the total count.
    pub async fn users(&self, filter: &UserFilter) -> CoreResult<UserRows> {
        let (limit, offset) = page(filter.limit, filter.offset)?;
        // One scan: the first PROBE matches in order. Fewer? Then they are all of them.
        let probe = self.user_ids(filter, Some((PROBE, 0))).await?;
        let (total, ids) = if (probe.len() as i64) < PROBE {
            let ids = probe.iter().skip(offset as usize).take(limit as usize);
            (probe.len() as i64, ids.cloned().collect())
        } else {
            let mut count = QueryBuilder::<Sqlite>::new(format!("SELECT COUNT(*){}", from(filter)));
            conditions(&mut count, filter);
            let total: i64 = count.build_query_scalar().fetch_one(self.pool()).await?;
            let ids = if offset + limit <= PROBE {
                probe
                    .iter()
                    .skip(offset as usize)
                    .take(limit as usize)
                    .cloned()
                    .collect()
            } else {
                self.user_ids(filter, Some((limit, offset))).await?
            };
            (total, ids)
        };
        Ok(UserRows {
            total: total as u64,
            rows: self.user_rows_of(&ids).await?,
        })
    }

    /// The rows of `filter` in its order: a page, or all of them (for an export).
    pub(crate) async fn user_rows(
        &self,
        filter: &UserFilter,
        page: Option<(i64, i64)>,
    ) -> CoreResult<Vec<UserRow>> {
        let ids = self.user_ids(filter, page).await?;
        self.user_rows_of(&ids).await
    }

    /// The ids of `filter`'s users in its order, from the indexes alone.
    async fn user_ids(
        &self,
        filter: &UserFilter,
        page: Option<(i64, i64)>,
    ) -> CoreResult<Vec<String>> {
        let mut q = QueryBuilder::<Sqlite>::new(format!("SELECT u.id{}", from(filter)));
        conditions(&mut q, filter);
        let column = match filter.sort {
            UserSort::Name => "u.name COLLATE NOCASE",
            UserSort::Email => "u.email",
            UserSort::Role => "u.role",
            UserSort::Status => "u.status",
            UserSort::CreatedAt => "u.created_at",
            UserSort::LastActiveAt => "u.last_active_at",
        };
        let direction = if filter.descending { "DESC" } else { "ASC" };
        q.push(format!(" ORDER BY {column} {direction}, u.id {direction}"));
        if let Some((limit, offset)) = page {
            q.push(" LIMIT ").push_bind(limit);
            q.push(" OFFSET ").push_bind(offset);
        }
        Ok(q.build_query_scalar().fetch_all(self.pool()).await?)
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
        self.refresh_usage_rollup().await?;
        let (first, next) = month_of(self.today(Utc::now()).await?);
        let rows = sqlx::query(
            "SELECT u.id, u.email, u.name, u.role, u.status, u.created_at, u.last_active_at, \
             (SELECT group_concat(w.name, char(31)) FROM memberships m JOIN workspaces w ON w.id = m.workspace_id \
              WHERE m.user_id = u.id) AS workspaces, \
             (SELECT group_concat(g.name, char(31)) FROM group_members gm JOIN groups g ON g.id = gm.group_id \
              WHERE gm.user_id = u.id) AS groups, \
             (SELECT COALESCE(SUM(r.cost_micros), 0) FROM usage_rollup r \
              WHERE r.dim = 'user' AND r.key = u.id AND r.day >= $2 AND r.day < $3) AS spend \
             FROM users u WHERE u.id IN (SELECT value FROM json_each($1))",
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
                };
                (row.id.clone(), row)
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::like_pattern;

    #[test]
    fn like_wildcards_are_plain_characters() {
        assert_eq!(like_pattern("a_b%c\\"), "%a\\_b\\%c\\\\%");
    }
}
