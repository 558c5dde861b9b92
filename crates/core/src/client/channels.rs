//! Notification channels (outgoing webhooks) under `/channels`, and the audit log's streamed
//! export.

use std::path::Path;

use gatehouse_api::{
    AuditExportQuery, Channel, ChannelCreate, ChannelCreated, ChannelPatch, DeliveryAttempt,
};
use reqwest::Method;
use tokio::io::AsyncWrite;

use super::{AdminClient, NO_QUERY};
use crate::error::CoreResult;

impl AdminClient {
    /// Every channel, oldest first (never their secrets).
    pub async fn channels(&self) -> CoreResult<Vec<Channel>> {
        self.get(&["channels"], NO_QUERY).await
    }
    pub async fn create_channel(&self, body: &ChannelCreate) -> CoreResult<ChannelCreated> {
        self.with_body(Method::POST, &["channels"], body).await
    }
    pub async fn patch_channel(&self, id: &str, body: &ChannelPatch) -> CoreResult<Channel> {
        self.with_body(Method::PATCH, &["channels", id], body).await
    }
    pub async fn delete_channel(&self, id: &str) -> CoreResult<()> {
        self.bare(Method::DELETE, &["channels", id]).await
    }
    pub async fn rotate_channel_secret(&self, id: &str) -> CoreResult<ChannelCreated> {
        self.bare(Method::POST, &["channels", id, "rotate-secret"])
            .await
    }
    pub async fn test_channel(&self, id: &str) -> CoreResult<()> {
        self.bare(Method::POST, &["channels", id, "test"]).await
    }
    /// The channel's last 1,000 delivery attempts, newest first.
    pub async fn channel_deliveries(&self, id: &str) -> CoreResult<Vec<DeliveryAttempt>> {
        self.get(&["channels", id, "deliveries"], NO_QUERY).await
    }

    /// Streams `GET /audit/export` into `out`; returns the bytes written.
    pub async fn export_audit(
        &self,
        q: &AuditExportQuery,
        out: &mut (impl AsyncWrite + Unpin),
    ) -> CoreResult<u64> {
        self.download(&["audit", "export"], q, out).await
    }

    /// [`Self::export_audit`] into the file at `path`, which appears only when complete.
    pub async fn export_audit_to_file(&self, q: &AuditExportQuery, path: &Path) -> CoreResult<u64> {
        self.download_to_file(&["audit", "export"], q, path).await
    }
}
