//! `make bench`: the real app over a cache of 100,000 users. This program serves the large
//! organisation (the one `desktop_sync` uses) from a gateway on 127.0.0.1, makes an app home with
//! one profile signed in to it and fully synced — through the console the app itself runs, with the
//! real keychain — then runs `tests/e2e/bench-ui.mjs`, which launches the release app
//! (`GATEHOUSE_APP`) under tauri-driver and prints the `BENCH ui_*` lines. It must run where the
//! app can: under Xvfb and with a Secret Service (the Makefile wraps it).
//!
//! GATEHOUSE_DESKTOP_BENCH_DB keeps the gateway's database (and reuses it on the next run).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};
use gatehouse_core::credentials::Keychain;
use gatehouse_core::ipc::{ProfileInput, SignIn};
use gatehouse_core::{AppDirs, Console};
use gatehouse_gateway::{RunningGateway, bench_seed};

/// The app's identifier (tauri.conf.json): its folders and its keychain entries are named by it.
const IDENTIFIER: &str = "dev.gatehouse.console";

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let app = std::env::var("GATEHOUSE_APP").context("GATEHOUSE_APP must name the release app")?;
    let dir = tempfile::tempdir()?;
    let (db, token) = bench_seed::open_large("GATEHOUSE_DESKTOP_BENCH_DB", dir.path()).await?;
    let gateway = RunningGateway::start_on_loopback(db.clone()).await?;

    // The folders Tauri gives the app on Linux under these XDG homes.
    let home = dir.path().join("home");
    let dirs = AppDirs {
        config: home.join("config").join(IDENTIFIER),
        data: home.join("data").join(IDENTIFIER),
    };
    let started = Instant::now();
    {
        let console = Console::new(dirs, Arc::new(Keychain::new(IDENTIFIER)), Arc::new(|_| {}));
        let profile = console
            .add_profile(ProfileInput {
                name: "Bench Org".into(),
                url: gateway.url(),
                ca_pem: None,
                insecure_http: false,
            })
            .await?;
        console
            .sign_in(&profile.id, SignIn::Token { token })
            .await?;
        let cached = console.users(&Default::default()).await?.total;
        if cached < bench_seed::LARGE.users as u64 {
            bail!("the cache holds {cached} users after the first sync");
        }
        console.cache().await?.close().await;
        eprintln!(
            "app home with {cached} cached users in {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }

    let harness = repo_root().join("tests/e2e/bench-ui.mjs");
    let status = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(harness)
            .env("GATEHOUSE_APP", app)
            .env("GATEHOUSE_BENCH_HOME", &home)
            .status()
    })
    .await??;
    gateway.stop().await;
    if !status.success() {
        bail!("tests/e2e/bench-ui.mjs failed: {status}");
    }
    Ok(())
}
