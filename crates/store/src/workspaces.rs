//! The `workspaces` table and its memberships (`memberships`).

use gatehouse_api::{Membership, Role, SyncChange, SyncKind, Workspace};
use sqlx::{AnyPool, FromRow};

use crate::db::{self, Tx, next_revision};
use crate::sql::SqlText;

#[derive(Debug, FromRow)]
pub struct WorkspaceRow {
    pub id: String,
    pub name: String,
    pub slug: String,
    pub created_at: String,
    pub revision: i64,
    pub member_count: i64,
}

impl WorkspaceRow {
    pub fn into_api(self) -> Workspace {
        Workspace {
            id: self.id,
            name: self.name,
            slug: self.slug,
            member_count: self.member_count,
            created_at: db::parse_timestamp(&self.created_at),
            revision: self.revision,
        }
    }
}

pub const WORKSPACE_SELECT: &str = "SELECT w.id, w.name, w.slug, w.created_at, w.revision, \
     (SELECT COUNT(*) FROM memberships m WHERE m.workspace_id = w.id) AS member_count FROM workspaces w";

pub async fn insert(tx: &mut Tx, name: &str, slug: &str) -> Result<String, sqlx::Error> {
    let id = crate::new_id("ws");
    let revision = next_revision(tx).await?;
    sqlx::query(
        "INSERT INTO workspaces (id, name, slug, created_at, revision) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&id)
    .bind(name)
    .bind(slug)
    .bind(db::now())
    .bind(revision)
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

/// Renames workspace `id` and sets its slug, with a fresh revision.
pub async fn update(tx: &mut Tx, id: &str, name: &str, slug: &str) -> Result<(), sqlx::Error> {
    let revision = next_revision(tx).await?;
    sqlx::query("UPDATE workspaces SET name = $1, slug = $2, revision = $3 WHERE id = $4")
        .bind(name)
        .bind(slug)
        .bind(revision)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Deletes workspace `id` and its memberships.
pub async fn delete(tx: &mut Tx, id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM memberships WHERE workspace_id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    sqlx::query("DELETE FROM workspaces WHERE id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The workspace `id`, if there is one.
pub async fn get_in(tx: &mut Tx, id: &str) -> Result<Option<Workspace>, sqlx::Error> {
    let row: Option<WorkspaceRow> = sqlx::query_as(&format!("{WORKSPACE_SELECT} WHERE w.id = $1"))
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(row.map(WorkspaceRow::into_api))
}

pub async fn exists(tx: &mut Tx, id: &str) -> Result<bool, sqlx::Error> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM workspaces WHERE id = $1")
        .bind(id)
        .fetch_one(&mut **tx)
        .await?;
    Ok(n > 0)
}

/// Whether another workspace than `except` has `slug`.
pub async fn slug_taken(tx: &mut Tx, slug: &str, except: &str) -> Result<bool, sqlx::Error> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM workspaces WHERE slug = $1 AND id <> $2")
        .bind(slug)
        .bind(except)
        .fetch_one(&mut **tx)
        .await?;
    Ok(n > 0)
}

/// At most `limit` workspaces after the id `after` (from the start when empty), in id order.
pub async fn list(
    pool: &AnyPool,
    after: Option<String>,
    limit: i64,
) -> Result<Vec<WorkspaceRow>, sqlx::Error> {
    let mut q = SqlText::new(&format!("{WORKSPACE_SELECT} WHERE 1 = 1"));
    if let Some(after) = after {
        q.push(" AND w.id > ").bind(after);
    }
    q.push(" ORDER BY w.id LIMIT ").bind(limit);
    sqlx::query_as_with(&q.sql, q.args).fetch_all(pool).await
}

/// Adds `user_id` to `workspace_id` with `role`, or changes the role of an existing member.
pub async fn put_member(
    tx: &mut Tx,
    workspace_id: &str,
    user_id: &str,
    role: Role,
) -> Result<(), sqlx::Error> {
    let revision = next_revision(tx).await?;
    sqlx::query(
        "INSERT INTO memberships (workspace_id, user_id, role, revision) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (workspace_id, user_id) DO UPDATE SET role = excluded.role, revision = excluded.revision",
    )
    .bind(workspace_id)
    .bind(user_id)
    .bind(role.as_str())
    .bind(revision)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The membership of `user_id` in `workspace_id`.
pub async fn member(
    tx: &mut Tx,
    workspace_id: &str,
    user_id: &str,
) -> Result<Membership, sqlx::Error> {
    let row: MembershipRow = sqlx::query_as(
        "SELECT workspace_id, user_id, role, revision FROM memberships WHERE workspace_id = $1 AND user_id = $2",
    )
    .bind(workspace_id)
    .bind(user_id)
    .fetch_one(&mut **tx)
    .await?;
    Ok(row.into_api())
}

/// Removes `user_id` from `workspace_id`; false when they were not a member.
pub async fn delete_member(
    tx: &mut Tx,
    workspace_id: &str,
    user_id: &str,
) -> Result<bool, sqlx::Error> {
    let removed = sqlx::query("DELETE FROM memberships WHERE workspace_id = $1 AND user_id = $2")
        .bind(workspace_id)
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    Ok(removed.rows_affected() > 0)
}

/// The members of `workspace_id`.
pub async fn member_ids(tx: &mut Tx, workspace_id: &str) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT user_id FROM memberships WHERE workspace_id = $1")
        .bind(workspace_id)
        .fetch_all(&mut **tx)
        .await
}

/// `user_id`'s role in `workspace_id` as stored, if they are a member.
pub async fn role_of<'e, E>(
    exec: E,
    workspace_id: &str,
    user_id: &str,
) -> Result<Option<String>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query_scalar("SELECT role FROM memberships WHERE workspace_id = $1 AND user_id = $2")
        .bind(workspace_id)
        .bind(user_id)
        .fetch_optional(exec)
        .await
}

/// `user_id`'s workspaces and their role in each as stored, in workspace order.
pub async fn roles_of<'e, E>(exec: E, user_id: &str) -> Result<Vec<(String, String)>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query_as(
        "SELECT workspace_id, role FROM memberships WHERE user_id = $1 ORDER BY workspace_id",
    )
    .bind(user_id)
    .fetch_all(exec)
    .await
}

/// Lowers `user_id`'s role in every workspace where it is above `role` down to `role`; returns
/// those workspaces. A demotion calls it: memberships made at invitation or creation carry the
/// org role of that day, and the higher of the two roles counts in a workspace, so without this
/// a demoted admin would stay an admin wherever they had been a member.
pub async fn cap_roles(tx: &mut Tx, user_id: &str, role: Role) -> Result<Vec<String>, sqlx::Error> {
    let rows = roles_of(&mut **tx, user_id).await?;
    let mut lowered = Vec::new();
    for (workspace_id, current) in rows {
        if Role::parse(&current).is_none_or(|r| r > role) {
            put_member(tx, &workspace_id, user_id, role).await?;
            lowered.push(workspace_id);
        }
    }
    Ok(lowered)
}

#[derive(Debug, FromRow)]
pub struct MembershipRow {
    pub workspace_id: String,
    pub user_id: String,
    pub role: String,
    pub revision: i64,
}

impl MembershipRow {
    /// The id a membership has in the change feed.
    pub fn sync_id(&self) -> String {
        format!("{}:{}", self.workspace_id, self.user_id)
    }

    pub fn into_api(self) -> Membership {
        Membership {
            role: Role::parse(&self.role).unwrap_or(Role::Member),
            workspace_id: self.workspace_id,
            user_id: self.user_id,
            revision: self.revision,
        }
    }
}

pub async fn changed_since(
    tx: &mut Tx,
    since: i64,
    fetch: i64,
) -> Result<Vec<SyncChange>, sqlx::Error> {
    let rows: Vec<WorkspaceRow> =
        crate::feed::rows_since(tx, WORKSPACE_SELECT, "w.revision", since, fetch).await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let ws = r.into_api();
            SyncChange::upsert(SyncKind::Workspace, ws.id.clone(), ws.revision, &ws)
        })
        .collect())
}

pub async fn memberships_changed_since(
    tx: &mut Tx,
    since: i64,
    fetch: i64,
) -> Result<Vec<SyncChange>, sqlx::Error> {
    let rows: Vec<MembershipRow> = crate::feed::rows_since(
        tx,
        "SELECT workspace_id, user_id, role, revision FROM memberships",
        "revision",
        since,
        fetch,
    )
    .await?;
    Ok(rows
        .into_iter()
        .map(|m| SyncChange::upsert(SyncKind::Membership, m.sync_id(), m.revision, &m.into_api()))
        .collect())
}
