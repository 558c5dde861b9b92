//! The app's settings, in `settings.json` in the config folder next to the profiles.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::error::{CoreError, CoreResult};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(default)]
pub struct Settings {
    /// Seconds between background syncs; 0 syncs only at start, after changes and on demand.
    pub sync_interval_secs: u32,
    /// Whether the app looks for a new version of itself when it starts.
    pub check_updates_at_start: bool,
    /// How much the app writes to its log files. `RUST_LOG`, when set, wins over it.
    pub log_level: LogLevel,
    /// Light or dark, or as the desktop is.
    pub theme: Theme,
}

/// The app's colours: the desktop's choice, or always light or dark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum Theme {
    #[default]
    System,
    Light,
    Dark,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            sync_interval_secs: 300,
            check_updates_at_start: true,
            log_level: LogLevel::Info,
            theme: Theme::System,
        }
    }
}

/// The least severe kind of log line the app writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Error,
    Warn,
    #[default]
    Info,
    Debug,
    Trace,
}

impl LogLevel {
    /// The level as `tracing` and `RUST_LOG` spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Error => "error",
            Self::Warn => "warn",
            Self::Info => "info",
            Self::Debug => "debug",
            Self::Trace => "trace",
        }
    }
}

/// Longest background sync interval: a day.
const MAX_INTERVAL_SECS: u32 = 86_400;

impl Settings {
    fn path(config_dir: &Path) -> PathBuf {
        config_dir.join("settings.json")
    }

    /// The saved settings; defaults when there are none yet.
    pub fn load(config_dir: &Path) -> CoreResult<Self> {
        let path = Self::path(config_dir);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                CoreError::Invalid(format!("{} is not a settings file: {e}", path.display()))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(e.into()),
        }
    }

    pub fn validate(&self) -> CoreResult<()> {
        if self.sync_interval_secs > MAX_INTERVAL_SECS {
            return Err(CoreError::Invalid(format!(
                "the sync interval must be at most {MAX_INTERVAL_SECS} seconds (a day)"
            )));
        }
        Ok(())
    }

    /// Validates and writes the settings whole, through a temporary file.
    pub fn save(&self, config_dir: &Path) -> CoreResult<()> {
        self.validate()?;
        crate::profiles::write_atomically(
            &Self::path(config_dir),
            &serde_json::to_vec_pretty(self).expect("settings serialize"),
        )
    }
}
