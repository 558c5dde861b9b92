//! The organisation: one per gateway.

use gatehouse_api::{Org, SyncChange, SyncKind};
use sqlx::FromRow;

use crate::db::{Tx, next_revision};

#[derive(Debug, FromRow)]
pub struct OrgRow {
    pub id: String,
    pub name: String,
    pub seat_limit: i64,
    pub invite_ttl_days: i64,
    pub time_zone: String,
    pub require_approval: i64,
    pub revision: i64,
    pub seats_used: i64,
}

impl OrgRow {
    pub fn into_api(self) -> Org {
        Org {
            id: self.id,
            name: self.name,
            seat_limit: self.seat_limit,
            seats_used: self.seats_used,
            invite_ttl_days: self.invite_ttl_days,
            time_zone: self.time_zone,
            require_approval: self.require_approval != 0,
            revision: self.revision,
        }
    }
}

/// Every account that is not deleted holds a seat.
pub const ORG_SELECT: &str = "SELECT id, name, seat_limit, invite_ttl_days, time_zone, require_approval, revision, \
     (SELECT COUNT(*) FROM users) AS seats_used FROM org";

pub async fn get<'e, E>(exec: E) -> Result<Option<Org>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let row: Option<OrgRow> = sqlx::query_as(ORG_SELECT).fetch_optional(exec).await?;
    Ok(row.map(OrgRow::into_api))
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
    .bind(crate::db::now())
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
    let rows: Vec<OrgRow> = sqlx::query_as(&format!(
        "{ORG_SELECT} WHERE revision > $1 ORDER BY revision LIMIT $2"
    ))
    .bind(since)
    .bind(fetch)
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let org = r.into_api();
            SyncChange::upsert(SyncKind::Org, org.id.clone(), org.revision, &org)
        })
        .collect())
}
