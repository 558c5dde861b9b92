//! The thin Tauri shell of the Gatehouse desktop app: window, commands, events, logging.
//! Everything else is in `gatehouse-core`.

pub mod commands;

use std::sync::Arc;

use gatehouse_core::credentials::{CredentialStore, Keychain};
use gatehouse_core::{AppDirs, Console};
use tauri::plugin::TauriPlugin;
use tauri::{Emitter, Manager, Runtime};

/// The one managed state of the app.
pub struct AppState {
    pub console: Arc<Console>,
}

/// Name of the event that carries every new `AppStatus` to the UI.
pub const STATUS_EVENT: &str = "status";

/// The `console` plugin: the app's own commands, each with its own permission.
pub fn console_plugin<R: Runtime>() -> TauriPlugin<R> {
    tauri::plugin::Builder::new("console")
        .invoke_handler(tauri::generate_handler![
            commands::app_status,
            commands::app_version,
            commands::list_users,
            commands::sync_now,
            commands::list_profiles,
            commands::add_profile,
            commands::edit_profile,
            commands::remove_profile,
            commands::activate_profile,
            commands::sign_in,
            commands::sign_out,
            commands::get_settings,
            commands::set_settings,
            commands::cache_info,
            commands::clear_cache,
            commands::apply_change,
            commands::user_detail,
            commands::list_invitations,
            commands::copy_invite_link,
            commands::usage_chart,
            commands::budget_status,
            commands::overview,
            commands::list_audit,
            commands::list_workspaces,
            commands::list_groups,
            commands::list_group_members,
            commands::list_models,
            commands::export_users_csv,
            commands::export_usage_csv,
        ])
        .build()
}

/// Builds the console for `app` and starts it in the background: opening the profile (or the
/// demo gateway), then the first sync. Status changes are emitted to the UI as they happen.
pub fn start_console<R: Runtime>(
    app: &tauri::AppHandle<R>,
    dirs: AppDirs,
    credentials: Arc<dyn CredentialStore>,
) -> Arc<Console> {
    let handle = app.clone();
    let sink = Arc::new(move |status| {
        if let Err(e) = handle.emit(STATUS_EVENT, status) {
            tracing::warn!(error = %e, "could not emit status");
        }
    });
    let console = Arc::new(Console::new(dirs, credentials, sink));
    app.manage(AppState {
        console: console.clone(),
    });
    let starting = console.clone();
    tauri::async_runtime::spawn(async move {
        starting.start().await;
        starting.run_background_sync().await;
    });
    console
}

fn app_dirs<R: Runtime>(app: &tauri::AppHandle<R>) -> tauri::Result<AppDirs> {
    Ok(AppDirs {
        config: app.path().app_config_dir()?,
        data: app.path().app_data_dir()?,
    })
}

pub fn run() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn,tower_http=warn".into()),
        )
        .init();
    tauri::Builder::default()
        .plugin(tauri_plugin_clipboard_manager::init())
        .plugin(tauri_plugin_dialog::init())
        .plugin(console_plugin())
        .setup(|app| {
            let identifier = app.config().identifier.clone();
            let dirs = app_dirs(app.handle())?;
            tracing::info!(config = %dirs.config.display(), data = %dirs.data.display(), "starting");
            start_console(app.handle(), dirs, Arc::new(Keychain::new(identifier)));
            Ok(())
        })
        .run(tauri::generate_context!())
        .expect("error while running the Gatehouse app");
}
