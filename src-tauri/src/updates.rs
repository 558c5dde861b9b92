//! Signed updates through tauri-plugin-updater: check, download with progress (the plugin
//! verifies the signature against the public key in tauri.conf.json), install. The release found
//! by a check and the verified bytes of its download wait here until the next step.
//!
//! Where to look is a build-time setting, [`BUILD_ENDPOINT`]: a release build is made with it, a
//! developer's build without, and then does not look at all (nor log a failure for it).

use gatehouse_core::ipc::{IpcError, UpdateInfo, UpdateProgress};
use gatehouse_core::settings::Settings;
use tauri::{AppHandle, Emitter, Manager, Runtime};
use tauri_plugin_updater::{Error, Update, Updater, UpdaterExt};
use tokio::sync::Mutex;

/// Name of the event that carries each [`UpdateProgress`] to the UI.
pub const PROGRESS_EVENT: &str = "update-progress";

/// Name of the event that tells the UI what each check found (an `UpdateInfo` or `null`), so
/// that a check at start can show its result once the UI is up.
pub const FOUND_EVENT: &str = "update-found";

/// The update manifest's URL this build looks at (`GATEHOUSE_UPDATE_ENDPOINT` when it was
/// built; the release workflow sets it). The updater's configuration may name endpoints too.
pub const BUILD_ENDPOINT: Option<&str> = option_env!("GATEHOUSE_UPDATE_ENDPOINT");

/// Bytes between two progress events when the size is not known.
const PROGRESS_STEP: u64 = 256 * 1024;

/// The update the last check found, and its download once verified.
#[derive(Default)]
pub struct Updates {
    found: Mutex<Option<Update>>,
    downloaded: Mutex<Option<(String, Vec<u8>)>>,
}

impl Updates {
    /// Asks the update server for a newer version; remembers it for [`Self::download`].
    pub async fn check<R: Runtime>(
        &self,
        app: &AppHandle<R>,
    ) -> Result<Option<UpdateInfo>, IpcError> {
        *self.downloaded.lock().await = None;
        let Some(updater) = updater(app)? else {
            return Err(IpcError {
                code: "updates_not_configured".into(),
                message: "This build of Gatehouse has no update server set, so it cannot look for \
                          updates. Builds from a release can."
                    .into(),
                fields: None,
            });
        };
        let update = updater.check().await.map_err(|e| to_ipc(&e))?;
        let info = update.as_ref().map(info);
        match &info {
            Some(i) => tracing::info!(version = %i.version, "an update is available"),
            None => tracing::info!("no update available"),
        }
        *self.found.lock().await = update;
        if let Err(e) = app.emit(FOUND_EVENT, &info) {
            tracing::warn!(error = %e, "could not emit the update found");
        }
        Ok(info)
    }

    /// The update the last check found, without asking the server again.
    pub async fn found(&self) -> Option<UpdateInfo> {
        self.found.lock().await.as_ref().map(info)
    }

    /// Downloads the update the last check found, emitting [`PROGRESS_EVENT`]s, and keeps it
    /// once its signature is verified. A download that fails verification is dropped.
    pub async fn download<R: Runtime>(&self, app: &AppHandle<R>) -> Result<UpdateInfo, IpcError> {
        *self.downloaded.lock().await = None;
        let Some(update) = self.found.lock().await.clone() else {
            return Err(nothing_found());
        };
        let bytes = download(app, &update).await?;
        *self.downloaded.lock().await = Some((update.version.clone(), bytes));
        Ok(info(&update))
    }

    /// Installs the downloaded update over the running app; a restart starts the new version.
    pub async fn install(&self) -> Result<(), IpcError> {
        let found = self.found.lock().await.clone();
        let downloaded = self.downloaded.lock().await.take();
        match (found, downloaded) {
            (Some(update), Some((version, bytes))) if update.version == version => {
                install(&update, &bytes)
            }
            _ => Err(IpcError {
                code: "update_not_downloaded".into(),
                message: "Download the update before installing it.".into(),
                fields: None,
            }),
        }
    }
}

/// The check at start, when the settings ask for it and the build has somewhere to look. What it
/// finds waits for Settings → Updates (`available_update`); a failure is only logged.
pub async fn check_at_start<R: Runtime>(app: &AppHandle<R>, settings: &Settings) {
    if !settings.check_updates_at_start {
        return;
    }
    match updater(app) {
        Ok(Some(_)) => {
            let _ = app.state::<Updates>().check(app).await;
        }
        Ok(None) => tracing::info!("this build has no update endpoint; not looking for updates"),
        Err(e) => tracing::warn!(code = %e.code, "the update check at start could not begin"),
    }
}

/// The updater for [`BUILD_ENDPOINT`] or the configured endpoints; none when neither names one.
fn updater<R: Runtime>(app: &AppHandle<R>) -> Result<Option<Updater>, IpcError> {
    let mut builder = app.updater_builder();
    if let Some(endpoint) = BUILD_ENDPOINT {
        let url = endpoint.parse().map_err(|_| IpcError {
            code: "update_endpoint".into(),
            message: "This build's update server address is not a URL.".into(),
            fields: None,
        })?;
        builder = builder.endpoints(vec![url]).map_err(|e| to_ipc(&e))?;
    }
    match builder.build() {
        Ok(updater) => Ok(Some(updater)),
        Err(Error::EmptyEndpoints) => Ok(None),
        Err(e) => Err(to_ipc(&e)),
    }
}

/// Downloads `update`, emitting [`PROGRESS_EVENT`]s; the plugin checks the signature.
pub async fn download<R: Runtime>(
    app: &AppHandle<R>,
    update: &Update,
) -> Result<Vec<u8>, IpcError> {
    let mut received = 0u64;
    let mut reported = 0u64;
    let emit = |progress: UpdateProgress| {
        if let Err(e) = app.emit(PROGRESS_EVENT, progress) {
            tracing::warn!(error = %e, "could not emit update progress");
        }
    };
    tracing::info!(version = %update.version, url = %update.download_url, "downloading an update");
    let bytes = update
        .download(
            |chunk, total| {
                received += chunk as u64;
                let step = total.map_or(PROGRESS_STEP, |t| (t / 100).max(1));
                if received - reported >= step || Some(received) == total {
                    reported = received;
                    emit(UpdateProgress::Downloading { received, total });
                }
            },
            || {},
        )
        .await
        .map_err(|e| to_ipc(&e))?;
    tracing::info!(version = %update.version, bytes = bytes.len(), "update downloaded and its signature verified");
    emit(UpdateProgress::Verified);
    Ok(bytes)
}

/// Installs verified bytes of `update` (the plugin verifies them once more first).
pub fn install(update: &Update, bytes: &[u8]) -> Result<(), IpcError> {
    update.install(bytes).map_err(|e| to_ipc(&e))?;
    tracing::info!(version = %update.version, "update installed; it runs after a restart");
    Ok(())
}

fn info(update: &Update) -> UpdateInfo {
    UpdateInfo {
        version: update.version.clone(),
        current_version: update.current_version.clone(),
        notes: update.body.clone(),
        date: update.raw_json["pub_date"].as_str().map(str::to_owned),
    }
}

fn nothing_found() -> IpcError {
    IpcError {
        code: "no_update".into(),
        message: "No update to download: check for updates first.".into(),
        fields: None,
    }
}

/// What a person is told when the updater fails; the details go to the log.
pub fn to_ipc(e: &Error) -> IpcError {
    tracing::warn!(error = %e, "updater failed");
    let (code, message) = match e {
        Error::Minisign(minisign_verify::Error::UnexpectedKeyId) => (
            "update_signature",
            "The update is signed with a key this app does not trust, so it was not installed."
                .to_owned(),
        ),
        Error::Minisign(_) | Error::Base64(_) | Error::SignatureUtf8(_) => (
            "update_signature",
            "The downloaded update does not match its signature (it may have been altered on \
             the way), so it was not installed."
                .to_owned(),
        ),
        Error::SignedVersionMismatch { signed, announced } => (
            "update_signature",
            format!(
                "The update server announced version {announced}, but the download is signed \
                 as version {signed}, so it was not installed."
            ),
        ),
        Error::MissingSignedVersion => (
            "update_signature",
            "The update's signature does not say which version it is, so it was not installed."
                .to_owned(),
        ),
        Error::TargetNotFound(_) | Error::TargetsNotFound(_) => (
            "update_unavailable",
            "The update server offers no version of the app for this system.".to_owned(),
        ),
        Error::InsecureTransportProtocol | Error::EmptyEndpoints => (
            "update_config",
            "This build of the app has no usable update server configured.".to_owned(),
        ),
        Error::InvalidUpdaterFormat | Error::BinaryNotFoundInArchive => (
            "update_install",
            "The downloaded update is not a package this installation can use.".to_owned(),
        ),
        Error::AuthenticationFailed => (
            "update_install",
            "Installing the update needs an administrator's permission, which was not given."
                .to_owned(),
        ),
        Error::Reqwest(_) | Error::Network(_) | Error::ReleaseNotFound => (
            "update_unreachable",
            "The update server could not be reached or gave no usable answer; try again later."
                .to_owned(),
        ),
        Error::Serialization(_) | Error::Semver(_) | Error::UrlParse(_) => (
            "update_unreachable",
            "The update server's answer is not a valid update manifest.".to_owned(),
        ),
        _ => (
            "update_install",
            "The update could not be installed; see the log for details.".to_owned(),
        ),
    };
    IpcError {
        code: code.into(),
        message,
        fields: None,
    }
}
