//! The data plane over real HTTP on 127.0.0.1, on SQLite and PostgreSQL: OpenAI-compatible
//! answers from the echo provider and from an upstream (a stub on loopback, the one part we do
//! not own), every refusal in its order with OpenAI-style errors, rate limits, concurrency and
//! budgets with `Retry-After`, metering, alerts, and revocation reaching every node at once.

use crate::{common, support, upstream_stub};
use std::time::Duration;

use chrono::{Timelike, Utc};
use gatehouse_api::{Alert, ApiKeyCreated, Page};
use gatehouse_gateway::dataplane::{DataPlaneOptions, UpstreamKeys, UpstreamNets};
use gatehouse_gateway::{Db, GatewayOptions};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use common::{TestGateway, backends};
use support::{chat_at, delete, grant, granted_member, group_of, hello, member, model, post, put};
use upstream_stub::UpstreamStub;

async fn chat(gw: &TestGateway, key: &str, body: &Value) -> reqwest::Response {
    chat_at(&gw.http, &gw.gateway.url(), key, body).await
}

/// The `error` object of an OpenAI-style error response with `status`.
async fn error(response: reqwest::Response, status: StatusCode) -> Value {
    assert_eq!(response.status(), status, "{}", response.url());
    assert_eq!(response.headers()["content-type"], "application/json");
    let body: Value = response.json().await.unwrap();
    let e = body["error"].clone();
    for field in ["message", "type", "code"] {
        assert!(e[field].is_string(), "{field} in {body}");
    }
    e
}

async fn flush(gw: &TestGateway) {
    gw.gateway.state.data_plane.flush().await;
}

/// `(status, input_tokens, output_tokens, cost_micros, model_id)` of a user's usage events.
async fn events(gw: &TestGateway, user: &str) -> Vec<(i64, i64, i64, i64, String)> {
    sqlx::query_as(
        "SELECT status, input_tokens, output_tokens, cost_micros, model_id FROM usage_events \
         WHERE user_id = $1 ORDER BY at, id",
    )
    .bind(user)
    .fetch_all(&gw.db().pool)
    .await
    .unwrap()
}

async fn scalar(db: &Db, sql: &str, bind: &str) -> i64 {
    sqlx::query_scalar(sql)
        .bind(bind)
        .fetch_one(&db.pool)
        .await
        .unwrap()
}

/// Waits, when the current minute is about to end, for the next one: the tests that fill a
/// per-minute window must run within one.
pub(crate) async fn early_in_a_minute() {
    let second = Utc::now().second();
    if second >= 45 {
        tokio::time::sleep(Duration::from_secs(u64::from(61 - second))).await;
    }
}

#[tokio::test]
async fn a_chat_completion_is_answered_by_echo_and_metered() {
    for gw in backends().await {
        let admin = gw.init(10).await;
        model(&gw, &admin, "echo", "echo", None, 1000.0).await;
        model(&gw, &admin, "other", "echo", None, 1.0).await;
        let m = granted_member(&gw, &admin, "ada@acme.example", "echo").await;

        let body = json!({ "model": "echo", "messages": [
            { "role": "system", "content": "be brief" },
            { "role": "user", "content": "hello there" }
        ]});
        let r = chat(&gw, &m.key, &body).await;
        assert_eq!(r.status(), 200, "{}", gw.name);
        let answer: Value = r.json().await.unwrap();
        assert_eq!(answer["object"], "chat.completion");
        assert_eq!(answer["model"], "echo");
        assert_eq!(answer["choices"][0]["message"]["role"], "assistant");
        assert_eq!(answer["choices"][0]["message"]["content"], "hello there");
        assert_eq!(answer["choices"][0]["finish_reason"], "stop");
        // 3 to prime the reply, 4 per message, a token per four bytes of text.
        assert_eq!(answer["usage"]["prompt_tokens"], 3 + (4 + 2) + (4 + 3));
        assert_eq!(answer["usage"]["completion_tokens"], 3);
        // The same request, the same answer.
        let again: Value = chat(&gw, &m.key, &body).await.json().await.unwrap();
        assert_eq!(again["choices"], answer["choices"]);
        assert_eq!(again["usage"], answer["usage"]);

        flush(&gw).await;
        // $1000 per million tokens: 1000 micro-dollars a token.
        let cost = (16 + 3) * 1000;
        assert_eq!(
            events(&gw, &m.id).await,
            vec![(200, 16, 3, cost, "echo".to_owned()); 2],
            "{}",
            gw.name
        );
        let daily: (i64, i64, i64, i64) = sqlx::query_as(
            "SELECT requests, input_tokens, output_tokens, cost_micros FROM usage_daily WHERE user_id = $1",
        )
        .bind(&m.id)
        .fetch_one(&gw.db().pool)
        .await
        .unwrap();
        assert_eq!(daily, (2, 32, 6, 2 * cost));
        let spent = scalar(
            gw.db(),
            "SELECT CAST(SUM(cost_micros) AS BIGINT) FROM spend_daily WHERE user_id = $1",
            &m.id,
        )
        .await;
        assert_eq!(spent, 2 * cost);
        let used = scalar(
            gw.db(),
            "SELECT COUNT(*) FROM api_keys WHERE user_id = $1 AND last_used_at IS NOT NULL",
            &m.id,
        )
        .await;
        assert_eq!(used, 1, "the key's last use is recorded");

        // The models the key may call, in OpenAI's list form.
        let listed: Value = gw
            .http
            .get(gw.url("/v1/models"))
            .bearer_auth(&m.key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(listed["object"], "list");
        let ids: Vec<&str> = listed["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["echo"]);
        assert_eq!(listed["data"][0]["object"], "model");
    }
}

#[tokio::test]
async fn each_check_refuses_in_its_order_with_an_openai_error() {
    for gw in backends().await {
        let admin = gw.init(10).await;
        model(&gw, &admin, "echo", "echo", None, 1.0).await;
        model(&gw, &admin, "secret-model", "echo", None, 1.0).await;
        let m = granted_member(&gw, &admin, "bob@acme.example", "echo").await;

        // No key, a malformed one, an unknown one.
        let r = gw
            .http
            .post(gw.url("/v1/chat/completions"))
            .json(&hello("echo"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            error(r, StatusCode::UNAUTHORIZED).await["code"],
            "missing_api_key"
        );
        for key in ["not-a-key", "gk_unknownunknownunknown", admin.expose()] {
            let e = error(
                chat(&gw, key, &hello("echo")).await,
                StatusCode::UNAUTHORIZED,
            )
            .await;
            assert_eq!(e["code"], "invalid_api_key");
            assert_eq!(e["type"], "invalid_request_error");
        }

        // A bad body, once the key is known.
        let r = gw
            .http
            .post(gw.url("/v1/chat/completions"))
            .bearer_auth(&m.key)
            .body("{not json")
            .send()
            .await
            .unwrap();
        assert_eq!(
            error(r, StatusCode::BAD_REQUEST).await["code"],
            "invalid_request"
        );
        let e = error(
            chat(&gw, &m.key, &json!({ "model": "echo", "messages": [] })).await,
            StatusCode::BAD_REQUEST,
        )
        .await;
        assert_eq!(e["param"], "messages");

        // The model: unknown, then known but not granted.
        let e = error(
            chat(&gw, &m.key, &hello("nope")).await,
            StatusCode::NOT_FOUND,
        )
        .await;
        assert_eq!(e["code"], "model_not_found");
        let e = error(
            chat(&gw, &m.key, &hello("secret-model")).await,
            StatusCode::FORBIDDEN,
        )
        .await;
        assert_eq!(e["code"], "model_not_granted");
        assert_eq!(e["type"], "permission_error");

        // Over a limit and not granted: the grant comes first.
        put(
            &gw,
            &admin,
            &format!("/admin/v1/users/{}/limits", m.id),
            json!({ "requests_per_min": 0 }),
        )
        .await;
        let e = error(
            chat(&gw, &m.key, &hello("secret-model")).await,
            StatusCode::FORBIDDEN,
        )
        .await;
        assert_eq!(e["code"], "model_not_granted");
        let e = error(
            chat(&gw, &m.key, &hello("echo")).await,
            StatusCode::TOO_MANY_REQUESTS,
        )
        .await;
        assert_eq!(e["limit"]["name"], "requests_per_min");
        put(
            &gw,
            &admin,
            &format!("/admin/v1/users/{}/limits", m.id),
            json!({}),
        )
        .await;
        assert_eq!(chat(&gw, &m.key, &hello("echo")).await.status(), 200);

        // Suspended: 403 at once, before the grant; reactivated: served again.
        post(
            &gw,
            &admin,
            &format!("/admin/v1/users/{}/suspend", m.id),
            json!({}),
        )
        .await;
        let e = error(
            chat(&gw, &m.key, &hello("secret-model")).await,
            StatusCode::FORBIDDEN,
        )
        .await;
        assert_eq!(e["code"], "account_suspended", "{}", gw.name);
        let r = gw
            .http
            .get(gw.url("/v1/models"))
            .bearer_auth(&m.key)
            .send()
            .await
            .unwrap();
        assert_eq!(
            error(r, StatusCode::FORBIDDEN).await["code"],
            "account_suspended"
        );
        post(
            &gw,
            &admin,
            &format!("/admin/v1/users/{}/reactivate", m.id),
            json!({}),
        )
        .await;
        assert_eq!(chat(&gw, &m.key, &hello("echo")).await.status(), 200);

        // Revoked: 401 at once. Another key of the same user still works.
        let second: ApiKeyCreated = gw
            .json_ok(
                Method::POST,
                &format!("/admin/v1/users/{}/keys", m.id),
                &admin,
                &json!({ "name": "second" }),
            )
            .await;
        let keys: Vec<gatehouse_api::ApiKey> = gw
            .get_ok(&format!("/admin/v1/users/{}/keys", m.id), &admin)
            .await;
        let first = keys.iter().find(|k| k.name == "laptop").unwrap();
        delete(&gw, &admin, &format!("/admin/v1/keys/{}", first.id)).await;
        let e = error(
            chat(&gw, &m.key, &hello("echo")).await,
            StatusCode::UNAUTHORIZED,
        )
        .await;
        assert_eq!(e["code"], "invalid_api_key");
        assert!(e["message"].as_str().unwrap().contains("revoked"), "{e}");
        assert_eq!(
            chat(&gw, &second.secret, &hello("echo")).await.status(),
            200
        );

        // Deleted: the key gets 403, not 401.
        delete(&gw, &admin, &format!("/admin/v1/users/{}", m.id)).await;
        let e = error(
            chat(&gw, &second.secret, &hello("echo")).await,
            StatusCode::FORBIDDEN,
        )
        .await;
        assert_eq!(e["code"], "account_deleted");

        // Every request of a known key was metered with the status it got, refusals without
        // tokens; unknown keys and deleted accounts have no one to meter.
        flush(&gw).await;
        let statuses: Vec<i64> = events(&gw, &m.id).await.iter().map(|e| e.0).collect();
        assert_eq!(
            statuses,
            [400, 400, 404, 403, 403, 429, 200, 403, 200, 401, 200],
            "{}",
            gw.name
        );
        assert!(
            events(&gw, &m.id)
                .await
                .iter()
                .filter(|e| e.0 != 200)
                .all(|e| e.1 == 0 && e.2 == 0 && e.3 == 0)
        );
        let requests = scalar(
            gw.db(),
            "SELECT CAST(SUM(requests) AS BIGINT) FROM usage_daily WHERE user_id = $1",
            &m.id,
        )
        .await;
        assert_eq!(
            requests, 3,
            "only answered requests count in the daily usage"
        );
    }
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused_as_too_large_and_one_at_it_is_read() {
    use gatehouse_gateway::dataplane::BODY_LIMIT;
    for gw in backends().await {
        let admin = gw.init(10).await;
        model(&gw, &admin, "echo", "echo", None, 1.0).await;
        let m = granted_member(&gw, &admin, "bob@acme.example", "echo").await;
        // Valid JSON padded with spaces to the limit: read, and answered.
        let mut body = serde_json::to_vec(&hello("echo")).unwrap();
        body.resize(BODY_LIMIT, b' ');
        let send = |body: Vec<u8>| {
            gw.http
                .post(gw.url("/v1/chat/completions"))
                .bearer_auth(&m.key)
                .header("content-type", "application/json")
                .body(body)
                .send()
        };
        assert_eq!(send(body.clone()).await.unwrap().status(), StatusCode::OK);
        body.push(b' ');
        let e = error(send(body).await.unwrap(), StatusCode::PAYLOAD_TOO_LARGE).await;
        assert_eq!(e["code"], "request_too_large");
    }
}

#[tokio::test]
async fn rate_limits_refuse_with_retry_after_and_name_the_limit() {
    for gw in backends().await {
        let admin = gw.init(10).await;
        model(&gw, &admin, "echo", "echo", None, 1.0).await;
        let m = member(&gw, &admin, "cy@acme.example").await;
        let other = member(&gw, &admin, "di@acme.example").await;
        let group = group_of(&gw, &admin, "Team", &[&m, &other], "echo").await;
        put(
            &gw,
            &admin,
            &format!("/admin/v1/users/{}/limits", m.id),
            json!({ "requests_per_min": 3 }),
        )
        .await;

        early_in_a_minute().await;
        for _ in 0..3 {
            assert_eq!(chat(&gw, &m.key, &hello("echo")).await.status(), 200);
        }
        let r = chat(&gw, &m.key, &hello("echo")).await;
        let retry: u64 = r.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        let e = error(r, StatusCode::TOO_MANY_REQUESTS).await;
        assert_eq!(e["type"], "rate_limit_error");
        assert_eq!(e["code"], "rate_limit_exceeded");
        let limit = &e["limit"];
        assert_eq!(limit["name"], "requests_per_min");
        assert_eq!(limit["scope"], "user");
        assert_eq!(limit["subject_id"], m.id.as_str());
        assert_eq!(limit["value"], 3.0);
        assert_eq!(limit["used"], 3.0);
        assert_eq!(limit["retry_after_secs"], retry);
        let resets: chrono::DateTime<Utc> = limit["resets_at"].as_str().unwrap().parse().unwrap();
        assert_eq!(resets.second(), 0, "a window ends at the minute");
        assert!((1..=60).contains(&retry), "{retry}");
        assert!(resets > Utc::now() && resets <= Utc::now() + chrono::Duration::seconds(60));
        // The other member has no limit of their own.
        assert_eq!(chat(&gw, &other.key, &hello("echo")).await.status(), 200);

        // The group's input tokens per minute count both members together; a request that is
        // bigger than the limit alone never passes.
        put(
            &gw,
            &admin,
            &format!("/admin/v1/users/{}/limits", m.id),
            json!({}),
        )
        .await;
        put(
            &gw,
            &admin,
            &format!("/admin/v1/groups/{}/limits", group.id),
            json!({ "input_tokens_per_min": 40 }),
        )
        .await;
        let big = json!({ "model": "echo", "messages": [{ "role": "user", "content": "x".repeat(400) }] });
        let e = error(
            chat(&gw, &other.key, &big).await,
            StatusCode::TOO_MANY_REQUESTS,
        )
        .await;
        assert_eq!(e["limit"]["name"], "input_tokens_per_min");
        assert_eq!(e["limit"]["scope"], "group");
        assert_eq!(e["limit"]["subject_id"], group.id.as_str());
        // "hello" is 9 estimated tokens: four fit in 40, the fifth does not, whoever sends it.
        early_in_a_minute().await;
        let mut answered = 0;
        for i in 0..6 {
            let who = if i % 2 == 0 { &other } else { &m };
            let r = chat(&gw, &who.key, &hello("echo")).await;
            if r.status() == 200 {
                answered += 1;
            } else {
                let e = error(r, StatusCode::TOO_MANY_REQUESTS).await;
                assert_eq!(e["limit"]["name"], "input_tokens_per_min");
                assert_eq!(e["limit"]["used"], 36.0);
            }
        }
        assert_eq!(answered, 4, "on {}", gw.name);

        // Output tokens are counted when a request ends: once the window has used its limit,
        // the next request waits for the next minute.
        put(
            &gw,
            &admin,
            &format!("/admin/v1/groups/{}/limits", group.id),
            json!({ "output_tokens_per_min": 2 }),
        )
        .await;
        early_in_a_minute().await;
        let mut refused = None;
        for _ in 0..5 {
            let r = chat(&gw, &other.key, &hello("echo")).await;
            if r.status() == StatusCode::TOO_MANY_REQUESTS {
                refused = Some(error(r, StatusCode::TOO_MANY_REQUESTS).await);
                break;
            }
        }
        let e = refused.expect("the output limit refuses within five requests");
        assert_eq!(e["limit"]["name"], "output_tokens_per_min");
    }
}

#[tokio::test]
async fn budgets_refuse_once_spent_and_alert_once_per_threshold() {
    for gw in backends().await {
        let admin = gw.init(10).await;
        // A cent a token: "hello" (9 tokens in, 2 out) costs 11 cents.
        model(&gw, &admin, "pricey", "echo", None, 10_000.0).await;
        let m = granted_member(&gw, &admin, "eve@acme.example", "pricey").await;
        put(
            &gw,
            &admin,
            &format!("/admin/v1/users/{}/budget", m.id),
            json!({ "daily_usd": 1.0, "monthly_usd": 50.0 }),
        )
        .await;

        let mut answered = 0;
        let refusal = loop {
            let r = chat(&gw, &m.key, &hello("pricey")).await;
            if r.status() != 200 {
                break r;
            }
            answered += 1;
            assert!(answered <= 10, "the budget never refused");
        };
        // Spend before each: 0, 0.11, … 0.99: ten pass, the eleventh finds $1.10 spent.
        assert_eq!(answered, 10, "{}", gw.name);
        let retry: u64 = refusal.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        let e = error(refusal, StatusCode::TOO_MANY_REQUESTS).await;
        assert_eq!(e["type"], "insufficient_quota");
        assert_eq!(e["code"], "budget_exceeded");
        assert_eq!(e["limit"]["name"], "daily_usd");
        assert_eq!(e["limit"]["value"], 1.0);
        assert_eq!(e["limit"]["used"], 1.1);
        let resets: chrono::DateTime<Utc> =
            e["limit"]["resets_at"].as_str().unwrap().parse().unwrap();
        let tomorrow = (Utc::now() + chrono::Duration::days(1))
            .date_naive()
            .and_hms_opt(0, 0, 0)
            .unwrap()
            .and_utc();
        assert_eq!(resets, tomorrow, "the org's day (UTC) ends at midnight");
        assert!(retry > 0 && retry <= 86_400);

        // Each threshold of the daily budget once (50, 80, 100 %), with an audit entry each;
        // the monthly budget is far from its first.
        flush(&gw).await;
        let alerts: Page<Alert> = gw.get_ok("/admin/v1/alerts", &admin).await;
        let mut thresholds: Vec<u32> = alerts.items.iter().map(|a| a.threshold).collect();
        thresholds.sort_unstable();
        assert_eq!(thresholds, [50, 80, 100], "{}", gw.name);
        assert!(
            alerts
                .items
                .iter()
                .all(|a| a.period == gatehouse_api::BudgetPeriod::Daily)
        );
        let audit: Page<gatehouse_api::AuditEntry> = gw
            .get_ok("/admin/v1/audit?action=alert.raised", &admin)
            .await;
        assert_eq!(audit.items.len(), 3);

        // A group's budget caps what its members spend together.
        let a = member(&gw, &admin, "fay@acme.example").await;
        let b = member(&gw, &admin, "gus@acme.example").await;
        let group = group_of(&gw, &admin, "Spenders", &[&a, &b], "pricey").await;
        put(
            &gw,
            &admin,
            &format!("/admin/v1/groups/{}/budget", group.id),
            json!({ "weekly_usd": 0.3 }),
        )
        .await;
        for who in [&a, &b, &a] {
            assert_eq!(chat(&gw, &who.key, &hello("pricey")).await.status(), 200);
        }
        let e = error(
            chat(&gw, &b.key, &hello("pricey")).await,
            StatusCode::TOO_MANY_REQUESTS,
        )
        .await;
        assert_eq!(e["limit"]["name"], "weekly_usd");
        assert_eq!(e["limit"]["scope"], "group");
        assert_eq!(e["limit"]["subject_id"], group.id.as_str());
        assert!(e["message"].as_str().unwrap().contains("Spenders"), "{e}");
    }
}

#[tokio::test]
async fn concurrency_is_limited_and_slots_come_back() {
    for gw in backends().await {
        let stub = UpstreamStub::start().await;
        let admin = gw.init(10).await;
        model(&gw, &admin, "slow", "openai", Some(&stub.base_url()), 1.0).await;
        let m = granted_member(&gw, &admin, "hal@acme.example", "slow").await;
        put(
            &gw,
            &admin,
            &format!("/admin/v1/users/{}/limits", m.id),
            json!({ "max_concurrent": 2 }),
        )
        .await;

        stub.hold();
        let held: Vec<_> = (0..2)
            .map(|_| {
                let (http, url, key) = (
                    gw.http.clone(),
                    gw.url("/v1/chat/completions"),
                    m.key.clone(),
                );
                tokio::spawn(async move {
                    http.post(url)
                        .bearer_auth(key)
                        .json(&hello("slow"))
                        .send()
                        .await
                        .unwrap()
                        .status()
                })
            })
            .collect();
        while stub.holding() < 2 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let r = chat(&gw, &m.key, &hello("slow")).await;
        assert_eq!(r.headers()["retry-after"], "1");
        let e = error(r, StatusCode::TOO_MANY_REQUESTS).await;
        assert_eq!(e["limit"]["name"], "max_concurrent", "{}", gw.name);
        assert_eq!(e["limit"]["used"], 2.0);
        assert!(e["limit"]["resets_at"].is_null());

        stub.release(2);
        for h in held {
            assert_eq!(h.await.unwrap(), 200);
        }
        // A slot comes back as soon as its request ends, before its usage is written.
        stub.release(1);
        assert_eq!(chat(&gw, &m.key, &hello("slow")).await.status(), 200);
    }
}

async fn sse_events(response: reqwest::Response) -> Vec<String> {
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let text = response.text().await.unwrap();
    assert!(text.ends_with("data: [DONE]\n\n"), "{text}");
    text.split("\n\n")
        .filter(|e| !e.is_empty())
        .map(|e| e.strip_prefix("data: ").unwrap().to_owned())
        .collect()
}

fn streamed_text(events: &[String]) -> String {
    events
        .iter()
        .filter(|e| *e != "[DONE]")
        .map(|e| {
            let v: Value = serde_json::from_str(e).unwrap();
            v["choices"][0]["delta"]["content"]
                .as_str()
                .unwrap_or("")
                .to_owned()
        })
        .collect()
}

#[tokio::test]
async fn streams_end_with_done_and_are_metered_from_the_final_usage() {
    for gw in backends().await {
        let stub = UpstreamStub::start().await;
        let admin = gw.init(10).await;
        model(&gw, &admin, "echo", "echo", None, 1000.0).await;
        model(&gw, &admin, "up", "openai", Some(&stub.base_url()), 1000.0).await;
        let m = granted_member(&gw, &admin, "ida@acme.example", "echo").await;
        grant(&gw, &admin, &format!("users/{}", m.id), "up").await;

        let ask = |model: &str, usage: bool| {
            let mut body = hello(model);
            body["messages"][0]["content"] = json!("streams of words");
            body["stream"] = json!(true);
            if usage {
                body["stream_options"] = json!({ "include_usage": true });
            }
            body
        };
        // Echo: the text in pieces, and the usage chunk only when asked for.
        let events = sse_events(chat(&gw, &m.key, &ask("echo", false)).await).await;
        assert_eq!(streamed_text(&events), "streams of words");
        assert!(!events.iter().any(|e| e.contains("\"usage\"")));
        let events = sse_events(chat(&gw, &m.key, &ask("echo", true)).await).await;
        let usage: Value = serde_json::from_str(&events[events.len() - 2]).unwrap();
        assert_eq!(usage["choices"], json!([]));
        assert_eq!(usage["usage"]["completion_tokens"], 4);

        // An upstream: asked for the usage whatever the client asked, which it gets only when
        // it asked; metered from the upstream's own count.
        let events = sse_events(chat(&gw, &m.key, &ask("up", false)).await).await;
        assert_eq!(streamed_text(&events), upstream_stub::ANSWER);
        assert!(
            !events.iter().any(|e| e.contains("\"prompt_tokens\"")),
            "{events:?}"
        );
        let sent = stub.received();
        assert_eq!(sent[0].body["stream_options"]["include_usage"], true);
        assert_eq!(sent[0].body["model"], "up");
        let events = sse_events(chat(&gw, &m.key, &ask("up", true)).await).await;
        assert!(events[events.len() - 2].contains("\"prompt_tokens\":11"));

        flush(&gw).await;
        let metered: Vec<(i64, i64, String)> = events_of(&gw, &m.id).await;
        assert_eq!(
            metered,
            [
                (7 + 4, 4, "echo".to_owned()),
                (7 + 4, 4, "echo".to_owned()),
                (
                    upstream_stub::PROMPT_TOKENS,
                    upstream_stub::COMPLETION_TOKENS,
                    "up".to_owned()
                ),
                (
                    upstream_stub::PROMPT_TOKENS,
                    upstream_stub::COMPLETION_TOKENS,
                    "up".to_owned()
                ),
            ],
            "{}",
            gw.name
        );
    }
}

async fn events_of(gw: &TestGateway, user: &str) -> Vec<(i64, i64, String)> {
    events(gw, user)
        .await
        .into_iter()
        .map(|(_, i, o, _, m)| (i, o, m))
        .collect()
}

#[tokio::test]
async fn upstreams_get_the_configured_key_and_their_errors_are_mapped() {
    for gw in backends().await {
        let stub = UpstreamStub::start().await;
        let keyless = UpstreamStub::start().await;
        let mut keys = UpstreamKeys::default();
        keys.add(&format!("{}=sk-test-upstream", stub.base_url()))
            .unwrap();
        let gw = gw
            .with_options(GatewayOptions {
                data_plane: DataPlaneOptions {
                    upstream_keys: keys,
                    allowed_upstream_nets: UpstreamNets::loopback(),
                    ..Default::default()
                },
                ..Default::default()
            })
            .await;
        let admin = gw.init(10).await;
        model(&gw, &admin, "up", "openai", Some(&stub.base_url()), 1.0).await;
        model(
            &gw,
            &admin,
            "local",
            "openai",
            Some(&keyless.base_url()),
            1.0,
        )
        .await;
        // Nothing listens on port 9 of loopback.
        model(
            &gw,
            &admin,
            "down",
            "openai",
            Some("http://127.0.0.1:9/v1"),
            1.0,
        )
        .await;
        let m = member(&gw, &admin, "jo@acme.example").await;
        for id in ["up", "local", "down"] {
            grant(&gw, &admin, &format!("users/{}", m.id), id).await;
        }

        let mut body = hello("up");
        body["temperature"] = json!(0.25);
        let answer: Value = chat(&gw, &m.key, &body).await.json().await.unwrap();
        assert_eq!(
            answer["choices"][0]["message"]["content"],
            upstream_stub::ANSWER
        );
        let sent = stub.received();
        assert_eq!(
            sent[0].authorization.as_deref(),
            Some("Bearer sk-test-upstream"),
            "the configured key, never the caller's"
        );
        assert_eq!(sent[0].body["temperature"], 0.25, "the request as sent");
        assert_eq!(chat(&gw, &m.key, &hello("local")).await.status(), 200);
        assert_eq!(keyless.received()[0].authorization, None);

        // The upstream refuses the gateway's key: the caller gets 502, and none of the
        // upstream's message (which may quote the key).
        stub.fail_with(401);
        let e = error(
            chat(&gw, &m.key, &hello("up")).await,
            StatusCode::BAD_GATEWAY,
        )
        .await;
        assert_eq!(e["code"], "upstream_auth_failed");
        assert!(!e["message"].as_str().unwrap().contains("sk-"));
        // Any other refusal is told by its status alone: the upstream's body is not passed on.
        stub.fail_with(400);
        let e = error(
            chat(&gw, &m.key, &hello("up")).await,
            StatusCode::BAD_GATEWAY,
        )
        .await;
        assert_eq!(e["code"], "upstream_error");
        assert!(e["message"].as_str().unwrap().contains("400"), "{e}");
        assert!(!e.to_string().contains("stub"), "{e}");
        stub.fail_with(429);
        let r = chat(&gw, &m.key, &hello("up")).await;
        assert!(r.headers().contains_key("retry-after"));
        assert_eq!(
            error(r, StatusCode::TOO_MANY_REQUESTS).await["code"],
            "upstream_rate_limited"
        );
        stub.fail_with(500);
        let e = error(
            chat(&gw, &m.key, &hello("up")).await,
            StatusCode::BAD_GATEWAY,
        )
        .await;
        assert_eq!(e["code"], "upstream_error");
        let e = error(
            chat(&gw, &m.key, &hello("down")).await,
            StatusCode::BAD_GATEWAY,
        )
        .await;
        assert_eq!(e["code"], "upstream_unavailable");

        flush(&gw).await;
        let statuses: Vec<i64> = events(&gw, &m.id).await.iter().map(|e| e.0).collect();
        assert_eq!(statuses, [200, 200, 502, 502, 429, 502, 502], "{}", gw.name);
    }
}

/// A model of the `openai` provider written straight into the catalog, past the admin API's
/// checks of its URL: as one saved before those checks, or under another allow-list, would be.
async fn upstream_model(gw: &TestGateway, id: &str, url: &str) {
    sqlx::query(
        "INSERT INTO models (id, display_name, provider, upstream_base_url, input_usd_per_mtok, \
         output_usd_per_mtok, created_at, revision) VALUES ($1, $1, 'openai', $2, 1.0, 1.0, $3, 0)",
    )
    .bind(id)
    .bind(url)
    .bind(gatehouse_gateway::db::now())
    .execute(&gw.db().pool)
    .await
    .unwrap();
}

fn streamed(model: &str, stream: bool) -> Value {
    let mut body = hello(model);
    body["stream"] = json!(stream);
    body
}

#[tokio::test]
async fn upstreams_at_non_public_addresses_are_refused_at_call_time_unless_allow_listed() {
    for gw in backends().await {
        let stub = UpstreamStub::start().await;
        let port = stub.addr.port();
        // The gateway's own default: no loopback, private or link-local range is allowed.
        let gw = gw.with_options(GatewayOptions::default()).await;
        let admin = gw.init(10).await;
        let m = member(&gw, &admin, "sam@acme.example").await;
        let models = [
            ("literal", stub.base_url()),
            ("named", format!("http://localhost:{port}/v1")),
            ("mapped", format!("http://[::ffff:127.0.0.1]:{port}/v1")),
            ("metadata", "http://169.254.169.254/latest".to_owned()),
            // A query would turn the appended `/chat/completions` into a query, and let the
            // URL choose the path.
            ("query", format!("{}?x=", stub.base_url())),
        ];
        for (id, url) in &models {
            upstream_model(&gw, id, url).await;
            grant(&gw, &admin, &format!("users/{}", m.id), id).await;
        }
        for (id, _) in &models {
            for stream in [false, true] {
                let r = chat(&gw, &m.key, &streamed(id, stream)).await;
                let e = error(r, StatusCode::BAD_GATEWAY).await;
                assert_eq!(e["code"], "upstream_not_allowed", "{id} on {}", gw.name);
                assert!(!e.to_string().contains("127.0.0.1"), "{e}");
            }
        }
        assert!(stub.received().is_empty(), "the stub was never called");

        // Loopback allow-listed: loopback upstreams are called, by address or by name; the
        // metadata service and a URL with a query still are not.
        let gw = gw.with_options(common::loopback_upstreams()).await;
        for id in ["literal", "named"] {
            for stream in [false, true] {
                let r = chat(&gw, &m.key, &streamed(id, stream)).await;
                assert_eq!(r.status(), 200, "{id} on {}", gw.name);
            }
        }
        assert_eq!(stub.received().len(), 4);
        for id in ["metadata", "query"] {
            let e = error(chat(&gw, &m.key, &hello(id)).await, StatusCode::BAD_GATEWAY).await;
            assert_eq!(e["code"], "upstream_not_allowed", "{id} on {}", gw.name);
        }
        assert_eq!(stub.received().len(), 4);
    }
}

#[tokio::test]
async fn redirects_of_an_upstream_are_not_followed() {
    for gw in backends().await {
        let stub = UpstreamStub::start().await;
        let elsewhere = UpstreamStub::start().await;
        stub.redirect_to(&format!("{}/chat/completions", elsewhere.base_url()));
        let admin = gw.init(10).await;
        model(&gw, &admin, "up", "openai", Some(&stub.base_url()), 1.0).await;
        let m = granted_member(&gw, &admin, "rex@acme.example", "up").await;
        for stream in [false, true] {
            let r = chat(&gw, &m.key, &streamed("up", stream)).await;
            let e = error(r, StatusCode::BAD_GATEWAY).await;
            assert_eq!(e["code"], "upstream_error", "{}", gw.name);
            assert!(e["message"].as_str().unwrap().contains("307"), "{e}");
        }
        assert_eq!(stub.received().len(), 2);
        assert!(
            elsewhere.received().is_empty(),
            "the redirect was not followed"
        );
    }
}

#[tokio::test]
async fn only_chat_completions_and_sanitised_errors_reach_the_caller() {
    for gw in backends().await {
        let stub = UpstreamStub::start().await;
        let admin = gw.init(10).await;
        model(&gw, &admin, "up", "openai", Some(&stub.base_url()), 1.0).await;
        let m = granted_member(&gw, &admin, "una@acme.example", "up").await;

        // An error status: its code in a message of the gateway's, none of the body.
        for status in [400, 404, 422, 500, 503] {
            stub.fail_with(status);
            for stream in [false, true] {
                let r = chat(&gw, &m.key, &streamed("up", stream)).await;
                assert_eq!(
                    r.status(),
                    StatusCode::BAD_GATEWAY,
                    "{status} on {}",
                    gw.name
                );
                let text = r.text().await.unwrap();
                assert!(!text.contains("stub") && !text.contains("sk-"), "{text}");
                let body: Value = serde_json::from_str(&text).unwrap();
                assert_eq!(body["error"]["code"], "upstream_error");
                assert_eq!(body["error"]["type"], "upstream_error");
                let message = body["error"]["message"].as_str().unwrap();
                assert!(message.contains(&status.to_string()), "{message}");
            }
        }
        stub.fail_with(0);

        // A 200 whose JSON is not a chat completion (what a metadata service answers).
        let leak =
            r#"{"Code":"Success","AccessKeyId":"ASIA-LEAK","SecretAccessKey":"leaked-secret"}"#;
        stub.answer_raw(Some(("application/json", leak)));
        for stream in [false, true] {
            let r = chat(&gw, &m.key, &streamed("up", stream)).await;
            assert_eq!(r.status(), StatusCode::BAD_GATEWAY, "{}", gw.name);
            let text = r.text().await.unwrap();
            assert!(!text.contains("leaked-secret"), "{text}");
            let body: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(body["error"]["code"], "upstream_error");
        }
        // A stream passes on only its chat.completion.chunk events, re-framed.
        let events = "data: {\"SecretAccessKey\":\"leaked-secret\"}\n\n\
             event: other\nid: 7\ndata: {\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"ok\"}}]}\n\n\
             data: [\"leaked-secret\"]\n\n\
             data: [DONE]\n\n";
        stub.answer_raw(Some(("text/event-stream", events)));
        let r = chat(&gw, &m.key, &streamed("up", true)).await;
        assert_eq!(r.status(), 200);
        let text = r.text().await.unwrap();
        assert!(!text.contains("leaked-secret"), "{text}");
        assert!(!text.contains("event:") && !text.contains("id:"), "{text}");
        assert_eq!(
            text,
            "data: {\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"ok\"}}]}\n\ndata: [DONE]\n\n"
        );
    }
}

#[tokio::test]
async fn a_request_names_its_workspace_for_usage() {
    for gw in backends().await {
        let admin = gw.init(10).await;
        model(&gw, &admin, "echo", "echo", None, 1.0).await;
        let m = granted_member(&gw, &admin, "kim@acme.example", "echo").await;
        let mut ids = Vec::new();
        for slug in ["alpha", "beta", "gamma"] {
            let ws: gatehouse_api::Workspace = gw
                .json_ok(
                    Method::POST,
                    "/admin/v1/workspaces",
                    &admin,
                    &json!({ "name": slug, "slug": slug }),
                )
                .await;
            ids.push(ws.id);
        }
        for ws in &ids[..2] {
            put(
                &gw,
                &admin,
                &format!("/admin/v1/workspaces/{ws}/members/{}", m.id),
                json!({ "role": "member" }),
            )
            .await;
        }
        let send = |workspace: &str| {
            gw.http
                .post(gw.url("/v1/chat/completions"))
                .bearer_auth(&m.key)
                .header("X-Gatehouse-Workspace", workspace)
                .json(&hello("echo"))
                .send()
        };
        assert_eq!(send("beta").await.unwrap().status(), 200);
        assert_eq!(send(&ids[0]).await.unwrap().status(), 200);
        let e = error(send("gamma").await.unwrap(), StatusCode::FORBIDDEN).await;
        assert_eq!(e["code"], "workspace_not_allowed");
        // Without the header, a user in two workspaces makes requests in none.
        assert_eq!(chat(&gw, &m.key, &hello("echo")).await.status(), 200);

        flush(&gw).await;
        let mut rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT workspace_id, requests FROM usage_daily WHERE user_id = $1 ORDER BY workspace_id",
        )
        .bind(&m.id)
        .fetch_all(&gw.db().pool)
        .await
        .unwrap();
        rows.sort();
        let mut expected = vec![(String::new(), 1), (ids[0].clone(), 1), (ids[1].clone(), 1)];
        expected.sort();
        assert_eq!(rows, expected, "{}", gw.name);
    }
}

#[tokio::test]
async fn a_revocation_or_suspension_applies_from_the_next_request() {
    for gw in backends().await {
        let admin = gw.init(10).await;
        model(&gw, &admin, "echo", "echo", None, 1.0).await;
        let m = granted_member(&gw, &admin, "lee@acme.example", "echo").await;

        // The node's own admin API tells its data plane at once (other nodes: `nodes`).
        let on_other = |key: &str| {
            gw.http
                .post(gw.url("/v1/chat/completions"))
                .bearer_auth(key)
                .json(&hello("echo"))
                .send()
        };
        // The key is cached.
        assert_eq!(on_other(&m.key).await.unwrap().status(), 200);

        post(
            &gw,
            &admin,
            &format!("/admin/v1/users/{}/suspend", m.id),
            json!({}),
        )
        .await;
        let e = error(on_other(&m.key).await.unwrap(), StatusCode::FORBIDDEN).await;
        assert_eq!(e["code"], "account_suspended", "{}", gw.name);
        post(
            &gw,
            &admin,
            &format!("/admin/v1/users/{}/reactivate", m.id),
            json!({}),
        )
        .await;
        assert_eq!(on_other(&m.key).await.unwrap().status(), 200);

        let keys: Vec<gatehouse_api::ApiKey> = gw
            .get_ok(&format!("/admin/v1/users/{}/keys", m.id), &admin)
            .await;
        delete(&gw, &admin, &format!("/admin/v1/keys/{}", keys[0].id)).await;
        let e = error(on_other(&m.key).await.unwrap(), StatusCode::UNAUTHORIZED).await;
        assert_eq!(e["code"], "invalid_api_key");
    }
}

/// Under a steady load the metering writer commits at its own pace, a batch per gather interval
/// (50 ms on SQLite) holding everything that ended meanwhile, not a small batch as soon as the
/// last commit ends.
#[tokio::test]
async fn under_a_steady_load_metering_commits_once_per_gather_interval() {
    let gw = TestGateway::sqlite().await;
    let admin = gw.init(10).await;
    model(&gw, &admin, "echo", "echo", None, 1.0).await;
    let m = granted_member(&gw, &admin, "ada@acme.example", "echo").await;
    let body = support::hello("echo");
    assert_eq!(chat(&gw, &m.key, &body).await.status(), 200);
    flush(&gw).await;

    let data_plane = &gw.gateway.state.data_plane;
    let (batches_before, committed_before) = data_plane.metering_batches();
    let start = std::time::Instant::now();
    let clients = (0..8).map(|_| {
        let (http, url, key, body) = (
            gw.http.clone(),
            gw.gateway.url(),
            m.key.clone(),
            body.clone(),
        );
        tokio::spawn(async move {
            let mut answered = 0u64;
            while start.elapsed() < Duration::from_secs(1) {
                assert_eq!(chat_at(&http, &url, &key, &body).await.status(), 200);
                answered += 1;
            }
            answered
        })
    });
    let mut answered = 0;
    for client in clients {
        answered += client.await.unwrap();
    }
    let elapsed = start.elapsed();
    flush(&gw).await;
    let (batches, committed) = data_plane.metering_batches();
    let (batches, committed) = (batches - batches_before, committed - committed_before);
    assert_eq!(committed, answered);
    // Enough load that commits started back to back would be many more.
    assert!(answered >= 200, "only {answered} requests in {elapsed:?}");
    // One batch per 50 ms, the first, and the one `flush` hurries.
    let most = elapsed.as_millis() as u64 / 50 + 2;
    assert!(
        batches <= most,
        "{batches} batches for {answered} requests in {elapsed:?}: at most {most}"
    );
}
