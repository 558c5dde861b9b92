//! Values that the two backends type differently, written and read back on both. sqlx's `Any`
//! driver declares each bind's SQL type from its Rust value, NULLs included, and PostgreSQL keeps
//! a prepared statement to the types of its first use on a connection.

use crate::common;
use common::backends;
use gatehouse_api::{Budget, Me};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn budget_caps_switch_between_null_and_a_number_on_one_statement() {
    for f in backends().await {
        let admin = f.init(10).await;
        let me: Me = f.get_ok("/admin/v1/me", &admin).await;
        let path = format!("/admin/v1/users/{}/budget", me.user.id);
        // Requests one after another share one pooled connection, so the same cached statement
        // sees a NULL cap first and a number in the same position next, and then the reverse.
        for (daily, weekly, monthly) in [
            (None, None, Some(0.000_001)),
            (Some(12.5), None, None),
            (None, Some(80.0), Some(300.25)),
            (Some(0.01), Some(0.5), None),
            (None, None, None),
            (Some(999_999_999.99), Some(2.0), Some(3.0)),
        ] {
            let put: Budget = f
                .json_ok(
                    Method::PUT,
                    &path,
                    &admin,
                    &json!({ "daily_usd": daily, "weekly_usd": weekly, "monthly_usd": monthly,
                             "alert_thresholds": [50, 100] }),
                )
                .await;
            let got: Budget = f.get_ok(&path, &admin).await;
            assert_eq!(got, put, "{}", f.name);
            assert_eq!(
                (got.daily_usd, got.weekly_usd, got.monthly_usd),
                (daily, weekly, monthly),
                "{}: caps round-trip exactly",
                f.name
            );
        }
        // Caps are kept to the micro-dollar.
        let put: Budget = f
            .json_ok(
                Method::PUT,
                &path,
                &admin,
                &json!({ "daily_usd": 1.234_567_8 }),
            )
            .await;
        assert_eq!(put.daily_usd, Some(1.234_568), "{}", f.name);
    }
}
