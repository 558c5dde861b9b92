//! Workspaces and their members.

use gatehouse_api::{
    ListQuery, MemberRole, Membership, Page, Role, Workspace, WorkspaceCreate, WorkspacePatch,
};
use reqwest::Method;

use super::{AdminClient, NO_QUERY, json};
use crate::error::CoreResult;

impl AdminClient {
    collection!(
        "workspaces",
        Workspace,
        WorkspaceCreate,
        WorkspacePatch,
        workspaces,
        create_workspace,
        workspace,
        patch_workspace,
        delete_workspace
    );

    pub async fn put_workspace_member(
        &self,
        id: &str,
        user: &str,
        role: Role,
    ) -> CoreResult<Membership> {
        let body = json(&MemberRole { role })?;
        self.member(Method::PUT, "workspaces", id, user, body).await
    }
    pub async fn delete_workspace_member(&self, id: &str, user: &str) -> CoreResult<()> {
        self.member(Method::DELETE, "workspaces", id, user, None)
            .await
    }
}
