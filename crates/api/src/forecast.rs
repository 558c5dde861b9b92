//! Spend forecasts, as a pure rule over spend per local day in the org's time zone (usage is
//! kept per local day): the gateway answers `/forecast` with it from `usage_daily`, and the
//! desktop app computes it from its cache, so both call [`forecast`].
//!
//! The rule:
//! - **Pace** is the average daily spend over the last 7 *complete* local days (today is not
//!   complete and does not count). With less history, the average runs over the complete days
//!   since the first day with usage (`first_usage`): a subject that started 3 days ago is
//!   averaged over those 3 days, not diluted over 7. With no complete day of usage (none at
//!   all, or the first usage is today) the pace is today's spend so far. No spend is a pace of
//!   0: nothing more is expected and no budget runs out.
//! - **Today** is expected to reach at least the pace: it counts as `max(spent today, pace)`.
//! - **Month-end spend** = month-to-date spend (today as above) + pace × the whole local days
//!   left in the month after today.
//! - **Run-out day** of a budget period (daily, weekly, monthly) with a cap: the first local day
//!   on which the period's spend (spent so far, today as above, then pace per day) reaches the
//!   cap; today when it already has; none when the pace does not reach the cap before the period
//!   resets. A period without a cap has no run-out day.
//!
//! Days are calendar days, so a DST change (a 23- or 25-hour day) counts as one day like any
//! other; the instants a period resets come from [`crate::periods::bounds`].

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use ts_rs::TS;
use utoipa::ToSchema;

use crate::{Budget, BudgetPeriod, periods};

/// How many complete days the pace averages at most.
pub const PACE_DAYS: i64 = 7;

/// One budget period of a forecast.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
pub struct PeriodForecast {
    pub period: BudgetPeriod,
    /// The subject's own cap for the period, if any.
    pub cap_usd: Option<f64>,
    /// Spent in the period that contains now.
    pub spent_usd: f64,
    /// When the period ends and its budget starts again (RFC 3339), in the org's time zone.
    pub resets_at: DateTime<Utc>,
    /// The local day the cap is reached at the current pace; `null` without a cap or when the
    /// period resets first.
    pub runs_out_on: Option<NaiveDate>,
}

/// A subject's spend forecast at the current pace (the rule is in the `forecast` module's
/// documentation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, TS)]
pub struct Forecast {
    /// The instant the forecast was computed for.
    pub as_of: DateTime<Utc>,
    /// The org's time zone the days are counted in.
    pub time_zone: String,
    /// Average daily spend in USD.
    pub pace_usd_per_day: f64,
    /// How many complete days the pace averages (0: today's spend so far is the pace).
    pub pace_days: u32,
    pub month_to_date_usd: f64,
    /// Expected spend for the whole month at the pace.
    pub month_end_usd: f64,
    /// Daily, weekly and monthly, always all three (each with its reset instant).
    pub periods: Vec<PeriodForecast>,
}

fn cap(budget: &Budget, period: BudgetPeriod) -> Option<f64> {
    match period {
        BudgetPeriod::Daily => budget.daily_usd,
        BudgetPeriod::Weekly => budget.weekly_usd,
        BudgetPeriod::Monthly => budget.monthly_usd,
    }
}

/// The instant the budget `period` containing `now` resets, in `tz`.
pub fn resets_at(period: BudgetPeriod, now: DateTime<Utc>, tz: Tz) -> DateTime<Utc> {
    periods::bounds(period, now, tz).1
}

/// The forecast as of `now` in `tz`, from `spend`: USD per local day (any order; days outside
/// the month, the week and the last 7 days are not read; a day may appear more than once and
/// adds up), `first_usage`: the first local day the subject had usage at all (`None`: never),
/// and `budget`: the subject's caps (`None` for the org, which has none).
pub fn forecast(
    spend: &[(NaiveDate, f64)],
    first_usage: Option<NaiveDate>,
    budget: Option<&Budget>,
    now: DateTime<Utc>,
    tz: Tz,
    time_zone: &str,
) -> Forecast {
    let today = now.with_timezone(&tz).date_naive();
    let local = |t: DateTime<Utc>| t.with_timezone(&tz).date_naive();
    let sum_days = |from: NaiveDate, until: NaiveDate| -> f64 {
        spend
            .iter()
            .filter(|(d, _)| *d >= from && *d < until)
            .map(|(_, usd)| usd)
            .sum()
    };
    let spent_today = sum_days(today, today + Duration::days(1));

    let window_start = today - Duration::days(PACE_DAYS);
    let from = match first_usage {
        Some(first) if first > window_start => first,
        _ => window_start,
    };
    let complete_days = match first_usage {
        Some(_) => (today - from).num_days().clamp(0, PACE_DAYS),
        None => 0,
    };
    let pace = if complete_days > 0 {
        sum_days(from, today) / complete_days as f64
    } else {
        spent_today
    };
    let today_expected = spent_today.max(pace);

    let mut periods_out = Vec::with_capacity(3);
    let mut month_to_date = 0.0;
    let mut month_end = 0.0;
    for period in BudgetPeriod::ALL {
        let (start, end) = periods::bounds(period, now, tz);
        let (first, next) = (local(start), local(end));
        let spent = sum_days(first, today + Duration::days(1));
        let before_today = sum_days(first, today);
        // Whole local days of the period after today.
        let days_left = (next - today).num_days().saturating_sub(1).max(0);
        if period == BudgetPeriod::Monthly {
            month_to_date = spent;
            month_end = before_today + today_expected + pace * days_left as f64;
        }
        let cap_usd = budget.and_then(|b| cap(b, period));
        let runs_out_on = cap_usd.and_then(|cap| {
            let by_today = before_today + today_expected;
            if by_today >= cap {
                return Some(today);
            }
            if pace <= 0.0 {
                return None;
            }
            let more_days = ((cap - by_today) / pace).ceil() as i64;
            (more_days <= days_left).then(|| today + Duration::days(more_days))
        });
        periods_out.push(PeriodForecast {
            period,
            cap_usd,
            spent_usd: spent,
            resets_at: end,
            runs_out_on,
        });
    }
    Forecast {
        as_of: now,
        time_zone: time_zone.to_owned(),
        pace_usd_per_day: pace,
        pace_days: complete_days as u32,
        month_to_date_usd: month_to_date,
        month_end_usd: month_end,
        periods: periods_out,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::{America, Europe};

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn budget(daily: Option<f64>, weekly: Option<f64>, monthly: Option<f64>) -> Budget {
        Budget {
            daily_usd: daily,
            weekly_usd: weekly,
            monthly_usd: monthly,
            ..Budget::default()
        }
    }

    fn period(f: &Forecast, p: BudgetPeriod) -> &PeriodForecast {
        f.periods.iter().find(|x| x.period == p).unwrap()
    }

    /// `usd` on each of the `n` days before `today`, and `today_usd` today.
    fn history(today: &str, n: i64, usd: f64, today_usd: f64) -> Vec<(NaiveDate, f64)> {
        let t = day(today);
        let mut out: Vec<_> = (1..=n).map(|i| (t - Duration::days(i), usd)).collect();
        out.push((t, today_usd));
        out
    }

    #[test]
    fn the_pace_is_the_average_of_the_last_seven_complete_days() {
        // Wednesday 2026-11-18, UTC. Ten days of $2, and $1 today.
        let spend = history("2026-11-18", 10, 2.0, 1.0);
        let f = forecast(
            &spend,
            Some(day("2026-11-08")),
            None,
            utc("2026-11-18T12:00:00Z"),
            Tz::UTC,
            "UTC",
        );
        assert_eq!(f.pace_days, 7);
        assert!((f.pace_usd_per_day - 2.0).abs() < 1e-9);
        // 1-17 Nov: 10 days of $2 from the 8th = $20, today $1 → MTD $21.
        assert!((f.month_to_date_usd - 21.0).abs() < 1e-9);
        // Today counts as the pace ($2); 12 whole days left (19-30 Nov) at $2.
        assert!((f.month_end_usd - (20.0 + 2.0 + 24.0)).abs() < 1e-9);
        // Older spend outside the window does not move the pace.
        let mut with_old = spend.clone();
        with_old.push((day("2026-11-01"), 100.0));
        let g = forecast(
            &with_old,
            Some(day("2026-11-01")),
            None,
            utc("2026-11-18T12:00:00Z"),
            Tz::UTC,
            "UTC",
        );
        assert!((g.pace_usd_per_day - 2.0).abs() < 1e-9);
    }

    #[test]
    fn short_history_averages_over_the_days_since_first_usage() {
        let spend = history("2026-11-18", 3, 3.0, 0.0);
        let f = forecast(
            &spend,
            Some(day("2026-11-15")),
            None,
            utc("2026-11-18T08:00:00Z"),
            Tz::UTC,
            "UTC",
        );
        assert_eq!(f.pace_days, 3);
        assert!((f.pace_usd_per_day - 3.0).abs() < 1e-9);
        // First usage today: no complete day, today's spend is the pace.
        let f = forecast(
            &[(day("2026-11-18"), 4.0)],
            Some(day("2026-11-18")),
            None,
            utc("2026-11-18T08:00:00Z"),
            Tz::UTC,
            "UTC",
        );
        assert_eq!(f.pace_days, 0);
        assert!((f.pace_usd_per_day - 4.0).abs() < 1e-9);
    }

    #[test]
    fn no_spend_forecasts_nothing_and_runs_out_never() {
        let b = budget(Some(1.0), Some(5.0), Some(20.0));
        let f = forecast(
            &[],
            None,
            Some(&b),
            utc("2026-11-18T08:00:00Z"),
            Tz::UTC,
            "UTC",
        );
        assert_eq!(f.pace_usd_per_day, 0.0);
        assert_eq!(f.month_end_usd, 0.0);
        assert!(f.periods.iter().all(|p| p.runs_out_on.is_none()));
        assert_eq!(f.periods.len(), 3);
        // A subject whose usage stopped weeks ago has a pace of 0 too.
        let f = forecast(
            &[(day("2026-10-01"), 9.0)],
            Some(day("2026-10-01")),
            Some(&b),
            utc("2026-11-18T08:00:00Z"),
            Tz::UTC,
            "UTC",
        );
        assert_eq!(f.pace_usd_per_day, 0.0);
        assert_eq!(f.pace_days, 7);
        assert!(f.periods.iter().all(|p| p.runs_out_on.is_none()));
    }

    #[test]
    fn budgets_run_out_on_the_day_the_pace_reaches_them() {
        // Wednesday 2026-11-18; the week began Monday the 16th. $10 a day.
        let spend = history("2026-11-18", 7, 10.0, 0.0);
        let b = budget(Some(5.0), Some(45.0), Some(300.0));
        let f = forecast(
            &spend,
            Some(day("2026-11-01")),
            Some(&b),
            utc("2026-11-18T01:00:00Z"),
            Tz::UTC,
            "UTC",
        );
        // Today is expected to reach $10 > $5: the daily cap goes today.
        assert_eq!(
            period(&f, BudgetPeriod::Daily).runs_out_on,
            Some(day("2026-11-18"))
        );
        // Week: $20 (Mon, Tue) + $10 today = $30; $45 on Thursday's $10 → day 2 after today.
        assert_eq!(
            period(&f, BudgetPeriod::Weekly).runs_out_on,
            Some(day("2026-11-20"))
        );
        // Month: 7 days of $10 in November before today = $70, +$10 today = $80; $300 needs
        // 22 more days, past the 30th: no run-out this month.
        assert_eq!(period(&f, BudgetPeriod::Monthly).runs_out_on, None);
        assert_eq!(
            period(&f, BudgetPeriod::Monthly).resets_at,
            utc("2026-12-01T00:00:00Z")
        );
        // A cap already spent runs out today.
        let spent = budget(None, None, Some(50.0));
        let f = forecast(
            &spend,
            Some(day("2026-11-01")),
            Some(&spent),
            utc("2026-11-18T01:00:00Z"),
            Tz::UTC,
            "UTC",
        );
        assert_eq!(
            period(&f, BudgetPeriod::Monthly).runs_out_on,
            Some(day("2026-11-18"))
        );
    }

    #[test]
    fn the_last_day_of_a_month_has_nothing_left_after_it() {
        // 2026-12-31 at 22:00 UTC: still the 31st in UTC, already 1 Jan 2027 in Berlin.
        let spend = history("2026-12-31", 7, 1.0, 0.5);
        let f = forecast(
            &spend,
            Some(day("2026-12-01")),
            Some(&budget(None, None, Some(100.0))),
            utc("2026-12-31T22:00:00Z"),
            Tz::UTC,
            "UTC",
        );
        // 24-30 Dec at $1 + today max(0.5, 1.0); no day after the 31st.
        assert!((f.month_end_usd - 8.0).abs() < 1e-9);
        assert_eq!(period(&f, BudgetPeriod::Monthly).runs_out_on, None);
        let f = forecast(
            &spend,
            Some(day("2026-12-01")),
            None,
            utc("2026-12-31T23:30:00Z"),
            Europe::Berlin,
            "Europe/Berlin",
        );
        // In Berlin it is 1 Jan: the month-to-date is only today's (nothing), the rest of
        // January lies ahead at the pace of the last 7 days of December (25-31 Dec: six days of
        // $1 and the 31st's $0.5).
        assert_eq!(f.month_to_date_usd, 0.0);
        let pace = 6.5 / 7.0;
        assert!((f.pace_usd_per_day - pace).abs() < 1e-9);
        assert!((f.month_end_usd - pace * 31.0).abs() < 1e-9);
        assert_eq!(
            period(&f, BudgetPeriod::Monthly).resets_at,
            utc("2027-01-31T23:00:00Z")
        );
        // February in a leap year has 29 days: from the 28th, one day after today (7 days of $1
        // before it, today at the pace, the 29th at the pace).
        let f = forecast(
            &history("2028-02-28", 7, 1.0, 0.0),
            Some(day("2028-01-01")),
            None,
            utc("2028-02-28T12:00:00Z"),
            Tz::UTC,
            "UTC",
        );
        assert!((f.month_end_usd - (7.0 + 1.0 + 1.0)).abs() < 1e-9);
    }

    #[test]
    fn days_across_a_dst_change_count_as_one_day_each() {
        // Berlin springs forward on Sunday 2026-03-29. At 23:30 UTC on the 29th it is already
        // Monday the 30th, 01:30 local (UTC+2).
        let spend = history("2026-03-30", 7, 2.0, 0.0);
        let f = forecast(
            &spend,
            Some(day("2026-03-01")),
            Some(&budget(Some(1.0), Some(10.0), None)),
            utc("2026-03-29T23:30:00Z"),
            Europe::Berlin,
            "Europe/Berlin",
        );
        assert_eq!(f.pace_days, 7);
        assert!((f.pace_usd_per_day - 2.0).abs() < 1e-9);
        let daily = period(&f, BudgetPeriod::Daily);
        assert_eq!(daily.resets_at, utc("2026-03-30T22:00:00Z"));
        assert_eq!(daily.runs_out_on, Some(day("2026-03-30")));
        // The week began today (Monday): $2 today, then Tue $4 ... $10 on Friday the 3rd.
        let weekly = period(&f, BudgetPeriod::Weekly);
        assert_eq!(weekly.runs_out_on, Some(day("2026-04-03")));
        assert_eq!(weekly.resets_at, utc("2026-04-05T22:00:00Z"));
        // 30 and 31 March remain: today at the pace, then one day.
        let march: f64 = spend
            .iter()
            .filter(|(d, _)| d.to_string().starts_with("2026-03"))
            .map(|(_, u)| u)
            .sum();
        assert!((f.month_end_usd - (march + 2.0 + 2.0)).abs() < 1e-9);
        // New York falls back on 2026-11-01: the 25-hour day is still one day.
        let f = forecast(
            &history("2026-11-01", 7, 1.0, 0.0),
            Some(day("2026-10-01")),
            Some(&budget(Some(0.5), None, None)),
            utc("2026-11-01T12:00:00Z"),
            America::New_York,
            "America/New_York",
        );
        let daily = period(&f, BudgetPeriod::Daily);
        assert_eq!(daily.resets_at, utc("2026-11-02T05:00:00Z"));
        assert_eq!(daily.runs_out_on, Some(day("2026-11-01")));
        assert!((f.month_end_usd - 30.0).abs() < 1e-9);
    }

    #[test]
    fn resets_at_is_the_end_of_the_period() {
        let now = utc("2026-11-18T12:00:00Z");
        assert_eq!(
            resets_at(BudgetPeriod::Weekly, now, Tz::UTC),
            utc("2026-11-23T00:00:00Z")
        );
        assert_eq!(
            resets_at(BudgetPeriod::Daily, now, Europe::Berlin),
            utc("2026-11-18T23:00:00Z")
        );
    }
}
