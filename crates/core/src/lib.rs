//! The desktop app's core, with no Tauri in it: profiles, the keychain, the admin-API client,
//! the per-profile SQLite cache, sync, and the log files. The Tauri shell holds one
//! [`console::Console`] and turns each command into one call on it. With the `embedded-demo`
//! feature (the app turns it on) it also runs the demo gateway in-process on first start.
//!
//! Depends on `gatehouse-api` for the wire types and shared rules, and talks to a gateway only
//! over HTTP. Must not depend on Tauri or on anything that needs a window (it runs and is tested
//! headless), nor on the gateway's crates except `gatehouse-gateway` behind `embedded-demo`
//! (`tests/layers.rs` checks the crate graph).

pub mod cache;
pub mod changes;
pub mod client;
pub mod console;
pub mod credentials;
#[cfg(feature = "embedded-demo")]
pub mod embedded;
pub mod error;
pub mod ipc;
pub mod logs;
pub mod profiles;
pub mod queries;
pub mod seal;
pub mod settings;
pub mod sso;
pub mod sync;

pub use console::{AppDirs, Console};
pub use error::{CoreError, CoreResult};
