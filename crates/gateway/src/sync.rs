//! `/admin/v1/sync`: every change after a revision, in revision order, deletions as tombstones.
//! Each kind is read with its own indexed range query and the results are merged, so one page
//! costs at most `kinds × (limit + 1)` index reads.

use axum::Json;
use axum::extract::State;
use gatehouse_api::{SyncChange, SyncKind, SyncPage, SyncQuery};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::Caller;
use crate::db::Tx;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiQuery;
use crate::permissions::Permission;
use crate::{
    alerts, audit, groups, invitations, keys, models, org, policy, usage, users, workspaces,
};

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
    ApiQuery(query): ApiQuery<SyncQuery>,
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
    Ok(Json(changes_since(&state, &caller, since, limit).await?))
}

async fn tombstones_since(
    tx: &mut Tx,
    since: i64,
    fetch: i64,
) -> Result<Vec<SyncChange>, sqlx::Error> {
    let rows = gatehouse_store::feed::tombstones_since(tx, since, fetch).await?;
    Ok(rows
        .into_iter()
        .filter_map(|(kind, id, revision)| {
            Some(SyncChange {
                kind: kind_from_str(&kind)?,
                id,
                revision,
                deleted: true,
                data: None,
            })
        })
        .collect())
}

pub async fn changes_since(
    state: &AppState,
    caller: &Caller,
    since: i64,
    limit: i64,
) -> Result<SyncPage, sqlx::Error> {
    // One snapshot for every kind (see `Db::begin_read`).
    let mut tx = state.db.begin_read().await?;
    let fetch = limit + 1;
    let mut changes: Vec<SyncChange> = Vec::new();
    changes.extend(org::changed_since(&mut tx, since, fetch).await?);
    changes.extend(users::changed_since(&mut tx, since, fetch).await?);
    changes.extend(workspaces::changed_since(&mut tx, since, fetch).await?);
    changes.extend(workspaces::memberships_changed_since(&mut tx, since, fetch).await?);
    changes.extend(groups::changed_since(&mut tx, since, fetch).await?);
    changes.extend(groups::members_changed_since(&mut tx, since, fetch).await?);
    changes.extend(policy::changed_since(&mut tx, since, fetch).await?);
    changes.extend(keys::changed_since(&mut tx, since, fetch).await?);
    let links = invitations::Links::for_caller(state, caller);
    if caller.allows(Permission::InvitationsRead) || links.is_some() {
        changes.extend(invitations::changed_since(&mut tx, since, fetch, links).await?);
    }
    changes.extend(models::changed_since(&mut tx, since, fetch).await?);
    changes.extend(gatehouse_store::profiles::changed_since(&mut tx, since, fetch).await?);
    if caller.allows(Permission::UsageRead) {
        changes.extend(usage::changed_since(&mut tx, since, fetch).await?);
        changes.extend(alerts::changed_since(&mut tx, since, fetch).await?);
    }
    if caller.allows(Permission::AuditRead) {
        changes.extend(audit::changed_since(&mut tx, since, fetch).await?);
    }
    changes.extend(tombstones_since(&mut tx, since, fetch).await?);
    let head = gatehouse_store::feed::head(&mut tx).await?;
    tx.commit().await?;

    changes.sort_by_key(|c| c.revision);
    let has_more = changes.len() as i64 > limit;
    changes.truncate(limit as usize);
    let next_since = changes.last().map_or(since, |c| c.revision);
    Ok(SyncPage {
        changes,
        next_since,
        has_more,
        head,
    })
}

/// This module's operations, which the gateway's router merges with the others'.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(sync))
}
