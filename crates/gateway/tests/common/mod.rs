//! The gateway under test: real HTTP on 127.0.0.1 (a free port) over a real database.
#![allow(dead_code)] // each test file uses part of it

use gatehouse_api::{Problem, Secret};
use gatehouse_gateway::{Db, RunningGateway, demo};
use reqwest::{Method, Response, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::Connection;

pub struct TestGateway {
    pub gateway: RunningGateway,
    pub http: reqwest::Client,
    pub name: &'static str,
    /// What the gateway's database lives in: a folder, or a database of its own in the cluster.
    _storage: Storage,
}

/// Where the PostgreSQL backend comes from: the base URL of a server on which the tests may
/// create databases. `scripts/with-postgres.sh` starts a throwaway one and sets it.
pub const POSTGRES_ENV: &str = "GATEHOUSE_TEST_POSTGRES";

/// The tests' upstreams are stubs on 127.0.0.1, which a gateway calls only when its
/// configuration allow-lists loopback: the default options, allow-listing it.
pub fn loopback_upstreams() -> gatehouse_gateway::GatewayOptions {
    gatehouse_gateway::GatewayOptions {
        data_plane: gatehouse_gateway::dataplane::DataPlaneOptions {
            allowed_upstream_nets: gatehouse_gateway::dataplane::UpstreamNets::loopback(),
            ..Default::default()
        },
        ..Default::default()
    }
}

/// One gateway per database backend the suite runs on, each on a fresh database.
pub async fn backends() -> Vec<TestGateway> {
    vec![TestGateway::sqlite().await, TestGateway::postgres().await]
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
        Self::serve(db, "sqlite", Storage::Dir(dir)).await
    }

    /// A gateway on a database of its own, created for it on the server of `GATEHOUSE_TEST_POSTGRES`.
    pub async fn postgres() -> Self {
        let base = std::env::var(POSTGRES_ENV).unwrap_or_default();
        assert!(
            !base.is_empty(),
            "{POSTGRES_ENV} is not set: the gateway tests run on PostgreSQL too and need a server. \
             Run them through `make test`, or wrap them in scripts/with-postgres.sh \
             (e.g. `scripts/with-postgres.sh cargo test -p gatehouse-gateway`), which starts a \
             throwaway cluster and sets {POSTGRES_ENV}."
        );
        let name = format!("gatehouse_test_{}", uuid::Uuid::now_v7().simple());
        let mut admin = sqlx::PgConnection::connect(&base)
            .await
            .unwrap_or_else(|e| panic!("connecting to {POSTGRES_ENV}={base}: {e}"));
        sqlx::Executor::execute(&mut admin, format!("CREATE DATABASE \"{name}\"").as_str())
            .await
            .unwrap();
        admin.close().await.unwrap();
        let db = Db::connect(&database_url(&base, &name)).await.unwrap();
        let journal = tempfile::tempdir().unwrap();
        Self::serve(
            db,
            "postgres",
            Storage::Postgres {
                base,
                name,
                journal,
            },
        )
        .await
    }

    async fn serve(db: Db, name: &'static str, storage: Storage) -> Self {
        let mut options = loopback_upstreams();
        options.data_plane.journal_dir = Some(storage.journal_dir());
        let gateway = RunningGateway::start_on_loopback_with(db, options)
            .await
            .unwrap();
        Self {
            gateway,
            http: reqwest::Client::new(),
            name,
            _storage: storage,
        }
    }

    /// The same database served again with `options` (mail, public URL), and the same
    /// invitation key unless `options` names one, as a restart with the same configuration.
    pub async fn with_options(self, mut options: gatehouse_gateway::GatewayOptions) -> Self {
        options
            .invite_key
            .get_or_insert_with(|| self.gateway.state.invite_key.clone());
        let db = self.db().clone();
        self.restart(db, options).await
    }

    /// `db` (this test's database) served again with `options`, once the gateway serving it
    /// now has stopped: a SQLite file is served by one gateway at a time.
    pub async fn restart(self, db: Db, mut options: gatehouse_gateway::GatewayOptions) -> Self {
        let Self {
            gateway,
            http,
            name,
            _storage,
        } = self;
        gateway.stop().await;
        options
            .data_plane
            .journal_dir
            .get_or_insert_with(|| _storage.journal_dir());
        let gateway = RunningGateway::start_on_loopback_with(db, options)
            .await
            .unwrap();
        Self {
            gateway,
            http,
            name,
            _storage,
        }
    }

    /// Stops serving the test's database, for a test that serves it from other processes;
    /// what is returned keeps it (and its metering journal's folder) until dropped.
    pub async fn unserved(self) -> Unserved {
        let url = self.database_url();
        let journal = self._storage.journal_dir();
        let Self {
            gateway, _storage, ..
        } = self;
        let db = gateway.state.db.clone();
        gateway.stop().await;
        Unserved {
            db,
            url,
            journal,
            _storage,
        }
    }

    pub fn db(&self) -> &Db {
        &self.gateway.state.db
    }

    /// The URL of this gateway's database, for another node (a pool or a process of its own).
    pub fn database_url(&self) -> String {
        match &self._storage {
            Storage::Dir(dir) => format!("sqlite://{}", dir.path().join("gateway.db").display()),
            Storage::Postgres { base, name, .. } => database_url(base, name),
        }
    }

    /// An organisation with one admin; returns the admin's token.
    pub async fn init(&self, seat_limit: i64) -> Secret {
        gatehouse_gateway::init(self.db(), "Acme", "root@acme.example", seat_limit)
            .await
            .unwrap()
    }

    /// The demo organisation; returns its admin's token.
    pub async fn demo(&self) -> Secret {
        demo::seed(self.db(), &self.gateway.state.invite_key)
            .await
            .unwrap()
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

/// A test's database no gateway serves any more; see [`TestGateway::unserved`].
pub struct Unserved {
    pub db: Db,
    pub url: String,
    /// Where the test's gateway journaled its metering.
    pub journal: std::path::PathBuf,
    _storage: Storage,
}

enum Storage {
    Dir(tempfile::TempDir),
    Postgres {
        base: String,
        name: String,
        /// The gateway's metering journal: a folder of the test's own, not the user's.
        journal: tempfile::TempDir,
    },
}

impl Storage {
    fn journal_dir(&self) -> std::path::PathBuf {
        match self {
            Self::Dir(dir) => dir.path().join("gateway.db.journal"),
            Self::Postgres { journal, .. } => journal.path().to_owned(),
        }
    }
}

impl Drop for Storage {
    /// Drops the test's database. `Drop` cannot await, so this runs on a runtime of its own in
    /// a thread of its own; `WITH (FORCE)` ends the connections the gateway's pool still holds.
    fn drop(&mut self) {
        let Storage::Postgres { base, name, .. } = self else {
            return;
        };
        let base = base.clone();
        let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let mut admin = sqlx::PgConnection::connect(&base).await?;
                sqlx::Executor::execute(&mut admin, sql.as_str()).await?;
                admin.close().await
            })
        })
        .join();
        // A database left behind goes with the throwaway cluster; the test's verdict stands.
        if let Ok(Err(e)) = dropped {
            eprintln!("could not drop test database {name}: {e}");
        }
    }
}

/// `base` (`postgres://…/DB?…`) with its database replaced by `name`.
fn database_url(base: &str, name: &str) -> String {
    let (url, query) = match base.split_once('?') {
        Some((url, query)) => (url, Some(query)),
        None => (base, None),
    };
    let authority_end = url.find("://").map_or(0, |i| i + 3);
    let prefix = match url[authority_end..].find('/') {
        Some(slash) => &url[..authority_end + slash],
        None => url,
    };
    match query {
        Some(q) => format!("{prefix}/{name}?{q}"),
        None => format!("{prefix}/{name}"),
    }
}

pub async fn ok<T: DeserializeOwned>(response: Response, what: &str) -> T {
    let status = response.status();
    let text = response.text().await.unwrap();
    assert!(status.is_success(), "{what}: {status}: {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{what}: {e}: {text}"))
}

/// Asserts a problem+json response with `status` and returns the problem.
/// A client whose connections come from `ip` (any 127.x.y.z reaches the gateway on 127.0.0.1):
/// how tests play several client addresses.
pub fn client_from(ip: [u8; 4]) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(std::net::IpAddr::from(ip))
        .build()
        .unwrap()
}

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
