//! The change feed's rows: every mutable row carries a revision from one sequence, and readers
//! of the feed ask for the rows of one kind changed after a revision.

use crate::db::Tx;

/// The rows of one kind changed after `since`, oldest first, at most `fetch`: what every
/// reader of the change feed starts from. `select` is `SELECT … FROM table [alias]`, and
/// `revision` names its revision column.
pub async fn rows_since<R>(
    tx: &mut Tx,
    select: &str,
    revision: &str,
    since: i64,
    fetch: i64,
) -> Result<Vec<R>, sqlx::Error>
where
    R: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> + Send + Unpin,
{
    sqlx::query_as(&format!(
        "{select} WHERE {revision} > $1 ORDER BY {revision} LIMIT $2"
    ))
    .bind(since)
    .bind(fetch)
    .fetch_all(&mut **tx)
    .await
}

/// The deletions after `since` (kind, id, revision), oldest first, at most `fetch`.
pub async fn tombstones_since(
    tx: &mut Tx,
    since: i64,
    fetch: i64,
) -> Result<Vec<(String, String, i64)>, sqlx::Error> {
    rows_since(
        tx,
        "SELECT kind, id, revision FROM tombstones",
        "revision",
        since,
        fetch,
    )
    .await
}

/// The revision of the latest change.
pub async fn head(tx: &mut Tx) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT value FROM revision_counter WHERE id = 1")
        .fetch_one(&mut **tx)
        .await
}
