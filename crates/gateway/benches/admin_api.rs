//! `make bench`: the admin API over real HTTP on 127.0.0.1 against a SQLite gateway with
//! 100,000 users and 1,000,000 daily usage rows. Prints one `BENCH <name> <value> <unit>` line
//! per figure on stdout; progress goes to stderr.
//!
//! Targets: list p99 ≤ 10 ms, search p99 ≤ 25 ms, sync ≥ 200,000 rows/s.
//!
//! `gateway_create_user_p50_ms` times `POST /admin/v1/users` when the gateway serves it, and
//! otherwise `users::insert` in a write transaction of its own (stderr says which).

use std::time::{Duration, Instant};

use anyhow::bail;
use axum::body::Bytes;
use gatehouse_api::{Page, Role, Secret, User, UserCreate, UserStatus};
use gatehouse_gateway::{Db, RunningGateway, bench_seed, db, users};
use reqwest::StatusCode;

const USERS: usize = bench_seed::LARGE.users;
const USAGE_ROWS: usize = bench_seed::LARGE.usage_rows;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The sample at `pct` percent of the sorted samples (nearest rank).
fn percentile(sorted: &[Duration], pct: f64) -> f64 {
    let rank = ((pct / 100.0) * sorted.len() as f64).ceil() as usize;
    ms(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// CPU seconds this process (server and client) has used, where /proc says so. Only for the
/// stderr notes: on a shared machine wall-clock figures also measure everyone else's load.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    // USER_HZ, 100 on every Linux platform Rust targets.
    Some(ticks / 100.0)
}

fn report(name: &str, value: f64, unit: &str) {
    println!("BENCH {name} {value:.3} {unit}");
}

struct Client {
    http: reqwest::Client,
    base: String,
    token: Secret,
}

impl Client {
    /// The time to the last byte of the body, and the body, parsed only after the clock stopped.
    async fn get(&self, path: &str) -> anyhow::Result<(Duration, Bytes)> {
        let started = Instant::now();
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(self.token.expose())
            .send()
            .await?;
        let status = response.status();
        let body = response.bytes().await?;
        let took = started.elapsed();
        if status != StatusCode::OK {
            bail!("GET {path}: {status}: {}", String::from_utf8_lossy(&body));
        }
        Ok((took, body))
    }
}

async fn list_users(c: &Client) -> anyhow::Result<()> {
    for _ in 0..50 {
        c.get("/admin/v1/users?limit=100").await?;
    }
    let mut samples = Vec::new();
    for _ in 0..200 {
        samples.push(c.get("/admin/v1/users?limit=100").await?.0);
    }
    // The whole cursor chain: every depth, down to the last page.
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(cur) => format!("/admin/v1/users?limit=100&cursor={cur}"),
            None => "/admin/v1/users?limit=100".to_owned(),
        };
        let (took, body) = c.get(&path).await?;
        samples.push(took);
        pages += 1;
        let page: Page<User> = serde_json::from_slice(&body)?;
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    if pages != USERS.div_ceil(100) + 1 {
        // + 1: the admin made by init.
        eprintln!("note: the cursor chain had {pages} pages");
    }
    samples.sort();
    eprintln!("list: {} samples", samples.len());
    report(
        "gateway_list_users_p50_ms",
        percentile(&samples, 50.0),
        "ms",
    );
    report(
        "gateway_list_users_p99_ms",
        percentile(&samples, 99.0),
        "ms",
    );
    Ok(())
}

async fn search_users(c: &Client) -> anyhow::Result<()> {
    // Common and rare fragments of names and e-mails, and one that matches nobody (a full
    // scan, the worst case).
    let queries = [
        "maya",
        "berg",
        "QUINN",
        "ann",
        "kim",
        "ta",
        "12345",
        "patel.4",
        "@bench",
        "nobody-here",
    ];
    for q in queries.iter().cycle().take(30) {
        c.get(&format!("/admin/v1/users?limit=100&query={q}"))
            .await?;
    }
    let mut samples = Vec::new();
    for q in queries.iter().cycle().take(300) {
        samples.push(
            c.get(&format!("/admin/v1/users?limit=100&query={q}"))
                .await?
                .0,
        );
    }
    samples.sort();
    eprintln!(
        "search: {} samples, p50 {:.3} ms",
        samples.len(),
        percentile(&samples, 50.0)
    );
    report(
        "gateway_search_users_p99_ms",
        percentile(&samples, 99.0),
        "ms",
    );
    Ok(())
}

#[derive(serde::Deserialize)]
struct SyncCount {
    changes: Vec<serde::de::IgnoredAny>,
    next_since: i64,
    has_more: bool,
}

async fn sync_all(c: &Client) -> anyhow::Result<()> {
    // Warm-up: the first pages only.
    c.get("/admin/v1/sync?since=0&limit=5000").await?;
    let started = Instant::now();
    let cpu_before = cpu_seconds();
    let mut since = 0;
    let mut rows = 0usize;
    loop {
        let (_, body) = c
            .get(&format!("/admin/v1/sync?since={since}&limit=5000"))
            .await?;
        // Counted, not built into a DOM: this measures the gateway, not the client's parser.
        let page: SyncCount = serde_json::from_slice(&body)?;
        rows += page.changes.len();
        since = page.next_since;
        if !page.has_more {
            break;
        }
    }
    let took = started.elapsed().as_secs_f64();
    eprintln!("sync: {rows} rows in {took:.2} s");
    if let (Some(before), Some(after)) = (cpu_before, cpu_seconds()) {
        let cpu = after - before;
        eprintln!(
            "sync: {cpu:.2} CPU-s in this process (server and client), {:.0} rows per CPU-second",
            rows as f64 / cpu
        );
    }
    if rows < USERS + USAGE_ROWS {
        bail!("the sync returned only {rows} rows");
    }
    report("gateway_sync_rows_per_s", rows as f64 / took, "rows/s");
    Ok(())
}

async fn create_users(c: &Client, db: &Db) -> anyhow::Result<()> {
    let body = |i: usize| UserCreate {
        email: format!("new.user.{i}@bench.example"),
        first_name: "New".to_owned(),
        last_name: format!("User {i}"),
        role: Role::Member,
        workspace_ids: vec![],
        password: None,
        profile_id: None,
    };
    let probe = c
        .http
        .post(format!("{}/admin/v1/users", c.base))
        .bearer_auth(c.token.expose())
        .json(&body(0))
        .send()
        .await?;
    let mut samples = Vec::new();
    if matches!(
        probe.status(),
        StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED
    ) {
        eprintln!(
            "create: POST /admin/v1/users is not served; timing users::insert in a write transaction"
        );
        for i in 1..=330 {
            let started = Instant::now();
            let mut tx = db.begin_write().await?;
            let new = body(i);
            users::insert(
                &mut tx,
                &users::NewUser {
                    email: new.email,
                    first_name: new.first_name,
                    last_name: new.last_name,
                    role: new.role,
                    status: UserStatus::Active,
                    workspace_ids: vec![],
                    password_hash: None,
                    created_at: db::now(),
                    last_active_at: None,
                },
            )
            .await?;
            tx.commit().await?;
            if i > 30 {
                samples.push(started.elapsed());
            }
        }
    } else {
        if probe.status() != StatusCode::CREATED {
            bail!("POST /admin/v1/users: {}", probe.status());
        }
        eprintln!("create: over HTTP");
        for i in 1..=330 {
            let started = Instant::now();
            let response = c
                .http
                .post(format!("{}/admin/v1/users", c.base))
                .bearer_auth(c.token.expose())
                .json(&body(i))
                .send()
                .await?;
            let status = response.status();
            response.bytes().await?;
            if status != StatusCode::CREATED {
                bail!("POST /admin/v1/users: {status}");
            }
            if i > 30 {
                samples.push(started.elapsed());
            }
        }
    }
    samples.sort();
    report(
        "gateway_create_user_p50_ms",
        percentile(&samples, 50.0),
        "ms",
    );
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // GATEHOUSE_BENCH_DB keeps the database (and reuses it on the next run), for profiling
    // queries without building it again.
    let dir = tempfile::tempdir()?;
    let (db, token) = bench_seed::open_large("GATEHOUSE_BENCH_DB", dir.path()).await?;
    // Users made by an earlier run's create step would collide with this run's.
    sqlx::query("DELETE FROM users WHERE email LIKE 'new.user.%'")
        .execute(&db.pool)
        .await?;
    let gateway = RunningGateway::start_on_loopback(db.clone()).await?;
    let client = Client {
        http: reqwest::Client::builder()
            .pool_max_idle_per_host(4)
            .tcp_nodelay(true)
            .build()?,
        base: gateway.url(),
        token,
    };
    list_users(&client).await?;
    search_users(&client).await?;
    sync_all(&client).await?;
    create_users(&client, &db).await?;
    gateway.stop().await;
    Ok(())
}
