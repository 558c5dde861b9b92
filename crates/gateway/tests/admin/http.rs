//! The gateway over real HTTP on 127.0.0.1, on every backend: a SQLite file and a PostgreSQL database.

use crate::common;
use std::collections::HashSet;

use gatehouse_api::{ErrorCode, Me, Page, Problem, SyncPage, User};
use gatehouse_gateway::demo;
use reqwest::StatusCode;

use common::backends;

async fn problem(response: reqwest::Response) -> Problem {
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    response.json().await.unwrap()
}

#[tokio::test]
async fn init_then_the_token_works_and_others_get_401() {
    for f in backends().await {
        let token = gatehouse_gateway::init(f.db(), "Acme", "Root@Acme.example", 10)
            .await
            .unwrap();
        assert!(token.expose().starts_with("gat_"));
        assert!(
            token.expose().len() >= 4 + 43,
            "256 bits of randomness, base64url"
        );

        let me: Me = f.get_ok("/admin/v1/me", &token).await;
        assert_eq!(me.user.email, "root@acme.example");
        assert_eq!(me.org.name, "Acme");
        assert_eq!(me.org.seats_used, 1);
        assert!(me.permissions.contains(&"users.read".to_owned()));

        let none = f.get("/admin/v1/me").send().await.unwrap();
        assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(problem(none).await.code, ErrorCode::Unauthorized);

        let wrong = f
            .get("/admin/v1/users")
            .bearer_auth("gat_not-a-real-token")
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
        let p = problem(wrong).await;
        assert_eq!((p.status, p.code), (401, ErrorCode::Unauthorized));

        let basic = f
            .get("/admin/v1/users")
            .header("authorization", "Basic Zm9vOmJhcg==")
            .send()
            .await
            .unwrap();
        assert_eq!(basic.status(), StatusCode::UNAUTHORIZED);

        // init refuses to run twice.
        assert!(
            gatehouse_gateway::init(f.db(), "Acme", "other@acme.example", 10)
                .await
                .is_err()
        );
    }
}

#[tokio::test]
async fn users_page_through_the_demo_org_without_repeats() {
    for f in backends().await {
        let token = f.demo().await;
        let mut seen = HashSet::new();
        let mut cursor: Option<String> = None;
        let mut pages = 0;
        loop {
            let mut req = f.get("/admin/v1/users?limit=7").bearer_auth(token.expose());
            if let Some(c) = &cursor {
                req = req.query(&[("cursor", c)]);
            }
            let page: Page<User> = req.send().await.unwrap().json().await.unwrap();
            pages += 1;
            for u in &page.items {
                assert!(seen.insert(u.id.clone()), "{} repeated", u.id);
            }
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        assert_eq!(seen.len(), demo::DEMO_USERS);
        assert_eq!(pages, demo::DEMO_USERS.div_ceil(7));

        let found: Page<User> = f
            .get_ok("/admin/v1/users?query=QUINN&role=admin", &token)
            .await;
        assert!(
            found
                .items
                .iter()
                .any(|u| u.email == demo::DEMO_ADMIN_EMAIL)
        );
        assert!(
            found
                .items
                .iter()
                .all(|u| u.last_name.to_lowercase().contains("quinn") || u.email.contains("quinn"))
        );

        let bad = f
            .get("/admin/v1/users?limit=0")
            .bearer_auth(token.expose())
            .send()
            .await
            .unwrap();
        assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(problem(bad).await.code, ErrorCode::ValidationFailed);
        let unknown = f
            .get("/admin/v1/users?colour=red")
            .bearer_auth(token.expose())
            .send()
            .await
            .unwrap();
        assert_eq!(unknown.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let cursor = f
            .get("/admin/v1/users?cursor=garbage")
            .bearer_auth(token.expose())
            .send()
            .await
            .unwrap();
        assert_eq!(cursor.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
}

#[tokio::test]
async fn sync_pages_cover_every_entity_in_revision_order() {
    for f in backends().await {
        let token = f.demo().await;
        let mut since = 0;
        let mut last = 0;
        let mut users = HashSet::new();
        loop {
            let page: SyncPage = f
                .get_ok(&format!("/admin/v1/sync?since={since}&limit=10"), &token)
                .await;
            for c in &page.changes {
                assert!(c.revision > last, "revisions strictly increase");
                last = c.revision;
                if c.kind == gatehouse_api::SyncKind::User {
                    users.insert(c.id.clone());
                }
            }
            since = page.next_since;
            if !page.has_more {
                break;
            }
        }
        assert_eq!(users.len(), demo::DEMO_USERS);
    }
}

#[tokio::test]
async fn health_and_openapi_are_public() {
    for f in backends().await {
        let health = f.get("/healthz").send().await.unwrap();
        assert_eq!(health.status(), StatusCode::OK);
        let doc: serde_json::Value = f
            .get("/openapi.json")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(doc["openapi"], "3.1.0");
        for path in [
            "/admin/v1/me",
            "/admin/v1/users",
            "/admin/v1/sync",
            "/healthz",
            "/openapi.json",
        ] {
            assert!(
                doc["paths"].get(path).is_some(),
                "{path} missing from the document"
            );
        }
        let missing = f.get("/admin/v1/nothing-here").send().await.unwrap();
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
        assert_eq!(problem(missing).await.code, ErrorCode::NotFound);
    }
}

#[tokio::test]
async fn nul_characters_are_422_on_every_backend_never_500() {
    for f in backends().await {
        let token = f.init(10).await;
        // PostgreSQL fails any statement with U+0000 in a TEXT value; SQLite would store it.
        for path in [
            "/admin/v1/audit?actor_id=a%00b",
            "/admin/v1/users?query=x%00",
            "/admin/v1/users?workspace_id=%00",
            // A cursor that decodes to "\0".
            "/admin/v1/users?cursor=AA",
            "/admin/v1/audit?cursor=AA",
            "/admin/v1/users%00",
        ] {
            let response = f
                .get(path)
                .bearer_auth(token.expose())
                .send()
                .await
                .unwrap();
            assert_eq!(
                response.status(),
                StatusCode::UNPROCESSABLE_ENTITY,
                "{}: {path}",
                f.name
            );
            assert_eq!(problem(response).await.code, ErrorCode::ValidationFailed);
        }
        let nul_body = f
            .request(reqwest::Method::POST, "/admin/v1/nothing", Some(&token))
            .header("content-type", "application/json")
            .body(r#"{"name":"a\u0000b"}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(nul_body.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let p = problem(nul_body).await;
        assert_eq!(p.errors.unwrap()[0].field, "body");
        // The same body without the NUL goes on to routing.
        let clean = f
            .request(reqwest::Method::POST, "/admin/v1/nothing", Some(&token))
            .header("content-type", "application/json")
            .body(r#"{"name":"a\\u0000b"}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(clean.status(), StatusCode::NOT_FOUND);
        let ok: Page<User> = f.get_ok("/admin/v1/users?query=root", &token).await;
        assert_eq!(ok.items.len(), 1, "{}", f.name);
    }
}

/// `docs/admin-api.md` is the contract; it stays true to what the server describes: every
/// operation of `/openapi.json` has its row there, and every row is an operation.
#[test]
fn the_contract_in_docs_lists_every_operation_of_openapi() {
    use std::collections::BTreeSet;
    let doc = serde_json::to_value(gatehouse_gateway::openapi()).unwrap();
    let served: BTreeSet<String> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, ops)| {
            ops.as_object()
                .unwrap()
                .keys()
                .map(move |verb| format!("{} {path}", verb.to_uppercase()))
        })
        .collect();
    let contract = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/admin-api.md"),
    )
    .unwrap();
    let verbs = ["GET", "POST", "PUT", "PATCH", "DELETE"];
    let documented: BTreeSet<String> = contract
        .lines()
        .filter_map(|line| {
            // A table row: `| VERB | `path` | what |`.
            let mut cells = line.strip_prefix('|')?.split('|').map(str::trim);
            let verb = cells.next()?;
            let path = cells.next()?.trim_matches('`');
            verbs.contains(&verb).then(|| format!("{verb} {path}"))
        })
        .collect();
    let undocumented: Vec<_> = served.difference(&documented).collect();
    let unserved: Vec<_> = documented.difference(&served).collect();
    assert!(
        undocumented.is_empty() && unserved.is_empty(),
        "docs/admin-api.md is out of step with /openapi.json: not in the docs {undocumented:?}, \
         not served {unserved:?}"
    );
    assert!(served.len() > 70, "{} operations", served.len());
}
