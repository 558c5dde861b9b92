//! The signed-in admin's own access tokens, under `/me/tokens`.

use gatehouse_api::{AccessToken, AccessTokenCreate, AccessTokenCreated, ListQuery, Page};
use reqwest::Method;

use super::AdminClient;
use crate::error::CoreResult;

impl AdminClient {
    pub async fn tokens(&self, q: &ListQuery) -> CoreResult<Page<AccessToken>> {
        self.get(&["me", "tokens"], q).await
    }
    pub async fn create_token(&self, body: &AccessTokenCreate) -> CoreResult<AccessTokenCreated> {
        self.with_body(Method::POST, &["me", "tokens"], body).await
    }
    pub async fn delete_token(&self, id: &str) -> CoreResult<()> {
        self.bare(Method::DELETE, &["me", "tokens", id]).await
    }
}
