//! Several gateway nodes on one database: two `gatehouse-gateway serve` processes on one
//! PostgreSQL driven at once enforce one rate limit, one budget and one concurrency limit
//! together, each admitting from its own counters reconciled every `RECONCILE_MS`. The
//! documented bounds (`gatehouse_dataplane::admission`): with N nodes each admitting r requests a
//! second for a subject, a limit is passed by at most (N − 1) · r · 2 · (interval + round trip)
//! requests; a budget by that many requests' cost plus the requests in flight. A dead node's
//! counters (its concurrency slots) stop counting after the lease lifetime, a live node's do
//! not; a change made through one node reaches the others within a second. SQLite is one node:
//! a second `serve` on its file refuses to start.

use crate::{common, node, support, upstream_stub};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{Timelike, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use common::{TestGateway, backends};
use node::Node;
use support::{chat_at, grant, granted_member, member, model, put};
use upstream_stub::UpstreamStub;

/// How long a dead node's slot lasts, for these tests: long enough that a live node starved of
/// CPU by the rest of the test run still renews its lease in time (2 s was not, once).
const LEASE_TTL_SECS: u64 = 4;
/// How often the nodes reconcile, for these tests (the default).
const RECONCILE_MS: u64 = 25;

/// What a limit may be passed by, in requests, with `nodes` each admitting `rate` requests a
/// second: the module doc's bound, allowing each round trip (with the scheduling delays of a
/// machine running the other tests beside these) up to three intervals. Without reconciling,
/// each node would pass the whole limit: far more than this.
fn overshoot_bound(nodes: u64, rate: f64) -> f64 {
    let round_trip = 3.0 * RECONCILE_MS as f64 / 1000.0;
    (nodes - 1) as f64 * rate * 2.0 * (RECONCILE_MS as f64 / 1000.0 + round_trip)
}

/// A node of these tests: their lease lifetime and reconciliation interval, journaling in a
/// folder of the tests' (not the user's state directory) unless told where.
fn start(database_url: &str) -> Node {
    let journals = std::env::temp_dir().join("gatehouse-node-tests");
    start_journaling(
        database_url,
        &journals.join(uuid::Uuid::now_v7().to_string()),
    )
}

fn start_journaling(database_url: &str, journal: &std::path::Path) -> Node {
    let env = [
        ("GATEHOUSE_LEASE_TTL_SECS", LEASE_TTL_SECS.to_string()),
        ("GATEHOUSE_RECONCILE_MS", RECONCILE_MS.to_string()),
    ];
    Node::start(database_url, journal, &env)
}

/// Sends a chat request to `node`; returns the status and the limit a 429 names.
async fn ask(http: &reqwest::Client, node: &str, key: &str, model: &str) -> (StatusCode, String) {
    let r = chat_at(http, node, key, &support::hello(model)).await;
    let status = r.status();
    let body: Value = r.json().await.unwrap();
    let limit = body["error"]["limit"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    (status, limit)
}

/// Sends `key`'s requests to each of `nodes` at `rate` a second, `n` to each, each request at
/// its appointed time whatever the earlier ones do; returns every answer.
async fn paced(
    http: &reqwest::Client,
    nodes: &[Node],
    key: &str,
    rate: f64,
    n: usize,
) -> Vec<(StatusCode, String)> {
    let start = tokio::time::Instant::now() + Duration::from_millis(20);
    let mut sent = Vec::new();
    for i in 0..n {
        for node in nodes {
            let (http, url, key) = (http.clone(), node.url.clone(), key.to_owned());
            let due = start + Duration::from_secs_f64(i as f64 / rate);
            sent.push(tokio::spawn(async move {
                tokio::time::sleep_until(due).await;
                ask(&http, &url, &key, "pricey").await
            }));
        }
    }
    let mut answers = Vec::new();
    for s in sent {
        answers.push(s.await.unwrap());
    }
    answers
}

/// Waits until the processes' metering has written `n` events of `user`.
async fn metered(gw: &TestGateway, user: &str, n: i64) {
    let started = Instant::now();
    loop {
        let written: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM usage_events WHERE user_id = $1")
                .bind(user)
                .fetch_one(&gw.db().pool)
                .await
                .unwrap();
        if written >= n {
            assert_eq!(written, n, "each request metered once");
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{written} of {n} requests metered"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn two_gateway_processes_enforce_one_rate_limit_and_one_budget() {
    {
        let gw = TestGateway::postgres().await;
        let admin = gw.init(10).await;
        // A cent a token: "hello" (9 tokens in, 2 out) costs 11 cents.
        model(&gw, &admin, "pricey", "echo", None, 10_000.0).await;
        let limited = member(&gw, &admin, "rate@acme.example").await;
        let spender = member(&gw, &admin, "spend@acme.example").await;
        for m in [&limited, &spender] {
            grant(&gw, &admin, &format!("users/{}", m.id), "pricey").await;
        }
        put(
            &gw,
            &admin,
            &format!("/admin/v1/users/{}/limits", limited.id),
            json!({ "requests_per_min": 50 }),
        )
        .await;
        const CAP_USD: f64 = 5.5;
        put(
            &gw,
            &admin,
            &format!("/admin/v1/users/{}/budget", spender.id),
            json!({ "daily_usd": CAP_USD }),
        )
        .await;
        let nodes = [start(&gw.database_url()), start(&gw.database_url())];
        let http = reqwest::Client::new();

        // Each node is sent RATE requests a second for two seconds, within one minute.
        const LIMIT: usize = 50;
        const RATE: f64 = 100.0;
        let second = Utc::now().second();
        if second >= 50 {
            tokio::time::sleep(Duration::from_secs(u64::from(61 - second))).await;
        }
        let answers = paced(&http, &nodes, &limited.key, RATE, 200).await;
        let passed = answers.iter().filter(|(s, _)| *s == StatusCode::OK).count();
        let bound = overshoot_bound(2, RATE);
        eprintln!(
            "{}: {passed} of {} passed a limit of {LIMIT} (bound {bound:.0} over)",
            gw.name,
            answers.len()
        );
        assert!(passed >= LIMIT, "the limit was reached: {passed}");
        assert!(
            (passed - LIMIT) as f64 <= bound,
            "{passed} passed a limit of {LIMIT}: more than the bound of {bound:.0} over"
        );
        assert!(
            answers
                .iter()
                .filter(|(s, _)| *s != StatusCode::OK)
                .all(|(s, l)| *s == StatusCode::TOO_MANY_REQUESTS && l == "requests_per_min")
        );

        // Eight callers, four on each node, each sending a request every 40 ms (100 a second
        // per node) until the budget refuses.
        const CALLERS: usize = 8;
        let callers: Vec<_> = (0..CALLERS)
            .map(|i| {
                let (http, node, key) =
                    (http.clone(), nodes[i % 2].url.clone(), spender.key.clone());
                tokio::spawn(async move {
                    let mut passed = 0;
                    let mut tick = tokio::time::interval(Duration::from_millis(40));
                    loop {
                        tick.tick().await;
                        match ask(&http, &node, &key, "pricey").await {
                            (StatusCode::OK, _) => passed += 1,
                            (StatusCode::TOO_MANY_REQUESTS, limit) => {
                                assert_eq!(limit, "daily_usd");
                                return passed;
                            }
                            other => panic!("unexpected answer {other:?}"),
                        }
                    }
                })
            })
            .collect();
        let mut passed = 0;
        for c in callers {
            passed += c.await.unwrap();
        }
        metered(&gw, &spender.id, passed as i64 + CALLERS as i64).await;
        let spent: i64 = sqlx::query_scalar(
            "SELECT CAST(SUM(cost_micros) AS BIGINT) FROM spend_daily WHERE user_id = $1",
        )
        .bind(&spender.id)
        .fetch_one(&gw.db().pool)
        .await
        .unwrap();
        let cost = 110_000;
        assert_eq!(spent, passed as i64 * cost, "every answer was metered once");
        let cap = (CAP_USD * 1e6) as i64;
        let overshoot = spent - cap;
        eprintln!(
            "{}: {passed} answered, spent {spent} µUSD against a cap of {cap}: overshoot {} request(s)",
            gw.name,
            overshoot as f64 / cost as f64
        );
        assert!(spent >= cap, "the budget was used up: {spent} < {cap}");
        let bound = (overshoot_bound(2, RATE) + CALLERS as f64) * cost as f64;
        assert!(
            overshoot as f64 <= bound,
            "the overshoot {overshoot} stays within the bound, {bound} (the other node's unseen \
             requests and one request per caller in flight)"
        );
    }
}

#[tokio::test]
async fn a_dead_nodes_concurrency_slots_expire_and_a_live_nodes_do_not() {
    {
        let gw = TestGateway::postgres().await;
        let stub = UpstreamStub::start().await;
        let admin = gw.init(10).await;
        model(&gw, &admin, "slow", "openai", Some(&stub.base_url()), 1.0).await;
        let one = member(&gw, &admin, "one@acme.example").await;
        grant(&gw, &admin, &format!("users/{}", one.id), "slow").await;
        let (user, key) = (one.id, one.key);
        put(
            &gw,
            &admin,
            &format!("/admin/v1/users/{user}/limits"),
            json!({ "max_concurrent": 1 }),
        )
        .await;
        let mut first = start(&gw.database_url());
        let second = start(&gw.database_url());
        let http = reqwest::Client::new();

        stub.hold();
        let held = {
            let (http, node, key) = (http.clone(), first.url.clone(), key.clone());
            tokio::spawn(async move { ask(&http, &node, &key, "slow").await })
        };
        while stub.holding() < 1 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        // Three lease lifetimes later the first node still holds its slot: it renews it.
        tokio::time::sleep(Duration::from_secs(3 * LEASE_TTL_SECS)).await;
        assert_eq!(
            ask(&http, &second.url, &key, "slow").await,
            (StatusCode::TOO_MANY_REQUESTS, "max_concurrent".to_owned()),
            "on {}",
            gw.name
        );

        // The first node dies with the request in flight; its slot comes back once the lease
        // it can no longer renew expires.
        first.kill();
        let died = Instant::now();
        held.abort();
        stub.release(100);
        let (status, limit) = ask(&http, &second.url, &key, "slow").await;
        assert_eq!(
            (status, limit.as_str()),
            (StatusCode::TOO_MANY_REQUESTS, "max_concurrent"),
            "the lease outlives its node by up to its lifetime"
        );
        loop {
            let (status, _) = ask(&http, &second.url, &key, "slow").await;
            if status == StatusCode::OK {
                break;
            }
            assert!(
                died.elapsed() < Duration::from_secs(LEASE_TTL_SECS + 10),
                "the slot never came back"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        eprintln!(
            "{}: slot back {:?} after its node died",
            gw.name,
            died.elapsed()
        );
    }
}

#[tokio::test]
async fn a_second_serve_on_one_sqlite_file_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("gateway.db").display());
    let first = start(&url);
    let mut second = Command::new(env!("CARGO_BIN_EXE_gatehouse-gateway"))
        .args(["serve", "--db", &url, "--listen", "127.0.0.1:0"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = second.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(20) {
            let _ = second.kill();
            panic!("a second gateway is serving the same SQLite file");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let mut said = String::new();
    std::io::Read::read_to_string(&mut second.stderr.take().unwrap(), &mut said).unwrap();
    assert!(!status.success());
    assert!(
        said.contains("another gateway is already serving"),
        "{said}"
    );
    assert!(
        said.contains("PostgreSQL"),
        "it points at PostgreSQL: {said}"
    );
    // The first one still serves.
    let health = reqwest::get(format!("{}/v1/models", first.url))
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::UNAUTHORIZED);
    // Once it is gone (killed: the lock goes with the process), the file is served again.
    drop(first);
    let again = start(&url);
    let health = reqwest::get(format!("{}/v1/models", again.url))
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_change_through_one_node_reaches_every_node_within_a_second() {
    let gw = TestGateway::postgres().await;
    let admin = gw.init(10).await;
    model(&gw, &admin, "pricey", "echo", None, 1.0).await;
    let m = member(&gw, &admin, "lee@acme.example").await;
    let grant_path = format!("users/{}", m.id);
    grant(&gw, &admin, &grant_path, "pricey").await;
    let nodes = [start(&gw.database_url()), start(&gw.database_url())];
    let http = reqwest::Client::new();
    // Both nodes have the key cached.
    for node in &nodes {
        assert_eq!(
            ask(&http, &node.url, &m.key, "pricey").await.0,
            StatusCode::OK
        );
    }
    let seen_within_a_second = |expected: StatusCode, code: &'static str| {
        let (http, key) = (http.clone(), m.key.clone());
        let urls: Vec<String> = nodes.iter().map(|n| n.url.clone()).collect();
        async move {
            let changed = Instant::now();
            for url in urls {
                loop {
                    let r = chat_at(&http, &url, &key, &support::hello("pricey")).await;
                    let status = r.status();
                    let body: Value = r.json().await.unwrap();
                    let got = body["error"]["code"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned();
                    if status == expected && got == code {
                        break;
                    }
                    assert!(
                        changed.elapsed() < Duration::from_secs(1),
                        "{url} still answers {status} {got:?}, not {expected} {code:?}"
                    );
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
            changed.elapsed()
        }
    };
    let user = format!("/admin/v1/users/{}", m.id);
    support::post(&gw, &admin, &format!("{user}/suspend"), json!({})).await;
    let took = seen_within_a_second(StatusCode::FORBIDDEN, "account_suspended").await;
    eprintln!("suspension on both nodes after {took:?}");
    support::post(&gw, &admin, &format!("{user}/reactivate"), json!({})).await;
    seen_within_a_second(StatusCode::OK, "").await;

    put(
        &gw,
        &admin,
        &format!("{user}/limits"),
        json!({ "requests_per_min": 0 }),
    )
    .await;
    let took = seen_within_a_second(StatusCode::TOO_MANY_REQUESTS, "rate_limit_exceeded").await;
    eprintln!("limit on both nodes after {took:?}");
    put(&gw, &admin, &format!("{user}/limits"), json!({})).await;
    seen_within_a_second(StatusCode::OK, "").await;

    support::delete(
        &gw,
        &admin,
        &format!("/admin/v1/{grant_path}/grants/pricey"),
    )
    .await;
    let took = seen_within_a_second(StatusCode::FORBIDDEN, "model_not_granted").await;
    eprintln!("grant removal on both nodes after {took:?}");
    grant(&gw, &admin, &grant_path, "pricey").await;
    seen_within_a_second(StatusCode::OK, "").await;

    let keys: Vec<gatehouse_api::ApiKey> = gw.get_ok(&format!("{user}/keys"), &admin).await;
    support::delete(&gw, &admin, &format!("/admin/v1/keys/{}", keys[0].id)).await;
    let took = seen_within_a_second(StatusCode::UNAUTHORIZED, "invalid_api_key").await;
    eprintln!("revocation on both nodes after {took:?}");
}

#[tokio::test]
async fn answered_requests_are_metered_once_though_the_node_is_killed() {
    for gw in backends().await {
        let admin = gw.init(10).await;
        model(&gw, &admin, "pricey", "echo", None, 1.0).await;
        let mut keys = Vec::new();
        for who in ["ann", "bob", "cy"] {
            let m = granted_member(&gw, &admin, &format!("{who}@acme.example"), "pricey").await;
            keys.push(m.key);
        }
        let name = gw.name;
        let parked = gw.unserved().await;
        let mut node = start_journaling(&parked.url, &parked.journal);
        let http = reqwest::Client::new();

        // 1,000 requests a second, each at its appointed time, over the three keys, for two
        // seconds; the node is killed (SIGKILL) after one.
        const RATE: f64 = 1000.0;
        let start = tokio::time::Instant::now() + Duration::from_millis(20);
        let sent: Vec<_> = (0..2000)
            .map(|i| {
                let (http, url, key) = (http.clone(), node.url.clone(), keys[i % 3].clone());
                let due = start + Duration::from_secs_f64(i as f64 / RATE);
                tokio::spawn(async move {
                    tokio::time::sleep_until(due).await;
                    let sent = http
                        .post(format!("{url}/v1/chat/completions"))
                        .bearer_auth(key)
                        .json(&support::hello("pricey"))
                        .send()
                        .await;
                    // Answered: the whole body came, as a 200.
                    match sent {
                        Ok(r) => r.status() == StatusCode::OK && r.bytes().await.is_ok(),
                        Err(_) => false,
                    }
                })
            })
            .collect();
        tokio::time::sleep_until(start + Duration::from_secs(1)).await;
        node.kill();
        let mut answered = [0i64; 3];
        let mut unanswered = 0;
        for (i, s) in sent.into_iter().enumerate() {
            match s.await {
                Ok(true) => answered[i % 3] += 1,
                _ => unanswered += 1,
            }
        }
        assert!(answered.iter().sum::<i64>() > 200, "{answered:?}");

        // The next start writes what the journal holds and the database does not.
        let again = start_journaling(&parked.url, &parked.journal);
        let mut metered = [0i64; 3];
        for (i, key) in keys.iter().enumerate() {
            let hash = gatehouse_gateway::hash_secret(key);
            metered[i] = sqlx::query_scalar(
                "SELECT COUNT(*) FROM usage_events e JOIN api_keys k ON k.id = e.key_id \
                 WHERE k.secret_hash = $1 AND e.status = 200",
            )
            .bind(&hash)
            .fetch_one(&parked.db.pool)
            .await
            .unwrap();
        }
        eprintln!("{name}: answered {answered:?}, metered {metered:?}, {unanswered} unanswered");
        let extra: i64 = metered.iter().zip(&answered).map(|(m, a)| m - a).sum();
        for i in 0..3 {
            assert!(
                metered[i] >= answered[i],
                "{name}: key {i}: {} answered requests were not metered",
                answered[i] - metered[i]
            );
        }
        // Metered and not answered: only requests cut off by the kill, each at most once.
        assert!(
            extra <= unanswered,
            "{name}: {extra} more metered than answered, of {unanswered} unanswered"
        );
        let (events, distinct): (i64, i64) =
            sqlx::query_as("SELECT COUNT(*), COUNT(DISTINCT id) FROM usage_events")
                .fetch_one(&parked.db.pool)
                .await
                .unwrap();
        assert_eq!(events, distinct);
        drop(again);
    }
}
