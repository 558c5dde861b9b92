//! Invitations: one, many at once, resent and revoked.

use gatehouse_api::{
    BulkInvite, BulkInviteResult, Invitation, InvitationCreate, InvitationListQuery, Page, User,
};
use reqwest::{Method, StatusCode};

use super::{AdminClient, NO_QUERY, decode, json};
use crate::error::CoreResult;

/// What `POST /invitations` did: invited the address, or, as it already has an account, added
/// that account to the workspaces.
#[derive(Debug, Clone, PartialEq)]
pub enum Invited {
    Invitation(Box<Invitation>),
    ExistingUser(Box<User>),
}

impl AdminClient {
    pub async fn invitations(&self, q: &InvitationListQuery) -> CoreResult<Page<Invitation>> {
        self.get(&["invitations"], q).await
    }
    /// Invites one address; an address that already has an account is added to the workspaces
    /// instead ([`Invited::ExistingUser`]).
    pub async fn invite(&self, body: &InvitationCreate) -> CoreResult<Invited> {
        let response = self
            .send(Method::POST, &["invitations"], NO_QUERY, json(body)?, true)
            .await?;
        Ok(if response.status() == StatusCode::CREATED {
            Invited::Invitation(decode(response).await?)
        } else {
            Invited::ExistingUser(decode(response).await?)
        })
    }
    pub async fn bulk_invite(&self, body: &BulkInvite) -> CoreResult<BulkInviteResult> {
        self.with_body(Method::POST, &["invitations", "bulk"], body)
            .await
    }
    pub async fn invitation(&self, id: &str) -> CoreResult<Invitation> {
        self.get(&["invitations", id], NO_QUERY).await
    }
    pub async fn resend_invitation(&self, id: &str) -> CoreResult<Invitation> {
        self.bare(Method::POST, &["invitations", id, "resend"])
            .await
    }
    pub async fn revoke_invitation(&self, id: &str) -> CoreResult<Invitation> {
        self.bare(Method::POST, &["invitations", id, "revoke"])
            .await
    }
}
