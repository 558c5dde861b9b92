//! The mail that tells the org's admins of budget alerts. Spend, periods and raising the alerts
//! are the store's (`gatehouse_store::spend`), re-exported here.

use gatehouse_api::Alert;
use gatehouse_store::alerts;
pub use gatehouse_store::spend::{
    Caps, check_alerts, period_bounds, period_spend, push_period_spend, reached,
};

use crate::AppState;
use crate::mail::{Mail, Mailer};
use crate::pages::escape;

/// Mails each of `alerts` to every active admin.
pub async fn mail_admins(state: &AppState, alerts: &[Alert]) -> Result<(), sqlx::Error> {
    mail_admins_with(&state.db.pool, &state.mailer, alerts).await
}

/// [`mail_admins`] with the database pool and the mailer, for the data plane's metering.
pub async fn mail_admins_with(
    pool: &sqlx::AnyPool,
    mailer: &Mailer,
    alerts: &[Alert],
) -> Result<(), sqlx::Error> {
    if alerts.is_empty() {
        return Ok(());
    }
    let admins = alerts::admin_emails(pool).await?;
    for alert in alerts {
        let who = alerts::subject_name(pool, alert.subject_kind, &alert.subject_id)
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
            mailer.send_later(Mail {
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
