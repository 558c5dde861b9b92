//! The console: the one object the desktop shell holds. It knows the profiles, opens the active
//! one (or the embedded demo gateway on first start), keeps its client and cache, syncs at start,
//! on an interval, on demand and after every change, and answers the UI's questions from the
//! cache, so everything stays readable while the gateway is away.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use gatehouse_api::{
    AuditExportFormat, AuditExportQuery, Channel, DeliveryAttempt, IdentitySettings, Me, ScimToken,
    Secret,
};
#[cfg(feature = "embedded-demo")]
use gatehouse_gateway::RunningGateway;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::{Mutex, Notify, RwLock, oneshot};

use crate::cache::Cache;
use crate::changes::{Applied, Change};
use crate::client::{AdminApi, AdminClient};
use crate::credentials::{CredentialStore, Slot};
use crate::error::{CoreError, CoreResult};
use crate::ipc::{
    AppStatus, AuditFilter, CacheInfo, IpcError, Phase, ProfileInput, ProfileSummary, SignIn,
    SignInProvider, SyncProgress, SyncReport, UserFilter, UserRows,
};
use crate::profiles::{Profile, Profiles};
use crate::seal::Seal;
use crate::settings::{LogLevel, Settings};
use crate::sso::Browser;

/// Where the app keeps its files.
#[derive(Debug, Clone)]
pub struct AppDirs {
    /// profiles.json, settings.json
    pub config: PathBuf,
    /// caches and the demo gateway's database
    pub data: PathBuf,
}

/// Without `embedded-demo` no gateway ever runs in-process, so the rest of the console keeps one
/// shape either way.
#[cfg(not(feature = "embedded-demo"))]
enum RunningGateway {}

#[cfg(not(feature = "embedded-demo"))]
impl RunningGateway {
    fn url(&self) -> String {
        match *self {}
    }
}

/// Called with the new status whenever it changes.
pub type StatusSink = Arc<dyn Fn(AppStatus) + Send + Sync>;

/// Called with the log level whenever the settings change it (see [`crate::logs::Logs`]).
pub type LevelSink = Arc<dyn Fn(LogLevel) + Send + Sync>;

struct Session {
    profile: Profile,
    /// `None` while signed out: the cache is still readable.
    client: Option<AdminClient>,
    cache: Cache,
}

struct Inner {
    phase: Phase,
    session: Option<Session>,
    me: Option<Me>,
    offline: bool,
    syncing: Option<SyncProgress>,
    error: Option<IpcError>,
    /// Said to the admin about this session's cache (it was started afresh).
    notice: Option<String>,
    settings: Settings,
    // Kept so the demo gateway serves as long as the console lives.
    embedded: Option<RunningGateway>,
}

pub struct Console {
    dirs: AppDirs,
    credentials: Arc<dyn CredentialStore>,
    inner: RwLock<Inner>,
    sink: StatusSink,
    levels: Option<LevelSink>,
    /// One sync at a time: a second caller waits and then finds little left to do.
    sync_lock: Mutex<()>,
    /// Wakes the background loop early: settings changed, or a change found the gateway away.
    wake: Notify,
    /// How long a single sign-on waits for the browser.
    sso_wait: Duration,
    /// Ends the single sign-on waiting for the browser, with its number: one at a time, and a
    /// finished one must not take away the handle of the one after it.
    sso_cancel: std::sync::Mutex<Option<(u64, oneshot::Sender<()>)>>,
    sso_started: AtomicU64,
}

impl std::fmt::Debug for Console {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Console")
            .field("dirs", &self.dirs)
            .finish_non_exhaustive()
    }
}

#[cfg(feature = "embedded-demo")]
const EMBEDDED_PROFILE_ID: &str = "demo";

/// How often an offline console asks whether the gateway is back, at most.
const OFFLINE_PROBE: Duration = Duration::from_secs(5);

impl Console {
    pub fn new(dirs: AppDirs, credentials: Arc<dyn CredentialStore>, sink: StatusSink) -> Self {
        let settings = Settings::load(&dirs.config).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "settings unreadable; using the defaults");
            Settings::default()
        });
        let inner = Inner {
            phase: Phase::Starting,
            session: None,
            me: None,
            offline: false,
            syncing: None,
            error: None,
            notice: None,
            settings,
            embedded: None,
        };
        Self {
            dirs,
            credentials,
            inner: RwLock::new(inner),
            sink,
            levels: None,
            sync_lock: Mutex::new(()),
            wake: Notify::new(),
            sso_wait: crate::sso::DEFAULT_WAIT,
            sso_cancel: std::sync::Mutex::new(None),
            sso_started: AtomicU64::new(0),
        }
    }

    /// Waits `wait` for the browser in a single sign-on, instead of five minutes.
    pub fn with_sso_wait(mut self, wait: Duration) -> Self {
        self.sso_wait = wait;
        self
    }

    /// Hands every new log level the settings get to `levels` (the level at start is the
    /// caller's, from the same settings file).
    pub fn with_log_levels(mut self, levels: LevelSink) -> Self {
        self.levels = Some(levels);
        self
    }

    pub async fn status(&self) -> AppStatus {
        let inner = self.inner.read().await;
        let synced_at = match &inner.session {
            Some(s) => s.cache.sync_state().await.ok().and_then(|(_, at)| at),
            None => None,
        };
        AppStatus {
            phase: inner.phase,
            profile: inner
                .session
                .as_ref()
                .map(|s| s.profile.summary(s.client.is_some())),
            me: inner.me.clone(),
            offline: inner.offline,
            synced_at,
            syncing: inner.syncing,
            error: inner.error.clone(),
            notice: inner.notice.clone(),
        }
    }

    async fn publish(&self) {
        let status = self.status().await;
        (self.sink)(status);
    }

    /// Opens the active profile, or on first start the embedded demo gateway, then syncs.
    /// Failures end in `Phase::Failed` with the error in the status.
    pub async fn start(&self) {
        let profiles = Profiles::load(&self.dirs.config);
        let active = match profiles {
            Ok(p) => p.active().filter(|p| !p.embedded).map(|p| p.id.clone()),
            Err(e) => return self.fail(e).await,
        };
        let opened = match active {
            Some(id) => self.activate(&id).await,
            #[cfg(feature = "embedded-demo")]
            None => self.open_embedded().await,
            #[cfg(not(feature = "embedded-demo"))]
            None => self.open_nothing().await,
        };
        if let Err(e) = opened {
            self.fail(e).await;
        }
    }

    async fn fail(&self, e: CoreError) {
        let mut inner = self.inner.write().await;
        inner.phase = Phase::Failed;
        inner.error = Some(e.to_ipc());
        drop(inner);
        self.publish().await;
    }

    /// Starts the demo gateway in-process and opens its profile.
    #[cfg(feature = "embedded-demo")]
    async fn open_embedded(&self) -> CoreResult<()> {
        let (gateway, token) =
            crate::embedded::start(&self.dirs.data.join("demo-gateway.db")).await?;
        let profile = Profile {
            id: EMBEDDED_PROFILE_ID.into(),
            name: "Demo organisation (on this computer)".into(),
            url: gateway.url(),
            embedded: true,
            ca_pem: None,
            insecure_http: false,
        };
        // The demo token is minted afresh at every start, so the demo works without a keychain
        // too; it is still kept there like any other profile's when one exists.
        if let Err(e) = self.credentials.set(Slot::Token(&profile.id), &token) {
            tracing::warn!(code = e.code(), "demo token kept in memory only");
        }
        Profiles::load(&self.dirs.config)?.put_active(profile.clone())?;
        self.inner.write().await.embedded = Some(gateway);
        self.open_session(profile, Some(token)).await
    }

    /// Without the demo gateway a first start has nothing to open: signed out with no profile,
    /// the console waits for the admin to add a gateway in Settings.
    #[cfg(not(feature = "embedded-demo"))]
    async fn open_nothing(&self) -> CoreResult<()> {
        self.inner.write().await.phase = Phase::SignedOut;
        self.publish().await;
        Ok(())
    }

    /// A demo profile kept from a build with the demo gateway cannot open in one without it.
    #[cfg(not(feature = "embedded-demo"))]
    async fn open_embedded(&self) -> CoreResult<()> {
        Err(CoreError::Embedded(
            "this build has no demo gateway (cargo feature `embedded-demo`)".into(),
        ))
    }

    /// Makes the profile `id` the active one: the demo starts its gateway if it is not running;
    /// any other opens with its credential from the keychain, or signed out without one.
    pub async fn activate(&self, id: &str) -> CoreResult<()> {
        let mut profiles = Profiles::load(&self.dirs.config)?;
        let profile = profiles.get(id)?.clone();
        if profile.embedded && self.inner.read().await.embedded.is_none() {
            return self.open_embedded().await;
        }
        profiles.set_active(id)?;
        let token = if unconsented_plain_http(&profile) {
            // Saved before plain http needed the admin's say-so: the credential stays in the
            // keychain but goes nowhere until the admin allows the insecure connection.
            None
        } else if profile.embedded {
            self.credentials.get(Slot::Token(id)).ok().flatten()
        } else {
            self.credentials.get(Slot::Token(id))?
        };
        self.open_session(profile, token).await
    }

    /// Replaces the session with one for `profile`, then (with a credential) asks who the admin
    /// is and syncs.
    async fn open_session(&self, profile: Profile, token: Option<Secret>) -> CoreResult<()> {
        // The user index is built once the users table has shown its first page (from SQL):
        // built here, it would hold both CPUs while the window draws its first screen.
        let (cache, notice) = self.open_cache(&profile.id).await?;
        let client = token
            .map(|t| AdminClient::with_ca(&profile.url, t, profile.ca_pem.as_deref()))
            .transpose()?;
        {
            let mut inner = self.inner.write().await;
            inner.phase = if client.is_some() {
                Phase::Starting
            } else {
                Phase::SignedOut
            };
            inner.me = None;
            inner.offline = false;
            inner.syncing = None;
            inner.error = None;
            inner.notice = notice;
            inner.session = Some(Session {
                profile,
                client: client.clone(),
                cache,
            });
        }
        self.publish().await;
        let Some(client) = client else {
            return Ok(());
        };
        let me = match client.me().await {
            Ok(me) => Some(me),
            Err(CoreError::Offline { .. }) => None,
            Err(e) if e.is_unauthorized() => {
                self.signed_out_by_gateway(&e).await;
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        {
            let mut inner = self.inner.write().await;
            inner.offline = me.is_none();
            inner.me = me;
            inner.phase = Phase::Ready;
        }
        self.publish().await;
        if let Err(e) = self.sync_now().await {
            tracing::warn!(code = e.code(), "first sync failed");
        }
        Ok(())
    }

    /// The profile's cache, encrypted and sealed with its key from the keychain, and what to
    /// tell the admin about it. A cache whose key is gone (the keychain was reset) or does not
    /// open it is started afresh, and the next sync fills it from the gateway.
    async fn open_cache(&self, profile_id: &str) -> CoreResult<(Cache, Option<String>)> {
        let path = self.cache_path(profile_id);
        let existed = path.exists();
        let seal = match self.credentials.get(Slot::CacheKey(profile_id)) {
            Ok(Some(text)) => Some(Seal::from_text(&text)?),
            _ => None,
        };
        if let Some(seal) = seal {
            match Cache::open(&path, seal).await {
                Err(CoreError::CacheUnreadable) => {
                    tracing::warn!("the cache does not open with its key; starting it afresh");
                }
                opened => return opened.map(|cache| (cache, None)),
            }
        }
        let (seal, text) = Seal::generate();
        if let Err(e) = self.credentials.set(Slot::CacheKey(profile_id), &text) {
            // Only the demo gets here without a keychain (a real profile's token needs one):
            // its cache lives for this run.
            tracing::warn!(code = e.code(), "cache key kept in memory only");
        }
        remove_cache_files(&path)?;
        let notice = existed.then(|| {
            "This computer's key to the local cache was missing or did not fit, so the cache \
             was started afresh; it fills again from the gateway."
                .to_owned()
        });
        Ok((Cache::open(&path, seal).await?, notice))
    }

    fn cache_path(&self, profile_id: &str) -> PathBuf {
        self.dirs
            .data
            .join("cache")
            .join(format!("{profile_id}.sqlite"))
    }

    /// Every profile, with whether the keychain holds its credential.
    pub async fn profiles(&self) -> CoreResult<Vec<ProfileSummary>> {
        let profiles = Profiles::load(&self.dirs.config)?;
        Ok(profiles
            .all()
            .iter()
            .map(|p| {
                // An unusable keychain shows as signed out here; signing in says what is wrong.
                let signed_in =
                    p.embedded || matches!(self.credentials.get(Slot::Token(&p.id)), Ok(Some(_)));
                p.summary(signed_in)
            })
            .collect())
    }

    /// Adds a profile for a gateway; sign in to it next.
    pub async fn add_profile(&self, input: ProfileInput) -> CoreResult<ProfileSummary> {
        let profile = checked_profile(uuid::Uuid::now_v7().simple().to_string(), input, None)?;
        Profiles::load(&self.dirs.config)?.put(profile.clone())?;
        Ok(profile.summary(false))
    }

    /// Changes a profile's name, URL or CA. The credential was given for one gateway, reached
    /// and trusted one way: a new address or CA deletes it, so it is never sent anywhere else,
    /// and the profile stays signed out until the admin signs in again. A new address also
    /// starts the cache afresh, since what it holds came from another gateway and syncing on
    /// from its revision would mix the two; a new CA alone keeps it, as signing out does (the
    /// address, and so the gateway the data came from, is the same).
    pub async fn edit_profile(&self, id: &str, input: ProfileInput) -> CoreResult<ProfileSummary> {
        let mut profiles = Profiles::load(&self.dirs.config)?;
        let existing = profiles.get(id)?.clone();
        if existing.embedded {
            return Err(CoreError::Invalid(
                "the demo profile cannot be edited".into(),
            ));
        }
        let profile = checked_profile(existing.id.clone(), input, existing.ca_pem.clone())?;
        let moved = !same_address(&existing.url, &profile.url);
        if !moved && existing.ca_pem == profile.ca_pem {
            profiles.put(profile.clone())?;
            let signed_in = self.credentials.get(Slot::Token(id))?.is_some();
            let mut inner = self.inner.write().await;
            if let Some(session) = inner.session.as_mut().filter(|s| s.profile.id == id) {
                session.profile = profile.clone();
            }
            drop(inner);
            self.publish().await;
            return Ok(profile.summary(signed_in));
        }
        // Gone before the new address is saved: a failure after this leaves the profile signed
        // out, never its credential beside an address it was not given for.
        self.credentials.delete(Slot::Token(id))?;
        // No sync may still use (or write to the cache of) the session closed here.
        let _one_at_a_time = self.sync_lock.lock().await;
        profiles.put(profile.clone())?;
        let open = {
            let mut inner = self.inner.write().await;
            let active = inner.session.as_ref().is_some_and(|s| s.profile.id == id);
            active.then(|| inner.session.take()).flatten()
        };
        if let Some(session) = &open {
            session.cache.close().await;
        }
        if moved {
            self.credentials.delete(Slot::CacheKey(id))?;
            remove_cache_files(&self.cache_path(id))?;
        }
        if open.is_some() {
            self.open_session(profile.clone(), None).await?;
        }
        Ok(profile.summary(false))
    }

    /// Removes a profile with its credential, its cache key and its cache.
    pub async fn remove_profile(&self, id: &str) -> CoreResult<()> {
        let mut profiles = Profiles::load(&self.dirs.config)?;
        if profiles.get(id)?.embedded {
            return Err(CoreError::Invalid(
                "the demo profile cannot be removed".into(),
            ));
        }
        self.credentials.delete(Slot::Token(id))?;
        self.credentials.delete(Slot::CacheKey(id))?;
        let closed = {
            let mut inner = self.inner.write().await;
            let active = inner.session.as_ref().is_some_and(|s| s.profile.id == id);
            if active {
                let session = inner.session.take().expect("checked above");
                session.cache.close().await;
                inner.me = None;
                inner.offline = false;
                inner.phase = Phase::SignedOut;
            }
            active
        };
        profiles.remove(id)?;
        remove_cache_files(&self.cache_path(id))?;
        if closed {
            self.publish().await;
        }
        Ok(())
    }

    /// Signs in to the profile `id` with a password or a token, keeps the credential in the
    /// keychain (and nowhere else), and opens the profile.
    pub async fn sign_in(&self, id: &str, how: SignIn) -> CoreResult<AppStatus> {
        let profile = self.profile_to_sign_in(id)?;
        let token = match how {
            SignIn::Token { token } => {
                let token = Secret::new(token.expose().trim());
                if token.expose().is_empty() {
                    return Err(CoreError::Invalid("paste a token to sign in".into()));
                }
                token
            }
            SignIn::Password { email, password } => {
                AdminClient::login(
                    &profile.url,
                    email.trim(),
                    &password,
                    profile.ca_pem.as_deref(),
                )
                .await?
                .token
            }
        };
        self.keep_token(&profile, token).await
    }

    /// Signs in to the profile `id` with the organisation's identity provider in the system
    /// `browser` (see [`crate::sso`]), then keeps the session exactly as [`Self::sign_in`] does.
    /// Waits for the browser until [`Self::cancel_sso`], another single sign-on starting, or the
    /// wait set by [`Self::with_sso_wait`].
    pub async fn sign_in_sso(
        &self,
        id: &str,
        provider: SignInProvider,
        browser: &dyn Browser,
    ) -> CoreResult<AppStatus> {
        let profile = self.profile_to_sign_in(id)?;
        let number = self.sso_started.fetch_add(1, Ordering::Relaxed);
        let (cancel, cancelled) = oneshot::channel();
        // A sign-in still waiting is cancelled by dropping its sender here: only one browser
        // leg at a time, as the UI shows one.
        *self.sso_cancel.lock().expect("not poisoned") = Some((number, cancel));
        let granted =
            crate::sso::authorize(&profile.url, provider, browser, self.sso_wait, async {
                let _ = cancelled.await;
            })
            .await;
        {
            let mut current = self.sso_cancel.lock().expect("not poisoned");
            if current.as_ref().is_some_and(|(n, _)| *n == number) {
                *current = None;
            }
        }
        let granted = granted?;
        let session = AdminClient::sso_token(
            &profile.url,
            &granted.code,
            &granted.verifier,
            profile.ca_pem.as_deref(),
        )
        .await?;
        self.keep_token(&profile, session.token).await
    }

    /// The identity providers the gateway of profile `id` lets console users sign in with, for
    /// the sign-in form to offer (none when it has no single sign-on, or is out of reach).
    pub async fn sso_providers(&self, id: &str) -> CoreResult<Vec<gatehouse_api::SsoProvider>> {
        let profile = self.profile_to_sign_in(id)?;
        AdminClient::sso_providers(&profile.url, profile.ca_pem.as_deref()).await
    }

    /// Ends a single sign-on waiting for the browser, if one is; it fails as cancelled.
    pub fn cancel_sso(&self) {
        if let Some((_, cancel)) = self.sso_cancel.lock().expect("not poisoned").take() {
            let _ = cancel.send(());
        }
    }

    /// The profile `id`, when it is one the admin signs in to.
    fn profile_to_sign_in(&self, id: &str) -> CoreResult<Profile> {
        let profile = Profiles::load(&self.dirs.config)?.get(id)?.clone();
        if profile.embedded {
            return Err(CoreError::Invalid(
                "the demo profile signs itself in".into(),
            ));
        }
        if unconsented_plain_http(&profile) {
            return Err(CoreError::InvalidField {
                field: "url",
                message: "this profile uses plain http:// to another computer, which sends the \
                          password and token unencrypted: edit it to use https://, or allow an \
                          insecure connection"
                    .into(),
            });
        }
        Ok(profile)
    }

    /// Keeps a new session token of `profile` in the keychain, and nowhere else, once the
    /// gateway takes it, and opens the profile with it.
    async fn keep_token(&self, profile: &Profile, token: Secret) -> CoreResult<AppStatus> {
        // A token that does not work is not kept.
        AdminClient::with_ca(&profile.url, token.clone(), profile.ca_pem.as_deref())?
            .me()
            .await?;
        self.credentials.set(Slot::Token(&profile.id), &token)?;
        self.activate(&profile.id).await?;
        Ok(self.status().await)
    }

    /// Deletes the profile's credential from the keychain. The cache stays readable.
    pub async fn sign_out(&self, id: &str) -> CoreResult<()> {
        let profile = Profiles::load(&self.dirs.config)?.get(id)?.clone();
        if profile.embedded {
            return Err(CoreError::Invalid(
                "the demo profile signs itself in".into(),
            ));
        }
        self.credentials.delete(Slot::Token(id))?;
        let mut inner = self.inner.write().await;
        if let Some(session) = inner.session.as_mut().filter(|s| s.profile.id == id) {
            session.client = None;
            inner.phase = Phase::SignedOut;
            inner.me = None;
        }
        drop(inner);
        self.publish().await;
        Ok(())
    }

    /// The gateway refused the credential (revoked, expired): ask for a new one, keep the cache.
    async fn signed_out_by_gateway(&self, e: &CoreError) {
        let mut inner = self.inner.write().await;
        if let Some(session) = inner.session.as_mut() {
            session.client = None;
        }
        inner.phase = Phase::SignedOut;
        inner.error = Some(e.to_ipc());
        drop(inner);
        self.publish().await;
    }

    pub async fn settings(&self) -> Settings {
        self.inner.read().await.settings.clone()
    }

    pub async fn set_settings(&self, settings: Settings) -> CoreResult<Settings> {
        settings.save(&self.dirs.config)?;
        let before = std::mem::replace(&mut self.inner.write().await.settings, settings.clone());
        if before.log_level != settings.log_level
            && let Some(levels) = &self.levels
        {
            levels(settings.log_level);
        }
        self.wake.notify_one();
        Ok(settings)
    }

    async fn session_parts(&self) -> CoreResult<(Option<AdminClient>, Cache, String)> {
        let inner = self.inner.read().await;
        let session = inner.session.as_ref().ok_or(CoreError::NoProfile)?;
        Ok((
            session.client.clone(),
            session.cache.clone(),
            session.profile.id.clone(),
        ))
    }

    /// The active profile's cache, for reads; it answers offline too.
    pub async fn cache(&self) -> CoreResult<Cache> {
        Ok(self.session_parts().await?.1)
    }

    /// The open profile's cache: its size on disk and when it last synced.
    pub async fn cache_info(&self) -> CoreResult<CacheInfo> {
        let inner = self.inner.read().await;
        let session = inner.session.as_ref().ok_or(CoreError::NoProfile)?;
        let bytes = cache_files(&self.cache_path(&session.profile.id))
            .filter_map(|file| std::fs::metadata(file).ok())
            .map(|m| m.len())
            .sum();
        Ok(CacheInfo {
            profile_name: session.profile.name.clone(),
            bytes,
            synced_at: session.cache.sync_state().await?.1,
        })
    }

    /// Empties the open profile's cache and fills it anew with a full sync. It needs the
    /// gateway: offline (or signed out) it refuses, since a cleared cache would leave nothing
    /// to read until the gateway is back.
    pub async fn clear_cache(&self) -> CoreResult<CacheInfo> {
        {
            // Not while a sync writes to the cache being emptied.
            let _one_at_a_time = self.sync_lock.lock().await;
            let inner = self.inner.write().await;
            let offline = inner.offline;
            let session = inner.session.as_ref().ok_or(CoreError::NoProfile)?;
            let client = session.client.as_ref().ok_or(CoreError::SignedOut)?;
            if offline {
                self.wake.notify_one();
                return Err(CoreError::Offline {
                    url: client.base_url().trim_end_matches('/').to_owned(),
                });
            }
            session.cache.clear().await?;
        }
        self.publish().await;
        self.sync_now().await?;
        self.cache_info().await
    }

    async fn is_current(&self, profile_id: &str) -> bool {
        let inner = self.inner.read().await;
        inner
            .session
            .as_ref()
            .is_some_and(|s| s.profile.id == profile_id)
    }

    /// Syncs the cache now, publishing progress; marks the console offline when the gateway
    /// does not answer, and online again when it does.
    pub async fn sync_now(&self) -> CoreResult<SyncReport> {
        let _one_at_a_time = self.sync_lock.lock().await;
        let (client, cache, profile_id) = self.session_parts().await?;
        let client = client.ok_or(CoreError::SignedOut)?;
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
        match &result {
            Ok(r) if r.applied > 0 => {
                tracing::info!(applied = r.applied, revision = r.revision, "synced")
            }
            Ok(r) => tracing::debug!(revision = r.revision, "synced; nothing new"),
            Err(e) => tracing::info!(code = e.code(), "sync failed"),
        }
        // The profile may have changed while this one synced: its state is not ours to set.
        if !self.is_current(&profile_id).await {
            return result;
        }
        if result.as_ref().is_ok_and(|r| r.applied > 0) {
            cache.warm_user_index();
        }
        // A short sync can finish within one poll, before its progress was read: show where it
        // got to before showing it done.
        if let Some(last) = std::iter::from_fn(|| progress_rx.try_recv().ok()).last() {
            self.inner.write().await.syncing = Some(last);
            self.publish().await;
        }
        let (came_back, went_away) = {
            let mut inner = self.inner.write().await;
            inner.syncing = None;
            let was_offline = inner.offline;
            inner.offline = matches!(result, Err(CoreError::Offline { .. }));
            (was_offline && !inner.offline, !was_offline && inner.offline)
        };
        if went_away {
            // The background loop may be asleep for a whole sync interval: from now on it
            // should look for the gateway every few seconds.
            self.wake.notify_one();
        }
        if came_back && let Some(client) = self.session_parts().await?.0 {
            // Whoever signed in may have changed role while we were away.
            if let Ok(me) = client.me().await {
                self.inner.write().await.me = Some(me);
            }
        }
        match &result {
            Err(e) if e.is_unauthorized() => self.signed_out_by_gateway(e).await,
            _ => self.publish().await,
        }
        result
    }

    /// Runs one change against the gateway, then syncs so the cache shows it at once. Offline it
    /// fails fast with `offline` (and asks the background loop to look for the gateway now).
    pub async fn change<T, F, Fut>(&self, call: F) -> CoreResult<T>
    where
        F: FnOnce(AdminClient) -> Fut,
        Fut: Future<Output = CoreResult<T>>,
    {
        let value = self.online(call).await?;
        if let Err(e) = self.sync_now().await {
            tracing::warn!(code = e.code(), "sync after a change failed");
        }
        Ok(value)
    }

    /// Runs one call against the gateway without syncing after it. Offline it fails fast with
    /// `offline`; a call that finds the gateway away, or the session ended, says so in the status.
    async fn online<T, F, Fut>(&self, call: F) -> CoreResult<T>
    where
        F: FnOnce(AdminClient) -> Fut,
        Fut: Future<Output = CoreResult<T>>,
    {
        let (client, _, _) = self.session_parts().await?;
        let client = client.ok_or(CoreError::SignedOut)?;
        if self.inner.read().await.offline {
            self.wake.notify_one();
            return Err(CoreError::Offline {
                url: client.base_url().trim_end_matches('/').to_owned(),
            });
        }
        let result = call(client).await;
        if let Err(e) = &result {
            if matches!(e, CoreError::Offline { .. }) {
                self.inner.write().await.offline = true;
                self.publish().await;
            } else if e.is_unauthorized() {
                self.signed_out_by_gateway(e).await;
            }
        }
        result
    }

    /// Runs one of the app's changes (see [`Change`]) and syncs.
    pub async fn apply(&self, change: Change) -> CoreResult<Applied> {
        self.change(|client| async move { change.run(&client).await })
            .await
    }

    /// Syncs in the background for as long as the console lives: every `sync_interval_secs`,
    /// and while offline every few seconds, so sync resumes by itself when the gateway is back.
    pub async fn run_background_sync(self: Arc<Self>) {
        loop {
            let (interval, offline, ready) = {
                let inner = self.inner.read().await;
                (
                    inner.settings.sync_interval_secs,
                    inner.offline,
                    inner.phase == Phase::Ready,
                )
            };
            let wait = match (interval, offline) {
                (0, false) => None,
                (0, true) => Some(OFFLINE_PROBE),
                (secs, false) => Some(Duration::from_secs(secs.into())),
                (secs, true) => Some(Duration::from_secs(secs.into()).min(OFFLINE_PROBE)),
            };
            let woken = match wait {
                Some(wait) => tokio::select! {
                    () = tokio::time::sleep(wait) => false,
                    () = self.wake.notified() => true,
                },
                None => {
                    self.wake.notified().await;
                    true
                }
            };
            // A settings change only re-arms the timer; an offline change asks for a probe.
            let probe = !woken || self.inner.read().await.offline;
            if ready && probe {
                match self.sync_now().await {
                    Ok(_) | Err(CoreError::Offline { .. } | CoreError::SignedOut) => {}
                    Err(e) => tracing::warn!(code = e.code(), "background sync failed"),
                }
            }
        }
    }

    /// The SCIM tokens, asked of the gateway each time: the sync feed does not carry them, so
    /// there is no cached copy and offline this fails with `offline`.
    pub async fn scim_tokens(&self) -> CoreResult<Vec<ScimToken>> {
        self.online(|client| async move { client.scim_tokens().await })
            .await
    }

    /// The org's single sign-on settings, asked of the gateway each time like the SCIM tokens:
    /// the sync feed does not carry them, so offline this fails with `offline`.
    pub async fn identity_settings(&self) -> CoreResult<IdentitySettings> {
        self.online(|client| async move { client.identity_settings().await })
            .await
    }

    /// The notification channels, asked of the gateway each time (the sync feed does not carry
    /// them): offline this fails with `offline`.
    pub async fn channels(&self) -> CoreResult<Vec<Channel>> {
        self.online(|client| async move { client.channels().await })
            .await
    }

    /// A channel's delivery log, from the gateway.
    pub async fn channel_deliveries(&self, id: &str) -> CoreResult<Vec<DeliveryAttempt>> {
        let id = id.to_owned();
        self.online(|client| async move { client.channel_deliveries(&id).await })
            .await
    }

    /// The gateway's audit export of the entries matching `filter` (its paging aside) in
    /// `format`, into the file at `path`; the bytes written. The whole log, not only the cached
    /// part, so it needs the gateway.
    pub async fn export_audit(
        &self,
        filter: &AuditFilter,
        format: AuditExportFormat,
        path: &std::path::Path,
    ) -> CoreResult<u64> {
        let q = AuditExportQuery {
            format: Some(format),
            actor_id: filter.actor_id.clone(),
            target_id: filter.target_id.clone(),
            action: filter.action.clone(),
            category: filter.category.clone(),
            from: filter.from,
            // The filter's end is exclusive, the gateway's inclusive (to the millisecond).
            to: filter.to.map(|t| t - chrono::Duration::milliseconds(1)),
        };
        let path = path.to_owned();
        self.online(|client| async move { client.export_audit_to_file(&q, &path).await })
            .await
    }

    /// The cached users matching `filter`.
    pub async fn users(&self, filter: &UserFilter) -> CoreResult<UserRows> {
        self.cache().await?.users(filter).await
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

/// A profile from what the admin entered, or which field is wrong and why. `current_ca` is the
/// CA the profile has: an input without `ca_pem` keeps it, an empty one removes it.
fn checked_profile(
    id: String,
    input: ProfileInput,
    current_ca: Option<String>,
) -> CoreResult<Profile> {
    let invalid = |field, message: String| CoreError::InvalidField { field, message };
    let name = input.name.trim();
    if name.is_empty() {
        return Err(invalid("name", "give the profile a name".into()));
    }
    let url = input.url.trim();
    let parsed =
        url::Url::parse(url).map_err(|_| invalid("url", format!("{url:?} is not a URL")))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
        return Err(invalid(
            "url",
            "the gateway URL must start with https:// (or http://) and name a host".into(),
        ));
    }
    // Plain http carries the password and the token readable to anyone on the way; only the
    // way to this computer has nobody on it, unless the admin says otherwise.
    let insecure_http = parsed.scheme() == "http" && !is_loopback(&parsed);
    if insecure_http && !input.insecure_http {
        return Err(invalid(
            "url",
            "http:// sends the password and token unencrypted, so it is only for this computer \
             (localhost, 127.0.0.1 or ::1): use https://, or allow an insecure connection"
                .into(),
        ));
    }
    let ca_pem = match input.ca_pem {
        None => current_ca,
        Some(pem) => Some(pem.trim().to_owned()).filter(|pem| !pem.is_empty()),
    };
    if let Some(pem) = &ca_pem {
        // A client built with it proves the PEM holds certificates.
        AdminClient::with_ca(url, Secret::new(""), Some(pem)).map_err(|e| match e {
            CoreError::Invalid(message) => invalid("ca_pem", message),
            other => other,
        })?;
    }
    Ok(Profile {
        id,
        name: name.to_owned(),
        url: url.trim_end_matches('/').to_owned() + "/",
        embedded: false,
        ca_pem,
        insecure_http,
    })
}

/// Whether `profile` talks plain http to another computer without the admin having allowed it:
/// only a profiles file from before that choice existed (or edited by hand) holds one.
fn unconsented_plain_http(profile: &Profile) -> bool {
    !profile.embedded
        && !profile.insecure_http
        && url::Url::parse(&profile.url).is_ok_and(|u| u.scheme() == "http" && !is_loopback(&u))
}

/// Whether `url` names this computer: `localhost`, 127.0.0.0/8 or ::1.
fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Whether two stored gateway URLs reach the same place, however they were written (case of
/// the host, a default port).
fn same_address(a: &str, b: &str) -> bool {
    match (url::Url::parse(a), url::Url::parse(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// Removes a cache database with its WAL and shared-memory files.
/// The database file of a cache and the files SQLite keeps beside it.
fn cache_files(path: &std::path::Path) -> impl Iterator<Item = std::ffi::OsString> + '_ {
    ["", "-wal", "-shm"].into_iter().map(|suffix| {
        let mut file = path.as_os_str().to_owned();
        file.push(suffix);
        file
    })
}

fn remove_cache_files(path: &std::path::Path) -> CoreResult<()> {
    for file in cache_files(path) {
        match std::fs::remove_file(&file) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}
