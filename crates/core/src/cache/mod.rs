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
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};

use crate::error::{CoreError, CoreResult};
use crate::queries::user_index::UserIndex;
use crate::seal::Seal;

mod apply;

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
    /// Opens (creating when missing) and migrates the cache file at `path`; `seal` is the
    /// profile's cache key, which seals the secrets the cache keeps (invitation links).
    pub async fn open(path: &Path, seal: Seal) -> CoreResult<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let options = SqliteConnectOptions::from_str("sqlite://")?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await?;
        MIGRATIONS.run(&pool).await?;
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
    /// for it: on opening a profile, and after a sync changed users.
    pub fn warm_user_index(&self) {
        let cache = self.clone();
        tokio::spawn(async move {
            if let Err(e) = cache.user_index().await {
                tracing::debug!(code = e.code(), "user index not built ahead");
            }
        });
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
        let index = UserIndex::build(&self.pool).await?;
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
