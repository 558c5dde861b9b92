//! The gateway's store: the database connection (SQLite for one node, PostgreSQL for several,
//! both through sqlx's `Any` driver), the two migration sets, ids, and the SQL the layers above
//! share. It is the layer under the data plane and the admin HTTP layer.
//!
//! Must not depend on axum or any HTTP type, on mail, or on a crate above it
//! (`gatehouse-dataplane`, `gatehouse-gateway`, the desktop's crates); a test reads
//! `cargo metadata` and fails if it does.

pub mod db;
pub mod feed;
pub mod groups;
pub mod invitations;
pub mod oidc_signins;
pub mod org;
pub mod resets;
pub mod sql;
pub mod tokens;
pub mod users;
pub mod workspaces;

pub use db::{Backend, Db, DbError, Tx};

/// A new opaque id: `prefix_` and a UUIDv7, so ids of one kind sort by creation time.
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::now_v7().simple())
}
