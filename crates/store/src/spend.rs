//! Spend against budget periods, as the budget check and the data plane read it, and the
//! threshold alerts it raises: once per subject, period and threshold.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use gatehouse_api::{Alert, Budget, BudgetPeriod, SubjectKind, periods};
use sqlx::Row;

use crate::alerts::{self, NewAlert};
use crate::db::Tx;
use crate::policy::{budget_of, micros};
use crate::sql::SqlText;

/// A subject's budget as the data plane applies it: caps in micro-USD per period (`None` for
/// none), in [`BudgetPeriod::ALL`] order, and the alert thresholds in percent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Caps {
    pub micros: [Option<i64>; 3],
    pub thresholds: Vec<u32>,
}

impl Caps {
    pub fn of(budget: &Budget) -> Self {
        Self {
            micros: [budget.daily_usd, budget.weekly_usd, budget.monthly_usd]
                .map(|c| c.map(micros)),
            thresholds: budget.alert_thresholds.clone(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.micros.iter().all(Option::is_none)
    }
}

/// `[start, end)` of each budget period (in [`BudgetPeriod::ALL`] order) that contains `now`.
pub fn period_bounds(now: DateTime<Utc>, tz: Tz) -> [(DateTime<Utc>, DateTime<Utc>); 3] {
    type Day = (Tz, [(DateTime<Utc>, DateTime<Utc>); 3]);
    // Each request asks three times, and the answer moves only at local midnight: every period
    // is made of whole days, so all three stay as they are while `now` is in the same day. The
    // nine conversions in the zone are made once a day per thread.
    thread_local! {
        static LAST: std::cell::Cell<Option<Day>> = const { std::cell::Cell::new(None) };
    }
    LAST.with(|last| match last.get() {
        Some((zone, bounds)) if zone == tz && bounds[0].0 <= now && now < bounds[0].1 => bounds,
        _ => {
            let bounds = BudgetPeriod::ALL.map(|p| periods::bounds(p, now, tz));
            last.set(Some((tz, bounds)));
            bounds
        }
    })
}

/// Appends to the select list of `q` three columns: what a subject spent in each budget period
/// that contains `now` (in [`BudgetPeriod::ALL`] order), in micro-USD, from the spend counters:
/// a user's own, a group's members' (its current members, as the console charts it), or a key's
/// (both of its secrets, during a rotation's grace, are metered to it). Usage is
/// kept per day in the org's time zone and periods start at local midnight, so whole days add up
/// exactly. The data plane reads these beside other things in one statement.
pub fn push_period_spend(q: &mut SqlText, kind: SubjectKind, id: &str, now: DateTime<Utc>, tz: Tz) {
    let (table, who) = match kind {
        SubjectKind::User => ("spend_daily", " user_id = "),
        SubjectKind::Group => (
            "spend_daily",
            " user_id IN (SELECT user_id FROM group_members WHERE group_id = ",
        ),
        SubjectKind::Key => ("key_spend_daily", " key_id = "),
    };
    for (start, end) in period_bounds(now, tz) {
        q.push(", (SELECT CAST(COALESCE(SUM(cost_micros), 0) AS BIGINT) FROM ");
        q.push(table).push(" WHERE");
        q.push(who).bind(id.to_owned());
        if kind == SubjectKind::Group {
            q.push(")");
        }
        q.push(" AND day >= ")
            .bind(start.with_timezone(&tz).date_naive().to_string());
        q.push(" AND day < ")
            .bind(end.with_timezone(&tz).date_naive().to_string())
            .push(")");
    }
}

/// What `subject` spent in each budget period that contains `now`; see [`push_period_spend`].
pub async fn period_spend(
    conn: &mut sqlx::AnyConnection,
    kind: SubjectKind,
    id: &str,
    now: DateTime<Utc>,
    tz: Tz,
) -> Result<[i64; 3], sqlx::Error> {
    let mut q = SqlText::new("SELECT 0");
    push_period_spend(&mut q, kind, id, now, tz);
    let row = sqlx::query_with(&q.sql, q.args).fetch_one(conn).await?;
    Ok([row.try_get(1)?, row.try_get(2)?, row.try_get(3)?])
}

/// The thresholds of `caps` that `spent` (from [`period_spend`]) has reached, as alerts to raise.
pub fn reached(
    kind: SubjectKind,
    id: &str,
    caps: &Caps,
    spent: [i64; 3],
    now: DateTime<Utc>,
    tz: Tz,
) -> Vec<NewAlert> {
    let bounds = period_bounds(now, tz);
    let mut out = Vec::new();
    for (i, period) in BudgetPeriod::ALL.into_iter().enumerate() {
        let Some(cap) = caps.micros[i].filter(|c| *c > 0) else {
            continue;
        };
        for &threshold in &caps.thresholds {
            if i128::from(spent[i]) * 100 < i128::from(cap) * i128::from(threshold) {
                continue;
            }
            out.push(NewAlert {
                subject_kind: kind,
                subject_id: id.to_owned(),
                period,
                period_start: bounds[i].0,
                threshold,
                spent_micros: spent[i],
                cap_micros: cap,
            });
        }
    }
    out
}

/// Raises the alerts that `user_id`'s spend has crossed, for their own budget and each of their
/// groups', in the periods that contain `now`. Returns the alerts raised by this call; the gateway mails
/// them to the admins after the transaction commits.
pub async fn check_alerts(
    tx: &mut Tx,
    user_id: &str,
    now: DateTime<Utc>,
) -> Result<Vec<Alert>, sqlx::Error> {
    let tz = crate::usage::org_time_zone(tx).await?;
    let groups: Vec<String> =
        sqlx::query_scalar("SELECT group_id FROM group_members WHERE user_id = $1")
            .bind(user_id)
            .fetch_all(&mut **tx)
            .await?;
    let mut subjects = vec![(SubjectKind::User, user_id.to_owned())];
    subjects.extend(groups.into_iter().map(|g| (SubjectKind::Group, g)));
    let mut raised = Vec::new();
    for (kind, id) in subjects {
        raised.extend(check_subject_alerts(tx, kind, &id, now, tz).await?);
    }
    Ok(raised)
}

/// Raises the alerts that the subject's spend has crossed under its own budget, in the periods
/// that contain `now`: after spend (through [`check_alerts`]), and when the budget itself is
/// lowered below what was spent, when no more spend comes to raise them (every request is
/// refused at the cap). Each alert is raised once per subject, period and threshold.
pub async fn check_subject_alerts(
    tx: &mut Tx,
    kind: SubjectKind,
    id: &str,
    now: DateTime<Utc>,
    tz: Tz,
) -> Result<Vec<Alert>, sqlx::Error> {
    let (budget, _) = budget_of(&mut **tx, kind, id).await?;
    let caps = Caps::of(&budget);
    if caps.is_empty() {
        return Ok(Vec::new());
    }
    let spent = period_spend(tx, kind, id, now, tz).await?;
    let mut raised = Vec::new();
    for alert in reached(kind, id, &caps, spent, now, tz) {
        if let Some(a) = alerts::raise(tx, &alert).await? {
            raised.push(a);
        }
    }
    Ok(raised)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn the_bounds_kept_for_a_day_are_the_days_own() {
        let zones = [
            Tz::UTC,
            chrono_tz::Europe::Berlin,
            chrono_tz::America::New_York,
        ];
        // Six days over a week's and a month's end and Berlin's change to summer time, each
        // half hour and on either side of it: in one zone after the other (kept through each
        // day), then in the zones in turn (made again at each change of zone).
        let start = DateTime::parse_from_rfc3339("2026-03-27T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let instants: Vec<DateTime<Utc>> = (0..6 * 48)
            .map(|step| start + Duration::minutes(30 * step))
            .flat_map(|at| [at - Duration::nanoseconds(1), at, at + Duration::seconds(1)])
            .collect();
        let check = |now: DateTime<Utc>, tz: Tz| {
            let made = BudgetPeriod::ALL.map(|p| periods::bounds(p, now, tz));
            assert_eq!(period_bounds(now, tz), made, "{now} {tz}");
        };
        for tz in zones {
            for &now in &instants {
                check(now, tz);
            }
        }
        for &now in &instants {
            for tz in zones {
                check(now, tz);
            }
        }
    }
}
