//! The tokens identity providers provision users and groups with, under `/scim/tokens`.

use gatehouse_api::{ScimToken, ScimTokenCreate, ScimTokenCreated};
use reqwest::Method;

use super::{AdminClient, NO_QUERY};
use crate::error::CoreResult;

impl AdminClient {
    /// Every SCIM token, oldest first; the gateway answers with all of them, not a page.
    pub async fn scim_tokens(&self) -> CoreResult<Vec<ScimToken>> {
        self.get(&["scim", "tokens"], NO_QUERY).await
    }
    pub async fn create_scim_token(&self, body: &ScimTokenCreate) -> CoreResult<ScimTokenCreated> {
        self.with_body(Method::POST, &["scim", "tokens"], body)
            .await
    }
    pub async fn delete_scim_token(&self, id: &str) -> CoreResult<()> {
        self.bare(Method::DELETE, &["scim", "tokens", id]).await
    }
}
