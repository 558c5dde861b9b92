//! What a spend forecast reads (the rule is `gatehouse_api::forecast`): spend per local day of a
//! user, a group's current members, a key or the whole org, from the spend counters.

use chrono::NaiveDate;
use gatehouse_api::SubjectKind;

use crate::db::Tx;
use crate::policy::usd;
use crate::sql::SqlText;

/// `AND` the subject's rows: a user's own, a group's current members' (as budgets count them),
/// or everyone's for `None`.
fn push_subject(q: &mut SqlText, subject: Option<(SubjectKind, &str)>) {
    match subject {
        Some((SubjectKind::User, id)) => {
            q.push(" AND user_id = ").bind(id.to_owned());
        }
        Some((SubjectKind::Group, id)) => {
            q.push(" AND user_id IN (SELECT user_id FROM group_members WHERE group_id = ")
                .bind(id.to_owned())
                .push(")");
        }
        Some((SubjectKind::Key, id)) => {
            q.push(" AND key_id = ").bind(id.to_owned());
        }
        None => {}
    }
}

/// Where the subject's spend is counted: a key's in its own counters, anyone else's per user.
fn spend_table(subject: Option<(SubjectKind, &str)>) -> &'static str {
    match subject {
        Some((SubjectKind::Key, _)) => "key_spend_daily",
        _ => "spend_daily",
    }
}

/// The subject's spend in USD per local day from `first` to `last` inclusive, and the first day
/// it had any spend at all.
pub async fn daily_spend(
    tx: &mut Tx,
    subject: Option<(SubjectKind, &str)>,
    first: NaiveDate,
    last: NaiveDate,
) -> Result<(Vec<(NaiveDate, f64)>, Option<NaiveDate>), sqlx::Error> {
    let table = spend_table(subject);
    let mut q = SqlText::new(&format!(
        "SELECT day, CAST(COALESCE(SUM(cost_micros), 0) AS BIGINT) FROM {table} WHERE day >= "
    ));
    q.bind(first.to_string())
        .push(" AND day <= ")
        .bind(last.to_string());
    push_subject(&mut q, subject);
    q.push(" GROUP BY day");
    let rows: Vec<(String, i64)> = sqlx::query_as_with(&q.sql, q.args)
        .fetch_all(&mut **tx)
        .await?;
    let days = rows
        .into_iter()
        .filter_map(|(d, micros)| Some((d.parse().ok()?, usd(micros))))
        .collect();
    let mut q = SqlText::new(&format!(
        "SELECT MIN(day) FROM {table} WHERE cost_micros > 0"
    ));
    push_subject(&mut q, subject);
    let first_usage: Option<String> = sqlx::query_scalar_with(&q.sql, q.args)
        .fetch_one(&mut **tx)
        .await?;
    Ok((days, first_usage.and_then(|d| d.parse().ok())))
}
