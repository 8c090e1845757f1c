//! The client address behind proxies: taken from forwarding headers only when the hop that set
//! them is trusted.

use std::net::IpAddr;

use crate::facts::HeaderSource;

/// The proxies whose forwarding headers are believed.
///
/// With no trusted proxies (the default), the client address is the connection's peer and
/// forwarding headers are ignored: anyone can send them.
///
/// ```
/// use bot_policy::classify::TrustedProxies;
///
/// let proxies = TrustedProxies::new(["10.0.0.0/8"]).unwrap();
/// let mut headers = http::HeaderMap::new();
/// headers.insert("x-forwarded-for", "203.0.113.9, 198.51.100.7, 10.0.0.2".parse().unwrap());
/// // The rightmost address that is not a trusted proxy is the client.
/// assert_eq!(proxies.client_ip("10.0.0.1".parse().unwrap(), &headers), "198.51.100.7".parse::<std::net::IpAddr>().unwrap());
/// // From an untrusted peer, the header is ignored.
/// assert_eq!(proxies.client_ip("192.0.2.1".parse().unwrap(), &headers), "192.0.2.1".parse::<std::net::IpAddr>().unwrap());
/// ```
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies {
    networks: Vec<ipnet::IpNet>,
}

/// A trusted-proxy network that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an address or CIDR")]
pub struct TrustedProxiesError(String);

/// The most forwarding hops looked at.
const MAX_HOPS: usize = 32;

impl TrustedProxies {
    /// Proxies in these networks (addresses or CIDRs) are trusted.
    pub fn new<'a>(
        networks: impl IntoIterator<Item = &'a str>,
    ) -> Result<Self, TrustedProxiesError> {
        let mut parsed = Vec::new();
        for text in networks {
            let net = match text.parse::<ipnet::IpNet>() {
                Ok(net) => net,
                Err(_) => match text.parse::<IpAddr>() {
                    Ok(ip) => ipnet::IpNet::from(ip),
                    Err(_) => return Err(TrustedProxiesError(text.to_owned())),
                },
            };
            parsed.push(net.trunc());
        }
        Ok(TrustedProxies { networks: parsed })
    }

    /// Whether `ip` is a trusted proxy.
    pub(crate) fn trusts(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.networks.iter().any(|net| net.contains(&ip))
    }

    /// The client's address: the peer's, unless the peer is a trusted proxy, in which case
    /// `CF-Connecting-IP`, then `X-Forwarded-For` read from the right (skipping trusted
    /// proxies), then `Forwarded` (`for=`) is believed. A malformed entry stops the walk at the
    /// last trusted hop.
    pub fn client_ip(&self, peer: IpAddr, headers: &dyn HeaderSource) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.trusts(peer) {
            return peer;
        }
        if let Some(value) = headers.first("cf-connecting-ip")
            && let Some(ip) = std::str::from_utf8(value)
                .ok()
                .and_then(|v| v.trim().parse::<IpAddr>().ok())
        {
            return ip.to_canonical();
        }
        let mut hops: Vec<Option<IpAddr>> = Vec::new();
        headers.for_each_value("x-forwarded-for", &mut |value| {
            for item in value.split(|&b| b == b',') {
                hops.push(
                    std::str::from_utf8(item)
                        .ok()
                        .and_then(|t| t.trim().parse().ok()),
                );
            }
            std::ops::ControlFlow::Continue(())
        });
        if hops.is_empty() {
            headers.for_each_value("forwarded", &mut |value| {
                for element in value.split(|&b| b == b',') {
                    let ip = element
                        .split(|&b| b == b';')
                        .filter_map(|pair| std::str::from_utf8(pair).ok())
                        .filter_map(|pair| pair.trim().split_once('='))
                        .find(|(key, _)| key.eq_ignore_ascii_case("for"))
                        .and_then(|(_, value)| forwarded_node(value));
                    hops.push(ip);
                }
                std::ops::ControlFlow::Continue(())
            });
        }
        let mut client = peer;
        for hop in hops.iter().rev().take(MAX_HOPS) {
            match hop {
                Some(ip) => {
                    client = ip.to_canonical();
                    if !self.trusts(client) {
                        break;
                    }
                }
                None => break,
            }
        }
        client
    }
}

/// The address in a `Forwarded` node: `192.0.2.1`, `"192.0.2.1:80"`, `"[2001:db8::1]:4711"`.
fn forwarded_node(value: &str) -> Option<IpAddr> {
    let value = value.trim().trim_matches('"');
    if let Some(rest) = value.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok();
    }
    let host = match value.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) && !host.contains(':') => {
            host
        }
        _ => value,
    };
    host.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or(IpAddr::from([0u8; 4]))
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> http::HeaderMap {
        let mut map = http::HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, http::HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn forwarding_headers_from_trusted_hops_only() {
        let proxies = TrustedProxies::new(["10.0.0.0/8", "2001:db8::1"]).unwrap_or_default();
        let h = headers(&[
            ("x-forwarded-for", "1.1.1.1, 203.0.113.9"),
            ("x-forwarded-for", "10.0.0.5"),
        ]);
        assert_eq!(proxies.client_ip(ip("10.0.0.1"), &h), ip("203.0.113.9"));
        assert_eq!(
            proxies.client_ip(ip("198.51.100.1"), &h),
            ip("198.51.100.1")
        );
        // All hops trusted: the leftmost.
        let h = headers(&[("x-forwarded-for", "10.1.1.1, 10.2.2.2")]);
        assert_eq!(proxies.client_ip(ip("10.0.0.1"), &h), ip("10.1.1.1"));
        // Garbage stops the walk at the last trusted hop.
        let h = headers(&[("x-forwarded-for", "203.0.113.9, junk, 10.0.0.9")]);
        assert_eq!(proxies.client_ip(ip("10.0.0.1"), &h), ip("10.0.0.9"));
        let h = headers(&[
            ("cf-connecting-ip", "203.0.113.77"),
            ("x-forwarded-for", "1.2.3.4"),
        ]);
        assert_eq!(
            proxies.client_ip(ip("::ffff:10.0.0.1"), &h),
            ip("203.0.113.77")
        );
        let h = headers(&[(
            "forwarded",
            "for=192.0.2.60;proto=http, for=\"[2001:db8::17]:4711\"",
        )]);
        assert_eq!(proxies.client_ip(ip("2001:db8::1"), &h), ip("2001:db8::17"));
        let h = headers(&[("forwarded", "for=\"192.0.2.43:47011\"")]);
        assert_eq!(proxies.client_ip(ip("10.0.0.1"), &h), ip("192.0.2.43"));
        // No trusted proxies: headers never count.
        let none = TrustedProxies::default();
        assert_eq!(none.client_ip(ip("10.0.0.1"), &h), ip("10.0.0.1"));
        assert!(TrustedProxies::new(["nope"]).is_err());
    }
}
