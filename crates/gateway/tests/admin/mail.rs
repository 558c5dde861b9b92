//! The invitation, resend and welcome mails reach a real SMTP server (aiosmtpd on 127.0.0.1),
//! and the links in them work.

use crate::{common, smtp_sink};
use common::backends;
use gatehouse_api::{Invitation, Secret, User, UserStatus};
use gatehouse_gateway::GatewayOptions;
use reqwest::{Method, StatusCode};
use serde_json::json;
use smtp_sink::SmtpSink;

/// The first link in `text` that starts with `prefix`.
fn link_in(text: &str, prefix: &str) -> String {
    let start = text
        .find(prefix)
        .unwrap_or_else(|| panic!("no {prefix} link in {text:?}"));
    text[start..]
        .chars()
        .take_while(|c| !c.is_whitespace() && !matches!(c, '"' | '<'))
        .collect()
}

#[tokio::test]
async fn invitation_resend_and_welcome_mails_arrive_with_working_links() {
    for gw in backends().await {
        let sink = SmtpSink::start();
        let admin = gw.init(10).await;
        let gw = gw
            .with_options(GatewayOptions {
                smtp_url: Some(Secret::new(sink.url())),
                mail_from: Some("Gatehouse <gatehouse@test.example>".into()),
                ..Default::default()
            })
            .await;
        let base = gw.gateway.url();

        let inv: Invitation = gw
            .json_ok(
                Method::POST,
                "/admin/v1/invitations",
                &admin,
                &json!({ "email": "lee@acme.example", "first_name": "Lee", "role": "member",
                         "notification_email": "lee.private@mail.example" }),
            )
            .await;
        let mail = sink.next_mail().await;
        assert_eq!(
            mail.rcpt_tos,
            vec!["lee.private@mail.example".to_owned()],
            "the notification address gets it"
        );
        assert!(mail.subject.contains("Acme"));
        let text = mail.text.unwrap();
        assert_eq!(
            link_in(&text, &format!("{base}/invite/")),
            inv.link.clone().unwrap()
        );

        let _: Invitation = gw
            .json_ok(
                Method::POST,
                &format!("/admin/v1/invitations/{}/resend", inv.id),
                &admin,
                &json!({}),
            )
            .await;
        let again = sink.next_mail().await;
        let link = link_in(&again.text.unwrap(), &format!("{base}/invite/"));
        assert_eq!(link, inv.link.unwrap(), "resend mails the same link");
        let page = gw.http.get(&link).send().await.unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        let joined = gw
            .http
            .post(&link)
            .form(&[("password", "a long enough password")])
            .send()
            .await
            .unwrap();
        assert_eq!(joined.status(), StatusCode::OK);

        // An account added without a password gets a mail to choose one.
        let user: User = gw
            .json_ok(
                Method::POST,
                "/admin/v1/users",
                &admin,
                &json!({ "email": "pat@acme.example", "first_name": "Pat", "last_name": "Doe", "role": "member" }),
            )
            .await;
        assert_eq!(user.status, UserStatus::Active);
        let welcome = sink.next_mail().await;
        assert_eq!(welcome.rcpt_tos, vec!["pat@acme.example".to_owned()]);
        let link = link_in(&welcome.text.unwrap(), &format!("{base}/reset/"));
        let set = gw
            .http
            .post(&link)
            .json(&json!({ "password": "pat's long new password" }))
            .send()
            .await
            .unwrap();
        assert_eq!(set.status(), StatusCode::OK, "{}", gw.name);
        let login = gw
            .http
            .post(gw.url("/admin/v1/auth/login"))
            .json(&json!({ "email": "pat@acme.example", "password": "pat's long new password" }))
            .send()
            .await
            .unwrap();
        assert_eq!(login.status(), StatusCode::OK);
    }
}

/// A gateway that mails to a sink, with a member who spends on model `m1` and belongs to the
/// group "Spenders".
struct Spender {
    gw: common::TestGateway,
    sink: SmtpSink,
    admin: Secret,
    user_id: String,
    group: gatehouse_api::Group,
}

impl Spender {
    async fn in_a_group(gw: common::TestGateway) -> Self {
        let sink = SmtpSink::start();
        let admin = gw.init(10).await;
        let gw = gw
            .with_options(GatewayOptions {
                smtp_url: Some(Secret::new(sink.url())),
                ..Default::default()
            })
            .await;
        common::model(&gw, "m1").await;
        let (user_id, _) =
            common::user_with_role(&gw, "spender@acme.example", gatehouse_api::Role::Member).await;
        let group: gatehouse_api::Group = gw
            .json_ok(
                Method::POST,
                "/admin/v1/groups",
                &admin,
                &json!({ "name": "Spenders" }),
            )
            .await;
        let _: serde_json::Value = gw
            .json_ok(
                Method::PUT,
                &format!("/admin/v1/groups/{}/members/{user_id}", group.id),
                &admin,
                &json!({ "role": "member" }),
            )
            .await;
        Self {
            gw,
            sink,
            admin,
            user_id,
            group,
        }
    }
}

/// One answered request of `user_id` at `at` that cost `cost_micros`.
fn spent(
    user_id: &str,
    at: chrono::DateTime<chrono::Utc>,
    cost_micros: i64,
) -> gatehouse_gateway::usage::UsageEvent {
    gatehouse_gateway::usage::UsageEvent {
        id: gatehouse_gateway::new_id("uev"),
        at,
        user_id: user_id.to_owned(),
        key_id: None,
        model_id: "m1".into(),
        workspace_id: None,
        input_tokens: 10,
        output_tokens: 10,
        cost_micros,
        status: 200,
    }
}

#[tokio::test]
async fn crossing_a_budget_threshold_alerts_once_and_mails_the_admins() {
    use gatehouse_api::{Alert, Budget, Page};
    use gatehouse_gateway::{spend, usage};

    for gw in backends().await {
        let Spender {
            gw,
            sink,
            admin,
            user_id,
            group,
        } = Spender::in_a_group(gw).await;
        let members: Page<User> = gw
            .get_ok(&format!("/admin/v1/users?group_id={}", group.id), &admin)
            .await;
        assert_eq!(
            members
                .items
                .iter()
                .map(|u| u.id.as_str())
                .collect::<Vec<_>>(),
            vec![user_id.as_str()]
        );
        let _: Budget = gw
            .json_ok(
                Method::PUT,
                &format!("/admin/v1/users/{user_id}/budget"),
                &admin,
                &json!({ "daily_usd": 1.0, "alert_thresholds": [50, 100] }),
            )
            .await;

        // Spend $0.60, then $0.50: the 50% alert once, then the 100% alert once.
        let mut raised = Vec::new();
        for cost in [600_000, 500_000, 10_000] {
            let now = chrono::Utc::now();
            let mut tx = gw.db().begin_write().await.unwrap();
            usage::record(&mut tx, &spent(&user_id, now, cost))
                .await
                .unwrap();
            let alerts = spend::check_alerts(&mut tx, &user_id, now).await.unwrap();
            tx.commit().await.unwrap();
            spend::mail_admins(&gw.gateway.state, &alerts)
                .await
                .unwrap();
            raised.push(alerts.iter().map(|a| a.threshold).collect::<Vec<_>>());
        }
        assert_eq!(raised, vec![vec![50], vec![100], vec![]], "on {}", gw.name);

        // Mail goes out in the background, so the two may arrive in either order.
        let mut subjects = Vec::new();
        for _ in 0..2 {
            let mail = sink.next_mail().await;
            assert_eq!(mail.rcpt_tos, vec!["root@acme.example".to_owned()]);
            assert!(mail.text.unwrap().contains("spender@acme.example"));
            subjects.push(mail.subject);
        }
        subjects.sort();
        assert!(
            subjects[0].contains("100%") && subjects[1].contains("50%"),
            "{subjects:?}"
        );
        let listed: Page<Alert> = gw.get_ok("/admin/v1/alerts", &admin).await;
        assert_eq!(listed.items.len(), 2);
        let audit: Page<gatehouse_api::AuditEntry> = gw
            .get_ok("/admin/v1/audit?action=alert.raised", &admin)
            .await;
        assert_eq!(audit.items.len(), 2);
    }
}

/// Issue 14: a cap lowered below what was already spent crosses its thresholds at once (with
/// their audit entries and mails), since no further spend comes to raise them while every
/// request is refused at the cap; each still alerts once per period.
#[tokio::test]
async fn lowering_a_budget_below_the_spend_alerts_at_once() {
    use gatehouse_api::{Alert, Budget, Page};
    use gatehouse_gateway::usage;

    for gw in backends().await {
        let Spender {
            gw,
            sink,
            admin,
            user_id,
            group,
        } = Spender::in_a_group(gw).await;
        // $6 spent this month, under caps that no threshold of it crosses.
        let mut tx = gw.db().begin_write().await.unwrap();
        usage::record(&mut tx, &spent(&user_id, chrono::Utc::now(), 6_000_000))
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let alerts = || async {
            let page: Page<Alert> = gw.get_ok("/admin/v1/alerts", &admin).await;
            let mut raised: Vec<(String, u32)> = page
                .items
                .iter()
                .map(|a| (a.subject_id.clone(), a.threshold))
                .collect();
            raised.sort();
            raised
        };
        let set = |path: String, body: serde_json::Value| {
            let (gw, admin) = (&gw, &admin);
            async move {
                let _: Budget = gw.json_ok(Method::PUT, &path, admin, &body).await;
            }
        };
        let user_budget = format!("/admin/v1/users/{user_id}/budget");
        let group_budget = format!("/admin/v1/groups/{}/budget", group.id);
        set(
            user_budget.clone(),
            json!({ "monthly_usd": 100.0, "alert_thresholds": [50, 100] }),
        )
        .await;
        assert!(alerts().await.is_empty(), "{}: $6 of $100", gw.name);

        // Lowered to $10: 60% spent, the 50% threshold is crossed now.
        set(
            user_budget.clone(),
            json!({ "monthly_usd": 10.0, "alert_thresholds": [50, 100] }),
        )
        .await;
        assert_eq!(alerts().await, vec![(user_id.clone(), 50)], "{}", gw.name);
        // Lowered again to $5: 120%, now the 100% one too; the 50% one is not raised twice.
        set(
            user_budget.clone(),
            json!({ "monthly_usd": 5.0, "alert_thresholds": [50, 100] }),
        )
        .await;
        assert_eq!(
            alerts().await,
            vec![(user_id.clone(), 50), (user_id.clone(), 100)],
            "{}",
            gw.name
        );
        set(
            user_budget.clone(),
            json!({ "monthly_usd": 5.0, "alert_thresholds": [50, 100] }),
        )
        .await;
        assert_eq!(alerts().await.len(), 2, "{}: once per period", gw.name);
        // A group's cap, under its members' spend together, alike.
        set(
            group_budget,
            json!({ "monthly_usd": 8.0, "alert_thresholds": [50] }),
        )
        .await;
        assert!(
            alerts().await.contains(&(group.id.clone(), 50)),
            "{}: the group's alert",
            gw.name
        );

        let audit: Page<gatehouse_api::AuditEntry> = gw
            .get_ok("/admin/v1/audit?action=alert.raised", &admin)
            .await;
        assert_eq!(audit.items.len(), 3, "{}", gw.name);
        let mut subjects = Vec::new();
        for _ in 0..3 {
            let mail = sink.next_mail().await;
            assert_eq!(mail.rcpt_tos, vec!["root@acme.example".to_owned()]);
            subjects.push(mail.subject);
        }
        subjects.sort();
        assert!(subjects.iter().any(|s| s.contains("100%")), "{subjects:?}");
        assert_eq!(
            subjects.iter().filter(|s| s.contains("50%")).count(),
            2,
            "{subjects:?}"
        );
    }
}
