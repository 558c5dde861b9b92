//! Which addresses the gateway may call as a model's upstream. A model's base URL is written by
//! whoever may edit the catalog and its answers reach whoever is granted the model, so an
//! upstream on loopback, a private network or a cloud metadata service would make the gateway a
//! way into its own network. Such addresses are refused unless the gateway's configuration
//! allow-lists them (`--allow-upstream-net` / `GATEHOUSE_ALLOWED_UPSTREAM_NETS`): when a model is
//! saved (for an IP literal) and at every call, after DNS resolution, on the addresses the
//! connection is made to.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

/// An address range, `ADDRESS/PREFIX` (a bare address is the range of that address alone).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Net {
    addr: IpAddr,
    prefix: u8,
}

impl Net {
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let bad = || format!("{text:?} is not an address range like 10.0.0.0/8 or fd00::/8");
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let addr: IpAddr = addr
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse()
            .map_err(|_| bad())?;
        let addr = canonical(addr);
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(bad)?,
            None => max,
        };
        Ok(Self { addr, prefix })
    }

    fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }

    /// Whether the range is one address: only such an entry opens a metadata address, so that a
    /// broad entry (a whole private network, or everything) never does by accident.
    fn is_single(&self) -> bool {
        self.prefix == if self.addr.is_ipv4() { 32 } else { 128 }
    }
}

impl fmt::Display for Net {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// `ip` with an IPv4 address written as IPv6 (`::ffff:a.b.c.d`) as that IPv4 address: the
/// connection goes to the same host either way.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

/// The cloud metadata services: AWS, GCP, Azure, OpenStack and others at 169.254.169.254,
/// AWS's IPv6 endpoint, Oracle's at 192.0.0.192, Alibaba's at 100.100.100.200.
const METADATA: [IpAddr; 4] = [
    IpAddr::V4(Ipv4Addr::new(169, 254, 169, 254)),
    IpAddr::V6(Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254)),
    IpAddr::V4(Ipv4Addr::new(192, 0, 0, 192)),
    IpAddr::V4(Ipv4Addr::new(100, 100, 100, 200)),
];

/// What kind of non-public address `ip` is, or `None` for an address on the internet.
pub fn classify(ip: IpAddr) -> Option<&'static str> {
    let ip = canonical(ip);
    if METADATA.contains(&ip) {
        return Some("cloud metadata");
    }
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    if ip.is_unspecified() || a == 0 {
        Some("unspecified")
    } else if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_link_local() {
        Some("link-local")
    } else if ip.is_private() {
        Some("private")
    } else if a == 100 && (64..128).contains(&b) {
        Some("shared (carrier-grade NAT)")
    } else if ip.is_broadcast() {
        Some("broadcast")
    } else if ip.is_multicast() {
        Some("multicast")
    } else if a >= 240 || (a == 192 && b == 0 && c == 0) || (a == 198 && (b & 0xfe) == 18) {
        // Reserved, IETF protocol assignments, benchmarking: no upstream lives there.
        Some("reserved")
    } else {
        None
    }
}

fn classify_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let s = ip.segments();
    // IPv4 inside IPv6 that reaches the IPv4 host: IPv4-compatible (::a.b.c.d), NAT64
    // (64:ff9b::/96) and 6to4 (2002::/16).
    let embedded = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    if ip.is_unspecified() {
        Some("unspecified")
    } else if ip.is_loopback() {
        Some("loopback")
    } else if s[..6] == [0; 6] || s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        classify_v4(embedded(s[6], s[7]))
    } else if s[0] == 0x2002 {
        classify_v4(embedded(s[1], s[2]))
    } else if s[0] & 0xffc0 == 0xfe80 {
        Some("link-local")
    } else if s[0] & 0xffc0 == 0xfec0 || s[0] & 0xfe00 == 0xfc00 {
        Some("private")
    } else if ip.is_multicast() {
        Some("multicast")
    } else {
        None
    }
}

/// The non-public address ranges the gateway may call upstreams in; empty by default.
#[derive(Debug, Clone, Default)]
pub struct UpstreamNets {
    nets: Vec<Net>,
}

/// Why an upstream address is refused; its text names the address, never a URL or key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub addr: IpAddr,
    pub kind: &'static str,
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} is a {} address, which the gateway calls only when --allow-upstream-net lists it",
            self.addr, self.kind
        )
    }
}

impl std::error::Error for Refused {}

impl UpstreamNets {
    /// Parses ranges separated by whitespace or commas (the form of
    /// `GATEHOUSE_ALLOWED_UPSTREAM_NETS`).
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut nets = Self::default();
        for entry in text.split(|c: char| c.is_whitespace() || c == ',') {
            if !entry.is_empty() {
                nets.add(entry)?;
            }
        }
        Ok(nets)
    }

    pub fn add(&mut self, entry: &str) -> Result<(), String> {
        let net = Net::parse(entry)?;
        if !self.nets.contains(&net) {
            self.nets.push(net);
        }
        Ok(())
    }

    /// Loopback only (127.0.0.0/8 and ::1): for tests and local benchmarks whose upstream is a
    /// stub on this machine.
    pub fn loopback() -> Self {
        Self {
            nets: vec![
                Net {
                    addr: IpAddr::V4(Ipv4Addr::new(127, 0, 0, 0)),
                    prefix: 8,
                },
                Net {
                    addr: IpAddr::V6(Ipv6Addr::LOCALHOST),
                    prefix: 128,
                },
            ],
        }
    }

    /// The configured ranges, for the log.
    pub fn ranges(&self) -> Vec<String> {
        self.nets.iter().map(Net::to_string).collect()
    }

    /// Whether the gateway may connect to `ip`: an address on the internet, or one in an
    /// allow-listed range (a metadata address only when listed alone).
    pub fn check(&self, ip: IpAddr) -> Result<(), Refused> {
        let ip = canonical(ip);
        let Some(kind) = classify(ip) else {
            return Ok(());
        };
        let metadata = METADATA.contains(&ip);
        let listed = self
            .nets
            .iter()
            .any(|n| n.contains(ip) && (!metadata || n.is_single()));
        if listed {
            Ok(())
        } else {
            Err(Refused { addr: ip, kind })
        }
    }

    /// What is wrong with `url` as a model's upstream base URL, as the admin API says it: see
    /// [`Self::check_base_url`]; `localhost` names count as the loopback address they are.
    pub fn check_model_url(&self, url: &str) -> Result<url::Url, String> {
        let parsed = self.check_base_url(url)?;
        match parsed.host() {
            // RFC 6761: these names are loopback wherever they are resolved.
            Some(url::Host::Domain(d)) if is_localhost(d) => {
                self.check(IpAddr::V4(Ipv4Addr::LOCALHOST))
                    .map_err(|r| refused_message(&r))?;
                Ok(parsed)
            }
            _ => Ok(parsed),
        }
    }

    /// What is wrong with `url` as an upstream base URL: not http(s) with a host, a query or
    /// fragment (the gateway appends `/chat/completions`, so a `?` would make that a query and
    /// let the URL choose any path), or an IP-literal host that is a refused address. Host
    /// names are checked when they are resolved, at each call.
    pub fn check_base_url(&self, url: &str) -> Result<url::Url, String> {
        let parsed = url::Url::parse(url).map_err(|_| "must be an http:// or https:// URL")?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err("must be an http:// or https:// URL".to_owned());
        }
        if parsed.query().is_some() || parsed.fragment().is_some() {
            return Err("must not have a query (?…) or a fragment (#…)".to_owned());
        }
        let ip = match parsed.host() {
            Some(url::Host::Ipv4(v4)) => IpAddr::V4(v4),
            Some(url::Host::Ipv6(v6)) => IpAddr::V6(v6),
            Some(url::Host::Domain(_)) => return Ok(parsed),
            None => return Err("must be an http:// or https:// URL".to_owned()),
        };
        self.check(ip).map_err(|r| refused_message(&r))?;
        Ok(parsed)
    }
}

fn refused_message(r: &Refused) -> String {
    format!(
        "must not point at a {} address ({}) unless the gateway allow-lists it \
         (--allow-upstream-net)",
        r.kind, r.addr
    )
}

/// The address a URL's host names without resolving: an IP literal, or a `localhost` name (the
/// loopback address wherever it is resolved); `None` for other names, which the resolver checks
/// at each call. Outgoing webhooks check their URLs with it.
pub fn literal_address(host: &url::Host<&str>) -> Option<IpAddr> {
    match host {
        url::Host::Ipv4(v4) => Some(IpAddr::V4(*v4)),
        url::Host::Ipv6(v6) => Some(IpAddr::V6(*v6)),
        url::Host::Domain(d) if is_localhost(d) => Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        url::Host::Domain(_) => None,
    }
}

fn is_localhost(domain: &str) -> bool {
    let d = domain.trim_end_matches('.').to_ascii_lowercase();
    d == "localhost" || d.ends_with(".localhost")
}

/// Resolves upstream host names and keeps only the addresses [`UpstreamNets::check`] allows,
/// so that a name that resolves (or is re-pointed) to a refused address is never connected
/// to. Neither the data plane's client nor reqwest (the webhooks') resolves IP literals: those
/// are checked with the URL.
#[derive(Debug, Clone)]
pub struct VettedResolver {
    pub nets: Arc<UpstreamNets>,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl VettedResolver {
    /// The allowed addresses of `host`; an error holding the [`Refused`] when all were refused.
    async fn lookup(nets: Arc<UpstreamNets>, host: String) -> Result<Vec<SocketAddr>, BoxError> {
        let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
        let mut refused = None;
        let allowed: Vec<SocketAddr> = found
            .into_iter()
            .filter(|a| match nets.check(a.ip()) {
                Ok(()) => true,
                Err(r) => {
                    refused.get_or_insert(r);
                    false
                }
            })
            .collect();
        match (allowed.is_empty(), refused) {
            (true, Some(r)) => Err(Box::new(r)),
            _ => Ok(allowed),
        }
    }
}

impl reqwest::dns::Resolve for VettedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let lookup = Self::lookup(self.nets.clone(), name.as_str().to_owned());
        Box::pin(async move {
            let allowed = lookup.await?;
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The resolver of hyper-util's connector, which the data plane's upstream client is built on.
impl tower_service::Service<hyper_util::client::legacy::connect::dns::Name> for VettedResolver {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = BoxError;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<Self::Response, BoxError>> + Send>,
    >;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), BoxError>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: hyper_util::client::legacy::connect::dns::Name) -> Self::Future {
        let lookup = Self::lookup(self.nets.clone(), name.as_str().to_owned());
        Box::pin(async move { Ok(lookup.await?.into_iter()) })
    }
}

/// The refusal behind a failed upstream request, if an address check caused it.
pub fn refusal_in<'e>(e: &'e (dyn std::error::Error + 'static)) -> Option<&'e Refused> {
    gatehouse_api::causes(e).find_map(|c| c.downcast_ref::<Refused>())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn non_public_addresses_are_classified() {
        for (addr, kind) in [
            ("127.0.0.1", "loopback"),
            ("127.255.0.9", "loopback"),
            ("::1", "loopback"),
            ("169.254.1.1", "link-local"),
            ("fe80::1", "link-local"),
            ("10.1.2.3", "private"),
            ("172.16.0.1", "private"),
            ("172.31.255.255", "private"),
            ("192.168.0.1", "private"),
            ("fc00::1", "private"),
            ("fd12:3456::1", "private"),
            ("100.64.0.1", "shared (carrier-grade NAT)"),
            ("100.127.255.254", "shared (carrier-grade NAT)"),
            ("0.0.0.0", "unspecified"),
            ("0.1.2.3", "unspecified"),
            ("::", "unspecified"),
            ("224.0.0.1", "multicast"),
            ("ff02::1", "multicast"),
            ("255.255.255.255", "broadcast"),
            ("240.0.0.1", "reserved"),
            ("169.254.169.254", "cloud metadata"),
            ("fd00:ec2::254", "cloud metadata"),
            ("100.100.100.200", "cloud metadata"),
            // IPv4 written as IPv6 reaches the IPv4 host.
            ("::ffff:127.0.0.1", "loopback"),
            ("::ffff:169.254.169.254", "cloud metadata"),
            ("::ffff:10.0.0.1", "private"),
            ("::127.0.0.1", "loopback"),
            ("64:ff9b::a00:1", "private"),
            ("2002:c0a8:1::", "private"),
        ] {
            assert_eq!(classify(ip(addr)), Some(kind), "{addr}");
        }
        for public in [
            "1.1.1.1",
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "2606:4700::1111",
            "::ffff:1.1.1.1",
            "2002:0808:0808::",
        ] {
            assert_eq!(classify(ip(public)), None, "{public}");
        }
    }

    #[test]
    fn the_allow_list_opens_its_ranges_and_metadata_only_when_listed_alone() {
        assert!(UpstreamNets::default().check(ip("127.0.0.1")).is_err());
        assert!(UpstreamNets::default().check(ip("1.1.1.1")).is_ok());
        let loopback = UpstreamNets::loopback();
        assert!(loopback.check(ip("127.0.0.1")).is_ok());
        assert!(loopback.check(ip("::1")).is_ok());
        assert!(loopback.check(ip("::ffff:127.0.0.1")).is_ok());
        assert!(loopback.check(ip("10.0.0.1")).is_err());
        assert!(loopback.check(ip("169.254.169.254")).is_err());

        let broad = UpstreamNets::parse("0.0.0.0/0, ::/0 10.0.0.0/8").unwrap();
        assert!(broad.check(ip("10.9.9.9")).is_ok());
        assert!(broad.check(ip("fe80::1")).is_ok());
        let e = broad.check(ip("169.254.169.254")).unwrap_err();
        assert_eq!(e.kind, "cloud metadata");
        assert!(broad.check(ip("fd00:ec2::254")).is_err());
        let exact = UpstreamNets::parse("169.254.169.254").unwrap();
        assert!(exact.check(ip("169.254.169.254")).is_ok());
        assert!(exact.check(ip("169.254.169.253")).is_err());

        let some = UpstreamNets::parse("10.1.0.0/16 [fd00::]/8").unwrap();
        assert_eq!(some.ranges(), ["10.1.0.0/16", "fd00::/8"]);
        assert!(some.check(ip("10.1.200.3")).is_ok());
        assert!(some.check(ip("10.2.0.1")).is_err());
        assert!(some.check(ip("fd99::1")).is_ok());
        for bad in ["10.0.0.0/33", "::/129", "example.com", "10.0.0.0/x", "/8"] {
            assert!(UpstreamNets::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn base_urls_with_a_query_or_a_refused_address_are_refused() {
        let none = UpstreamNets::default();
        assert!(none.check_base_url("https://api.openai.com/v1").is_ok());
        assert!(none.check_base_url("http://10.0.0.5:8000/v1").is_err());
        assert!(none.check_base_url("http://[::1]:8000/v1").is_err());
        assert!(none.check_base_url("http://0x7f.1/v1").is_err());
        assert!(none.check_model_url("http://LOCALHOST.:80/v1").is_err());
        assert!(none.check_model_url("http://api.localhost/v1").is_err());
        // At call time the resolver checks names.
        assert!(none.check_base_url("http://localhost:80/v1").is_ok());
        let e = none
            .check_base_url("http://169.254.169.254/latest")
            .unwrap_err();
        assert!(
            e.contains("cloud metadata") && e.contains("169.254.169.254"),
            "{e}"
        );
        let loopback = UpstreamNets::loopback();
        assert!(loopback.check_base_url("http://127.0.0.1:9/v1").is_ok());
        assert!(loopback.check_model_url("http://localhost:9/v1").is_ok());
        for bad in [
            "http://127.0.0.1:9/v1?x=",
            "https://api.openai.com/v1#x",
            "ftp://api.openai.com/v1",
            "not a url",
        ] {
            assert!(loopback.check_model_url(bad).is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn the_resolver_keeps_only_allowed_addresses() {
        use std::str::FromStr;
        use tower_service::Service;
        // The data plane's connector asks through tower's `Service`, the webhooks' reqwest
        // through its `Resolve`: both must refuse.
        let resolve = |nets: UpstreamNets| {
            let mut resolver = VettedResolver {
                nets: Arc::new(nets),
            };
            resolver.call(
                hyper_util::client::legacy::connect::dns::Name::from_str("localhost").unwrap(),
            )
        };
        let Err(e) = resolve(UpstreamNets::default()).await else {
            panic!("localhost resolved to an address that is not allowed");
        };
        let refused = refusal_in(e.as_ref()).expect("the refusal is in the error");
        assert_eq!(refused.kind, "loopback");
        let found: Vec<SocketAddr> = resolve(UpstreamNets::loopback()).await.unwrap().collect();
        assert!(found.iter().any(|a| a.ip().is_loopback()), "{found:?}");
        let by_reqwest = reqwest::dns::Resolve::resolve(
            &VettedResolver {
                nets: Arc::new(UpstreamNets::default()),
            },
            reqwest::dns::Name::from_str("localhost").unwrap(),
        );
        let Err(e) = by_reqwest.await else {
            panic!("localhost resolved through reqwest's resolver");
        };
        assert!(refusal_in(e.as_ref()).is_some());
    }
}
