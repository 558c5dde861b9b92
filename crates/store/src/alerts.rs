//! Budget threshold alerts as stored: raised once per subject, period and threshold, with an
//! audit entry; and who hears of them.

use chrono::{DateTime, Utc};
use gatehouse_api::{Alert, BudgetPeriod, SubjectKind, SyncChange, SyncKind};
use serde_json::json;
use sqlx::FromRow;

use crate::db::{self, Tx, next_revision};
use crate::sql::SqlText;

const ALERT_COLUMNS: &str = "id, subject_kind, subject_id, period, period_start, threshold, spent_micros, cap_micros, created_at, revision";

#[derive(Debug, FromRow)]
pub struct AlertRow {
    pub id: String,
    pub subject_kind: String,
    pub subject_id: String,
    pub period: String,
    pub period_start: String,
    pub threshold: i64,
    pub spent_micros: i64,
    pub cap_micros: i64,
    pub created_at: String,
    pub revision: i64,
}

impl AlertRow {
    pub fn into_api(self) -> Alert {
        Alert {
            subject_kind: SubjectKind::parse(&self.subject_kind).unwrap_or(SubjectKind::User),
            period: BudgetPeriod::ALL
                .into_iter()
                .find(|p| p.as_str() == self.period)
                .unwrap_or(BudgetPeriod::Daily),
            period_start: db::parse_timestamp(&self.period_start),
            threshold: u32::try_from(self.threshold).unwrap_or(0),
            spent_usd: self.spent_micros as f64 / 1e6,
            cap_usd: self.cap_micros as f64 / 1e6,
            created_at: db::parse_timestamp(&self.created_at),
            id: self.id,
            subject_id: self.subject_id,
            revision: self.revision,
        }
    }
}

/// A threshold crossed by a subject's spend in one budget period.
#[derive(Debug, Clone)]
pub struct NewAlert {
    pub subject_kind: SubjectKind,
    pub subject_id: String,
    pub period: BudgetPeriod,
    pub period_start: DateTime<Utc>,
    /// Percent of the cap.
    pub threshold: u32,
    pub spent_micros: i64,
    pub cap_micros: i64,
}

/// Stores an alert with its audit entry, once per subject, period and threshold: returns
/// `None` when this one was already raised, so that concurrent requests that cross the same
/// threshold alert (and mail) once.
pub async fn raise(tx: &mut Tx, alert: &NewAlert) -> Result<Option<Alert>, sqlx::Error> {
    let id = crate::new_id("alr");
    let revision = next_revision(tx).await?;
    let done = sqlx::query(
        "INSERT INTO alerts (id, subject_kind, subject_id, period, period_start, threshold, \
         spent_micros, cap_micros, created_at, revision) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
         ON CONFLICT (subject_kind, subject_id, period, period_start, threshold) DO NOTHING",
    )
    .bind(&id)
    .bind(alert.subject_kind.as_str())
    .bind(&alert.subject_id)
    .bind(alert.period.as_str())
    .bind(db::timestamp(alert.period_start))
    .bind(i64::from(alert.threshold))
    .bind(alert.spent_micros)
    .bind(alert.cap_micros)
    .bind(db::now())
    .bind(revision)
    .execute(&mut **tx)
    .await?;
    if done.rows_affected() == 0 {
        return Ok(None);
    }
    let row: AlertRow =
        sqlx::query_as(&format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE id = $1"))
            .bind(&id)
            .fetch_one(&mut **tx)
            .await?;
    let alert = row.into_api();
    crate::audit::record(
        tx,
        None,
        "alert.raised",
        alert.subject_kind.as_str(),
        &alert.subject_id,
        json!({ "after": alert }),
    )
    .await?;
    Ok(Some(alert))
}

/// One page of alerts, newest first, older than the revision `before`, at most `fetch`. Alerts
/// are never updated, so revision order is creation order and new alerts land before the first
/// page, never inside a walk.
pub async fn page(
    pool: &sqlx::AnyPool,
    before: Option<i64>,
    fetch: i64,
) -> Result<Vec<AlertRow>, sqlx::Error> {
    let mut q = SqlText::new(&format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE 1 = 1"));
    if let Some(revision) = before {
        q.push(" AND revision < ").bind(revision);
    }
    q.push(" ORDER BY revision DESC LIMIT ").bind(fetch);
    sqlx::query_as_with(&q.sql, q.args).fetch_all(pool).await
}

/// The addresses of the org's active admins, who are mailed the alerts.
pub async fn admin_emails(pool: &sqlx::AnyPool) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT email FROM users WHERE role = 'admin' AND status = 'active'")
        .fetch_all(pool)
        .await
}

/// What an alert's subject is called in a mail: a user's e-mail or a group's name (`None` when
/// it is gone).
pub async fn subject_name(
    pool: &sqlx::AnyPool,
    kind: SubjectKind,
    id: &str,
) -> Result<Option<String>, sqlx::Error> {
    match kind {
        SubjectKind::User => sqlx::query_scalar("SELECT email FROM users WHERE id = $1"),
        SubjectKind::Group => sqlx::query_scalar("SELECT name FROM groups WHERE id = $1"),
        SubjectKind::Key => {
            sqlx::query_scalar("SELECT 'API key ' || name FROM api_keys WHERE id = $1")
        }
    }
    .bind(id)
    .fetch_optional(pool)
    .await
}

pub async fn changed_since(
    tx: &mut Tx,
    since: i64,
    fetch: i64,
) -> Result<Vec<SyncChange>, sqlx::Error> {
    let rows: Vec<AlertRow> = crate::feed::rows_since(
        tx,
        &format!("SELECT {ALERT_COLUMNS} FROM alerts"),
        "revision",
        since,
        fetch,
    )
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let alert = r.into_api();
            SyncChange::upsert(SyncKind::Alert, alert.id.clone(), alert.revision, &alert)
        })
        .collect())
}
