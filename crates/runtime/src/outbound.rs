//! The one outbound-address policy: every call the server makes (the HTTP channel's callbacks
//! today; web services and channel APIs next) goes through a client built here. Loopback,
//! private, link-local (cloud metadata included), shared, multicast and unspecified addresses
//! are refused unless the configuration allows their range; names are resolved once, by the
//! client's own resolver, and the connection goes to the address that was checked; redirects
//! are not followed; proxies from the environment are not used.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

/// A range of addresses: an address and a prefix length (`10.0.0.0/8`, `::1/128`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Range {
    pub network: IpAddr,
    pub prefix: u8,
}

impl Range {
    /// Reads `address/prefix` (or a bare address: that address alone).
    pub fn parse(s: &str) -> Option<Range> {
        let (addr, prefix) = match s.trim().split_once('/') {
            Some((a, p)) => (a.parse::<IpAddr>().ok()?, Some(p.parse::<u8>().ok()?)),
            None => (s.trim().parse::<IpAddr>().ok()?, None),
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(Range {
            network: addr,
            prefix,
        })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        fn bits(ip: IpAddr) -> (u128, u8) {
            match ip {
                IpAddr::V4(v4) => (u128::from(u32::from(v4)) << 96, 32),
                IpAddr::V6(v6) => (u128::from(v6), 128),
            }
        }
        let (net, width) = bits(self.network);
        let (addr, addr_width) = bits(ip);
        if width != addr_width {
            return false;
        }
        if self.prefix == 0 {
            return true;
        }
        let mask = u128::MAX << (128 - u32::from(self.prefix));
        net & mask == addr & mask
    }
}

/// Whether an address is one the policy refuses by default.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => internal_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return internal_v4(v4);
            }
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local (fc00::/7)
                || (first & 0xffc0) == 0xfe80 // link-local (fe80::/10)
        }
    }
}

fn internal_v4(v4: Ipv4Addr) -> bool {
    let [a, b, ..] = v4.octets();
    v4.is_loopback()
        || v4.is_private()
        || v4.is_link_local() // 169.254/16: cloud metadata services live there
        || v4.is_unspecified()
        || v4.is_broadcast()
        || v4.is_multicast()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared address space (100.64/10)
        || (a == 192 && b == 0 && v4.octets()[2] == 0) // IETF protocol assignments
}

/// The policy: the default refusals, minus the allowed ranges.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OutboundPolicy {
    pub allow: Vec<Range>,
}

impl OutboundPolicy {
    /// Whether the server may connect to `ip`.
    pub fn allows(&self, ip: IpAddr) -> bool {
        !is_internal(ip) || self.allow.iter().any(|r| r.contains(ip))
    }

    /// Loopback allowed (tests, and deployments whose callbacks run on the same machine).
    pub fn allowing_loopback() -> OutboundPolicy {
        OutboundPolicy {
            allow: vec![
                Range {
                    network: IpAddr::V4(Ipv4Addr::new(127, 0, 0, 0)),
                    prefix: 8,
                },
                Range {
                    network: IpAddr::V6(Ipv6Addr::LOCALHOST),
                    prefix: 128,
                },
            ],
        }
    }

    /// Checks a URL before it is stored or called: `http` or `https`, a host, and, when the
    /// host is an address, one the policy allows (names are checked when resolved).
    pub fn check_url(&self, url: &str) -> Result<(), String> {
        let parsed = reqwest::Url::parse(url).map_err(|e| format!("not a URL: {e}"))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err("the URL must be http or https".into());
        }
        let Some(host) = parsed.host_str().filter(|h| !h.is_empty()) else {
            return Err("the URL has no host".into());
        };
        match host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
        {
            Ok(ip) => self.check_ip(ip),
            // a name: checked when the client resolves it
            Err(_) => Ok(()),
        }
    }

    fn check_ip(&self, ip: IpAddr) -> Result<(), String> {
        if self.allows(ip) {
            Ok(())
        } else {
            Err(format!(
                "{ip} is an internal address (loopback, private, link-local or metadata): allow its range in outbound_allow to call it"
            ))
        }
    }

    /// A client that calls only what the policy allows.
    pub fn client(&self, timeout: Duration) -> reqwest::Result<reqwest::Client> {
        reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(Arc::new(Checked(self.clone())))
            .build()
    }
}

/// Resolves names and keeps only the addresses the policy allows.
struct Checked(OutboundPolicy);

impl reqwest::dns::Resolve for Checked {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.0.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = found
                .iter()
                .copied()
                .filter(|a| policy.allows(a.ip()))
                .collect();
            if allowed.is_empty() {
                return Err(format!(
                    "{host} resolves only to addresses the outbound policy refuses ({})",
                    found
                        .iter()
                        .map(|a| a.ip().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
                .into());
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refused_and_allowed_addresses() {
        let p = OutboundPolicy::default();
        for refused in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fe80::1",
            "fd00:ec2::254",
            "::ffff:127.0.0.1",
            "224.0.0.1",
        ] {
            assert!(!p.allows(refused.parse().unwrap()), "{refused}");
        }
        for allowed in ["93.184.216.34", "2606:2800:220:1::1", "8.8.8.8"] {
            assert!(p.allows(allowed.parse().unwrap()), "{allowed}");
        }
        let lo = OutboundPolicy::allowing_loopback();
        assert!(lo.allows("127.0.0.1".parse().unwrap()));
        assert!(!lo.allows("10.0.0.1".parse().unwrap()));
        let ten = OutboundPolicy {
            allow: vec![Range::parse("10.0.0.0/8").unwrap()],
        };
        assert!(ten.allows("10.9.9.9".parse().unwrap()));
        assert!(
            !ten.allows("11.0.0.1".parse().unwrap()) || !is_internal("11.0.0.1".parse().unwrap())
        );
        assert_eq!(Range::parse("10.0.0.0/33"), None);
        assert!(p.check_url("http://127.0.0.1:9/x").is_err());
        assert!(p.check_url("http://[::1]/x").is_err());
        assert!(p.check_url("ftp://example.com/").is_err());
        assert!(p.check_url("https://example.com/hook").is_ok());
    }
}
