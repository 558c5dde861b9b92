//! The log files: one a day in the log folder, at the settings' level (changed without a
//! restart), with the HTTP and SQL libraries held back, panics written down, and no secret in
//! them even at `trace` while the console signs in with a token and a password, syncs, invites
//! someone, creates an API key, and the invitation's page is opened on the gateway, which runs
//! in this process and logs to the same files.
//!
//! One test: a process has one `tracing` subscriber.

use std::sync::Arc;

use gatehouse_api::Secret;
use gatehouse_core::changes::Change;
use gatehouse_core::credentials::Keychain;
use gatehouse_core::ipc::{ProfileInput, SignIn, UserFilter};
use gatehouse_core::logs::{self, Logs};
use gatehouse_core::settings::{LogLevel, Settings};
use gatehouse_core::{AppDirs, Console};
use gatehouse_gateway::demo;
use serde_json::json;

fn read_logs(dir: &std::path::Path) -> String {
    let mut text = String::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        text += &std::fs::read_to_string(entry.unwrap().path()).unwrap();
    }
    text
}

#[tokio::test]
async fn logs_go_to_daily_files_at_the_chosen_level_with_panics_and_without_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let log_dir = dir.path().join("logs");
    let logs = Logs::init(&log_dir, LogLevel::Info, None).unwrap();
    logs::log_panics();
    assert!(!logs.from_env());
    assert_eq!(logs.dir(), log_dir);

    tracing::info!("an info line before any change");
    tracing::debug!("a debug line at info");
    let files: Vec<String> = std::fs::read_dir(&log_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let today = chrono::Utc::now().format("%Y-%m-%d");
    assert_eq!(files, vec![format!("gatehouse.{today}.log")]);
    let text = read_logs(&log_dir);
    assert!(text.contains("an info line before any change"), "{text}");
    assert!(!text.contains("a debug line at info"), "{text}");

    // The settings' level reaches the filter through the console, at once.
    let (gateway, token) = gatehouse_core::embedded::start(&dir.path().join("gw.db"))
        .await
        .unwrap();
    let dirs = AppDirs {
        config: dir.path().join("config"),
        data: dir.path().join("data"),
    };
    let levels = logs.clone();
    let console = Console::new(
        dirs,
        Arc::new(Keychain::new(format!(
            "dev.gatehouse.test.logs.{}",
            std::process::id()
        ))),
        Arc::new(|_| {}),
    )
    .with_log_levels(Arc::new(move |level| levels.set_level(level)));
    console
        .set_settings(Settings {
            log_level: LogLevel::Debug,
            ..Settings::default()
        })
        .await
        .unwrap();
    tracing::debug!("a debug line at debug");
    tracing::debug!(target: "hyper::proto::h1", "a hyper line at debug");
    tracing::warn!(target: "sqlx::query", "an sqlx warning");
    tracing::info!(target: "sqlx::query", "an sqlx info line");
    let text = read_logs(&log_dir);
    assert!(text.contains("a debug line at debug"), "{text}");
    assert!(!text.contains("a hyper line at debug"), "{text}");
    assert!(text.contains("an sqlx warning"), "{text}");
    assert!(!text.contains("an sqlx info line"), "{text}");

    // A panic is written down with its message, thread and place.
    let panicked = std::thread::Builder::new()
        .name("doomed".into())
        .spawn(|| panic!("boom in a test thread"))
        .unwrap()
        .join();
    assert!(panicked.is_err());
    let text = read_logs(&log_dir);
    let line = text
        .lines()
        .find(|l| l.contains("panicked: boom in a test thread"))
        .unwrap_or_else(|| panic!("no panic line in {text}"));
    assert!(line.contains("ERROR"), "{line}");
    assert!(line.contains("thread=\"doomed\""), "{line}");
    assert!(line.contains("tests/logs.rs"), "{line}");

    // Everything at trace, while secrets go back and forth.
    console
        .set_settings(Settings {
            log_level: LogLevel::Trace,
            ..Settings::default()
        })
        .await
        .unwrap();
    let profile = console
        .add_profile(ProfileInput {
            name: "Northwind".into(),
            url: gateway.url(),
            ca_pem: None,
            insecure_http: false,
        })
        .await
        .unwrap();
    console
        .sign_in(
            &profile.id,
            SignIn::Token {
                token: Secret::new(token.expose()),
            },
        )
        .await
        .unwrap();
    console.sync_now().await.unwrap();
    let password = "Log-test passw0rd that must not be written";
    let change = |value: serde_json::Value| serde_json::from_value::<Change>(value).unwrap();
    console
        .apply(change(json!({ "op": "create_user", "user": {
            "email": "log.test@northwind.example", "first_name": "Log", "last_name": "Test",
            "role": "admin", "password": password,
        }})))
        .await
        .unwrap();
    let invite = console
        .apply(change(json!({ "op": "invite", "invitation": {
            "email": "invitee@northwind.example", "role": "member",
        }})))
        .await
        .unwrap();
    let link = invite.secret.expect("an invitation's link");
    let admin = console
        .users(&UserFilter {
            query: demo::DEMO_ADMIN_EMAIL.into(),
            ..UserFilter::default()
        })
        .await
        .unwrap();
    let key = console
        .apply(change(
            json!({ "op": "create_key", "user_id": admin.rows[0].id, "name": "log test" }),
        ))
        .await
        .unwrap()
        .secret
        .expect("a new key's secret");
    let scim = console
        .apply(change(
            json!({ "op": "create_scim_token", "token": { "name": "log test" } }),
        ))
        .await
        .unwrap()
        .secret
        .expect("a new SCIM token's secret");
    let page = reqwest::get(link.expose()).await.unwrap();
    assert!(page.status().is_success(), "{}", page.status());
    console
        .sign_in(
            &profile.id,
            SignIn::Password {
                email: "log.test@northwind.example".into(),
                password: Secret::new(password),
            },
        )
        .await
        .unwrap();
    console.sync_now().await.unwrap();

    let text = read_logs(&log_dir);
    assert!(text.contains(" TRACE "), "nothing logged at trace");
    let invite_token = link.expose().rsplit('/').next().unwrap();
    for (what, secret) in [
        ("the admin token", token.expose()),
        ("the password", password),
        ("the invitation token", invite_token),
        ("the API key", key.expose()),
        ("the SCIM token", scim.expose()),
    ] {
        assert!(secret.len() >= 16, "{what} is too short to look for");
        assert!(!text.contains(secret), "{what} is in the log");
    }
}
