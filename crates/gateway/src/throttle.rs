//! Throttling of what guesses at secrets: sign-ins, and posts to password-reset and invitation
//! links. Failures are counted per key within [`WINDOW`]; a key at its limit gets `429
//! rate_limited` until its oldest failure leaves the window.
//!
//! A sign-in counts against two keys: the client address *and* the account
//! ([`MAX_FAILURES`]), and the client address across all accounts ([`MAX_CLIENT_FAILURES`],
//! against spraying one guess at many accounts). Nothing counts per account alone: such a
//! counter would let anyone lock a victim out by failing at their address on purpose. So the
//! victim's right password from their own client is never held up by someone else's guesses; a
//! guesser with many addresses gets [`MAX_FAILURES`] guesses per address, against which argon2
//! and the minimum password length stand. The client limit is higher than the per-account one
//! so that one person's typos behind a shared address (an office's NAT) block only that person.
//!
//! Posts to reset and invitation links count per client address ([`MAX_LINK_FAILURES`]), one
//! budget for both kinds: their tokens cannot be guessed, but each post that gets as far as a
//! password costs an argon2 hash.
//!
//! The counters live in memory, per gateway node: a restart forgets them, and several nodes
//! behind one load balancer each count on their own (so an attacker spread over `n` nodes gets
//! `n` times the attempts). The client address is the TCP peer: behind a reverse proxy every
//! client shares the proxy's address, and the per-address limits then apply to all of them.
//!
//! An attempt is counted when it starts, under the same lock as the check, so that a burst of
//! parallel guesses cannot all slip through before the first failure is recorded; a success gives
//! the attempt back.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failed sign-ins from one client address at one account, per window.
pub const MAX_FAILURES: usize = 5;
/// Failed sign-ins from one client address at any accounts, per window.
pub const MAX_CLIENT_FAILURES: usize = 20;
/// Failed posts to reset or invitation links from one client address, per window.
pub const MAX_LINK_FAILURES: usize = 10;
pub const WINDOW: Duration = Duration::from_secs(15 * 60);

/// Past this many keys the map is swept of keys whose failures have all left the window.
const SWEEP_AT: usize = 10_000;

#[derive(Debug)]
pub struct SignInThrottle {
    max: usize,
    max_client: usize,
    max_link: usize,
    window: Duration,
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl Default for SignInThrottle {
    fn default() -> Self {
        Self::new(MAX_FAILURES, MAX_CLIENT_FAILURES, MAX_LINK_FAILURES, WINDOW)
    }
}

/// One key an attempt counts against.
#[derive(Debug)]
struct Key {
    name: String,
    max: usize,
    /// Whether a success wipes the key's earlier failures too (the failures belong to the one
    /// account that just proved itself), not just this attempt's.
    cleared_by_success: bool,
}

/// One attempt in progress, counted as a failure unless [`Attempt::succeeded`] or
/// [`Attempt::forgive`] says otherwise.
#[derive(Debug)]
#[must_use]
pub struct Attempt<'a> {
    throttle: &'a SignInThrottle,
    keys: Vec<Key>,
    at: Instant,
}

/// IPv6 clients usually hold a whole /64, so that is what counts as one client. Without a peer
/// address (a server started without connect info) all callers are one client.
fn client_key(ip: Option<IpAddr>) -> String {
    match ip {
        None => "-".to_owned(),
        Some(IpAddr::V4(v4)) => v4.to_string(),
        Some(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

impl SignInThrottle {
    pub fn new(max: usize, max_client: usize, max_link: usize, window: Duration) -> Self {
        Self {
            max,
            max_client,
            max_link,
            window,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// Starts a sign-in at `email` (already normalised) from `client`, or says how long until
    /// one is allowed.
    pub fn begin(&self, email: &str, client: Option<IpAddr>) -> Result<Attempt<'_>, Duration> {
        let client = client_key(client);
        self.begin_keys(vec![
            Key {
                name: format!("account:{client} {email}"),
                max: self.max,
                cleared_by_success: true,
            },
            Key {
                name: format!("client:{client}"),
                max: self.max_client,
                cleared_by_success: false,
            },
        ])
    }

    /// Starts a post to a password-reset or invitation link from `client`, or says how long until
    /// one is allowed.
    pub fn begin_link(&self, client: Option<IpAddr>) -> Result<Attempt<'_>, Duration> {
        self.begin_keys(vec![Key {
            name: format!("link:{}", client_key(client)),
            max: self.max_link,
            cleared_by_success: false,
        }])
    }

    fn begin_keys(&self, keys: Vec<Key>) -> Result<Attempt<'_>, Duration> {
        let now = Instant::now();
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > SWEEP_AT {
            map.retain(|_, times| {
                times.retain(|t| now.duration_since(*t) < self.window);
                !times.is_empty()
            });
        }
        let mut wait = Duration::ZERO;
        for key in &keys {
            if let Some(times) = map.get_mut(&key.name) {
                times.retain(|t| now.duration_since(*t) < self.window);
                if times.len() >= key.max {
                    let oldest = times[times.len() - key.max];
                    wait = wait.max(self.window - now.duration_since(oldest));
                }
            }
        }
        if !wait.is_zero() {
            return Err(wait);
        }
        for key in &keys {
            map.entry(key.name.clone()).or_default().push_back(now);
        }
        Ok(Attempt {
            throttle: self,
            keys,
            at: now,
        })
    }
}

impl Attempt<'_> {
    /// A wrong guess: the attempt stays counted (as it would when simply dropped).
    pub fn failed(self) {}

    /// The right secret: the account's failures from this client are forgiven, and this attempt
    /// is not counted against the client address (its earlier failures stay, so that one good
    /// account does not launder guesses at others).
    pub fn succeeded(self) {
        self.give_back(true);
    }

    /// Not a failed guess (the password was right but the account may not sign in): this attempt
    /// is not counted.
    pub fn forgive(self) {
        self.give_back(false);
    }

    /// Settles the attempt by whether what it guarded `succeeded`.
    pub fn settle(self, succeeded: bool) {
        if succeeded {
            self.succeeded();
        } else {
            self.failed();
        }
    }

    fn give_back(self, success: bool) {
        let mut map = self
            .throttle
            .failures
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        for key in &self.keys {
            if success && key.cleared_by_success {
                map.remove(&key.name);
            } else if let Some(times) = map.get_mut(&key.name)
                && let Some(i) = times.iter().position(|t| *t == self.at)
            {
                times.remove(i);
            }
        }
    }
}

/// Whole seconds to wait, rounded up, at least 1: what `Retry-After` says.
pub fn retry_after_secs(wait: Duration) -> u64 {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    secs.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1)));
    const B: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 2)));

    #[test]
    fn five_failures_at_an_account_block_that_client_there_and_nobody_else() {
        let t = SignInThrottle::default();
        for _ in 0..MAX_FAILURES {
            drop(t.begin("x@example.com", A).unwrap());
        }
        let wait = t.begin("x@example.com", A).unwrap_err();
        assert!(wait > Duration::from_secs(14 * 60) && wait <= WINDOW);
        assert_eq!(retry_after_secs(wait), 900);
        // The victim's own client still gets in, and the attacker may still try elsewhere.
        t.begin("x@example.com", B).unwrap().succeeded();
        t.begin("y@example.com", A).unwrap().succeeded();
        assert!(t.begin("x@example.com", A).is_err());
    }

    #[test]
    fn spraying_from_one_client_blocks_it_at_every_account() {
        let t = SignInThrottle::default();
        for i in 0..MAX_CLIENT_FAILURES {
            drop(t.begin(&format!("u{i}@example.com"), A).unwrap());
        }
        assert!(t.begin("fresh@example.com", A).is_err());
        t.begin("fresh@example.com", B).unwrap().succeeded();
    }

    #[test]
    fn success_forgives_the_account_but_not_the_clients_earlier_failures() {
        let t = SignInThrottle::new(2, 3, 2, WINDOW);
        drop(t.begin("x@example.com", A).unwrap());
        t.begin("x@example.com", A).unwrap().succeeded();
        // The account's failure from A is forgiven; the client's stays: two more block A.
        drop(t.begin("x@example.com", A).unwrap());
        drop(t.begin("y@example.com", A).unwrap());
        assert!(t.begin("z@example.com", A).is_err());
    }

    #[test]
    fn forgiven_attempts_do_not_count_and_failures_expire() {
        let t = SignInThrottle::new(2, 10, 2, Duration::from_millis(50));
        for _ in 0..10 {
            t.begin("x@example.com", A).unwrap().forgive();
        }
        drop(t.begin("x@example.com", A).unwrap());
        drop(t.begin("x@example.com", A).unwrap());
        assert!(t.begin("x@example.com", A).is_err());
        std::thread::sleep(Duration::from_millis(60));
        assert!(t.begin("x@example.com", A).is_ok());
    }

    #[test]
    fn link_posts_count_per_client_apart_from_sign_ins() {
        let t = SignInThrottle::new(2, 2, 2, WINDOW);
        drop(t.begin_link(A).unwrap());
        // A success gives only its own attempt back: a real link does not launder bogus ones.
        t.begin_link(A).unwrap().succeeded();
        drop(t.begin_link(A).unwrap());
        assert!(t.begin_link(A).is_err());
        t.begin_link(B).unwrap().succeeded();
        t.begin("x@example.com", A).unwrap().succeeded();
    }

    #[test]
    fn ipv6_clients_count_per_64() {
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        assert_eq!(client_key(Some(a)), client_key(Some(b)));
        let mapped: IpAddr = "::ffff:10.0.0.1".parse().unwrap();
        assert_eq!(client_key(Some(mapped)), "10.0.0.1");
    }
}
