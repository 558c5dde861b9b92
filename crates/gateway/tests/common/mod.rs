//! The gateway under test: real HTTP on 127.0.0.1 (a free port) over a real database.
#![allow(dead_code)] // each test file uses part of it

use gatehouse_api::{Problem, Secret};
use gatehouse_gateway::{Db, RunningGateway, demo};
use reqwest::{Method, Response, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub struct TestGateway {
    pub gateway: RunningGateway,
    pub http: reqwest::Client,
    pub name: &'static str,
    _dir: tempfile::TempDir,
}

/// One gateway per database backend the suite runs on.
pub async fn backends() -> Vec<TestGateway> {
    vec![TestGateway::sqlite().await]
}

impl TestGateway {
    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::connect(&format!(
            "sqlite://{}",
            dir.path().join("gateway.db").display()
        ))
        .await
        .unwrap();
        Self::serve(db, "sqlite", dir).await
    }

    async fn serve(db: Db, name: &'static str, dir: tempfile::TempDir) -> Self {
        let gateway = RunningGateway::start_on_loopback(db).await.unwrap();
        Self {
            gateway,
            http: reqwest::Client::new(),
            name,
            _dir: dir,
        }
    }

    pub fn db(&self) -> &Db {
        &self.gateway.state.db
    }

    /// An organisation with one admin; returns the admin's token.
    pub async fn init(&self, seat_limit: i64) -> Secret {
        gatehouse_gateway::init(self.db(), "Acme", "root@acme.example", seat_limit)
            .await
            .unwrap()
    }

    /// The demo organisation; returns its admin's token.
    pub async fn demo(&self) -> Secret {
        demo::seed(self.db()).await.unwrap()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.gateway.url())
    }

    /// A GET without a token.
    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.http.get(self.url(path))
    }

    pub fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&Secret>,
    ) -> reqwest::RequestBuilder {
        let r = self.http.request(method, self.url(path));
        match token {
            Some(t) => r.bearer_auth(t.expose()),
            None => r,
        }
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: &Secret,
        body: Option<&impl Serialize>,
    ) -> Response {
        let mut r = self.request(method, path, Some(token));
        if let Some(body) = body {
            r = r.json(body);
        }
        r.send().await.unwrap()
    }

    /// A GET with `token` that must succeed, decoded.
    pub async fn get_ok<T: DeserializeOwned>(&self, path: &str, token: &Secret) -> T {
        ok(
            self.request(Method::GET, path, Some(token))
                .send()
                .await
                .unwrap(),
            path,
        )
        .await
    }

    /// A JSON request with `token` that must succeed, decoded.
    pub async fn json_ok<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        token: &Secret,
        body: &impl Serialize,
    ) -> T {
        ok(self.send(method, path, token, Some(body)).await, path).await
    }
}

pub async fn ok<T: DeserializeOwned>(response: Response, what: &str) -> T {
    let status = response.status();
    let text = response.text().await.unwrap();
    assert!(status.is_success(), "{what}: {status}: {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{what}: {e}: {text}"))
}

/// Asserts a problem+json response with `status` and returns the problem.
pub async fn problem(response: Response, status: StatusCode) -> Problem {
    assert_eq!(response.status(), status, "{}", response.url());
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    response.json().await.unwrap()
}

/// Adds an active user with `role` straight into the database and returns (id, token).
pub async fn user_with_role(
    gw: &TestGateway,
    email: &str,
    role: gatehouse_api::Role,
) -> (String, Secret) {
    use gatehouse_gateway::{auth, db, users};
    let mut tx = gw.db().begin_write().await.unwrap();
    let id = users::insert(
        &mut tx,
        &users::NewUser {
            email: email.into(),
            first_name: "Test".into(),
            last_name: role.as_str().into(),
            role,
            status: gatehouse_api::UserStatus::Active,
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

/// A model in the catalog, written straight into the database.
pub async fn model(gw: &TestGateway, id: &str) {
    sqlx::query(
        "INSERT INTO models (id, display_name, provider, upstream_base_url, input_usd_per_mtok, output_usd_per_mtok, \
         created_at, revision) VALUES ($1, $1, 'echo', NULL, 1.0, 2.0, $2, 0)",
    )
    .bind(id)
    .bind(gatehouse_gateway::db::now())
    .execute(&gw.db().pool)
    .await
    .unwrap();
}
