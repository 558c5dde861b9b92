//! A user's API keys for the data plane.

use gatehouse_api::{ApiKey, ApiKeyCreate, ApiKeyCreated};
use reqwest::Method;

use super::{AdminClient, NO_QUERY};
use crate::error::CoreResult;

impl AdminClient {
    pub async fn user_keys(&self, id: &str) -> CoreResult<Vec<ApiKey>> {
        self.get(&["users", id, "keys"], NO_QUERY).await
    }
    pub async fn create_key(&self, user_id: &str, name: &str) -> CoreResult<ApiKeyCreated> {
        let body = ApiKeyCreate { name: name.into() };
        self.with_body(Method::POST, &["users", user_id, "keys"], &body)
            .await
    }
    pub async fn revoke_key(&self, id: &str) -> CoreResult<()> {
        self.bare(Method::DELETE, &["keys", id]).await
    }
}
