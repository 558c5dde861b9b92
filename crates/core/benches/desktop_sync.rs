//! `make bench`: the desktop's first sync of a large organisation (100,000 users, 1,000,000
//! daily usage rows) from a real gateway over HTTP on 127.0.0.1, against the floor of writing
//! the same rows into SQLite. Prints `BENCH <name> <value> <unit>` lines on stdout; progress
//! goes to stderr.
//!
//! This process seeds the gateway (SQLite) and serves it; the sync runs in a child process (this
//! binary again), so that its peak RSS (VmHWM) is the desktop side's alone. The child syncs into
//! an empty cache, then syncs again with nothing changed; it runs three times, and the figures
//! are medians. The floor: the rows the sync cached (every table the organisation fills), read
//! back and inserted into an empty file with the cache's schema and indexes, on one connection
//! in one transaction, with the fastest statements sqlx offers, multi-row inserts prepared once
//! (the cache's own technique, so the ratio is what HTTP, the gateway, JSON and per-batch
//! commits add).
//!
//! Targets: first sync ≤ 3 × floor, incremental sync ≤ 50 ms, peak RSS ≤ 300 MB.
//!
//! GATEHOUSE_DESKTOP_BENCH_DB keeps the gateway's database (and reuses it on the next run).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, bail};
use gatehouse_api::Secret;
use gatehouse_core::cache::Cache;
use gatehouse_core::client::AdminClient;
use gatehouse_core::seal::Seal;
use gatehouse_core::sync;
use gatehouse_gateway::{RunningGateway, bench_seed};
use sqlx::query_builder::Separated;
use sqlx::{Connection, QueryBuilder, Sqlite, SqliteConnection};

const CHILD: &str = "GATEHOUSE_DESKTOP_BENCH_CHILD";
const RUNS: usize = 3;
const INCREMENTAL_SYNCS: usize = 11;

fn report(name: &str, value: f64, unit: &str) {
    println!("BENCH {name} {value:.3} {unit}");
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The peak resident set of this process, in MB.
fn peak_rss_mb() -> anyhow::Result<f64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .context("no VmHWM in /proc/self/status")?;
    Ok(kb / 1024.0)
}

/// CPU seconds this process has used (user and system), for the stderr notes: whether the
/// desktop side or the gateway sets the pace.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    // USER_HZ, 100 on every Linux platform Rust targets.
    Some(ticks / 100.0)
}

/// One cache key for the child that syncs and the parent that reads what it synced (the cache
/// is encrypted under it).
fn bench_seal() -> Seal {
    Seal::from_text(&Secret::new("5e".repeat(32))).expect("a well-formed key")
}

/// The child: a first sync into the empty cache at `cache`, then syncs with nothing changed.
/// Prints `<name> <value>` lines for the parent.
async fn child(cache: &Path) -> anyhow::Result<()> {
    let url = std::env::var("GATEHOUSE_DESKTOP_BENCH_URL")?;
    let token = Secret::new(std::env::var("GATEHOUSE_DESKTOP_BENCH_TOKEN")?);
    let client = AdminClient::new(&url, token)?;
    let cache = Cache::open(cache, bench_seal()).await?;
    let started = Instant::now();
    let cpu = cpu_seconds();
    let report = sync::sync(&client, &cache, |_| {}).await?;
    let took = started.elapsed();
    if let (Some(before), Some(after)) = (cpu, cpu_seconds()) {
        eprintln!(
            "sync: the syncing process used {:.2} CPU-s in {:.2} s",
            after - before,
            took.as_secs_f64()
        );
    }
    println!("first_sync_s {}", took.as_secs_f64());
    println!("peak_rss_mb {}", peak_rss_mb()?);
    println!("applied {}", report.applied);
    let mut samples = Vec::new();
    for _ in 0..INCREMENTAL_SYNCS {
        let started = Instant::now();
        sync::sync(&client, &cache, |_| {}).await?;
        samples.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    println!("incremental_sync_ms {}", median(samples));
    Ok(())
}

struct ChildRun {
    first_sync_s: f64,
    peak_rss_mb: f64,
    incremental_sync_ms: f64,
}

fn run_child(url: &str, token: &Secret, cache: &Path) -> anyhow::Result<ChildRun> {
    let out = Command::new(std::env::current_exe()?)
        .env(CHILD, cache)
        .env("GATEHOUSE_DESKTOP_BENCH_URL", url)
        .env("GATEHOUSE_DESKTOP_BENCH_TOKEN", token.expose())
        .stderr(Stdio::inherit())
        .output()?;
    if !out.status.success() {
        bail!("the syncing child failed: {:?}", out.status);
    }
    let text = String::from_utf8(out.stdout)?;
    let value = |name: &str| -> anyhow::Result<f64> {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .with_context(|| format!("the child printed no {name}: {text}"))
    };
    let run = ChildRun {
        first_sync_s: value("first_sync_s")?,
        peak_rss_mb: value("peak_rss_mb")?,
        incremental_sync_ms: value("incremental_sync_ms")?,
    };
    eprintln!(
        "sync: {} changes in {:.2} s, peak RSS {:.0} MB, incremental {:.1} ms",
        value("applied")?,
        run.first_sync_s,
        run.peak_rss_mb,
        run.incremental_sync_ms
    );
    Ok(run)
}

/// Binds `texts` then `ints`, the next columns of one row.
fn push<'a>(b: &mut Separated<'_, 'a, Sqlite, &'static str>, texts: &[&'a String], ints: &[i64]) {
    for t in texts {
        b.push_bind(t.as_str());
    }
    for i in ints {
        b.push_bind(*i);
    }
}

/// Inserts `rows` with multi-row statements of 100 rows (one row for the remainder).
async fn insert_rows<'a, R>(
    conn: &mut SqliteConnection,
    head: &str,
    rows: &'a [R],
    bind: impl Fn(&mut Separated<'_, 'a, Sqlite, &'static str>, &'a R) + Copy,
) -> anyhow::Result<()> {
    let chunks = rows.chunks_exact(100);
    let remainder = chunks.remainder();
    for chunk in chunks.chain(remainder.chunks(1)) {
        let mut q = QueryBuilder::<Sqlite>::new(head);
        q.push_values(chunk, |mut b, r| bind(&mut b, r));
        q.build().execute(&mut *conn).await?;
    }
    Ok(())
}

type UserRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    String,
    String,
    i64,
);
type UsageRow = (
    String,
    String,
    String,
    String,
    String,
    i64,
    i64,
    i64,
    i64,
    i64,
);

/// The floor: the rows `synced` holds, written into a new cache file in one transaction.
async fn floor(synced: &Path, empty: &Path) -> anyhow::Result<f64> {
    let source = Cache::open(synced, bench_seal()).await?;
    let pool = source.pool();
    let org: Vec<(String, String, i64)> = sqlx::query_as("SELECT id, data, revision FROM org")
        .fetch_all(pool)
        .await?;
    let workspaces: Vec<(String, String, String, i64)> =
        sqlx::query_as("SELECT id, name, data, revision FROM workspaces")
            .fetch_all(pool)
            .await?;
    let memberships: Vec<(String, String, String, String, i64)> =
        sqlx::query_as("SELECT id, workspace_id, user_id, role, revision FROM memberships")
            .fetch_all(pool)
            .await?;
    let users: Vec<UserRow> = sqlx::query_as(
        "SELECT id, email, name, role, status, created_at, last_active_at, search_text, data, \
         revision FROM users",
    )
    .fetch_all(pool)
    .await?;
    let usage: Vec<UsageRow> = sqlx::query_as(
        "SELECT id, day, user_id, model_id, workspace_id, requests, input_tokens, output_tokens, \
         cost_micros, revision FROM usage_daily",
    )
    .fetch_all(pool)
    .await?;
    let other: i64 = sqlx::query_scalar(
        "SELECT (SELECT COUNT(*) FROM groups) + (SELECT COUNT(*) FROM invitations) \
         + (SELECT COUNT(*) FROM models) + (SELECT COUNT(*) FROM audit)",
    )
    .fetch_one(pool)
    .await?;
    pool.close().await;
    // The same schema and indexes as the cache: the cache's own migrations on an empty file.
    Cache::open(empty, bench_seal()).await?.pool().close().await;
    let mut conn = SqliteConnection::connect(&format!("sqlite://{}", empty.display())).await?;
    // Encrypted like the cache, so that the ratio is the sync's own cost.
    let key = format!(
        "PRAGMA key = {}",
        bench_seal().database_key_pragma().expose()
    );
    sqlx::query(&key).execute(&mut conn).await?;
    sqlx::query("PRAGMA journal_mode = WAL")
        .execute(&mut conn)
        .await?;
    sqlx::query("PRAGMA synchronous = NORMAL")
        .execute(&mut conn)
        .await?;
    // And with the page cache a sync writes with.
    sqlx::query(&format!(
        "PRAGMA cache_size = -{}",
        gatehouse_core::cache::SYNC_PAGE_CACHE_KIB
    ))
    .execute(&mut conn)
    .await?;

    let started = Instant::now();
    let mut tx = conn.begin().await?;
    insert_rows(
        &mut tx,
        "INSERT INTO org (id, data, revision) ",
        &org,
        |b, r| {
            push(b, &[&r.0, &r.1], &[r.2]);
        },
    )
    .await?;
    insert_rows(
        &mut tx,
        "INSERT INTO workspaces (id, name, data, revision) ",
        &workspaces,
        |b, r| {
            push(b, &[&r.0, &r.1, &r.2], &[r.3]);
        },
    )
    .await?;
    insert_rows(
        &mut tx,
        "INSERT INTO memberships (id, workspace_id, user_id, role, revision) ",
        &memberships,
        |b, r| {
            push(b, &[&r.0, &r.1, &r.2, &r.3], &[r.4]);
        },
    )
    .await?;
    insert_rows(
        &mut tx,
        "INSERT INTO users (id, email, name, role, status, created_at, last_active_at, \
         search_text, data, revision) ",
        &users,
        |b, r| {
            push(b, &[&r.0, &r.1, &r.2, &r.3, &r.4, &r.5], &[]);
            b.push_bind(r.6.as_deref());
            push(b, &[&r.7, &r.8], &[r.9]);
        },
    )
    .await?;
    insert_rows(
        &mut tx,
        "INSERT INTO usage_daily (id, day, user_id, model_id, workspace_id, requests, \
         input_tokens, output_tokens, cost_micros, revision) ",
        &usage,
        |b, r| {
            push(
                b,
                &[&r.0, &r.1, &r.2, &r.3, &r.4],
                &[r.5, r.6, r.7, r.8, r.9],
            );
        },
    )
    .await?;
    tx.commit().await?;
    let took = started.elapsed().as_secs_f64();
    eprintln!(
        "floor: {} rows in {took:.2} s ({other} rows of other kinds left out)",
        org.len() + workspaces.len() + memberships.len() + users.len() + usage.len()
    );
    Ok(took)
}

async fn parent() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let (db, token) = bench_seed::open_large("GATEHOUSE_DESKTOP_BENCH_DB", dir.path()).await?;
    let gateway = RunningGateway::start_on_loopback(db.clone()).await?;
    let url = gateway.url();

    let mut runs = Vec::new();
    for i in 0..RUNS {
        let cache = dir.path().join(format!("cache-{i}.sqlite"));
        let (url, token) = (url.clone(), token.clone());
        runs.push(tokio::task::spawn_blocking(move || run_child(&url, &token, &cache)).await??);
    }
    gateway.stop().await;
    db.pool.close().await;

    let mut floors = Vec::new();
    for i in 0..RUNS {
        let empty = dir.path().join(format!("floor-{i}.sqlite"));
        floors.push(floor(&dir.path().join("cache-0.sqlite"), &empty).await?);
    }
    let first = median(runs.iter().map(|r| r.first_sync_s).collect());
    let floor = median(floors);
    report("desktop_first_sync_s", first, "s");
    report(
        "desktop_first_sync_peak_rss_mb",
        median(runs.iter().map(|r| r.peak_rss_mb).collect()),
        "MB",
    );
    report("desktop_sqlite_floor_s", floor, "s");
    report("desktop_first_sync_ratio", first / floor, "x");
    report(
        "desktop_incremental_sync_ms",
        median(runs.iter().map(|r| r.incremental_sync_ms).collect()),
        "ms",
    );
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match std::env::var_os(CHILD) {
        Some(cache) => child(Path::new(&cache)).await,
        None => parent().await,
    }
}
