//! Where a profile's credential lives: the OS keychain (macOS Keychain, Windows Credential
//! Manager, the Secret Service on Linux), never a file.

use gatehouse_api::Secret;

use crate::error::{CoreError, CoreResult};

/// The secrets a profile keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot<'a> {
    /// The credential that signs in to the gateway, for the profile with this id.
    Token(&'a str),
    /// The key that seals the secrets in the profile's cache (see `seal.rs`).
    CacheKey(&'a str),
}

impl Slot<'_> {
    fn account(self) -> String {
        match self {
            Self::Token(id) => format!("profile:{id}"),
            Self::CacheKey(id) => format!("cache-key:{id}"),
        }
    }
}

/// A store of the profiles' secrets.
pub trait CredentialStore: Send + Sync {
    fn get(&self, slot: Slot<'_>) -> CoreResult<Option<Secret>>;
    fn set(&self, slot: Slot<'_>, secret: &Secret) -> CoreResult<()>;
    fn delete(&self, slot: Slot<'_>) -> CoreResult<()>;
}

/// The OS keychain through `keyring`; entries are named `<service>` / `profile:<id>` (and
/// `cache-key:<id>`), where the service is the app's identifier.
#[derive(Debug, Clone)]
pub struct Keychain {
    service: String,
}

const HOW_TO_FIX: &str = "Gatehouse keeps credentials only in the OS keychain. On Linux that is \
a Secret Service such as GNOME Keyring or KWallet: install and unlock one (for example \
`apt install gnome-keyring` and sign in to a desktop session), then try again.";

impl Keychain {
    pub fn new(service: impl Into<String>) -> Self {
        Self {
            service: service.into(),
        }
    }

    fn entry(&self, slot: Slot<'_>) -> CoreResult<keyring::Entry> {
        keyring::Entry::new(&self.service, &slot.account()).map_err(map_keyring)
    }
}

fn map_keyring(e: keyring::Error) -> CoreError {
    match e {
        keyring::Error::PlatformFailure(inner) => {
            tracing::warn!(error = %inner, "keychain platform failure");
            CoreError::KeychainUnavailable(HOW_TO_FIX.into())
        }
        keyring::Error::NoStorageAccess(inner) => {
            tracing::warn!(error = %inner, "keychain not accessible");
            CoreError::KeychainUnavailable(HOW_TO_FIX.into())
        }
        other => CoreError::Keychain(other.to_string()),
    }
}

impl CredentialStore for Keychain {
    fn get(&self, slot: Slot<'_>) -> CoreResult<Option<Secret>> {
        match self.entry(slot)?.get_password() {
            Ok(s) => Ok(Some(Secret::new(s))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(map_keyring(e)),
        }
    }

    fn set(&self, slot: Slot<'_>, secret: &Secret) -> CoreResult<()> {
        self.entry(slot)?
            .set_password(secret.expose())
            .map_err(map_keyring)
    }

    fn delete(&self, slot: Slot<'_>) -> CoreResult<()> {
        match self.entry(slot)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(map_keyring(e)),
        }
    }
}
