//! Budget threshold alerts: `/admin/v1/alerts`. Storing them (once per subject, period and
//! threshold) is the store's (`gatehouse_store::alerts`); deciding when a threshold is crossed
//! belongs to the budget check, which calls `raise`.

use axum::Json;
use axum::extract::State;
use gatehouse_api::{Alert, ListQuery, Page, Problem};
use gatehouse_store::alerts;
pub use gatehouse_store::alerts::{AlertRow, NewAlert, changed_since, raise};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiQuery;
use crate::permissions::Permission;

/// Budget threshold alerts, newest first
#[utoipa::path(
    get, path = "/admin/v1/alerts", tag = "usage",
    params(ListQuery),
    responses(
        (status = 200, description = "One page of alerts, newest first", body = Page<Alert>),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role may not read usage", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A bad limit or cursor", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> ApiResult<Json<Page<Alert>>> {
    caller.require(Permission::UsageRead, "read alerts")?;
    let limit = gatehouse_api::page_limit(query.limit)?;
    let before = match query.cursor.as_deref() {
        Some(cursor) => Some(
            crate::cursor::decode(cursor)?
                .parse::<i64>()
                .map_err(|_| ApiError::invalid("cursor", "is not a cursor this server issued"))?,
        ),
        None => None,
    };
    let rows = alerts::page(&state.db.pool, before, limit + 1).await?;
    let page = crate::cursor::paginate(rows, limit, |r| r.revision.to_string());
    Ok(Json(Page {
        items: page.items.into_iter().map(AlertRow::into_api).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// This module's operations, which the gateway's router merges with the others'.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list))
}
