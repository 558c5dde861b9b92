//! The thin Tauri shell of the Gatehouse desktop app: window, commands, events, logging.
//! Everything else is in `gatehouse-core`.

pub mod commands;
pub mod updates;

use std::sync::Arc;

use gatehouse_core::credentials::{CredentialStore, Keychain};
use gatehouse_core::logs::Logs;
use gatehouse_core::settings::Settings;
use gatehouse_core::{AppDirs, Console};
use tauri::plugin::TauriPlugin;
use tauri::{Emitter, Manager, Runtime};

/// The one managed state of the app.
pub struct AppState {
    pub console: Arc<Console>,
    /// `None` only where no log files are set up (the commands' tests).
    pub logs: Option<Arc<Logs>>,
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
            commands::sign_in_sso,
            commands::list_sso_providers,
            commands::cancel_sso,
            commands::sign_out,
            commands::get_settings,
            commands::set_settings,
            commands::cache_info,
            commands::clear_cache,
            commands::apply_change,
            commands::user_detail,
            commands::list_invitations,
            commands::copy_invite_link,
            commands::copy_invite_links,
            commands::bulk_preview,
            commands::audit_categories,
            commands::usage_chart,
            commands::budget_status,
            commands::overview,
            commands::list_audit,
            commands::list_workspaces,
            commands::list_groups,
            commands::list_group_members,
            commands::group_policy,
            commands::list_models,
            commands::list_scim_tokens,
            commands::get_identity_settings,
            commands::export_users_csv,
            commands::export_usage_csv,
            commands::check_update,
            commands::available_update,
            commands::download_update,
            commands::install_update,
            commands::restart_app,
            commands::log_info,
            commands::open_log_folder,
            commands::list_access_profiles,
            commands::list_channels,
            commands::list_channel_deliveries,
            commands::export_audit,
        ])
        .setup(|app, _api| {
            app.manage(updates::Updates::default());
            Ok(())
        })
        .build()
}

/// Builds the console for `app` and starts it in the background: opening the profile (or the
/// demo gateway), then the first sync. Status changes are emitted to the UI as they happen; the
/// settings' log level goes to `logs`.
pub fn start_console<R: Runtime>(
    app: &tauri::AppHandle<R>,
    dirs: AppDirs,
    credentials: Arc<dyn CredentialStore>,
    logs: Option<Arc<Logs>>,
) -> Arc<Console> {
    let handle = app.clone();
    let sink = Arc::new(move |status| {
        if let Err(e) = handle.emit(STATUS_EVENT, status) {
            tracing::warn!(error = %e, "could not emit status");
        }
    });
    let mut console = Console::new(dirs, credentials, sink);
    if let Some(logs) = &logs {
        let logs = logs.clone();
        console = console.with_log_levels(Arc::new(move |level| logs.set_level(level)));
    }
    let console = Arc::new(console);
    app.manage(AppState {
        console: console.clone(),
        logs,
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

/// Brings the running window to the front when the app is launched a second time.
fn focus_main<R: Runtime>(app: &tauri::AppHandle<R>) {
    tracing::info!("the app was launched again; focusing the running window");
    if let Some(window) = app.get_webview_window("main") {
        for result in [window.unminimize(), window.show(), window.set_focus()] {
            if let Err(e) = result {
                tracing::warn!(error = %e, "could not bring the window to the front");
            }
        }
    }
}

pub fn run() {
    tauri::Builder::default()
        // First, so that a second launch hands over before anything else starts.
        .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| {
            focus_main(app)
        }))
        .plugin(tauri_plugin_clipboard_manager::init())
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_opener::init())
        .plugin(tauri_plugin_updater::Builder::new().build())
        .plugin(console_plugin())
        .setup(|app| {
            let identifier = app.config().identifier.clone();
            let dirs = app_dirs(app.handle())?;
            let settings = Settings::load(&dirs.config).unwrap_or_default();
            // Without a usable log folder the app still runs, logging to stderr only.
            let logs = app
                .path()
                .app_log_dir()
                .map_err(|e| e.to_string())
                .and_then(|dir| {
                    Logs::init(&dir, settings.log_level, std::env::var("RUST_LOG").ok())
                        .map_err(|e| e.to_string())
                })
                .inspect_err(|e| eprintln!("gatehouse: no log files: {e}"))
                .ok();
            gatehouse_core::logs::log_panics();
            tracing::info!(
                version = %app.package_info().version,
                config = %dirs.config.display(),
                data = %dirs.data.display(),
                logs = ?logs.as_ref().map(|l| l.dir()),
                "starting"
            );
            // The desktop's theme needs nothing: the windows follow it by default.
            if settings.theme != gatehouse_core::settings::Theme::System {
                apply_theme(app.handle(), settings.theme);
            }
            start_console(
                app.handle(),
                dirs,
                Arc::new(Keychain::new(identifier)),
                logs,
            );
            let app = app.handle().clone();
            tauri::async_runtime::spawn(
                async move { updates::check_at_start(&app, &settings).await },
            );
            Ok(())
        })
        .run(tauri::generate_context!())
        .expect("error while running the Gatehouse app");
}

/// Sets the windows' theme: the desktop's (`None`), or light or dark whatever it is. The web
/// view's `prefers-color-scheme` follows, so the one stylesheet needs nothing else.
pub(crate) fn apply_theme<R: Runtime>(
    app: &tauri::AppHandle<R>,
    theme: gatehouse_core::settings::Theme,
) {
    use gatehouse_core::settings::Theme;
    app.set_theme(match theme {
        Theme::System => None,
        Theme::Light => Some(tauri::Theme::Light),
        Theme::Dark => Some(tauri::Theme::Dark),
    });
}
