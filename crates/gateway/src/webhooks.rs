//! Delivering events to notification channels: which URLs a channel may have (the data plane's
//! egress rules, with an allow-list of its own, `--allow-webhook-net`), the signature, and the
//! worker every gateway node runs. The events themselves are made in the store
//! (`gatehouse_store::webhooks::emit`), in the transaction of their change.
//!
//! The worker claims due outbox rows with a lease (so that two nodes on one PostgreSQL database
//! never send one row), posts each with a timeout and no redirects, through a resolver that
//! refuses the addresses the allow-list does not open, and writes the attempt to the channel's
//! log. A failed attempt is tried again after `first_retry`, doubling up to `max_retry`, until
//! `give_up_after` has passed since the first attempt; the row is then failed.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use gatehouse_api::{DeliveryOutcome, Event, Secret};
/// The one place events are made (in the transaction of their change).
pub use gatehouse_store::webhooks::emit;
use gatehouse_store::webhooks::{self as store, AttemptResult, DueRow};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use tokio::sync::watch;

use crate::dataplane::UpstreamNets;
use crate::dataplane::egress::{Refused, VettedResolver, classify, literal_address, refusal_in};
use crate::invite_key::InviteKey;
use crate::{AppState, Db};

/// The signature header: `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
pub const SIGNATURE_HEADER: &str = "Gatehouse-Signature";
pub const EVENT_HEADER: &str = "Gatehouse-Event";
pub const DELIVERY_HEADER: &str = "Gatehouse-Delivery";
/// Prefix of a channel's signing secret.
pub const SECRET_PREFIX: &str = "whsec_";
/// Rows a node claims at a time.
const BATCH: i64 = 20;

/// How webhooks are delivered; the defaults are the documented ones, tests shorten them.
#[derive(Debug, Clone)]
pub struct WebhookOptions {
    /// Non-public ranges channels may point at (`--allow-webhook-net`); none by default.
    pub allowed_nets: UpstreamNets,
    /// Wait before the second attempt; each later wait doubles.
    pub first_retry: Duration,
    /// The longest wait between two attempts.
    pub max_retry: Duration,
    /// After this long since the first attempt, a failing event is given up.
    pub give_up_after: Duration,
    /// How often a node looks for due rows.
    pub poll_interval: Duration,
    /// How long a claimed row is a node's own before another may take it (a node that died).
    pub lease: Duration,
    /// The most one request may take.
    pub timeout: Duration,
    /// How often a node looks for keys expiring within a week (`api_key.expiring`).
    pub expiry_scan_interval: Duration,
}

impl Default for WebhookOptions {
    fn default() -> Self {
        Self {
            allowed_nets: UpstreamNets::default(),
            first_retry: Duration::from_secs(30),
            max_retry: Duration::from_secs(3600),
            give_up_after: Duration::from_secs(24 * 3600),
            poll_interval: Duration::from_secs(1),
            lease: Duration::from_secs(60),
            timeout: Duration::from_secs(10),
            expiry_scan_interval: Duration::from_secs(600),
        }
    }
}

impl WebhookOptions {
    /// The wait after attempt number `attempt` (1 for the first) failed.
    pub fn backoff(&self, attempt: i64) -> Duration {
        let doublings = u32::try_from(attempt.saturating_sub(1))
            .unwrap_or(u32::MAX)
            .min(30);
        self.first_retry
            .saturating_mul(2u32.saturating_pow(doublings))
            .min(self.max_retry)
    }
}

/// What is wrong with `url` as a channel's URL, as the admin API says it: https with a host, no
/// credentials or fragment; an IP-literal or localhost host that the allow-list does not open is
/// refused, and plain http is taken only for a target the allow-list opens (a receiver on this
/// machine or a private network). Other names are checked when resolved, at each delivery.
pub fn check_url(nets: &UpstreamNets, url: &str) -> Result<url::Url, String> {
    let parsed = url::Url::parse(url.trim()).map_err(|_| "must be an https:// URL".to_owned())?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err("must be an https:// URL".to_owned());
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err("must not carry a user name or password".to_owned());
    }
    if parsed.fragment().is_some() {
        return Err("must not have a fragment (#…)".to_owned());
    }
    let host = parsed.host().ok_or("must be an https:// URL")?;
    let literal = literal_address(&host);
    if let Some(ip) = literal {
        nets.check(ip).map_err(|r| refused_message(&r))?;
    }
    let opened = literal.is_some_and(|ip| classify(ip).is_some());
    if parsed.scheme() == "http" && !opened {
        return Err(
            "must be an https:// URL (http is taken only for an address the gateway \
                    allow-lists with --allow-webhook-net)"
                .to_owned(),
        );
    }
    Ok(parsed)
}

fn refused_message(r: &Refused) -> String {
    format!(
        "must not point at a {} address ({}) unless the gateway allow-lists it \
         (--allow-webhook-net)",
        r.kind, r.addr
    )
}

/// A new signing secret.
pub fn new_secret() -> Secret {
    crate::auth::new_secret(SECRET_PREFIX).0
}

/// The `Gatehouse-Signature` value of `body` sent at `t` (unix seconds).
pub fn signature(secret: &Secret, t: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes())
        .expect("HMAC takes a key of any length");
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let mut hex = String::with_capacity(digest.len() * 2);
    for b in digest {
        hex.push_str(&format!("{b:02x}"));
    }
    format!("t={t},v1={hex}")
}

/// The worker of one node, stopped by [`Worker::stop`] (or when dropped).
#[derive(Debug)]
pub struct Worker {
    stop: watch::Sender<bool>,
    task: Option<tokio::task::JoinHandle<()>>,
    /// How many times the worker has looked at its outbox; a test waits on it to know that what
    /// it queues next is left for the next pass.
    passes: watch::Receiver<u64>,
}

impl Worker {
    /// Starts delivering `state`'s due rows in a task of its own.
    pub fn start(state: &AppState) -> Self {
        let (stop, mut stopped) = watch::channel(false);
        let (passed, passes) = watch::channel(0u64);
        let db = state.db.clone();
        let key = state.invite_key.clone();
        let options = state.webhooks.clone();
        let task = tokio::spawn(async move {
            let http = client(&options);
            let mut last_scan: Option<Instant> = None;
            loop {
                if last_scan.is_none_or(|t| t.elapsed() >= options.expiry_scan_interval) {
                    last_scan = Some(Instant::now());
                    if let Err(e) = tell_expiring_keys(&db).await {
                        tracing::warn!(error = %e, "the scan for expiring API keys failed");
                    }
                }
                let busy = match deliver_due(&db, &key, &options, &http, &stopped).await {
                    Ok(n) => n > 0,
                    Err(e) => {
                        tracing::warn!(error = %e, "webhook delivery could not read its outbox");
                        false
                    }
                };
                passed.send_modify(|n| *n += 1);
                if *stopped.borrow() {
                    return;
                }
                // A full batch may mean more are due: look again at once.
                if busy {
                    continue;
                }
                tokio::select! {
                    _ = tokio::time::sleep(options.poll_interval) => {}
                    _ = stopped.changed() => return,
                }
            }
        });
        Self {
            stop,
            task: Some(task),
            passes,
        }
    }

    /// Counts the worker's looks at its outbox.
    pub fn passes(&self) -> watch::Receiver<u64> {
        self.passes.clone()
    }

    /// Lets the attempt in flight finish and ends the worker.
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

fn client(options: &WebhookOptions) -> reqwest::Client {
    reqwest::Client::builder()
        .dns_resolver(Arc::new(VettedResolver {
            nets: Arc::new(options.allowed_nets.clone()),
        }))
        // A redirect could lead where the check did not look.
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .connect_timeout(options.timeout)
        .timeout(options.timeout)
        .user_agent(concat!("Gatehouse-Webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_default()
}

/// Queues `api_key.expiring` for every key that expires within a week and was not told for that
/// expiry; how many keys.
pub async fn tell_expiring_keys(db: &Db) -> Result<usize, sqlx::Error> {
    let within = chrono::Duration::days(gatehouse_api::events::KEY_EXPIRY_NOTICE_DAYS);
    let mut tx = db.begin_write().await?;
    let keys = gatehouse_store::keys::claim_expiring(&mut tx, Utc::now(), within).await?;
    for key in &keys {
        let expires_at = key.expires_at;
        emit(
            &mut tx,
            gatehouse_api::EventPayload::ApiKeyExpiring(gatehouse_api::ApiKeyData {
                key: key.clone(),
                expires_at,
            }),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(keys.len())
}

/// Claims and sends the due rows; how many it claimed.
async fn deliver_due(
    db: &Db,
    key: &InviteKey,
    options: &WebhookOptions,
    http: &reqwest::Client,
    stopped: &watch::Receiver<bool>,
) -> Result<usize, sqlx::Error> {
    let lease = chrono::Duration::from_std(options.lease).unwrap_or(chrono::Duration::seconds(60));
    let rows = store::claim_due(&db.pool, Utc::now(), lease, BATCH).await?;
    let claimed = rows.len();
    for row in rows {
        // A row claimed and not tried goes back to the others once its lease ends.
        if *stopped.borrow() {
            break;
        }
        // Each row's lease is renewed before it is sent: one whose lease ran out while the
        // rows before it were sent may be another node's by now.
        if !store::renew(&db.pool, &row, Utc::now() + lease).await? {
            continue;
        }
        let result = attempt(db, key, options, http, &row).await?;
        let mut tx = db.begin_write().await?;
        store::finish_attempt(&mut tx, &row, Utc::now(), &result).await?;
        tx.commit().await?;
    }
    Ok(claimed)
}

/// One attempt at `row`, and what comes after it.
async fn attempt(
    db: &Db,
    key: &InviteKey,
    options: &WebhookOptions,
    http: &reqwest::Client,
    row: &DueRow,
) -> Result<AttemptResult, sqlx::Error> {
    let failed = |error: &str| AttemptResult {
        outcome: DeliveryOutcome::Failed,
        status_code: None,
        error: Some(error.to_owned()),
        duration_ms: 0,
        next_attempt_at: None,
    };
    let Some(channel) = store::get_channel(&db.pool, &row.channel_id).await? else {
        return Ok(failed("The channel was deleted."));
    };
    if channel.enabled == 0 {
        return Ok(failed("The channel is disabled."));
    }
    let Some(secret) = key.open(&channel.secret_sealed) else {
        return Ok(failed(
            "The channel's signing secret was sealed under another gateway key; rotate it.",
        ));
    };
    let Ok(event) = serde_json::from_str::<Event>(&row.event) else {
        return Ok(failed("The event could not be read."));
    };
    let body = serde_json::to_vec(&event.body(channel.format())).unwrap_or_default();
    let started = Instant::now();
    let sent = match check_url(&options.allowed_nets, &channel.url) {
        Err(why) => Err(format!("The URL {why}.")),
        Ok(url) => {
            let t = Utc::now().timestamp();
            http.post(url)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .header(SIGNATURE_HEADER, signature(&secret, t, &body))
                .header(EVENT_HEADER, event.payload.event_type().as_str())
                .header(DELIVERY_HEADER, &row.id)
                .body(body)
                .send()
                .await
                .map_err(|e| plain_error(&e))
        }
    };
    let duration_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
    let (status_code, error) = match sent {
        Ok(response) if response.status().is_success() => {
            return Ok(AttemptResult {
                outcome: DeliveryOutcome::Delivered,
                status_code: Some(response.status().as_u16()),
                error: None,
                duration_ms,
                next_attempt_at: None,
            });
        }
        Ok(response) => {
            let status = response.status();
            let error = if status.is_redirection() {
                format!(
                    "The receiver answered with a redirect (HTTP {}), which is not followed.",
                    status.as_u16()
                )
            } else {
                format!("The receiver answered HTTP {}.", status.as_u16())
            };
            (Some(status.as_u16()), error)
        }
        Err(error) => (None, error),
    };
    let now = Utc::now();
    let first = row
        .first_attempt_at
        .as_deref()
        .map(crate::db::parse_timestamp)
        .unwrap_or(now);
    let next = now
        + chrono::Duration::from_std(options.backoff(row.attempts + 1))
            .unwrap_or(chrono::Duration::hours(1));
    let give_up = first
        + chrono::Duration::from_std(options.give_up_after).unwrap_or(chrono::Duration::days(1));
    Ok(if next > give_up {
        AttemptResult {
            outcome: DeliveryOutcome::Failed,
            status_code,
            error: Some(format!(
                "{error} Given up after retrying since the first attempt."
            )),
            duration_ms,
            next_attempt_at: None,
        }
    } else {
        AttemptResult {
            outcome: DeliveryOutcome::Retrying,
            status_code,
            error: Some(error),
            duration_ms,
            next_attempt_at: Some(next),
        }
    })
}

/// What went wrong sending, in plain words: never the URL (it may hold a token, as Slack's do)
/// nor the secret.
fn plain_error(e: &reqwest::Error) -> String {
    if let Some(refused) = refusal_in(e) {
        return format!(
            "The receiver's address {} is a {} address, which the gateway calls only when \
             --allow-webhook-net lists it.",
            refused.addr, refused.kind
        );
    }
    if e.is_timeout() {
        "The receiver did not answer in time.".to_owned()
    } else if e.is_connect() {
        "The receiver could not be reached (connection failed).".to_owned()
    } else {
        "The request to the receiver failed.".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_the_first_wait_up_to_the_cap() {
        let o = WebhookOptions::default();
        assert_eq!(o.backoff(1), Duration::from_secs(30));
        assert_eq!(o.backoff(2), Duration::from_secs(60));
        assert_eq!(o.backoff(5), Duration::from_secs(480));
        assert_eq!(o.backoff(30), Duration::from_secs(3600));
        assert_eq!(o.backoff(i64::MAX), Duration::from_secs(3600));
    }

    #[test]
    fn urls_must_be_https_unless_allow_listed() {
        let none = UpstreamNets::default();
        assert!(check_url(&none, "https://hooks.example.com/x?y=1").is_ok());
        for bad in [
            "http://hooks.example.com/x",
            "https://127.0.0.1/x",
            "https://localhost/x",
            "https://10.0.0.1/x",
            "https://169.254.169.254/latest",
            "https://u:p@hooks.example.com/",
            "ftp://hooks.example.com/",
            "not a url",
        ] {
            assert!(check_url(&none, bad).is_err(), "{bad}");
        }
        let e = check_url(&none, "https://10.0.0.1/x").unwrap_err();
        assert!(
            e.contains("private") && e.contains("--allow-webhook-net"),
            "{e}"
        );
        let loopback = UpstreamNets::loopback();
        assert!(check_url(&loopback, "http://127.0.0.1:9/hook").is_ok());
        assert!(check_url(&loopback, "http://localhost:9/hook").is_ok());
        assert!(check_url(&loopback, "http://10.0.0.1/hook").is_err());
        assert!(check_url(&loopback, "http://hooks.example.com/").is_err());
    }

    #[test]
    fn the_signature_is_the_hmac_of_time_dot_body() {
        // The value Python's hmac module computes for the same key, time and body.
        let s = signature(&Secret::new("whsec_test"), 1_700_000_000, b"{\"a\":1}");
        assert_eq!(
            s,
            "t=1700000000,v1=38877139021993b830af32feea6e18a8da83eb2f6e49ee50bd9e4cf4ca4d3789"
        );
    }
}
