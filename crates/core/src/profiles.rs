//! Profiles: which gateways the app knows. Kept in `profiles.json` in the app's config folder;
//! nothing secret is in it (the credential is in the keychain).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{CoreError, CoreResult};
use crate::ipc::ProfileSummary;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    pub id: String,
    pub name: String,
    /// The gateway's base URL. For the embedded demo it changes at every start (a free port).
    pub url: String,
    #[serde(default)]
    pub embedded: bool,
    /// A PEM certificate (or bundle) to trust besides the system's roots, for a gateway behind
    /// a company CA. Public, so it may live in this file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_pem: Option<String>,
    /// Plain `http://` to a host other than this computer, as the admin chose explicitly.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub insecure_http: bool,
}

impl Profile {
    /// What the UI is shown; `signed_in` says whether the keychain holds a credential for it.
    pub fn summary(&self, signed_in: bool) -> ProfileSummary {
        ProfileSummary {
            id: self.id.clone(),
            name: self.name.clone(),
            url: self.url.clone(),
            embedded: self.embedded,
            custom_ca: self.ca_pem.is_some(),
            signed_in,
            insecure_http: self.insecure_http,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct ProfilesFile {
    #[serde(default)]
    profiles: Vec<Profile>,
    #[serde(default)]
    active: Option<String>,
}

/// The profiles file.
#[derive(Debug, Clone)]
pub struct Profiles {
    path: PathBuf,
    file: ProfilesFile,
}

impl Profiles {
    pub fn load(config_dir: &Path) -> CoreResult<Self> {
        let path = config_dir.join("profiles.json");
        let file = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                CoreError::Invalid(format!("{} is not a profiles file: {e}", path.display()))
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => ProfilesFile::default(),
            Err(e) => return Err(e.into()),
        };
        Ok(Self { path, file })
    }

    pub fn all(&self) -> &[Profile] {
        &self.file.profiles
    }

    pub fn active(&self) -> Option<&Profile> {
        let id = self.file.active.as_deref()?;
        self.file.profiles.iter().find(|p| p.id == id)
    }

    pub fn get(&self, id: &str) -> CoreResult<&Profile> {
        self.file
            .profiles
            .iter()
            .find(|p| p.id == id)
            .ok_or(CoreError::NoProfile)
    }

    /// Adds or replaces `profile`, leaving the active one as it is.
    pub fn put(&mut self, profile: Profile) -> CoreResult<()> {
        match self.file.profiles.iter_mut().find(|p| p.id == profile.id) {
            Some(existing) => *existing = profile,
            None => self.file.profiles.push(profile),
        }
        self.save()
    }

    /// Removes the profile `id`; when it was the active one, none is.
    pub fn remove(&mut self, id: &str) -> CoreResult<Profile> {
        let at = self
            .file
            .profiles
            .iter()
            .position(|p| p.id == id)
            .ok_or(CoreError::NoProfile)?;
        let removed = self.file.profiles.remove(at);
        if self.file.active.as_deref() == Some(id) {
            self.file.active = None;
        }
        self.save()?;
        Ok(removed)
    }

    pub fn set_active(&mut self, id: &str) -> CoreResult<()> {
        self.get(id)?;
        self.file.active = Some(id.to_owned());
        self.save()
    }

    /// Adds or replaces `profile` and makes it the active one.
    pub fn put_active(&mut self, profile: Profile) -> CoreResult<()> {
        self.file.active = Some(profile.id.clone());
        self.put(profile)
    }

    fn save(&self) -> CoreResult<()> {
        write_atomically(
            &self.path,
            &serde_json::to_vec_pretty(&self.file).expect("profiles serialize"),
        )
    }
}

/// Writes `path` whole, through a temporary file, so a crash never leaves half of it.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> CoreResult<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}
