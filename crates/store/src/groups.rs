//! The `groups` table and its members (`group_members`).

use gatehouse_api::{Group, GroupMember, GroupRole, SyncChange, SyncKind};
use sqlx::{AnyPool, FromRow};

use crate::db::{self, Tx, next_revision};
use crate::sql::SqlText;

#[derive(Debug, FromRow)]
pub struct GroupRow {
    pub id: String,
    pub name: String,
    pub description: String,
    pub created_at: String,
    pub revision: i64,
    pub member_count: i64,
    pub scim_managed: i64,
}

impl GroupRow {
    pub fn into_api(self) -> Group {
        Group {
            id: self.id,
            name: self.name,
            description: self.description,
            member_count: self.member_count,
            created_at: db::parse_timestamp(&self.created_at),
            scim_managed: self.scim_managed != 0,
            revision: self.revision,
        }
    }
}

const GROUP_SELECT: &str = "SELECT g.id, g.name, g.description, g.created_at, g.revision, g.scim_managed, \
     (SELECT COUNT(*) FROM group_members m WHERE m.group_id = g.id) AS member_count FROM groups g";

#[derive(Debug, FromRow)]
pub struct GroupMemberRow {
    pub group_id: String,
    pub user_id: String,
    pub role: String,
    pub revision: i64,
}

impl GroupMemberRow {
    pub fn into_api(self) -> GroupMember {
        GroupMember {
            role: if self.role == "manager" {
                GroupRole::Manager
            } else {
                GroupRole::Member
            },
            group_id: self.group_id,
            user_id: self.user_id,
            revision: self.revision,
        }
    }
}

/// The group `id`, if there is one.
pub async fn get_in(tx: &mut Tx, id: &str) -> Result<Option<Group>, sqlx::Error> {
    let row: Option<GroupRow> = sqlx::query_as(&format!("{GROUP_SELECT} WHERE g.id = $1"))
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(row.map(GroupRow::into_api))
}

/// Every group, in id order, read inside `tx`.
pub async fn all_in(tx: &mut Tx) -> Result<Vec<Group>, sqlx::Error> {
    let rows: Vec<GroupRow> = sqlx::query_as(&format!("{GROUP_SELECT} ORDER BY g.id"))
        .fetch_all(&mut **tx)
        .await?;
    Ok(rows.into_iter().map(GroupRow::into_api).collect())
}

/// At most `limit` groups after the id `after`, in id order.
pub async fn list(
    pool: &AnyPool,
    after: Option<String>,
    limit: i64,
) -> Result<Vec<GroupRow>, sqlx::Error> {
    let mut q = SqlText::new(&format!("{GROUP_SELECT} WHERE 1 = 1"));
    if let Some(after) = after {
        q.push(" AND g.id > ").bind(after);
    }
    q.push(" ORDER BY g.id LIMIT ").bind(limit);
    sqlx::query_as_with(&q.sql, q.args).fetch_all(pool).await
}

/// Whether another group than `except` is called `name`.
pub async fn name_taken(tx: &mut Tx, name: &str, except: &str) -> Result<bool, sqlx::Error> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM groups WHERE name = $1 AND id <> $2")
        .bind(name)
        .bind(except)
        .fetch_one(&mut **tx)
        .await?;
    Ok(n > 0)
}

pub async fn insert(tx: &mut Tx, name: &str, description: &str) -> Result<String, sqlx::Error> {
    let id = crate::new_id("grp");
    let revision = next_revision(tx).await?;
    sqlx::query("INSERT INTO groups (id, name, description, created_at, revision) VALUES ($1, $2, $3, $4, $5)")
        .bind(&id)
        .bind(name)
        .bind(description)
        .bind(db::now())
        .bind(revision)
        .execute(&mut **tx)
        .await?;
    Ok(id)
}

/// Renames group `id` and sets its description, with a fresh revision.
pub async fn update(
    tx: &mut Tx,
    id: &str,
    name: &str,
    description: &str,
) -> Result<(), sqlx::Error> {
    let revision = next_revision(tx).await?;
    sqlx::query("UPDATE groups SET name = $1, description = $2, revision = $3 WHERE id = $4")
        .bind(name)
        .bind(description)
        .bind(revision)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The members of group `id`, and the models granted to the group itself: what has its own
/// place in the change feed and goes with the group.
pub async fn dependents(tx: &mut Tx, id: &str) -> Result<(Vec<String>, Vec<String>), sqlx::Error> {
    let members = sqlx::query_scalar("SELECT user_id FROM group_members WHERE group_id = $1")
        .bind(id)
        .fetch_all(&mut **tx)
        .await?;
    let granted_model_ids = sqlx::query_scalar(
        "SELECT model_id FROM grants WHERE subject_kind = 'group' AND subject_id = $1",
    )
    .bind(id)
    .fetch_all(&mut **tx)
    .await?;
    Ok((members, granted_model_ids))
}

/// Deletes group `id` with its memberships, grants, limits and budget.
pub async fn delete(tx: &mut Tx, id: &str) -> Result<(), sqlx::Error> {
    for sql in [
        "DELETE FROM group_members WHERE group_id = $1",
        "DELETE FROM grants WHERE subject_kind = 'group' AND subject_id = $1",
        "DELETE FROM limits WHERE subject_kind = 'group' AND subject_id = $1",
        "DELETE FROM budgets WHERE subject_kind = 'group' AND subject_id = $1",
        "DELETE FROM groups WHERE id = $1",
    ] {
        sqlx::query(sql).bind(id).execute(&mut **tx).await?;
    }
    Ok(())
}

/// Adds `user_id` to `group_id` as `role`, or changes their role there; returns the
/// membership's new revision.
pub async fn put_member(
    tx: &mut Tx,
    group_id: &str,
    user_id: &str,
    role: GroupRole,
) -> Result<i64, sqlx::Error> {
    let revision = next_revision(tx).await?;
    sqlx::query(
        "INSERT INTO group_members (group_id, user_id, role, revision) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (group_id, user_id) DO UPDATE SET role = excluded.role, revision = excluded.revision",
    )
    .bind(group_id)
    .bind(user_id)
    .bind(role.as_str())
    .bind(revision)
    .execute(&mut **tx)
    .await?;
    Ok(revision)
}

pub async fn delete_member(tx: &mut Tx, group_id: &str, user_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM group_members WHERE group_id = $1 AND user_id = $2")
        .bind(group_id)
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Whether `user_id` manages group `group_id`.
pub async fn manages<'e, E>(exec: E, user_id: &str, group_id: &str) -> Result<bool, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM group_members WHERE group_id = $1 AND user_id = $2 AND role = 'manager'",
    )
    .bind(group_id)
    .bind(user_id)
    .fetch_one(exec)
    .await?;
    Ok(n > 0)
}

/// `user_id`'s role in `group_id`, if they belong to it.
pub async fn role_of<'e, E>(
    exec: E,
    group_id: &str,
    user_id: &str,
) -> Result<Option<String>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query_scalar("SELECT role FROM group_members WHERE group_id = $1 AND user_id = $2")
        .bind(group_id)
        .bind(user_id)
        .fetch_optional(exec)
        .await
}

/// The groups `manager_id` manages in which `user_id` is a plain member: the groups through
/// which a manager may act on that person (never on a co-manager, never on themselves).
pub async fn managed_over<'e, E>(
    exec: E,
    manager_id: &str,
    user_id: &str,
) -> Result<Vec<String>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    if manager_id == user_id {
        return Ok(Vec::new());
    }
    sqlx::query_scalar(
        "SELECT m.group_id FROM group_members m JOIN group_members me ON me.group_id = m.group_id \
         WHERE m.user_id = $1 AND m.role = 'member' AND me.user_id = $2 AND me.role = 'manager' \
         ORDER BY m.group_id",
    )
    .bind(user_id)
    .bind(manager_id)
    .fetch_all(exec)
    .await
}

pub async fn changed_since(
    tx: &mut Tx,
    since: i64,
    fetch: i64,
) -> Result<Vec<SyncChange>, sqlx::Error> {
    let rows: Vec<GroupRow> =
        crate::feed::rows_since(tx, GROUP_SELECT, "g.revision", since, fetch).await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let g = r.into_api();
            SyncChange::upsert(SyncKind::Group, g.id.clone(), g.revision, &g)
        })
        .collect())
}

pub async fn members_changed_since(
    tx: &mut Tx,
    since: i64,
    fetch: i64,
) -> Result<Vec<SyncChange>, sqlx::Error> {
    let rows: Vec<GroupMemberRow> = crate::feed::rows_since(
        tx,
        "SELECT group_id, user_id, role, revision FROM group_members",
        "revision",
        since,
        fetch,
    )
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let id = format!("{}:{}", r.group_id, r.user_id);
            SyncChange::upsert(SyncKind::GroupMember, id, r.revision, &r.into_api())
        })
        .collect())
}
