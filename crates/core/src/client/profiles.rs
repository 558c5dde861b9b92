//! Access profiles and spend forecasts.

use gatehouse_api::{AccessProfile, AccessProfileCreate, AccessProfilePatch, Forecast};
use reqwest::Method;

use super::{AdminClient, NO_QUERY};
use crate::error::CoreResult;

impl AdminClient {
    /// `GET /profiles`: every access profile, by name.
    pub async fn access_profiles(&self) -> CoreResult<Vec<AccessProfile>> {
        self.get(&["profiles"], NO_QUERY).await
    }
    pub async fn create_access_profile(
        &self,
        body: &AccessProfileCreate,
    ) -> CoreResult<AccessProfile> {
        self.with_body(Method::POST, &["profiles"], body).await
    }
    pub async fn patch_access_profile(
        &self,
        id: &str,
        body: &AccessProfilePatch,
    ) -> CoreResult<AccessProfile> {
        self.with_body(Method::PATCH, &["profiles", id], body).await
    }
    pub async fn delete_access_profile(&self, id: &str) -> CoreResult<()> {
        self.bare(Method::DELETE, &["profiles", id]).await
    }
    /// `GET /users/{id}/forecast`.
    pub async fn user_forecast(&self, id: &str) -> CoreResult<Forecast> {
        self.get(&["users", id, "forecast"], NO_QUERY).await
    }
    /// `GET /groups/{id}/forecast`.
    pub async fn group_forecast(&self, id: &str) -> CoreResult<Forecast> {
        self.get(&["groups", id, "forecast"], NO_QUERY).await
    }
    /// `GET /org/forecast`.
    pub async fn org_forecast(&self) -> CoreResult<Forecast> {
        self.get(&["org", "forecast"], NO_QUERY).await
    }
}
