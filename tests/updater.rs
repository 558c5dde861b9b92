//! Signed updates against a local update server on 127.0.0.1: the real updater plugin, through
//! the console's commands and the real capability, with throwaway key pairs made by the Tauri
//! CLI (`tauri signer generate`, from ui/node_modules) and artifacts signed by it as a release
//! is. The app finds a newer version, downloads it with progress and verifies its signature,
//! and refuses with a clear message a tampered artifact, a signature by another key, and a
//! signature for another version. The install step replaces an AppImage with the new build,
//! which then runs. Only this test's config allows plain HTTP, for the loopback server.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use gatehouse_app::console_plugin;
use gatehouse_app::updates::{self, FOUND_EVENT, PROGRESS_EVENT};
use gatehouse_core::ipc::{UpdateInfo, UpdateProgress};
use gatehouse_core::settings::Settings;
use serde_json::json;
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{INVOKE_KEY, MockRuntime, get_ipc_response, mock_builder};
use tauri::webview::InvokeRequest;
use tauri::{Listener, Manager};
use tauri_plugin_updater::UpdaterExt;

/// What the update server serves: the manifest and the artifact it points at.
#[derive(Default)]
struct Release {
    manifest: serde_json::Value,
    artifact: Vec<u8>,
    downloads: usize,
}

type Server = Arc<Mutex<Release>>;

async fn serve_manifest(State(server): State<Server>) -> axum::Json<serde_json::Value> {
    axum::Json(server.lock().unwrap().manifest.clone())
}

async fn serve_artifact(State(server): State<Server>) -> (StatusCode, Vec<u8>) {
    let mut release = server.lock().unwrap();
    release.downloads += 1;
    (StatusCode::OK, release.artifact.clone())
}

fn tauri_cli() -> PathBuf {
    let cli = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("ui/node_modules/.bin/tauri");
    assert!(
        cli.exists(),
        "{} is missing: run `make ui-deps`",
        cli.display()
    );
    cli
}

fn run(command: &mut Command) {
    let out = command.output().unwrap();
    assert!(
        out.status.success(),
        "{command:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A new key pair without a password; its private key's path and its public key.
fn key_pair(dir: &Path, name: &str) -> (PathBuf, String) {
    let key = dir.join(name);
    run(Command::new(tauri_cli())
        .args([
            "signer",
            "generate",
            "--ci",
            "--password",
            "",
            "--write-keys",
        ])
        .arg(&key));
    let public = std::fs::read_to_string(dir.join(format!("{name}.pub"))).unwrap();
    (key, public.trim().to_owned())
}

/// The `.sig` of `file` by `key`, bound to `version`, as a release's manifest carries it.
fn sign(key: &Path, file: &Path, version: &str) -> String {
    run(Command::new(tauri_cli())
        .args(["signer", "sign", "--password", "", "--app-version", version])
        .arg("--private-key-path")
        .arg(key)
        .arg(file)
        .env_remove("TAURI_SIGNING_PRIVATE_KEY")
        .env_remove("TAURI_SIGNING_PRIVATE_KEY_PASSWORD"));
    let mut sig = file.as_os_str().to_owned();
    sig.push(".sig");
    std::fs::read_to_string(sig).unwrap().trim().to_owned()
}

fn release_manifest(version: &str, url: &str, signature: &str) -> serde_json::Value {
    json!({
        "version": version,
        "notes": "Faster sync.",
        "pub_date": "2026-11-30T12:00:00Z",
        "platforms": {
            tauri_plugin_updater::target().unwrap(): { "url": url, "signature": signature }
        }
    })
}

fn invoke<T: serde::de::DeserializeOwned>(
    window: &tauri::WebviewWindow<MockRuntime>,
    cmd: &str,
) -> Result<T, serde_json::Value> {
    let request = InvokeRequest {
        cmd: format!("plugin:console|{cmd}"),
        callback: CallbackFn(0),
        error: CallbackFn(1),
        url: "tauri://localhost".parse().unwrap(),
        body: InvokeBody::Json(json!({})),
        headers: Default::default(),
        invoke_key: INVOKE_KEY.into(),
    };
    get_ipc_response(window, request).map(|b| b.deserialize::<T>().unwrap())
}

#[test]
fn the_shipped_config_trusts_one_key_and_leaves_the_endpoint_to_the_build() {
    let config: serde_json::Value =
        serde_json::from_str(include_str!("../tauri.conf.json")).unwrap();
    let updater = &config["plugins"]["updater"];
    assert!(updater.get("dangerousInsecureTransportProtocol").is_none());
    assert_eq!(updater["requireSignedVersion"], true);
    // Where to look is `GATEHOUSE_UPDATE_ENDPOINT` at build time (the release workflow's), https.
    assert!(updater.get("endpoints").is_none(), "{updater}");
    if let Some(endpoint) = updates::BUILD_ENDPOINT {
        assert!(endpoint.starts_with("https://"), "{endpoint}");
    }
    let key = String::from_utf8(
        base64_decode(updater["pubkey"].as_str().unwrap()).expect("the pubkey is base64"),
    )
    .unwrap();
    assert!(
        key.starts_with("untrusted comment: minisign public key"),
        "{key}"
    );
    assert_eq!(config["bundle"]["createUpdaterArtifacts"], true);
}

#[test]
fn a_build_without_an_update_endpoint_says_so_and_does_not_look_at_start() {
    assert_eq!(
        updates::BUILD_ENDPOINT,
        None,
        "the tests run on a build made without GATEHOUSE_UPDATE_ENDPOINT"
    );
    let app = mock_builder()
        .plugin(tauri_plugin_updater::Builder::new().build())
        .plugin(console_plugin())
        .build(tauri::generate_context!())
        .unwrap();
    let window = main_window(&app);
    let announced: Arc<Mutex<usize>> = Arc::default();
    let heard = announced.clone();
    app.listen_any(FOUND_EVENT, move |_| *heard.lock().unwrap() += 1);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(updates::check_at_start(app.handle(), &Settings::default()));
    assert_eq!(*announced.lock().unwrap(), 0, "the check at start looked");
    let none: Option<UpdateInfo> = invoke(&window, "available_update").unwrap();
    assert_eq!(none, None);
    let refused = invoke::<Option<UpdateInfo>>(&window, "check_update").unwrap_err();
    assert_eq!(refused["code"], "updates_not_configured", "{refused}");
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("no update server"),
        "{refused}"
    );
}

/// The app's main window, made when the config's is not there.
fn main_window(app: &tauri::App<MockRuntime>) -> tauri::WebviewWindow<MockRuntime> {
    match app.get_webview_window("main") {
        Some(w) => w,
        None => tauri::WebviewWindowBuilder::new(app, "main", Default::default())
            .build()
            .unwrap(),
    }
}

/// Standard base64, enough to read the public key without another dependency.
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut bits, mut count) = (0u32, 0);
    for c in text.bytes().filter(|&c| c != b'=') {
        bits = bits << 6 | ALPHABET.iter().position(|&a| a == c)? as u32;
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
        }
    }
    Some(out)
}

#[test]
fn a_newer_signed_build_is_found_downloaded_verified_and_installed_and_bad_ones_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (key, public) = key_pair(dir.path(), "release.key");
    let (other_key, _) = key_pair(dir.path(), "other.key");

    // The "newer build": a real executable, so that the installed file can be run.
    let build = dir.path().join("Gatehouse_9.9.9_amd64.AppImage");
    std::fs::copy("/bin/true", &build).unwrap();
    let artifact = std::fs::read(&build).unwrap();
    let signature = sign(&key, &build, "9.9.9");
    let by_other_key = sign(&other_key, &build, "9.9.9");
    let for_older_version = sign(&key, &build, "9.9.8");

    let server: Server = Arc::default();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let routes = axum::Router::new()
        .route("/latest.json", get(serve_manifest))
        .route("/Gatehouse.AppImage", get(serve_artifact))
        .with_state(server.clone());
    runtime.spawn(async move { axum::serve(listener, routes).await.unwrap() });
    let url = format!("{base}/Gatehouse.AppImage");
    let serve = |manifest: serde_json::Value, artifact: Vec<u8>| {
        let mut release = server.lock().unwrap();
        release.manifest = manifest;
        release.artifact = artifact;
    };

    let mut context = tauri::generate_context!();
    context.config_mut().plugins.0.insert(
        "updater".into(),
        json!({
            "pubkey": public,
            "endpoints": [format!("{base}/latest.json")],
            "requireSignedVersion": true,
            "dangerousInsecureTransportProtocol": true,
        }),
    );
    let app = mock_builder()
        .plugin(tauri_plugin_updater::Builder::new().build())
        .plugin(console_plugin())
        .build(context)
        .unwrap();
    let window = main_window(&app);
    let progress: Arc<Mutex<Vec<UpdateProgress>>> = Arc::default();
    let seen = progress.clone();
    app.listen_any(PROGRESS_EVENT, move |event| {
        seen.lock()
            .unwrap()
            .push(serde_json::from_str(event.payload()).unwrap());
    });

    let announced: Arc<Mutex<Vec<Option<UpdateInfo>>>> = Arc::default();
    let heard = announced.clone();
    app.listen_any(FOUND_EVENT, move |event| {
        heard
            .lock()
            .unwrap()
            .push(serde_json::from_str(event.payload()).unwrap());
    });

    // The check at start asks the server only when the settings say so.
    serve(
        release_manifest("9.9.9", &url, &signature),
        artifact.clone(),
    );
    let handle = app.handle().clone();
    let off = Settings {
        check_updates_at_start: false,
        ..Settings::default()
    };
    runtime.block_on(updates::check_at_start(&handle, &off));
    let none: Option<UpdateInfo> = invoke(&window, "available_update").unwrap();
    assert_eq!(none, None);
    assert!(announced.lock().unwrap().is_empty());
    runtime.block_on(updates::check_at_start(&handle, &Settings::default()));
    let at_start: Option<UpdateInfo> = invoke(&window, "available_update").unwrap();
    assert_eq!(at_start.map(|u| u.version), Some("9.9.9".to_owned()));
    // The UI hears of it, however late it came up.
    let heard: Vec<_> = std::mem::take(&mut *announced.lock().unwrap());
    assert_eq!(heard.len(), 1);
    assert_eq!(heard[0].as_ref().map(|u| u.version.as_str()), Some("9.9.9"));
    assert_eq!(server.lock().unwrap().downloads, 0);

    // The server offers the running version: nothing to do.
    serve(
        release_manifest("0.1.0", &url, &signature),
        artifact.clone(),
    );
    let none: Option<UpdateInfo> = invoke(&window, "check_update").unwrap();
    assert_eq!(none, None);
    assert_eq!(announced.lock().unwrap().last(), Some(&None));
    let refused = invoke::<UpdateInfo>(&window, "download_update").unwrap_err();
    assert_eq!(refused["code"], "no_update", "{refused}");

    // A newer signed build: found, downloaded with progress, verified.
    serve(
        release_manifest("9.9.9", &url, &signature),
        artifact.clone(),
    );
    let found: Option<UpdateInfo> = invoke(&window, "check_update").unwrap();
    let expected = UpdateInfo {
        version: "9.9.9".into(),
        current_version: "0.1.0".into(),
        notes: Some("Faster sync.".into()),
        date: Some("2026-11-30T12:00:00Z".into()),
    };
    assert_eq!(found.as_ref(), Some(&expected));
    let again: Option<UpdateInfo> = invoke(&window, "available_update").unwrap();
    assert_eq!(again, found);
    let downloaded: UpdateInfo = invoke(&window, "download_update").unwrap();
    assert_eq!(downloaded, expected);
    assert_eq!(server.lock().unwrap().downloads, 1);
    let steps = std::mem::take(&mut *progress.lock().unwrap());
    let total = artifact.len() as u64;
    assert!(steps.len() >= 3, "{steps:?}");
    assert_eq!(
        steps[steps.len() - 2],
        UpdateProgress::Downloading {
            received: total,
            total: Some(total)
        }
    );
    assert_eq!(steps.last(), Some(&UpdateProgress::Verified));

    // The install step, on an AppImage of the running version in a folder of its own.
    let installed = dir.path().join("app/Gatehouse.AppImage");
    std::fs::create_dir_all(installed.parent().unwrap()).unwrap();
    std::fs::write(&installed, b"\x7fELF the running version").unwrap();
    std::fs::set_permissions(&installed, std::fs::Permissions::from_mode(0o755)).unwrap();
    runtime.block_on(async {
        let update = handle
            .updater_builder()
            .executable_path(&installed)
            .build()
            .unwrap()
            .check()
            .await
            .unwrap()
            .expect("the update");
        let bytes = updates::download(&handle, &update).await.unwrap();
        updates::install(&update, &bytes).unwrap();
    });
    assert_eq!(std::fs::read(&installed).unwrap(), artifact);
    let ran = Command::new(&installed).status().unwrap();
    assert!(ran.success(), "the installed build does not run: {ran}");

    // Each bad release is found, then its download refused with the signature's code and a
    // message saying why; nothing is reported verified and nothing is kept to install.
    let refusal = |signature: &str, artifact: Vec<u8>| -> String {
        serve(release_manifest("9.9.9", &url, signature), artifact);
        let found: Option<UpdateInfo> = invoke(&window, "check_update").unwrap();
        assert!(found.is_some());
        progress.lock().unwrap().clear();
        let refused = invoke::<UpdateInfo>(&window, "download_update").unwrap_err();
        assert_eq!(refused["code"], "update_signature", "{refused}");
        assert!(
            !progress.lock().unwrap().contains(&UpdateProgress::Verified),
            "a refused download was reported verified"
        );
        let nothing = invoke::<()>(&window, "install_update").unwrap_err();
        assert_eq!(nothing["code"], "update_not_downloaded", "{nothing}");
        refused["message"].as_str().unwrap().to_owned()
    };
    let mut tampered = artifact.clone();
    let middle = tampered.len() / 2;
    tampered[middle] ^= 0x5a;
    assert_eq!(
        refusal(&signature, tampered),
        "The downloaded update does not match its signature (it may have been altered on the \
         way), so it was not installed."
    );
    assert_eq!(
        refusal(&by_other_key, artifact.clone()),
        "The update is signed with a key this app does not trust, so it was not installed."
    );
    // A valid signature for an older version, announced as the newer one.
    assert_eq!(
        refusal(&for_older_version, artifact.clone()),
        "The update server announced version 9.9.9, but the download is signed as version \
         9.9.8, so it was not installed."
    );
    // Something that is not a signature at all.
    assert!(refusal("bm90IGEgc2lnbmF0dXJl", artifact.clone()).contains("signature"));

    // No server: a readable refusal, not a crash.
    drop(runtime);
    let refused = invoke::<Option<UpdateInfo>>(&window, "check_update").unwrap_err();
    assert_eq!(refused["code"], "update_unreachable", "{refused}");
}
