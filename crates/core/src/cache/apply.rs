//! Applying the change feed to the cache: one batch per transaction, with the revision it
//! reaches.

use gatehouse_api::{Membership, Org, SyncChange, SyncKind, User, Workspace};
use sqlx::Sqlite;

use super::{Cache, decode};
use crate::error::CoreResult;

impl Cache {
    /// Applies one batch of changes and records `next_since`, all in one transaction.
    pub async fn apply(&self, changes: &[SyncChange], next_since: i64) -> CoreResult<()> {
        let mut tx = self.pool.begin().await?;
        for change in changes {
            apply_one(&mut tx, change).await?;
        }
        sqlx::query("UPDATE sync_state SET since = $1 WHERE id = 1")
            .bind(next_since)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}

async fn apply_one(tx: &mut sqlx::Transaction<'_, Sqlite>, change: &SyncChange) -> CoreResult<()> {
    let table = match change.kind {
        SyncKind::Org => "org",
        SyncKind::User => "users",
        SyncKind::Workspace => "workspaces",
        SyncKind::Membership => "memberships",
        _ => "entities",
    };
    if change.deleted {
        if table == "entities" {
            sqlx::query("DELETE FROM entities WHERE kind = $1 AND id = $2")
                .bind(kind_name(change.kind))
                .bind(&change.id)
                .execute(&mut **tx)
                .await?;
        } else {
            sqlx::query(&format!("DELETE FROM {table} WHERE id = $1"))
                .bind(&change.id)
                .execute(&mut **tx)
                .await?;
        }
        return Ok(());
    }
    let data = change
        .data
        .as_ref()
        .map(|d| d.get().to_owned())
        .unwrap_or_default();
    match change.kind {
        SyncKind::Org => {
            let _: Org = decode(change)?;
            sqlx::query("INSERT OR REPLACE INTO org (id, data, revision) VALUES ($1, $2, $3)")
                .bind(&change.id)
                .bind(&data)
                .bind(change.revision)
                .execute(&mut **tx)
                .await?;
        }
        SyncKind::User => {
            let u: User = decode(change)?;
            let name = format!("{} {}", u.first_name, u.last_name)
                .trim()
                .to_owned();
            let search = format!("{name} {}", u.email).to_lowercase();
            sqlx::query(
                "INSERT OR REPLACE INTO users (id, email, name, role, status, created_at, last_active_at, search_text, data, revision) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(&u.id)
            .bind(&u.email)
            .bind(name)
            .bind(u.role.as_str())
            .bind(u.status.as_str())
            .bind(u.created_at.to_rfc3339())
            .bind(u.last_active_at.map(|t| t.to_rfc3339()))
            .bind(search)
            .bind(&data)
            .bind(change.revision)
            .execute(&mut **tx)
            .await?;
        }
        SyncKind::Workspace => {
            let w: Workspace = decode(change)?;
            sqlx::query("INSERT OR REPLACE INTO workspaces (id, name, data, revision) VALUES ($1, $2, $3, $4)")
                .bind(&w.id)
                .bind(&w.name)
                .bind(&data)
                .bind(change.revision)
                .execute(&mut **tx)
                .await?;
        }
        SyncKind::Membership => {
            let m: Membership = decode(change)?;
            sqlx::query(
                "INSERT OR REPLACE INTO memberships (id, workspace_id, user_id, role, revision) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(&change.id)
            .bind(&m.workspace_id)
            .bind(&m.user_id)
            .bind(m.role.as_str())
            .bind(change.revision)
            .execute(&mut **tx)
            .await?;
        }
        _ => {
            sqlx::query("INSERT OR REPLACE INTO entities (kind, id, data, revision) VALUES ($1, $2, $3, $4)")
                .bind(kind_name(change.kind))
                .bind(&change.id)
                .bind(&data)
                .bind(change.revision)
                .execute(&mut **tx)
                .await?;
        }
    }
    Ok(())
}

fn kind_name(kind: SyncKind) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}
