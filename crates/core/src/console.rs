//! The console: the one object the desktop shell holds. It opens the active profile (or the
//! embedded demo gateway on first start), keeps the client and the cache, syncs, and answers the
//! UI's questions from the cache.

use std::path::PathBuf;
use std::sync::Arc;

use gatehouse_api::Me;
use gatehouse_gateway::RunningGateway;
use tokio::sync::RwLock;

use crate::cache::Cache;
use crate::client::{AdminApi, AdminClient};
use crate::credentials::{CredentialStore, Slot};
use crate::error::{CoreError, CoreResult};
use crate::ipc::{AppStatus, IpcError, Phase, SyncProgress, SyncReport, UserFilter, UserRows};
use crate::profiles::{Profile, Profiles};
use crate::seal::Seal;

/// Where the app keeps its files.
#[derive(Debug, Clone)]
pub struct AppDirs {
    /// profiles.json
    pub config: PathBuf,
    /// caches and the demo gateway's database
    pub data: PathBuf,
}

/// Called with the new status whenever it changes.
pub type StatusSink = Arc<dyn Fn(AppStatus) + Send + Sync>;

struct Session {
    profile: Profile,
    client: AdminClient,
    cache: Cache,
}

struct Inner {
    phase: Phase,
    session: Option<Session>,
    me: Option<Me>,
    offline: bool,
    syncing: Option<SyncProgress>,
    error: Option<IpcError>,
    // Kept so the demo gateway serves as long as the console lives.
    embedded: Option<RunningGateway>,
}

pub struct Console {
    dirs: AppDirs,
    credentials: Arc<dyn CredentialStore>,
    inner: RwLock<Inner>,
    sink: StatusSink,
}

impl std::fmt::Debug for Console {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Console")
            .field("dirs", &self.dirs)
            .finish_non_exhaustive()
    }
}

const EMBEDDED_PROFILE_ID: &str = "demo";

impl Console {
    pub fn new(dirs: AppDirs, credentials: Arc<dyn CredentialStore>, sink: StatusSink) -> Self {
        let inner = Inner {
            phase: Phase::Starting,
            session: None,
            me: None,
            offline: false,
            syncing: None,
            error: None,
            embedded: None,
        };
        Self {
            dirs,
            credentials,
            inner: RwLock::new(inner),
            sink,
        }
    }

    pub async fn status(&self) -> AppStatus {
        let inner = self.inner.read().await;
        let synced_at = match &inner.session {
            Some(s) => s.cache.sync_state().await.ok().and_then(|(_, at)| at),
            None => None,
        };
        AppStatus {
            phase: inner.phase,
            profile: inner.session.as_ref().map(|s| s.profile.summary()),
            me: inner.me.clone(),
            offline: inner.offline,
            synced_at,
            syncing: inner.syncing,
            error: inner.error.clone(),
        }
    }

    async fn publish(&self) {
        let status = self.status().await;
        (self.sink)(status);
    }

    /// Opens the active profile, or on first start the embedded demo gateway, then syncs.
    /// Failures end in `Phase::Failed` with the error in the status.
    pub async fn start(&self) {
        match self.open().await {
            Ok(()) => {
                self.inner.write().await.phase = Phase::Ready;
                self.publish().await;
                if let Err(e) = self.sync_now().await {
                    tracing::warn!(code = e.code(), "first sync failed");
                }
            }
            Err(e) => {
                let mut inner = self.inner.write().await;
                inner.phase = Phase::Failed;
                inner.error = Some(e.to_ipc());
                drop(inner);
                self.publish().await;
            }
        }
    }

    async fn open(&self) -> CoreResult<()> {
        let mut profiles = Profiles::load(&self.dirs.config)?;
        let active = profiles.active().cloned();
        let (profile, client) = match active {
            Some(profile) if !profile.embedded => {
                let token = self
                    .credentials
                    .get(Slot::Token(&profile.id))?
                    .ok_or(CoreError::SignedOut)?;
                let client = AdminClient::new(&profile.url, token)?;
                (profile, client)
            }
            _ => {
                let (gateway, token) =
                    crate::embedded::start(&self.dirs.data.join("demo-gateway.db")).await?;
                let profile = Profile {
                    id: EMBEDDED_PROFILE_ID.into(),
                    name: "Demo organisation (on this computer)".into(),
                    url: gateway.url(),
                    embedded: true,
                };
                // The demo token is minted afresh at every start, so the app works without a
                // keychain too; it is still kept there like any other profile's when one exists.
                if let Err(e) = self.credentials.set(Slot::Token(&profile.id), &token) {
                    tracing::warn!(code = e.code(), "demo token kept in memory only");
                }
                profiles.put_active(profile.clone())?;
                let client = AdminClient::new(&profile.url, token)?;
                self.inner.write().await.embedded = Some(gateway);
                (profile, client)
            }
        };
        let cache = self.open_cache(&profile.id).await?;
        let me = match client.me().await {
            Ok(me) => Some(me),
            Err(CoreError::Offline { .. }) => None,
            Err(e) => return Err(e),
        };
        let mut inner = self.inner.write().await;
        inner.offline = me.is_none();
        inner.me = me;
        inner.session = Some(Session {
            profile,
            client,
            cache,
        });
        Ok(())
    }

    /// The profile's cache, sealed with its key from the keychain. A cache whose key is gone
    /// (first use, or the keychain was reset) is started afresh: what it sealed cannot be read.
    async fn open_cache(&self, profile_id: &str) -> CoreResult<Cache> {
        let path = self.cache_path(profile_id);
        let seal = match self.credentials.get(Slot::CacheKey(profile_id)) {
            Ok(Some(text)) => Seal::from_text(&text)?,
            found => {
                let (seal, text) = Seal::generate();
                match found.and_then(|_| self.credentials.set(Slot::CacheKey(profile_id), &text)) {
                    Ok(()) => {}
                    // Only the demo gets here without a keychain (a real profile's token needs
                    // one): its cache lives for this run.
                    Err(e) => tracing::warn!(code = e.code(), "cache key kept in memory only"),
                }
                remove_cache_files(&path)?;
                seal
            }
        };
        Cache::open(&path, seal).await
    }

    fn cache_path(&self, profile_id: &str) -> PathBuf {
        self.dirs
            .data
            .join("cache")
            .join(format!("{profile_id}.sqlite"))
    }

    async fn session_parts(&self) -> CoreResult<(AdminClient, Cache)> {
        let inner = self.inner.read().await;
        let session = inner.session.as_ref().ok_or(CoreError::NoProfile)?;
        Ok((session.client.clone(), session.cache.clone()))
    }

    /// Syncs the cache now, publishing progress; marks the console offline when the gateway
    /// does not answer.
    pub async fn sync_now(&self) -> CoreResult<SyncReport> {
        let (client, cache) = self.session_parts().await?;
        let (progress_tx, mut progress_rx) = tokio::sync::mpsc::unbounded_channel();
        let work = crate::sync::sync(&client, &cache, move |p| {
            let _ = progress_tx.send(p);
        });
        tokio::pin!(work);
        let result = loop {
            tokio::select! {
                result = &mut work => break result,
                Some(p) = progress_rx.recv() => {
                    self.inner.write().await.syncing = Some(p);
                    self.publish().await;
                }
            }
        };
        // A short sync can finish within one poll, before its progress was read: show where it
        // got to before showing it done.
        if let Some(last) = std::iter::from_fn(|| progress_rx.try_recv().ok()).last() {
            self.inner.write().await.syncing = Some(last);
            self.publish().await;
        }
        {
            let mut inner = self.inner.write().await;
            inner.syncing = None;
            inner.offline = matches!(result, Err(CoreError::Offline { .. }));
        }
        self.publish().await;
        result
    }

    /// The cached users matching `filter`.
    pub async fn users(&self, filter: &UserFilter) -> CoreResult<UserRows> {
        let (_, cache) = self.session_parts().await?;
        cache.users(filter).await
    }

    /// The URL of the embedded demo gateway, when it runs.
    pub async fn embedded_url(&self) -> Option<String> {
        self.inner
            .read()
            .await
            .embedded
            .as_ref()
            .map(RunningGateway::url)
    }
}

/// Removes a cache database with its WAL and shared-memory files.
fn remove_cache_files(path: &std::path::Path) -> CoreResult<()> {
    for suffix in ["", "-wal", "-shm"] {
        let mut file = path.as_os_str().to_owned();
        file.push(suffix);
        match std::fs::remove_file(&file) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}
