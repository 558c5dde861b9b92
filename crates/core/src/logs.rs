//! The app's log: `tracing` to one file a day in the app's log folder (and to stderr), at the
//! level the settings choose unless `RUST_LOG` is set, which wins; the level changes without a
//! restart. Panics are written to it too.
//!
//! Nothing secret reaches a log line through our own code: secrets are `gatehouse_api::Secret`,
//! which prints `<redacted>`, and the gateway masks the tokens in request paths. The HTTP, TLS
//! and SQL libraries describe requests and statements in detail at their debug and trace levels,
//! so whatever level the settings choose they stay at the quieter one in [`CLAMPED`]; a
//! developer who wants them names them in `RUST_LOG`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tracing_appender::rolling::{RollingFileAppender, Rotation};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Registry, reload};

use crate::error::{CoreError, CoreResult};
use crate::settings::LogLevel;

/// Log files are `gatehouse.<YYYY-MM-DD>.log`, one a day (UTC).
pub const FILE_PREFIX: &str = "gatehouse";
pub const FILE_SUFFIX: &str = "log";
/// How many daily files are kept; older ones are deleted as new ones start.
const KEEP_FILES: usize = 14;

/// Targets kept at most this verbose whatever level the settings choose, unless `RUST_LOG`
/// names them.
pub const CLAMPED: &[(&str, &str)] = &[
    ("sqlx", "warn"),
    ("hyper", "info"),
    ("hyper_util", "info"),
    ("h2", "info"),
    ("reqwest", "info"),
    ("rustls", "info"),
    ("tower_http", "info"),
    ("zbus", "info"),
];

/// The process's logging, once set up.
pub struct Logs {
    dir: PathBuf,
    filter: reload::Handle<EnvFilter, Registry>,
    /// `RUST_LOG` as the app started with it.
    env: Option<String>,
}

impl std::fmt::Debug for Logs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Logs")
            .field("dir", &self.dir)
            .field("env", &self.env)
            .finish_non_exhaustive()
    }
}

impl Logs {
    /// Sends this process's `tracing` (and `log`) events to daily files in `dir` and to stderr,
    /// filtered by `env` (the value of `RUST_LOG`) when it is set and valid, else by `level`.
    /// Fails when `dir` cannot be created or the process already has a subscriber.
    pub fn init(dir: &Path, level: LogLevel, env: Option<String>) -> CoreResult<Arc<Self>> {
        std::fs::create_dir_all(dir)?;
        let env = env.filter(|e| !e.trim().is_empty());
        let filter = match EnvFilter::try_new(directives(level, env.as_deref())) {
            Ok(filter) => filter,
            Err(e) => {
                eprintln!("RUST_LOG is not a valid filter ({e}); logging at {level:?}");
                EnvFilter::new(directives(level, None))
            }
        };
        let (filter, handle) = reload::Layer::new(filter);
        let files = RollingFileAppender::builder()
            .rotation(Rotation::DAILY)
            .filename_prefix(FILE_PREFIX)
            .filename_suffix(FILE_SUFFIX)
            .max_log_files(KEEP_FILES)
            .build(dir)
            .map_err(|e| CoreError::Invalid(format!("the log folder is not usable: {e}")))?;
        tracing_subscriber::registry()
            .with(filter)
            .with(
                tracing_subscriber::fmt::layer()
                    .with_ansi(false)
                    .with_writer(files),
            )
            .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr))
            .try_init()
            .map_err(|e| CoreError::Invalid(format!("logging is already set up: {e}")))?;
        Ok(Arc::new(Self {
            dir: dir.to_owned(),
            filter: handle,
            env,
        }))
    }

    /// The folder the log files are in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether `RUST_LOG` decides the level (and the settings' level is not applied).
    pub fn from_env(&self) -> bool {
        self.env.is_some()
    }

    /// Logs at `level` from now on, unless `RUST_LOG` decides.
    pub fn set_level(&self, level: LogLevel) {
        if self.from_env() {
            return;
        }
        match self.filter.reload(EnvFilter::new(directives(level, None))) {
            Ok(()) => tracing::info!(level = %level.as_str(), "log level changed"),
            Err(e) => tracing::warn!(error = %e, "the log level could not be changed"),
        }
    }
}

/// The filter for `level`, or for `env` when set, with the [`CLAMPED`] targets it does not name.
pub fn directives(level: LogLevel, env: Option<&str>) -> String {
    let mut out = env.unwrap_or(level.as_str()).trim().to_owned();
    for (target, max) in CLAMPED {
        if !names(&out, target) {
            out.push_str(&format!(",{target}={max}"));
        }
    }
    out
}

/// Whether one of the comma-separated `directives` is about `target` or a module inside it.
fn names(directives: &str, target: &str) -> bool {
    directives.split(',').any(|d| {
        let named = d.split(['=', '[']).next().unwrap_or("").trim();
        named == target
            || named
                .strip_prefix(target)
                .is_some_and(|rest| rest.starts_with("::"))
    })
}

/// Writes every panic to the log (with its thread and location) before the usual report.
pub fn log_panics() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let thread = std::thread::current();
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "(no message)".into());
        let location = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        tracing::error!(
            target: "panic",
            thread = thread.name().unwrap_or("unnamed"),
            %location,
            "panicked: {message}"
        );
        previous(info);
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_settings_level_is_clamped_for_http_tls_and_sql() {
        let d = directives(LogLevel::Trace, None);
        assert!(d.starts_with("trace,"), "{d}");
        for (target, max) in CLAMPED {
            assert!(d.contains(&format!(",{target}={max}")), "{d}");
        }
    }

    #[test]
    fn rust_log_wins_and_keeps_what_it_names() {
        let d = directives(
            LogLevel::Error,
            Some("debug,hyper::proto=trace,sqlx[query]=info"),
        );
        assert!(
            d.starts_with("debug,hyper::proto=trace,sqlx[query]=info"),
            "{d}"
        );
        assert!(!d.contains(",hyper=info"), "{d}");
        assert!(!d.contains(",sqlx=warn"), "{d}");
        assert!(d.contains(",hyper_util=info"), "{d}");
        assert!(d.contains(",reqwest=info"), "{d}");
        assert!(!names("hyper_util=debug", "hyper"));
    }
}
