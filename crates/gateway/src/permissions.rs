//! The one permission table of the gateway. Every handler asks it; `/me` and `/roles` report it,
//! and a test walks every endpoint with every role against it.
//!
//! Scoped grants sit on top of the table: a workspace's own admins manage that workspace
//! (the higher of the org role and the workspace role counts), a group's managers look after
//! its plain members' policy within the group's own and never loosen it (`policy` says how far),
//! and every user manages their own profile, API keys and tokens and reads their own usage.

use gatehouse_api::Role;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    OrgRead,
    OrgWrite,
    UsersRead,
    /// Add users, edit them, change their roles.
    UsersWrite,
    /// Suspend, reactivate, approve, decline, delete, reset passwords.
    UsersLifecycle,
    InvitationsRead,
    /// Invite, resend, revoke, and read invitation links.
    InvitationsWrite,
    WorkspacesRead,
    WorkspacesWrite,
    GroupsRead,
    GroupsWrite,
    ModelsRead,
    ModelsWrite,
    /// Grants, rate limits and budgets of users and groups.
    PolicyWrite,
    KeysRead,
    /// Create and revoke any user's API keys.
    KeysWrite,
    UsageRead,
    AuditRead,
    SyncRead,
    /// See how people sign in and are provisioned: SCIM tokens (never their secrets).
    IdentityRead,
    /// Make and revoke SCIM tokens.
    IdentityWrite,
    /// See notification channels (never their secrets) and their delivery logs.
    NotificationsRead,
    /// Make, edit and delete notification channels, rotate their secrets, send test events.
    NotificationsWrite,
}

impl Permission {
    pub const ALL: [Permission; 23] = [
        Self::OrgRead,
        Self::OrgWrite,
        Self::UsersRead,
        Self::UsersWrite,
        Self::UsersLifecycle,
        Self::InvitationsRead,
        Self::InvitationsWrite,
        Self::WorkspacesRead,
        Self::WorkspacesWrite,
        Self::GroupsRead,
        Self::GroupsWrite,
        Self::ModelsRead,
        Self::ModelsWrite,
        Self::PolicyWrite,
        Self::KeysRead,
        Self::KeysWrite,
        Self::UsageRead,
        Self::AuditRead,
        Self::SyncRead,
        Self::IdentityRead,
        Self::IdentityWrite,
        Self::NotificationsRead,
        Self::NotificationsWrite,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::OrgRead => "org.read",
            Self::OrgWrite => "org.write",
            Self::UsersRead => "users.read",
            Self::UsersWrite => "users.write",
            Self::UsersLifecycle => "users.lifecycle",
            Self::InvitationsRead => "invitations.read",
            Self::InvitationsWrite => "invitations.write",
            Self::WorkspacesRead => "workspaces.read",
            Self::WorkspacesWrite => "workspaces.write",
            Self::GroupsRead => "groups.read",
            Self::GroupsWrite => "groups.write",
            Self::ModelsRead => "models.read",
            Self::ModelsWrite => "models.write",
            Self::PolicyWrite => "policy.write",
            Self::KeysRead => "keys.read",
            Self::KeysWrite => "keys.write",
            Self::UsageRead => "usage.read",
            Self::AuditRead => "audit.read",
            Self::SyncRead => "sync.read",
            Self::IdentityRead => "identity.read",
            Self::IdentityWrite => "identity.write",
            Self::NotificationsRead => "notifications.read",
            Self::NotificationsWrite => "notifications.write",
        }
    }
}

/// The table: what each org-wide role may do anywhere in the org.
pub fn allows(role: Role, permission: Permission) -> bool {
    use Permission::*;
    match role {
        Role::Admin => true,
        Role::Operator => matches!(
            permission,
            OrgRead
                | UsersRead
                | WorkspacesRead
                | GroupsRead
                | ModelsRead
                | PolicyWrite
                | KeysRead
                | KeysWrite
                | UsageRead
                | SyncRead
        ),
        Role::Auditor => matches!(
            permission,
            OrgRead
                | UsersRead
                | InvitationsRead
                | WorkspacesRead
                | GroupsRead
                | ModelsRead
                | KeysRead
                | UsageRead
                | AuditRead
                | SyncRead
                | IdentityRead
                | NotificationsRead
        ),
        Role::Member => matches!(permission, OrgRead | ModelsRead),
    }
}

pub fn permissions_of(role: Role) -> Vec<String> {
    Permission::ALL
        .into_iter()
        .filter(|p| allows(role, *p))
        .map(|p| p.as_str().to_owned())
        .collect()
}

pub fn describe(role: Role) -> &'static str {
    match role {
        Role::Admin => {
            "Everything: users and their lifecycle, roles, workspaces, groups, invitations, seats, models, grants, limits, budgets, keys and settings; reads the audit log."
        }
        Role::Operator => {
            "API keys, model grants, rate limits, budgets and usage; not roles, user lifecycle or settings."
        }
        Role::Auditor => {
            "Reads everything (users, invitations, usage, spend, the audit log); changes nothing."
        }
        Role::Member => "Their own profile, API keys and usage, and the models granted to them.",
    }
}
