//! The organisation (one per gateway), its seats, and the built-in roles.

use axum::Json;
use axum::extract::State;
use gatehouse_api::{ErrorCode, Org, OrgPatch, Role, RoleInfo, SyncChange, SyncKind};
use serde_json::json;
use sqlx::FromRow;

use crate::AppState;
use crate::auth::Caller;
use crate::db::{self, Tx, next_revision};
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::permissions::{self, Permission};

#[derive(Debug, FromRow)]
pub struct OrgRow {
    pub id: String,
    pub name: String,
    pub seat_limit: i64,
    pub invite_ttl_days: i64,
    pub time_zone: String,
    pub require_approval: i64,
    pub revision: i64,
}

impl OrgRow {
    pub fn into_api(self, seats_used: i64) -> Org {
        Org {
            id: self.id,
            name: self.name,
            seat_limit: self.seat_limit,
            seats_used,
            invite_ttl_days: self.invite_ttl_days,
            time_zone: self.time_zone,
            require_approval: self.require_approval != 0,
            revision: self.revision,
        }
    }
}

pub const ORG_SELECT: &str =
    "SELECT id, name, seat_limit, invite_ttl_days, time_zone, require_approval, revision FROM org";

/// Every account that is not deleted and every pending, unexpired invitation holds a seat.
pub async fn seats_used<'e, E>(exec: E) -> Result<i64, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query_scalar(
        "SELECT (SELECT COUNT(*) FROM users) + \
         (SELECT COUNT(*) FROM invitations WHERE status = 'pending' AND expires_at > $1)",
    )
    .bind(db::now())
    .fetch_one(exec)
    .await
}

pub async fn get(pool: &sqlx::AnyPool) -> Result<Option<Org>, sqlx::Error> {
    let row: Option<OrgRow> = sqlx::query_as(ORG_SELECT).fetch_optional(pool).await?;
    match row {
        Some(row) => Ok(Some(row.into_api(seats_used(pool).await?))),
        None => Ok(None),
    }
}

pub async fn get_in(tx: &mut Tx) -> Result<Org, sqlx::Error> {
    let row: OrgRow = sqlx::query_as(ORG_SELECT).fetch_one(&mut **tx).await?;
    let used = seats_used(&mut **tx).await?;
    Ok(row.into_api(used))
}

/// Fails with `seat_limit_reached` unless `adding` more seats fit. Inside a write transaction
/// (`Db::begin_write` serialises writers), so two requests never both take the last seat.
pub async fn check_seats(tx: &mut Tx, adding: i64) -> ApiResult<()> {
    let org = get_in(tx).await?;
    if org.seats_used + adding > org.seat_limit {
        return Err(ApiError::new(
            ErrorCode::SeatLimitReached,
            format!("{} of {} seats used.", org.seats_used, org.seat_limit),
        ));
    }
    Ok(())
}

pub async fn insert(tx: &mut Tx, name: &str, seat_limit: i64) -> Result<String, sqlx::Error> {
    let id = crate::new_id("org");
    let revision = next_revision(tx).await?;
    sqlx::query(
        "INSERT INTO org (id, name, seat_limit, created_at, revision) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&id)
    .bind(name)
    .bind(seat_limit)
    .bind(db::now())
    .bind(revision)
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

pub async fn changed_since(
    tx: &mut Tx,
    since: i64,
    fetch: i64,
) -> Result<Vec<SyncChange>, sqlx::Error> {
    let rows: Vec<OrgRow> =
        gatehouse_store::feed::rows_since(tx, ORG_SELECT, "revision", since, fetch).await?;
    let used = if rows.is_empty() {
        0
    } else {
        seats_used(&mut **tx).await?
    };
    Ok(rows
        .into_iter()
        .map(|r| {
            let org = r.into_api(used);
            SyncChange::upsert(SyncKind::Org, org.id.clone(), org.revision, &org)
        })
        .collect())
}

/// The organisation and its settings
#[utoipa::path(
    get, path = "/admin/v1/org", tag = "org",
    responses(
        (status = 200, description = "The organisation", body = Org),
        (status = 401, description = "No valid token", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Forbidden", body = gatehouse_api::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn show(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Org>> {
    caller.require(Permission::OrgRead, "read the organisation")?;
    let org = get(&state.db.pool)
        .await?
        .ok_or_else(|| ApiError::Internal("no org".into()))?;
    Ok(Json(org))
}

fn validate_patch(patch: &OrgPatch) -> ApiResult<()> {
    if let Some(name) = &patch.name {
        crate::validate::text("name", name, 1, 200)?;
    }
    if let Some(n) = patch.seat_limit
        && !(1..=1_000_000).contains(&n)
    {
        return Err(ApiError::invalid(
            "seat_limit",
            "must be between 1 and 1000000",
        ));
    }
    if let Some(n) = patch.invite_ttl_days
        && !(1..=30).contains(&n)
    {
        return Err(ApiError::invalid(
            "invite_ttl_days",
            "must be between 1 and 30",
        ));
    }
    if let Some(tz) = &patch.time_zone
        && tz.parse::<chrono_tz::Tz>().is_err()
    {
        return Err(ApiError::invalid(
            "time_zone",
            "is not an IANA time zone such as Europe/Berlin",
        ));
    }
    Ok(())
}

/// Change the organisation's settings
#[utoipa::path(
    patch, path = "/admin/v1/org", tag = "org",
    request_body = OrgPatch,
    responses(
        (status = 200, description = "The changed organisation", body = Org),
        (status = 401, description = "No valid token", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only admins change settings", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = gatehouse_api::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid settings", body = gatehouse_api::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn patch(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(patch): ApiJson<OrgPatch>,
) -> ApiResult<Json<Org>> {
    caller.require(Permission::OrgWrite, "change the organisation's settings")?;
    validate_patch(&patch)?;
    let mut tx = state.db.begin_write().await?;
    let before = get_in(&mut tx).await?;
    let revision = next_revision(&mut tx).await?;
    sqlx::query(
        "UPDATE org SET name = $1, seat_limit = $2, invite_ttl_days = $3, time_zone = $4, \
         require_approval = $5, revision = $6 WHERE id = $7",
    )
    .bind(
        patch
            .name
            .as_deref()
            .map(str::trim)
            .unwrap_or(&before.name)
            .to_owned(),
    )
    .bind(patch.seat_limit.unwrap_or(before.seat_limit))
    .bind(patch.invite_ttl_days.unwrap_or(before.invite_ttl_days))
    .bind(
        patch
            .time_zone
            .clone()
            .unwrap_or_else(|| before.time_zone.clone()),
    )
    .bind(i64::from(
        patch.require_approval.unwrap_or(before.require_approval),
    ))
    .bind(revision)
    .bind(&before.id)
    .execute(&mut *tx)
    .await?;
    let after = get_in(&mut tx).await?;
    crate::audit::record(
        &mut tx,
        Some(&caller.user_id),
        "org.updated",
        "org",
        &after.id,
        json!({ "before": before, "after": after }),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(after))
}

/// The built-in roles and their permissions
#[utoipa::path(
    get, path = "/admin/v1/roles", tag = "org",
    responses(
        (status = 200, description = "Every role", body = Vec<RoleInfo>),
        (status = 401, description = "No valid token", body = gatehouse_api::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn roles(_caller: Caller) -> Json<Vec<RoleInfo>> {
    Json(
        Role::ALL
            .into_iter()
            .map(|role| RoleInfo {
                role,
                description: permissions::describe(role).to_owned(),
                permissions: permissions::permissions_of(role),
            })
            .collect(),
    )
}
