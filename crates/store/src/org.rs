//! The `org` table (one row per gateway) and the seats in use.

use gatehouse_api::{Org, SyncChange, SyncKind};
use sqlx::FromRow;

use crate::db::{self, Tx, next_revision};

#[derive(Debug, FromRow)]
pub struct OrgRow {
    pub id: String,
    pub name: String,
    pub seat_limit: i64,
    pub invite_ttl_days: i64,
    pub time_zone: String,
    pub require_approval: i64,
    pub revision: i64,
    pub default_profile_id: Option<String>,
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
            default_profile_id: self.default_profile_id,
        }
    }
}

pub const ORG_SELECT: &str = "SELECT id, name, seat_limit, invite_ttl_days, time_zone, require_approval, revision, default_profile_id FROM org";

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

/// The organisation's name, if there is an organisation yet.
pub async fn name(tx: &mut Tx) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT name FROM org LIMIT 1")
        .fetch_optional(&mut **tx)
        .await
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

/// Writes `org`'s settings (all but its seats in use) and a fresh revision.
pub async fn update(tx: &mut Tx, org: &Org) -> Result<(), sqlx::Error> {
    let revision = next_revision(tx).await?;
    sqlx::query(
        "UPDATE org SET name = $1, seat_limit = $2, invite_ttl_days = $3, time_zone = $4, \
         require_approval = $5, revision = $6, default_profile_id = $8 WHERE id = $7",
    )
    .bind(&org.name)
    .bind(org.seat_limit)
    .bind(org.invite_ttl_days)
    .bind(&org.time_zone)
    .bind(i64::from(org.require_approval))
    .bind(revision)
    .bind(&org.id)
    .bind(org.default_profile_id.clone())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn changed_since(
    tx: &mut Tx,
    since: i64,
    fetch: i64,
) -> Result<Vec<SyncChange>, sqlx::Error> {
    let rows: Vec<OrgRow> =
        crate::feed::rows_since(tx, ORG_SELECT, "revision", since, fetch).await?;
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
