//! Applying the change feed to the cache: one batch per transaction, with the revision it
//! reaches. Each kind has its own table; a batch's changes are grouped by kind (keeping their
//! revision order within a kind, which is all that matters: kinds never share a table) and
//! consecutive upserts go in multi-row `INSERT OR REPLACE` statements of [`ROWS_PER_STATEMENT`]
//! rows, so that SQLite, not the round trip to its worker thread, sets the pace. A statement's
//! text depends only on its table and row count (a full chunk, or one row), so sqlx prepares it
//! once per connection and reuses it.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use gatehouse_api::{
    AccessProfile, Alert, ApiKey, Grant, Group, GroupMember, Invitation, Membership, Model, Org,
    SubjectBudget, SubjectKind, SubjectLimits, SyncChange, SyncKind, User, Workspace,
};
use serde::Deserialize;
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use super::{Cache, decode};
use crate::error::{CoreError, CoreResult};
use crate::seal::Seal;

/// Rows per multi-row insert: large enough that the per-statement cost vanishes, small enough
/// to stay far below SQLite's limit on bound parameters (10 columns × 100 = 1000).
const ROWS_PER_STATEMENT: usize = 100;

/// One bound value of a cache row.
enum Col<'a> {
    Text(Cow<'a, str>),
    Int(i64),
    Blob(Vec<u8>),
    Null,
}

fn text<'a>(s: impl Into<Cow<'a, str>>) -> Col<'a> {
    Col::Text(s.into())
}

fn time<'a>(t: DateTime<Utc>) -> Col<'a> {
    Col::Text(Cow::Owned(t.to_rfc3339()))
}

/// How a kind is stored: its insert (up to `VALUES`), its delete by id, and its column count.
struct Table {
    insert: &'static str,
    delete: &'static str,
    columns: usize,
}

macro_rules! table {
    ($name:literal, [$($col:literal),+]) => {
        const {
            &Table {
                insert: concat!("INSERT OR REPLACE INTO ", $name, " (", $($col, ", ",)+ "revision) "),
            delete: concat!("DELETE FROM ", $name, " WHERE id = $1"),
            columns: [$($col),+].len() + 1,
            }
        }
    };
}

fn table(kind: SyncKind) -> &'static Table {
    match kind {
        SyncKind::Org => table!("org", ["id", "data"]),
        SyncKind::User => table!(
            "users",
            [
                "id",
                "email",
                "name",
                "role",
                "status",
                "created_at",
                "last_active_at",
                "search_text",
                "data"
            ]
        ),
        SyncKind::Workspace => table!("workspaces", ["id", "name", "data"]),
        SyncKind::Membership => table!("memberships", ["id", "workspace_id", "user_id", "role"]),
        SyncKind::Group => table!("groups", ["id", "name", "data"]),
        SyncKind::GroupMember => table!("group_members", ["id", "group_id", "user_id", "role"]),
        SyncKind::Invitation => table!(
            "invitations",
            [
                "id",
                "email",
                "status",
                "created_at",
                "expires_at",
                "data",
                "link_sealed"
            ]
        ),
        SyncKind::Model => table!("models", ["id", "data"]),
        SyncKind::Grant => table!(
            "grants",
            ["id", "subject_kind", "subject_id", "model_id", "created_at"]
        ),
        SyncKind::Limit => table!("limits", ["id", "subject_kind", "subject_id", "data"]),
        SyncKind::Budget => table!("budgets", ["id", "subject_kind", "subject_id", "data"]),
        SyncKind::ApiKey => table!("api_keys", ["id", "user_id", "data"]),
        SyncKind::UsageDaily => table!(
            "usage_daily",
            [
                "id",
                "day",
                "user_id",
                "model_id",
                "workspace_id",
                "requests",
                "input_tokens",
                "output_tokens",
                "cost_micros",
                "key_id"
            ]
        ),
        SyncKind::Alert => table!(
            "alerts",
            ["id", "subject_kind", "subject_id", "created_at", "data"]
        ),
        SyncKind::Audit => table!(
            "audit",
            [
                "id",
                "at",
                "actor_id",
                "action",
                "target_kind",
                "target_id",
                "data"
            ]
        ),
        SyncKind::AccessProfile => table!("access_profiles", ["id", "name", "data"]),
    }
}

/// A usage row as the gateway sends it, borrowed from the page: 1,000,000 of them make a first
/// sync of a large organisation, so no owned strings.
#[derive(Deserialize)]
struct UsageWire<'a> {
    #[serde(borrow)]
    day: Cow<'a, str>,
    #[serde(borrow)]
    user_id: Cow<'a, str>,
    #[serde(borrow)]
    model_id: Cow<'a, str>,
    #[serde(borrow)]
    workspace_id: Cow<'a, str>,
    /// Absent from a gateway that does not meter per key yet.
    #[serde(borrow, default)]
    key_id: Cow<'a, str>,
    requests: i64,
    input_tokens: i64,
    output_tokens: i64,
    cost_usd: f64,
}

impl UsageWire<'_> {
    /// Exact: the gateway prints micro-dollars with six decimals.
    fn cost_micros(&self) -> i64 {
        (self.cost_usd * 1e6).round() as i64
    }
}

/// The columns of an audit entry the cache indexes; its `summary` stays in `data` unparsed.
#[derive(Deserialize)]
struct AuditWire<'a> {
    at: DateTime<Utc>,
    #[serde(borrow)]
    actor_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    action: Cow<'a, str>,
    #[serde(borrow)]
    target_kind: Cow<'a, str>,
    #[serde(borrow)]
    target_id: Cow<'a, str>,
}

/// Appends the columns of `change` (an upsert), but its revision, to `out`, in the order of
/// its [`Table`].
fn columns<'a>(change: &'a SyncChange, seal: &Seal, out: &mut Vec<Col<'a>>) -> CoreResult<()> {
    let id = || text(change.id.as_str());
    let raw = || text(change.data.as_ref().map_or("null", |d| d.get()));
    match change.kind {
        SyncKind::Org => {
            decode::<Org>(change)?;
            out.extend([id(), raw()]);
        }
        SyncKind::User => {
            let u: User = decode(change)?;
            let name = format!("{} {}", u.first_name, u.last_name)
                .trim()
                .to_owned();
            let search = format!("{name} {}", u.email).to_lowercase();
            out.extend([
                id(),
                text(u.email),
                text(name),
                text(u.role.as_str()),
                text(u.status.as_str()),
                time(u.created_at),
                u.last_active_at.map_or(Col::Null, time),
                text(search),
                raw(),
            ]);
        }
        SyncKind::Workspace => {
            let w: Workspace = decode(change)?;
            out.extend([id(), text(w.name), raw()]);
        }
        SyncKind::Membership => {
            let m: Membership = decode(change)?;
            out.extend([
                id(),
                text(m.workspace_id),
                text(m.user_id),
                text(m.role.as_str()),
            ]);
        }
        SyncKind::Group => {
            let g: Group = decode(change)?;
            out.extend([id(), text(g.name), raw()]);
        }
        SyncKind::GroupMember => {
            let m: GroupMember = decode(change)?;
            out.extend([
                id(),
                text(m.group_id),
                text(m.user_id),
                text(m.role.as_str()),
            ]);
        }
        SyncKind::Invitation => {
            // The link carries the invitee's token: it is stored sealed, never in `data`.
            let mut inv: Invitation = decode(change)?;
            let link = inv.link.take();
            let data = serde_json::to_string(&inv).map_err(protocol(change))?;
            out.extend([
                id(),
                text(inv.email),
                text(inv.status.as_str()),
                time(inv.created_at),
                time(inv.expires_at),
                text(data),
                link.map_or(Col::Null, |l| Col::Blob(seal.seal(&l))),
            ]);
        }
        SyncKind::Model => {
            decode::<Model>(change)?;
            out.extend([id(), raw()]);
        }
        SyncKind::Grant => {
            let g: Grant = decode(change)?;
            out.extend([
                id(),
                text(g.subject_kind.as_str()),
                text(g.subject_id),
                text(g.model_id),
                time(g.created_at),
            ]);
        }
        SyncKind::Limit => {
            let l: SubjectLimits = decode(change)?;
            let data = serde_json::to_string(&l.limits).map_err(protocol(change))?;
            out.extend(subject(change, l.subject_kind, l.subject_id, data));
        }
        SyncKind::Budget => {
            let b: SubjectBudget = decode(change)?;
            let data = serde_json::to_string(&b.budget).map_err(protocol(change))?;
            out.extend(subject(change, b.subject_kind, b.subject_id, data));
        }
        SyncKind::ApiKey => {
            let k: ApiKey = decode(change)?;
            out.extend([id(), text(k.user_id), raw()]);
        }
        SyncKind::UsageDaily => {
            let u: UsageWire = decode(change)?;
            let cost = u.cost_micros();
            out.extend([
                id(),
                text(u.day),
                text(u.user_id),
                text(u.model_id),
                text(u.workspace_id),
                Col::Int(u.requests),
                Col::Int(u.input_tokens),
                Col::Int(u.output_tokens),
                Col::Int(cost),
                text(u.key_id),
            ]);
        }
        SyncKind::Alert => {
            let a: Alert = decode(change)?;
            out.extend([
                id(),
                text(a.subject_kind.as_str()),
                text(a.subject_id),
                time(a.created_at),
                raw(),
            ]);
        }
        SyncKind::Audit => {
            let a: AuditWire = decode(change)?;
            out.extend([
                id(),
                time(a.at),
                a.actor_id.map_or(Col::Null, text),
                text(a.action),
                text(a.target_kind),
                text(a.target_id),
                raw(),
            ]);
        }
        SyncKind::AccessProfile => {
            let p: AccessProfile = decode(change)?;
            out.extend([id(), text(p.name), raw()]);
        }
    }
    out.push(Col::Int(change.revision));
    Ok(())
}

fn subject<'a>(
    change: &'a SyncChange,
    kind: SubjectKind,
    subject_id: String,
    data: String,
) -> [Col<'a>; 4] {
    [
        text(change.id.as_str()),
        text(kind.as_str()),
        text(subject_id),
        text(data),
    ]
}

fn protocol(change: &SyncChange) -> impl FnOnce(serde_json::Error) -> CoreError + '_ {
    move |e| CoreError::Protocol(format!("{:?} {}: {e}", change.kind, change.id))
}

/// Inserts (or replaces) `rows`, `table.columns` values each.
async fn insert(conn: &mut SqliteConnection, table: &Table, rows: &[Col<'_>]) -> CoreResult<()> {
    let per_statement = table.columns * ROWS_PER_STATEMENT;
    let mut chunks = rows.chunks_exact(per_statement);
    for chunk in &mut chunks {
        insert_statement(conn, table, chunk).await?;
    }
    for row in chunks.remainder().chunks(table.columns) {
        insert_statement(conn, table, row).await?;
    }
    Ok(())
}

async fn insert_statement(
    conn: &mut SqliteConnection,
    table: &Table,
    values: &[Col<'_>],
) -> CoreResult<()> {
    let mut q = QueryBuilder::<Sqlite>::new(table.insert);
    q.push_values(values.chunks(table.columns), |mut row, cols| {
        for col in cols {
            match col {
                Col::Text(s) => row.push_bind(s.as_ref()),
                Col::Int(v) => row.push_bind(*v),
                Col::Blob(b) => row.push_bind(b.as_slice()),
                Col::Null => row.push_bind(None::<&str>),
            };
        }
    });
    q.build().execute(conn).await?;
    Ok(())
}

/// The page cache of the connection a sync writes through, in KiB: large enough that a first
/// sync of a large organisation does not read back the pages it has just written, which in an
/// encrypted file costs a decryption and an HMAC check each (that was 5 times the first sync's
/// time, with SQLite's default 2 MiB). Only while a sync runs; the readers keep the default.
pub const SYNC_PAGE_CACHE_KIB: u32 = 64 * 1024;

/// The one connection a sync writes its batches through, so that its page cache stays warm
/// from one batch to the next (a pooled connection would find another's commits and drop it).
/// Out of the pool: dropping the writer closes it and gives its page cache back.
pub struct CacheWriter<'a> {
    cache: &'a Cache,
    conn: SqliteConnection,
}

impl Cache {
    /// The connection a sync writes through (see [`CacheWriter`]).
    pub async fn writer(&self) -> CoreResult<CacheWriter<'_>> {
        let mut conn = self.pool.acquire().await?.detach();
        sqlx::query(&format!("PRAGMA cache_size = -{SYNC_PAGE_CACHE_KIB}"))
            .execute(&mut conn)
            .await?;
        Ok(CacheWriter { cache: self, conn })
    }
}

impl CacheWriter<'_> {
    /// Applies one batch of changes and records `next_since`, all in one transaction.
    pub async fn apply(&mut self, changes: &[SyncChange], next_since: i64) -> CoreResult<()> {
        // Stable: within a kind the changes stay in revision order, so a deletion and a later
        // re-creation of the same id land in that order.
        let mut ordered: Vec<&SyncChange> = changes.iter().collect();
        ordered.sort_by_key(|c| c.kind as u8);
        let mut tx = sqlx::Connection::begin(&mut self.conn).await?;
        let mut values = Vec::new();
        for run in ordered.chunk_by(|a, b| a.kind == b.kind && a.deleted == b.deleted) {
            let table = table(run[0].kind);
            if run[0].deleted {
                for change in run {
                    sqlx::query(table.delete)
                        .bind(&change.id)
                        .execute(&mut *tx)
                        .await?;
                }
                continue;
            }
            values.clear();
            for change in run {
                columns(change, &self.cache.seal, &mut values)?;
            }
            insert(&mut tx, table, &values).await?;
        }
        drop(values);
        sqlx::query("UPDATE sync_state SET since = $1 WHERE id = 1")
            .bind(next_since)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        if changes.iter().any(|c| {
            matches!(
                c.kind,
                SyncKind::User | SyncKind::Membership | SyncKind::GroupMember
            )
        }) {
            self.cache
                .users_version
                .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        }
        Ok(())
    }
}
