//! The model catalog over real HTTP: CRUD, validation, permissions, the cascade to grants and
//! what the change feed reports.

use crate::common;
use gatehouse_api::{
    AuditEntry, ErrorCode, FieldError, Model, ModelCreate, Page, Provider, Role, Secret, SyncKind,
    SyncPage, UserStatus,
};
use gatehouse_gateway::{GatewayOptions, auth, db, users};
use reqwest::{Method, StatusCode};
use serde_json::json;

use common::{TestGateway, backends, problem};

/// An active member of the org and a token of theirs.
async fn member(f: &TestGateway, email: &str) -> (String, Secret) {
    let mut tx = f.db().begin_write().await.unwrap();
    let id = users::insert(
        &mut tx,
        &users::NewUser {
            email: email.to_owned(),
            first_name: "Mo".to_owned(),
            last_name: "Member".to_owned(),
            role: Role::Member,
            status: UserStatus::Active,
            workspace_ids: vec![],
            password_hash: None,
            created_at: db::now(),
            last_active_at: None,
        },
    )
    .await
    .unwrap();
    let token = auth::issue_token(&mut tx, &id, "test").await.unwrap();
    tx.commit().await.unwrap();
    (id, token)
}

fn gpt4o_mini() -> ModelCreate {
    ModelCreate {
        id: "gpt-4o-mini".to_owned(),
        display_name: "GPT-4o mini".to_owned(),
        provider: Provider::Openai,
        upstream_base_url: Some("https://api.openai.example/v1".to_owned()),
        input_usd_per_mtok: 0.15,
        output_usd_per_mtok: 0.6,
    }
}

#[tokio::test]
async fn models_are_created_read_changed_and_audited() {
    for f in backends().await {
        let admin = f.init(10).await;
        let created = f
            .send(
                Method::POST,
                "/admin/v1/models",
                &admin,
                Some(&gpt4o_mini()),
            )
            .await;
        assert_eq!(created.status(), StatusCode::CREATED, "{}", f.name);
        let created: Model = created.json().await.unwrap();
        assert_eq!(created.id, "gpt-4o-mini");
        assert_eq!(created.provider, Provider::Openai);
        assert_eq!(created.input_usd_per_mtok, 0.15);
        assert_eq!(created.output_usd_per_mtok, 0.6);

        let echo = ModelCreate {
            id: "echo".to_owned(),
            display_name: "  Echo  ".to_owned(),
            provider: Provider::Echo,
            upstream_base_url: None,
            input_usd_per_mtok: 0.0,
            output_usd_per_mtok: 0.0,
        };
        let echo: Model = f
            .json_ok(Method::POST, "/admin/v1/models", &admin, &echo)
            .await;
        assert_eq!(echo.display_name, "Echo", "names are trimmed");
        assert_eq!(echo.upstream_base_url, None);

        let one: Model = f.get_ok("/admin/v1/models/gpt-4o-mini", &admin).await;
        assert_eq!(one, created);

        // Two pages of one, in id order.
        let first: Page<Model> = f.get_ok("/admin/v1/models?limit=1", &admin).await;
        assert_eq!(first.items[0].id, "echo");
        let cursor = first.next_cursor.expect("a second page");
        let second: Page<Model> = f
            .get_ok(&format!("/admin/v1/models?limit=1&cursor={cursor}"), &admin)
            .await;
        assert_eq!(second.items, vec![created.clone()]);
        assert_eq!(second.next_cursor, None);

        let patched: Model = f
            .json_ok(
                Method::PATCH,
                "/admin/v1/models/gpt-4o-mini",
                &admin,
                &json!({ "display_name": "GPT-4o mini (2024-07-18)", "output_usd_per_mtok": 0.75 }),
            )
            .await;
        assert_eq!(patched.display_name, "GPT-4o mini (2024-07-18)");
        assert_eq!(patched.output_usd_per_mtok, 0.75);
        assert_eq!(patched.input_usd_per_mtok, 0.15, "absent fields stay");
        assert_eq!(patched.upstream_base_url, created.upstream_base_url);
        assert!(patched.revision > created.revision);

        let trail: Page<AuditEntry> = f
            .get_ok("/admin/v1/audit?target_id=gpt-4o-mini", &admin)
            .await;
        let actions: Vec<&str> = trail.items.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(actions, ["model.updated", "model.created"]);
        assert_eq!(trail.items[0].summary["before"]["output_usd_per_mtok"], 0.6);
        assert_eq!(trail.items[0].summary["after"]["output_usd_per_mtok"], 0.75);

        // Members read the catalog but change nothing.
        let (_, member) = member(&f, "mo@acme.example").await;
        let seen: Page<Model> = f.get_ok("/admin/v1/models", &member).await;
        assert_eq!(seen.items.len(), 2);
        let mut other = gpt4o_mini();
        other.id = "gpt-4o".to_owned();
        for response in [
            f.send(Method::POST, "/admin/v1/models", &member, Some(&other))
                .await,
            f.send(
                Method::PATCH,
                "/admin/v1/models/echo",
                &member,
                Some(&json!({ "display_name": "Mine" })),
            )
            .await,
            f.send(
                Method::DELETE,
                "/admin/v1/models/echo",
                &member,
                None::<&()>,
            )
            .await,
        ] {
            let p = problem(response, StatusCode::FORBIDDEN).await;
            assert_eq!(p.code, ErrorCode::Forbidden);
        }
        let unchanged: Model = f.get_ok("/admin/v1/models/echo", &admin).await;
        assert_eq!(unchanged, echo);

        let missing = f
            .request(Method::GET, "/admin/v1/models/nope", Some(&admin))
            .send()
            .await
            .unwrap();
        assert_eq!(
            problem(missing, StatusCode::NOT_FOUND).await.code,
            ErrorCode::NotFound
        );
        let missing = f
            .send(
                Method::PATCH,
                "/admin/v1/models/nope",
                &admin,
                Some(&json!({})),
            )
            .await;
        problem(missing, StatusCode::NOT_FOUND).await;
        let unauthenticated = f.get("/admin/v1/models").send().await.unwrap();
        problem(unauthenticated, StatusCode::UNAUTHORIZED).await;
    }
}

#[tokio::test]
async fn bad_models_are_refused_with_the_field_named() {
    for f in backends().await {
        let admin = f.init(10).await;
        let cases: Vec<(serde_json::Value, &str)> = vec![
            (json!({ "id": "GPT-4o" }), "id"),
            (json!({ "id": "gpt 4o" }), "id"),
            (json!({ "id": "" }), "id"),
            (json!({ "id": "a".repeat(65) }), "id"),
            (json!({ "id": "modèle" }), "id"),
            (json!({ "id": "a/b" }), "id"),
            (json!({ "display_name": "   " }), "display_name"),
            (json!({ "upstream_base_url": null }), "upstream_base_url"),
            (json!({ "upstream_base_url": "" }), "upstream_base_url"),
            (
                json!({ "upstream_base_url": "ftp://files.example/v1" }),
                "upstream_base_url",
            ),
            (
                json!({ "upstream_base_url": "not a url" }),
                "upstream_base_url",
            ),
            (json!({ "input_usd_per_mtok": -0.01 }), "input_usd_per_mtok"),
            (json!({ "output_usd_per_mtok": -5 }), "output_usd_per_mtok"),
        ];
        for (change, field) in cases {
            let mut body = serde_json::to_value(gpt4o_mini()).unwrap();
            for (k, v) in change.as_object().unwrap() {
                body[k] = v.clone();
            }
            let response = f
                .send(Method::POST, "/admin/v1/models", &admin, Some(&body))
                .await;
            let p = problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
            assert_eq!(p.code, ErrorCode::ValidationFailed, "{body}");
            let fields: Vec<&str> = p
                .errors
                .iter()
                .flatten()
                .map(|e| e.field.as_str())
                .collect();
            assert_eq!(fields, [field], "{body}: {p:?}");
        }
        // Malformed JSON: a price out of f64 range, a provider that does not exist, an
        // unknown field.
        for raw in [
            r#"{"id":"x","display_name":"X","provider":"echo","input_usd_per_mtok":1e400,"output_usd_per_mtok":0}"#,
            r#"{"id":"x","display_name":"X","provider":"anthropic","input_usd_per_mtok":1,"output_usd_per_mtok":1}"#,
            r#"{"id":"x","display_name":"X","provider":"echo","input_usd_per_mtok":1,"output_usd_per_mtok":1,"colour":"red"}"#,
        ] {
            let response = f
                .request(Method::POST, "/admin/v1/models", Some(&admin))
                .header("content-type", "application/json")
                .body(raw)
                .send()
                .await
                .unwrap();
            let p = problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
            assert_eq!(p.code, ErrorCode::ValidationFailed, "{raw}");
        }
        let page: Page<Model> = f.get_ok("/admin/v1/models", &admin).await;
        assert!(page.items.is_empty(), "nothing bad was stored");

        f.json_ok::<Model>(Method::POST, "/admin/v1/models", &admin, &gpt4o_mini())
            .await;
        let again = f
            .send(
                Method::POST,
                "/admin/v1/models",
                &admin,
                Some(&gpt4o_mini()),
            )
            .await;
        let p = problem(again, StatusCode::CONFLICT).await;
        assert_eq!(p.code, ErrorCode::Conflict);

        // A change that would leave an openai model without an upstream is refused too.
        for patch in [
            json!({ "upstream_base_url": "" }),
            json!({ "upstream_base_url": "file:///etc/passwd" }),
            json!({ "input_usd_per_mtok": -1 }),
            json!({ "display_name": "" }),
        ] {
            let response = f
                .send(
                    Method::PATCH,
                    "/admin/v1/models/gpt-4o-mini",
                    &admin,
                    Some(&patch),
                )
                .await;
            let p = problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
            assert_eq!(p.code, ErrorCode::ValidationFailed, "{patch}");
        }
        // Switching to echo may drop the URL.
        let echo: Model = f
            .json_ok(
                Method::PATCH,
                "/admin/v1/models/gpt-4o-mini",
                &admin,
                &json!({ "provider": "echo", "upstream_base_url": "" }),
            )
            .await;
        assert_eq!(
            (echo.provider, echo.upstream_base_url),
            (Provider::Echo, None)
        );
    }
}

/// The field errors of a request that sets a model's upstream URL, which must be refused.
async fn refused_url(
    f: &TestGateway,
    admin: &Secret,
    method: Method,
    path: &str,
    body: &serde_json::Value,
) -> Vec<FieldError> {
    let response = f.send(method, path, admin, Some(body)).await;
    let p = problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(p.code, ErrorCode::ValidationFailed, "{body} on {}", f.name);
    let errors = p.errors.unwrap_or_default();
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["upstream_base_url"], "{body}");
    errors
}

#[tokio::test]
async fn upstreams_at_non_public_addresses_are_refused_unless_allow_listed() {
    for f in backends().await {
        // The gateway's own default: no loopback, private or link-local range is allowed.
        let f = f.with_options(GatewayOptions::default()).await;
        let admin = f.init(10).await;
        let internal = [
            "http://127.0.0.1:8000/v1",
            "http://169.254.169.254/latest",
            "http://[::1]:8000/v1",
            "http://[::ffff:169.254.169.254]/v1",
            "http://[fd00:ec2::254]/v1",
            "http://10.0.0.5:8000/v1",
            "http://172.16.1.1/v1",
            "http://192.168.1.10/v1",
            "http://100.64.0.1/v1",
            "http://0.0.0.0/v1",
            "http://localhost:11434/v1",
            "http://0x7f000001/v1",
        ];
        let with_query = [
            "https://api.openai.example/v1?x=",
            "https://api.openai.example/v1#x",
        ];
        for url in internal.iter().chain(&with_query) {
            let mut body = serde_json::to_value(gpt4o_mini()).unwrap();
            body["upstream_base_url"] = json!(url);
            let errors = refused_url(&f, &admin, Method::POST, "/admin/v1/models", &body).await;
            let expected = if url.contains(['?', '#']) {
                "query"
            } else {
                "--allow-upstream-net"
            };
            assert!(errors[0].message.contains(expected), "{url}: {errors:?}");
        }
        f.json_ok::<Model>(Method::POST, "/admin/v1/models", &admin, &gpt4o_mini())
            .await;
        let patch = |url: &str| json!({ "upstream_base_url": url });
        const PATH: &str = "/admin/v1/models/gpt-4o-mini";
        for url in internal.iter().chain(&with_query) {
            refused_url(&f, &admin, Method::PATCH, PATH, &patch(url)).await;
        }
        let kept: Model = f.get_ok(PATH, &admin).await;
        assert_eq!(kept.upstream_base_url, gpt4o_mini().upstream_base_url);

        // Loopback allow-listed: loopback is accepted, the rest is still refused.
        let f = f.with_options(common::loopback_upstreams()).await;
        for url in [
            "http://127.0.0.1:8000/v1",
            "http://[::1]:8000/v1",
            "http://localhost:11434/v1",
        ] {
            let patched: Model = f.json_ok(Method::PATCH, PATH, &admin, &patch(url)).await;
            assert_eq!(patched.upstream_base_url.as_deref(), Some(url));
        }
        for url in ["http://169.254.169.254/latest", "http://10.0.0.5:8000/v1"] {
            refused_url(&f, &admin, Method::PATCH, PATH, &patch(url)).await;
        }
    }
}

#[tokio::test]
async fn deleting_a_model_removes_its_grants_and_reports_tombstones() {
    for f in backends().await {
        let admin = f.init(10).await;
        let (member_id, _) = member(&f, "mo@acme.example").await;
        for id in ["gpt-4o-mini", "gpt-4o"] {
            let mut m = gpt4o_mini();
            m.id = id.to_owned();
            f.json_ok::<Model>(Method::POST, "/admin/v1/models", &admin, &m)
                .await;
        }
        // Grants have no endpoint here yet; they are rows like any other.
        let mut tx = f.db().begin_write().await.unwrap();
        for (kind, subject, model) in [
            ("user", member_id.as_str(), "gpt-4o-mini"),
            ("group", "grp_research", "gpt-4o-mini"),
            ("user", member_id.as_str(), "gpt-4o"),
        ] {
            let revision = db::next_revision(&mut tx).await.unwrap();
            sqlx::query(
                "INSERT INTO grants (subject_kind, subject_id, model_id, created_at, revision) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(kind)
            .bind(subject)
            .bind(model)
            .bind(db::now())
            .bind(revision)
            .execute(&mut *tx)
            .await
            .unwrap();
        }
        tx.commit().await.unwrap();

        let before: SyncPage = f.get_ok("/admin/v1/sync?since=0&limit=5000", &admin).await;
        assert!(
            before
                .changes
                .iter()
                .any(|c| c.kind == SyncKind::Model && c.id == "gpt-4o-mini" && !c.deleted)
        );
        let since = before.next_since;

        let deleted = f
            .send(
                Method::DELETE,
                "/admin/v1/models/gpt-4o-mini",
                &admin,
                None::<&()>,
            )
            .await;
        assert_eq!(deleted.status(), StatusCode::NO_CONTENT, "{}", f.name);
        let gone = f
            .request(Method::GET, "/admin/v1/models/gpt-4o-mini", Some(&admin))
            .send()
            .await
            .unwrap();
        problem(gone, StatusCode::NOT_FOUND).await;
        let again = f
            .send(
                Method::DELETE,
                "/admin/v1/models/gpt-4o-mini",
                &admin,
                None::<&()>,
            )
            .await;
        problem(again, StatusCode::NOT_FOUND).await;

        let left: Vec<(String, String, String)> =
            sqlx::query_as("SELECT subject_kind, subject_id, model_id FROM grants")
                .fetch_all(&f.db().pool)
                .await
                .unwrap();
        assert_eq!(
            left,
            [("user".to_owned(), member_id.clone(), "gpt-4o".to_owned())],
            "only the other model's grant is left"
        );

        let after: SyncPage = f
            .get_ok(&format!("/admin/v1/sync?since={since}&limit=5000"), &admin)
            .await;
        let mut tombstones: Vec<(SyncKind, String)> = after
            .changes
            .iter()
            .filter(|c| c.deleted)
            .map(|c| {
                assert!(c.data.is_none());
                (c.kind, c.id.clone())
            })
            .collect();
        tombstones.sort_by(|a, b| a.1.cmp(&b.1));
        assert_eq!(
            tombstones,
            [
                (SyncKind::Model, "gpt-4o-mini".to_owned()),
                (SyncKind::Grant, "group:grp_research:gpt-4o-mini".to_owned()),
                (SyncKind::Grant, format!("user:{member_id}:gpt-4o-mini")),
            ]
        );
        let audit = after
            .changes
            .iter()
            .find(|c| c.kind == SyncKind::Audit)
            .and_then(|c| c.data.as_ref())
            .map(|d| serde_json::from_str::<serde_json::Value>(d.get()).unwrap())
            .expect("the deletion is audited");
        assert_eq!(audit["action"], "model.deleted");
        assert_eq!(audit["target_id"], "gpt-4o-mini");
        assert_eq!(
            audit["summary"]["grants_removed"].as_array().unwrap().len(),
            2
        );

        // The id is free again.
        f.json_ok::<Model>(Method::POST, "/admin/v1/models", &admin, &gpt4o_mini())
            .await;
    }
}

#[tokio::test]
async fn the_openapi_document_describes_the_new_operations() {
    for f in backends().await {
        let doc: serde_json::Value = f
            .get("/openapi.json")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for (path, verbs) in [
            ("/admin/v1/models", &["get", "post"][..]),
            ("/admin/v1/models/{id}", &["get", "patch", "delete"][..]),
            ("/admin/v1/usage/daily", &["get"][..]),
            ("/admin/v1/usage/export.csv", &["get"][..]),
            ("/admin/v1/alerts", &["get"][..]),
        ] {
            for verb in verbs {
                let op = &doc["paths"][path][verb];
                assert!(op.is_object(), "{verb} {path} missing");
                let responses = op["responses"].as_object().unwrap();
                for status in ["401", "403"] {
                    let content = &responses[status]["content"];
                    assert!(
                        content.get("application/problem+json").is_some(),
                        "{verb} {path} {status} is not problem+json"
                    );
                }
            }
        }
        assert!(
            doc["paths"]["/admin/v1/usage/export.csv"]["get"]["responses"]["200"]["content"]
                .get("text/csv")
                .is_some()
        );
    }
}
