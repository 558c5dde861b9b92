//! Groups and their members.

use gatehouse_api::{
    Group, GroupCreate, GroupMember, GroupMemberRole, GroupPatch, GroupRole, ListQuery, Page,
};
use reqwest::Method;

use super::{AdminClient, NO_QUERY, json};
use crate::error::CoreResult;

impl AdminClient {
    collection!(
        "groups",
        Group,
        GroupCreate,
        GroupPatch,
        groups,
        create_group,
        group,
        patch_group,
        delete_group
    );

    pub async fn put_group_member(
        &self,
        id: &str,
        user: &str,
        role: GroupRole,
    ) -> CoreResult<GroupMember> {
        let body = json(&GroupMemberRole { role })?;
        self.member(Method::PUT, "groups", id, user, body).await
    }
    pub async fn delete_group_member(&self, id: &str, user: &str) -> CoreResult<()> {
        self.member(Method::DELETE, "groups", id, user, None).await
    }
}
