//! Incremental sync of the cache from the gateway's change feed.

use chrono::Utc;

use crate::cache::Cache;
use crate::client::AdminApi;
use crate::error::CoreResult;
use crate::ipc::{SyncProgress, SyncReport};

/// Changes asked for per request; each batch is applied in one transaction.
pub const BATCH: u32 = 2000;

/// Brings `cache` up to date with the gateway behind `api`, from where it stopped last.
pub async fn sync(
    api: &impl AdminApi,
    cache: &Cache,
    mut progress: impl FnMut(SyncProgress),
) -> CoreResult<SyncReport> {
    let (mut since, _) = cache.sync_state().await?;
    let start = since;
    let mut applied = 0u64;
    let mut page = api.sync(since, BATCH).await?;
    let mut writer = cache.writer().await?;
    loop {
        // The next page is fetched while this one is applied: the gateway and the cache's
        // SQLite thread work at the same time.
        let apply = writer.apply(&page.changes, page.next_since);
        let (applied_now, next) = if page.has_more {
            let (a, n) = tokio::join!(apply, api.sync(page.next_since, BATCH));
            (a, Some(n))
        } else {
            (apply.await, None)
        };
        applied_now?;
        applied += page.changes.len() as u64;
        since = page.next_since;
        progress(SyncProgress {
            applied,
            start,
            revision: since,
            head: page.head.max(since),
        });
        match next {
            Some(next) => page = next?,
            None => break,
        }
    }
    drop(writer);
    // The usage roll-ups are brought up to date once per sync, so no screen pays for them.
    cache.refresh_usage_rollup().await?;
    let synced_at = Utc::now();
    cache.mark_synced(synced_at).await?;
    Ok(SyncReport {
        applied,
        revision: since,
        synced_at,
    })
}
