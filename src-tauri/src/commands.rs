//! The commands the UI invokes (as `plugin:console|<name>`). Each takes the state and its
//! arguments, calls one core function and maps the error.

use gatehouse_core::ipc::{AppStatus, IpcError, SyncReport, UserFilter, UserRows};
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
