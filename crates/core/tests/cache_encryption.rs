//! The cache file is encrypted whole (SQLCipher) under the profile's key: nothing in it reads
//! in the clear, another key opens nothing, and a cache from before encryption is encrypted in
//! place with what it held.

use gatehouse_core::CoreError;
use gatehouse_core::cache::Cache;
use gatehouse_core::seal::Seal;
use sqlx::{Connection, SqliteConnection};

const MARKER: &str = "marker-9f3c-in-the-cache";

async fn write_marker(cache: &Cache) {
    sqlx::query("CREATE TABLE IF NOT EXISTS probe (text TEXT)")
        .execute(cache.pool())
        .await
        .unwrap();
    sqlx::query("INSERT INTO probe (text) VALUES ($1)")
        .bind(MARKER)
        .execute(cache.pool())
        .await
        .unwrap();
}

async fn read_marker(cache: &Cache) -> String {
    sqlx::query_scalar("SELECT text FROM probe")
        .fetch_one(cache.pool())
        .await
        .unwrap()
}

/// The bytes of the cache file and of its WAL, after the pool is closed.
fn on_disk(path: &std::path::Path) -> Vec<u8> {
    let mut bytes = std::fs::read(path).unwrap();
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    bytes.extend(std::fs::read(std::path::Path::new(&wal)).unwrap_or_default());
    bytes
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[tokio::test]
async fn the_file_shows_nothing_and_opens_only_under_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.sqlite");
    let (seal, text) = Seal::generate();
    let cache = Cache::open(&path, seal).await.unwrap();
    write_marker(&cache).await;
    cache.close().await;

    let bytes = on_disk(&path);
    assert!(
        !bytes.starts_with(b"SQLite format 3\0"),
        "the file has SQLite's clear header"
    );
    assert!(
        !contains(&bytes, MARKER),
        "the marker is in the file in the clear"
    );
    assert!(
        !contains(&bytes, "CREATE TABLE"),
        "the schema is in the file in the clear"
    );

    let again = Cache::open(&path, Seal::from_text(&text).unwrap())
        .await
        .unwrap();
    assert_eq!(read_marker(&again).await, MARKER);
    again.close().await;

    let (other, _) = Seal::generate();
    assert!(matches!(
        Cache::open(&path, other).await,
        Err(CoreError::CacheUnreadable)
    ));
}

#[tokio::test]
async fn a_cache_from_before_encryption_is_encrypted_in_place_with_what_it_held() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.sqlite");
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let mut plain = SqliteConnection::connect(&url).await.unwrap();
    sqlx::query("PRAGMA journal_mode = WAL")
        .execute(&mut plain)
        .await
        .unwrap();
    sqlx::query("CREATE TABLE probe (text TEXT)")
        .execute(&mut plain)
        .await
        .unwrap();
    sqlx::query("INSERT INTO probe (text) VALUES ($1)")
        .bind(MARKER)
        .execute(&mut plain)
        .await
        .unwrap();
    plain.close().await.unwrap();
    assert!(contains(&on_disk(&path), MARKER));

    let (seal, _) = Seal::generate();
    let cache = Cache::open(&path, seal).await.unwrap();
    assert_eq!(read_marker(&cache).await, MARKER);
    // The cache's own tables were added to what it held.
    let (synced,): (i64,) = sqlx::query_as("SELECT since FROM sync_state WHERE id = 1")
        .fetch_one(cache.pool())
        .await
        .unwrap();
    assert_eq!(synced, 0);
    cache.close().await;
    let bytes = on_disk(&path);
    assert!(!bytes.starts_with(b"SQLite format 3\0"));
    assert!(!contains(&bytes, MARKER));
    assert!(!dir.path().join("old.sqlite-encrypting").exists());
}
