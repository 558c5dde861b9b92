//! The demo gateway the app runs in-process when no gateway is configured: a SQLite file in the
//! app's data folder holding the seeded demo organisation, served on a free loopback port.

use std::path::Path;

use gatehouse_api::Secret;
use gatehouse_gateway::{Db, RunningGateway, demo};

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
    let token = demo::open(&db, "desktop app")
        .await
        .map_err(|e| CoreError::Embedded(e.to_string()))?;
    let gateway = RunningGateway::start_on_loopback(db).await?;
    tracing::info!(url = %gateway.url(), "embedded demo gateway started");
    Ok((gateway, token))
}
