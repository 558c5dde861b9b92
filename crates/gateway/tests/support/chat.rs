//! What the data-plane tests share: members with API keys, admin calls that must succeed, and
//! chat requests.
#![allow(dead_code)] // each test file uses part of it

use gatehouse_api::{ApiKeyCreated, Role, Secret};
use reqwest::Method;
use serde_json::{Value, json};

use super::common::{TestGateway, user_with_role};

/// A user with an API key.
pub struct Member {
    pub id: String,
    pub key: String,
}

/// An active member named by `email`, with a key.
pub async fn member(gw: &TestGateway, admin: &Secret, email: &str) -> Member {
    let (id, _) = user_with_role(gw, email, Role::Member).await;
    let created: ApiKeyCreated = gw
        .json_ok(
            Method::POST,
            &format!("/admin/v1/users/{id}/keys"),
            admin,
            &json!({ "name": "laptop" }),
        )
        .await;
    Member {
        id,
        key: created.secret,
    }
}

/// An admin API call with a JSON body that must succeed.
pub async fn call(gw: &TestGateway, admin: &Secret, method: Method, path: &str, body: Value) {
    let r = gw.send(method, path, admin, Some(&body)).await;
    assert!(r.status().is_success(), "{path}: {}", r.status());
}

pub async fn put(gw: &TestGateway, admin: &Secret, path: &str, body: Value) {
    call(gw, admin, Method::PUT, path, body).await;
}

pub async fn post(gw: &TestGateway, admin: &Secret, path: &str, body: Value) {
    call(gw, admin, Method::POST, path, body).await;
}

pub async fn delete(gw: &TestGateway, admin: &Secret, path: &str) {
    let r = gw
        .request(Method::DELETE, path, Some(admin))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204, "{path}");
}

/// A model of the catalog, made through the admin API, at `price` USD per million tokens in
/// and out.
pub async fn model(
    gw: &TestGateway,
    admin: &Secret,
    id: &str,
    provider: &str,
    url: Option<&str>,
    price: f64,
) {
    post(
        gw,
        admin,
        "/admin/v1/models",
        json!({ "id": id, "display_name": id, "provider": provider, "upstream_base_url": url,
                "input_usd_per_mtok": price, "output_usd_per_mtok": price }),
    )
    .await;
}

/// `subject` (`users/<id>` or `groups/<id>`) may call `model`.
pub async fn grant(gw: &TestGateway, admin: &Secret, subject: &str, model: &str) {
    put(
        gw,
        admin,
        &format!("/admin/v1/{subject}/grants/{model}"),
        json!({}),
    )
    .await;
}

/// A [`member`] who may call `model`.
pub async fn granted_member(gw: &TestGateway, admin: &Secret, email: &str, model: &str) -> Member {
    let m = member(gw, admin, email).await;
    grant(gw, admin, &format!("users/{}", m.id), model).await;
    m
}

/// A one-message chat request: "hello" is 9 estimated tokens in, and 2 out from echo.
pub fn hello(model: &str) -> Value {
    json!({ "model": model, "messages": [{ "role": "user", "content": "hello" }] })
}

/// `POST {base}/v1/chat/completions` with `key`.
pub async fn chat_at(
    http: &reqwest::Client,
    base: &str,
    key: &str,
    body: &Value,
) -> reqwest::Response {
    http.post(format!("{base}/v1/chat/completions"))
        .bearer_auth(key)
        .json(body)
        .send()
        .await
        .unwrap()
}

/// A group named `name` of `members`, granted `model`.
pub async fn group_of(
    gw: &TestGateway,
    admin: &Secret,
    name: &str,
    members: &[&Member],
    model: &str,
) -> gatehouse_api::Group {
    let group: gatehouse_api::Group = gw
        .json_ok(
            Method::POST,
            "/admin/v1/groups",
            admin,
            &json!({ "name": name }),
        )
        .await;
    for m in members {
        put(
            gw,
            admin,
            &format!("/admin/v1/groups/{}/members/{}", group.id, m.id),
            json!({ "role": "member" }),
        )
        .await;
    }
    grant(gw, admin, &format!("groups/{}", group.id), model).await;
    group
}
