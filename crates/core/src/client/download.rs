//! Streamed downloads (the CSV and audit exports): into a writer, or into a file that appears
//! only when complete.

use std::path::Path;

use reqwest::Method;
use serde::Serialize;
use tokio::io::{AsyncWrite, AsyncWriteExt};

use super::AdminClient;
use crate::error::CoreResult;

impl AdminClient {
    /// Streams `GET segments?q` into `out`; returns the bytes written. Only the read timeout
    /// bounds it.
    pub(super) async fn download(
        &self,
        segments: &[&str],
        q: &(impl Serialize + ?Sized),
        out: &mut (impl AsyncWrite + Unpin),
    ) -> CoreResult<u64> {
        let mut response = self.send(Method::GET, segments, q, None, false).await?;
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

    /// [`Self::download`] into the file at `path`, written beside it first and renamed into
    /// place when complete, so a failed download leaves no half file.
    pub(super) async fn download_to_file(
        &self,
        segments: &[&str],
        q: &(impl Serialize + ?Sized),
        path: &Path,
    ) -> CoreResult<u64> {
        let mut partial = path.as_os_str().to_owned();
        partial.push(".part");
        let partial = std::path::PathBuf::from(partial);
        let mut file = tokio::fs::File::create(&partial).await?;
        let written = self.download(segments, q, &mut file).await;
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
