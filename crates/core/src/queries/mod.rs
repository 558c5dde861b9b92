//! What the app's screens read from the cache, as methods on [`Cache`]: every query works
//! offline. Bad input (an inverted range, a page too large, an unknown sort) is
//! [`CoreError::Invalid`] with a message for people, never a panic.
//!
//! Usage is read from roll-ups per day and model, workspace and org, which each sync brings up
//! to date for the days it changed ([`Cache::refresh_usage_rollup`]), and per user through a
//! covering index (migration 0003).

use std::str::FromStr;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use chrono_tz::Tz;
use gatehouse_api::{GroupRole, periods};
use serde::de::DeserializeOwned;

use crate::cache::Cache;
use crate::error::{CoreError, CoreResult};
use crate::ipc::UserSort;

mod audit;
mod budget;
mod csv;
mod detail;
mod invitations;
mod lists;
mod overview;
mod usage;
pub(crate) mod user_index;
mod users;

pub use csv::{csv_cell, write_csv};

/// The largest page a list returns.
pub const MAX_PAGE: u32 = 1000;
/// The page a list returns when asked for 0 rows.
pub const DEFAULT_PAGE: u32 = 100;

/// `(limit, offset)` of a page; 0 is [`DEFAULT_PAGE`], more than [`MAX_PAGE`] is refused.
pub(crate) fn page(limit: u32, offset: u32) -> CoreResult<(i64, i64)> {
    match limit {
        0 => Ok((i64::from(DEFAULT_PAGE), i64::from(offset))),
        1..=MAX_PAGE => Ok((i64::from(limit), i64::from(offset))),
        _ => Err(CoreError::Invalid(format!(
            "a page holds at most {MAX_PAGE} rows, not {limit}"
        ))),
    }
}

/// A time as the cache stores it (see cache/apply.rs): RFC 3339 in UTC, which sorts as text.
pub(crate) fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339()
}

pub(crate) fn parse_time(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default()
}

/// An entity's JSON as the gateway sent it.
pub(crate) fn parse<T: DeserializeOwned>(what: &str, data: &str) -> CoreResult<T> {
    serde_json::from_str(data).map_err(|e| CoreError::Protocol(format!("cached {what}: {e}")))
}

/// A group role as the cache stores it.
pub(crate) fn group_role(s: &str) -> GroupRole {
    if s == GroupRole::Manager.as_str() {
        GroupRole::Manager
    } else {
        GroupRole::Member
    }
}

/// Micro-dollars as USD.
pub(crate) fn usd(micros: i64) -> f64 {
    micros as f64 / 1e6
}

/// A list of ids bound as one JSON array, read with `json_each`.
pub(crate) fn id_list<S: AsRef<str>>(ids: &[S]) -> String {
    serde_json::to_string(&ids.iter().map(AsRef::as_ref).collect::<Vec<_>>())
        .expect("strings serialize")
}

/// The first day of the month of `day`, and of the month after.
pub(crate) fn month_of(day: NaiveDate) -> (NaiveDate, NaiveDate) {
    let first = day.with_day(1).expect("every month has a 1st");
    let next = if first.month() == 12 {
        NaiveDate::from_ymd_opt(first.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(first.year(), first.month() + 1, 1)
    }
    .expect("the 1st exists");
    (first, next)
}

impl FromStr for UserSort {
    type Err = CoreError;

    fn from_str(s: &str) -> CoreResult<Self> {
        serde_json::from_value(serde_json::Value::String(s.to_owned())).map_err(|_| {
            CoreError::Invalid(format!(
                "users cannot be sorted by \"{s}\": use name, email, role, status, created_at or last_active_at"
            ))
        })
    }
}

impl Cache {
    /// The org's time zone (UTC before the first sync, or when it is not one), as the gateway
    /// reads it for budget periods and usage days.
    pub async fn time_zone(&self) -> CoreResult<(Tz, String)> {
        let name = self
            .org()
            .await?
            .map_or_else(|| "UTC".to_owned(), |o| o.time_zone);
        Ok((periods::zone(&name), name))
    }

    /// Today's date in the org's time zone.
    pub(crate) async fn today(&self, now: DateTime<Utc>) -> CoreResult<NaiveDate> {
        let (tz, _) = self.time_zone().await?;
        Ok(now.with_timezone(&tz).date_naive())
    }
}
