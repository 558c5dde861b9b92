//! The gateway's store: the database connection (SQLite for one node, PostgreSQL for several,
//! both through sqlx's `Any` driver), the two migration sets, ids and secret hashes, and all of
//! the gateway's SQL, one module per table or resource (rows, statements, change-feed readers).
//! It is the layer under the data plane and the admin HTTP layer.
//!
//! Must not depend on axum or any HTTP type, on mail, or on a crate above it
//! (`gatehouse-dataplane`, `gatehouse-gateway`, the desktop's crates); a test reads
//! `cargo metadata` and fails if it does.

pub mod alerts;
pub mod audit;
pub mod counters;
pub mod db;
pub mod feed;
pub mod forecast;
pub mod groups;
pub mod identity;
pub mod invitations;
pub mod keys;
pub mod models;
pub mod oidc_signins;
pub mod org;
pub mod policy;
pub mod profiles;
pub mod resets;
pub mod scim;
pub mod seeds;
pub mod spend;
pub mod sql;
pub mod tokens;
pub mod usage;
pub mod users;
pub mod webhooks;
pub mod workspaces;

pub use db::{Backend, Db, DbError, Tx};
use sha2::{Digest, Sha256};

/// A new opaque id: `prefix_` and a UUIDv7, so ids of one kind sort by creation time.
pub fn new_id(prefix: &str) -> String {
    // Not `format!`: the data plane makes two a request, and the formatting machinery was most
    // of their cost.
    let mut buffer = uuid::Uuid::encode_buffer();
    let uuid = uuid::Uuid::now_v7().simple().encode_lower(&mut buffer);
    let mut id = String::with_capacity(prefix.len() + 1 + uuid.len());
    id.push_str(prefix);
    id.push('_');
    id.push_str(uuid);
    id
}

/// The lower-case hex SHA-256 of `secret`. What tokens, keys and links are stored as, never the secret itself. Runs on every data-plane
/// request, hence no
/// `format!` per byte.
pub fn hash_secret(secret: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = Sha256::digest(secret.as_bytes());
    let mut out = String::with_capacity(digest.len() * 2);
    for b in digest {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_are_the_prefix_and_a_time_ordered_lower_hex_uuid() {
        let (a, b) = (super::new_id("req"), super::new_id("req"));
        for id in [&a, &b] {
            let hex = id.strip_prefix("req_").expect(id);
            assert_eq!(hex.len(), 32, "{id}");
            assert!(
                hex.bytes()
                    .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c)),
                "{id}"
            );
            assert_eq!(uuid::Uuid::parse_str(hex).unwrap().get_version_num(), 7);
        }
        assert!(a < b, "{a} then {b}");
    }
}
