//! The commands the UI invokes (as `plugin:console|<name>`). Each takes the state and its
//! arguments, calls one core function and maps the error.

use gatehouse_core::ipc::{
    AppStatus, IpcError, ProfileInput, ProfileSummary, SignIn, SyncReport, UserFilter, UserRows,
};
use gatehouse_core::settings::Settings;
use tauri::State;

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
