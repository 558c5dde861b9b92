//! The one permission table of the gateway. Every handler asks it; `/me` and `/roles` report it.

use gatehouse_api::Role;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Read every user, workspace and membership of the org.
    UsersRead,
    /// Add, edit and change the lifecycle of users.
    UsersWrite,
    /// Read the change feed that clients cache from.
    SyncRead,
}

impl Permission {
    pub const ALL: [Permission; 3] = [Self::UsersRead, Self::UsersWrite, Self::SyncRead];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::UsersRead => "users.read",
            Self::UsersWrite => "users.write",
            Self::SyncRead => "sync.read",
        }
    }
}

pub fn allows(role: Role, permission: Permission) -> bool {
    use Permission::*;
    match role {
        Role::Admin => true,
        Role::Operator | Role::Auditor => matches!(permission, UsersRead | SyncRead),
        Role::Member => false,
    }
}

pub fn permissions_of(role: Role) -> Vec<String> {
    Permission::ALL
        .into_iter()
        .filter(|p| allows(role, *p))
        .map(|p| p.as_str().to_owned())
        .collect()
}
