//! Outgoing mail over SMTP: lettre on tokio with rustls, so nothing links OpenSSL.
//!
//! Handlers send after their transaction has committed and do not wait for the SMTP server
//! ([`Mailer::send_later`]): a slow or broken mail server delays the mail, never the request, and
//! a failure is logged instead of turning a change that did happen into a 5xx. Without an SMTP
//! server configured, nothing is sent and that is logged at info.
//!
//! Bodies carry links that are credentials (reset and invite tokens), so no log line here ever
//! contains a body, and `Mail`'s `Debug` leaves them out. The SMTP URL may carry a password and is
//! only ever logged as `host:port`.

use std::sync::Arc;
use std::time::Duration;

use gatehouse_api::Secret;
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// Sender used when `--mail-from` is not given.
pub const DEFAULT_FROM: &str = "Gatehouse <gatehouse@localhost>";

/// Upper bound for one SMTP conversation; past it the send is given up and logged.
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// How the gateway sends mail.
#[derive(Debug, Clone, Default)]
pub struct MailConfig {
    /// `smtp://host:port` (plain), `smtp://host:port?tls=required` (STARTTLS),
    /// `smtps://host:port` (TLS); credentials as `smtp://user:password@host…`. `None`: no mail is
    /// sent.
    pub smtp_url: Option<Secret>,
    /// `Name <address>` or a bare address; [`DEFAULT_FROM`] when `None`.
    pub from: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("the SMTP URL is not usable: {0}")]
    Url(String),
    #[error("{what} is not a mail address")]
    Address { what: String },
    #[error("building the message: {0}")]
    Build(#[from] lettre::error::Error),
    #[error("SMTP: {0}")]
    Smtp(#[from] lettre::transport::smtp::Error),
}

/// One message, in plain text and HTML.
pub struct Mail {
    /// What the mail is for, in log lines (`password_reset`, `invitation`, …).
    pub kind: &'static str,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl std::fmt::Debug for Mail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mail")
            .field("kind", &self.kind)
            .field("to", &self.to)
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

/// What became of a mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The SMTP server accepted it.
    Sent,
    /// No SMTP server is configured.
    NotConfigured,
}

/// Sends mail through the configured SMTP server, or logs that it would have. Cheap to clone.
#[derive(Clone)]
pub struct Mailer {
    smtp: Option<Arc<Smtp>>,
}

struct Smtp {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// `host:port`, the only form of the SMTP URL that may be logged.
    server: String,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.smtp {
            Some(smtp) => write!(f, "Mailer(smtp {})", smtp.server),
            None => f.write_str("Mailer(disabled)"),
        }
    }
}

impl Mailer {
    /// A mailer that sends nothing and logs so.
    pub fn disabled() -> Self {
        Self { smtp: None }
    }

    pub fn new(config: &MailConfig) -> Result<Self, MailError> {
        let from = config.from.as_deref().unwrap_or(DEFAULT_FROM);
        let from: Mailbox = from.parse().map_err(|_| MailError::Address {
            what: format!("the sender {from:?}"),
        })?;
        let Some(url) = &config.smtp_url else {
            return Ok(Self::disabled());
        };
        // Parsed here too only to name the server in logs without the userinfo; lettre
        // itself reads scheme, TLS mode, port and credentials from the URL.
        let parsed = url::Url::parse(url.expose())
            .map_err(|e| MailError::Url(format!("not a URL ({e})")))?;
        let host = parsed
            .host_str()
            .ok_or_else(|| MailError::Url("no host".into()))?;
        let server = match parsed.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        };
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose())
            // The error may quote the URL; only say which server.
            .map_err(|_| {
                MailError::Url(format!(
                    "{}://{server}: use smtp://, smtp://…?tls=required or smtps://",
                    parsed.scheme()
                ))
            })?
            .timeout(Some(SMTP_TIMEOUT))
            .build();
        Ok(Self {
            smtp: Some(Arc::new(Smtp {
                transport,
                from,
                server,
            })),
        })
    }

    pub fn is_enabled(&self) -> bool {
        self.smtp.is_some()
    }

    /// Sends `mail` and waits for the SMTP server's answer.
    pub async fn send(&self, mail: Mail) -> Result<Outcome, MailError> {
        let Some(smtp) = &self.smtp else {
            tracing::info!(
                kind = mail.kind,
                to = %mail.to,
                "mail not sent: no SMTP server is configured (--smtp-url)"
            );
            return Ok(Outcome::NotConfigured);
        };
        let to: Mailbox = mail.to.parse().map_err(|_| MailError::Address {
            what: format!("the recipient {:?}", mail.to),
        })?;
        let message = Message::builder()
            .from(smtp.from.clone())
            .to(to)
            .subject(mail.subject)
            .multipart(MultiPart::alternative_plain_html(mail.text, mail.html))?;
        smtp.transport.send(message).await?;
        tracing::info!(kind = mail.kind, to = %mail.to, server = %smtp.server, "mail sent");
        Ok(Outcome::Sent)
    }

    /// Sends `mail` in the background; a failure is logged, never returned.
    pub fn send_later(&self, mail: Mail) {
        let mailer = self.clone();
        tokio::spawn(async move {
            let (kind, to) = (mail.kind, mail.to.clone());
            if let Err(e) = mailer.send(mail).await {
                tracing::warn!(kind, to = %to, error = %e, "mail not sent");
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_smtp_url_is_refused_without_quoting_its_password() {
        let err = Mailer::new(&MailConfig {
            smtp_url: Some(Secret::new("imap://user:hunter2hunter2@mail.example:25")),
            from: None,
        })
        .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("mail.example:25"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
    }

    #[test]
    fn a_bad_sender_is_refused_and_no_url_means_disabled() {
        assert!(
            Mailer::new(&MailConfig {
                smtp_url: None,
                from: Some("not an address".into()),
            })
            .is_err()
        );
        let mailer = Mailer::new(&MailConfig::default()).unwrap();
        assert!(!mailer.is_enabled());
        assert_eq!(format!("{mailer:?}"), "Mailer(disabled)");
    }

    #[test]
    fn a_mail_debug_print_leaves_out_the_bodies() {
        let mail = Mail {
            kind: "password_reset",
            to: "a@example.com".into(),
            subject: "Reset".into(),
            text: "https://gw.example/reset/rst_secret".into(),
            html: "<a href=\"https://gw.example/reset/rst_secret\">".into(),
        };
        let printed = format!("{mail:?}");
        assert!(printed.contains("a@example.com"));
        assert!(!printed.contains("rst_secret"));
    }

    #[tokio::test]
    async fn without_smtp_send_reports_not_configured() {
        let outcome = Mailer::disabled()
            .send(Mail {
                kind: "test",
                to: "a@example.com".into(),
                subject: "s".into(),
                text: "t".into(),
                html: "h".into(),
            })
            .await
            .unwrap();
        assert_eq!(outcome, Outcome::NotConfigured);
    }
}
