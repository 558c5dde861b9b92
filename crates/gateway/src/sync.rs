//! `/admin/v1/sync`: every change after a revision, in revision order, deletions as tombstones.
//! Each kind is read with its own indexed range query and the results are merged, so one page
//! costs `kinds × limit` index reads at most.

use axum::Json;
use axum::extract::State;
use gatehouse_api::{SyncChange, SyncKind, SyncPage, SyncQuery};

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::org::{ORG_SELECT, OrgRow};
use crate::permissions::Permission;
use crate::users::{USER_COLUMNS, UserRow, attach_workspaces};
use crate::workspaces::{MembershipRow, WORKSPACE_SELECT, WorkspaceRow};

fn json<T: serde::Serialize>(value: T) -> Option<serde_json::Value> {
    Some(serde_json::to_value(value).expect("wire types serialize"))
}

fn kind_from_str(s: &str) -> Option<SyncKind> {
    serde_json::from_value(serde_json::Value::String(s.to_owned())).ok()
}

/// Changes since a revision, for clients that keep a cache
#[utoipa::path(
    get, path = "/admin/v1/sync", tag = "sync",
    params(SyncQuery),
    responses(
        (status = 200, description = "Changes in revision order", body = SyncPage),
        (status = 401, description = "No valid token", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role may not sync", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A bad parameter", body = gatehouse_api::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn sync(
    State(state): State<AppState>,
    caller: Caller,
    crate::extract::ApiQuery(query): crate::extract::ApiQuery<SyncQuery>,
) -> ApiResult<Json<SyncPage>> {
    caller.require(Permission::SyncRead, "read the change feed")?;
    let since = query.since.unwrap_or(0);
    if since < 0 {
        return Err(ApiError::invalid("since", "must be 0 or more"));
    }
    let limit = match query.limit {
        None => 1000,
        Some(n @ 1..=5000) => i64::from(n),
        Some(_) => return Err(ApiError::invalid("limit", "must be between 1 and 5000")),
    };
    Ok(Json(changes_since(&state, since, limit).await?))
}

pub async fn changes_since(
    state: &AppState,
    since: i64,
    limit: i64,
) -> Result<SyncPage, sqlx::Error> {
    // One read transaction so that every kind is read from the same snapshot.
    let mut tx = state.db.pool.begin().await?;
    let fetch = limit + 1;
    let mut changes: Vec<SyncChange> = Vec::new();

    let orgs: Vec<OrgRow> = sqlx::query_as(&format!(
        "{ORG_SELECT} WHERE revision > $1 ORDER BY revision LIMIT $2"
    ))
    .bind(since)
    .bind(fetch)
    .fetch_all(&mut *tx)
    .await?;
    changes.extend(orgs.into_iter().map(|o| {
        let org = o.into_api();
        SyncChange {
            kind: SyncKind::Org,
            id: org.id.clone(),
            revision: org.revision,
            deleted: false,
            data: json(org),
        }
    }));

    let users: Vec<UserRow> = sqlx::query_as(&format!(
        "SELECT {USER_COLUMNS} FROM users WHERE revision > $1 ORDER BY revision LIMIT $2"
    ))
    .bind(since)
    .bind(fetch)
    .fetch_all(&mut *tx)
    .await?;
    for user in attach_workspaces(&mut *tx, users).await? {
        changes.push(SyncChange {
            kind: SyncKind::User,
            id: user.id.clone(),
            revision: user.revision,
            deleted: false,
            data: json(user),
        });
    }

    let workspaces: Vec<WorkspaceRow> = sqlx::query_as(&format!(
        "{WORKSPACE_SELECT} WHERE w.revision > $1 ORDER BY w.revision LIMIT $2"
    ))
    .bind(since)
    .bind(fetch)
    .fetch_all(&mut *tx)
    .await?;
    changes.extend(workspaces.into_iter().map(|w| {
        let ws = w.into_api();
        SyncChange {
            kind: SyncKind::Workspace,
            id: ws.id.clone(),
            revision: ws.revision,
            deleted: false,
            data: json(ws),
        }
    }));

    let memberships: Vec<MembershipRow> = sqlx::query_as(
        "SELECT workspace_id, user_id, role, revision FROM memberships WHERE revision > $1 ORDER BY revision LIMIT $2",
    )
    .bind(since)
    .bind(fetch)
    .fetch_all(&mut *tx)
    .await?;
    changes.extend(memberships.into_iter().map(|m| SyncChange {
        kind: SyncKind::Membership,
        id: m.sync_id(),
        revision: m.revision,
        deleted: false,
        data: json(m.into_api()),
    }));

    let tombstones: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT kind, id, revision FROM tombstones WHERE revision > $1 ORDER BY revision LIMIT $2",
    )
    .bind(since)
    .bind(fetch)
    .fetch_all(&mut *tx)
    .await?;
    changes.extend(tombstones.into_iter().filter_map(|(kind, id, revision)| {
        Some(SyncChange {
            kind: kind_from_str(&kind)?,
            id,
            revision,
            deleted: true,
            data: None,
        })
    }));
    tx.commit().await?;

    changes.sort_by_key(|c| c.revision);
    let has_more = changes.len() as i64 > limit;
    changes.truncate(limit as usize);
    let next_since = changes.last().map_or(since, |c| c.revision);
    Ok(SyncPage {
        changes,
        next_since,
        has_more,
    })
}
