//! The audit log's HTTP side; its rows and the writing of entries and tombstones are the
//! store's (`gatehouse_store::audit`), re-exported here for the handlers that record changes.

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use gatehouse_api::{AuditEntry, AuditExportFormat, AuditExportQuery, AuditQuery, Page};
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
    check_category(query.category.as_deref())?;
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

/// A category is the start of an action's name: refuse what could never be one.
fn check_category(category: Option<&str>) -> ApiResult<()> {
    match category {
        Some(c)
            if c.is_empty()
                || c.len() > 40
                || !c.chars().all(|ch| ch.is_ascii_lowercase() || ch == '_') =>
        {
            Err(ApiError::invalid(
                "category",
                "must be 1 to 40 lower-case letters or underscores, like user or invitation",
            ))
        }
        _ => Ok(()),
    }
}

/// The CSV export's header row.
pub const CSV_HEADER: &str = "id,at,actor_id,action,target_kind,target_id,revision,summary\r\n";

fn csv_row(out: &mut String, e: &AuditEntry) {
    use crate::usage::csv_field;
    for field in [
        e.id.as_str(),
        &e.at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        e.actor_id.as_deref().unwrap_or_default(),
        &e.action,
        &e.target_kind,
        &e.target_id,
        &e.revision.to_string(),
    ] {
        csv_field(out, field);
        out.push(',');
    }
    csv_field(out, &e.summary.to_string());
    out.push_str("\r\n");
}

/// The audit log as JSON Lines or CSV, streamed
///
/// Every entry matching the list's filters, newest first, without paging: `jsonl` (the default)
/// writes one entry per line in the list's JSON; `csv` a header row, then one row per entry
/// (RFC 4180, CRLF line ends) with the summary as its JSON text. Rows are sent as the database
/// yields them.
#[utoipa::path(
    get, path = "/admin/v1/audit/export", tag = "audit",
    params(AuditExportQuery),
    responses(
        (status = 200, description = "The entries as JSON Lines", body = String, content_type = "application/x-ndjson"),
        (status = 401, description = "No valid token", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role may not read the audit log", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A bad filter or format", body = gatehouse_api::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn export(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<AuditExportQuery>,
) -> ApiResult<Response> {
    caller.require(Permission::AuditRead, "export the audit log")?;
    check_category(query.category.as_deref())?;
    if let (Some(from), Some(to)) = (query.from, query.to)
        && from > to
    {
        return Err(ApiError::invalid("from", "must not be after to"));
    }
    let format = query.format.unwrap_or(AuditExportFormat::Jsonl);
    let mut rows = audit::stream(state.db.pool.clone(), &query);
    let chunk = crate::usage::CSV_CHUNK;
    let body = async_stream::stream! {
        let mut buf = String::with_capacity(chunk + 512);
        if format == AuditExportFormat::Csv {
            buf.push_str(CSV_HEADER);
        }
        while let Some(row) = rows.next().await {
            match row {
                Ok(r) => {
                    let entry = r.into_api();
                    match format {
                        AuditExportFormat::Csv => csv_row(&mut buf, &entry),
                        AuditExportFormat::Jsonl => {
                            buf.push_str(&serde_json::to_string(&entry).unwrap_or_default());
                            buf.push('\n');
                        }
                    }
                    if buf.len() >= chunk {
                        yield Ok::<Bytes, std::io::Error>(Bytes::from(std::mem::take(&mut buf)));
                    }
                }
                Err(e) => {
                    // The status is already sent; breaking the body is how the client learns
                    // that the export is incomplete.
                    tracing::error!(error = %e, "audit export failed");
                    yield Err(std::io::Error::other("the audit export failed"));
                    return;
                }
            }
        }
        if !buf.is_empty() {
            yield Ok(Bytes::from(buf));
        }
    };
    let (content_type, file) = match format {
        AuditExportFormat::Csv => (
            "text/csv; charset=utf-8",
            "attachment; filename=\"audit.csv\"",
        ),
        AuditExportFormat::Jsonl => (
            "application/x-ndjson",
            "attachment; filename=\"audit.jsonl\"",
        ),
    };
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_DISPOSITION, file),
        ],
        Body::from_stream(body),
    )
        .into_response())
}

/// This module's operations, which the gateway's router merges with the others'.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(export))
}
