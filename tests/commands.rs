//! The app's commands through Tauri's IPC with the mock runtime, the real capabilities from
//! tauri.conf.json and src-tauri/capabilities, the embedded gateway and the real keychain.

use std::sync::Arc;
use std::time::{Duration, Instant};

use gatehouse_app::{console_plugin, start_console};
use gatehouse_core::AppDirs;
use gatehouse_core::credentials::{CredentialStore, Keychain, Slot};
use gatehouse_core::ipc::{AppStatus, LogInfo, Phase, ProfileSummary, UserRows};
use gatehouse_core::logs::Logs;
use gatehouse_core::settings::{LogLevel, Settings};
use serde_json::json;
use tauri::Manager;
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{INVOKE_KEY, MockRuntime, get_ipc_response, mock_builder};
use tauri::webview::InvokeRequest;

fn request(cmd: &str, body: serde_json::Value) -> InvokeRequest {
    InvokeRequest {
        cmd: cmd.into(),
        callback: CallbackFn(0),
        error: CallbackFn(1),
        // What a Linux webview reports for the bundled UI.
        url: "tauri://localhost".parse().unwrap(),
        body: InvokeBody::Json(body),
        headers: Default::default(),
        invoke_key: INVOKE_KEY.into(),
    }
}

fn invoke<T: serde::de::DeserializeOwned>(
    webview: &tauri::WebviewWindow<MockRuntime>,
    cmd: &str,
    body: serde_json::Value,
) -> Result<T, serde_json::Value> {
    get_ipc_response(webview, request(cmd, body)).map(|b| b.deserialize::<T>().unwrap())
}

#[test]
fn commands_answer_the_ui_and_only_granted_windows_may_call_them() {
    let dir = tempfile::tempdir().unwrap();
    let app = mock_builder()
        .plugin(console_plugin())
        .build(tauri::generate_context!())
        .unwrap();
    let keychain = Arc::new(Keychain::new(format!(
        "dev.gatehouse.test.commands.{}",
        std::process::id()
    )));
    let dirs = AppDirs {
        config: dir.path().join("config"),
        data: dir.path().join("data"),
    };
    let logs = Logs::init(&dir.path().join("logs"), LogLevel::Info, None).unwrap();
    start_console(app.handle(), dirs, keychain.clone(), Some(logs));

    let main = match app.get_webview_window("main") {
        Some(w) => w,
        None => tauri::WebviewWindowBuilder::new(&app, "main", Default::default())
            .build()
            .unwrap(),
    };

    let started = Instant::now();
    let status = loop {
        let status: AppStatus = invoke(&main, "plugin:console|app_status", json!({})).unwrap();
        if status.phase != Phase::Starting && status.synced_at.is_some()
            || started.elapsed() > Duration::from_secs(60)
        {
            break status;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.phase, Phase::Ready, "{:?}", status.error);

    let users: UserRows = invoke(
        &main,
        "plugin:console|list_users",
        json!({ "filter": { "query": "quinn", "limit": 50, "sort": "email" } }),
    )
    .unwrap();
    assert!(users.total >= 1);
    assert!(
        users
            .rows
            .iter()
            .any(|u| u.email == gatehouse_gateway::demo::DEMO_ADMIN_EMAIL)
    );

    // A malformed argument is a readable error, not a panic.
    let bad = invoke::<UserRows>(
        &main,
        "plugin:console|list_users",
        json!({ "filter": { "role": "emperor" } }),
    );
    assert!(bad.unwrap_err().to_string().contains("emperor"));

    // Profiles: the demo is listed; bad input is an `{code, message}` error and adds nothing.
    let profiles: Vec<ProfileSummary> =
        invoke(&main, "plugin:console|list_profiles", json!({})).unwrap();
    assert_eq!(profiles.len(), 1);
    assert!(profiles[0].embedded && profiles[0].signed_in);
    let refused = invoke::<ProfileSummary>(
        &main,
        "plugin:console|add_profile",
        json!({ "input": { "name": "Prod", "url": "gopher://gw", "ca_pem": null } }),
    )
    .unwrap_err();
    assert_eq!(refused["code"], "invalid", "{refused}");
    assert!(refused["message"].as_str().unwrap().contains("https://"));
    let profiles: Vec<ProfileSummary> =
        invoke(&main, "plugin:console|list_profiles", json!({})).unwrap();
    assert_eq!(profiles.len(), 1);

    // Settings round-trip; an out-of-range interval is refused. The log level applies at once.
    let info: LogInfo = invoke(&main, "plugin:console|log_info", json!({})).unwrap();
    assert_eq!(info.dir, dir.path().join("logs").display().to_string());
    assert!(!info.level_from_env);
    tracing::debug!("a debug line before the change");
    let saved: Settings = invoke(
        &main,
        "plugin:console|set_settings",
        json!({ "settings": { "sync_interval_secs": 60, "check_updates_at_start": false, "log_level": "debug" } }),
    )
    .unwrap();
    assert_eq!(saved.sync_interval_secs, 60);
    assert!(!saved.check_updates_at_start);
    assert_eq!(saved.log_level, LogLevel::Debug);
    let read: Settings = invoke(&main, "plugin:console|get_settings", json!({})).unwrap();
    assert_eq!(read, saved);
    tracing::debug!("a debug line after the change");
    let logged: String = std::fs::read_dir(dir.path().join("logs"))
        .unwrap()
        .map(|f| std::fs::read_to_string(f.unwrap().path()).unwrap())
        .collect();
    assert!(logged.contains("a debug line after the change"), "{logged}");
    assert!(
        !logged.contains("a debug line before the change"),
        "{logged}"
    );
    // Settings saved by an older version (no update or log fields) read with the defaults.
    let old: Settings = serde_json::from_str(r#"{ "sync_interval_secs": 60 }"#).unwrap();
    assert_eq!(old.log_level, LogLevel::Info);
    assert!(old.check_updates_at_start);
    let refused = invoke::<Settings>(
        &main,
        "plugin:console|set_settings",
        json!({ "settings": { "sync_interval_secs": 999999 } }),
    )
    .unwrap_err();
    assert_eq!(refused["code"], "invalid", "{refused}");

    // The cache's size on disk, for Settings.
    let cache: serde_json::Value = invoke(&main, "plugin:console|cache_info", json!({})).unwrap();
    assert!(cache["bytes"].as_u64().unwrap() > 0, "{cache}");

    // The screens' reads answer from the cache; an invitation's link never crosses IPC.
    let overview: serde_json::Value = invoke(&main, "plugin:console|overview", json!({})).unwrap();
    assert_eq!(
        overview["org_name"],
        gatehouse_gateway::demo::DEMO_ORG,
        "{overview}"
    );
    assert_eq!(overview["total_users"], gatehouse_gateway::demo::DEMO_USERS);
    let invitations: serde_json::Value = invoke(
        &main,
        "plugin:console|list_invitations",
        json!({ "filter": { "status": "pending" } }),
    )
    .unwrap();
    let rows = invitations["rows"].as_array().unwrap();
    assert!(!rows.is_empty());
    assert!(
        rows.iter()
            .all(|r| r["has_link"] == true && r["invitation"]["link"].is_null())
    );
    assert!(!invitations.to_string().contains("/invite/"));
    // The bulk preview reads pasted text the gateway's way, against the cache.
    let preview: serde_json::Value = invoke(
        &main,
        "plugin:console|bulk_preview",
        json!({ "text": "Nia Park <nia@preview.example>\nnot-an-address" }),
    )
    .unwrap();
    assert_eq!(preview[0]["kind"], "to_invite", "{preview}");
    assert_eq!(preview[0]["first_name"], "Nia", "{preview}");
    assert_eq!(preview[1]["kind"], "invalid", "{preview}");
    let categories: Vec<String> =
        invoke(&main, "plugin:console|audit_categories", json!({})).unwrap();
    assert!(!categories.is_empty());
    let workspaces: serde_json::Value =
        invoke(&main, "plugin:console|list_workspaces", json!({})).unwrap();
    // SCIM tokens come from the gateway itself; the demo holds none.
    let scim: serde_json::Value =
        invoke(&main, "plugin:console|list_scim_tokens", json!({})).unwrap();
    assert_eq!(scim, json!([]), "{scim}");
    // And the notification channels; the demo holds none, and an unknown channel's log is a 404.
    let channels: serde_json::Value =
        invoke(&main, "plugin:console|list_channels", json!({})).unwrap();
    assert_eq!(channels, json!([]), "{channels}");
    let log = invoke::<serde_json::Value>(
        &main,
        "plugin:console|list_channel_deliveries",
        json!({ "id": "chn_none" }),
    )
    .unwrap_err();
    assert_eq!(log["code"], "not_found", "{log}");
    // So do the single sign-on settings; the demo gateway sets up no provider.
    let identity: serde_json::Value =
        invoke(&main, "plugin:console|get_identity_settings", json!({})).unwrap();
    assert_eq!(identity["providers"], json!([]), "{identity}");
    assert_eq!(identity["join_mode"], "invite_only", "{identity}");
    assert!(!workspaces.as_array().unwrap().is_empty());
    let today = chrono::Utc::now().date_naive();
    let chart: serde_json::Value = invoke(
        &main,
        "plugin:console|usage_chart",
        json!({ "filter": { "from": (today - chrono::Duration::days(29)).to_string(), "to": today.to_string(), "group_by": "model" } }),
    )
    .unwrap();
    assert_eq!(chart["days"].as_array().unwrap().len(), 30);
    let inverted = invoke::<serde_json::Value>(
        &main,
        "plugin:console|usage_chart",
        json!({ "filter": { "from": today.to_string(), "to": (today - chrono::Duration::days(1)).to_string() } }),
    )
    .unwrap_err();
    assert_eq!(inverted["code"], "invalid", "{inverted}");
    // The sign-in form asks a profile's gateway which providers it offers; the demo profile
    // signs itself in, so for it the question is refused, in the console's words.
    let profiles: serde_json::Value =
        invoke(&main, "plugin:console|list_profiles", json!({})).unwrap();
    let demo = profiles[0]["id"].as_str().unwrap().to_owned();
    let sso = invoke::<serde_json::Value>(
        &main,
        "plugin:console|list_sso_providers",
        json!({ "id": demo }),
    )
    .unwrap_err();
    assert_eq!(sso["code"], "invalid", "{sso}");
    let admin = users
        .rows
        .iter()
        .find(|u| u.email == gatehouse_gateway::demo::DEMO_ADMIN_EMAIL)
        .unwrap();
    let detail: serde_json::Value = invoke(
        &main,
        "plugin:console|user_detail",
        json!({ "id": admin.id }),
    )
    .unwrap();
    assert_eq!(
        detail["user"]["email"],
        gatehouse_gateway::demo::DEMO_ADMIN_EMAIL,
        "{detail}"
    );
    // Access profiles come from the cache; the demo has none yet.
    let access: serde_json::Value =
        invoke(&main, "plugin:console|list_access_profiles", json!({})).unwrap();
    assert_eq!(access["profiles"], json!([]), "{access}");

    // A window the capability does not name may call nothing.
    let other = tauri::WebviewWindowBuilder::new(&app, "other", Default::default())
        .build()
        .unwrap();
    let denied = invoke::<AppStatus>(&other, "plugin:console|app_status", json!({}));
    let denied = denied.unwrap_err().to_string();
    assert!(
        denied.contains("not allowed"),
        "a window outside the capability was allowed: {denied}"
    );

    let profile = status.profile.unwrap();
    keychain.delete(Slot::Token(&profile.id)).unwrap();
}
