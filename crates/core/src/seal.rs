//! Sealing for the few secrets the cache must keep so the app works offline: an invitation's
//! link carries the invitee's token, and an admin copies it while the gateway is down. The cache
//! file keeps it only as ChaCha20-Poly1305 ciphertext under a per-profile key that lives in the
//! keychain, so the file on disk (and any copy of it) never shows the token.

use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use gatehouse_api::Secret;
use rand::RngCore;

use crate::error::{CoreError, CoreResult};

const NONCE: usize = 12;

/// The key of one profile's cache.
#[derive(Clone)]
pub struct Seal {
    cipher: ChaCha20Poly1305,
}

impl std::fmt::Debug for Seal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Seal(<redacted>)")
    }
}

impl Seal {
    /// A new random key, and its text form to keep in the keychain.
    pub fn generate() -> (Self, Secret) {
        let mut key = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut key);
        let text = Secret::new(hex(&key));
        (Self::from_key(&key), text)
    }

    /// The key kept in the keychain as text by [`Seal::generate`].
    pub fn from_text(text: &Secret) -> CoreResult<Self> {
        let bytes = unhex(text.expose())
            .filter(|b| b.len() == 32)
            .ok_or_else(|| {
                CoreError::Keychain("the cache key in the keychain is malformed".into())
            })?;
        Ok(Self::from_key(&bytes))
    }

    fn from_key(key: &[u8]) -> Self {
        Self {
            cipher: ChaCha20Poly1305::new(Key::from_slice(key)),
        }
    }

    /// The nonce followed by the ciphertext.
    pub fn seal(&self, plain: &str) -> Vec<u8> {
        let mut nonce = [0u8; NONCE];
        rand::thread_rng().fill_bytes(&mut nonce);
        let mut out = nonce.to_vec();
        out.extend(
            self.cipher
                .encrypt(Nonce::from_slice(&nonce), plain.as_bytes())
                .expect("ChaCha20-Poly1305 encrypts any length the cache holds"),
        );
        out
    }

    /// The text sealed by [`Seal::seal`]; `None` when it was sealed under another key (the
    /// keychain lost it) or altered.
    pub fn open(&self, sealed: &[u8]) -> Option<String> {
        if sealed.len() < NONCE {
            return None;
        }
        let (nonce, body) = sealed.split_at(NONCE);
        let plain = self.cipher.decrypt(Nonce::from_slice(nonce), body).ok()?;
        String::from_utf8(plain).ok()
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
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert_eq!(seal.open(&tampered), None);
        assert_eq!(seal.open(&sealed[..5]), None);
    }

    #[test]
    fn a_malformed_key_text_is_refused() {
        assert!(Seal::from_text(&Secret::new("xyz")).is_err());
        assert!(Seal::from_text(&Secret::new("00".repeat(16))).is_err());
    }
}
