//! Notification channels over real HTTP, with a receiving server on 127.0.0.1: signatures,
//! retries after a 500 that stop after a 2xx, nothing lost over a restart, per-channel event
//! choice, the Slack body, egress refusals, the secret shown once, and the audit export.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode as AxumStatus};
use chrono::Utc;
use gatehouse_api::{
    AuditEntry, BudgetPeriod, Channel, ChannelCreated, DeliveryAttempt, DeliveryOutcome, ErrorCode,
    Page, Secret, SubjectKind,
};
use gatehouse_gateway::webhooks::WebhookOptions;
use gatehouse_gateway::{GatewayOptions, alerts};
use hmac::{Hmac, Mac};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::common::{self, TestGateway, backends, problem};

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    signature: String,
    event: String,
    delivery: String,
    body: Vec<u8>,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

#[derive(Default)]
struct Inbox {
    received: Vec<Received>,
    /// Answered in turn to the first requests; 200 once they are used up.
    statuses: Vec<u16>,
}

/// A webhook receiver on 127.0.0.1, answering as it is told.
#[derive(Clone)]
struct Receiver {
    url: String,
    inbox: Arc<Mutex<Inbox>>,
}

impl Receiver {
    async fn start(statuses: Vec<u16>) -> Self {
        let inbox = Arc::new(Mutex::new(Inbox {
            received: Vec::new(),
            statuses,
        }));
        async fn take(
            State(inbox): State<Arc<Mutex<Inbox>>>,
            headers: HeaderMap,
            body: Bytes,
        ) -> AxumStatus {
            let header = |name: &str| {
                headers
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned()
            };
            let mut inbox = inbox.lock().unwrap();
            inbox.received.push(Received {
                signature: header("gatehouse-signature"),
                event: header("gatehouse-event"),
                delivery: header("gatehouse-delivery"),
                body: body.to_vec(),
            });
            let status = if inbox.statuses.is_empty() {
                200
            } else {
                inbox.statuses.remove(0)
            };
            AxumStatus::from_u16(status).unwrap()
        }
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(take))
            .with_state(inbox.clone());
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, inbox }
    }

    fn received(&self) -> Vec<Received> {
        self.inbox.lock().unwrap().received.clone()
    }

    /// Waits (up to 20 s) until `n` requests have arrived.
    async fn wait_for(&self, n: usize) -> Vec<Received> {
        for _ in 0..400 {
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{n} requests expected, got {:?}", self.received());
    }
}

/// Fast retries and loopback receivers, for tests.
fn fast(poll: Duration) -> GatewayOptions {
    let mut options = common::loopback_upstreams();
    options.webhooks = WebhookOptions {
        allowed_nets: gatehouse_gateway::dataplane::UpstreamNets::loopback(),
        first_retry: Duration::from_millis(200),
        max_retry: Duration::from_millis(400),
        give_up_after: Duration::from_secs(60),
        poll_interval: poll,
        lease: Duration::from_secs(5),
        timeout: Duration::from_secs(5),
        expiry_scan_interval: Duration::from_millis(100),
    };
    options
}

/// Recomputes the HMAC of a request as a receiver would, and checks the timestamp is recent.
fn verify(secret: &str, r: &Received) {
    let (t, v1) = r
        .signature
        .split_once(',')
        .and_then(|(t, v)| Some((t.strip_prefix("t=")?, v.strip_prefix("v1=")?)))
        .unwrap_or_else(|| panic!("bad signature header {:?}", r.signature));
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(&r.body);
    let want: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(v1, want, "signature of {}", r.event);
    let t: i64 = t.parse().unwrap();
    assert!((Utc::now().timestamp() - t).abs() < 120);
}

async fn create(gw: &TestGateway, admin: &Secret, body: Value) -> ChannelCreated {
    let response = gw
        .send(Method::POST, "/admin/v1/channels", admin, Some(&body))
        .await;
    assert_eq!(response.status(), StatusCode::CREATED, "{}", gw.name);
    response.json().await.unwrap()
}

/// `gw` served again with `options`, its org, and one channel subscribed to `events` posting to
/// a new receiver that answers `statuses` first.
async fn one_channel(
    gw: TestGateway,
    options: GatewayOptions,
    statuses: Vec<u16>,
    events: Value,
) -> (TestGateway, Secret, Receiver, ChannelCreated) {
    let gw = gw.with_options(options).await;
    let admin = gw.init(100).await;
    let receiver = Receiver::start(statuses).await;
    let made = create(
        &gw,
        &admin,
        json!({ "name": "Ops", "url": receiver.url, "events": events }),
    )
    .await;
    (gw, admin, receiver, made)
}

async fn invite(gw: &TestGateway, admin: &Secret, email: &str) {
    let _: Value = gw
        .json_ok(
            Method::POST,
            "/admin/v1/invitations",
            admin,
            &json!({ "email": email, "role": "member" }),
        )
        .await;
}

async fn deliveries(gw: &TestGateway, admin: &Secret, id: &str) -> Vec<DeliveryAttempt> {
    gw.get_ok(&format!("/admin/v1/channels/{id}/deliveries"), admin)
        .await
}

async fn raise_alert(gw: &TestGateway, user: &str, threshold: u32) {
    let mut tx = gw.db().begin_write().await.unwrap();
    alerts::raise(
        &mut tx,
        &alerts::NewAlert {
            subject_kind: SubjectKind::User,
            subject_id: user.to_owned(),
            period: BudgetPeriod::Monthly,
            period_start: Utc::now(),
            threshold,
            spent_micros: i64::from(threshold) * 100_000,
            cap_micros: 10_000_000,
        },
    )
    .await
    .unwrap()
    .expect("a new alert");
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn events_are_signed_retried_after_a_500_and_stop_after_success() {
    for gw in backends().await {
        let (gw, admin, receiver, made) = one_channel(
            gw,
            fast(Duration::from_millis(50)),
            vec![500, 503],
            json!(["budget.threshold_crossed", "budget.exhausted"]),
        )
        .await;
        assert!(made.secret.starts_with("whsec_"));
        let me: Value = gw.get_ok("/admin/v1/me", &admin).await;
        let user = me["user"]["id"].as_str().unwrap_or_default().to_owned();
        raise_alert(&gw, &user, 80).await;
        let got = receiver.wait_for(3).await;
        for r in &got {
            verify(&made.secret, r);
            assert_eq!(r.event, "budget.threshold_crossed");
            assert_eq!(
                r.delivery, got[0].delivery,
                "one delivery id for every attempt"
            );
        }
        let body = got[2].json();
        assert_eq!(body["type"], "budget.threshold_crossed");
        assert_eq!(body["data"]["threshold"], 80);
        assert!(body["id"].as_str().unwrap().starts_with("evt_"));
        assert!(body["occurred_at"].is_string());
        // Delivered: no attempt follows.
        tokio::time::sleep(Duration::from_millis(1200)).await;
        assert_eq!(receiver.received().len(), 3, "{}", gw.name);
        let log = deliveries(&gw, &admin, &made.channel.id).await;
        let outcomes: Vec<_> = log
            .iter()
            .map(|a| (a.attempt, a.outcome, a.status_code))
            .collect();
        assert_eq!(
            outcomes,
            [
                (3, DeliveryOutcome::Delivered, Some(200)),
                (2, DeliveryOutcome::Retrying, Some(503)),
                (1, DeliveryOutcome::Retrying, Some(500)),
            ],
            "{}",
            gw.name
        );
        assert_eq!(
            log[2].error.as_deref(),
            Some("The receiver answered HTTP 500.")
        );
        assert!(log[2].next_attempt_at.is_some());

        // 100 % is the exhausted event, signed with a rotated secret from now on.
        let rotated: ChannelCreated = gw
            .json_ok(
                Method::POST,
                &format!("/admin/v1/channels/{}/rotate-secret", made.channel.id),
                &admin,
                &json!({}),
            )
            .await;
        assert_ne!(rotated.secret, made.secret);
        raise_alert(&gw, &user, 100).await;
        let got = receiver.wait_for(4).await;
        verify(&rotated.secret, &got[3]);
        assert_eq!(got[3].event, "budget.exhausted");
    }
}

#[tokio::test]
async fn an_undelivered_event_is_delivered_by_the_next_gateway() {
    for gw in backends().await {
        // This gateway looks for due rows only at its start: what is queued after that look stays.
        let (gw, admin, receiver, made) = one_channel(
            gw,
            fast(Duration::from_secs(3600)),
            vec![],
            json!(["user.invited"]),
        )
        .await;
        gw.gateway.webhook_passes(1).await;
        invite(&gw, &admin, "kept@acme.example").await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(receiver.received().is_empty());
        let gw = gw.with_options(fast(Duration::from_millis(50))).await;
        let got = receiver.wait_for(1).await;
        verify(&made.secret, &got[0]);
        assert_eq!(got[0].json()["data"]["email"], "kept@acme.example");
        let log = deliveries(&gw, &admin, &made.channel.id).await;
        assert_eq!(log.len(), 1, "{}", gw.name);
        assert_eq!(log[0].outcome, DeliveryOutcome::Delivered);
    }
}

#[tokio::test]
async fn each_channel_gets_its_events_and_slack_gets_text_and_blocks() {
    for gw in backends().await {
        let gw = gw.with_options(fast(Duration::from_millis(50))).await;
        let admin = gw.init(2).await;
        let invites = Receiver::start(vec![]).await;
        let slack = Receiver::start(vec![]).await;
        let everything = Receiver::start(vec![]).await;
        create(
            &gw,
            &admin,
            json!({ "name": "Invites", "url": invites.url, "events": ["user.invited"] }),
        )
        .await;
        create(
            &gw,
            &admin,
            json!({ "name": "Chat", "url": slack.url, "format": "slack",
                    "events": ["api_key.created", "seats.full", "seats.90_percent"] }),
        )
        .await;
        let audit = create(
            &gw,
            &admin,
            json!({ "name": "SIEM", "url": everything.url, "events": ["audit.entry"] }),
        )
        .await;
        // The second seat of two: 90 % and full at once.
        invite(&gw, &admin, "new@acme.example").await;
        let me: Value = gw.get_ok("/admin/v1/me", &admin).await;
        let user = me["user"]["id"].as_str().unwrap_or_default().to_owned();
        let _: Value = gw
            .json_ok(
                Method::POST,
                &format!("/admin/v1/users/{user}/keys"),
                &admin,
                &json!({ "name": "ci" }),
            )
            .await;
        let got = invites.wait_for(1).await;
        assert_eq!(got[0].event, "user.invited");
        let body = got[0].json();
        assert_eq!(body["data"]["email"], "new@acme.example");
        assert_eq!(body["data"]["role"], "member");
        let chat = slack.wait_for(3).await;
        let mut types: Vec<_> = chat.iter().map(|r| r.event.clone()).collect();
        types.sort();
        assert_eq!(types, ["api_key.created", "seats.90_percent", "seats.full"]);
        for r in &chat {
            let body = r.json();
            assert!(
                body["text"].as_str().is_some_and(|t| !t.is_empty()),
                "{body}"
            );
            assert!(body["blocks"].is_array(), "{body}");
            assert!(body.get("data").is_none(), "{body}");
        }
        let key = chat.iter().find(|r| r.event == "api_key.created").unwrap();
        assert_eq!(key.json()["text"], "API key \"ci\" was created.");
        // Audit streaming: every entry written after the channel was made, as written.
        let streamed = everything.wait_for(3).await;
        let actions: Vec<String> = streamed
            .iter()
            .map(|r| r.json()["data"]["action"].as_str().unwrap().to_owned())
            .collect();
        for a in ["channel.created", "invitation.created", "key.created"] {
            assert!(actions.iter().any(|x| x == a), "{a} in {actions:?}");
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(invites.received().len(), 1, "{}", gw.name);
        assert!(
            deliveries(&gw, &admin, &audit.channel.id)
                .await
                .iter()
                .all(|a| a.outcome == DeliveryOutcome::Delivered)
        );
    }
}

#[tokio::test]
async fn private_targets_are_refused_without_the_allowance() {
    for gw in backends().await {
        let admin = gw.init(10).await;
        for url in [
            "http://127.0.0.1:9/hook",
            "https://127.0.0.1:9/hook",
            "https://localhost/hook",
            "https://10.1.2.3/hook",
            "https://169.254.169.254/latest",
            "http://hooks.example.com/hook",
            "not a url",
        ] {
            let p = problem(
                gw.send(
                    Method::POST,
                    "/admin/v1/channels",
                    &admin,
                    Some(&json!({ "name": "X", "url": url, "events": ["user.invited"] })),
                )
                .await,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
            assert_eq!(p.code, ErrorCode::ValidationFailed, "{url}");
            assert_eq!(p.errors.unwrap()[0].field, "url", "{url}");
        }
        for bad in [
            json!({ "name": "X", "url": "https://hooks.example.com/", "events": [] }),
            json!({ "name": "X", "url": "https://hooks.example.com/", "events": ["user.updated"] }),
            json!({ "name": "", "url": "https://hooks.example.com/", "events": ["user.invited"] }),
            json!({ "name": "X", "url": "https://hooks.example.com/", "events": ["user.invited"],
                    "format": "xml" }),
        ] {
            let status = gw
                .send(Method::POST, "/admin/v1/channels", &admin, Some(&bad))
                .await
                .status();
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        }
        let channels: Vec<Channel> = gw.get_ok("/admin/v1/channels", &admin).await;
        assert!(channels.is_empty(), "bad input changes nothing");
        // A public https URL is taken; an edit to a private one is refused and changes nothing.
        let made = create(
            &gw,
            &admin,
            json!({ "name": "Ops", "url": "https://hooks.example.com/x", "events": ["user.invited"] }),
        )
        .await;
        let path = format!("/admin/v1/channels/{}", made.channel.id);
        problem(
            gw.send(
                Method::PATCH,
                &path,
                &admin,
                Some(&json!({ "url": "https://192.168.1.1/x" })),
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        let same: Channel = gw.get_ok(&path, &admin).await;
        assert_eq!(same, made.channel);
        let edited: Channel = gw
            .json_ok(
                Method::PATCH,
                &path,
                &admin,
                &json!({ "name": "Ops 2", "enabled": false, "events": ["seats.full", "user.joined"] }),
            )
            .await;
        assert_eq!(edited.name, "Ops 2");
        assert!(!edited.enabled);
        assert!(edited.revision > made.channel.revision);
        assert_eq!(
            serde_json::to_value(&edited.events).unwrap(),
            json!(["user.joined", "seats.full"])
        );
        let deleted = gw.send(Method::DELETE, &path, &admin, None::<&()>).await;
        assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
        problem(
            gw.request(Method::GET, &path, Some(&admin))
                .send()
                .await
                .unwrap(),
            StatusCode::NOT_FOUND,
        )
        .await;
    }
}

#[tokio::test]
async fn the_secret_is_shown_once_and_nowhere_else() {
    for gw in backends().await {
        let admin = gw.init(10).await;
        let made = create(
            &gw,
            &admin,
            json!({ "name": "Ops", "url": "https://hooks.example.com/x",
                    "events": ["user.invited"] }),
        )
        .await;
        let rotated: ChannelCreated = gw
            .json_ok(
                Method::POST,
                &format!("/admin/v1/channels/{}/rotate-secret", made.channel.id),
                &admin,
                &json!({}),
            )
            .await;
        for path in [
            "/admin/v1/channels".to_owned(),
            format!("/admin/v1/channels/{}", made.channel.id),
            format!("/admin/v1/channels/{}/deliveries", made.channel.id),
            "/admin/v1/sync".to_owned(),
            "/admin/v1/audit".to_owned(),
            "/admin/v1/audit/export?format=csv".to_owned(),
        ] {
            let text = gw
                .request(Method::GET, &path, Some(&admin))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            for secret in [&made.secret, &rotated.secret] {
                assert!(!text.contains(secret.as_str()), "{path} shows the secret");
                assert!(!text.contains(&secret[6..]), "{path} shows the secret");
            }
        }
        let stored: String = sqlx::query_scalar("SELECT secret_sealed FROM notification_channels")
            .fetch_one(&gw.db().pool)
            .await
            .unwrap();
        assert!(!stored.contains(&rotated.secret[6..]), "stored sealed");
        let audit: Page<AuditEntry> = gw
            .get_ok("/admin/v1/audit?action=channel.secret_rotated", &admin)
            .await;
        assert_eq!(audit.items.len(), 1);
        // The audit log keeps the URL's origin only: a URL may carry a token.
        let created: Page<AuditEntry> = gw
            .get_ok("/admin/v1/audit?action=channel.created", &admin)
            .await;
        assert_eq!(
            created.items[0].summary["after"]["url"],
            "https://hooks.example.com/…"
        );
    }
}

#[tokio::test]
async fn a_test_event_reaches_the_channel() {
    for gw in backends().await {
        let (gw, admin, receiver, made) = one_channel(
            gw,
            fast(Duration::from_millis(50)),
            vec![],
            json!(["seats.full"]),
        )
        .await;
        let sent = gw
            .send(
                Method::POST,
                &format!("/admin/v1/channels/{}/test", made.channel.id),
                &admin,
                None::<&()>,
            )
            .await;
        assert_eq!(sent.status(), StatusCode::ACCEPTED);
        let got = receiver.wait_for(1).await;
        verify(&made.secret, &got[0]);
        assert_eq!(got[0].event, "channel.test");
        assert_eq!(got[0].json()["data"]["channel_id"], made.channel.id);
    }
}

#[tokio::test]
async fn the_audit_log_exports_as_jsonl_and_csv_with_the_lists_filters() {
    for gw in backends().await {
        let admin = gw.init(10).await;
        for email in ["a@acme.example", "b@acme.example"] {
            invite(&gw, &admin, email).await;
        }
        let listed: Page<AuditEntry> = gw
            .get_ok("/admin/v1/audit?action=invitation.created", &admin)
            .await;
        assert_eq!(listed.items.len(), 2, "{}", gw.name);

        let response = gw
            .request(
                Method::GET,
                "/admin/v1/audit/export?format=jsonl&action=invitation.created",
                Some(&admin),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-type"], "application/x-ndjson");
        let text = response.text().await.unwrap();
        let lines: Vec<AuditEntry> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines, listed.items, "{}", gw.name);

        let all: Page<AuditEntry> = gw.get_ok("/admin/v1/audit", &admin).await;
        let csv = gw
            .request(
                Method::GET,
                "/admin/v1/audit/export?format=csv",
                Some(&admin),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
        let csv = csv.text().await.unwrap();
        let mut rows = csv.split("\r\n");
        assert_eq!(
            rows.next(),
            Some("id,at,actor_id,action,target_kind,target_id,revision,summary")
        );
        let body: Vec<&str> = rows.filter(|r| !r.is_empty()).collect();
        assert_eq!(body.len(), all.items.len(), "{}", gw.name);
        let first = &all.items[0];
        assert!(
            body[0].starts_with(&format!("{},", first.id)),
            "{} vs {:?}",
            body[0],
            first.id
        );
        // The summary is one quoted field, its quotes doubled.
        assert!(body[0].ends_with('"'), "{}", body[0]);
        assert!(body[0].contains("\"\"after\"\"") || body[0].contains("\"\"email\"\""));

        let p = problem(
            gw.request(
                Method::GET,
                "/admin/v1/audit/export?format=xml",
                Some(&admin),
            )
            .send()
            .await
            .unwrap(),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert_eq!(p.code, ErrorCode::ValidationFailed);
        let (_, member) =
            common::user_with_role(&gw, "m@acme.example", gatehouse_api::Role::Member).await;
        problem(
            gw.request(Method::GET, "/admin/v1/audit/export", Some(&member))
                .send()
                .await
                .unwrap(),
            StatusCode::FORBIDDEN,
        )
        .await;
    }
}

#[tokio::test]
async fn two_nodes_never_claim_the_same_row() {
    for gw in backends().await {
        // The gateway's own worker looks at its start and then not for an hour; on a busy machine
        // its first look may come after some rows were queued, so the two "nodes" claim as of an
        // hour from now, when any lease or retry time it gave a row has passed.
        let gw = gw.with_options(fast(Duration::from_secs(3600))).await;
        let admin = gw.init(100).await;
        create(
            &gw,
            &admin,
            json!({ "name": "Ops", "url": "https://hooks.example.invalid/x", "events": ["user.invited"] }),
        )
        .await;
        for i in 0..30 {
            invite(&gw, &admin, &format!("n{i}@acme.example")).await;
        }
        let other = gatehouse_gateway::Db::connect(&gw.database_url())
            .await
            .unwrap();
        let claim = |pool: sqlx::AnyPool| async move {
            use gatehouse_store::webhooks::claim_due;
            let mut ids = Vec::new();
            loop {
                let at = Utc::now() + chrono::Duration::hours(1);
                let rows = claim_due(&pool, at, chrono::Duration::seconds(60), 4)
                    .await
                    .unwrap();
                if rows.is_empty() {
                    return ids;
                }
                ids.extend(rows.into_iter().map(|r| r.id));
            }
        };
        let (a, b) = tokio::join!(claim(gw.db().pool.clone()), claim(other.pool.clone()));
        let mut all: Vec<String> = a.iter().chain(&b).cloned().collect();
        all.sort();
        let claimed = all.len();
        all.dedup();
        assert_eq!(all.len(), claimed, "{}: a row was claimed twice", gw.name);
        assert_eq!(claimed, 30, "{}", gw.name);
    }
}

#[tokio::test]
async fn people_and_key_events_carry_their_documented_data() {
    for gw in backends().await {
        let (gw, admin, receiver, _) = one_channel(
            gw,
            fast(Duration::from_millis(50)),
            vec![],
            json!([
                "user.joined",
                "user.suspended",
                "user.deleted",
                "api_key.revoked"
            ]),
        )
        .await;
        // Joined by accepting an invitation, and by being added.
        let inv: gatehouse_api::Invitation = gw
            .json_ok(
                Method::POST,
                "/admin/v1/invitations",
                &admin,
                &json!({ "email": "joiner@acme.example", "role": "member" }),
            )
            .await;
        let link = inv.link.unwrap();
        let accepted = gw
            .http
            .post(gw.url(link.strip_prefix(&gw.gateway.url()).unwrap()))
            .json(&json!({ "password": "a long enough password", "first_name": "Jo" }))
            .send()
            .await
            .unwrap();
        assert!(accepted.status().is_success());
        let added: gatehouse_api::User = gw
            .json_ok(
                Method::POST,
                "/admin/v1/users",
                &admin,
                &json!({ "email": "added@acme.example", "first_name": "Ad", "last_name": "Ded",
                         "role": "member", "password": "a long enough password" }),
            )
            .await;
        let key: gatehouse_api::ApiKeyCreated = gw
            .json_ok(
                Method::POST,
                &format!("/admin/v1/users/{}/keys", added.id),
                &admin,
                &json!({ "name": "ci" }),
            )
            .await;
        gw.send(
            Method::DELETE,
            &format!("/admin/v1/keys/{}", key.key.id),
            &admin,
            None::<&()>,
        )
        .await;
        gw.send(
            Method::POST,
            &format!("/admin/v1/users/{}/suspend", added.id),
            &admin,
            None::<&()>,
        )
        .await;
        gw.send(
            Method::DELETE,
            &format!("/admin/v1/users/{}", added.id),
            &admin,
            None::<&()>,
        )
        .await;
        let got = receiver.wait_for(5).await;
        let events: Vec<(String, Value)> =
            got.iter().map(|r| (r.event.clone(), r.json())).collect();
        let kinds: Vec<&str> = events.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            kinds,
            [
                "user.joined",
                "user.joined",
                "api_key.revoked",
                "user.suspended",
                "user.deleted"
            ],
            "{}",
            gw.name
        );
        assert_eq!(events[0].1["data"]["user"]["email"], "joiner@acme.example");
        assert_eq!(events[1].1["data"]["user"]["email"], "added@acme.example");
        assert_eq!(events[2].1["data"]["key"]["id"], json!(key.key.id));
        assert!(events[2].1["data"]["key"]["revoked_at"].is_string());
        assert_eq!(events[3].1["data"]["user"]["status"], "suspended");
        assert_eq!(events[4].1["data"]["user"]["id"], json!(added.id));
        for (_, body) in &events {
            let mut keys: Vec<&String> = body.as_object().unwrap().keys().collect();
            keys.sort();
            assert_eq!(keys, ["data", "id", "occurred_at", "type"], "{body}");
        }
    }
}

#[tokio::test]
async fn a_failing_event_is_given_up_after_its_time_and_the_log_keeps_the_last_1000() {
    for gw in backends().await {
        let mut options = fast(Duration::from_millis(50));
        options.webhooks.give_up_after = Duration::from_millis(500);
        let (gw, admin, receiver, made) =
            one_channel(gw, options, vec![500; 100], json!(["user.invited"])).await;
        invite(&gw, &admin, "late@acme.example").await;
        let mut log = Vec::new();
        for _ in 0..100 {
            log = deliveries(&gw, &admin, &made.channel.id).await;
            if log
                .first()
                .is_some_and(|a| a.outcome == DeliveryOutcome::Failed)
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let last = &log[0];
        assert_eq!(
            last.outcome,
            DeliveryOutcome::Failed,
            "{}: {log:?}",
            gw.name
        );
        assert!(
            last.error.as_deref().unwrap().contains("Given up"),
            "{last:?}"
        );
        assert!(
            log.len() >= 2
                && log[1..]
                    .iter()
                    .all(|a| a.outcome == DeliveryOutcome::Retrying)
        );
        let sent = receiver.received().len();
        tokio::time::sleep(Duration::from_millis(700)).await;
        assert_eq!(
            receiver.received().len(),
            sent,
            "no attempt after giving up"
        );

        // The log is trimmed to the channel's last 1,000 attempts as attempts are written.
        use gatehouse_store::webhooks::{AttemptResult, DueRow, LOG_KEPT, finish_attempt};
        let mut tx = gw.db().begin_write().await.unwrap();
        for n in 0..(LOG_KEPT + 5) {
            let row = DueRow {
                id: format!("dlv_fake{n}"),
                channel_id: made.channel.id.clone(),
                event_id: format!("evt_fake{n}"),
                event_type: "user.invited".into(),
                event: "{}".into(),
                attempts: 0,
                first_attempt_at: None,
                claim: None,
            };
            let result = AttemptResult {
                outcome: DeliveryOutcome::Delivered,
                status_code: Some(200),
                error: None,
                duration_ms: 1,
                next_attempt_at: None,
            };
            finish_attempt(&mut tx, &row, Utc::now(), &result)
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();
        let log = deliveries(&gw, &admin, &made.channel.id).await;
        assert_eq!(log.len(), 1000, "{}", gw.name);
        assert_eq!(log[0].event_id, format!("evt_fake{}", LOG_KEPT + 4));
    }
}

#[tokio::test]
async fn a_key_expiring_within_a_week_is_told_once_per_expiry_by_the_scan() {
    for gw in backends().await {
        let (gw, admin, receiver, made) = one_channel(
            gw,
            fast(Duration::from_millis(50)),
            vec![],
            json!(["api_key.expiring"]),
        )
        .await;
        let me: Value = gw.get_ok("/admin/v1/me", &admin).await;
        let user = me["user"]["id"].as_str().unwrap_or_default().to_owned();
        let make = |name: &'static str, days: i64| {
            let gw = &gw;
            let admin = &admin;
            let user = user.clone();
            async move {
                let key: gatehouse_api::ApiKeyCreated = gw
                    .json_ok(
                        Method::POST,
                        &format!("/admin/v1/users/{user}/keys"),
                        admin,
                        &json!({
                            "name": name,
                            "expires_at": Utc::now() + chrono::Duration::days(days),
                        }),
                    )
                    .await;
                key.key
            }
        };
        let later = make("quarterly", 10).await;
        let soon = make("nightly", 3).await;
        // The worker's scan finds it by itself.
        let got = receiver.wait_for(1).await;
        verify(&made.secret, &got[0]);
        let body = got[0].json();
        assert_eq!(body["type"], "api_key.expiring");
        assert_eq!(body["data"]["key"]["id"], soon.id.as_str());
        assert_eq!(body["data"]["key"]["name"], "nightly");
        assert!(body["data"]["expires_at"].is_string());
        // Told once: a scan now finds nothing, and the key due in 10 days is not due yet.
        let told = gatehouse_gateway::webhooks::tell_expiring_keys(gw.db())
            .await
            .unwrap();
        assert_eq!(told, 0);

        // A new expiry is a new notice; a revoked key is told nothing.
        let _: Value = gw
            .json_ok(
                Method::PATCH,
                &format!("/admin/v1/keys/{}", soon.id),
                &admin,
                &json!({ "expires_at": Utc::now() + chrono::Duration::days(5) }),
            )
            .await;
        let got = receiver.wait_for(2).await;
        assert_eq!(got[1].json()["data"]["key"]["id"], soon.id.as_str());
        let status = gw
            .send(
                Method::DELETE,
                &format!("/admin/v1/keys/{}", later.id),
                &admin,
                None::<&Value>,
            )
            .await
            .status();
        assert!(status.is_success(), "revoking answered {status}");
        // A revoked key cannot be changed through the API; bring its expiry near in the database.
        let near = gatehouse_store::db::timestamp(Utc::now() + chrono::Duration::days(2));
        sqlx::query("UPDATE api_keys SET expires_at = $1 WHERE id = $2")
            .bind(&near)
            .bind(&later.id)
            .execute(&gw.db().pool)
            .await
            .unwrap();
        let told = gatehouse_gateway::webhooks::tell_expiring_keys(gw.db())
            .await
            .unwrap();
        assert_eq!(told, 0, "a revoked key was told it expires");
        assert_eq!(receiver.received().len(), 2);
    }
}
