use gatehouse_api::{ErrorCode, Problem};

use crate::ipc::IpcError;

/// Everything that can go wrong in the desktop core.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// The gateway answered with a problem document.
    #[error("{0}")]
    Api(Problem),
    /// The gateway could not be reached.
    #[error("the gateway at {url} is unreachable")]
    Offline { url: String },
    /// The gateway's certificate is not trusted: a private CA belongs in the profile.
    #[error(
        "the gateway at {url} presented a certificate this app does not trust ({reason}); if it \
         uses a private certificate authority, add that CA's certificate to the profile"
    )]
    Untrusted { url: String, reason: String },
    /// Any other failure to set up TLS (e.g. an https:// URL to a plain-HTTP port).
    #[error("no secure connection to the gateway at {url} could be made ({reason})")]
    Tls { url: String, reason: String },
    #[error("no usable keychain: {0}")]
    KeychainUnavailable(String),
    #[error("keychain: {0}")]
    Keychain(String),
    #[error("not signed in to this profile")]
    SignedOut,
    #[error("no such profile")]
    NoProfile,
    #[error("{0}")]
    Invalid(String),
    /// Input the UI can point at: one field and what is wrong with it.
    #[error("{message}")]
    InvalidField {
        field: &'static str,
        message: String,
    },
    #[error("the gateway sent something unexpected: {0}")]
    Protocol(String),
    #[error("cache: {0}")]
    Cache(#[from] sqlx::Error),
    /// The cache file is encrypted under a key this computer's keychain no longer has.
    #[error("the cache cannot be read with the key in the keychain")]
    CacheUnreadable,
    #[error("cache migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("file: {0}")]
    Io(#[from] std::io::Error),
    #[error("embedded gateway: {0}")]
    Embedded(String),
    /// The system browser would not open the sign-in page; the reason is only logged.
    #[error("the system browser could not be opened: {0}")]
    Browser(String),
    #[error("the sign-in was cancelled")]
    SignInCancelled,
    /// Nobody finished signing in in the browser in time.
    #[error("nobody finished signing in in the browser within {0}; start again")]
    SignInTimedOut(String),
    /// The gateway or the identity provider refused the sign-in; `message` is the gateway's
    /// own plain words.
    #[error("{message}")]
    SignInRefused { code: ErrorCode, message: String },
    /// The browser came back with a `state` this sign-in did not send: another page (or
    /// another program) called the app's loopback address.
    #[error(
        "the browser came back from a sign-in this app did not start; nothing was changed, \
         start again"
    )]
    ForeignCallback,
}

impl CoreError {
    /// The stable code the UI acts on.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Api(p) => p.code.as_str(),
            Self::Offline { .. } => "offline",
            Self::Untrusted { .. } => "untrusted_certificate",
            Self::Tls { .. } => "tls",
            Self::KeychainUnavailable(_) => "keychain_unavailable",
            Self::Keychain(_) => "keychain",
            Self::SignedOut => "signed_out",
            Self::NoProfile => "no_profile",
            Self::Invalid(_) | Self::InvalidField { .. } => "invalid",
            Self::Protocol(_) => "protocol",
            Self::Cache(_) | Self::Migrate(_) | Self::CacheUnreadable => "cache",
            Self::Io(_) => "io",
            Self::Embedded(_) => "embedded_gateway",
            Self::Browser(_) => "browser_unavailable",
            Self::SignInCancelled => "cancelled",
            Self::SignInTimedOut(_) => "timed_out",
            Self::SignInRefused { code, .. } => code.as_str(),
            Self::ForeignCallback => "state_mismatch",
        }
    }

    pub fn is_unauthorized(&self) -> bool {
        matches!(self, Self::Api(p) if p.code == ErrorCode::Unauthorized)
    }

    /// What a person is shown. Internal details (SQL, paths, I/O) are logged, not shown.
    pub fn to_ipc(&self) -> IpcError {
        let message = match self {
            Self::Api(p) => p.detail.clone(),
            Self::Offline { .. }
            | Self::Untrusted { .. }
            | Self::Tls { .. }
            | Self::KeychainUnavailable(_)
            | Self::SignedOut
            | Self::NoProfile
            | Self::Invalid(_)
            | Self::InvalidField { .. }
            | Self::SignInCancelled
            | Self::SignInTimedOut(_)
            | Self::ForeignCallback => upper_first(&self.to_string()),
            Self::SignInRefused { message, .. } => message.clone(),
            Self::Browser(_) => "The system browser could not be opened to sign in; see the \
                                 log for details."
                .into(),
            Self::Keychain(_) => {
                "The keychain refused the request; see the log for details.".into()
            }
            Self::Protocol(_) => "The gateway sent a response this app does not understand.".into(),
            Self::Cache(_) | Self::Migrate(_) | Self::Io(_) | Self::CacheUnreadable => {
                "The local cache could not be read or written; see the log for details.".into()
            }
            Self::Embedded(_) => {
                "The demo gateway could not start; see the log for details.".into()
            }
        };
        if !matches!(
            self,
            Self::Api(_)
                | Self::Offline { .. }
                | Self::Untrusted { .. }
                | Self::Tls { .. }
                | Self::SignedOut
                | Self::Invalid(_)
                | Self::InvalidField { .. }
                | Self::SignInCancelled
                | Self::SignInTimedOut(_)
                | Self::SignInRefused { .. }
                | Self::ForeignCallback
        ) {
            tracing::error!(error = %self, code = self.code(), "operation failed");
        }
        let fields = match self {
            Self::Api(p) => p.errors.clone().filter(|e| !e.is_empty()),
            Self::InvalidField { field, .. } => Some(vec![gatehouse_api::FieldError {
                field: (*field).to_owned(),
                message: upper_first(&self.to_string()),
            }]),
            _ => None,
        };
        IpcError {
            code: self.code().to_owned(),
            message,
            fields,
        }
    }
}

fn upper_first(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect::<String>())
        .unwrap_or_default()
        + "."
}

pub type CoreResult<T> = Result<T, CoreError>;
