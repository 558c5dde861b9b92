//! A user's API keys for the data plane.

use gatehouse_api::{
    ApiKey, ApiKeyCreate, ApiKeyCreated, ApiKeyRotate, ApiKeyUpdate, EffectivePolicy,
};
use reqwest::Method;

use super::{AdminClient, NO_QUERY};
use crate::error::CoreResult;

impl AdminClient {
    pub async fn user_keys(&self, id: &str) -> CoreResult<Vec<ApiKey>> {
        self.get(&["users", id, "keys"], NO_QUERY).await
    }
    pub async fn create_key(&self, user_id: &str, key: &ApiKeyCreate) -> CoreResult<ApiKeyCreated> {
        self.with_body(Method::POST, &["users", user_id, "keys"], key)
            .await
    }
    pub async fn key(&self, id: &str) -> CoreResult<ApiKey> {
        self.get(&["keys", id], NO_QUERY).await
    }
    pub async fn update_key(&self, id: &str, patch: &ApiKeyUpdate) -> CoreResult<ApiKey> {
        self.with_body(Method::PATCH, &["keys", id], patch).await
    }
    /// A new secret for the key; the old one works for `grace_seconds` more.
    pub async fn rotate_key(&self, id: &str, grace_seconds: i64) -> CoreResult<ApiKeyCreated> {
        let body = ApiKeyRotate {
            grace_hours: None,
            grace_seconds: Some(grace_seconds),
        };
        self.with_body(Method::POST, &["keys", id, "rotate"], &body)
            .await
    }
    pub async fn key_effective(&self, id: &str) -> CoreResult<EffectivePolicy> {
        self.get(&["keys", id, "effective"], NO_QUERY).await
    }
    pub async fn revoke_key(&self, id: &str) -> CoreResult<()> {
        self.bare(Method::DELETE, &["keys", id]).await
    }
}
