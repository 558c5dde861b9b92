//! The key invitation tokens are sealed under. An invitation's link carries its token, and
//! those allowed to invite copy the link again later, so the gateway must keep the token; it
//! keeps it only sealed ([`gatehouse_api::Seal`]) under this key, which lives in the gateway's
//! configuration and never in the database, so that a copy of the database alone (a backup, a
//! dump, a stolen file) gives no live link. The token is looked up by its hash, so the links
//! work whatever the key; only showing them again needs it.
//!
//! Where it comes from: `--invite-key` / `GATEHOUSE_INVITE_KEY` (32 bytes in base64), or else a
//! key file (`--invite-key-file`, by default `invite.key` in the gateway's config folder),
//! created with a new random key, readable by its owner alone, when missing. The demo gateway
//! of the desktop app keeps its own key file beside its demo database.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use gatehouse_api::{SEAL_KEY_LEN, Seal, Secret};

/// Text that marks a sealed token in the database, so that a future key scheme can tell its
/// own from this one's.
const SEALED_PREFIX: &str = "v1:";

#[derive(Clone, Debug)]
pub struct InviteKey(Seal);

impl InviteKey {
    /// A new random key, and its base64 form for `--invite-key`.
    pub fn generate() -> (Self, Secret) {
        let (seal, bytes) = Seal::generate();
        (Self(seal), Secret::new(STANDARD.encode(bytes)))
    }

    /// The key of `--invite-key`: 32 bytes in base64.
    pub fn from_base64(text: &Secret) -> anyhow::Result<Self> {
        STANDARD
            .decode(text.expose().trim())
            .ok()
            .and_then(|bytes| Seal::from_key(&bytes))
            .map(Self)
            .ok_or_else(|| {
                anyhow::anyhow!("the invitation key must be {SEAL_KEY_LEN} bytes in base64")
            })
    }

    /// The key in the file at `path`, which is made with a new key (readable by its owner
    /// alone) when it does not exist yet.
    pub fn load_or_create(path: &Path) -> anyhow::Result<Self> {
        match std::fs::read_to_string(path) {
            Ok(text) => {
                warn_if_shared(path);
                return Self::from_base64(&Secret::new(text))
                    .with_context(|| format!("reading the invitation key in {}", path.display()));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(e)
                    .with_context(|| format!("reading the invitation key in {}", path.display()));
            }
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let (key, text) = Self::generate();
        // Written in full beside it and then linked into place, which fails if another process
        // made the file meanwhile: both then use the one that won.
        let temp = path.with_extension(format!("tmp{}", std::process::id()));
        let written = (|| -> std::io::Result<()> {
            let mut file = owner_only().open(&temp)?;
            file.write_all(text.expose().as_bytes())?;
            file.write_all(b"\n")?;
            file.sync_all()?;
            std::fs::hard_link(&temp, path)
        })();
        let _ = std::fs::remove_file(&temp);
        match written {
            Ok(()) => {
                tracing::info!(path = %path.display(), "made a new invitation key");
                Ok(key)
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Self::load_or_create(path),
            Err(e) => {
                Err(e).with_context(|| format!("writing the invitation key to {}", path.display()))
            }
        }
    }

    /// `token` sealed, as the database keeps it.
    pub fn seal(&self, token: &Secret) -> String {
        format!(
            "{SEALED_PREFIX}{}",
            STANDARD.encode(self.0.seal(token.expose()))
        )
    }

    /// The token [`InviteKey::seal`] sealed; `None` when it was sealed under another key.
    pub fn open(&self, sealed: &str) -> Option<Secret> {
        let bytes = STANDARD.decode(sealed.strip_prefix(SEALED_PREFIX)?).ok()?;
        self.0.open(&bytes).map(Secret::new)
    }
}

fn owner_only() -> std::fs::OpenOptions {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
}

/// A key file others can read is a key others have.
fn warn_if_shared(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path)
            && meta.permissions().mode() & 0o077 != 0
        {
            tracing::warn!(
                path = %path.display(),
                "the invitation key file is readable by others than its owner: chmod 600 it"
            );
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_file_is_made_once_for_its_owner_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("conf").join("invite.key");
        let made = InviteKey::load_or_create(&path).unwrap();
        let token = Secret::new("tok_0123456789");
        let sealed = made.seal(&token);
        assert!(!sealed.contains("tok_0123456789"));
        let again = InviteKey::load_or_create(&path).unwrap();
        assert_eq!(again.open(&sealed), Some(token));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_eq!(
            std::fs::read_dir(path.parent().unwrap()).unwrap().count(),
            1
        );
        assert_eq!(InviteKey::generate().0.open(&sealed), None);
        assert_eq!(made.open("plaintext-token"), None);
    }

    #[test]
    fn a_key_must_be_32_bytes_of_base64() {
        let (_, text) = InviteKey::generate();
        assert!(InviteKey::from_base64(&text).is_ok());
        assert!(InviteKey::from_base64(&Secret::new("c2hvcnQ=")).is_err());
        assert!(InviteKey::from_base64(&Secret::new("not base64!")).is_err());
    }
}
