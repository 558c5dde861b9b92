//! Which key the gateway sends to which upstream. Keys come only from the gateway's own
//! configuration (`--upstream-key` / `GATEHOUSE_UPSTREAM_KEYS`), never from the database, so that
//! whoever can edit the model catalog cannot read them or send them elsewhere: a key goes only to
//! the base URL it was configured for (or a URL under it), and a model whose upstream matches no
//! entry is called without one (a local server that needs none).

use gatehouse_api::Secret;

/// One configured upstream: requests to URLs under `base` carry `key`.
#[derive(Debug, Clone)]
pub struct UpstreamKey {
    pub base: String,
    pub key: Secret,
}

#[derive(Debug, Clone, Default)]
pub struct UpstreamKeys {
    entries: Vec<UpstreamKey>,
}

/// `url` without trailing slashes, for comparing base URLs.
fn normalise(url: &str) -> &str {
    url.trim().trim_end_matches('/')
}

impl UpstreamKeys {
    /// Parses `BASE_URL=KEY` entries, separated by whitespace or commas (the form of
    /// `GATEHOUSE_UPSTREAM_KEYS`); the key is everything after the first `=`. The error names
    /// the entry by its URL only.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut keys = Self::default();
        for entry in text.split(|c: char| c.is_whitespace() || c == ',') {
            if entry.is_empty() {
                continue;
            }
            keys.add(entry)?;
        }
        Ok(keys)
    }

    /// Adds one `BASE_URL=KEY` entry.
    pub fn add(&mut self, entry: &str) -> Result<(), String> {
        let Some((base, key)) = entry.split_once('=') else {
            return Err(
                "an upstream key must be given as BASE_URL=KEY (e.g. https://api.openai.com/v1=sk-…)"
                    .to_owned(),
            );
        };
        let base = normalise(base);
        let ok = url::Url::parse(base)
            .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some());
        if !ok {
            return Err(format!(
                "the upstream {base:?} must be an http:// or https:// base URL"
            ));
        }
        if key.trim().is_empty() {
            return Err(format!("the upstream key for {base} is empty"));
        }
        self.entries.retain(|e| e.base != base);
        self.entries.push(UpstreamKey {
            base: base.to_owned(),
            key: Secret::new(key.trim()),
        });
        Ok(())
    }

    /// The key for a model whose upstream is `url`: the entry whose base URL is `url` or the
    /// longest one that `url` continues with a `/`.
    pub fn key_for(&self, url: &str) -> Option<&Secret> {
        let url = normalise(url);
        self.entries
            .iter()
            .filter(|e| {
                url == e.base
                    || url
                        .strip_prefix(e.base.as_str())
                        .is_some_and(|rest| rest.starts_with('/'))
            })
            .max_by_key(|e| e.base.len())
            .map(|e| &e.key)
    }

    /// The configured base URLs, for the log (never the keys).
    pub fn bases(&self) -> Vec<&str> {
        self.entries.iter().map(|e| e.base.as_str()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_goes_only_to_its_base_url_and_below() {
        let keys = UpstreamKeys::parse(
            "https://api.example.com/v1=sk-one, https://api.example.com/v1/special/=sk=two\n",
        )
        .unwrap();
        assert_eq!(
            keys.key_for("https://api.example.com/v1/")
                .unwrap()
                .expose(),
            "sk-one"
        );
        assert_eq!(
            keys.key_for("https://api.example.com/v1/special")
                .unwrap()
                .expose(),
            "sk=two"
        );
        assert!(keys.key_for("https://api.example.com/v10").is_none());
        assert!(keys.key_for("https://api.example.com.evil/v1").is_none());
        assert!(keys.key_for("http://127.0.0.1:9/v1").is_none());
    }

    #[test]
    fn bad_entries_are_refused_without_the_key() {
        let e = UpstreamKeys::parse("https://api.example.com/v1").unwrap_err();
        assert!(e.contains("BASE_URL=KEY"), "{e}");
        let e = UpstreamKeys::parse("ftp://x=sk-secret").unwrap_err();
        assert!(!e.contains("sk-secret"), "{e}");
        assert!(UpstreamKeys::parse("https://x.example=").is_err());
        assert!(UpstreamKeys::parse("  ").unwrap().bases().is_empty());
    }
}
