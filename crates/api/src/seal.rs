//! The one authenticated cipher for secrets that must be kept and shown again later: the
//! desktop cache's copies of invitation links, and the gateway's invitation tokens. Both keep
//! ChaCha20-Poly1305 ciphertext under a key kept elsewhere than the ciphertext (the keychain,
//! the gateway's configuration), so that a copy of the file or database alone shows nothing.
//! Pure: the callers decide where keys live and how they are written down.

use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand::RngCore;

const NONCE: usize = 12;

/// Bytes in a key.
pub const KEY_LEN: usize = 32;

/// A key, ready to seal and open.
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
    /// A new random key, and its bytes for the caller to keep.
    pub fn generate() -> (Self, [u8; KEY_LEN]) {
        let mut key = [0u8; KEY_LEN];
        rand::thread_rng().fill_bytes(&mut key);
        (Self::from_bytes(&key), key)
    }

    /// The key of `bytes`; `None` unless they are exactly [`KEY_LEN`] long.
    pub fn from_key(bytes: &[u8]) -> Option<Self> {
        let key: &[u8; KEY_LEN] = bytes.try_into().ok()?;
        Some(Self::from_bytes(key))
    }

    fn from_bytes(key: &[u8; KEY_LEN]) -> Self {
        Self {
            cipher: ChaCha20Poly1305::new(Key::from_slice(key)),
        }
    }

    /// A fresh random nonce followed by the ciphertext and its tag.
    pub fn seal(&self, plain: &str) -> Vec<u8> {
        let mut nonce = [0u8; NONCE];
        rand::thread_rng().fill_bytes(&mut nonce);
        let mut out = nonce.to_vec();
        out.extend(
            self.cipher
                .encrypt(Nonce::from_slice(&nonce), plain.as_bytes())
                .expect("ChaCha20-Poly1305 encrypts any length below 256 GiB"),
        );
        out
    }

    /// The text sealed by [`Seal::seal`]; `None` when it was sealed under another key or altered.
    pub fn open(&self, sealed: &[u8]) -> Option<String> {
        if sealed.len() < NONCE {
            return None;
        }
        let (nonce, body) = sealed.split_at(NONCE);
        let plain = self.cipher.decrypt(Nonce::from_slice(nonce), body).ok()?;
        String::from_utf8(plain).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_text_opens_only_under_its_key_and_unaltered() {
        let (seal, key) = Seal::generate();
        let sealed = seal.seal("tok_abcdef");
        assert!(!sealed.windows(9).any(|w| w == b"tok_abcde"));
        assert_ne!(seal.seal("tok_abcdef"), sealed, "a fresh nonce each time");
        assert_eq!(
            Seal::from_key(&key).unwrap().open(&sealed).as_deref(),
            Some("tok_abcdef")
        );
        assert_eq!(Seal::generate().0.open(&sealed), None);
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert_eq!(seal.open(&tampered), None);
        assert_eq!(seal.open(&sealed[..5]), None);
        assert!(Seal::from_key(&key[..16]).is_none());
        assert_eq!(format!("{seal:?}"), "Seal(<redacted>)");
    }
}
