//! `make bench`: what the data plane adds to a request, measured against calling the upstream
//! directly in the same run, with every check on (key, grant, rate limits and concurrency of the
//! user and a group, their budgets, metering), on SQLite. The upstream is a stub on 127.0.0.1
//! (`tests/support/upstream_stub.rs`); the gateway is served in this process; the load comes from
//! other processes:
//!
//! - `proxy_added_p50_us`, `proxy_added_p99_us`: a fixed rate of 1,000 requests a second, open
//!   loop (each request leaves at its appointed time whatever the earlier ones are doing, and its
//!   latency counts from that time, as wrk2 does), sent by this bench's own binary started again
//!   as a load generator. Debian's wrk has no fixed-rate mode, and oha would be a few hundred
//!   crates to build for one flag; the generator is fifty lines on what the gateway already
//!   builds with. Rounds alternate direct and through the gateway, so both see the same machine;
//!   each figure is the gateway's percentile minus the direct one. The same rounds measure two
//!   floors: `proxy_relay_added_p50_us` / `_p99_us`, a bare HTTP relay built like the gateway
//!   (axum and the data plane's upstream client, no checks), and
//!   `proxy_tcp_relay_added_p50_us` / `_p99_us`, a relay that copies bytes between paired
//!   connections without reading them: the cost of one more hop through a process on this
//!   machine, with no HTTP in it.
//! - `proxy_max_rps`: Debian's wrk, closed loop, as many requests as the machine serves through
//!   the gateway; none may be refused. `proxy_direct_max_rps`: the same against the stub;
//!   `proxy_relay_max_rps`: through the bare relay. `proxy_cpu_per_request_us` and
//!   `proxy_relay_cpu_per_request_us`: this process's CPU time per request in those runs, less
//!   what it spends per request direct. Each the median of `MAX_RPS_ROUNDS` rounds that
//!   alternate direct, relay and gateway.
//! - `proxy_max_rps_pg_two_nodes`: two `gatehouse-gateway serve` processes on one PostgreSQL
//!   (`GATEHOUSE_TEST_POSTGRES`, which `make bench` starts), a wrk on each at once, combined.
//! - `proxy_overshoot_requests`: the same two nodes driven at once by wrk against a user's
//!   limit of `OVERSHOOT_LIMIT` requests a minute: how many passed beyond it. The bound is
//!   (N − 1) · r · 2 · (interval + round trip) (`gatehouse_dataplane` admission), with r the
//!   rate one node admits at; the run prints both.
//!
//! Targets: added p50 ≤ 100 µs, p99 ≤ 500 µs, max ≥ 15,000 req/s on two cores. Progress and
//! the raw percentiles go to stderr.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use gatehouse_api::{ApiKeyCreated, Secret};
use gatehouse_gateway::dataplane::client::UpstreamClient;
use gatehouse_gateway::dataplane::{DataPlaneOptions, UpstreamNets};
use gatehouse_gateway::{Db, GatewayOptions, RunningGateway};
use serde_json::{Value, json};

#[path = "../tests/support/node.rs"]
mod node;
#[path = "../tests/support/upstream_stub.rs"]
mod upstream_stub;

use node::Node;

// The gateway served in this process runs on the allocator of the `gatehouse-gateway` binary.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const RATE: f64 = 1000.0;
const ROUNDS: usize = 3;
const ROUND_SECS: f64 = 4.0;
const WARMUP_SECS: f64 = 1.0;
const MAX_RPS_SECS: u32 = 10;
/// Rounds of the top-rate runs (direct, bare relay, gateway).
const MAX_RPS_ROUNDS: usize = 3;
/// Connections wrk keeps busy.
const WRK_CONNECTIONS: u32 = 32;

fn body() -> Value {
    json!({
        "model": "bench",
        "messages": [
            { "role": "system", "content": "You are a concise assistant." },
            { "role": "user", "content": "Say hello to the benchmark in one short sentence." }
        ],
        "max_tokens": 32,
    })
}

fn report(name: &str, value: f64, unit: &str) {
    println!("BENCH {name} {value:.0} {unit}");
}

/// The sample at `pct` percent of the sorted samples (nearest rank).
fn percentile(sorted: &[u64], pct: f64) -> u64 {
    let rank = ((pct / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn main() -> anyhow::Result<()> {
    if std::env::var_os("GATEHOUSE_LOADGEN").is_some() {
        return load_generator();
    }
    // A node logs what `gatehouse-gateway serve` logs: with no subscriber at all, `tracing`
    // hands spans to `log` and builds their fields, which a node never does.
    gatehouse_gateway::init_logging();
    // The stub on a thread and runtime of its own, the gateway on two workers.
    let (stub_addr, stub_state) = {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let stub = upstream_stub::UpstreamStub::start().await;
                stub.state
                    .record
                    .store(false, std::sync::atomic::Ordering::SeqCst);
                tx.send((stub.addr, stub.state.clone())).unwrap();
                std::future::pending::<()>().await;
            });
        });
        rx.recv()?
    };
    let _keep = stub_state;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(run(stub_addr))
}

async fn run(stub: std::net::SocketAddr) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let db = Db::connect(&format!(
        "sqlite://{}",
        dir.path().join("bench.db").display()
    ))
    .await?;
    let admin = gatehouse_gateway::init(&db, "Bench", "bench@bench.example", 10).await?;
    // The upstream is the stub on loopback, which the gateway calls only when allow-listed.
    let options = GatewayOptions {
        data_plane: DataPlaneOptions {
            allowed_upstream_nets: UpstreamNets::loopback(),
            ..Default::default()
        },
        ..Default::default()
    };
    let gateway = RunningGateway::start_on_loopback_with(db.clone(), options).await?;
    let key = enforcement_on(&gateway.url(), &admin, &format!("http://{stub}/v1")).await?;
    eprintln!("gateway on {}, upstream stub on {stub}", gateway.url());

    let direct_url = format!("http://{stub}/v1/chat/completions");
    let gateway_url = format!("{}/v1/chat/completions", gateway.url());
    let relay_url = format!("http://{}/v1/chat/completions", bare_relay(stub).await?);
    let tcp_url = format!("http://{}/v1/chat/completions", tcp_relay(stub).await?);
    // A first pass through the gateway: warm caches, connections and SQLite's pages.
    fixed_rate(&gateway_url, Some(&key), 2.0, 0.0)?;
    // The rounds' routes to the stub, each with the prefix of its figures: direct first, the
    // baseline every figure is measured from.
    let routes = [
        ("direct", direct_url.as_str(), None, ""),
        ("TCP relay", tcp_url.as_str(), None, "proxy_tcp_relay_added"),
        ("bare relay", relay_url.as_str(), None, "proxy_relay_added"),
        (
            "gateway",
            gateway_url.as_str(),
            Some(key.as_str()),
            "proxy_added",
        ),
    ];
    let mut samples = vec![Vec::new(); routes.len()];
    for round in 0..ROUNDS {
        let mut line = format!("round {}:", round + 1);
        for ((name, url, key, _), all) in routes.iter().zip(&mut samples) {
            let s = fixed_rate(url, *key, ROUND_SECS, WARMUP_SECS)?;
            let (p50, p99) = (percentile(&s, 50.0), percentile(&s, 99.0));
            line.push_str(&format!(" {name} p50 {p50} µs p99 {p99} µs;"));
            all.extend(s);
        }
        eprintln!("{line}");
    }
    let mut line = format!("{} samples each at {RATE} req/s:", samples[0].len());
    let mut direct = (0, 0);
    for ((name, _, _, figure), all) in routes.iter().zip(&mut samples) {
        all.sort_unstable();
        let (p50, p99) = (percentile(all, 50.0), percentile(all, 99.0));
        line.push_str(&format!(" {name} p50 {p50} µs p99 {p99} µs;"));
        if figure.is_empty() {
            direct = (p50, p99);
        } else {
            report(
                &format!("{figure}_p50_us"),
                p50 as f64 - direct.0 as f64,
                "us",
            );
            report(
                &format!("{figure}_p99_us"),
                p99 as f64 - direct.1 as f64,
                "us",
            );
        }
    }
    eprintln!("{line}");

    // This process serves both the stub and the gateway: what it spends per request through
    // the gateway, less what it spends per request direct, is the gateway's CPU time, a figure
    // a noisy machine moves far less than latency.
    let measured = |urls: &[&str], key: Option<&str>| -> anyhow::Result<_> {
        let cpu = process_cpu();
        let (rps, answered) = max_rps(urls, key)?;
        // The warm-up run answered about two seconds' worth on top of the measured ones.
        let n = answered.unwrap_or(0) as f64 + 2.0 * rps;
        Ok((rps, (process_cpu() - cpu).as_secs_f64() * 1e6 / n.max(1.0)))
    };
    // Rounds alternate, as the latency rounds do, and each figure is the median of its rounds:
    // one run of each moved by a tenth from one `make bench` to the next. The bare relay's
    // figures are the floor of the gateway's on this machine.
    let (mut rps, mut cpu) = ([const { Vec::new() }; 3], [const { Vec::new() }; 3]);
    for round in 0..MAX_RPS_ROUNDS {
        let direct = measured(&[&direct_url], None)?;
        let relay = measured(&[&relay_url], None)?;
        let through = measured(&[&gateway_url], Some(&key))?;
        eprintln!(
            "top rate, round {}: direct {:.0} req/s at {:.1} µs of CPU a request, bare relay {:.0} \
             at {:.1}, gateway {:.0} at {:.1} ({:.2} of the relay's rate)",
            round + 1,
            direct.0,
            direct.1,
            relay.0,
            relay.1,
            through.0,
            through.1,
            through.0 / relay.0
        );
        for (i, (r, c)) in [direct, relay, through].into_iter().enumerate() {
            rps[i].push(r);
            // What the stub and the client side of this process spend is in every route's.
            cpu[i].push(c - direct.1);
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    report("proxy_direct_max_rps", median(&mut rps[0]), "req/s");
    report("proxy_relay_max_rps", median(&mut rps[1]), "req/s");
    report("proxy_max_rps", median(&mut rps[2]), "req/s");
    report("proxy_relay_cpu_per_request_us", median(&mut cpu[1]), "us");
    report("proxy_cpu_per_request_us", median(&mut cpu[2]), "us");

    gateway.state.data_plane.flush().await;
    let (events, refused): (i64, i64) = sqlx::query_as(
        "SELECT COUNT(*), CAST(COALESCE(SUM(CASE WHEN status NOT IN (200, 499) THEN 1 ELSE 0 END), 0) AS BIGINT) FROM usage_events",
    )
    .fetch_one(&db.pool)
    .await?;
    let (batches, committed) = gateway.state.data_plane.metering_batches();
    // wrk stops with requests in flight: those are metered as 499 (the client went away).
    eprintln!(
        "metered {events} requests, {refused} of them refused; {committed} in {batches} batches"
    );
    if refused > 0 {
        bail!("the gateway refused {refused} requests: the figures would not be of served ones");
    }
    gateway.stop().await;

    two_nodes_on_postgres(&format!("http://{stub}/v1")).await
}

/// The CPU time this process has used (user and system), from `/proc/self/stat`.
fn process_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The fields after the command (which may hold spaces), from the 3rd on.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i)?.parse::<u64>().ok())
        .sum();
    // Linux reports in USER_HZ, 100 a second everywhere it runs.
    Duration::from_millis(ticks * 10)
}

/// The floor any proxy built like the gateway has on this machine: an axum route that sends the
/// body to the stub with the data plane's own upstream client and answers what it answered,
/// checking and metering nothing, on the same runtime as the gateway. Returns its address.
async fn bare_relay(stub: std::net::SocketAddr) -> anyhow::Result<std::net::SocketAddr> {
    let http = UpstreamClient::new(std::sync::Arc::new(UpstreamNets::loopback()));
    let upstream: axum::http::Uri = format!("http://{stub}/v1/chat/completions").parse()?;
    let app = axum::Router::new().route(
        "/v1/chat/completions",
        axum::routing::post(move |body: axum::body::Bytes| {
            let (http, upstream) = (http.clone(), upstream.clone());
            async move {
                let answer = http
                    .post(upstream, axum::http::HeaderMap::new(), body)
                    .await
                    .map_err(|_| axum::http::StatusCode::BAD_GATEWAY)?;
                answer
                    .into_body()
                    .bytes(usize::MAX)
                    .await
                    .map_err(|_| axum::http::StatusCode::BAD_GATEWAY)
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(addr)
}

/// The floor of any proxy on this machine: each connection accepted is paired with one of its
/// own to the stub and bytes are copied both ways, unread, on the gateway's runtime. What this
/// adds is the cost of one more hop through a user-space process, with no HTTP in it. Returns
/// its address.
async fn tcp_relay(stub: std::net::SocketAddr) -> anyhow::Result<std::net::SocketAddr> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            tokio::spawn(async move {
                let Ok(mut upstream) = tokio::net::TcpStream::connect(stub).await else {
                    return;
                };
                let _ = client.set_nodelay(true);
                let _ = upstream.set_nodelay(true);
                let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
            });
        }
    });
    Ok(addr)
}

/// Reconciliation interval of the two nodes: the default.
const RECONCILE_MS: f64 = 25.0;
/// The limit the two nodes are driven against for `proxy_overshoot_requests`.
const OVERSHOOT_LIMIT: u64 = 5000;

/// `proxy_max_rps_pg_two_nodes` and `proxy_overshoot_requests`.
async fn two_nodes_on_postgres(upstream: &str) -> anyhow::Result<()> {
    let base = std::env::var("GATEHOUSE_TEST_POSTGRES")
        .context("GATEHOUSE_TEST_POSTGRES is not set: run through `make bench`")?;
    let name = format!("gatehouse_bench_{}", std::process::id());
    {
        use sqlx::Connection;
        let mut admin = sqlx::PgConnection::connect(&base).await?;
        sqlx::Executor::execute(
            &mut admin,
            format!("DROP DATABASE IF EXISTS {name}").as_str(),
        )
        .await?;
        sqlx::Executor::execute(&mut admin, format!("CREATE DATABASE {name}").as_str()).await?;
    }
    let url = match base.rsplit_once('/') {
        Some((server, _)) => format!("{server}/{name}"),
        None => bail!("GATEHOUSE_TEST_POSTGRES has no database name"),
    };
    let db = Db::connect(&url).await?;
    let admin = gatehouse_gateway::init(&db, "Bench", "bench@bench.example", 10).await?;
    let journals = tempfile::tempdir()?;
    let nodes = [
        Node::start(&url, &journals.path().join("a"), &[]),
        Node::start(&url, &journals.path().join("b"), &[]),
    ];
    let key = enforcement_on(&nodes[0].url, &admin, upstream).await?;
    let urls: Vec<String> = nodes
        .iter()
        .map(|n| format!("{}/v1/chat/completions", n.url))
        .collect();
    let url_refs: Vec<&str> = urls.iter().map(String::as_str).collect();
    let (rps, _) = max_rps(&url_refs, Some(&key))?;
    report("proxy_max_rps_pg_two_nodes", rps, "req/s");

    // A user with a limit, driven on both nodes at once within one minute.
    let limited = limited_key(&nodes[0].url, &admin, OVERSHOOT_LIMIT).await?;
    let second = chrono::Utc::now().timestamp() % 60;
    if second > 45 {
        tokio::time::sleep(Duration::from_secs((62 - second) as u64)).await;
    }
    let (rate, passed) = max_rps_for(&url_refs, Some(&limited), 3)?;
    let passed = passed.context("wrk counted no answers")?;
    let overshoot = passed.saturating_sub(OVERSHOOT_LIMIT);
    // Each node admits at most its share of the combined rate.
    let per_node = rate / nodes.len() as f64;
    let bound = (nodes.len() - 1) as f64 * per_node * 2.0 * 2.0 * RECONCILE_MS / 1000.0;
    eprintln!(
        "two nodes against a limit of {OVERSHOOT_LIMIT}/min: {passed} passed; at {per_node:.0} \
         req/s a node the bound (round trips as long as the interval) is {bound:.0}"
    );
    report("proxy_overshoot_requests", overshoot as f64, "requests");
    drop(nodes);
    db.pool.close().await;
    Ok(())
}

/// A user granted the bench model with a limit of `per_minute` requests; returns their key.
async fn limited_key(base: &str, admin: &Secret, per_minute: u64) -> anyhow::Result<String> {
    use reqwest::Method;
    let api = AdminApi::new(base, admin);
    let user = api
        .call(
            Method::POST,
            "/admin/v1/users",
            json!({ "email": "limited@bench.example", "first_name": "Lim", "last_name": "Ited",
                    "role": "member", "password": "a long enough password" }),
        )
        .await?;
    let user = user["id"].as_str().context("user id")?.to_owned();
    let grant = format!("/admin/v1/users/{user}/grants/bench");
    api.call(Method::PUT, &grant, json!({})).await?;
    let limits = format!("/admin/v1/users/{user}/limits");
    api.call(
        Method::PUT,
        &limits,
        json!({ "requests_per_min": per_minute }),
    )
    .await?;
    let keys = format!("/admin/v1/users/{user}/keys");
    let created: ApiKeyCreated = serde_json::from_value(
        api.call(Method::POST, &keys, json!({ "name": "limited" }))
            .await?,
    )?;
    Ok(created.secret)
}

/// The admin API of the gateway at `base`, as its admin.
struct AdminApi<'a> {
    http: reqwest::Client,
    base: &'a str,
    admin: &'a Secret,
}

impl<'a> AdminApi<'a> {
    fn new(base: &'a str, admin: &'a Secret) -> Self {
        Self {
            http: reqwest::Client::new(),
            base,
            admin,
        }
    }

    /// The answer's JSON body, or what it refused.
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Value,
    ) -> anyhow::Result<Value> {
        let r = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(self.admin.expose())
            .json(&body)
            .send()
            .await?;
        let status = r.status();
        let body: Value = r.json().await.unwrap_or_default();
        if !status.is_success() {
            bail!("setting up: {status}: {body}");
        }
        Ok(body)
    }
}

/// A model on the stub, a user in a group, both with rate limits, concurrency and budgets set
/// (high enough never to refuse, so that every check runs and passes); returns the user's key.
async fn enforcement_on(base: &str, admin: &Secret, upstream: &str) -> anyhow::Result<String> {
    use reqwest::Method;
    let api = AdminApi::new(base, admin);
    api.call(
        Method::POST,
        "/admin/v1/models",
        json!({ "id": "bench", "display_name": "Bench", "provider": "openai",
                "upstream_base_url": upstream, "input_usd_per_mtok": 2.5, "output_usd_per_mtok": 10.0 }),
    )
    .await?;
    let user = api
        .call(
            Method::POST,
            "/admin/v1/users",
            json!({ "email": "load@bench.example", "first_name": "Load", "last_name": "Test",
                    "role": "member", "password": "a long enough password" }),
        )
        .await?;
    let user = user["id"].as_str().context("user id")?.to_owned();
    let group = api
        .call(Method::POST, "/admin/v1/groups", json!({ "name": "Load" }))
        .await?;
    let group = group["id"].as_str().context("group id")?.to_owned();
    let member = format!("/admin/v1/groups/{group}/members/{user}");
    api.call(Method::PUT, &member, json!({ "role": "member" }))
        .await?;
    let grant = format!("/admin/v1/groups/{group}/grants/bench");
    api.call(Method::PUT, &grant, json!({})).await?;
    let limits = json!({ "requests_per_min": 10_000_000, "input_tokens_per_min": 1_000_000_000,
                         "output_tokens_per_min": 1_000_000_000, "max_concurrent": 10_000 });
    let budget = json!({ "daily_usd": 1e6, "weekly_usd": 1e7, "monthly_usd": 1e8 });
    for subject in [format!("users/{user}"), format!("groups/{group}")] {
        let path = format!("/admin/v1/{subject}/limits");
        api.call(Method::PUT, &path, limits.clone()).await?;
        let path = format!("/admin/v1/{subject}/budget");
        api.call(Method::PUT, &path, budget.clone()).await?;
    }
    let keys = format!("/admin/v1/users/{user}/keys");
    let created: ApiKeyCreated = serde_json::from_value(
        api.call(Method::POST, &keys, json!({ "name": "bench" }))
            .await?,
    )?;
    Ok(created.secret)
}

/// Runs the load generator against `url` for `secs` after `warmup` seconds; returns the
/// latencies in microseconds, sorted.
fn fixed_rate(url: &str, key: Option<&str>, secs: f64, warmup: f64) -> anyhow::Result<Vec<u64>> {
    let mut command = Command::new(std::env::current_exe()?);
    command
        .env("GATEHOUSE_LOADGEN", "1")
        .env("LOADGEN_URL", url)
        .env("LOADGEN_RATE", RATE.to_string())
        .env("LOADGEN_SECS", secs.to_string())
        .env("LOADGEN_WARMUP_SECS", warmup.to_string())
        .env_remove("LOADGEN_KEY")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    if let Some(key) = key {
        command.env("LOADGEN_KEY", key);
    }
    let out = command.output()?;
    if !out.status.success() {
        bail!("the load generator failed: {}", out.status);
    }
    let text = String::from_utf8(out.stdout)?;
    let mut samples: Vec<u64> = text
        .split_whitespace()
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    if samples.is_empty() {
        bail!("the load generator measured nothing");
    }
    samples.sort_unstable();
    Ok(samples)
}

fn env_f64(name: &str) -> anyhow::Result<f64> {
    std::env::var(name)
        .with_context(|| format!("{name} is not set"))?
        .parse()
        .with_context(|| format!("{name} is not a number"))
}

/// The second process: sends requests at `LOADGEN_RATE` a second, each at its appointed time
/// on a runtime of its own, and prints the latency of each measured one (µs, from its appointed
/// time to the end of its body) on stdout. Any request that fails fails the run.
fn load_generator() -> anyhow::Result<()> {
    let url = std::env::var("LOADGEN_URL")?;
    let key = std::env::var("LOADGEN_KEY").ok();
    let rate = env_f64("LOADGEN_RATE")?;
    let secs = env_f64("LOADGEN_SECS")?;
    let warmup = env_f64("LOADGEN_WARMUP_SECS")?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(1024)
        .tcp_nodelay(true)
        .build()?;
    let body = serde_json::to_vec(&body())?;
    let (tx, rx) = std::sync::mpsc::channel::<Result<Option<u64>, String>>();
    let period = Duration::from_secs_f64(1.0 / rate);
    let skip = (warmup * rate) as usize;
    let total = skip + (secs * rate) as usize;
    let start = Instant::now() + Duration::from_millis(20);
    for i in 0..total {
        let due = start + period * u32::try_from(i)?;
        let now = Instant::now();
        if due > now {
            std::thread::sleep(due - now);
        }
        let mut request = client
            .post(&url)
            .header("content-type", "application/json")
            .body(body.clone());
        if let Some(key) = &key {
            request = request.bearer_auth(key);
        }
        let tx = tx.clone();
        rt.spawn(async move {
            let answered = async {
                let response = request.send().await.map_err(|e| e.to_string())?;
                let status = response.status();
                response.bytes().await.map_err(|e| e.to_string())?;
                if status != 200 {
                    return Err(format!("HTTP {status}"));
                }
                Ok(())
            }
            .await;
            let took = due.elapsed().as_micros() as u64;
            let _ = tx.send(answered.map(|()| (i >= skip).then_some(took)));
        });
    }
    drop(tx);
    let mut out = String::new();
    for answered in rx {
        match answered {
            Ok(Some(us)) => {
                out.push_str(&us.to_string());
                out.push('\n');
            }
            Ok(None) => {}
            Err(e) => bail!("a request failed: {e}"),
        }
    }
    print!("{out}");
    Ok(())
}

/// wrk against each of `urls` at once for `MAX_RPS_SECS`, after a short warm-up: the combined
/// requests per second, and how many were answered 2xx. `key` reaches wrk through its
/// environment, not the script file. Any refusal fails it.
fn max_rps(urls: &[&str], key: Option<&str>) -> anyhow::Result<(f64, Option<u64>)> {
    max_rps_for(urls, key, 2)?;
    let (rps, answered) = max_rps_for(urls, key, MAX_RPS_SECS)?;
    Ok((rps, answered))
}

/// One wrk run of `secs` per URL, at once; see [`max_rps`]. Refusals are counted, not failed,
/// when the run is of a limited key.
fn max_rps_for(urls: &[&str], key: Option<&str>, secs: u32) -> anyhow::Result<(f64, Option<u64>)> {
    let dir = tempfile::tempdir()?;
    let script = dir.path().join("chat.lua");
    let body = serde_json::to_string(&body())?;
    let auth = if key.is_some() {
        "wrk.headers[\"Authorization\"] = \"Bearer \" .. os.getenv(\"GATEHOUSE_BENCH_KEY\")\n"
    } else {
        ""
    };
    std::fs::write(
        &script,
        format!(
            "wrk.method = \"POST\"\nwrk.body = [[{body}]]\n\
             wrk.headers[\"Content-Type\"] = \"application/json\"\n{auth}"
        ),
    )?;
    // Two cores: one wrk thread per URL when there are several.
    let threads = if urls.len() > 1 { 1 } else { 2 };
    let connections = WRK_CONNECTIONS / urls.len() as u32;
    let runs = urls
        .iter()
        .map(|url| {
            Command::new("wrk")
                .args([
                    &format!("-t{threads}"),
                    &format!("-c{connections}"),
                    &format!("-d{secs}s"),
                    "-s",
                ])
                .arg(&script)
                .arg(url)
                .env("GATEHOUSE_BENCH_KEY", key.unwrap_or_default())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .context("running wrk (scripts/install-deps.sh bench installs it)")
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let (mut rps, mut answered, mut refused) = (0.0, 0u64, 0u64);
    for run in runs {
        let out = run.wait_with_output()?;
        if !out.status.success() {
            bail!("wrk failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        let text = String::from_utf8(out.stdout)?;
        eprintln!("{}", text.trim_end());
        if text.contains("Socket errors") {
            bail!("wrk saw failed connections");
        }
        let number = |prefix: &str| -> Option<f64> {
            text.lines().find_map(|l| {
                let l = l.trim();
                let rest = l.strip_prefix(prefix)?;
                rest.split_whitespace().next()?.parse().ok()
            })
        };
        rps += number("Requests/sec:").context("no Requests/sec in wrk's output")?;
        let total = text
            .lines()
            .find(|l| l.contains("requests in"))
            .and_then(|l| l.split_whitespace().next()?.parse::<u64>().ok())
            .context("no request count in wrk's output")?;
        let non_2xx = number("Non-2xx or 3xx responses:").unwrap_or(0.0) as u64;
        answered += total - non_2xx;
        refused += non_2xx;
    }
    if refused > 0 && secs == MAX_RPS_SECS {
        bail!("the gateway refused {refused} requests: the figures would not be of served ones");
    }
    Ok((rps, Some(answered)))
}
