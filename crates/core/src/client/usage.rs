//! Usage: the daily aggregates and the streamed CSV export.

use std::path::Path;

use gatehouse_api::{Page, UsageDaily, UsageQuery};
use reqwest::Method;
use tokio::io::{AsyncWrite, AsyncWriteExt};

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
        let q = UsageQuery {
            limit: None,
            cursor: None,
            ..q.clone()
        };
        let mut response = self
            .send(Method::GET, &["usage", "export.csv"], &q, None, false)
            .await?;
        let mut written = 0u64;
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| self.transport_error(e))?
        {
            out.write_all(&chunk).await?;
            written += chunk.len() as u64;
        }
        out.flush().await?;
        Ok(written)
    }

    /// [`Self::export_usage_csv`] into the file at `path`, written beside it first and renamed
    /// into place when complete, so a failed export leaves no half file.
    pub async fn export_usage_csv_to_file(&self, q: &UsageQuery, path: &Path) -> CoreResult<u64> {
        let mut partial = path.as_os_str().to_owned();
        partial.push(".part");
        let partial = std::path::PathBuf::from(partial);
        let mut file = tokio::fs::File::create(&partial).await?;
        let written = self.export_usage_csv(q, &mut file).await;
        drop(file);
        match written {
            Ok(n) => {
                tokio::fs::rename(&partial, path).await?;
                Ok(n)
            }
            Err(e) => {
                let _ = tokio::fs::remove_file(&partial).await;
                Err(e)
            }
        }
    }
}
