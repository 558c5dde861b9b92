//! The admin API, the invitee and reset pages, sign-in and mail, over real HTTP on 127.0.0.1,
//! each test on SQLite and on PostgreSQL. One test binary: each would otherwise link the whole
//! gateway again.

#[path = "../common/mod.rs"]
mod common;
#[path = "../support/oidc_issuer.rs"]
mod oidc_issuer;
#[path = "../support/smtp_sink.rs"]
mod smtp_sink;

mod auth;
mod domain;
mod http;
mod invite_tokens;
mod invitee;
mod mail;
mod models;
mod oidc;
mod permissions;
mod profiles;
mod revisions;
mod scim;
mod sso;
mod sync;
mod types;
mod usage;
mod webhooks;
