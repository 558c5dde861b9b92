//! API keys with their own policy (issue 16), through the admin API and the data plane over
//! real HTTP, on SQLite and PostgreSQL: expiry, the key's model subset, its rate limits and
//! budget with `key` as their source, rotation with a grace period, usage per key, and who may
//! manage which keys.

use crate::{common, support};
use std::time::Duration;

use chrono::Utc;
use gatehouse_api::{
    Alert, ApiKey, ApiKeyCreated, BudgetPeriod, EffectivePolicy, Page, Problem, Role, Secret,
    SubjectKind, UsageDaily,
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use common::{TestGateway, backends, problem, user_with_role};
use support::{chat_at, grant, hello, model, put};

async fn chat(gw: &TestGateway, key: &str, model: &str) -> reqwest::Response {
    chat_at(&gw.http, &gw.gateway.url(), key, &hello(model)).await
}

/// The `error` object of an OpenAI-style error response with `status`.
async fn error(response: reqwest::Response, status: StatusCode) -> Value {
    assert_eq!(response.status(), status, "{}", response.url());
    let body: Value = response.json().await.unwrap();
    body["error"].clone()
}

async fn create_key(gw: &TestGateway, token: &Secret, user: &str, body: Value) -> ApiKeyCreated {
    gw.json_ok(
        Method::POST,
        &format!("/admin/v1/users/{user}/keys"),
        token,
        &body,
    )
    .await
}

async fn epoch(gw: &TestGateway) -> i64 {
    sqlx::query_scalar("SELECT value FROM policy_epoch WHERE id = 1")
        .fetch_one(&gw.db().pool)
        .await
        .unwrap()
}

async fn flush(gw: &TestGateway) {
    gw.gateway.state.data_plane.flush().await;
}

#[tokio::test]
async fn an_expired_key_is_refused_with_a_message_that_says_so() {
    for gw in backends().await {
        let admin = gw.init(10).await;
        model(&gw, &admin, "echo", "echo", None, 1.0).await;
        let (user, _) = user_with_role(&gw, "ada@acme.example", Role::Member).await;
        grant(&gw, &admin, &format!("users/{user}"), "echo").await;

        let past = gw
            .send(
                Method::POST,
                &format!("/admin/v1/users/{user}/keys"),
                &admin,
                Some(&json!({ "name": "old", "expires_at": "2020-01-01T00:00:00Z" })),
            )
            .await;
        let p = problem(past, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(
            p.errors.as_ref().unwrap()[0].field,
            "expires_at",
            "{}",
            gw.name
        );

        let soon = Utc::now() + chrono::Duration::milliseconds(1500);
        let key = create_key(
            &gw,
            &admin,
            &user,
            json!({ "name": "short-lived", "expires_at": soon }),
        )
        .await;
        assert!(key.key.expires_at.is_some());
        assert_eq!(chat(&gw, &key.secret, "echo").await.status(), 200);
        tokio::time::sleep(Duration::from_millis(1600)).await;
        let e = error(
            chat(&gw, &key.secret, "echo").await,
            StatusCode::UNAUTHORIZED,
        )
        .await;
        assert_eq!(e["code"], "expired_api_key", "{}", gw.name);
        assert!(e["message"].as_str().unwrap().contains("expired"), "{e}");

        // A later expiry brings it back from the next request on.
        let later = Utc::now() + chrono::Duration::days(1);
        let updated: ApiKey = gw
            .json_ok(
                Method::PATCH,
                &format!("/admin/v1/keys/{}", key.key.id),
                &admin,
                &json!({ "expires_at": later }),
            )
            .await;
        assert!(updated.revision > key.key.revision);
        assert_eq!(
            chat(&gw, &key.secret, "echo").await.status(),
            200,
            "{}",
            gw.name
        );
    }
}

#[tokio::test]
async fn a_key_uses_only_its_models_and_cannot_widen_its_user() {
    for gw in backends().await {
        let admin = gw.init(10).await;
        model(&gw, &admin, "echo", "echo", None, 1.0).await;
        model(&gw, &admin, "other", "echo", None, 1.0).await;
        model(&gw, &admin, "secret", "echo", None, 1.0).await;
        let (user, member) = user_with_role(&gw, "bob@acme.example", Role::Member).await;
        grant(&gw, &admin, &format!("users/{user}"), "echo").await;
        grant(&gw, &admin, &format!("users/{user}"), "other").await;

        // The member makes their own key, narrowed to one model.
        let key = create_key(
            &gw,
            &member,
            &user,
            json!({ "name": "echo only", "model_ids": ["echo"] }),
        )
        .await;
        assert_eq!(key.key.model_ids.as_deref(), Some(&["echo".to_owned()][..]));
        assert_eq!(chat(&gw, &key.secret, "echo").await.status(), 200);
        let e = error(chat(&gw, &key.secret, "other").await, StatusCode::FORBIDDEN).await;
        assert_eq!(e["code"], "model_not_allowed_for_key", "{}", gw.name);
        let models: Value = gw
            .http
            .get(gw.url("/v1/models"))
            .bearer_auth(&key.secret)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let ids: Vec<&str> = models["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["echo"], "{}", gw.name);

        // A model the user was not given: refused, for the member and for an admin alike.
        for token in [&member, &admin] {
            let r = gw
                .send(
                    Method::POST,
                    &format!("/admin/v1/users/{user}/keys"),
                    token,
                    Some(&json!({ "name": "wider", "model_ids": ["echo", "secret"] })),
                )
                .await;
            let p = problem(r, StatusCode::UNPROCESSABLE_ENTITY).await;
            assert_eq!(
                p.errors.as_ref().unwrap()[0].field,
                "model_ids",
                "{}",
                gw.name
            );
            let r = gw
                .send(
                    Method::PATCH,
                    &format!("/admin/v1/keys/{}", key.key.id),
                    token,
                    Some(&json!({ "model_ids": ["secret"] })),
                )
                .await;
            problem(r, StatusCode::UNPROCESSABLE_ENTITY).await;
        }
        // Bad input changed nothing.
        let unchanged: ApiKey = gw
            .get_ok(&format!("/admin/v1/keys/{}", key.key.id), &member)
            .await;
        assert_eq!(unchanged.model_ids, key.key.model_ids);

        // Widening back to every model of the user (null) works at once: the change moves
        // `policy_epoch` (what tells every node), and using the key does not.
        let before = epoch(&gw).await;
        let _: ApiKey = gw
            .json_ok(
                Method::PATCH,
                &format!("/admin/v1/keys/{}", key.key.id),
                &member,
                &json!({ "model_ids": null }),
            )
            .await;
        let changed = epoch(&gw).await;
        assert!(changed > before, "{}", gw.name);
        assert_eq!(chat(&gw, &key.secret, "echo").await.status(), 200);
        flush(&gw).await;
        assert_eq!(epoch(&gw).await, changed, "{}", gw.name);
        assert_eq!(
            chat(&gw, &key.secret, "other").await.status(),
            200,
            "{}",
            gw.name
        );
    }
}

#[tokio::test]
async fn a_keys_rate_limit_and_budget_refuse_with_the_key_as_their_source() {
    for gw in backends().await {
        let admin = gw.init(10).await;
        // A cent a token: "hello" (9 tokens in, 2 out) costs 11 cents.
        model(&gw, &admin, "pricey", "echo", None, 10_000.0).await;
        let (user, _) = user_with_role(&gw, "cy@acme.example", Role::Member).await;
        grant(&gw, &admin, &format!("users/{user}"), "pricey").await;
        put(
            &gw,
            &admin,
            &format!("/admin/v1/users/{user}/limits"),
            json!({ "requests_per_min": 100 }),
        )
        .await;

        let limited = create_key(
            &gw,
            &admin,
            &user,
            json!({ "name": "limited", "limits": { "requests_per_min": 2 } }),
        )
        .await;
        let effective: EffectivePolicy = gw
            .get_ok(
                &format!("/admin/v1/keys/{}/effective", limited.key.id),
                &admin,
            )
            .await;
        assert_eq!(effective.limits.requests_per_min.value, Some(2));
        assert_eq!(
            effective.limits.requests_per_min.source.as_deref(),
            Some("key")
        );
        crate::checks::early_in_a_minute().await;
        for _ in 0..2 {
            assert_eq!(chat(&gw, &limited.secret, "pricey").await.status(), 200);
        }
        let e = error(
            chat(&gw, &limited.secret, "pricey").await,
            StatusCode::TOO_MANY_REQUESTS,
        )
        .await;
        assert_eq!(e["code"], "rate_limit_exceeded");
        assert_eq!(e["limit"]["scope"], "key", "{}", gw.name);
        assert_eq!(e["limit"]["subject_id"], limited.key.id);
        assert!(
            e["message"]
                .as_str()
                .unwrap()
                .contains("API key \"limited\""),
            "{e}"
        );

        // The user's other key is not held up by this key's limit.
        let capped = create_key(
            &gw,
            &admin,
            &user,
            json!({ "name": "capped", "budget": { "daily_usd": 0.3 } }),
        )
        .await;
        let mut answered = 0;
        let refusal = loop {
            let r = chat(&gw, &capped.secret, "pricey").await;
            if r.status() != 200 {
                break r;
            }
            answered += 1;
            assert!(answered <= 10, "the key's budget never refused");
        };
        // Spend before each: 0, 0.11, 0.22: three pass, the fourth finds $0.33 spent.
        assert_eq!(answered, 3, "{}", gw.name);
        let e = error(refusal, StatusCode::TOO_MANY_REQUESTS).await;
        assert_eq!(e["code"], "budget_exceeded");
        assert_eq!(e["limit"]["name"], "daily_usd");
        assert_eq!(e["limit"]["scope"], "key", "{}", gw.name);
        assert_eq!(e["limit"]["subject_id"], capped.key.id);
        flush(&gw).await;
        let spent: i64 = sqlx::query_scalar(
            "SELECT CAST(SUM(cost_micros) AS BIGINT) FROM key_spend_daily WHERE key_id = $1",
        )
        .bind(&capped.key.id)
        .fetch_one(&gw.db().pool)
        .await
        .unwrap();
        assert_eq!(spent, 330_000, "{}", gw.name);
        // Spend crossed the key's thresholds (the default ones), as the key's own alerts.
        let key_alerts = |page: Page<Alert>, period: BudgetPeriod| {
            let mut t: Vec<u32> = page
                .items
                .into_iter()
                .filter(|a| {
                    a.subject_kind == SubjectKind::Key
                        && a.subject_id == capped.key.id
                        && a.period == period
                })
                .map(|a| a.threshold)
                .collect();
            t.sort_unstable();
            t
        };
        let alerts: Page<Alert> = gw.get_ok("/admin/v1/alerts", &admin).await;
        assert_eq!(
            key_alerts(alerts, BudgetPeriod::Daily),
            [50, 80, 100],
            "{}",
            gw.name
        );

        // Raising the key's cap lets it through from the next request on.
        let _: ApiKey = gw
            .json_ok(
                Method::PATCH,
                &format!("/admin/v1/keys/{}", capped.key.id),
                &admin,
                &json!({ "budget": { "daily_usd": 10.0 } }),
            )
            .await;
        assert_eq!(
            chat(&gw, &capped.secret, "pricey").await.status(),
            200,
            "{}",
            gw.name
        );
        flush(&gw).await;

        // A weekly cap of which the $0.44 spent is 88 % crosses its two thresholds at once.
        let _: ApiKey = gw
            .json_ok(
                Method::PATCH,
                &format!("/admin/v1/keys/{}", capped.key.id),
                &admin,
                &json!({ "budget": { "daily_usd": 10.0, "weekly_usd": 0.5, "alert_thresholds": [50, 80] } }),
            )
            .await;
        let alerts: Page<Alert> = gw.get_ok("/admin/v1/alerts", &admin).await;
        assert_eq!(
            key_alerts(alerts, BudgetPeriod::Weekly),
            [50, 80],
            "{}",
            gw.name
        );
        let key: ApiKey = gw
            .get_ok(&format!("/admin/v1/keys/{}", capped.key.id), &admin)
            .await;
        assert_eq!(key.budget.alert_thresholds, [50, 80]);
    }
}

#[tokio::test]
async fn a_rotated_secret_works_through_its_grace_and_both_are_metered_to_the_key() {
    for gw in backends().await {
        let admin = gw.init(10).await;
        model(&gw, &admin, "echo", "echo", None, 1.0).await;
        let (user, member) = user_with_role(&gw, "dee@acme.example", Role::Member).await;
        grant(&gw, &admin, &format!("users/{user}"), "echo").await;
        let first = create_key(&gw, &member, &user, json!({ "name": "ci" })).await;
        let path = format!("/admin/v1/keys/{}/rotate", first.key.id);

        for bad in [
            json!({ "grace_hours": 169 }),
            json!({ "grace_seconds": -1 }),
            json!({ "grace_seconds": 604_801 }),
            json!({ "grace_hours": 1, "grace_seconds": 1 }),
        ] {
            let r = gw.send(Method::POST, &path, &member, Some(&bad)).await;
            problem(r, StatusCode::UNPROCESSABLE_ENTITY).await;
        }

        // No grace: the old secret stops at once.
        let second: ApiKeyCreated = gw
            .json_ok(Method::POST, &path, &member, &json!({ "grace_seconds": 0 }))
            .await;
        assert_ne!(second.secret, first.secret);
        assert_eq!(second.key.id, first.key.id);
        let e = error(
            chat(&gw, &first.secret, "echo").await,
            StatusCode::UNAUTHORIZED,
        )
        .await;
        assert_eq!(e["code"], "invalid_api_key", "{}", gw.name);
        assert_eq!(chat(&gw, &second.secret, "echo").await.status(), 200);

        // A short grace: both work, then only the new one.
        let third: ApiKeyCreated = gw
            .json_ok(Method::POST, &path, &member, &json!({ "grace_seconds": 2 }))
            .await;
        assert!(third.key.previous_secret_expires_at.is_some());
        assert!(third.key.rotated_at.is_some());
        assert_eq!(
            chat(&gw, &second.secret, "echo").await.status(),
            200,
            "{}",
            gw.name
        );
        assert_eq!(chat(&gw, &third.secret, "echo").await.status(), 200);
        tokio::time::sleep(Duration::from_millis(2100)).await;
        let e = error(
            chat(&gw, &second.secret, "echo").await,
            StatusCode::UNAUTHORIZED,
        )
        .await;
        assert!(e["message"].as_str().unwrap().contains("rotation"), "{e}");
        assert_eq!(chat(&gw, &third.secret, "echo").await.status(), 200);

        flush(&gw).await;
        let keys: Vec<(Option<String>, i64)> = sqlx::query_as(
            "SELECT key_id, status FROM usage_events WHERE user_id = $1 AND status = 200",
        )
        .bind(&user)
        .fetch_all(&gw.db().pool)
        .await
        .unwrap();
        assert_eq!(keys.len(), 4, "{}", gw.name);
        assert!(
            keys.iter()
                .all(|(k, _)| k.as_deref() == Some(first.key.id.as_str()))
        );
        // The list shows only the current secret's prefix.
        let listed: Vec<ApiKey> = gw
            .get_ok(&format!("/admin/v1/users/{user}/keys"), &member)
            .await;
        assert!(third.secret.starts_with(&listed[0].prefix));
    }
}

#[tokio::test]
async fn usage_is_kept_per_key_with_a_filter_and_a_group_by() {
    for gw in backends().await {
        let admin = gw.init(10).await;
        model(&gw, &admin, "echo", "echo", None, 1000.0).await;
        let (user, member) = user_with_role(&gw, "eli@acme.example", Role::Member).await;
        grant(&gw, &admin, &format!("users/{user}"), "echo").await;
        let a = create_key(&gw, &admin, &user, json!({ "name": "a" })).await;
        let b = create_key(&gw, &admin, &user, json!({ "name": "b" })).await;
        for key in [&a.secret, &a.secret, &b.secret] {
            assert_eq!(chat(&gw, key, "echo").await.status(), 200);
        }
        flush(&gw).await;

        let all: Page<UsageDaily> = gw.get_ok("/admin/v1/usage/daily", &admin).await;
        assert_eq!(all.items.len(), 2, "one row per key: {:?}", all.items);
        let only_a: Page<UsageDaily> = gw
            .get_ok(
                &format!("/admin/v1/usage/daily?key_id={}", a.key.id),
                &member,
            )
            .await;
        assert_eq!(only_a.items.len(), 1);
        assert_eq!(only_a.items[0].key_id, a.key.id);
        assert_eq!(only_a.items[0].requests, 2, "{}", gw.name);

        let by_key: Page<UsageDaily> = gw
            .get_ok("/admin/v1/usage/daily?group_by=key&limit=1", &admin)
            .await;
        assert_eq!(by_key.items.len(), 1);
        let cursor = by_key.next_cursor.clone().expect("a second page");
        let rest: Page<UsageDaily> = gw
            .get_ok(
                &format!("/admin/v1/usage/daily?group_by=key&limit=1&cursor={cursor}"),
                &admin,
            )
            .await;
        let mut rows: Vec<(String, i64, String)> = by_key
            .items
            .iter()
            .chain(&rest.items)
            .map(|r| (r.key_id.clone(), r.requests, r.model_id.clone()))
            .collect();
        rows.sort();
        let mut expected = vec![
            (a.key.id.clone(), 2, String::new()),
            (b.key.id.clone(), 1, String::new()),
        ];
        expected.sort();
        assert_eq!(rows, expected, "{}", gw.name);

        let csv = gw
            .request(
                Method::GET,
                &format!("/admin/v1/usage/export.csv?key_id={}", b.key.id),
                Some(&admin),
            )
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let lines: Vec<&str> = csv.lines().collect();
        assert!(lines[0].contains("key_id"), "{csv}");
        assert_eq!(lines.len(), 2, "{csv}");
        assert!(lines[1].contains(&b.key.id), "{csv}");
    }
}

#[tokio::test]
async fn members_manage_only_their_own_keys_and_operators_anyones() {
    for gw in backends().await {
        let admin = gw.init(10).await;
        model(&gw, &admin, "echo", "echo", None, 1.0).await;
        let (ann, ann_token) = user_with_role(&gw, "ann@acme.example", Role::Member).await;
        let (_, ben_token) = user_with_role(&gw, "ben@acme.example", Role::Member).await;
        let (_, auditor) = user_with_role(&gw, "aud@acme.example", Role::Auditor).await;
        let (_, operator) = user_with_role(&gw, "op@acme.example", Role::Operator).await;
        grant(&gw, &admin, &format!("users/{ann}"), "echo").await;
        let key = create_key(&gw, &ann_token, &ann, json!({ "name": "mine" })).await;
        let path = format!("/admin/v1/keys/{}", key.key.id);

        // Another member can neither read, change, rotate nor revoke it.
        let r = gw
            .send(Method::GET, &path, &ben_token, None::<&Value>)
            .await;
        problem(r, StatusCode::FORBIDDEN).await;
        let r = gw
            .send(
                Method::PATCH,
                &path,
                &ben_token,
                Some(&json!({ "name": "theirs" })),
            )
            .await;
        problem(r, StatusCode::FORBIDDEN).await;
        let r = gw
            .send(
                Method::POST,
                &format!("{path}/rotate"),
                &ben_token,
                Some(&json!({})),
            )
            .await;
        problem(r, StatusCode::FORBIDDEN).await;
        let r = gw
            .send(Method::DELETE, &path, &ben_token, None::<&Value>)
            .await;
        problem(r, StatusCode::FORBIDDEN).await;
        let r = gw
            .send(
                Method::POST,
                &format!("/admin/v1/users/{ann}/keys"),
                &ben_token,
                Some(&json!({ "name": "x" })),
            )
            .await;
        problem(r, StatusCode::FORBIDDEN).await;

        // An auditor reads, and changes nothing.
        let seen: ApiKey = gw.get_ok(&path, &auditor).await;
        assert_eq!(seen.id, key.key.id);
        let r = gw
            .send(
                Method::PATCH,
                &path,
                &auditor,
                Some(&json!({ "name": "a" })),
            )
            .await;
        let p: Problem = problem(r, StatusCode::FORBIDDEN).await;
        assert_eq!(p.status, 403);

        // An operator changes anyone's; the owner sees the change; the audit log has it.
        let changed: ApiKey = gw
            .json_ok(
                Method::PATCH,
                &path,
                &operator,
                &json!({ "name": "renamed", "limits": { "max_concurrent": 1 } }),
            )
            .await;
        assert_eq!(changed.name, "renamed");
        assert_eq!(changed.limits.max_concurrent, Some(1));
        let mine: ApiKey = gw.get_ok(&path, &ann_token).await;
        assert_eq!(mine, changed, "{}", gw.name);
        let audit: Value = gw
            .get_ok(&format!("/admin/v1/audit?target_id={}", key.key.id), &admin)
            .await;
        let actions: Vec<&str> = audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        assert_eq!(actions, ["key.updated", "key.created"], "{}", gw.name);

        // The owner revokes their own key.
        let r = gw
            .send(Method::DELETE, &path, &ann_token, None::<&Value>)
            .await;
        assert_eq!(r.status(), 204);
        let r = gw
            .send(
                Method::PATCH,
                &path,
                &ann_token,
                Some(&json!({ "name": "late" })),
            )
            .await;
        problem(r, StatusCode::CONFLICT).await;
    }
}
