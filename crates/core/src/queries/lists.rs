//! The workspaces, groups and models lists.

use gatehouse_api::{AccessProfile, Group, GroupRole, Model, SubjectKind, Workspace};
use sqlx::Row;

use super::{group_role, parse};
use crate::cache::Cache;
use crate::error::CoreResult;
use crate::ipc::{AccessProfiles, GroupMemberRow, GroupPolicy, GroupRow, Person, WorkspaceRow};

fn person(r: &sqlx::sqlite::SqliteRow) -> Person {
    Person {
        id: r.get("user_id"),
        name: r.get("name"),
        email: r.get("email"),
    }
}

impl Cache {
    /// Entities as cached (`data`) with a count, from `sql`, which selects the two.
    async fn counted(&self, sql: &str) -> CoreResult<Vec<(String, i64)>> {
        Ok(sqlx::query_as(sql).fetch_all(self.pool()).await?)
    }

    /// Every workspace by name, with its members counted in the cache.
    pub async fn workspaces(&self) -> CoreResult<Vec<WorkspaceRow>> {
        self.counted(
            "SELECT w.data, (SELECT COUNT(*) FROM memberships m WHERE m.workspace_id = w.id) \
             FROM workspaces w ORDER BY w.name COLLATE NOCASE, w.id",
        )
        .await?
        .iter()
        .map(|(data, count)| {
            let w: Workspace = parse("workspace", data)?;
            Ok(WorkspaceRow {
                id: w.id,
                name: w.name,
                slug: w.slug,
                member_count: *count as u64,
                created_at: w.created_at,
            })
        })
        .collect()
    }

    /// Every group by name, with its members counted and its managers.
    pub async fn groups(&self) -> CoreResult<Vec<GroupRow>> {
        let rows = self
            .counted(
                "SELECT g.data, (SELECT COUNT(*) FROM group_members gm WHERE gm.group_id = g.id) \
                 FROM groups g ORDER BY g.name COLLATE NOCASE, g.id",
            )
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for (data, count) in &rows {
            let g: Group = parse("group", data)?;
            let managers = self
                .group_members(&g.id)
                .await?
                .into_iter()
                .filter(|m| m.role == GroupRole::Manager)
                .map(|m| m.person)
                .collect();
            out.push(GroupRow {
                id: g.id,
                name: g.name,
                description: g.description,
                member_count: *count as u64,
                managers,
                created_at: g.created_at,
                scim_managed: g.scim_managed,
            });
        }
        Ok(out)
    }

    /// A group's members by name, managers first.
    pub async fn group_members(&self, group_id: &str) -> CoreResult<Vec<GroupMemberRow>> {
        let rows = sqlx::query(
            "SELECT gm.user_id, gm.role, COALESCE(u.name, '') AS name, COALESCE(u.email, '') AS email \
             FROM group_members gm LEFT JOIN users u ON u.id = gm.user_id WHERE gm.group_id = $1 \
             ORDER BY gm.role = 'manager' DESC, u.name COLLATE NOCASE, gm.user_id",
        )
        .bind(group_id)
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .iter()
            .map(|r| GroupMemberRow {
                person: person(r),
                role: group_role(r.get("role")),
            })
            .collect())
    }

    /// A group's own grants, limits and budget (none set: no grants, no limits, no caps).
    pub async fn group_policy(&self, group_id: &str) -> CoreResult<GroupPolicy> {
        let own = self.subject_policy(SubjectKind::Group, group_id).await?;
        Ok(GroupPolicy {
            grants: own.grants,
            limits: own.limits,
            budget: own.budget,
        })
    }

    /// Every model by id.
    pub async fn models(&self) -> CoreResult<Vec<Model>> {
        sqlx::query_scalar::<_, String>("SELECT data FROM models ORDER BY id")
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(|d| parse("model", d))
            .collect()
    }

    /// Every access profile by name, and the org's default (as the cached org says).
    pub async fn access_profiles(&self) -> CoreResult<AccessProfiles> {
        let profiles =
            sqlx::query_scalar::<_, String>("SELECT data FROM access_profiles ORDER BY name, id")
                .fetch_all(self.pool())
                .await?
                .iter()
                .map(|d| parse::<AccessProfile>("access profile", d))
                .collect::<CoreResult<Vec<_>>>()?;
        Ok(AccessProfiles {
            profiles,
            default_profile_id: self.org().await?.and_then(|o| o.default_profile_id),
        })
    }
}
