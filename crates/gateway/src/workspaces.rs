//! Workspaces and their memberships.

use gatehouse_api::{Membership, Role, SyncChange, SyncKind, Workspace};
use sqlx::FromRow;

use crate::db::{self, Tx, next_revision};

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
    let rows: Vec<WorkspaceRow> = sqlx::query_as(&format!(
        "{WORKSPACE_SELECT} WHERE w.revision > $1 ORDER BY w.revision LIMIT $2"
    ))
    .bind(since)
    .bind(fetch)
    .fetch_all(&mut **tx)
    .await?;
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
    let rows: Vec<MembershipRow> = sqlx::query_as(
        "SELECT workspace_id, user_id, role, revision FROM memberships WHERE revision > $1 ORDER BY revision LIMIT $2",
    )
    .bind(since)
    .bind(fetch)
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|m| SyncChange::upsert(SyncKind::Membership, m.sync_id(), m.revision, &m.into_api()))
        .collect())
}
