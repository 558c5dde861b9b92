//! Invitation tokens at rest: a copy of the database alone gives no live link, while those
//! allowed to invite still copy the same link from the gateway, and the link still works.

use crate::common;
use common::{TestGateway, backends};
use gatehouse_api::{BulkInviteResult, ErrorCode, Invitation, Page, Secret, SyncPage, User};
use gatehouse_gateway::invite_key::InviteKey;
use gatehouse_gateway::{Db, GatewayOptions};
use reqwest::{Method, StatusCode};
use serde_json::json;

/// Every row of every table, as text: what a dump of the database gives.
async fn rows(gw: &TestGateway) -> Vec<u8> {
    let sqlite = gw.database_url().starts_with("sqlite:");
    let tables: Vec<String> = sqlx::query_scalar(if sqlite {
        "SELECT name FROM sqlite_master WHERE type = 'table'"
    } else {
        "SELECT CAST(table_name AS TEXT) FROM information_schema.tables \
         WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
    })
    .fetch_all(&gw.db().pool)
    .await
    .unwrap();
    assert!(tables.iter().any(|t| t == "invitations"), "{tables:?}");
    let mut text = String::new();
    for table in tables {
        let row = if sqlite {
            let columns: Vec<String> =
                sqlx::query_scalar(&format!("SELECT name FROM pragma_table_info('{table}')"))
                    .fetch_all(&gw.db().pool)
                    .await
                    .unwrap();
            columns
                .iter()
                .map(|c| format!("quote(\"{c}\")"))
                .collect::<Vec<_>>()
                .join(" || '|' || ")
        } else {
            "CAST(t AS TEXT)".to_owned()
        };
        let rows: Vec<String> = sqlx::query_scalar(&format!("SELECT {row} FROM \"{table}\" t"))
            .fetch_all(&gw.db().pool)
            .await
            .unwrap();
        for row in rows {
            text.push_str(&row);
            text.push('\n');
        }
    }
    text.into_bytes()
}

/// Everything the database holds: its rows, and for SQLite also the file and its WAL byte for
/// byte (what a copy of the file gives).
async fn stored(gw: &TestGateway) -> Vec<u8> {
    let mut bytes = rows(gw).await;
    if let Some(path) = gw.database_url().strip_prefix("sqlite://") {
        bytes.extend(std::fs::read(path).unwrap());
        if let Ok(wal) = std::fs::read(format!("{path}-wal")) {
            bytes.extend(wal);
        }
    }
    bytes
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

fn token_of(link: &str) -> String {
    link.rsplit('/').next().unwrap().to_owned()
}

async fn invite(gw: &TestGateway, admin: &Secret, email: &str, role: &str) -> Invitation {
    gw.json_ok(
        Method::POST,
        "/admin/v1/invitations",
        admin,
        &json!({ "email": email, "role": role }),
    )
    .await
}

#[tokio::test]
async fn a_copy_of_the_database_gives_no_live_invitation_link() {
    for gw in backends().await {
        let admin = gw.init(50).await;
        let mut made = vec![
            invite(&gw, &admin, "root2@acme.example", "admin").await,
            invite(&gw, &admin, "mem@acme.example", "member").await,
        ];
        let bulk: BulkInviteResult = gw
            .json_ok(
                Method::POST,
                "/admin/v1/invitations/bulk",
                &admin,
                &json!({ "text": "a@acme.example, b@acme.example", "role": "member" }),
            )
            .await;
        made.extend(bulk.results.into_iter().map(|r| r.invitation.unwrap()));
        let resent: Invitation = gw
            .json_ok(
                Method::POST,
                &format!("/admin/v1/invitations/{}/resend", made[1].id),
                &admin,
                &json!({}),
            )
            .await;
        assert_eq!(resent.link, made[1].link, "{}", gw.name);

        let links: Vec<String> = made.iter().map(|i| i.link.clone().unwrap()).collect();
        let haystack = stored(&gw).await;
        for link in &links {
            let token = token_of(link);
            assert!(token.len() >= 32, "{link}");
            assert!(
                !contains(&haystack, &token),
                "{}: the token of {link} is in the database",
                gw.name
            );
        }

        // Those allowed to invite still copy the very link they were given.
        for inv in &made {
            let shown: Invitation = gw
                .get_ok(&format!("/admin/v1/invitations/{}", inv.id), &admin)
                .await;
            assert_eq!(shown.link, inv.link, "{}", gw.name);
        }
        let page: Page<Invitation> = gw.get_ok("/admin/v1/invitations", &admin).await;
        for inv in &made {
            let listed = page.items.iter().find(|i| i.id == inv.id).unwrap();
            assert_eq!(listed.link, inv.link, "{}", gw.name);
        }

        // And the link works.
        let accepted = gw
            .http
            .post(&links[1])
            .json(&json!({ "password": "a long enough password" }))
            .send()
            .await
            .unwrap();
        let user: User = common::ok(accepted, "accept").await;
        assert_eq!(user.email, "mem@acme.example");
    }
}

/// `link` on `gw`, which may be another gateway than the one that made it.
fn on(gw: &TestGateway, link: &str) -> String {
    gw.url(&format!("/invite/{}", token_of(link)))
}

async fn accept(gw: &TestGateway, link: &str) -> reqwest::Response {
    gw.http
        .post(on(gw, link))
        .json(&json!({ "password": "a long enough password" }))
        .send()
        .await
        .unwrap()
}

/// Asserts that `inv`'s link cannot be shown, clearly and without a 5xx, while a resend makes
/// a new link that works and ends the old one; returns the new link.
async fn cannot_show_until_resent(gw: &TestGateway, admin: &Secret, inv: &Invitation) -> String {
    let shown = gw
        .send(
            Method::GET,
            &format!("/admin/v1/invitations/{}", inv.id),
            admin,
            None::<&()>,
        )
        .await;
    let problem = common::problem(shown, StatusCode::CONFLICT).await;
    assert_eq!(problem.code, ErrorCode::Conflict);
    assert!(
        problem.detail.contains("another invitation key") && problem.detail.contains("resend"),
        "{}",
        problem.detail
    );
    let page: Page<Invitation> = gw.get_ok("/admin/v1/invitations", admin).await;
    assert_eq!(
        page.items.iter().find(|i| i.id == inv.id).unwrap().link,
        None
    );
    let sync: SyncPage = gw.get_ok("/admin/v1/sync?since=0&limit=1000", admin).await;
    let synced = sync.changes.iter().find(|c| c.id == inv.id).unwrap();
    let data: serde_json::Value =
        serde_json::from_str(synced.data.as_ref().unwrap().get()).unwrap();
    assert!(data["link"].is_null(), "{data}");

    let resent: Invitation = gw
        .json_ok(
            Method::POST,
            &format!("/admin/v1/invitations/{}/resend", inv.id),
            admin,
            &json!({}),
        )
        .await;
    let link = resent.link.unwrap();
    assert_ne!(Some(&link), inv.link.as_ref());
    let shown: Invitation = gw
        .get_ok(&format!("/admin/v1/invitations/{}", inv.id), admin)
        .await;
    assert_eq!(shown.link.as_ref(), Some(&link));
    if let Some(old) = &inv.link {
        let old = gw.http.get(on(gw, old)).send().await.unwrap();
        assert_eq!(old.status(), StatusCode::NOT_FOUND);
    }
    link
}

#[tokio::test]
async fn a_gateway_with_another_key_cannot_show_links_and_says_so() {
    for gw in backends().await {
        let admin = gw.init(50).await;
        let kept = invite(&gw, &admin, "kept@acme.example", "member").await;
        let resent = invite(&gw, &admin, "resent@acme.example", "admin").await;
        let gw = gw
            .with_options(GatewayOptions {
                invite_key: Some(InviteKey::generate().0),
                ..GatewayOptions::default()
            })
            .await;
        // The links themselves still work: they are looked up by hash.
        let user: User =
            common::ok(accept(&gw, kept.link.as_deref().unwrap()).await, "accept").await;
        assert_eq!(user.email, "kept@acme.example");
        let link = cannot_show_until_resent(&gw, &admin, &resent).await;
        let user: User = common::ok(accept(&gw, &link).await, "accept").await;
        assert_eq!(user.email, "resent@acme.example");
    }
}

#[tokio::test]
async fn tokens_an_older_gateway_kept_in_clear_are_cleared_on_upgrade() {
    for gw in backends().await {
        let admin = gw.init(50).await;
        let inv = invite(&gw, &admin, "old@acme.example", "member").await;
        let token = token_of(inv.link.as_deref().unwrap());
        // The database as the gateway before sealing left it: the token in clear, and the
        // migration that seals not applied yet.
        for sql in [
            "ALTER TABLE invitations ADD COLUMN token TEXT",
            "ALTER TABLE invitations DROP COLUMN token_sealed",
            "DELETE FROM _sqlx_migrations WHERE version = 7",
        ] {
            sqlx::query(sql).execute(&gw.db().pool).await.unwrap();
        }
        sqlx::query("UPDATE invitations SET token = $1")
            .bind(&token)
            .execute(&gw.db().pool)
            .await
            .unwrap();
        assert!(contains(&rows(&gw).await, &token));

        let db = Db::connect(&gw.database_url()).await.unwrap();
        let gw = gw.restart(db, GatewayOptions::default()).await;
        assert!(
            !contains(&rows(&gw).await, &token),
            "{}: the token survived the upgrade",
            gw.name
        );
        let page = gw
            .http
            .get(on(&gw, inv.link.as_deref().unwrap()))
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), StatusCode::OK, "the old link still works");
        let link = cannot_show_until_resent(&gw, &admin, &inv).await;
        let user: User = common::ok(accept(&gw, &link).await, "accept").await;
        assert_eq!(user.email, "old@acme.example");
    }
}
