//! With no usable keychain (here: no Secret Service on the session bus), signing in says exactly
//! that and how to fix it, and the credential lands in no file.
//!
//! The scenario runs in a child process of this test whose session bus address points nowhere,
//! so the rest of the suite keeps its real keychain.

use std::process::Command;
use std::sync::Arc;

use gatehouse_api::Secret;
use gatehouse_core::credentials::Keychain;
use gatehouse_core::ipc::{ProfileInput, SignIn};
use gatehouse_core::{AppDirs, Console};

const CHILD: &str = "GATEHOUSE_NO_KEYCHAIN_CHILD";
const TEST: &str = "signing_in_without_a_keychain_says_how_to_fix_it_and_writes_no_file";

#[tokio::test]
async fn signing_in_without_a_keychain_says_how_to_fix_it_and_writes_no_file() {
    if std::env::var_os(CHILD).is_none() {
        let out = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", TEST, "--nocapture"])
            .env(CHILD, "1")
            .env(
                "DBUS_SESSION_BUS_ADDRESS",
                "unix:path=/nonexistent/gatehouse-bus",
            )
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{text}");
        assert!(text.contains("child checked"), "{text}");
        return;
    }

    let dir = tempfile::tempdir().unwrap();
    let (gateway, token) = gatehouse_core::embedded::start(&dir.path().join("gw.db"))
        .await
        .unwrap();
    let dirs = AppDirs {
        config: dir.path().join("config"),
        data: dir.path().join("data"),
    };
    let console = Console::new(
        dirs.clone(),
        Arc::new(Keychain::new("dev.gatehouse.test.nokeychain")),
        Arc::new(|_| {}),
    );
    let profile = console
        .add_profile(ProfileInput {
            name: "Production".into(),
            url: gateway.url(),
            ca_pem: None,
            insecure_http: false,
        })
        .await
        .unwrap();
    let e = console
        .sign_in(
            &profile.id,
            SignIn::Token {
                token: Secret::new(token.expose()),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), "keychain_unavailable");
    let message = e.to_ipc().message;
    assert!(message.contains("No usable keychain"), "{message}");
    assert!(message.contains("Secret Service"), "{message}");
    assert!(message.contains("gnome-keyring"), "{message}");
    assert!(!message.contains(token.expose()));

    // Still signed out, and no file anywhere holds the token.
    assert!(!console.profiles().await.unwrap()[0].signed_in);
    let mut stack = vec![dir.path().join("config"), dir.path().join("data")];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let bytes = std::fs::read(&path).unwrap();
                assert!(
                    !bytes
                        .windows(token.expose().len())
                        .any(|w| w == token.expose().as_bytes()),
                    "{} holds the token",
                    path.display()
                );
            }
        }
    }
    println!("child checked");
}
