//! Usage: the daily aggregates and the streamed CSV export.

use std::path::Path;

use gatehouse_api::{Page, UsageDaily, UsageQuery};
use tokio::io::AsyncWrite;

use super::AdminClient;
use crate::error::CoreResult;

impl AdminClient {
    pub async fn usage_daily(&self, q: &UsageQuery) -> CoreResult<Page<UsageDaily>> {
        self.get(&["usage", "daily"], q).await
    }

    /// Streams `GET /usage/export.csv` (the filters of `q`; its `limit` and `cursor` do not
    /// apply) into `out`; returns the bytes written. Only the read timeout bounds it.
    pub async fn export_usage_csv(
        &self,
        q: &UsageQuery,
        out: &mut (impl AsyncWrite + Unpin),
    ) -> CoreResult<u64> {
        self.download(&["usage", "export.csv"], &export_query(q), out)
            .await
    }

    /// [`Self::export_usage_csv`] into the file at `path`, written beside it first and renamed
    /// into place when complete, so a failed export leaves no half file.
    pub async fn export_usage_csv_to_file(&self, q: &UsageQuery, path: &Path) -> CoreResult<u64> {
        self.download_to_file(&["usage", "export.csv"], &export_query(q), path)
            .await
    }
}

fn export_query(q: &UsageQuery) -> UsageQuery {
    UsageQuery {
        limit: None,
        cursor: None,
        ..q.clone()
    }
}
