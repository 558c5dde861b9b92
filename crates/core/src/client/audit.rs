//! The audit log.

use gatehouse_api::{AuditEntry, AuditQuery, Page};

use super::AdminClient;
use crate::error::CoreResult;

impl AdminClient {
    pub async fn audit(&self, q: &AuditQuery) -> CoreResult<Page<AuditEntry>> {
        self.get(&["audit"], q).await
    }
}
