//! The guard on requests to addresses a user typed (an Open Reporter partner's URLs): they may
//! reach only public addresses, unless the operator allowed a `host:port`
//! (`AMPWISE_PARTNER_ALLOW`), and never follow a redirect or go through a proxy.
//!
//! The address is checked where the connection is made, not when the URL was saved: a host
//! name is resolved by [`GuardedResolver`], which hands the HTTP client only public addresses,
//! so a name that later resolves to `127.0.0.1` (DNS rebinding) gets nowhere. An address
//! written in the URL is the address connected to (the HTTP client resolves nothing for it):
//! it is checked as the URL parser reads it, so `127.1`, `2130706433`, `0x7f.1` and
//! `[::ffff:127.0.0.1]` are all 127.0.0.1 here as they are to the client.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::Host;

/// Whether `ip` is an address on the public internet. Everything else is refused: loopback,
/// private (RFC 1918), carrier-grade NAT, link-local (with the cloud metadata address
/// 169.254.169.254), unique-local IPv6, multicast, unspecified, reserved and documentation
/// ranges, and IPv6 forms that carry one of those IPv4 addresses (mapped, compatible, NAT64,
/// 6to4).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    let refused = a == 0 // "this network", 0.0.0.0
        || a == 10
        || (a == 100 && (64..128).contains(&b)) // carrier-grade NAT (Alibaba's metadata too)
        || a == 127
        || (a == 169 && b == 254) // link-local, cloud metadata
        || (a == 172 && (16..32).contains(&b))
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2) // documentation
        || (a == 192 && b == 88 && c == 99) // 6to4 relay anycast
        || (a == 192 && b == 168)
        || (a == 198 && (18..20).contains(&b)) // benchmarking
        || (a == 198 && b == 51 && c == 100) // documentation
        || (a == 203 && b == 0 && c == 113) // documentation
        || a >= 224; // multicast, reserved, broadcast
    !refused
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    let embedded_v4 = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    // IPv4-mapped (::ffff:a.b.c.d) and the old IPv4-compatible form (::a.b.c.d): the IPv4
    // address is what the socket reaches.
    if s[..5] == [0; 5] && (s[5] == 0xffff || s[5] == 0) {
        return is_public_v4(embedded_v4(s[6], s[7]));
    }
    // NAT64 (64:ff9b::a.b.c.d): a gateway turns it into the IPv4 address.
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return is_public_v4(embedded_v4(s[6], s[7]));
    }
    // 6to4 (2002:a.b.c.d::/48): a relay sends it to the IPv4 address.
    if s[0] == 0x2002 {
        return is_public_v4(embedded_v4(s[1], s[2]));
    }
    // Only global unicast (2000::/3) is public, less its special ranges: IETF protocol
    // assignments with Teredo (2001::/23) and documentation (2001:db8::/32). Everything else —
    // loopback, unspecified, unique-local (fc00::/7, AWS's fd00:ec2::254), link-local,
    // site-local, multicast, discard (100::/64), local NAT64 — falls outside 2000::/3.
    let global_unicast = s[0] & 0xe000 == 0x2000;
    let ietf = s[0] == 0x2001 && s[1] < 0x200;
    let documentation = s[0] == 0x2001 && s[1] == 0xdb8;
    global_unicast && !ietf && !documentation
}

/// The `host:port` pairs the operator allows whatever their address (`AMPWISE_PARTNER_ALLOW`):
/// for those, plain `http` and private addresses are fine (the Charge Amps simulator of
/// `scripts/run.sh`, the tests' partners).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PartnerAllow {
    entries: Vec<(AllowedHost, u16)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum AllowedHost {
    Name(String),
    Ip(IpAddr),
}

impl AllowedHost {
    fn of(host: &Host<&str>) -> Self {
        match host {
            Host::Domain(d) => AllowedHost::Name(d.trim_end_matches('.').to_ascii_lowercase()),
            Host::Ipv4(ip) => AllowedHost::Ip(IpAddr::V4(*ip)),
            Host::Ipv6(ip) => AllowedHost::Ip(match ip.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => IpAddr::V6(*ip),
            }),
        }
    }
}

impl PartnerAllow {
    /// `host:port` entries separated by commas (`[::1]:8080` for IPv6); spaces are ignored.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut entries = Vec::new();
        for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            // The URL parser reads the host as a request would (IPv6 brackets, IPv4 forms).
            let url = Url::parse(&format!("http://{entry}/"))
                .ok()
                .filter(|u| {
                    u.username().is_empty()
                        && u.password().is_none()
                        && u.path() == "/"
                        && u.query().is_none()
                })
                .ok_or_else(|| format!("{entry:?} is not host:port"))?;
            let host = url.host().ok_or_else(|| format!("{entry:?} has no host"))?;
            // `Url` drops a port that is the scheme's default: 80 written out is still 80.
            let port = url
                .port()
                .or_else(|| entry.ends_with(":80").then_some(80))
                .ok_or_else(|| format!("{entry:?} has no port (host:port)"))?;
            entries.push((AllowedHost::of(&host), port));
        }
        Ok(Self { entries })
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn allows(&self, url: &Url) -> bool {
        let (Some(host), Some(port)) = (url.host(), url.port_or_known_default()) else {
            return false;
        };
        let host = AllowedHost::of(&host);
        self.entries.iter().any(|(h, p)| *h == host && *p == port)
    }
}

/// Why a partner URL is refused before anything is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Not an absolute http(s) URL.
    NotAUrl,
    /// `user:password@host`: credentials belong in their own fields.
    Credentials,
    /// Plain `http` to a host the operator did not allow.
    PlainHttp,
    /// An address on a private, loopback, link-local or otherwise non-public network.
    PrivateAddress,
}

impl Refusal {
    /// The message key for the form field.
    pub fn key(self) -> &'static str {
        match self {
            Refusal::NotAUrl => "error.url_invalid",
            Refusal::Credentials => "error.url_credentials",
            Refusal::PlainHttp => "error.url_https_required",
            Refusal::PrivateAddress => "error.url_private",
        }
    }
}

/// A partner URL that passed the checks that can be made before connecting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    pub url: Url,
    /// On the operator's allow-list: connect to whatever the host resolves to.
    pub allowed: bool,
}

/// Checks a user's partner URL: an absolute `https` URL without credentials whose host, when
/// it is an address, is public; `http` and private addresses only for an allowed `host:port`.
/// Host names are checked when they are resolved, at every connection ([`GuardedResolver`]).
pub fn check(text: &str, allow: &PartnerAllow) -> Result<Checked, Refusal> {
    let url = Url::parse(text.trim()).map_err(|_| Refusal::NotAUrl)?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(Refusal::NotAUrl);
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Refusal::Credentials);
    }
    let allowed = allow.allows(&url);
    if allowed {
        return Ok(Checked { url, allowed });
    }
    if url.scheme() != "https" {
        return Err(Refusal::PlainHttp);
    }
    let literal = match url.host() {
        Some(Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
        Some(Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
        _ => None,
    };
    if literal.is_some_and(|ip| !is_public(ip)) {
        return Err(Refusal::PrivateAddress);
    }
    Ok(Checked { url, allowed })
}

/// No public address for the name (only private ones, or none).
#[derive(Debug, thiserror::Error)]
#[error("{0} has no public address")]
pub struct NoPublicAddress(String);

/// Resolves host names for requests to users' partners, keeping only public addresses. The
/// HTTP client connects only to what this returns, at the moment it connects.
#[derive(Debug, Default, Clone, Copy)]
pub struct GuardedResolver;

impl GuardedResolver {
    /// The public addresses of `host` (port 0: the client puts the URL's port in).
    pub async fn public_addresses(host: &str) -> std::io::Result<Vec<SocketAddr>> {
        let all = tokio::net::lookup_host((host, 0)).await?;
        let public: Vec<SocketAddr> = all.filter(|a| is_public(a.ip())).collect();
        if public.is_empty() {
            return Err(std::io::Error::other(NoPublicAddress(host.to_string())));
        }
        Ok(public)
    }
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs = Self::public_addresses(&host).await?;
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case::loopback("127.0.0.1", false)]
    #[case::loopback_other("127.255.0.9", false)]
    #[case::unspecified("0.0.0.0", false)]
    #[case::this_network("0.1.2.3", false)]
    #[case::rfc1918_10("10.1.2.3", false)]
    #[case::rfc1918_172("172.16.0.1", false)]
    #[case::rfc1918_172_top("172.31.255.255", false)]
    #[case::just_past_172("172.32.0.1", true)]
    #[case::rfc1918_192("192.168.1.1", false)]
    #[case::carrier_grade_nat("100.64.0.1", false)]
    #[case::alibaba_metadata("100.100.100.200", false)]
    #[case::just_past_cgnat("100.128.0.1", true)]
    #[case::link_local("169.254.1.1", false)]
    #[case::cloud_metadata("169.254.169.254", false)]
    #[case::ietf("192.0.0.8", false)]
    #[case::documentation("192.0.2.1", false)]
    #[case::benchmarking("198.18.0.1", false)]
    #[case::multicast("224.0.0.1", false)]
    #[case::reserved("240.0.0.1", false)]
    #[case::broadcast("255.255.255.255", false)]
    #[case::public("93.184.216.34", true)]
    #[case::public_dns("1.1.1.1", true)]
    #[case::v6_loopback("::1", false)]
    #[case::v6_unspecified("::", false)]
    #[case::v6_mapped_loopback("::ffff:127.0.0.1", false)]
    #[case::v6_mapped_private("::ffff:10.0.0.1", false)]
    #[case::v6_mapped_metadata("::ffff:169.254.169.254", false)]
    #[case::v6_mapped_public("::ffff:93.184.216.34", true)]
    #[case::v6_compatible_loopback("::127.0.0.1", false)]
    #[case::v6_nat64_private("64:ff9b::10.0.0.1", false)]
    #[case::v6_nat64_public("64:ff9b::93.184.216.34", true)]
    #[case::v6_6to4_private("2002:c0a8:0101::1", false)]
    #[case::v6_6to4_public("2002:5db8:d822::1", true)]
    #[case::v6_unique_local("fd12:3456::1", false)]
    #[case::v6_aws_metadata("fd00:ec2::254", false)]
    #[case::v6_link_local("fe80::1", false)]
    #[case::v6_site_local("fec0::1", false)]
    #[case::v6_multicast("ff02::1", false)]
    #[case::v6_documentation("2001:db8::1", false)]
    #[case::v6_teredo("2001:0:4136:e378::1", false)]
    #[case::v6_discard("100::1", false)]
    #[case::v6_public("2a00:1450:4001:80b::200e", true)]
    fn only_public_addresses_pass(#[case] ip: &str, #[case] public: bool) {
        assert_eq!(is_public(ip.parse().unwrap()), public, "{ip}");
    }

    fn allow(text: &str) -> PartnerAllow {
        PartnerAllow::parse(text).unwrap()
    }

    /// The review's list of what the server once posted to, and what passes.
    #[rstest]
    #[case::public_https("https://partner.example/update", "", Ok(false))]
    #[case::public_ip_https("https://93.184.216.34/update", "", Ok(false))]
    #[case::loopback("https://127.0.0.1/update", "", Err(Refusal::PrivateAddress))]
    #[case::loopback_short("https://127.1/update", "", Err(Refusal::PrivateAddress))]
    #[case::loopback_decimal("https://2130706433/update", "", Err(Refusal::PrivateAddress))]
    #[case::loopback_hex("https://0x7f.1/update", "", Err(Refusal::PrivateAddress))]
    #[case::v6_loopback("https://[::1]/update", "", Err(Refusal::PrivateAddress))]
    #[case::v6_mapped("https://[::ffff:127.0.0.1]/update", "", Err(Refusal::PrivateAddress))]
    #[case::unspecified("https://0.0.0.0/update", "", Err(Refusal::PrivateAddress))]
    #[case::metadata("https://169.254.169.254/latest", "", Err(Refusal::PrivateAddress))]
    #[case::rfc1918("https://192.168.1.10/update", "", Err(Refusal::PrivateAddress))]
    #[case::user_at("https://user@127.0.0.1/update", "", Err(Refusal::Credentials))]
    #[case::user_at_public("https://u:p@partner.example/update", "", Err(Refusal::Credentials))]
    #[case::plain_http("http://partner.example/update", "", Err(Refusal::PlainHttp))]
    #[case::plain_http_loopback("http://127.0.0.1:3002/update", "", Err(Refusal::PlainHttp))]
    #[case::ftp("ftp://partner.example/update", "", Err(Refusal::NotAUrl))]
    #[case::relative("/api/log_in", "", Err(Refusal::NotAUrl))]
    #[case::allowed_simulator(
        "http://127.0.0.1:3002/openreporter/update",
        "127.0.0.1:3002",
        Ok(true)
    )]
    #[case::allowed_in_another_spelling("http://127.1:3002/update", "127.0.0.1:3002", Ok(true))]
    #[case::allowed_host_other_port(
        "http://127.0.0.1:3000/api/log_in",
        "127.0.0.1:3002",
        Err(Refusal::PlainHttp)
    )]
    #[case::allowed_host_other_port_https(
        "https://127.0.0.1:3000/api/log_in",
        "127.0.0.1:3002",
        Err(Refusal::PrivateAddress)
    )]
    #[case::allowed_name("http://sim.internal:8080/update", "SIM.internal:8080", Ok(true))]
    #[case::allowed_default_port("http://sim.internal/update", "sim.internal:80", Ok(true))]
    #[case::allowed_v6("http://[::1]:9000/update", "[::1]:9000", Ok(true))]
    #[case::localhost_name("https://localhost/update", "", Ok(false))]
    fn partner_urls_are_checked(
        #[case] url: &str,
        #[case] allowed: &str,
        #[case] want: Result<bool, Refusal>,
    ) {
        assert_eq!(
            check(url, &allow(allowed)).map(|c| c.allowed),
            want,
            "{url} with {allowed:?}"
        );
    }

    #[rstest]
    #[case::no_port("127.0.0.1")]
    #[case::path("127.0.0.1:3002/x")]
    #[case::credentials("u@127.0.0.1:3002")]
    #[case::bad_port("127.0.0.1:99999")]
    #[case::words("anything goes")]
    fn allow_list_entries_are_host_and_port(#[case] entry: &str) {
        assert!(PartnerAllow::parse(entry).is_err(), "{entry}");
    }

    #[test]
    fn allow_list_reads_several_entries() {
        let a = allow(" 127.0.0.1:3002, [::1]:9000 ,sim.internal:8080");
        assert_eq!(a.entries.len(), 3);
        assert!(allow("").is_empty());
    }

    /// A name that resolves only to loopback (as a rebinding name would at connect time) gives
    /// the client no address at all.
    #[tokio::test]
    async fn names_that_resolve_to_private_addresses_get_no_address() {
        let err = GuardedResolver::public_addresses("localhost")
            .await
            .unwrap_err();
        assert!(err.to_string().contains("no public address"), "{err}");
    }
}
