//! Every change the app makes through the gateway, as one tagged type: the UI sends a [`Change`],
//! the console runs it online only, syncs, and answers with what changed. Secrets the gateway
//! hands back once (a new API key, access token or SCIM token, an invitation's link) are split off into
//! [`Applied::secret`] so the shell can put them on the clipboard without the web view ever
//! holding them.

use gatehouse_api::{
    AccessProfile, AccessProfileCreate, AccessProfilePatch, AccessTokenCreate, ApiKey,
    ApiKeyCreate, ApiKeyUpdate, Budget, BulkInvite, BulkInviteResult, Channel, ChannelCreate,
    ChannelCreated, ChannelPatch, Grant, Group, GroupCreate, GroupMember, GroupPatch, GroupRole,
    IdentitySettings, IdentitySettingsInput, Invitation, InvitationCreate, Limits, Membership,
    Model, ModelCreate, ModelPatch, Org, OrgPatch, Role, ScimToken, ScimTokenCreate, Secret,
    SubjectKind, User, UserCreate, UserPatch, Workspace, WorkspaceCreate, WorkspacePatch,
};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::client::{AdminClient, Invited, Subject};
use crate::error::CoreResult;

/// One change. No `Debug`: a new user's password may be in it.
#[derive(Clone, Deserialize, TS)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Change {
    PatchOrg {
        patch: OrgPatch,
    },
    CreateWorkspace {
        workspace: WorkspaceCreate,
    },
    PatchWorkspace {
        id: String,
        patch: WorkspacePatch,
    },
    DeleteWorkspace {
        id: String,
    },
    SetWorkspaceMember {
        workspace_id: String,
        user_id: String,
        role: Role,
    },
    RemoveWorkspaceMember {
        workspace_id: String,
        user_id: String,
    },
    CreateUser {
        user: UserCreate,
    },
    PatchUser {
        id: String,
        patch: UserPatch,
    },
    DeleteUser {
        id: String,
    },
    SuspendUser {
        id: String,
        /// Why, kept in the audit entry.
        #[serde(default)]
        #[ts(optional)]
        reason: Option<String>,
    },
    ReactivateUser {
        id: String,
    },
    ApproveUser {
        id: String,
    },
    DeclineUser {
        id: String,
    },
    SendPasswordReset {
        id: String,
    },
    Grant {
        subject_kind: SubjectKind,
        subject_id: String,
        model_id: String,
    },
    RevokeGrant {
        subject_kind: SubjectKind,
        subject_id: String,
        model_id: String,
    },
    SetLimits {
        subject_kind: SubjectKind,
        subject_id: String,
        limits: Limits,
    },
    SetBudget {
        subject_kind: SubjectKind,
        subject_id: String,
        budget: Budget,
    },
    CreateKey {
        user_id: String,
        name: String,
        /// The key's own policy (issue 16); each left out is none.
        #[serde(default)]
        #[ts(optional)]
        expires_at: Option<chrono::DateTime<chrono::Utc>>,
        #[serde(default)]
        #[ts(optional)]
        model_ids: Option<Vec<String>>,
        #[serde(default)]
        #[ts(optional)]
        limits: Option<Limits>,
        #[serde(default)]
        #[ts(optional)]
        budget: Option<Budget>,
    },
    UpdateKey {
        id: String,
        patch: ApiKeyUpdate,
    },
    /// A new secret for the key (to the clipboard, like a new key's); the old one keeps working
    /// for `grace_seconds`, 0 to 7 days.
    RotateKey {
        id: String,
        #[ts(type = "number")]
        grace_seconds: i64,
    },
    RevokeKey {
        id: String,
    },
    CreateGroup {
        group: GroupCreate,
    },
    PatchGroup {
        id: String,
        patch: GroupPatch,
    },
    DeleteGroup {
        id: String,
    },
    SetGroupMember {
        group_id: String,
        user_id: String,
        role: GroupRole,
    },
    RemoveGroupMember {
        group_id: String,
        user_id: String,
    },
    CreateModel {
        model: ModelCreate,
    },
    PatchModel {
        id: String,
        patch: ModelPatch,
    },
    DeleteModel {
        id: String,
    },
    Invite {
        invitation: InvitationCreate,
    },
    BulkInvite {
        bulk: BulkInvite,
    },
    ResendInvitation {
        id: String,
    },
    RevokeInvitation {
        id: String,
    },
    CreateToken {
        token: AccessTokenCreate,
    },
    DeleteToken {
        id: String,
    },
    CreateScimToken {
        token: ScimTokenCreate,
    },
    DeleteScimToken {
        id: String,
    },
    SetIdentitySettings {
        settings: IdentitySettingsInput,
    },
    CreateAccessProfile {
        profile: AccessProfileCreate,
    },
    PatchAccessProfile {
        id: String,
        patch: AccessProfilePatch,
    },
    DeleteAccessProfile {
        id: String,
    },
    /// A notification channel; its signing secret goes to [`Applied::secret`].
    CreateChannel {
        channel: ChannelCreate,
    },
    PatchChannel {
        id: String,
        patch: ChannelPatch,
    },
    DeleteChannel {
        id: String,
    },
    /// A new signing secret, to [`Applied::secret`].
    RotateChannelSecret {
        id: String,
    },
    /// Queues a `channel.test` event for the channel.
    TestChannel {
        id: String,
    },
}

/// What a change made, as the UI may see it: never a secret.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Changed {
    Done,
    Org(Org),
    Workspace(Workspace),
    Membership(Membership),
    User(User),
    Grant(Grant),
    Limits(Limits),
    Budget(Budget),
    /// A new, changed or rotated API key; a new secret went to [`Applied::secret`].
    ApiKey(ApiKey),
    Group(Group),
    GroupMember(GroupMember),
    Model(Model),
    /// An invitation without its link; the link went to [`Applied::secret`].
    Invitation(Invitation),
    /// The address already had an account: it was added to the workspaces instead.
    ExistingUser(User),
    /// Per-address outcomes, without links.
    BulkInvite(BulkInviteResult),
    /// A new personal access token's id; its secret went to [`Applied::secret`].
    Token {
        id: String,
        name: String,
    },
    /// A new SCIM token; its secret went to [`Applied::secret`].
    ScimToken(ScimToken),
    IdentitySettings(IdentitySettings),
    AccessProfile(AccessProfile),
    /// A notification channel; a new or rotated secret went to [`Applied::secret`].
    Channel(Channel),
}

/// A change's result and the one secret it may have produced.
pub struct Applied {
    pub changed: Changed,
    pub secret: Option<Secret>,
}

impl From<Changed> for Applied {
    fn from(changed: Changed) -> Self {
        Self {
            changed,
            secret: None,
        }
    }
}

/// A key's limits and budget are changed through the key ([`Change::UpdateKey`]).
fn subject(kind: SubjectKind, id: &str) -> CoreResult<Subject<'_>> {
    match kind {
        SubjectKind::User => Ok(Subject::User(id)),
        SubjectKind::Group => Ok(Subject::Group(id)),
        SubjectKind::Key => Err(crate::error::CoreError::Invalid(
            "an API key's policy is changed on the key".into(),
        )),
    }
}

/// The channel, and its signing secret apart.
fn split_secret(created: ChannelCreated) -> Applied {
    Applied {
        changed: Changed::Channel(created.channel),
        secret: Some(Secret::new(created.secret)),
    }
}

/// The invitation without its link, and the link.
fn split_link(mut invitation: Invitation) -> Applied {
    let secret = invitation.link.take().map(Secret::new);
    Applied {
        changed: Changed::Invitation(invitation),
        secret,
    }
}

impl Change {
    /// Runs the change against the gateway.
    pub async fn run(self, client: &AdminClient) -> CoreResult<Applied> {
        use Changed as C;
        Ok(match self {
            Self::PatchOrg { patch } => C::Org(client.patch_org(&patch).await?).into(),
            Self::CreateWorkspace { workspace } => {
                C::Workspace(client.create_workspace(&workspace).await?).into()
            }
            Self::PatchWorkspace { id, patch } => {
                C::Workspace(client.patch_workspace(&id, &patch).await?).into()
            }
            Self::DeleteWorkspace { id } => {
                client.delete_workspace(&id).await?;
                C::Done.into()
            }
            Self::SetWorkspaceMember {
                workspace_id,
                user_id,
                role,
            } => C::Membership(
                client
                    .put_workspace_member(&workspace_id, &user_id, role)
                    .await?,
            )
            .into(),
            Self::RemoveWorkspaceMember {
                workspace_id,
                user_id,
            } => {
                client
                    .delete_workspace_member(&workspace_id, &user_id)
                    .await?;
                C::Done.into()
            }
            Self::CreateUser { user } => C::User(client.create_user(&user).await?).into(),
            Self::PatchUser { id, patch } => C::User(client.patch_user(&id, &patch).await?).into(),
            Self::DeleteUser { id } => {
                client.delete_user(&id).await?;
                C::Done.into()
            }
            Self::SuspendUser { id, reason } => {
                C::User(client.suspend_user(&id, reason.as_deref()).await?).into()
            }
            Self::ReactivateUser { id } => C::User(client.reactivate_user(&id).await?).into(),
            Self::ApproveUser { id } => C::User(client.approve_user(&id).await?).into(),
            Self::DeclineUser { id } => {
                client.decline_user(&id).await?;
                C::Done.into()
            }
            Self::SendPasswordReset { id } => {
                client.reset_password(&id).await?;
                C::Done.into()
            }
            Self::Grant {
                subject_kind,
                subject_id,
                model_id,
            } => C::Grant(
                client
                    .put_grant(subject(subject_kind, &subject_id)?, &model_id)
                    .await?,
            )
            .into(),
            Self::RevokeGrant {
                subject_kind,
                subject_id,
                model_id,
            } => {
                client
                    .delete_grant(subject(subject_kind, &subject_id)?, &model_id)
                    .await?;
                C::Done.into()
            }
            Self::SetLimits {
                subject_kind,
                subject_id,
                limits,
            } => C::Limits(
                client
                    .put_limits(subject(subject_kind, &subject_id)?, &limits)
                    .await?,
            )
            .into(),
            Self::SetBudget {
                subject_kind,
                subject_id,
                budget,
            } => C::Budget(
                client
                    .put_budget(subject(subject_kind, &subject_id)?, &budget)
                    .await?,
            )
            .into(),
            Self::CreateKey {
                user_id,
                name,
                expires_at,
                model_ids,
                limits,
                budget,
            } => {
                let key = ApiKeyCreate {
                    name,
                    expires_at,
                    model_ids,
                    limits,
                    budget,
                };
                let created = client.create_key(&user_id, &key).await?;
                Applied {
                    changed: C::ApiKey(created.key),
                    secret: Some(Secret::new(created.secret)),
                }
            }
            Self::UpdateKey { id, patch } => {
                C::ApiKey(client.update_key(&id, &patch).await?).into()
            }
            Self::RotateKey { id, grace_seconds } => {
                let rotated = client.rotate_key(&id, grace_seconds).await?;
                Applied {
                    changed: C::ApiKey(rotated.key),
                    secret: Some(Secret::new(rotated.secret)),
                }
            }
            Self::RevokeKey { id } => {
                client.revoke_key(&id).await?;
                C::Done.into()
            }
            Self::CreateGroup { group } => C::Group(client.create_group(&group).await?).into(),
            Self::PatchGroup { id, patch } => {
                C::Group(client.patch_group(&id, &patch).await?).into()
            }
            Self::DeleteGroup { id } => {
                client.delete_group(&id).await?;
                C::Done.into()
            }
            Self::SetGroupMember {
                group_id,
                user_id,
                role,
            } => C::GroupMember(client.put_group_member(&group_id, &user_id, role).await?).into(),
            Self::RemoveGroupMember { group_id, user_id } => {
                client.delete_group_member(&group_id, &user_id).await?;
                C::Done.into()
            }
            Self::CreateModel { model } => C::Model(client.create_model(&model).await?).into(),
            Self::PatchModel { id, patch } => {
                C::Model(client.patch_model(&id, &patch).await?).into()
            }
            Self::DeleteModel { id } => {
                client.delete_model(&id).await?;
                C::Done.into()
            }
            Self::Invite { invitation } => match client.invite(&invitation).await? {
                Invited::Invitation(invitation) => split_link(*invitation),
                Invited::ExistingUser(user) => C::ExistingUser(*user).into(),
            },
            Self::BulkInvite { bulk } => {
                let mut result = client.bulk_invite(&bulk).await?;
                for item in &mut result.results {
                    if let Some(invitation) = item.invitation.as_mut() {
                        invitation.link = None;
                    }
                }
                C::BulkInvite(result).into()
            }
            Self::ResendInvitation { id } => split_link(client.resend_invitation(&id).await?),
            Self::RevokeInvitation { id } => {
                let mut revoked = client.revoke_invitation(&id).await?;
                revoked.link = None;
                C::Invitation(revoked).into()
            }
            Self::CreateToken { token } => {
                let created = client.create_token(&token).await?;
                Applied {
                    changed: C::Token {
                        id: created.token.id,
                        name: created.token.name,
                    },
                    secret: Some(Secret::new(created.secret)),
                }
            }
            Self::DeleteToken { id } => {
                client.delete_token(&id).await?;
                C::Done.into()
            }
            Self::CreateScimToken { token } => {
                let created = client.create_scim_token(&token).await?;
                Applied {
                    changed: C::ScimToken(created.token),
                    secret: Some(Secret::new(created.secret)),
                }
            }
            Self::DeleteScimToken { id } => {
                client.delete_scim_token(&id).await?;
                C::Done.into()
            }
            Self::SetIdentitySettings { settings } => {
                C::IdentitySettings(client.set_identity_settings(&settings).await?).into()
            }
            Self::CreateAccessProfile { profile } => {
                C::AccessProfile(client.create_access_profile(&profile).await?).into()
            }
            Self::PatchAccessProfile { id, patch } => {
                C::AccessProfile(client.patch_access_profile(&id, &patch).await?).into()
            }
            Self::DeleteAccessProfile { id } => {
                client.delete_access_profile(&id).await?;
                C::Done.into()
            }
            Self::CreateChannel { channel } => split_secret(client.create_channel(&channel).await?),
            Self::PatchChannel { id, patch } => {
                C::Channel(client.patch_channel(&id, &patch).await?).into()
            }
            Self::DeleteChannel { id } => {
                client.delete_channel(&id).await?;
                C::Done.into()
            }
            Self::RotateChannelSecret { id } => {
                split_secret(client.rotate_channel_secret(&id).await?)
            }
            Self::TestChannel { id } => {
                client.test_channel(&id).await?;
                C::Done.into()
            }
        })
    }
}
