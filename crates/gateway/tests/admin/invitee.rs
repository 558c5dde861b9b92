//! The invitee's side over real HTTP: the page behind the link, the form, JSON, and the clear
//! pages for expired, revoked and used links that change nothing.

use crate::common;
use common::{TestGateway, backends, client_from};
use gatehouse_api::{ErrorCode, Invitation, Page, Secret, User, UserStatus};
use gatehouse_gateway::throttle::MAX_LINK_FAILURES;
use reqwest::{Method, StatusCode};
use serde_json::json;

async fn invite(
    gw: &TestGateway,
    admin: &Secret,
    email: &str,
    first_name: &str,
) -> (Invitation, String) {
    let inv: Invitation = gw
        .json_ok(
            Method::POST,
            "/admin/v1/invitations",
            admin,
            &json!({ "email": email, "first_name": first_name, "role": "member" }),
        )
        .await;
    let link = inv.link.clone().unwrap();
    let path = link.strip_prefix(&gw.gateway.url()).unwrap().to_owned();
    (inv, path)
}

async fn users(gw: &TestGateway, admin: &Secret) -> usize {
    let page: Page<User> = gw.get_ok("/admin/v1/users?limit=1000", admin).await;
    page.items.len()
}

#[tokio::test]
async fn the_invitee_joins_through_the_form() {
    for gw in backends().await {
        let admin = gw.init(10).await;
        let (_, path) = invite(&gw, &admin, "ana@acme.example", "<script>alert(1)</script>").await;

        let page = gw.get(&path).send().await.unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        let csp = page.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(csp.contains("default-src 'none'"));
        let html = page.text().await.unwrap();
        assert!(html.contains("ana@acme.example") && html.contains("<form"));
        assert!(
            !html.contains("<script>") && html.contains("&lt;script&gt;"),
            "names are escaped"
        );

        let before = users(&gw, &admin).await;
        let short = gw
            .http
            .post(gw.url(&path))
            .form(&[("password", "short")])
            .send()
            .await
            .unwrap();
        assert_eq!(short.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(short.text().await.unwrap().contains("at least 12"));
        assert_eq!(
            users(&gw, &admin).await,
            before,
            "a rejected form changes nothing"
        );

        let joined = gw
            .http
            .post(gw.url(&path))
            .form(&[
                ("password", "a long enough password"),
                ("first_name", "Ana"),
                ("last_name", "Costa"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(joined.status(), StatusCode::OK);
        assert!(joined.text().await.unwrap().contains("You joined"));
        let all: Page<User> = gw.get_ok("/admin/v1/users?query=ana%40acme", &admin).await;
        assert_eq!(all.items.len(), 1);
        assert_eq!(
            (all.items[0].first_name.as_str(), all.items[0].status),
            ("Ana", UserStatus::Active)
        );

        let used = gw.get(&path).send().await.unwrap();
        assert_eq!(used.status(), StatusCode::GONE);
        assert!(used.text().await.unwrap().contains("used already"));
    }
}

#[tokio::test]
async fn json_callers_get_json_and_dead_links_change_nothing() {
    for gw in backends().await {
        let admin = gw.init(10).await;
        let (_, path) = invite(&gw, &admin, "json@acme.example", "J").await;
        let user: User = gw
            .http
            .post(gw.url(&path))
            .json(&json!({ "password": "a long enough password", "last_name": "Son" }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            (user.email.as_str(), user.last_name.as_str()),
            ("json@acme.example", "Son")
        );
        let again = gw
            .http
            .post(gw.url(&path))
            .json(&json!({ "password": "a long enough password" }))
            .send()
            .await
            .unwrap();
        assert_eq!(
            common::problem(again, StatusCode::GONE).await.code,
            ErrorCode::InviteUsed
        );

        // Revoked.
        let (inv, path) = invite(&gw, &admin, "rev@acme.example", "R").await;
        let _: Invitation = gw
            .json_ok(
                Method::POST,
                &format!("/admin/v1/invitations/{}/revoke", inv.id),
                &admin,
                &json!({}),
            )
            .await;
        let before = users(&gw, &admin).await;
        let r = gw
            .http
            .post(gw.url(&path))
            .json(&json!({ "password": "a long enough password" }))
            .send()
            .await
            .unwrap();
        assert_eq!(
            common::problem(r, StatusCode::GONE).await.code,
            ErrorCode::InviteRevoked
        );
        let page = gw.get(&path).send().await.unwrap();
        assert_eq!(page.status(), StatusCode::GONE);
        assert!(page.text().await.unwrap().contains("revoked"));

        // Expired: moved into the past in the database.
        let (inv, path) = invite(&gw, &admin, "late@acme.example", "L").await;
        sqlx::query("UPDATE invitations SET expires_at = '2000-01-01T00:00:00.000Z' WHERE id = $1")
            .bind(&inv.id)
            .execute(&gw.db().pool)
            .await
            .unwrap();
        let r = gw
            .http
            .post(gw.url(&path))
            .form(&[("password", "a long enough password")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::GONE);
        assert!(r.text().await.unwrap().contains("expired"));
        let listed: Invitation = gw
            .get_ok(&format!("/admin/v1/invitations/{}", inv.id), &admin)
            .await;
        assert_eq!(listed.status, gatehouse_api::InvitationStatus::Expired);
        assert_eq!(
            users(&gw, &admin).await,
            before,
            "dead links change nothing"
        );

        let unknown = gw.get("/invite/not-a-token").send().await.unwrap();
        assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn posts_to_bogus_invitation_links_are_refused_before_hashing_and_throttled_per_client() {
    for gw in backends().await {
        let admin = gw.init(10).await;
        let (_, path) = invite(&gw, &admin, "real@acme.example", "R").await;
        let prober = client_from([127, 0, 0, 2]);

        // The link is looked up before the password is even read: a password too short to
        // hash still gets 404, so no bogus link ever costs an argon2 hash.
        let r = prober
            .post(gw.url("/invite/inv_bogus"))
            .json(&json!({ "password": "short" }))
            .send()
            .await
            .unwrap();
        assert_eq!(
            common::problem(r, StatusCode::NOT_FOUND).await.code,
            ErrorCode::NotFound
        );
        for n in 1..MAX_LINK_FAILURES {
            let r = prober
                .post(gw.url(&format!("/invite/inv_bogus{n}")))
                .form(&[("password", "a long enough password")])
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::NOT_FOUND, "post {n}");
        }
        // That client now waits, whatever link it posts to.
        let r = prober
            .post(gw.url("/invite/inv_bogus"))
            .json(&json!({ "password": "a long enough password" }))
            .send()
            .await
            .unwrap();
        assert!(r.headers().contains_key("retry-after"));
        assert_eq!(
            common::problem(r, StatusCode::TOO_MANY_REQUESTS).await.code,
            ErrorCode::RateLimited
        );
        let r = prober
            .post(gw.url(&path))
            .form(&[("password", "a long enough password")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(r.headers().contains_key("retry-after"));
        assert!(r.text().await.unwrap().contains("Too many"));

        // Another client accepts the real invitation.
        let before = users(&gw, &admin).await;
        let joined = client_from([127, 0, 0, 3])
            .post(gw.url(&path))
            .form(&[("password", "a long enough password")])
            .send()
            .await
            .unwrap();
        assert_eq!(joined.status(), StatusCode::OK);
        assert!(joined.text().await.unwrap().contains("You joined"));
        assert_eq!(users(&gw, &admin).await, before + 1);
    }
}
