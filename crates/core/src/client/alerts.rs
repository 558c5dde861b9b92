//! The alerts that spending against a budget raised.

use gatehouse_api::{Alert, ListQuery, Page};

use super::AdminClient;
use crate::error::CoreResult;

impl AdminClient {
    pub async fn alerts(&self, q: &ListQuery) -> CoreResult<Page<Alert>> {
        self.get(&["alerts"], q).await
    }
}
