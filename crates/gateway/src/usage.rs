//! The `/admin/v1/usage` handlers: a keyset-paginated JSON list and a streamed CSV export. The
//! metering itself and the rows are the store's (`gatehouse_store::usage`).

use std::fmt::Write as _;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use futures_util::StreamExt;
use gatehouse_api::{Page, Problem, UsageDaily, UsageGroupBy, UsageQuery};
pub use gatehouse_store::usage::{
    DailyDbRow, DailyRow, Revisions, UsageEvent, UsageFilter, add_daily, changed_since,
    cost_micros, is_counted, org_time_zone, push_add_daily, push_record_many, record, record_many,
};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiQuery;
use crate::permissions::Permission;

/// Checks the range and narrows a caller without `UsageRead` (a member) to their own usage.
fn scoped(mut filter: UsageFilter, caller: &Caller) -> ApiResult<UsageFilter> {
    if let (Some(from), Some(to)) = (filter.from, filter.to)
        && from > to
    {
        return Err(ApiError::invalid("from", "must not be after to"));
    }
    if !caller.allows(Permission::UsageRead) {
        match &filter.user_id {
            Some(other) if *other != caller.user_id => {
                return Err(ApiError::forbidden("read other users' usage"));
            }
            _ => filter.user_id = Some(caller.user_id.clone()),
        }
    }
    Ok(filter)
}

fn decode_cursor(cursor: &str) -> ApiResult<[String; 5]> {
    serde_json::from_str(&crate::cursor::decode(cursor)?)
        .map_err(|_| ApiError::invalid("cursor", "is not a cursor this server issued"))
}

/// Daily usage per user, model, workspace and API key
///
/// Ordered by day, then user, model, workspace and key; with `group_by=key`, one row per day,
/// user and key (model and workspace `""`). A caller without `usage.read` sees only their own
/// usage; asking for someone else's is `forbidden`.
#[utoipa::path(
    get, path = "/admin/v1/usage/daily", tag = "usage",
    params(UsageQuery),
    responses(
        (status = 200, description = "One page of daily rows", body = Page<UsageDaily>),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A member asked for another user's usage", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A bad filter, `from` after `to`, or a bad limit or cursor", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn daily(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<UsageQuery>,
) -> ApiResult<Json<Page<UsageDaily>>> {
    let limit = gatehouse_api::page_limit(query.limit)?;
    let cursor = query.cursor.as_deref().map(decode_cursor).transpose()?;
    let filter = scoped(UsageFilter::from(query), &caller)?;
    let rows = filter.page(&state.db.pool, cursor, limit + 1).await?;
    let page = crate::cursor::paginate(rows, limit, |r| {
        serde_json::to_string(&r.key()).expect("strings serialize")
    });
    Ok(Json(Page {
        items: page.items.into_iter().map(DailyDbRow::into_api).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// `GET /usage/export.csv` query: the list's filters; the export is every matching row, so it
/// takes no limit or cursor.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UsageExportQuery {
    /// First day, inclusive (`YYYY-MM-DD`).
    pub from: Option<NaiveDate>,
    /// Last day, inclusive.
    pub to: Option<NaiveDate>,
    pub user_id: Option<String>,
    pub group_id: Option<String>,
    pub model_id: Option<String>,
    pub workspace_id: Option<String>,
    pub key_id: Option<String>,
    /// `key`: one row per day, user and key, as in the list.
    #[param(inline)]
    pub group_by: Option<UsageGroupBy>,
}

impl From<UsageExportQuery> for UsageFilter {
    fn from(q: UsageExportQuery) -> Self {
        Self {
            from: q.from,
            to: q.to,
            user_id: q.user_id,
            group_id: q.group_id,
            model_id: q.model_id,
            workspace_id: q.workspace_id,
            key_id: q.key_id,
            by_key: q.group_by == Some(UsageGroupBy::Key),
        }
    }
}

pub const CSV_HEADER: &str =
    "day,user_id,model_id,workspace_id,requests,input_tokens,output_tokens,cost_usd,key_id\r\n";

/// Flushes the CSV to the socket in chunks of about this size rather than one frame per row.
pub(crate) const CSV_CHUNK: usize = 32 * 1024;

/// One RFC 4180 field: quoted when it holds a comma, a quote or a line break, quotes doubled.
pub(crate) fn csv_field(out: &mut String, field: &str) {
    if field.contains([',', '"', '\r', '\n']) {
        out.push('"');
        out.push_str(&field.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(field);
    }
}

/// Micro-USD as an exact decimal, never through a float.
fn usd(micros: i64) -> String {
    let sign = if micros < 0 { "-" } else { "" };
    let m = micros.unsigned_abs();
    format!("{sign}{}.{:06}", m / 1_000_000, m % 1_000_000)
}

/// The key comes last, so that readers of the columns before keys were metered find theirs
/// where they were.
fn csv_row(out: &mut String, r: &DailyDbRow) {
    for field in [&r.day, &r.user_id, &r.model_id, &r.workspace_id] {
        csv_field(out, field);
        out.push(',');
    }
    let _ = write!(
        out,
        "{},{},{},{},",
        r.requests,
        r.input_tokens,
        r.output_tokens,
        usd(r.cost_micros)
    );
    csv_field(out, &r.key_id);
    out.push_str("\r\n");
}

/// Daily usage as CSV, streamed
///
/// The same rows and order as `/usage/daily`, every page at once: a header row, then one row
/// per day, user, model and workspace, RFC 4180 with CRLF line ends; `cost_usd` is exact to the
/// micro-dollar. Rows are sent as the database yields them.
#[utoipa::path(
    get, path = "/admin/v1/usage/export.csv", tag = "usage",
    params(UsageExportQuery),
    responses(
        (status = 200, description = "The rows as CSV", body = String, content_type = "text/csv"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A member asked for another user's usage", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A bad filter, or `from` after `to`", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn export_csv(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<UsageExportQuery>,
) -> ApiResult<Response> {
    let mut rows = scoped(UsageFilter::from(query), &caller)?.stream(state.db.pool.clone());
    let body = async_stream::stream! {
        yield Ok::<Bytes, std::io::Error>(Bytes::from_static(CSV_HEADER.as_bytes()));
        let mut buf = String::with_capacity(CSV_CHUNK + 512);
        while let Some(row) = rows.next().await {
            match row {
                Ok(r) => {
                    csv_row(&mut buf, &r);
                    if buf.len() >= CSV_CHUNK {
                        yield Ok(Bytes::from(std::mem::take(&mut buf)));
                    }
                }
                Err(e) => {
                    // The status is already sent; breaking the body is how the client learns
                    // that the export is incomplete.
                    tracing::error!(error = %e, "usage export failed");
                    yield Err(std::io::Error::other("the usage export failed"));
                    return;
                }
            }
        }
        if !buf.is_empty() {
            yield Ok(Bytes::from(buf));
        }
    };
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"usage.csv\"",
            ),
        ],
        Body::from_stream(body),
    )
        .into_response())
}

/// This module's operations, which the gateway's router merges with the others'.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(daily))
        .routes(routes!(export_csv))
}
