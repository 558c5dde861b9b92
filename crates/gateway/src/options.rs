//! What a running gateway is told besides its database: how it sends mail and the URL people
//! reach it at, which links in mails and invitations are built on.

use std::net::SocketAddr;
use std::sync::Arc;

use gatehouse_api::Secret;

use crate::dataplane::{DataPlane, DataPlaneOptions};
use crate::invite_key::InviteKey;
use crate::mail::{MailConfig, Mailer};
use crate::oidc::OidcConfig;
use crate::webhooks::WebhookOptions;
use crate::{AppState, Db};

/// Options of [`crate::RunningGateway::spawn_with`]; the default sends no mail and builds links
/// on the listen address.
#[derive(Debug, Clone, Default)]
pub struct GatewayOptions {
    /// See [`MailConfig::smtp_url`]; `None` sends no mail.
    pub smtp_url: Option<Secret>,
    /// The sender of every mail; [`crate::mail::DEFAULT_FROM`] when `None`.
    pub mail_from: Option<String>,
    /// `http(s)://host[:port][/path]` as people reach the gateway; `None`: the listen address.
    pub public_url: Option<String>,
    /// The identity providers invitees restricted to one sign in with; none by default.
    pub oidc: OidcConfig,
    /// Upstream keys and lease expiry of `/v1`.
    pub data_plane: DataPlaneOptions,
    /// The key invitation tokens are sealed under (see [`crate::invite_key`]). `None`: a new
    /// one for this run only, so that links of invitations made now cannot be shown again
    /// after a restart; for tests and throwaway gateways.
    pub invite_key: Option<InviteKey>,
    /// Notification channels: the non-public ranges they may point at and the retry timings.
    pub webhooks: WebhookOptions,
}

impl GatewayOptions {
    /// The state the handlers share, for a gateway listening on `addr`.
    pub fn into_state(self, db: Db, addr: SocketAddr) -> anyhow::Result<AppState> {
        let mailer = Mailer::new(&MailConfig {
            smtp_url: self.smtp_url,
            from: self.mail_from,
        })?;
        let public_url = match self.public_url {
            Some(url) => normalise_public_url(&url)?,
            None => {
                if addr.ip().is_unspecified() {
                    tracing::warn!(
                        "links in mails point at http://{addr}, which nobody can open: \
                         set --public-url"
                    );
                }
                format!("http://{addr}")
            }
        };
        let alert_mail = {
            let (pool, mailer) = (db.pool.clone(), mailer.clone());
            Arc::new(move |alerts: Vec<gatehouse_api::Alert>| {
                let (pool, mailer) = (pool.clone(), mailer.clone());
                tokio::spawn(async move {
                    if let Err(e) = crate::spend::mail_admins_with(&pool, &mailer, &alerts).await {
                        tracing::warn!(error = %e, "the budget alert mails could not be sent");
                    }
                });
            })
        };
        let data_plane = Arc::new(DataPlane::new(db.clone(), alert_mail, self.data_plane));
        let invite_key = self.invite_key.unwrap_or_else(|| {
            tracing::warn!(
                "no invitation key configured: links of the invitations made now cannot be \
                 shown again after a restart"
            );
            InviteKey::generate().0
        });
        Ok(AppState {
            db,
            data_plane,
            mailer,
            public_url: Arc::from(public_url),
            sign_in_throttle: Arc::default(),
            oidc: Arc::new(self.oidc),
            invite_key,
            webhooks: Arc::new(self.webhooks),
        })
    }
}

/// `url` checked (absolute http or https, no query or fragment) and without a trailing slash,
/// so that `{public_url}/reset/…` is always one slash.
pub fn normalise_public_url(url: &str) -> anyhow::Result<String> {
    let parsed = url::Url::parse(url.trim())
        .map_err(|e| anyhow::anyhow!("--public-url {url:?} is not a URL: {e}"))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        anyhow::bail!("--public-url {url:?} must be an http:// or https:// URL with a host");
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        anyhow::bail!("--public-url {url:?} must not have a query or a fragment");
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        anyhow::bail!("--public-url must not carry credentials");
    }
    Ok(parsed.as_str().trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::normalise_public_url;

    #[test]
    fn public_urls_lose_their_trailing_slash_and_must_be_http() {
        assert_eq!(
            normalise_public_url("https://gw.example.com/").unwrap(),
            "https://gw.example.com"
        );
        assert_eq!(
            normalise_public_url("https://gw.example.com/gatehouse/").unwrap(),
            "https://gw.example.com/gatehouse"
        );
        assert!(normalise_public_url("ftp://gw.example.com").is_err());
        assert!(normalise_public_url("gw.example.com").is_err());
        assert!(normalise_public_url("https://gw.example.com/?a=b").is_err());
        assert!(normalise_public_url("https://u:p@gw.example.com").is_err());
    }
}
