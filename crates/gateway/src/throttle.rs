//! Sign-in throttling: after [`MAX_FAILURES`] failed sign-ins within [`WINDOW`] for one e-mail
//! address, or from one client address, further attempts get `429 rate_limited` until the oldest
//! failure leaves the window.
//!
//! The counters live in memory, per gateway node: a restart forgets them, and several nodes
//! behind one load balancer each count on their own (so an attacker spread over `n` nodes gets
//! `n` times the attempts). The client address is the TCP peer: behind a reverse proxy every
//! client shares the proxy's address, and the per-address limit then applies to all of them.
//!
//! An attempt is counted when it starts, under the same lock as the check, so that a burst of
//! parallel guesses cannot all slip through before the first failure is recorded; a success gives
//! the attempt back.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const MAX_FAILURES: usize = 5;
pub const WINDOW: Duration = Duration::from_secs(15 * 60);

/// Past this many keys the map is swept of keys whose failures have all left the window.
const SWEEP_AT: usize = 10_000;

#[derive(Debug)]
pub struct SignInThrottle {
    max: usize,
    window: Duration,
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl Default for SignInThrottle {
    fn default() -> Self {
        Self::new(MAX_FAILURES, WINDOW)
    }
}

/// One sign-in in progress, counted as a failure unless [`Attempt::succeeded`] or
/// [`Attempt::forgive`] says otherwise.
#[derive(Debug)]
#[must_use]
pub struct Attempt<'a> {
    throttle: &'a SignInThrottle,
    email_key: String,
    client_key: Option<String>,
    at: Instant,
}

fn email_key(email: &str) -> String {
    format!("email:{email}")
}

/// IPv6 clients usually hold a whole /64, so that is what counts as one client.
fn client_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => format!("ip:{v4}"),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => format!("ip:{v4}"),
            None => {
                let s = v6.segments();
                format!("ip:{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

impl SignInThrottle {
    pub fn new(max: usize, window: Duration) -> Self {
        Self {
            max,
            window,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// Starts an attempt for `email` (already normalised) from `client`, or says how long until
    /// one is allowed.
    pub fn begin(&self, email: &str, client: Option<IpAddr>) -> Result<Attempt<'_>, Duration> {
        let now = Instant::now();
        let email_key = email_key(email);
        let client_key = client.map(client_key);
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > SWEEP_AT {
            map.retain(|_, times| {
                times.retain(|t| now.duration_since(*t) < self.window);
                !times.is_empty()
            });
        }
        let mut wait = Duration::ZERO;
        for key in std::iter::once(&email_key).chain(client_key.as_ref()) {
            if let Some(times) = map.get_mut(key) {
                times.retain(|t| now.duration_since(*t) < self.window);
                if times.len() >= self.max {
                    let oldest = times[times.len() - self.max];
                    wait = wait.max(self.window - now.duration_since(oldest));
                }
            }
        }
        if !wait.is_zero() {
            return Err(wait);
        }
        for key in std::iter::once(&email_key).chain(client_key.as_ref()) {
            map.entry(key.clone()).or_default().push_back(now);
        }
        Ok(Attempt {
            throttle: self,
            email_key,
            client_key,
            at: now,
        })
    }
}

impl Attempt<'_> {
    /// A wrong password: the attempt stays counted (as it would when simply dropped).
    pub fn failed(self) {}

    /// The right password: the e-mail's failures are forgiven, and this attempt is not counted
    /// against the client address (its earlier failures stay, so that one good account does not
    /// launder guesses at others).
    pub fn succeeded(self) {
        let mut map = self
            .throttle
            .failures
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        map.remove(&self.email_key);
        self.uncount(&mut map);
    }

    /// Not a failed guess (the password was right but the account may not sign in): this attempt
    /// is not counted.
    pub fn forgive(self) {
        let mut map = self
            .throttle
            .failures
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(times) = map.get_mut(&self.email_key)
            && let Some(i) = times.iter().position(|t| *t == self.at)
        {
            times.remove(i);
        }
        self.uncount(&mut map);
    }

    fn uncount(&self, map: &mut HashMap<String, VecDeque<Instant>>) {
        if let Some(key) = &self.client_key
            && let Some(times) = map.get_mut(key)
            && let Some(i) = times.iter().position(|t| *t == self.at)
        {
            times.remove(i);
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
    fn five_failures_per_email_block_the_sixth_from_anywhere() {
        let t = SignInThrottle::default();
        for _ in 0..5 {
            drop(t.begin("x@example.com", A).unwrap());
        }
        let wait = t.begin("x@example.com", B).unwrap_err();
        assert!(wait > Duration::from_secs(14 * 60) && wait <= WINDOW);
        assert_eq!(retry_after_secs(wait), 900);
        // Another address from another client is not affected.
        t.begin("y@example.com", B).unwrap().succeeded();
    }

    #[test]
    fn five_failures_per_client_block_every_email_from_it() {
        let t = SignInThrottle::default();
        for i in 0..5 {
            drop(t.begin(&format!("u{i}@example.com"), A).unwrap());
        }
        assert!(t.begin("fresh@example.com", A).is_err());
        t.begin("fresh@example.com", B).unwrap().succeeded();
    }

    #[test]
    fn success_forgives_the_email_but_not_the_clients_earlier_failures() {
        let t = SignInThrottle::default();
        for _ in 0..4 {
            drop(t.begin("x@example.com", A).unwrap());
        }
        t.begin("x@example.com", A).unwrap().succeeded();
        // The client still has 4 failures: one more blocks it, the e-mail has none.
        drop(t.begin("x@example.com", A).unwrap());
        assert!(t.begin("z@example.com", A).is_err());
        for _ in 0..4 {
            drop(t.begin("x@example.com", B).unwrap());
        }
    }

    #[test]
    fn forgiven_attempts_do_not_count_and_failures_expire() {
        let t = SignInThrottle::new(2, Duration::from_millis(50));
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
    fn ipv6_clients_count_per_64() {
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        assert_eq!(client_key(a), client_key(b));
        let mapped: IpAddr = "::ffff:10.0.0.1".parse().unwrap();
        assert_eq!(client_key(mapped), "ip:10.0.0.1");
    }
}
