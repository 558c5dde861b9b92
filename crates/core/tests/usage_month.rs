//! Each user's spend per month (what the users table shows as "this month") stays the sum of
//! their usage rows through inserts, replacements of a row and deletions, as a sync makes them.

use chrono::NaiveDate;
use gatehouse_api::{SyncChange, SyncKind, UsageDaily};
use gatehouse_core::cache::Cache;

fn usage(day: &str, user: &str, model: &str, cost_micros: i64, revision: i64) -> SyncChange {
    let day = NaiveDate::parse_from_str(day, "%Y-%m-%d").unwrap();
    SyncChange::upsert(
        SyncKind::UsageDaily,
        format!("{day}:{user}:{model}:ws_1"),
        revision,
        &UsageDaily {
            day,
            user_id: user.into(),
            model_id: model.into(),
            workspace_id: "ws_1".into(),
            key_id: String::new(),
            requests: 1,
            input_tokens: 10,
            output_tokens: 10,
            cost_usd: cost_micros as f64 / 1e6,
            revision,
        },
    )
}

async fn table(cache: &Cache, sql: &str) -> Vec<(String, String, i64)> {
    sqlx::query_as(sql).fetch_all(cache.pool()).await.unwrap()
}

/// The monthly sums as kept, and as the usage rows add up, without months at 0.
async fn kept_and_summed(
    cache: &Cache,
) -> (Vec<(String, String, i64)>, Vec<(String, String, i64)>) {
    (
        table(
            cache,
            "SELECT month, user_id, cost_micros FROM usage_user_month WHERE cost_micros <> 0 \
             ORDER BY 1, 2",
        )
        .await,
        table(
            cache,
            "SELECT substr(day, 1, 7), user_id, SUM(cost_micros) FROM usage_daily GROUP BY 1, 2 \
             ORDER BY 1, 2",
        )
        .await,
    )
}

#[tokio::test]
async fn monthly_spend_stays_the_sum_of_the_usage_rows() {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::open(
        &dir.path().join("cache.sqlite"),
        gatehouse_core::seal::Seal::generate().0,
    )
    .await
    .unwrap();
    let mut writer = cache.writer().await.unwrap();
    writer
        .apply(
            &[
                usage("2026-11-30", "usr_a", "gpt", 1_000, 1),
                usage("2026-12-01", "usr_a", "gpt", 2_000, 2),
                usage("2026-12-01", "usr_a", "echo", 300, 3),
                usage("2026-12-02", "usr_b", "gpt", 5_000, 4),
            ],
            4,
        )
        .await
        .unwrap();
    let (kept, summed) = kept_and_summed(&cache).await;
    assert_eq!(
        kept,
        [
            ("2026-11".into(), "usr_a".into(), 1_000),
            ("2026-12".into(), "usr_a".into(), 2_300),
            ("2026-12".into(), "usr_b".into(), 5_000),
        ]
    );
    assert_eq!(kept, summed);

    // A day's row grows as the day goes on: the sync sends it again with its new total.
    writer
        .apply(&[usage("2026-12-01", "usr_a", "gpt", 2_500, 5)], 5)
        .await
        .unwrap();
    let (kept, summed) = kept_and_summed(&cache).await;
    assert_eq!(kept[1], ("2026-12".into(), "usr_a".into(), 2_800));
    assert_eq!(kept, summed);

    // A row deleted on the gateway, and one sent twice in one batch.
    let mut gone = usage("2026-12-02", "usr_b", "gpt", 0, 6);
    gone.deleted = true;
    gone.data = None;
    writer
        .apply(
            &[
                gone,
                usage("2026-11-30", "usr_a", "gpt", 1_200, 7),
                usage("2026-11-30", "usr_a", "gpt", 1_400, 8),
            ],
            8,
        )
        .await
        .unwrap();
    let (kept, summed) = kept_and_summed(&cache).await;
    assert_eq!(
        kept,
        [
            ("2026-11".into(), "usr_a".into(), 1_400),
            ("2026-12".into(), "usr_a".into(), 2_800),
        ]
    );
    assert_eq!(kept, summed);

    // Clearing the cache leaves no month behind.
    drop(writer);
    cache.clear().await.unwrap();
    assert_eq!(kept_and_summed(&cache).await, (vec![], vec![]));
}
