//! The audit log's HTTP side; its rows and the writing of entries and tombstones are the
//! store's (`gatehouse_store::audit`), re-exported here for the handlers that record changes.

use axum::Json;
use axum::extract::State;
use gatehouse_api::{AuditEntry, AuditQuery, Page};
use gatehouse_store::audit;
pub use gatehouse_store::audit::{AUDIT_COLUMNS, AuditRow, changed_since, record, tombstone};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiQuery;
use crate::permissions::Permission;

/// The audit log, newest first
#[utoipa::path(
    get, path = "/admin/v1/audit", tag = "audit",
    params(AuditQuery),
    responses(
        (status = 200, description = "One page of entries, newest first", body = Page<AuditEntry>),
        (status = 401, description = "No valid token", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role may not read the audit log", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A bad filter", body = gatehouse_api::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> ApiResult<Json<Page<AuditEntry>>> {
    caller.require(Permission::AuditRead, "read the audit log")?;
    let limit = gatehouse_api::page_limit(query.limit)?;
    let before = match query.cursor.as_deref() {
        Some(cursor) => Some(
            crate::cursor::decode(cursor)?
                .parse::<i64>()
                .map_err(|_| ApiError::invalid("cursor", "is not a cursor this server issued"))?,
        ),
        None => None,
    };
    let rows = audit::page(&state.db.pool, &query, before, limit + 1).await?;
    let page = crate::cursor::paginate(rows, limit, |r| r.revision.to_string());
    Ok(Json(Page {
        items: page.items.into_iter().map(AuditRow::into_api).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// This module's operations, which the gateway's router merges with the others'.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list))
}
