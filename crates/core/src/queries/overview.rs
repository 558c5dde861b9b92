//! The overview screen's figures.

use chrono::{DateTime, Duration, Utc};
use gatehouse_api::Alert;

use super::{month_of, parse, stamp};
use crate::cache::Cache;
use crate::error::CoreResult;
use crate::ipc::{ACTIVE_NOW_MINUTES, Overview, SpendSubject};

impl Cache {
    /// Seats, users, who is active now, pending invitations, spend this month, recent alerts.
    pub async fn overview(&self) -> CoreResult<Overview> {
        self.overview_at(Utc::now()).await
    }

    /// [`Cache::overview`] as of `now`.
    pub async fn overview_at(&self, now: DateTime<Utc>) -> CoreResult<Overview> {
        let org = self.org().await?;
        let active_now: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE last_active_at >= $1")
                .bind(stamp(now - Duration::minutes(ACTIVE_NOW_MINUTES)))
                .fetch_one(self.pool())
                .await?;
        let pending: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM invitations WHERE status IN ('pending', 'expired') \
             AND julianday(expires_at) > julianday($1)",
        )
        .bind(stamp(now))
        .fetch_one(self.pool())
        .await?;
        let (first, next) = month_of(self.today(now).await?);
        let spend: i64 = self
            .spend_by_day(
                &SpendSubject::default(),
                first,
                next.pred_opt().unwrap_or(next),
            )
            .await?
            .values()
            .sum();
        let total_users = self.count_users().await?;
        let recent_alerts = sqlx::query_scalar::<_, String>(
            "SELECT data FROM alerts ORDER BY created_at DESC, id DESC LIMIT 10",
        )
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(|d| parse::<Alert>("alert", d))
        .collect::<CoreResult<Vec<_>>>()?;
        Ok(Overview {
            org_name: org.as_ref().map(|o| o.name.clone()).unwrap_or_default(),
            // The gateway's rule (every account and every pending invitation not yet expired
            // holds a seat) over the cache: the org row's own figure is as old as the org's
            // last change, while invitations and users sync as they change.
            seats_used: total_users as i64 + pending,
            seat_limit: org.as_ref().map_or(0, |o| o.seat_limit),
            total_users,
            active_now: active_now as u64,
            pending_invitations: pending as u64,
            spend_mtd_usd: super::usd(spend),
            recent_alerts,
        })
    }
}
