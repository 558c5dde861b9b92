//! Signing in with SSO against a real gateway and the gateway tests' OpenID Connect issuer: a
//! fake browser follows every redirect hop by hop, down to the app's own loopback listener.
//! The session goes to the real keychain (run under `scripts/with-keyring.sh`) and nowhere
//! else; a callback with another state, a provider's refusal, the wait running out and a
//! cancelled sign-in each end in plain words with nothing kept.

#[path = "../../gateway/tests/support/oidc_issuer.rs"]
mod oidc_issuer;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gatehouse_api::Secret;
use gatehouse_core::credentials::{CredentialStore, Keychain, Slot};
use gatehouse_core::ipc::{Phase, ProfileInput, SignInProvider};
use gatehouse_core::sso::Browser;
use gatehouse_core::{AppDirs, Console, CoreError};
use gatehouse_gateway::invite_key::InviteKey;
use gatehouse_gateway::oidc::{OidcConfig, ProviderConfig};
use gatehouse_gateway::{Db, GatewayOptions, RunningGateway, demo};
use oidc_issuer::{CLIENT_ID, CLIENT_SECRET, TestIssuer};
use serde_json::json;
use tokio::sync::mpsc;
use url::Url;

struct Fixture {
    dir: tempfile::TempDir,
    gateway: RunningGateway,
    issuer: TestIssuer,
    keychain: Arc<Keychain>,
    console: Arc<Console>,
    profile_id: String,
}

/// The demo organisation on a gateway that signs in with the test issuer as Google (and, per
/// tenant, as Microsoft), and a console with a profile for it, waiting `wait` for the browser.
async fn fixture(name: &str, wait: Duration) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::connect(&format!("sqlite://{}", dir.path().join("gw.db").display()))
        .await
        .unwrap();
    let (key, _) = InviteKey::generate();
    demo::seed(&db, &key).await.unwrap();
    let issuer = TestIssuer::start().await;
    let provider = |issuer: String| ProviderConfig {
        issuer,
        client_id: CLIENT_ID.to_owned(),
        client_secret: Secret::new(CLIENT_SECRET),
    };
    let options = GatewayOptions {
        invite_key: Some(key),
        oidc: OidcConfig {
            google: Some(provider(issuer.url.clone())),
            microsoft: Some(provider(issuer.microsoft_issuer())),
            ..OidcConfig::default()
        },
        ..GatewayOptions::default()
    };
    let gateway = RunningGateway::start_on_loopback_with(db, options)
        .await
        .unwrap();
    let keychain = Arc::new(Keychain::new(format!(
        "dev.gatehouse.test.sso.{name}.{}",
        std::process::id()
    )));
    let dirs = AppDirs {
        config: dir.path().join("config"),
        data: dir.path().join("data"),
    };
    let console =
        Arc::new(Console::new(dirs, keychain.clone(), Arc::new(|_| {})).with_sso_wait(wait));
    let profile = console
        .add_profile(ProfileInput {
            name: "Northwind production".into(),
            url: gateway.url(),
            ca_pem: None,
            insecure_http: false,
        })
        .await
        .unwrap();
    Fixture {
        dir,
        gateway,
        issuer,
        keychain,
        console,
        profile_id: profile.id,
    }
}

/// What the fake browser saw: every address it went to, and the last page's text.
#[derive(Debug)]
struct Visit {
    urls: Vec<Url>,
    page: String,
}

/// A browser that follows the redirects itself, one hop at a time, and reports each visit.
/// `tamper` changes the address of the hop to the app's listener (another `state`).
struct FakeBrowser {
    visits: mpsc::UnboundedSender<Visit>,
    tamper: Option<fn(&mut Url)>,
}

impl FakeBrowser {
    fn new(tamper: Option<fn(&mut Url)>) -> (Self, mpsc::UnboundedReceiver<Visit>) {
        let (visits, seen) = mpsc::unbounded_channel();
        (Self { visits, tamper }, seen)
    }
}

impl Browser for FakeBrowser {
    fn open(&self, url: &str) -> Result<(), String> {
        let start = Url::parse(url).map_err(|e| e.to_string())?;
        let visits = self.visits.clone();
        let tamper = self.tamper;
        tokio::spawn(async move {
            let http = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap();
            let mut urls = vec![start];
            for _ in 0..10 {
                let response = http.get(urls.last().unwrap().clone()).send().await.unwrap();
                let Some(location) = response.headers().get(reqwest::header::LOCATION) else {
                    let page = response.text().await.unwrap();
                    let _ = visits.send(Visit { urls, page });
                    return;
                };
                let mut next = Url::parse(location.to_str().unwrap()).unwrap();
                if next.path() == "/callback"
                    && let Some(tamper) = tamper
                {
                    tamper(&mut next);
                }
                urls.push(next);
            }
            panic!("more than 10 redirects: {urls:?}");
        });
        Ok(())
    }
}

/// A browser that opens nothing and says so once it was asked.
struct IdleBrowser(mpsc::UnboundedSender<String>);

impl Browser for IdleBrowser {
    fn open(&self, url: &str) -> Result<(), String> {
        let _ = self.0.send(url.to_owned());
        Ok(())
    }
}

struct BrokenBrowser;

impl Browser for BrokenBrowser {
    fn open(&self, _: &str) -> Result<(), String> {
        Err("no browser on this test machine".into())
    }
}

/// The core's log lines, into a buffer for the test to search.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// Everything the core logs at any level, from every test of this file: a subscriber set for
/// one thread only would miss lines whose callsite another thread cached as uninteresting.
fn core_logs() -> &'static Captured {
    static LOGS: std::sync::OnceLock<Captured> = std::sync::OnceLock::new();
    LOGS.get_or_init(|| {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("gatehouse_core=trace"))
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::set_global_default(subscriber).unwrap();
        captured
    })
}

fn files_under(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for path in entries.map(|e| e.unwrap().path()) {
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push((path.clone(), std::fs::read(&path).unwrap()));
        }
    }
    out
}

/// `secret` is in none of the app's files (the gateway's database aside).
fn assert_nowhere_on_disk(dir: &Path, secret: &str) {
    let files = files_under(dir);
    assert!(files.iter().any(|(p, _)| p.ends_with("profiles.json")));
    for (path, bytes) in files {
        if path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("gw.db"))
        {
            continue;
        }
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "{} holds a secret",
            path.display()
        );
    }
}

fn param(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

async fn next_visit(seen: &mut mpsc::UnboundedReceiver<Visit>) -> Visit {
    tokio::time::timeout(Duration::from_secs(10), seen.recv())
        .await
        .expect("the browser to finish")
        .expect("a visit")
}

#[tokio::test]
async fn signs_in_through_the_provider_and_keeps_the_token_only_in_the_keychain() {
    let logs = core_logs();
    let f = fixture("signs-in", Duration::from_secs(30)).await;
    f.issuer
        .sign_in_as(json!({ "email": demo::DEMO_ADMIN_EMAIL, "email_verified": true }));
    let (browser, mut seen) = FakeBrowser::new(None);

    let status = f
        .console
        .sign_in_sso(&f.profile_id, SignInProvider::Google, &browser)
        .await
        .unwrap();
    assert_eq!(status.phase, Phase::Ready, "{:?}", status.error);
    // What the sign-in form offers, asked of the gateway before signing in.
    let offered: Vec<String> = f
        .console
        .sso_providers(&f.profile_id)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert_eq!(offered, ["Google", "Microsoft"]);
    assert_eq!(status.me.unwrap().user.email, demo::DEMO_ADMIN_EMAIL);
    assert!(status.profile.unwrap().signed_in);

    // The browser went from the gateway to the provider, back to the gateway, then to the
    // app's loopback listener with a code and the app's state, and was told to go back.
    let visit = next_visit(&mut seen).await;
    let start = &visit.urls[0];
    assert_eq!(start.path(), "/sso/google/start");
    assert_eq!(
        param(start, "code_challenge_method").as_deref(),
        Some("S256")
    );
    assert_eq!(param(start, "code_challenge").unwrap().len(), 43);
    let redirect = Url::parse(&param(start, "redirect_uri").unwrap()).unwrap();
    assert_eq!(redirect.host_str(), Some("127.0.0.1"));
    assert!(redirect.port().is_some());
    assert!(
        visit.urls[1].as_str().starts_with(&f.issuer.url),
        "{:?}",
        visit.urls
    );
    let last = visit.urls.last().unwrap();
    assert_eq!(last.origin(), redirect.origin());
    assert_eq!(param(last, "state"), param(start, "state"));
    let code = param(last, "code").expect("a code for the app");
    assert!(
        visit
            .page
            .contains("You can close this window and return to Gatehouse."),
        "{}",
        visit.page
    );

    let token = f
        .keychain
        .get(Slot::Token(&f.profile_id))
        .unwrap()
        .expect("the session token is in the keychain");
    assert_ne!(token.expose(), code);
    let on_disk = f.dir.path();
    for secret in [token.expose(), code.as_str()] {
        assert_nowhere_on_disk(on_disk, secret);
    }
    for secret in f.issuer.handed_out() {
        assert_nowhere_on_disk(on_disk, &secret);
    }
    let logged = logs.text();
    assert!(logged.contains("waiting for the browser"), "{logged}");
    for secret in [token.expose(), code.as_str()] {
        assert!(!logged.contains(secret), "a secret was logged: {logged}");
    }

    // The code was used: the browser's address, replayed, signs nobody in.
    let replayed = gatehouse_core::client::AdminClient::sso_token(
        &f.gateway.url(),
        &Secret::new(code),
        &Secret::new("a verifier the code was not made for, 43 chars"),
        None,
    )
    .await
    .unwrap_err();
    assert_eq!(replayed.code(), "unauthorized");
}

#[tokio::test]
async fn a_callback_with_another_state_is_refused() {
    core_logs();
    let f = fixture("state", Duration::from_secs(30)).await;
    f.issuer
        .sign_in_as(json!({ "email": demo::DEMO_ADMIN_EMAIL, "email_verified": true }));
    let (browser, mut seen) = FakeBrowser::new(Some(|url: &mut Url| {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| {
                let v = if k == "state" {
                    "forged".into()
                } else {
                    v.into_owned()
                };
                (k.into_owned(), v)
            })
            .collect();
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }));

    let e = f
        .console
        .sign_in_sso(&f.profile_id, SignInProvider::Microsoft, &browser)
        .await
        .unwrap_err();
    assert!(matches!(e, CoreError::ForeignCallback), "{e:?}");
    let ipc = e.to_ipc();
    assert_eq!(ipc.code, "state_mismatch");
    assert_eq!(
        ipc.message,
        "The browser came back from a sign-in this app did not start; nothing was changed, \
         start again."
    );
    let visit = next_visit(&mut seen).await;
    assert_eq!(visit.urls[0].path(), "/sso/microsoft/start");
    assert_eq!(
        param(visit.urls.last().unwrap(), "state").as_deref(),
        Some("forged")
    );
    assert!(visit.page.contains("did not start"), "{}", visit.page);
    assert_eq!(f.keychain.get(Slot::Token(&f.profile_id)).unwrap(), None);
    assert_eq!(f.console.status().await.phase, Phase::Starting);
}

#[tokio::test]
async fn a_refusal_by_the_gateway_comes_back_in_plain_words() {
    core_logs();
    let f = fixture("refused", Duration::from_secs(30)).await;
    f.issuer
        .sign_in_as(json!({ "email": "stranger@elsewhere.example", "email_verified": true }));
    let (browser, mut seen) = FakeBrowser::new(None);

    let e = f
        .console
        .sign_in_sso(&f.profile_id, SignInProvider::Google, &browser)
        .await
        .unwrap_err();
    let ipc = e.to_ipc();
    assert_eq!(ipc.code, "forbidden", "{ipc:?}");
    assert!(
        ipc.message
            .contains("stranger@elsewhere.example has no account in this organisation"),
        "{}",
        ipc.message
    );
    let visit = next_visit(&mut seen).await;
    assert_eq!(
        param(visit.urls.last().unwrap(), "error").as_deref(),
        Some("forbidden")
    );
    assert!(visit.page.contains("has no account"), "{}", visit.page);
    assert!(visit.page.contains("return to Gatehouse"), "{}", visit.page);
    assert_eq!(f.keychain.get(Slot::Token(&f.profile_id)).unwrap(), None);
}

#[tokio::test]
async fn the_wait_runs_out_or_is_cancelled_in_plain_words() {
    core_logs();
    let f = fixture("waits", Duration::from_millis(300)).await;
    let (opened, mut was_opened) = mpsc::unbounded_channel();

    let e = f
        .console
        .sign_in_sso(
            &f.profile_id,
            SignInProvider::Google,
            &IdleBrowser(opened.clone()),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), "timed_out");
    assert_eq!(
        e.to_ipc().message,
        "Nobody finished signing in in the browser within 1 second; start again."
    );
    assert!(
        was_opened
            .recv()
            .await
            .unwrap()
            .contains("/sso/google/start?")
    );

    // Once the browser is open, the UI cancels: the sign-in ends at once, and the listener
    // it had is closed.
    let f = fixture("cancels", Duration::from_secs(60)).await;
    let console = f.console.clone();
    let profile_id = f.profile_id.clone();
    let signing_in = tokio::spawn(async move {
        console
            .sign_in_sso(&profile_id, SignInProvider::Google, &IdleBrowser(opened))
            .await
    });
    let start = Url::parse(&was_opened.recv().await.unwrap()).unwrap();
    let redirect = Url::parse(&param(&start, "redirect_uri").unwrap()).unwrap();
    f.console.cancel_sso();
    let e = tokio::time::timeout(Duration::from_secs(5), signing_in)
        .await
        .expect("cancelled at once")
        .unwrap()
        .unwrap_err();
    assert_eq!(e.code(), "cancelled");
    assert_eq!(e.to_ipc().message, "The sign-in was cancelled.");
    assert!(
        reqwest::get(redirect).await.is_err(),
        "the listener still answers"
    );
    assert_eq!(f.keychain.get(Slot::Token(&f.profile_id)).unwrap(), None);

    // No browser to open: said plainly, and nothing waits.
    let e = f
        .console
        .sign_in_sso(&f.profile_id, SignInProvider::Google, &BrokenBrowser)
        .await
        .unwrap_err();
    assert_eq!(e.code(), "browser_unavailable");
    assert!(!e.to_ipc().message.contains("test machine"));
}
