//! The per-profile cache key, kept in the keychain. It encrypts the whole cache file (SQLCipher,
//! under a key derived from it) and, inside it, seals the few secrets the cache must keep so the
//! app works offline: an invitation's link carries the invitee's token, and an admin copies it
//! while the gateway is down ([`gatehouse_api::Seal`]). A copy of the file alone shows nothing.

use gatehouse_api::Secret;
use sha2::{Digest, Sha256};

use crate::error::{CoreError, CoreResult};

/// The key of one profile's cache.
#[derive(Clone)]
pub struct Seal {
    seal: gatehouse_api::Seal,
    /// SQLCipher's raw key: derived, so that no key serves two ciphers.
    database: Secret,
}

impl std::fmt::Debug for Seal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Seal(<redacted>)")
    }
}

impl Seal {
    /// A new random key, and its text form to keep in the keychain.
    pub fn generate() -> (Self, Secret) {
        let (seal, key) = gatehouse_api::Seal::generate();
        (Self::with(seal, &key), Secret::new(hex(&key)))
    }

    /// The key kept in the keychain as text by [`Seal::generate`].
    pub fn from_text(text: &Secret) -> CoreResult<Self> {
        unhex(text.expose())
            .and_then(|bytes| Some(Self::with(gatehouse_api::Seal::from_key(&bytes)?, &bytes)))
            .ok_or_else(|| CoreError::Keychain("the cache key in the keychain is malformed".into()))
    }

    fn with(seal: gatehouse_api::Seal, key: &[u8]) -> Self {
        let mut hash = Sha256::new();
        hash.update(b"gatehouse cache database key\0");
        hash.update(key);
        Self {
            seal,
            database: Secret::new(hex(&hash.finalize())),
        }
    }

    /// The value of SQLCipher's `PRAGMA key` for the cache file: a raw 256-bit key.
    pub fn database_key_pragma(&self) -> Secret {
        Secret::new(format!("\"x'{}'\"", self.database.expose()))
    }

    /// The nonce followed by the ciphertext.
    pub fn seal(&self, plain: &str) -> Vec<u8> {
        self.seal.seal(plain)
    }

    /// The text sealed by [`Seal::seal`]; `None` when it was sealed under another key (the
    /// keychain lost it) or altered.
    pub fn open(&self, sealed: &[u8]) -> Option<String> {
        self.seal.open(sealed)
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_link_opens_only_under_its_key() {
        let (seal, text) = Seal::generate();
        let link = "http://127.0.0.1:8080/invite/tok_abcdef";
        let sealed = seal.seal(link);
        assert!(!sealed.windows(9).any(|w| w == b"tok_abcde"));
        assert_eq!(
            Seal::from_text(&text).unwrap().open(&sealed).as_deref(),
            Some(link)
        );
        let (other, _) = Seal::generate();
        assert_eq!(other.open(&sealed), None);
    }

    #[test]
    fn a_malformed_key_text_is_refused() {
        assert!(Seal::from_text(&Secret::new("xyz")).is_err());
        assert!(Seal::from_text(&Secret::new("00".repeat(16))).is_err());
    }
}
