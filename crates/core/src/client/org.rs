//! The organisation's settings and its role table.

use gatehouse_api::{Org, OrgPatch, RoleInfo};
use reqwest::Method;

use super::{AdminClient, NO_QUERY};
use crate::error::CoreResult;

impl AdminClient {
    pub async fn org(&self) -> CoreResult<Org> {
        self.get(&["org"], NO_QUERY).await
    }
    pub async fn patch_org(&self, body: &OrgPatch) -> CoreResult<Org> {
        self.with_body(Method::PATCH, &["org"], body).await
    }
    pub async fn roles(&self) -> CoreResult<Vec<RoleInfo>> {
        self.get(&["roles"], NO_QUERY).await
    }
}
