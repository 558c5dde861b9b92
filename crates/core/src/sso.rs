//! Signing in with the organisation's identity provider, as a native app does it (RFC 8252):
//! the app listens on a loopback port of its own, opens the system browser at the gateway's
//! `/sso/{provider}/start` with that address, a random `state` and a PKCE challenge, and waits
//! for the browser to come back. The gateway runs the provider's flow and sends the browser to
//! `http://127.0.0.1:{port}/callback?code=…&state=…` (or `?error=…&error_description=…`). Only
//! the holder of the verifier can exchange the code, so a code seen by another program on this
//! computer is of no use to it.
//!
//! The code and the verifier are [`Secret`]s: never logged, and never in an error.

use std::future::Future;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gatehouse_api::{ErrorCode, Secret};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use url::Url;

use crate::error::{CoreError, CoreResult};
use crate::ipc::SignInProvider;

/// Opens a web page in the person's own browser, where their provider session and password
/// manager are; the desktop shell's is the OS default browser, a test's follows the redirects
/// itself.
pub trait Browser: Send + Sync {
    /// Opens `url`; an error is a reason for the log, never shown.
    fn open(&self, url: &str) -> Result<(), String>;
}

/// How long the app waits for the browser to come back, unless told otherwise.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(5 * 60);

/// The path of the app's redirect; other paths on the listener are not the sign-in.
const CALLBACK_PATH: &str = "/callback";

/// A request head longer than this is not a browser coming back from a sign-in.
const MAX_HEAD: usize = 16 * 1024;

/// How long one connection may take to send its request head. Browsers open connections they
/// never use (preconnects); those must not hold up the one that carries the redirect.
const HEAD_WAIT: Duration = Duration::from_secs(10);

/// What the browser brought back: the code and the verifier to exchange it with.
#[derive(Debug)]
pub struct Granted {
    pub code: Secret,
    pub verifier: Secret,
}

/// 32 random bytes, base64url: a `state`, or a PKCE verifier (RFC 7636 §4.1).
fn random_value() -> Secret {
    Secret::new(URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>()))
}

fn challenge(verifier: &Secret) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.expose().as_bytes()))
}

/// `{gateway}/sso/{provider}/start` with the app's redirect, state and challenge.
fn start_url(
    gateway: &str,
    provider: SignInProvider,
    redirect: &str,
    state: &Secret,
    challenge: &str,
) -> CoreResult<Url> {
    let mut url = Url::parse(gateway.trim())
        .map_err(|e| CoreError::Invalid(format!("the gateway URL is not a URL: {e}")))?;
    url.set_query(None);
    url.set_fragment(None);
    url.path_segments_mut()
        .map_err(|()| CoreError::Invalid("the gateway URL cannot have a path".into()))?
        .pop_if_empty()
        .extend(["sso", provider.as_str(), "start"]);
    url.query_pairs_mut()
        .append_pair("redirect_uri", redirect)
        .append_pair("state", state.expose())
        .append_pair("code_challenge", challenge)
        .append_pair("code_challenge_method", "S256");
    Ok(url)
}

/// Runs the browser leg of a sign-in with `provider` at `gateway`: until the browser comes
/// back, `wait` has passed, or `cancelled` resolves.
pub async fn authorize(
    gateway: &str,
    provider: SignInProvider,
    browser: &dyn Browser,
    wait: Duration,
    cancelled: impl Future<Output = ()>,
) -> CoreResult<Granted> {
    // An IP literal, not `localhost`: a hosts file could send `localhost` elsewhere, and the
    // gateway takes only loopback literals (RFC 8252 §7.3).
    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    let redirect = format!(
        "http://127.0.0.1:{}{CALLBACK_PATH}",
        listener.local_addr()?.port()
    );
    let state = random_value();
    let verifier = random_value();
    let start = start_url(gateway, provider, &redirect, &state, &challenge(&verifier))?;
    browser.open(start.as_str()).map_err(CoreError::Browser)?;
    tracing::info!(
        provider = provider.as_str(),
        "single sign-on: waiting for the browser"
    );
    let back = tokio::select! {
        back = callback(listener) => back?,
        () = tokio::time::sleep(wait) => {
            return Err(CoreError::SignInTimedOut(plain_duration(wait)));
        }
        () = cancelled => return Err(CoreError::SignInCancelled),
    };
    let (mut stream, target) = back;
    let outcome = outcome(&target, &state);
    let page = match &outcome {
        Ok(_) => "You can close this window and return to Gatehouse.".to_owned(),
        Err(e) => format!(
            "{} You can close this window and return to Gatehouse.",
            e.to_ipc().message
        ),
    };
    // The browser may have gone; the sign-in goes on without the page.
    if let Err(e) = respond(&mut stream, "200 OK", &page).await {
        tracing::debug!(error = %e, "the browser left before the sign-in page was sent");
    }
    outcome.map(|code| Granted { code, verifier })
}

/// The code the browser brought back to `target`, when it carries our `state`.
fn outcome(target: &Url, state: &Secret) -> CoreResult<Secret> {
    let param = |name: &str| {
        target
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    if param("state").as_deref() != Some(state.expose()) {
        tracing::warn!("single sign-on: a callback with another state was refused");
        return Err(CoreError::ForeignCallback);
    }
    if let Some(code) = param("code").filter(|c| !c.is_empty()) {
        return Ok(Secret::new(code));
    }
    let error = param("error").unwrap_or_default();
    let code = serde_json::from_value(serde_json::Value::String(error.clone()))
        .unwrap_or(ErrorCode::Forbidden);
    let message = param("error_description")
        .map(|d| d.trim().to_owned())
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| "The gateway did not sign you in; nothing was changed.".into());
    tracing::info!(error = %error, "single sign-on refused");
    Err(CoreError::SignInRefused { code, message })
}

/// The first request for [`CALLBACK_PATH`] on `listener`, with its connection to answer on.
/// Other paths (a favicon) get a 404 and do not count.
async fn callback(listener: TcpListener) -> CoreResult<(TcpStream, Url)> {
    let (heads, mut received) = mpsc::channel(4);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (mut stream, _) = accepted?;
                let heads = heads.clone();
                tokio::spawn(async move {
                    if let Ok(Some(target)) =
                        tokio::time::timeout(HEAD_WAIT, request_target(&mut stream)).await
                    {
                        let _ = heads.send((stream, target)).await;
                    }
                });
            }
            Some((mut stream, target)) = received.recv() => {
                if target.path() == CALLBACK_PATH {
                    return Ok((stream, target));
                }
                let _ = respond(&mut stream, "404 Not Found", "Not found.").await;
            }
        }
    }
}

/// The target of a `GET` request's head, as a URL on the listener; `None` for anything else.
async fn request_target(stream: &mut TcpStream) -> Option<Url> {
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 2048];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).await.ok()?;
        if n == 0 || head.len() + n > MAX_HEAD {
            return None;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let head = std::str::from_utf8(&head).ok()?;
    let mut parts = head.lines().next()?.split(' ');
    let (method, target) = (parts.next()?, parts.next()?);
    if method != "GET" || !target.starts_with('/') {
        return None;
    }
    Url::parse("http://127.0.0.1").ok()?.join(target).ok()
}

/// A small page of plain words; nothing in it loads from elsewhere, and the address (which
/// holds the code) is neither cached nor sent on as a referrer.
async fn respond(stream: &mut TcpStream, status: &str, text: &str) -> std::io::Result<()> {
    let body = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Gatehouse</title></head>\
         <body style=\"font-family: system-ui, sans-serif; margin: 3em\"><p>{}</p></body></html>",
        escape_html(text)
    );
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nReferrer-Policy: no-referrer\r\n\
         Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// "5 minutes", "1 minute", "30 seconds".
fn plain_duration(d: Duration) -> String {
    let (n, unit) = if d.as_secs() >= 60 && d.as_secs().is_multiple_of(60) {
        (d.as_secs() / 60, "minute")
    } else {
        (d.as_secs().max(1), "second")
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_challenge_is_s256_of_the_verifier() {
        // RFC 7636, appendix B.
        let verifier = Secret::new("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
        assert_eq!(
            challenge(&verifier),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        assert_eq!(random_value().expose().len(), 43);
        assert_ne!(random_value().expose(), random_value().expose());
    }

    #[test]
    fn the_start_url_keeps_the_gateway_path_and_carries_the_app_side() {
        let state = Secret::new("s t");
        let url = start_url(
            "https://gw.example/base/?x=1",
            SignInProvider::Microsoft,
            "http://127.0.0.1:5/callback",
            &state,
            "abc",
        )
        .unwrap();
        assert_eq!(
            url.as_str(),
            "https://gw.example/base/sso/microsoft/start?redirect_uri=http%3A%2F%2F127.0.0.1%3A5%2Fcallback&state=s+t&code_challenge=abc&code_challenge_method=S256"
        );
    }

    #[test]
    fn durations_read_as_words() {
        assert_eq!(plain_duration(DEFAULT_WAIT), "5 minutes");
        assert_eq!(plain_duration(Duration::from_secs(60)), "1 minute");
        assert_eq!(plain_duration(Duration::from_millis(300)), "1 second");
        assert_eq!(plain_duration(Duration::from_secs(90)), "90 seconds");
    }
}
