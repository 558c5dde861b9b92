//! The SQLite cache of one profile: every list and chart of the app reads it, so the app works
//! offline. Changes from the gateway's change feed are applied a batch per transaction, together
//! with the revision they reach, so a crash leaves the cache at the end of some batch.

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use gatehouse_api::{Org, SyncChange};
use sqlx::ConnectOptions as _;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};

use crate::error::{CoreError, CoreResult};
use crate::queries::user_index::{Scope, UserIndex};
use crate::seal::Seal;

mod apply;
pub use apply::{CacheWriter, SYNC_PAGE_CACHE_KIB};

static MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

#[derive(Clone)]
pub struct Cache {
    pool: SqlitePool,
    seal: Seal,
    /// Moves whenever a batch changed users, memberships or group members: the in-memory user
    /// index built at another value is stale.
    users_version: Arc<AtomicU64>,
    user_index: Arc<tokio::sync::Mutex<Option<BuiltIndex>>>,
}

/// The user index and the `users_version` it was built at.
type BuiltIndex = (u64, Arc<UserIndex>);

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache")
            .field("pool", &self.pool)
            .finish_non_exhaustive()
    }
}

/// SQLite's header: a file that starts with it is not encrypted.
const PLAIN_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// Whether the file at `path` is an SQLite database in the clear (absent or empty: no).
fn is_plaintext(path: &Path) -> CoreResult<bool> {
    use std::io::Read;
    let mut header = [0u8; 16];
    match std::fs::File::open(path) {
        Ok(mut f) => Ok(f.read_exact(&mut header).is_ok() && &header == PLAIN_HEADER),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Encrypts the clear cache at `path` under `key` (a `PRAGMA key` value): SQLCipher copies it
/// into a new encrypted file, which then takes its place; the clear one and its WAL go.
async fn encrypt_in_place(path: &Path, key: &gatehouse_api::Secret) -> CoreResult<()> {
    use sqlx::Connection;
    let encrypted = path.with_extension("sqlite-encrypting");
    remove_file_if_exists(&encrypted)?;
    // Created on open (ATTACH creates the new file with the connection's own flags).
    let mut conn = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .log_statements(log::LevelFilter::Off)
        .connect()
        .await?;
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&mut conn)
        .await?;
    let target = encrypted.to_string_lossy().replace('\'', "''");
    let attach = format!(
        "ATTACH DATABASE '{target}' AS encrypted KEY {}",
        key.expose()
    );
    sqlx::query(&attach).execute(&mut conn).await?;
    sqlx::query("SELECT sqlcipher_export('encrypted')")
        .fetch_all(&mut conn)
        .await?;
    sqlx::query("DETACH DATABASE encrypted")
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    for suffix in ["-wal", "-shm"] {
        let mut side = path.as_os_str().to_owned();
        side.push(suffix);
        remove_file_if_exists(Path::new(&side))?;
    }
    std::fs::rename(&encrypted, path)?;
    tracing::info!(path = %path.display(), "the cache was encrypted in place");
    Ok(())
}

fn remove_file_if_exists(path: &Path) -> CoreResult<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
        _ => Ok(()),
    }
}

/// SQLCipher's answer to a key that does not open the file: "file is not a database".
fn unreadable(e: sqlx::Error) -> CoreError {
    match &e {
        sqlx::Error::Database(d) if d.message().contains("file is not a database") => {
            CoreError::CacheUnreadable
        }
        _ => e.into(),
    }
}

fn parse_time(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default()
}

fn decode<'a, T: serde::Deserialize<'a>>(change: &'a SyncChange) -> CoreResult<T> {
    let data = change.data.as_ref().ok_or_else(|| {
        CoreError::Protocol(format!("{:?} {} without data", change.kind, change.id))
    })?;
    serde_json::from_str(data.get())
        .map_err(|e| CoreError::Protocol(format!("{:?} {}: {e}", change.kind, change.id)))
}

impl Cache {
    /// Opens (creating when missing) and migrates the cache file at `path`, encrypted whole
    /// with SQLCipher under `seal`, the profile's cache key, which also seals the secrets the
    /// cache keeps (invitation links). A cache from before encryption is encrypted in place
    /// first. A file this key cannot read is [`CoreError::CacheUnreadable`].
    pub async fn open(path: &Path, seal: Seal) -> CoreResult<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let key = seal.database_key_pragma();
        if is_plaintext(path)? {
            encrypt_in_place(path, &key).await?;
        }
        let options = SqliteConnectOptions::from_str("sqlite://")?
            .filename(path)
            // First on every connection (sqlx orders `key` before every other pragma).
            .pragma("key", key.expose().to_owned())
            // Statements are not logged: the first one names the key.
            .log_statements(log::LevelFilter::Off)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .map_err(unreadable)?;
        MIGRATIONS.run(&pool).await.map_err(|e| match e {
            sqlx::migrate::MigrateError::Execute(e) => unreadable(e),
            e => e.into(),
        })?;
        Ok(Self {
            pool,
            seal,
            users_version: Arc::default(),
            user_index: Arc::default(),
        })
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Closes the pool, so the files can be removed.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Empties every table in one transaction, so that the next sync fills the cache anew from
    /// revision 0, and gives the space back. The seal (the profile's cache key) stays. In place rather than by removing the files: the
    /// pool's connections and the app's other holders of the cache stay valid.
    pub async fn clear(&self) -> CoreResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("PRAGMA defer_foreign_keys = ON")
            .execute(&mut *tx)
            .await?;
        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'table' \
             AND name NOT LIKE 'sqlite%' AND name <> '_sqlx_migrations'",
        )
        .fetch_all(&mut *tx)
        .await?;
        // Twice: deleting from one table fires triggers that write into another (usage days
        // marked stale), which may already have been emptied.
        for _ in 0..2 {
            for table in &tables {
                sqlx::query(&format!("DELETE FROM \"{table}\""))
                    .execute(&mut *tx)
                    .await?;
            }
        }
        // The one row of `sync_state`, as the first migration made it: nothing synced yet.
        sqlx::query("INSERT INTO sync_state (id, since, synced_at) VALUES (1, 0, NULL)")
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        sqlx::query("VACUUM").execute(&self.pool).await?;
        self.users_version.fetch_add(1, AtomicOrdering::AcqRel);
        Ok(())
    }

    /// Builds the users index now, in the background, so that the first search does not wait
    /// for it: once the users table has shown its first page, and after a sync changed users.
    pub fn warm_user_index(&self) {
        let cache = self.clone();
        tokio::spawn(async move {
            if let Err(e) = cache.user_index().await {
                tracing::debug!(code = e.code(), "user index not built ahead");
            }
        });
    }

    /// The user index if it is built and current, without waiting for it.
    pub(crate) fn built_user_index(&self) -> Option<Arc<UserIndex>> {
        let held = self.user_index.try_lock().ok()?;
        let version = self.users_version.load(AtomicOrdering::Acquire);
        held.as_ref()
            .filter(|(built_at, _)| *built_at == version)
            .map(|(_, index)| index.clone())
    }

    /// The in-memory index of the users table, built afresh when users changed since.
    pub(crate) async fn user_index(&self) -> CoreResult<Arc<UserIndex>> {
        let mut held = self.user_index.lock().await;
        let version = self.users_version.load(AtomicOrdering::Acquire);
        if let Some((built_at, index)) = held.as_ref()
            && *built_at == version
        {
            return Ok(index.clone());
        }
        let started = std::time::Instant::now();
        let index = UserIndex::build(&self.pool, Scope::All).await?;
        tracing::debug!(
            users = index.len(),
            ms = started.elapsed().as_millis() as u64,
            "user index built"
        );
        *held = Some((version, index.clone()));
        Ok(index)
    }

    /// The profile's cache key.
    pub fn seal(&self) -> &Seal {
        &self.seal
    }

    /// The revision the cache has reached and when it last synced.
    pub async fn sync_state(&self) -> CoreResult<(i64, Option<DateTime<Utc>>)> {
        let row = sqlx::query("SELECT since, synced_at FROM sync_state WHERE id = 1")
            .fetch_one(&self.pool)
            .await?;
        let synced_at: Option<String> = row.get(1);
        Ok((row.get(0), synced_at.as_deref().map(parse_time)))
    }

    pub async fn mark_synced(&self, at: DateTime<Utc>) -> CoreResult<()> {
        sqlx::query("UPDATE sync_state SET synced_at = $1 WHERE id = 1")
            .bind(at.to_rfc3339())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn org(&self) -> CoreResult<Option<Org>> {
        let data: Option<String> = sqlx::query_scalar("SELECT data FROM org LIMIT 1")
            .fetch_optional(&self.pool)
            .await?;
        data.map(|d| serde_json::from_str(&d).map_err(|e| CoreError::Protocol(e.to_string())))
            .transpose()
    }

    pub async fn count_users(&self) -> CoreResult<u64> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(&self.pool)
            .await?;
        Ok(n as u64)
    }
}
