//! Where a profile's credential lives: the OS keychain (macOS Keychain, Windows Credential
//! Manager, the Secret Service on Linux), never a file.

use gatehouse_api::Secret;

use crate::error::{CoreError, CoreResult};

/// A store of one secret per profile.
pub trait CredentialStore: Send + Sync {
    fn get(&self, profile_id: &str) -> CoreResult<Option<Secret>>;
    fn set(&self, profile_id: &str, secret: &Secret) -> CoreResult<()>;
    fn delete(&self, profile_id: &str) -> CoreResult<()>;
}

/// The OS keychain through `keyring`; entries are named `<service>` / `profile:<id>`, where the
/// service is the app's identifier.
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

    fn entry(&self, profile_id: &str) -> CoreResult<keyring::Entry> {
        keyring::Entry::new(&self.service, &format!("profile:{profile_id}")).map_err(map_keyring)
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
    fn get(&self, profile_id: &str) -> CoreResult<Option<Secret>> {
        match self.entry(profile_id)?.get_password() {
            Ok(s) => Ok(Some(Secret::new(s))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(map_keyring(e)),
        }
    }

    fn set(&self, profile_id: &str, secret: &Secret) -> CoreResult<()> {
        self.entry(profile_id)?
            .set_password(secret.expose())
            .map_err(map_keyring)
    }

    fn delete(&self, profile_id: &str) -> CoreResult<()> {
        match self.entry(profile_id)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(map_keyring(e)),
        }
    }
}
