//! The demo gateway the app runs in-process when no gateway is configured: a SQLite file in the
//! app's data folder holding the seeded demo organisation, served on a free loopback port.
//!
//! Its invitation key (see `gatehouse_gateway::invite_key`) is a file beside the demo database
//! (`demo-gateway.invite-key`, readable by its owner alone), so that invitation links made in
//! the demo can be copied again after the app restarts. A key beside its database protects
//! little against a copy of the folder; that is acceptable for the demo's made-up people only.

use std::path::Path;

use gatehouse_api::Secret;
use gatehouse_gateway::invite_key::InviteKey;
use gatehouse_gateway::{Db, GatewayOptions, RunningGateway, demo};

use crate::error::{CoreError, CoreResult};

/// Starts the demo gateway on `db_path` (seeding it on first use) and returns it with a fresh
/// admin token for this run of the app.
pub async fn start(db_path: &Path) -> CoreResult<(RunningGateway, Secret)> {
    if let Some(dir) = db_path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let url = format!("sqlite://{}", db_path.display());
    let db = Db::connect(&url)
        .await
        .map_err(|e| CoreError::Embedded(e.to_string()))?;
    let key = InviteKey::load_or_create(&db_path.with_extension("invite-key"))
        .map_err(|e| CoreError::Embedded(format!("{e:#}")))?;
    let token = demo::open(&db, "desktop app", &key)
        .await
        .map_err(|e| CoreError::Embedded(e.to_string()))?;
    let options = GatewayOptions {
        invite_key: Some(key),
        ..GatewayOptions::default()
    };
    let gateway = RunningGateway::start_on_loopback_with(db, options)
        .await
        .map_err(|e| CoreError::Embedded(format!("{e:#}")))?;
    tracing::info!(url = %gateway.url(), "embedded demo gateway started");
    Ok((gateway, token))
}
