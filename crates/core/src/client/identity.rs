//! The org's single sign-on settings, under `/identity`. The providers in them are the gateway's
//! configuration and are only ever read.

use gatehouse_api::{IdentitySettings, IdentitySettingsInput};
use reqwest::Method;

use super::{AdminClient, NO_QUERY};
use crate::error::CoreResult;

impl AdminClient {
    pub async fn identity_settings(&self) -> CoreResult<IdentitySettings> {
        self.get(&["identity"], NO_QUERY).await
    }
    pub async fn set_identity_settings(
        &self,
        body: &IdentitySettingsInput,
    ) -> CoreResult<IdentitySettings> {
        self.with_body(Method::PUT, &["identity"], body).await
    }
}
