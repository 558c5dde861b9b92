//! The users table's search, filters and sort, in memory. A substring search cannot use a
//! B-tree, and SQLite's scan of 100,000 users costs tens of milliseconds per keystroke; this
//! index holds what a search tests and what the table shows of each user (about 200 bytes a
//! user), is built from the cache after a sync changed users, memberships or groups, and
//! answers a search with one linear scan in the order asked for: a few milliseconds.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use futures_util::TryStreamExt;
use gatehouse_api::{Role, UserStatus};
use memchr::memmem;
use sqlx::SqlitePool;

use super::{parse_time, usd};
use crate::error::CoreResult;
use crate::ipc::{UserFilter, UserRow, UserSort};

struct Entry {
    id: Box<str>,
    name: Box<str>,
    /// The name with ASCII letters lower-cased: SQLite's NOCASE.
    name_nocase: Box<str>,
    email: Box<str>,
    role: Box<str>,
    status: Box<str>,
    created_at: Box<str>,
    last_active_at: Option<Box<str>>,
    scim_managed: bool,
}

/// Some of the users (a range of rowids, or a page's ids), as [`UserIndex`] holds them.
#[derive(Default)]
struct Part {
    haystack: Vec<u8>,
    starts: Vec<u32>,
    entries: Vec<Entry>,
}

/// Which users an index holds.
#[derive(Clone, Copy)]
pub(crate) enum Scope<'a> {
    /// Every user.
    All,
    /// The users whose ids are in this JSON list (`id_list`): a page of them.
    Ids(&'a str),
}

impl Part {
    /// The users `rows` names: a statement for each kind, so that SQLite plans each with its
    /// own index (rowids, or the ids' unique index).
    async fn read(pool: &SqlitePool, rows: Rows<'_>) -> CoreResult<Self> {
        type UserRow = (
            String,
            String,
            String,
            String,
            String,
            String,
            String,
            Option<String>,
            bool,
        );
        const COLUMNS: &str = "SELECT id, search_text, name, email, role, status, created_at, \
             last_active_at, COALESCE(json_extract(data, '$.scim_managed'), 0) FROM users";
        let sql = match rows {
            Rows::Between(..) => format!("{COLUMNS} WHERE rowid BETWEEN $1 AND $2"),
            Rows::Of(_) => format!("{COLUMNS} WHERE id IN (SELECT value FROM json_each($1))"),
        };
        let query = sqlx::query_as::<_, UserRow>(&sql);
        let query = match rows {
            Rows::Between(from, to) => query.bind(from).bind(to),
            Rows::Of(ids) => query.bind(ids),
        };
        // Row by row: holding every row's strings and every entry at once would double the
        // build's peak, which the allocator keeps as resident memory afterwards.
        let mut rows = query.fetch(pool);
        let mut part = Self::default();
        while let Some((
            id,
            search,
            name,
            email,
            role,
            status,
            created_at,
            last_active_at,
            scim_managed,
        )) = rows.try_next().await?
        {
            part.starts.push(part.haystack.len() as u32);
            part.haystack.extend_from_slice(search.as_bytes());
            part.haystack.push(0);
            part.entries.push(Entry {
                id: id.into(),
                name_nocase: name.to_ascii_lowercase().into(),
                name: name.into(),
                email: email.into(),
                role: role.into(),
                status: status.into(),
                created_at: created_at.into(),
                last_active_at: last_active_at.map(Into::into),
                scim_managed,
            });
        }
        Ok(part)
    }

    /// `other`'s users after this part's.
    fn append(&mut self, mut other: Self) {
        let offset = self.haystack.len() as u32;
        self.starts.extend(other.starts.iter().map(|s| s + offset));
        self.haystack.append(&mut other.haystack);
        self.entries.append(&mut other.entries);
    }
}

/// What [`Part::read`] reads.
#[derive(Clone, Copy)]
enum Rows<'a> {
    Between(i64, i64),
    Of(&'a str),
}

const SORTS: [UserSort; 6] = [
    UserSort::Name,
    UserSort::Email,
    UserSort::Role,
    UserSort::Status,
    UserSort::CreatedAt,
    UserSort::LastActiveAt,
];

pub(crate) struct UserIndex {
    entries: Vec<Entry>,
    /// Every user's lower-cased "name email" (as the cache stores it), one after the other with
    /// a NUL between them, so that a substring search is one pass of memmem over contiguous
    /// memory rather than 100,000 scattered strings; `starts[i]` is where user `i`'s begins.
    haystack: Vec<u8>,
    starts: Vec<u32>,
    roles: Vec<Option<Role>>,
    statuses: Vec<Option<UserStatus>>,
    /// For each of [`SORTS`], the entries in ascending order, ties broken by id, sorted the
    /// first time a search asks for it: each is a sort of every user, and the console's start
    /// needs only the default one.
    orders: [OnceLock<Vec<u32>>; SORTS.len()],
    /// Workspace id → its members; group id → its members.
    workspaces: HashMap<Box<str>, Vec<u32>>,
    groups: HashMap<Box<str>, Vec<u32>>,
}

impl UserIndex {
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Reads the users of `scope` in two halves (by rowid) and their memberships at the same
    /// time, each on a connection of its own: reading the encrypted file is CPU-bound (a
    /// decryption per page), and the console waits for this at its start.
    pub(crate) async fn build(pool: &SqlitePool, scope: Scope<'_>) -> CoreResult<Arc<Self>> {
        let users = async {
            let Scope::Ids(ids) = scope else {
                let last: Option<i64> = sqlx::query_scalar("SELECT max(rowid) FROM users")
                    .fetch_one(pool)
                    .await?;
                let middle = last.unwrap_or(0) / 2;
                return tokio::try_join!(
                    Part::read(pool, Rows::Between(i64::MIN, middle)),
                    Part::read(pool, Rows::Between(middle + 1, i64::MAX)),
                );
            };
            Ok((Part::read(pool, Rows::Of(ids)).await?, Part::default()))
        };
        let pairs = |of: &str, table: &str| {
            let sql = match scope {
                Scope::All => format!("SELECT {of}, user_id FROM {table}"),
                Scope::Ids(_) => format!(
                    "SELECT {of}, user_id FROM {table} \
                     WHERE user_id IN (SELECT value FROM json_each($1))"
                ),
            };
            async move {
                let query = sqlx::query_as::<_, (String, String)>(&sql);
                let query = match scope {
                    Scope::All => query,
                    Scope::Ids(ids) => query.bind(ids),
                };
                CoreResult::Ok(query.fetch_all(pool).await?)
            }
        };
        let memberships = async {
            let workspaces = pairs("workspace_id", "memberships").await?;
            let groups = pairs("group_id", "group_members").await?;
            CoreResult::Ok((workspaces, groups))
        };
        let ((mut first, second), (workspace_pairs, group_pairs)) = match scope {
            Scope::All => tokio::try_join!(users, memberships)?,
            // A page's few users, one connection at a time: a build of every user holds three
            // of the pool's four for a second.
            Scope::Ids(_) => (users.await?, memberships.await?),
        };
        first.append(second);
        let Part {
            mut haystack,
            mut starts,
            mut entries,
        } = first;
        haystack.shrink_to_fit();
        starts.shrink_to_fit();
        entries.shrink_to_fit();
        let position = positions_of(&entries);
        let members = |pairs: Vec<(String, String)>| {
            let mut by: HashMap<Box<str>, Vec<u32>> = HashMap::new();
            for (of, user) in pairs {
                if let Some(&i) = position.get(user.as_str()) {
                    by.entry(of.into()).or_default().push(i);
                }
            }
            by
        };
        let (workspaces, groups) = (members(workspace_pairs), members(group_pairs));
        let roles = entries.iter().map(|e| Role::parse(&e.role)).collect();
        let statuses = entries
            .iter()
            .map(|e| UserStatus::parse(&e.status))
            .collect();
        let index = Self {
            entries,
            haystack,
            starts,
            roles,
            statuses,
            orders: Default::default(),
            workspaces,
            groups,
        };
        // The order of the table's first page, while the caller waits anyway.
        index.order(UserSort::Name);
        Ok(Arc::new(index))
    }

    /// Where the users with `ids` are in the index, in that order (those it lacks left out).
    pub(crate) fn positions(&self, ids: &[String]) -> Vec<u32> {
        let at = positions_of(&self.entries);
        ids.iter()
            .filter_map(|id| at.get(id.as_str()).copied())
            .collect()
    }

    /// The entries in `sort`'s ascending order, ties broken by id.
    fn order(&self, sort: UserSort) -> &[u32] {
        let at = SORTS.iter().position(|&s| s == sort).unwrap_or(0);
        self.orders[at].get_or_init(|| {
            let mut order: Vec<u32> = (0..self.entries.len() as u32).collect();
            order.sort_unstable_by(|&a, &b| {
                let (a, b) = (&self.entries[a as usize], &self.entries[b as usize]);
                compare(SORTS[at], a, b).then_with(|| a.id.cmp(&b.id))
            });
            order
        })
    }

    /// How many users match `filter`, and the page `limit` × `offset` in its order (positions
    /// in the index, for [`UserIndex::id`] and [`UserIndex::rows`]).
    pub(crate) fn search(
        &self,
        filter: &UserFilter,
        limit: usize,
        offset: usize,
    ) -> (u64, Vec<u32>) {
        let needle = filter.query.trim().to_lowercase();
        let found = (!needle.is_empty()).then(|| {
            let mut found = vec![false; self.entries.len()];
            for at in memmem::find_iter(&self.haystack, needle.as_bytes()) {
                found[self.starts.partition_point(|&s| s as usize <= at) - 1] = true;
            }
            found
        });
        let only = |members: Option<&Vec<u32>>| {
            let mut allowed = vec![false; self.entries.len()];
            for &i in members.into_iter().flatten() {
                allowed[i as usize] = true;
            }
            allowed
        };
        let in_workspace = filter
            .workspace_id
            .as_deref()
            .map(|ws| only(self.workspaces.get(ws)));
        let in_group = filter.group_id.as_deref().map(|g| only(self.groups.get(g)));

        let order = self.order(filter.sort);
        // Only compact arrays are read per user: the entries themselves are touched for the
        // page alone.
        let matches = |&&i: &&u32| {
            filter
                .role
                .is_none_or(|r| self.roles[i as usize] == Some(r))
                && filter
                    .status
                    .is_none_or(|s| self.statuses[i as usize] == Some(s))
                && in_workspace.as_ref().is_none_or(|a| a[i as usize])
                && in_group.as_ref().is_none_or(|a| a[i as usize])
                && found.as_ref().is_none_or(|f| f[i as usize])
        };
        let mut total = 0u64;
        let mut page = Vec::with_capacity(limit.min(1000));
        let mut take = |i: &u32| {
            if total as usize >= offset && page.len() < limit {
                page.push(*i);
            }
            total += 1;
        };
        if filter.descending {
            order.iter().rev().filter(matches).for_each(&mut take);
        } else {
            order.iter().filter(matches).for_each(&mut take);
        }
        (total, page)
    }
}

impl UserIndex {
    pub(crate) fn id(&self, at: u32) -> &str {
        &self.entries[at as usize].id
    }

    /// What the users table shows of the users at `page`, from memory: a page read from the
    /// (encrypted) file would cost a decryption for nearly every row it touches. What changes
    /// without the users changing comes from the caller: the names of workspaces and groups (by
    /// id) and the month-to-date spend (`spend`, micro-dollars by user id).
    pub(crate) fn rows(
        &self,
        page: &[u32],
        workspace_names: &HashMap<String, String>,
        group_names: &HashMap<String, String>,
        spend: &HashMap<String, i64>,
    ) -> Vec<UserRow> {
        let row_of: HashMap<u32, usize> = page.iter().enumerate().map(|(r, &i)| (i, r)).collect();
        let mut workspaces = vec![Vec::new(); page.len()];
        let mut groups = vec![Vec::new(); page.len()];
        for (of, names, into) in [
            (&self.workspaces, workspace_names, &mut workspaces),
            (&self.groups, group_names, &mut groups),
        ] {
            for (id, members) in of {
                let Some(name) = names.get(&**id) else {
                    continue;
                };
                for i in members {
                    if let Some(&r) = row_of.get(i) {
                        into[r].push(name.clone());
                    }
                }
            }
        }
        page.iter()
            .zip(workspaces.into_iter().zip(groups))
            .map(|(&i, (mut workspaces, mut groups))| {
                let e = &self.entries[i as usize];
                workspaces.sort();
                groups.sort();
                UserRow {
                    id: e.id.to_string(),
                    email: e.email.to_string(),
                    name: e.name.to_string(),
                    role: Role::parse(&e.role).unwrap_or(Role::Member),
                    status: UserStatus::parse(&e.status).unwrap_or(UserStatus::Suspended),
                    workspaces,
                    groups,
                    created_at: parse_time(&e.created_at),
                    last_active_at: e.last_active_at.as_deref().map(parse_time),
                    spend_mtd_usd: usd(spend.get(&*e.id).copied().unwrap_or(0)),
                    scim_managed: e.scim_managed,
                }
            })
            .collect()
    }
}

/// Each entry's position, by id.
fn positions_of(entries: &[Entry]) -> HashMap<&str, u32> {
    entries
        .iter()
        .enumerate()
        .map(|(i, e)| (&*e.id, i as u32))
        .collect()
}

/// The order SQL gives `ORDER BY <column>`: NOCASE names, binary text, NULL first.
fn compare(sort: UserSort, a: &Entry, b: &Entry) -> Ordering {
    match sort {
        UserSort::Name => a.name_nocase.cmp(&b.name_nocase),
        UserSort::Email => a.email.cmp(&b.email),
        UserSort::Role => a.role.cmp(&b.role),
        UserSort::Status => a.status.cmp(&b.status),
        UserSort::CreatedAt => a.created_at.cmp(&b.created_at),
        UserSort::LastActiveAt => a.last_active_at.cmp(&b.last_active_at),
    }
}
