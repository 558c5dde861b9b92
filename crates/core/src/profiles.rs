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
}

impl Profile {
    pub fn summary(&self) -> ProfileSummary {
        ProfileSummary {
            id: self.id.clone(),
            name: self.name.clone(),
            url: self.url.clone(),
            embedded: self.embedded,
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

    pub fn embedded(&self) -> Option<&Profile> {
        self.file.profiles.iter().find(|p| p.embedded)
    }

    /// Adds or replaces `profile` and makes it the active one.
    pub fn put_active(&mut self, profile: Profile) -> CoreResult<()> {
        self.file.active = Some(profile.id.clone());
        match self.file.profiles.iter_mut().find(|p| p.id == profile.id) {
            Some(existing) => *existing = profile,
            None => self.file.profiles.push(profile),
        }
        self.save()
    }

    /// Writes the file whole, through a temporary file, so a crash never leaves half of it.
    fn save(&self) -> CoreResult<()> {
        let dir = self.path.parent().expect("profiles.json has a folder");
        std::fs::create_dir_all(dir)?;
        let tmp = self.path.with_extension("json.tmp");
        std::fs::write(
            &tmp,
            serde_json::to_vec_pretty(&self.file).expect("profiles serialize"),
        )?;
        std::fs::rename(&tmp, &self.path)?;
        Ok(())
    }
}
