//! The invitation, resend and welcome mails reach a real SMTP server (aiosmtpd on 127.0.0.1),
//! and the links in them work.

mod common;
#[path = "support/smtp_sink.rs"]
mod smtp_sink;

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
                public_url: None,
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
