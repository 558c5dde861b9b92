//! Spend against each budget period of a user, a group or the org, as the gateway counts it
//! (spend.rs): whole days of usage in the org's time zone, periods from `periods::bounds`.

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use gatehouse_api::effective::{USER_SOURCE, effective};
use gatehouse_api::{Budget, BudgetPeriod, SubjectKind, forecast, periods};

use super::{month_of, usd};
use crate::cache::Cache;
use crate::error::{CoreError, CoreResult};
use crate::ipc::{BudgetStatus, DaySpend, PeriodSpend, SpendSubject};

fn cap(budget: &Budget, period: BudgetPeriod) -> Option<f64> {
    match period {
        BudgetPeriod::Daily => budget.daily_usd,
        BudgetPeriod::Weekly => budget.weekly_usd,
        BudgetPeriod::Monthly => budget.monthly_usd,
    }
}

/// USD as the gateway keeps it: whole micro-dollars.
fn micros(usd: f64) -> i64 {
    (usd * 1e6).round() as i64
}

/// A cap and the name of the group it comes from, if not the subject's own.
type ChartCap = (Option<f64>, Option<String>);

impl Cache {
    /// Spend per day of `subject` from `first` to `last` inclusive, in micro-dollars.
    pub(crate) async fn spend_by_day(
        &self,
        subject: &SpendSubject,
        first: NaiveDate,
        last: NaiveDate,
    ) -> CoreResult<HashMap<NaiveDate, i64>> {
        let (sql, key) = match (subject.kind, subject.id.as_deref()) {
            (None, None) => (
                "SELECT day, cost_micros FROM usage_rollup WHERE dim = 'all' AND key = $1 \
                 AND day >= $2 AND day <= $3",
                "",
            ),
            (Some(SubjectKind::User), Some(id)) => (
                "SELECT day, SUM(cost_micros) FROM usage_daily WHERE user_id = $1 \
                 AND day >= $2 AND day <= $3 GROUP BY day",
                id,
            ),
            (Some(SubjectKind::Group), Some(id)) => (
                "SELECT u.day, SUM(u.cost_micros) FROM group_members gm JOIN usage_daily u \
                 ON u.user_id = gm.user_id AND u.day >= $2 AND u.day <= $3 \
                 WHERE gm.group_id = $1 GROUP BY u.day",
                id,
            ),
            _ => {
                return Err(CoreError::Invalid(
                    "a spend subject is a kind with an id, or neither for the org".into(),
                ));
            }
        };
        let rows: Vec<(String, i64)> = sqlx::query_as(sql)
            .bind(key)
            .bind(first.to_string())
            .bind(last.to_string())
            .fetch_all(self.pool())
            .await?;
        Ok(rows
            .into_iter()
            .map(|(d, c)| (d.parse().unwrap_or_default(), c))
            .collect())
    }

    /// The first day `subject` spent anything, as the forecast's pace needs it.
    async fn first_spend_day(&self, subject: &SpendSubject) -> CoreResult<Option<NaiveDate>> {
        let (sql, key) = match (subject.kind, subject.id.as_deref()) {
            (Some(SubjectKind::User), Some(id)) => (
                "SELECT MIN(day) FROM usage_daily WHERE user_id = $1 AND cost_micros > 0",
                id,
            ),
            (Some(SubjectKind::Group), Some(id)) => (
                "SELECT MIN(u.day) FROM group_members gm JOIN usage_daily u \
                 ON u.user_id = gm.user_id AND u.cost_micros > 0 WHERE gm.group_id = $1",
                id,
            ),
            _ => (
                "SELECT MIN(day) FROM usage_rollup WHERE dim = 'all' AND key = $1 \
                 AND cost_micros > 0",
                "",
            ),
        };
        let first: Option<String> = sqlx::query_scalar(sql)
            .bind(key)
            .fetch_one(self.pool())
            .await?;
        Ok(first.and_then(|d| d.parse().ok()))
    }

    /// Spend against `subject`'s own budget in the periods that contain now.
    pub async fn budget_status(&self, subject: &SpendSubject) -> CoreResult<BudgetStatus> {
        self.budget_status_at(subject, Utc::now()).await
    }

    /// [`Cache::budget_status`] as of `now`.
    pub async fn budget_status_at(
        &self,
        subject: &SpendSubject,
        now: DateTime<Utc>,
    ) -> CoreResult<BudgetStatus> {
        let (tz, time_zone) = self.time_zone().await?;
        let budget = match (subject.kind, subject.id.as_deref()) {
            (Some(kind), Some(id)) => Some(self.budget_of(kind, id).await?),
            _ => None,
        };
        // Usage is kept per day in the org's time zone and periods start at local midnight,
        // so a period's spend is the sum of its whole days.
        let local = |t: DateTime<Utc>| t.with_timezone(&tz).date_naive();
        let (week_start, _) = periods::bounds(BudgetPeriod::Weekly, now, tz);
        let (month_first, month_next) = month_of(local(now));
        // And the days the forecast's pace averages.
        let first = local(week_start)
            .min(month_first)
            .min(local(now) - Duration::days(forecast::PACE_DAYS));
        let spend = self.spend_by_day(subject, first, local(now)).await?;

        let mut periods_out = Vec::new();
        for period in BudgetPeriod::ALL {
            let cap_usd = budget.as_ref().and_then(|b| cap(b, period));
            if budget.is_some() && cap_usd.is_none() {
                continue;
            }
            let (start, end) = periods::bounds(period, now, tz);
            let (from, until) = (local(start), local(end));
            let spent: i64 = spend
                .iter()
                .filter(|(d, _)| **d >= from && **d < until)
                .map(|(_, c)| c)
                .sum();
            let thresholds = budget
                .as_ref()
                .map(|b| b.alert_thresholds.clone())
                .unwrap_or_default();
            let cap_micros = cap_usd.map(micros).filter(|c| *c > 0);
            let crossed = cap_micros.map_or_else(Vec::new, |cap| {
                thresholds
                    .iter()
                    .copied()
                    .filter(|t| i128::from(spent) * 100 >= i128::from(cap) * i128::from(*t))
                    .collect()
            });
            periods_out.push(PeriodSpend {
                period,
                start,
                end,
                spent_usd: usd(spent),
                cap_usd,
                percent: cap_micros.map(|c| spent as f64 * 100.0 / c as f64),
                thresholds,
                crossed,
                resets_at: end,
            });
        }

        let mut month = Vec::new();
        let mut cumulative = 0;
        let mut day = month_first;
        while day < month_next && day <= local(now) {
            let spent = spend.get(&day).copied().unwrap_or(0);
            cumulative += spent;
            month.push(DaySpend {
                day,
                spent_usd: usd(spent),
                cumulative_usd: usd(cumulative),
            });
            day += Duration::days(1);
        }
        let recent: Vec<(NaiveDate, f64)> = spend.iter().map(|(d, c)| (*d, usd(*c))).collect();
        let forecast = forecast::forecast(
            &recent,
            self.first_spend_day(subject).await?,
            budget.as_ref(),
            now,
            tz,
            &time_zone,
        );
        let (daily, monthly) = self.chart_caps(subject, budget.as_ref()).await?;
        Ok(BudgetStatus {
            forecast,
            subject: subject.clone(),
            time_zone,
            periods: periods_out,
            daily_cap_usd: daily.0,
            monthly_cap_usd: monthly.0,
            daily_cap_group: daily.1,
            monthly_cap_group: monthly.1,
            month,
        })
    }

    /// The daily and monthly caps a subject's chart draws, each with the name of the group it
    /// comes from: a user's effective caps by the gateway's rule (a group's may be stricter than
    /// their own, or the only one), anyone else's own.
    async fn chart_caps(
        &self,
        subject: &SpendSubject,
        own: Option<&Budget>,
    ) -> CoreResult<(ChartCap, ChartCap)> {
        let Some((SubjectKind::User, user_id)) = subject.kind.zip(subject.id.as_deref()) else {
            return Ok((
                (own.and_then(|b| b.daily_usd), None),
                (own.and_then(|b| b.monthly_usd), None),
            ));
        };
        let groups: Vec<String> = sqlx::query_scalar(
            "SELECT group_id FROM group_members WHERE user_id = $1 ORDER BY group_id",
        )
        .bind(user_id)
        .fetch_all(self.pool())
        .await?;
        let budget = effective(user_id, &self.user_policies(user_id, &groups).await?).budget;
        let mut caps = Vec::new();
        for cap in [budget.daily_usd, budget.monthly_usd] {
            let group = match cap.source.as_deref() {
                Some(id) if id != USER_SOURCE => {
                    sqlx::query_scalar::<_, String>("SELECT name FROM groups WHERE id = $1")
                        .bind(id)
                        .fetch_optional(self.pool())
                        .await?
                }
                _ => None,
            };
            caps.push((cap.value, group));
        }
        let monthly = caps.pop().unwrap_or_default();
        let daily = caps.pop().unwrap_or_default();
        Ok((daily, monthly))
    }
}
