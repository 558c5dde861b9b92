//! A sync killed with SIGKILL in the middle leaves a consistent cache at the end of its last
//! applied batch, and the next sync goes on from there.
//!
//! The parent seeds a large gateway (20,000 users, 200,000 usage rows) and serves it on
//! loopback; it runs this same binary again as the child, which syncs into a fresh cache and
//! prints a line per applied batch. After a few batches the parent kills the child (SIGKILL),
//! then checks the cache file and syncs it to the end.

use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use gatehouse_api::Secret;
use gatehouse_core::cache::Cache;
use gatehouse_core::client::{AdminApi, AdminClient};
use gatehouse_core::seal::Seal;
use gatehouse_core::sync;
use gatehouse_gateway::bench_seed::{self, Size};
use gatehouse_gateway::{Db, RunningGateway};

const CHILD: &str = "GATEHOUSE_SYNC_KILL_CHILD";
const SIZE: Size = Size {
    users: 20_000,
    usage_rows: 200_000,
};
/// Batches the child reports applied before the parent kills it: of about 110.
const KILL_AFTER: usize = 3;

/// The tables the seeded organisation fills, each with a `revision` column on both sides.
const TABLES: [&str; 5] = ["org", "users", "workspaces", "memberships", "usage_daily"];

fn main() {
    match std::env::var(CHILD) {
        Ok(cache) => child(Path::new(&cache)),
        Err(_) => parent(),
    }
}

/// Syncs the gateway at `$URL` into `cache`, a line per applied batch on stdout.
fn child(cache: &Path) {
    let url = std::env::var("GATEHOUSE_SYNC_KILL_URL").unwrap();
    let token = Secret::new(std::env::var("GATEHOUSE_SYNC_KILL_TOKEN").unwrap());
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let key = Secret::new(std::env::var("GATEHOUSE_SYNC_KILL_CACHE_KEY").unwrap());
        let cache = Cache::open(cache, Seal::from_text(&key).unwrap())
            .await
            .unwrap();
        let client = AdminClient::new(&url, token).unwrap();
        sync::sync(&client, &cache, |p| {
            println!("applied {} revision {}", p.applied, p.revision);
        })
        .await
        .unwrap();
        println!("done");
    });
}

async fn count(pool: &sqlx::SqlitePool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

/// The gateway's rows of `table` whose revision is `op` (`<=` or `>`) `since`.
async fn served(db: &Db, table: &str, op: &str, since: i64) -> i64 {
    sqlx::query_scalar(&format!(
        "SELECT COUNT(*) FROM {table} WHERE revision {op} $1"
    ))
    .bind(since)
    .fetch_one(&db.pool)
    .await
    .unwrap()
}

fn parent() {
    let started = Instant::now();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (db, gateway, token) = rt.block_on(async {
        let db = Db::connect(&format!("sqlite://{}", dir.path().join("gw.db").display()))
            .await
            .unwrap();
        let token = bench_seed::build(&db, SIZE).await.unwrap();
        let gateway = RunningGateway::start_on_loopback(db.clone()).await.unwrap();
        (db, gateway, token)
    });
    eprintln!("seeded in {:.1} s", started.elapsed().as_secs_f64());
    // The gateway records a token's use (a new revision of its user) at most once a minute, in
    // the background: one call first, so that no row moves while the test runs.
    let last: i64 = rt.block_on(async {
        let client = AdminClient::new(&gateway.url(), token.clone()).unwrap();
        client.me().await.unwrap();
        for _ in 0..500 {
            let touched: Option<String> =
                sqlx::query_scalar("SELECT last_active_at FROM users WHERE email = $1")
                    .bind(bench_seed::ADMIN_EMAIL)
                    .fetch_one(&db.pool)
                    .await
                    .unwrap();
            if touched.is_some() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        sqlx::query_scalar("SELECT value FROM revision_counter")
            .fetch_one(&db.pool)
            .await
            .unwrap()
    });

    let cache_path = dir.path().join("cache.sqlite");
    // The cache is encrypted: the child and the parent open it under the same key.
    let (seal, key) = Seal::generate();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .env(CHILD, &cache_path)
        .env("GATEHOUSE_SYNC_KILL_CACHE_KEY", key.expose())
        .env("GATEHOUSE_SYNC_KILL_URL", gateway.url())
        .env("GATEHOUSE_SYNC_KILL_TOKEN", token.expose())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut reported = Vec::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        let revision: i64 = line
            .rsplit_once(' ')
            .and_then(|(_, r)| r.parse().ok())
            .unwrap_or_else(|| panic!("the child finished before the kill: {line}"));
        reported.push(revision);
        if reported.len() == KILL_AFTER {
            child.kill().unwrap();
            break;
        }
    }
    let status = child.wait().unwrap();
    assert_eq!(status.signal(), Some(9), "killed by SIGKILL: {status:?}");
    eprintln!(
        "killed after {} reported batches, at {:.1} s",
        reported.len(),
        started.elapsed().as_secs_f64()
    );

    rt.block_on(async {
        let cache = Cache::open(&cache_path, seal).await.unwrap();
        let pool = cache.pool();
        let check: String = sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_one(pool)
            .await
            .unwrap();
        assert_eq!(check, "ok");
        let since = cache.sync_state().await.unwrap().0;
        assert!(
            since >= *reported.last().unwrap() && since < last,
            "the cache stopped at a batch after the last reported one and before the end: \
             {since} of {last}, reported {reported:?}"
        );
        // Exactly the rows up to `since`: nothing of a batch that did not commit.
        let mut rest = 0;
        for table in TABLES {
            let cached = count(pool, &format!("SELECT COUNT(*) FROM {table}")).await;
            let newer = count(
                pool,
                &format!("SELECT COUNT(*) FROM {table} WHERE revision > {since}"),
            )
            .await;
            let on_gateway = served(&db, table, "<=", since).await;
            assert_eq!(
                (cached, newer),
                (on_gateway, 0),
                "{table} at revision {since}"
            );
            rest += served(&db, table, ">", since).await;
        }
        assert!(rest > 0);

        // The next sync applies only what the killed one had not.
        let client = AdminClient::new(&gateway.url(), token).unwrap();
        let mut first = None;
        let report = sync::sync(&client, &cache, |p| {
            first.get_or_insert(p.revision);
        })
        .await
        .unwrap();
        assert_eq!(report.applied as i64, rest);
        assert_eq!(report.revision, last);
        assert!(first.unwrap() > since);
        for table in TABLES {
            let sql = format!("SELECT COUNT(*) FROM {table}");
            let served: i64 = sqlx::query_scalar(&sql).fetch_one(&db.pool).await.unwrap();
            assert_eq!(
                count(pool, &sql).await,
                served,
                "{table} after the resumed sync"
            );
        }
        let users = count(pool, "SELECT COUNT(*) FROM users").await;
        assert_eq!(
            users as usize,
            SIZE.users + 1,
            "the seeded users and the admin"
        );
        gateway.stop().await;
    });
    eprintln!("sync_kill: ok in {:.1} s", started.elapsed().as_secs_f64());
}
