//! The console's first start: no profile, so it starts the demo gateway in-process, makes a
//! profile for it with the token in the real keychain, syncs, and serves users from the cache.

use std::sync::{Arc, Mutex};

use gatehouse_core::credentials::{CredentialStore, Keychain, Slot};
use gatehouse_core::ipc::{AppStatus, Phase, UserFilter};
use gatehouse_core::{AppDirs, Console};

#[tokio::test]
async fn first_start_runs_the_demo_gateway_and_shows_its_users() {
    let dir = tempfile::tempdir().unwrap();
    let dirs = AppDirs {
        config: dir.path().join("config"),
        data: dir.path().join("data"),
    };
    let keychain = Arc::new(Keychain::new(format!(
        "dev.gatehouse.test.console.{}",
        std::process::id()
    )));
    let seen: Arc<Mutex<Vec<AppStatus>>> = Arc::default();
    let sink = {
        let seen = seen.clone();
        Arc::new(move |s| seen.lock().unwrap().push(s))
    };
    let console = Console::new(dirs.clone(), keychain.clone(), sink);
    assert_eq!(console.status().await.phase, Phase::Starting);
    console.start().await;

    let status = console.status().await;
    assert_eq!(status.phase, Phase::Ready, "{:?}", status.error);
    assert!(!status.offline);
    assert!(status.synced_at.is_some());
    let profile = status.profile.unwrap();
    assert!(profile.embedded);
    assert!(profile.url.starts_with("http://127.0.0.1:"));
    assert_eq!(
        status.me.unwrap().org.name,
        gatehouse_gateway::demo::DEMO_ORG
    );
    assert!(
        seen.lock().unwrap().iter().any(|s| s.syncing.is_some()),
        "progress was published"
    );

    let users = console
        .users(&UserFilter {
            limit: 500,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(users.total as usize, gatehouse_gateway::demo::DEMO_USERS);

    // The token is in the keychain and nowhere in the config folder.
    let token = keychain
        .get(Slot::Token(&profile.id))
        .unwrap()
        .expect("token in the keychain");
    for entry in std::fs::read_dir(&dirs.config).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        assert!(!text.contains(token.expose()));
    }
    keychain.delete(Slot::Token(&profile.id)).unwrap();
}
