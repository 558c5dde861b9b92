//! The desktop app's core, with no Tauri in it: profiles, the keychain, the admin-API client,
//! the per-profile SQLite cache, sync, the embedded demo gateway, and the log files. The Tauri shell holds one
//! [`console::Console`] and turns each command into one call on it.
//!
//! Must not depend on Tauri or on anything that needs a window: it runs and is tested headless.

pub mod cache;
pub mod changes;
pub mod client;
pub mod console;
pub mod credentials;
pub mod embedded;
pub mod error;
pub mod ipc;
pub mod logs;
pub mod profiles;
pub mod queries;
pub mod seal;
pub mod settings;
pub mod sync;

pub use console::{AppDirs, Console};
pub use error::{CoreError, CoreResult};
