//! The commands the UI invokes (as `plugin:console|<name>`). Each takes the state and its
//! arguments, calls one core function and maps the error.

use gatehouse_api::Secret;
use gatehouse_core::changes::{Change, Changed};
use gatehouse_core::ipc::{
    AppStatus, IpcError, ProfileInput, ProfileSummary, SignIn, SyncReport, UserFilter, UserRows,
};
use gatehouse_core::settings::Settings;
use tauri::{AppHandle, Runtime, State};
use tauri_plugin_clipboard_manager::ClipboardExt;

use crate::AppState;

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
pub async fn sign_out(state: State<'_, AppState>, id: String) -> Result<(), IpcError> {
    state.console.sign_out(&id).await.map_err(|e| e.to_ipc())
}

#[tauri::command]
pub async fn get_settings(state: State<'_, AppState>) -> Result<Settings, IpcError> {
    Ok(state.console.settings().await)
}

#[tauri::command]
pub async fn set_settings(
    state: State<'_, AppState>,
    settings: Settings,
) -> Result<Settings, IpcError> {
    state
        .console
        .set_settings(settings)
        .await
        .map_err(|e| e.to_ipc())
}

/// Runs one change through the gateway. A secret it produces (a new API key or token, an
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

/// The app's version, for Settings → About.
#[tauri::command]
pub fn app_version<R: Runtime>(app: AppHandle<R>) -> String {
    app.package_info().version.to_string()
}
