//! Several gateway nodes on one database: two `gatehouse-gateway serve` processes driven at once
//! enforce one rate limit, one budget and one concurrency limit together. The documented bounds:
//! a rate limit is never passed; a budget is passed by at most the requests in flight when it
//! was reached (here, one per concurrent caller); a dead node's concurrency slots come back when
//! its leases expire, and a live node's do not.
//!
//! Several nodes share PostgreSQL; SQLite is one node (its admissions add what the node itself
//! has not yet written to the budgets, which a second process could not see), so the shared
//! budget runs on PostgreSQL only. Concurrency leases live in the database on both, and a
//! process that dies on a SQLite file leaves leases that expire the same way.

use crate::{common, support, upstream_stub};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{Timelike, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use common::{TestGateway, backends};
use support::{chat_at, grant, member, model, put};
use upstream_stub::UpstreamStub;

/// How long a dead node's slot lasts, for these tests.
const LEASE_TTL_SECS: u64 = 2;

/// A `gatehouse-gateway serve` process on the test's database, killed when dropped.
struct Node {
    child: Child,
    url: String,
}

impl Node {
    fn start(database_url: &str) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_gatehouse-gateway"))
            .args(["serve", "--db", database_url, "--listen", "127.0.0.1:0"])
            .env("GATEHOUSE_LEASE_TTL_SECS", LEASE_TTL_SECS.to_string())
            // The upstream is a stub on loopback.
            .env("GATEHOUSE_ALLOWED_UPSTREAM_NETS", "127.0.0.0/8")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let url = loop {
            let line = lines
                .next()
                .expect("the gateway ended before it listened")
                .unwrap();
            if let Some(url) = line.strip_prefix("listening on ") {
                break url.trim().to_owned();
            }
        };
        // Keep reading, so that the process never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines.by_ref() {});
        Self { child, url }
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
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
            json!({ "requests_per_min": 20 }),
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
        let nodes = [
            Node::start(&gw.database_url()),
            Node::start(&gw.database_url()),
        ];
        let http = reqwest::Client::new();

        // 40 requests at once, half to each node, within one minute: exactly 20 pass.
        let second = Utc::now().second();
        if second >= 40 {
            tokio::time::sleep(Duration::from_secs(u64::from(61 - second))).await;
        }
        let burst: Vec<_> = (0..40)
            .map(|i| {
                let (http, node, key) =
                    (http.clone(), nodes[i % 2].url.clone(), limited.key.clone());
                tokio::spawn(async move { ask(&http, &node, &key, "pricey").await })
            })
            .collect();
        let mut answers = Vec::new();
        for r in burst {
            answers.push(r.await.unwrap());
        }
        let passed = answers.iter().filter(|(s, _)| *s == StatusCode::OK).count();
        assert_eq!(passed, 20, "on {}", gw.name);
        assert!(
            answers
                .iter()
                .filter(|(s, _)| *s != StatusCode::OK)
                .all(|(s, l)| *s == StatusCode::TOO_MANY_REQUESTS && l == "requests_per_min")
        );

        // Eight callers, four on each node, each sending until the budget refuses.
        const CALLERS: usize = 8;
        let callers: Vec<_> = (0..CALLERS)
            .map(|i| {
                let (http, node, key) =
                    (http.clone(), nodes[i % 2].url.clone(), spender.key.clone());
                tokio::spawn(async move {
                    let mut passed = 0;
                    loop {
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
        assert!(
            overshoot < CALLERS as i64 * cost,
            "the overshoot {overshoot} stays under one request per caller in flight ({CALLERS} × {cost})"
        );
    }
}

#[tokio::test]
async fn a_dead_nodes_concurrency_slots_expire_and_a_live_nodes_do_not() {
    for gw in backends().await {
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
        let mut first = Node::start(&gw.database_url());
        let second = Node::start(&gw.database_url());
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
