//! The gateway's database: SQLite (default, one file) or PostgreSQL (shared by several nodes),
//! both through sqlx's `Any` driver so that every query is written once. The SQL sticks to what
//! both understand: `$n` placeholders, BIGINT for integers and booleans, TEXT timestamps in one
//! fixed RFC 3339 form (so they sort as text).
//!
//! What PostgreSQL refuses that SQLite takes, through `Any` (the tests run on both):
//! - A result column of a type `Any` cannot decode: NUMERIC, which is what `SUM` and `AVG` of a
//!   BIGINT give; cast it (`CAST(SUM(x) AS BIGINT)`). `COUNT(*)` is BIGINT, which decodes as i64.
//! - U+0000 in TEXT: the `nul` middleware turns it away at the edge.
//! - A bind whose SQL type changes between uses of one cached statement: a NULL `Option<f64>` is
//!   sent as REAL, a number as DOUBLE PRECISION. Nullable amounts are stored as BIGINT micro-USD
//!   (`gatehouse_gateway::policy::micros`), whose NULL and numbers bind alike.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Transaction};

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("unsupported database URL scheme (use sqlite://PATH or postgres://…)")]
    UnsupportedUrl,
    #[error(transparent)]
    Sqlx(#[from] sqlx::Error),
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error(
        "another gateway is already serving {0}: a SQLite database is served by one node, whose \
         data plane counts requests in its own memory. Stop the other one, or run several nodes \
         on PostgreSQL (--db postgres://…)"
    )]
    AlreadyServed(std::path::PathBuf),
    #[error("could not lock {0} for this gateway: {1}")]
    Lock(std::path::PathBuf, std::io::Error),
}

/// Held while a gateway serves a SQLite file; see [`Db::serve_alone`].
#[derive(Debug)]
pub struct ServingLock {
    _file: std::fs::File,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, Clone)]
pub struct Db {
    pub pool: AnyPool,
    pub backend: Backend,
    /// The file of a SQLite database (none in memory).
    file: Option<Arc<std::path::PathBuf>>,
    /// A digest of the URL, which names the node-local files of a PostgreSQL database.
    digest: Arc<str>,
    /// SQLite's WAL checkpoints, stopped when the last handle goes.
    _checkpoints: Option<Arc<Checkpoints>>,
}

/// How long a gateway waits for the lock of a SQLite file another one holds; see
/// [`Db::serve_alone`].
const SERVING_WAIT: Duration = Duration::from_secs(2);

/// How often a SQLite database's WAL is copied back into the file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);

/// The task that checkpoints a SQLite database's WAL. SQLite would otherwise checkpoint inside
/// the commit that fills the WAL, fsync included, and that commit holds the write lock while
/// the data plane's admissions wait for it: a passive checkpoint on a timer takes no write lock.
#[derive(Debug)]
struct Checkpoints(tokio::task::JoinHandle<()>);

impl Checkpoints {
    fn start(pool: AnyPool) -> Arc<Self> {
        Arc::new(Self(tokio::spawn(async move {
            let mut every = tokio::time::interval(CHECKPOINT_EVERY);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every.tick().await;
                if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                    .execute(&pool)
                    .await
                {
                    tracing::warn!(error = %e, "WAL checkpoint failed");
                }
            }
        })))
    }
}

impl Drop for Checkpoints {
    fn drop(&mut self) {
        self.0.abort();
    }
}

pub type Tx = Transaction<'static, sqlx::Any>;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

impl Db {
    /// Opens (creating a SQLite file when missing) and migrates the database at `url`.
    pub async fn connect(url: &str) -> Result<Self, DbError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(DbError::UnsupportedUrl);
        };
        let pool = match backend {
            Backend::Sqlite => {
                let url = if url.contains('?') {
                    url.to_owned()
                } else {
                    format!("{url}?mode=rwc")
                };
                let options = AnyConnectOptions::from_str(&url)?;
                AnyPoolOptions::new()
                    .max_connections(8)
                    // A file does not drop connections, and the ping before each use is one
                    // more hand-off to the connection's worker thread on every query.
                    .test_before_acquire(false)
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            for pragma in [
                                "PRAGMA journal_mode = WAL",
                                "PRAGMA busy_timeout = 10000",
                                "PRAGMA synchronous = NORMAL",
                                "PRAGMA foreign_keys = ON",
                                // `Checkpoints` does it instead.
                                "PRAGMA wal_autocheckpoint = 0",
                            ] {
                                sqlx::Executor::execute(&mut *conn, pragma).await?;
                            }
                            Ok(())
                        })
                    })
                    .connect_with(options)
                    .await?
            }
            Backend::Postgres => {
                AnyPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect(url)
                    .await?
            }
        };
        let checkpoints = (backend == Backend::Sqlite).then(|| Checkpoints::start(pool.clone()));
        let db = Self {
            pool,
            backend,
            file: (backend == Backend::Sqlite)
                .then(|| sqlite_file(url))
                .flatten()
                .map(Arc::new),
            digest: Arc::from(&crate::hash_secret(url)[..16]),
            _checkpoints: checkpoints,
        };
        match backend {
            Backend::Sqlite => SQLITE_MIGRATIONS.run(&db.pool).await?,
            Backend::Postgres => POSTGRES_MIGRATIONS.run(&db.pool).await?,
        }
        Ok(db)
    }

    /// Where a node keeps its own files about this database (`what`: its metering journal):
    /// beside a SQLite file, or for PostgreSQL under the user's state directory, named after the
    /// database's URL, so that no file is ever read back into another database. None for a
    /// SQLite database in memory, which dies with its process.
    pub fn node_dir(&self, what: &str) -> Option<std::path::PathBuf> {
        if self.backend == Backend::Sqlite {
            let file = self.file.as_ref()?;
            let mut name = file.as_os_str().to_owned();
            name.push(format!(".{what}"));
            return Some(name.into());
        }
        let state = std::env::var_os("XDG_STATE_HOME")
            .map(std::path::PathBuf::from)
            .or_else(|| {
                std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".local/state"))
            })
            .unwrap_or_else(std::env::temp_dir);
        Some(
            state
                .join("gatehouse")
                .join(format!("{what}-{}", self.digest)),
        )
    }

    /// Claims a SQLite file for the one gateway that may serve it, until the lock is dropped (or
    /// the process ends, however it ends): a second one would admit requests from counters the
    /// first cannot see. An advisory lock on `<file>.serving` beside it, which other tools that
    /// open the database (the console's embedded demo reads, `init`) do not take. Nothing to
    /// claim on PostgreSQL, which several nodes share, or for a database in memory.
    pub async fn serve_alone(&self) -> Result<Option<ServingLock>, DbError> {
        let Some(file) = &self.file else {
            return Ok(None);
        };
        let mut name = file.as_os_str().to_owned();
        name.push(".serving");
        let path = std::path::PathBuf::from(name);
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| DbError::Lock(path.clone(), e))?;
        // A gateway that is stopping (a restart), or a child process forked elsewhere in this
        // one that has not yet exec'd (it holds a copy of the descriptor for that moment), may
        // hold the lock briefly: a gateway that still serves holds it past this wait.
        let deadline = std::time::Instant::now() + SERVING_WAIT;
        loop {
            match lock.try_lock() {
                Ok(()) => return Ok(Some(ServingLock { _file: lock })),
                Err(std::fs::TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(std::fs::TryLockError::WouldBlock) => {
                    return Err(DbError::AlreadyServed(file.as_ref().clone()));
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(DbError::Lock(path, e)),
            }
        }
    }

    /// Starts a write transaction, which holds the gateway's write lock from its first statement
    /// to its end, on both backends, so that writers run one at a time: what a handler reads
    /// before it writes is still true when it commits, revisions commit in the order they were
    /// taken, and no two writers can deadlock on rows they lock in different orders.
    ///
    /// SQLite takes its database lock at once (`BEGIN IMMEDIATE`), so that two writers never both
    /// read and then fail to upgrade. PostgreSQL locks the revision counter's row. It runs READ
    /// COMMITTED whatever the server's default: each statement then sees every writer that
    /// committed before it, where REPEATABLE READ or SERIALIZABLE would fail the lock with a
    /// serialization error once the writer before it commits.
    pub async fn begin_write(&self) -> Result<Tx, sqlx::Error> {
        match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => {
                let mut tx = self
                    .pool
                    .begin_with("BEGIN ISOLATION LEVEL READ COMMITTED")
                    .await?;
                sqlx::query("SELECT value FROM revision_counter WHERE id = 1 FOR UPDATE")
                    .execute(&mut *tx)
                    .await?;
                Ok(tx)
            }
        }
    }

    /// Starts a read-only transaction whose statements all see one snapshot, so that several
    /// queries (the kinds of one sync page) agree on which writers have committed. SQLite's
    /// deferred transaction reads one WAL snapshot from its first read; PostgreSQL needs
    /// REPEATABLE READ, as under its default READ COMMITTED each statement takes a new snapshot
    /// and a commit landing between two queries would show one kind's revision and not an
    /// earlier revision of another kind, which a client paging by revision would then skip.
    pub async fn begin_read(&self) -> Result<Tx, sqlx::Error> {
        match self.backend {
            Backend::Sqlite => self.pool.begin().await,
            Backend::Postgres => {
                self.pool
                    .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    .await
            }
        }
    }
}

/// Takes the next value of the gateway-wide revision sequence inside `tx`.
pub async fn next_revision(tx: &mut Tx) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("UPDATE revision_counter SET value = value + 1 WHERE id = 1 RETURNING value")
        .fetch_one(&mut **tx)
        .await
}

/// The one text form of a timestamp in the database and on the wire.
pub fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub fn now() -> String {
    timestamp(Utc::now())
}

pub fn parse_timestamp(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default()
}

/// Whether the database answers.
pub async fn ping(pool: &AnyPool) -> Result<(), sqlx::Error> {
    sqlx::query_scalar::<_, i64>("SELECT 1")
        .fetch_one(pool)
        .await
        .map(drop)
}

/// The file a `sqlite:` URL names, unless the database is in memory.
fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let in_memory = path.is_empty() || path == ":memory:" || query.contains("mode=memory");
    (!in_memory).then(|| std::path::PathBuf::from(path))
}

#[cfg(test)]
mod tests {
    use super::sqlite_file;
    use std::path::PathBuf;

    #[test]
    fn a_sqlite_url_names_its_file_unless_in_memory() {
        assert_eq!(
            sqlite_file("sqlite:///var/lib/g.db?mode=rwc"),
            Some(PathBuf::from("/var/lib/g.db"))
        );
        assert_eq!(sqlite_file("sqlite://g.db"), Some(PathBuf::from("g.db")));
        assert_eq!(sqlite_file("sqlite:g.db"), Some(PathBuf::from("g.db")));
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(sqlite_file("sqlite://x?mode=memory"), None);
        assert_eq!(sqlite_file("postgres://h/db"), None);
    }
}
