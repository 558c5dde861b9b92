//! User accounts: one by one, their life cycle, and their effective policy. The list is
//! [`super::AdminApi::users`], as sync reads it.

use gatehouse_api::{EffectivePolicy, Suspension, User, UserCreate, UserPatch};
use reqwest::Method;

use super::{AdminClient, NO_QUERY};
use crate::error::CoreResult;

impl AdminClient {
    pub async fn create_user(&self, body: &UserCreate) -> CoreResult<User> {
        self.with_body(Method::POST, &["users"], body).await
    }
    pub async fn user(&self, id: &str) -> CoreResult<User> {
        self.get(&["users", id], NO_QUERY).await
    }
    pub async fn patch_user(&self, id: &str, body: &UserPatch) -> CoreResult<User> {
        self.with_body(Method::PATCH, &["users", id], body).await
    }
    pub async fn delete_user(&self, id: &str) -> CoreResult<()> {
        self.bare(Method::DELETE, &["users", id]).await
    }
    /// Suspends the user; a `reason` goes into the audit entry.
    pub async fn suspend_user(&self, id: &str, reason: Option<&str>) -> CoreResult<User> {
        match reason {
            Some(reason) => {
                let body = Suspension {
                    reason: Some(reason.to_owned()),
                };
                self.with_body(Method::POST, &["users", id, "suspend"], &body)
                    .await
            }
            None => self.bare(Method::POST, &["users", id, "suspend"]).await,
        }
    }
    pub async fn reactivate_user(&self, id: &str) -> CoreResult<User> {
        self.bare(Method::POST, &["users", id, "reactivate"]).await
    }
    pub async fn approve_user(&self, id: &str) -> CoreResult<User> {
        self.bare(Method::POST, &["users", id, "approve"]).await
    }
    /// Declines a pending sign-up; the account is removed.
    pub async fn decline_user(&self, id: &str) -> CoreResult<()> {
        self.bare(Method::POST, &["users", id, "decline"]).await
    }
    /// Mails the user a link to set a new password.
    pub async fn reset_password(&self, id: &str) -> CoreResult<()> {
        self.bare(Method::POST, &["users", id, "password-reset"])
            .await
    }
    pub async fn effective(&self, id: &str) -> CoreResult<EffectivePolicy> {
        self.get(&["users", id, "effective"], NO_QUERY).await
    }
}
