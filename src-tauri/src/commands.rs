//! The commands the UI invokes (as `plugin:console|<name>`). Each takes the state and its
//! arguments, calls one core function and maps the error.

use gatehouse_api::Secret;
use gatehouse_core::cache::Cache;
use gatehouse_core::changes::{Change, Changed};
use std::path::PathBuf;

use gatehouse_api::{
    AuditExportFormat, Channel, DeliveryAttempt, IdentitySettings, Model, ScimToken,
};
use gatehouse_core::ipc::{
    AccessProfiles, AppStatus, AuditFilter, AuditRows, BudgetStatus, BulkPreviewItem, CacheInfo,
    GroupMemberRow, GroupPolicy, GroupRow, InvitationFilter, InvitationRows, IpcError, LogInfo,
    Overview, ProfileInput, ProfileSummary, SignIn, SignInProvider, SpendSubject, SyncReport,
    UpdateInfo, UsageChart, UsageFilter, UserDetail, UserFilter, UserRows, WorkspaceRow,
};
use gatehouse_core::settings::Settings;
use gatehouse_core::sso::Browser;
use tauri::{AppHandle, Runtime, State};
use tauri_plugin_clipboard_manager::ClipboardExt;
use tauri_plugin_dialog::DialogExt;
use tauri_plugin_opener::OpenerExt;

use crate::AppState;
use crate::updates::Updates;

#[tauri::command]
pub async fn app_status(state: State<'_, AppState>) -> Result<AppStatus, IpcError> {
    Ok(state.console.status().await)
}

#[tauri::command]
pub async fn list_users(
    state: State<'_, AppState>,
    filter: UserFilter,
) -> Result<UserRows, IpcError> {
    state.console.users(&filter).await.map_err(|e| e.to_ipc())
}

#[tauri::command]
pub async fn sync_now(state: State<'_, AppState>) -> Result<SyncReport, IpcError> {
    state.console.sync_now().await.map_err(|e| e.to_ipc())
}

#[tauri::command]
pub async fn list_profiles(state: State<'_, AppState>) -> Result<Vec<ProfileSummary>, IpcError> {
    state.console.profiles().await.map_err(|e| e.to_ipc())
}

#[tauri::command]
pub async fn add_profile(
    state: State<'_, AppState>,
    input: ProfileInput,
) -> Result<ProfileSummary, IpcError> {
    state
        .console
        .add_profile(input)
        .await
        .map_err(|e| e.to_ipc())
}

#[tauri::command]
pub async fn edit_profile(
    state: State<'_, AppState>,
    id: String,
    input: ProfileInput,
) -> Result<ProfileSummary, IpcError> {
    state
        .console
        .edit_profile(&id, input)
        .await
        .map_err(|e| e.to_ipc())
}

#[tauri::command]
pub async fn remove_profile(state: State<'_, AppState>, id: String) -> Result<(), IpcError> {
    state
        .console
        .remove_profile(&id)
        .await
        .map_err(|e| e.to_ipc())
}

#[tauri::command]
pub async fn activate_profile(state: State<'_, AppState>, id: String) -> Result<(), IpcError> {
    state.console.activate(&id).await.map_err(|e| e.to_ipc())
}

#[tauri::command]
pub async fn sign_in(
    state: State<'_, AppState>,
    id: String,
    how: SignIn,
) -> Result<AppStatus, IpcError> {
    state
        .console
        .sign_in(&id, how)
        .await
        .map_err(|e| e.to_ipc())
}

#[tauri::command]
pub async fn sign_in_sso<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    id: String,
    provider: SignInProvider,
) -> Result<AppStatus, IpcError> {
    state
        .console
        .sign_in_sso(&id, provider, &SystemBrowser(app))
        .await
        .map_err(|e| e.to_ipc())
}

#[tauri::command]
pub async fn list_sso_providers(
    state: State<'_, AppState>,
    id: String,
) -> Result<Vec<gatehouse_api::SsoProvider>, IpcError> {
    state
        .console
        .sso_providers(&id)
        .await
        .map_err(|e| e.to_ipc())
}

#[tauri::command]
pub fn cancel_sso(state: State<'_, AppState>) {
    state.console.cancel_sso();
}

/// The OS default browser, where the admin's provider session and password manager are.
struct SystemBrowser<R: Runtime>(AppHandle<R>);

impl<R: Runtime> Browser for SystemBrowser<R> {
    fn open(&self, url: &str) -> Result<(), String> {
        self.0
            .opener()
            .open_url(url, None::<&str>)
            .map_err(|e| e.to_string())
    }
}

#[tauri::command]
pub async fn sign_out(state: State<'_, AppState>, id: String) -> Result<(), IpcError> {
    state.console.sign_out(&id).await.map_err(|e| e.to_ipc())
}

#[tauri::command]
pub async fn get_settings(state: State<'_, AppState>) -> Result<Settings, IpcError> {
    Ok(state.console.settings().await)
}

/// Saves the settings, and shows a new theme at once.
#[tauri::command]
pub async fn set_settings<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    settings: Settings,
) -> Result<Settings, IpcError> {
    let before = state.console.settings().await.theme;
    let saved = state
        .console
        .set_settings(settings)
        .await
        .map_err(|e| e.to_ipc())?;
    if saved.theme != before {
        crate::apply_theme(&app, saved.theme);
    }
    Ok(saved)
}

#[tauri::command]
pub async fn cache_info(state: State<'_, AppState>) -> Result<CacheInfo, IpcError> {
    state.console.cache_info().await.map_err(|e| e.to_ipc())
}

#[tauri::command]
pub async fn clear_cache(state: State<'_, AppState>) -> Result<CacheInfo, IpcError> {
    state.console.clear_cache().await.map_err(|e| e.to_ipc())
}

/// Runs one change through the gateway. A secret it produces (a new API key, token or SCIM token, an
/// invitation's link) goes to the clipboard from here and never to the web view.
#[tauri::command]
pub async fn apply_change<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    change: Change,
) -> Result<Changed, IpcError> {
    let applied = state.console.apply(change).await.map_err(|e| e.to_ipc())?;
    if let Some(secret) = applied.secret {
        copy(&app, &secret)?;
    }
    Ok(applied.changed)
}

/// Puts `secret` on the clipboard.
fn copy<R: Runtime>(app: &AppHandle<R>, secret: &Secret) -> Result<(), IpcError> {
    app.clipboard()
        .write_text(secret.expose().to_owned())
        .map_err(|e| {
            tracing::error!(error = %e, "clipboard refused the text");
            IpcError {
                code: "clipboard".into(),
                message: "The clipboard could not be written; see the log for details.".into(),
                fields: None,
            }
        })
}

/// The SCIM tokens, from the gateway (never their secrets): they are not cached, so offline this
/// fails.
#[tauri::command]
pub async fn list_scim_tokens(state: State<'_, AppState>) -> Result<Vec<ScimToken>, IpcError> {
    state.console.scim_tokens().await.map_err(|e| e.to_ipc())
}

/// The org's single sign-on settings, from the gateway: they are not cached, so offline this
/// fails.
#[tauri::command]
pub async fn get_identity_settings(
    state: State<'_, AppState>,
) -> Result<IdentitySettings, IpcError> {
    state
        .console
        .identity_settings()
        .await
        .map_err(|e| e.to_ipc())
}

/// The app's version, for Settings → About.
#[tauri::command]
pub fn app_version<R: Runtime>(app: AppHandle<R>) -> String {
    app.package_info().version.to_string()
}

#[tauri::command]
pub async fn user_detail(state: State<'_, AppState>, id: String) -> Result<UserDetail, IpcError> {
    cached(&state)
        .await?
        .user_detail(&id)
        .await
        .map_err(|e| e.to_ipc())
}

#[tauri::command]
pub async fn list_invitations(
    state: State<'_, AppState>,
    filter: InvitationFilter,
) -> Result<InvitationRows, IpcError> {
    cached(&state)
        .await?
        .invitations(&filter)
        .await
        .map_err(|e| e.to_ipc())
}

/// Puts an invitation's link on the clipboard, from the cache: it works offline, and the link
/// (the invitee's token) never reaches the web view.
#[tauri::command]
pub async fn copy_invite_link<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    id: String,
) -> Result<(), IpcError> {
    let link = cached(&state)
        .await?
        .invite_link(&id)
        .await
        .map_err(|e| e.to_ipc())?;
    copy(&app, &link)
}

/// Puts the links of invitations `ids` on the clipboard, one `address<TAB>link` line each: "Copy
/// all links" after a bulk invitation.
#[tauri::command]
pub async fn copy_invite_links<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    ids: Vec<String>,
) -> Result<(), IpcError> {
    let links = cached(&state)
        .await?
        .invite_links(&ids)
        .await
        .map_err(|e| e.to_ipc())?;
    copy(&app, &links)
}

/// The categories of the cached audit log's actions, for its filter.
#[tauri::command]
pub async fn audit_categories(state: State<'_, AppState>) -> Result<Vec<String>, IpcError> {
    cached(&state)
        .await?
        .audit_categories()
        .await
        .map_err(|e| e.to_ipc())
}

/// What a bulk invitation of `text` would do with each entry, from the cache.
#[tauri::command]
pub async fn bulk_preview(
    state: State<'_, AppState>,
    text: String,
) -> Result<Vec<BulkPreviewItem>, IpcError> {
    cached(&state)
        .await?
        .bulk_preview(&text)
        .await
        .map_err(|e| e.to_ipc())
}

#[tauri::command]
pub async fn usage_chart(
    state: State<'_, AppState>,
    filter: UsageFilter,
) -> Result<UsageChart, IpcError> {
    cached(&state)
        .await?
        .usage_chart(&filter)
        .await
        .map_err(|e| e.to_ipc())
}

#[tauri::command]
pub async fn budget_status(
    state: State<'_, AppState>,
    subject: SpendSubject,
) -> Result<BudgetStatus, IpcError> {
    cached(&state)
        .await?
        .budget_status(&subject)
        .await
        .map_err(|e| e.to_ipc())
}

#[tauri::command]
pub async fn overview(state: State<'_, AppState>) -> Result<Overview, IpcError> {
    cached(&state)
        .await?
        .overview()
        .await
        .map_err(|e| e.to_ipc())
}

#[tauri::command]
pub async fn list_audit(
    state: State<'_, AppState>,
    filter: AuditFilter,
) -> Result<AuditRows, IpcError> {
    cached(&state)
        .await?
        .audit(&filter)
        .await
        .map_err(|e| e.to_ipc())
}

#[tauri::command]
pub async fn list_workspaces(state: State<'_, AppState>) -> Result<Vec<WorkspaceRow>, IpcError> {
    cached(&state)
        .await?
        .workspaces()
        .await
        .map_err(|e| e.to_ipc())
}

#[tauri::command]
pub async fn list_groups(state: State<'_, AppState>) -> Result<Vec<GroupRow>, IpcError> {
    cached(&state).await?.groups().await.map_err(|e| e.to_ipc())
}

#[tauri::command]
pub async fn list_group_members(
    state: State<'_, AppState>,
    id: String,
) -> Result<Vec<GroupMemberRow>, IpcError> {
    cached(&state)
        .await?
        .group_members(&id)
        .await
        .map_err(|e| e.to_ipc())
}

#[tauri::command]
pub async fn group_policy(state: State<'_, AppState>, id: String) -> Result<GroupPolicy, IpcError> {
    cached(&state)
        .await?
        .group_policy(&id)
        .await
        .map_err(|e| e.to_ipc())
}

#[tauri::command]
pub async fn list_models(state: State<'_, AppState>) -> Result<Vec<Model>, IpcError> {
    cached(&state).await?.models().await.map_err(|e| e.to_ipc())
}

/// Writes the users matching `filter` as CSV to a file the admin picks in a save dialog; how
/// many rows, or `null` when they cancel. The path never comes from the web view.
#[tauri::command]
pub async fn export_users_csv<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    filter: UserFilter,
) -> Result<Option<u64>, IpcError> {
    let Some(path) = save_path(&app, "users.csv").await else {
        return Ok(None);
    };
    let cache = cached(&state).await?;
    cache
        .export_users_csv(&filter, &path)
        .await
        .map(Some)
        .map_err(|e| e.to_ipc())
}

/// Writes the usage rows matching `filter` as CSV to a file picked in a save dialog.
#[tauri::command]
pub async fn export_usage_csv<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    filter: UsageFilter,
) -> Result<Option<u64>, IpcError> {
    let Some(path) = save_path(&app, "usage.csv").await else {
        return Ok(None);
    };
    let cache = cached(&state).await?;
    cache
        .export_usage_csv(&filter, &path)
        .await
        .map(Some)
        .map_err(|e| e.to_ipc())
}

/// The notification channels, from the gateway (never their secrets): they are not cached, so
/// offline this fails.
#[tauri::command]
pub async fn list_channels(state: State<'_, AppState>) -> Result<Vec<Channel>, IpcError> {
    state.console.channels().await.map_err(|e| e.to_ipc())
}

/// A channel's delivery log, from the gateway.
#[tauri::command]
pub async fn list_channel_deliveries(
    state: State<'_, AppState>,
    id: String,
) -> Result<Vec<DeliveryAttempt>, IpcError> {
    state
        .console
        .channel_deliveries(&id)
        .await
        .map_err(|e| e.to_ipc())
}

/// Writes the gateway's audit export of the entries matching `filter` (JSON Lines or CSV) to a
/// file the admin picks in a save dialog; the bytes written, or `null` when they cancel.
#[tauri::command]
pub async fn export_audit<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    filter: AuditFilter,
    format: AuditExportFormat,
) -> Result<Option<u64>, IpcError> {
    let (name, ext) = match format {
        AuditExportFormat::Jsonl => ("audit.jsonl", "jsonl"),
        AuditExportFormat::Csv => ("audit.csv", "csv"),
    };
    let Some(path) = save_path_as(&app, name, ext).await else {
        return Ok(None);
    };
    state
        .console
        .export_audit(&filter, format, &path)
        .await
        .map(Some)
        .map_err(|e| e.to_ipc())
}

/// Where the admin wants a CSV file saved; `None` when they cancel.
async fn save_path<R: Runtime>(app: &AppHandle<R>, name: &str) -> Option<PathBuf> {
    save_path_as(app, name, "csv").await
}

/// Where the admin wants a file of type `ext` saved; `None` when they cancel.
async fn save_path_as<R: Runtime>(app: &AppHandle<R>, name: &str, ext: &str) -> Option<PathBuf> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    app.dialog()
        .file()
        .set_file_name(name)
        .add_filter(ext.to_uppercase(), &[ext])
        .save_file(move |path| {
            let _ = tx.send(path);
        });
    rx.await.ok().flatten().and_then(|p| p.into_path().ok())
}

/// Asks the update server whether a newer version exists.
#[tauri::command]
pub async fn check_update<R: Runtime>(
    app: AppHandle<R>,
    updates: State<'_, Updates>,
) -> Result<Option<UpdateInfo>, IpcError> {
    updates.check(&app).await
}

/// What the last check (at start or from Settings) found, without asking again.
#[tauri::command]
pub async fn available_update(updates: State<'_, Updates>) -> Result<Option<UpdateInfo>, IpcError> {
    Ok(updates.found().await)
}

/// Downloads the update found and verifies its signature; progress arrives as
/// `update-progress` events.
#[tauri::command]
pub async fn download_update<R: Runtime>(
    app: AppHandle<R>,
    updates: State<'_, Updates>,
) -> Result<UpdateInfo, IpcError> {
    updates.download(&app).await
}

/// Installs the downloaded update; it runs after `restart_app`.
#[tauri::command]
pub async fn install_update(updates: State<'_, Updates>) -> Result<(), IpcError> {
    updates.install().await
}

#[tauri::command]
pub fn restart_app<R: Runtime>(app: AppHandle<R>) {
    tracing::info!("restarting");
    app.restart()
}

/// Where the log files are and whether `RUST_LOG` sets their level.
#[tauri::command]
pub fn log_info(state: State<'_, AppState>) -> Result<LogInfo, IpcError> {
    let logs = logs(&state)?;
    Ok(LogInfo {
        dir: logs.dir().display().to_string(),
        level_from_env: logs.from_env(),
    })
}

/// Opens the log folder in the system's file manager; the path never comes from the web view.
#[tauri::command]
pub fn open_log_folder<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
) -> Result<(), IpcError> {
    let dir = logs(&state)?.dir().display().to_string();
    app.opener().open_path(dir, None::<&str>).map_err(|e| {
        tracing::warn!(error = %e, "could not open the log folder");
        IpcError {
            code: "open_failed".into(),
            message: "The log folder could not be opened; its path is shown in Settings.".into(),
            fields: None,
        }
    })
}

fn logs<'a>(
    state: &'a State<'_, AppState>,
) -> Result<&'a std::sync::Arc<gatehouse_core::logs::Logs>, IpcError> {
    state.logs.as_ref().ok_or_else(|| IpcError {
        code: "no_logs".into(),
        message: "The app is not writing log files (its log folder was not usable at start)."
            .into(),
        fields: None,
    })
}

/// The active profile's cache, for the commands that read it.
async fn cached(state: &State<'_, AppState>) -> Result<Cache, IpcError> {
    state.console.cache().await.map_err(|e| e.to_ipc())
}

#[tauri::command]
pub async fn list_access_profiles(state: State<'_, AppState>) -> Result<AccessProfiles, IpcError> {
    cached(&state)
        .await?
        .access_profiles()
        .await
        .map_err(|e| e.to_ipc())
}
