//! Budget periods, calendar-aligned in the organisation's time zone: a day from 00:00, a week
//! from Monday 00:00, a month from the 1st. Where a time zone skips midnight (a DST change at
//! 00:00), the period starts at the first instant that exists that day.

use crate::BudgetPeriod;
use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

/// The first instant of `date` in `tz`.
fn start_of_day(tz: Tz, date: NaiveDate) -> DateTime<Utc> {
    let mut t = date
        .and_hms_opt(0, 0, 0)
        .expect("midnight exists on the calendar");
    // A gap at midnight is at most a few hours long; step forward to its end.
    for _ in 0..24 * 4 {
        match tz.from_local_datetime(&t) {
            LocalResult::Single(x) => return x.with_timezone(&Utc),
            LocalResult::Ambiguous(first, _) => return first.with_timezone(&Utc),
            LocalResult::None => t += Duration::minutes(15),
        }
    }
    Utc.from_utc_datetime(&date.and_hms_opt(0, 0, 0).expect("midnight"))
}

/// The first calendar day of the period containing local `date`.
fn first_day(period: BudgetPeriod, date: NaiveDate) -> NaiveDate {
    match period {
        BudgetPeriod::Daily => date,
        BudgetPeriod::Weekly => {
            date - Duration::days(i64::from(date.weekday().num_days_from_monday()))
        }
        BudgetPeriod::Monthly => date.with_day(1).expect("every month has a 1st"),
    }
}

/// The first calendar day of the period after the one starting on `first`.
fn next_first_day(period: BudgetPeriod, first: NaiveDate) -> NaiveDate {
    match period {
        BudgetPeriod::Daily => first + Duration::days(1),
        BudgetPeriod::Weekly => first + Duration::days(7),
        BudgetPeriod::Monthly => {
            let (y, m) = if first.month() == 12 {
                (first.year() + 1, 1)
            } else {
                (first.year(), first.month() + 1)
            };
            NaiveDate::from_ymd_opt(y, m, 1).expect("the 1st exists")
        }
    }
}

/// `[start, end)` of the `period` that contains `now`, in `tz`.
pub fn bounds(period: BudgetPeriod, now: DateTime<Utc>, tz: Tz) -> (DateTime<Utc>, DateTime<Utc>) {
    let local = now.with_timezone(&tz).date_naive();
    let first = first_day(period, local);
    (
        start_of_day(tz, first),
        start_of_day(tz, next_first_day(period, first)),
    )
}

/// Parses the org's time zone; UTC when it is not one (the API refuses such values).
pub fn zone(name: &str) -> Tz {
    name.parse().unwrap_or(Tz::UTC)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::{America, Europe};

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn a_day_turns_at_local_midnight() {
        // Berlin is UTC+1 in January.
        let (s, e) = bounds(
            BudgetPeriod::Daily,
            utc("2026-01-14T22:59:59Z"),
            Europe::Berlin,
        );
        assert_eq!(
            (s, e),
            (utc("2026-01-13T23:00:00Z"), utc("2026-01-14T23:00:00Z"))
        );
        let (s, _) = bounds(
            BudgetPeriod::Daily,
            utc("2026-01-14T23:00:00Z"),
            Europe::Berlin,
        );
        assert_eq!(
            s,
            utc("2026-01-14T23:00:00Z"),
            "00:00 local belongs to the new day"
        );
        let (s, e) = bounds(BudgetPeriod::Daily, utc("2026-01-14T23:59:59Z"), Tz::UTC);
        assert_eq!(
            (s, e),
            (utc("2026-01-14T00:00:00Z"), utc("2026-01-15T00:00:00Z"))
        );
    }

    #[test]
    fn a_week_starts_on_monday() {
        // 2026-11-22 is a Sunday; 2026-11-23 a Monday.
        let (s, e) = bounds(BudgetPeriod::Weekly, utc("2026-11-22T23:59:00Z"), Tz::UTC);
        assert_eq!(
            (s, e),
            (utc("2026-11-16T00:00:00Z"), utc("2026-11-23T00:00:00Z"))
        );
        let (s, _) = bounds(BudgetPeriod::Weekly, utc("2026-11-23T00:00:00Z"), Tz::UTC);
        assert_eq!(s, utc("2026-11-23T00:00:00Z"));
        // In New York (UTC-5) it is still Sunday at 03:00 UTC on Monday.
        let (s, e) = bounds(
            BudgetPeriod::Weekly,
            utc("2026-11-23T03:00:00Z"),
            America::New_York,
        );
        assert_eq!(
            (s, e),
            (utc("2026-11-16T05:00:00Z"), utc("2026-11-23T05:00:00Z"))
        );
    }

    #[test]
    fn a_month_starts_on_the_first_and_wraps_the_year() {
        let (s, e) = bounds(BudgetPeriod::Monthly, utc("2026-12-31T23:30:00Z"), Tz::UTC);
        assert_eq!(
            (s, e),
            (utc("2026-12-01T00:00:00Z"), utc("2027-01-01T00:00:00Z"))
        );
        // 23:30 UTC on 31 Dec is already 1 Jan in Berlin.
        let (s, e) = bounds(
            BudgetPeriod::Monthly,
            utc("2026-12-31T23:30:00Z"),
            Europe::Berlin,
        );
        assert_eq!(
            (s, e),
            (utc("2026-12-31T23:00:00Z"), utc("2027-01-31T23:00:00Z"))
        );
        let (s, e) = bounds(BudgetPeriod::Monthly, utc("2028-02-29T12:00:00Z"), Tz::UTC);
        assert_eq!(
            (s, e),
            (utc("2028-02-01T00:00:00Z"), utc("2028-03-01T00:00:00Z"))
        );
    }

    #[test]
    fn days_across_a_dst_change_are_23_and_25_hours_long() {
        // Europe/Berlin springs forward on 2026-03-29 and falls back on 2026-10-25.
        let (s, e) = bounds(
            BudgetPeriod::Daily,
            utc("2026-03-29T12:00:00Z"),
            Europe::Berlin,
        );
        assert_eq!(
            (s, e),
            (utc("2026-03-28T23:00:00Z"), utc("2026-03-29T22:00:00Z"))
        );
        assert_eq!((e - s).num_hours(), 23);
        let (s, e) = bounds(
            BudgetPeriod::Daily,
            utc("2026-10-25T12:00:00Z"),
            Europe::Berlin,
        );
        assert_eq!((e - s).num_hours(), 25);
        // The week holding the spring change is an hour short.
        let (s, e) = bounds(
            BudgetPeriod::Weekly,
            utc("2026-03-29T12:00:00Z"),
            Europe::Berlin,
        );
        assert_eq!((e - s).num_hours(), 7 * 24 - 1);
    }

    #[test]
    fn a_day_whose_midnight_does_not_exist_starts_at_its_first_instant() {
        // Chile springs forward at 00:00 local: on 2026-09-06 the clock goes 23:59:59 -> 01:00.
        let (s, e) = bounds(
            BudgetPeriod::Daily,
            utc("2026-09-06T12:00:00Z"),
            America::Santiago,
        );
        assert_eq!(
            s.with_timezone(&America::Santiago)
                .format("%H:%M")
                .to_string(),
            "01:00"
        );
        assert_eq!((e - s).num_hours(), 23);
    }
}
