//! The wire types of the Gatehouse admin API (`../shared/spec/ADMIN-API.md`): what the gateway
//! serves and what every client reads. Plain data with serde, OpenAPI schemas (utoipa) and
//! TypeScript bindings (ts-rs), and the pure rules both sides compute alike: [`effective`]
//! limits and budgets, and budget [`periods`].
//!
//! The bottom layer: it depends on no other Gatehouse crate, and must not depend on a web
//! server, a database driver, an HTTP client or Tauri, since the gateway and the desktop app
//! both build on it (`tests/layers.rs` checks the crate graph).

mod domain;
pub mod effective;
mod email;
pub mod events;
pub mod forecast;
pub mod periods;
mod problem;
mod profile;
mod resources;
mod seal;
mod secret;

pub use domain::*;
pub use email::{Invitee, extract_invitees, looks_like_email};
pub use events::{
    ApiKeyData, AuditExportFormat, AuditExportQuery, Channel, ChannelCreate, ChannelCreated,
    ChannelFormat, ChannelPatch, DeliveryAttempt, DeliveryOutcome, Event, EventPayload, EventType,
    InvitedData, SeatsData, TestData, UserData,
};
pub use forecast::{Forecast, PeriodForecast};
pub use problem::{ErrorCode, FieldError, Problem};
pub use profile::*;
pub use resources::*;
pub use seal::{KEY_LEN as SEAL_KEY_LEN, Seal};
pub use secret::Secret;

/// The page size a list asks for (`?limit=`, default 100, 1 to 1000), or the field error that
/// says what is wrong with it.
pub fn page_limit(limit: Option<u32>) -> Result<i64, FieldError> {
    match limit {
        None => Ok(100),
        Some(n @ 1..=1000) => Ok(i64::from(n)),
        Some(_) => Err(FieldError {
            field: "limit".to_owned(),
            message: "must be between 1 and 1000".to_owned(),
        }),
    }
}

/// Media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// `e` and the errors behind it, outermost first (what a caller checks for a TLS, timeout or
/// limit failure deep in a client's error). An `io::Error`'s `source` skips the error it
/// wraps, so the walk steps into that one (`get_ref`) instead.
pub fn causes<'e>(
    e: &'e (dyn std::error::Error + 'static),
) -> impl Iterator<Item = &'e (dyn std::error::Error + 'static)> {
    std::iter::successors(Some(e), |c| {
        match c
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => c.source(),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::causes;

    #[derive(Debug)]
    struct Inner;

    impl std::fmt::Display for Inner {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("inner")
        }
    }

    impl std::error::Error for Inner {}

    #[derive(Debug)]
    struct Outer(std::io::Error);

    impl std::fmt::Display for Outer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("outer")
        }
    }

    impl std::error::Error for Outer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    /// The walk goes through an `io::Error` to the error it wraps, which its `source` skips.
    #[test]
    fn causes_step_into_an_io_error() {
        let e = Outer(std::io::Error::other(Inner));
        let walked: Vec<_> = causes(&e).collect();
        assert_eq!(walked.len(), 3);
        assert!(walked[0].is::<Outer>());
        assert!(walked[1].is::<std::io::Error>());
        assert!(walked[2].is::<Inner>());
    }
}
