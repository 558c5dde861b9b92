//! Spend against budget periods, and the threshold alerts it raises: once per subject, period
//! and threshold, with an audit entry and a mail to the org's admins.

use chrono::{DateTime, Utc};
use gatehouse_api::{Alert, BudgetPeriod, SubjectKind};

use crate::alerts::{self, NewAlert};
use crate::db::Tx;
use crate::mail::Mail;
use crate::pages::escape;
use crate::policy::{budget_of, micros};
use crate::{AppState, periods};

/// What `subject` spent in `[start, end)` of a period, in micro-USD. Usage is kept per day in
/// the org's time zone, and periods start at local midnight, so whole days add up exactly.
pub async fn spent(
    tx: &mut Tx,
    kind: SubjectKind,
    id: &str,
    (start, end): (DateTime<Utc>, DateTime<Utc>),
    tz: chrono_tz::Tz,
) -> Result<i64, sqlx::Error> {
    let first = start.with_timezone(&tz).date_naive().to_string();
    let next = end.with_timezone(&tz).date_naive().to_string();
    let who = match kind {
        SubjectKind::User => "user_id = $1",
        SubjectKind::Group => "user_id IN (SELECT user_id FROM group_members WHERE group_id = $1)",
    };
    sqlx::query_scalar(&format!(
        "SELECT CAST(COALESCE(SUM(cost_micros), 0) AS BIGINT) FROM usage_daily \
         WHERE {who} AND day >= $2 AND day < $3"
    ))
    .bind(id)
    .bind(first)
    .bind(next)
    .fetch_one(&mut **tx)
    .await
}

/// Raises the alerts that `user_id`'s spend has crossed, for their own budget and each of their
/// groups', in the periods that contain `now`. Returns the alerts raised by this call; mail them
/// with [`mail_admins`] after the transaction commits.
pub async fn check_alerts(
    tx: &mut Tx,
    user_id: &str,
    now: DateTime<Utc>,
) -> Result<Vec<Alert>, sqlx::Error> {
    let tz: String = sqlx::query_scalar("SELECT time_zone FROM org")
        .fetch_one(&mut **tx)
        .await?;
    let tz = periods::zone(&tz);
    let groups: Vec<String> =
        sqlx::query_scalar("SELECT group_id FROM group_members WHERE user_id = $1")
            .bind(user_id)
            .fetch_all(&mut **tx)
            .await?;
    let mut subjects = vec![(SubjectKind::User, user_id.to_owned())];
    subjects.extend(groups.into_iter().map(|g| (SubjectKind::Group, g)));
    let mut raised = Vec::new();
    for (kind, id) in subjects {
        let (budget, _) = budget_of(&mut **tx, kind, &id).await?;
        for period in BudgetPeriod::ALL {
            let cap = match period {
                BudgetPeriod::Daily => budget.daily_usd,
                BudgetPeriod::Weekly => budget.weekly_usd,
                BudgetPeriod::Monthly => budget.monthly_usd,
            };
            let Some(cap) = cap.map(micros).filter(|c| *c > 0) else {
                continue;
            };
            let bounds = periods::bounds(period, now, tz);
            let spent = spent(tx, kind, &id, bounds, tz).await?;
            for &threshold in &budget.alert_thresholds {
                if i128::from(spent) * 100 < i128::from(cap) * i128::from(threshold) {
                    continue;
                }
                let alert = NewAlert {
                    subject_kind: kind,
                    subject_id: id.clone(),
                    period,
                    period_start: bounds.0,
                    threshold,
                    spent_micros: spent,
                    cap_micros: cap,
                };
                if let Some(a) = alerts::raise(tx, &alert).await? {
                    raised.push(a);
                }
            }
        }
    }
    Ok(raised)
}

/// Mails each of `alerts` to every active admin.
pub async fn mail_admins(state: &AppState, alerts: &[Alert]) -> Result<(), sqlx::Error> {
    if alerts.is_empty() {
        return Ok(());
    }
    let admins: Vec<String> =
        sqlx::query_scalar("SELECT email FROM users WHERE role = 'admin' AND status = 'active'")
            .fetch_all(&state.db.pool)
            .await?;
    for alert in alerts {
        let who = match alert.subject_kind {
            SubjectKind::User => sqlx::query_scalar("SELECT email FROM users WHERE id = $1"),
            SubjectKind::Group => sqlx::query_scalar("SELECT name FROM groups WHERE id = $1"),
        }
        .bind(&alert.subject_id)
        .fetch_optional(&state.db.pool)
        .await?
        .unwrap_or_else(|| alert.subject_id.clone());
        let what = format!(
            "{who} has spent ${:.2} of the {} budget of ${:.2} ({}% alert).",
            alert.spent_usd,
            alert.period.as_str(),
            alert.cap_usd,
            alert.threshold
        );
        for admin in &admins {
            state.mailer.send_later(Mail {
                kind: "budget_alert",
                to: admin.clone(),
                subject: format!("Budget alert: {who} at {}% of the {} budget", alert.threshold, alert.period.as_str()),
                text: format!("{what}\n\nSee the Usage and Audit screens of the Gatehouse console.\n"),
                html: format!("<!DOCTYPE html><html><body style=\"font-family:sans-serif\"><p>{}</p></body></html>", escape(&what)),
            });
        }
    }
    Ok(())
}
