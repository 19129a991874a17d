//! The client's IP address: the socket peer, or the address a trusted proxy
//! put in `X-Forwarded-For` (`AUTH_TRUSTED_PROXIES`).
//!
//! `X-Forwarded-For` is read right to left: each hop appends the address it
//! received the request from, so the rightmost entry not itself a trusted
//! proxy is the client. From an untrusted peer the header is ignored, so a
//! client cannot choose its own address.

use std::net::IpAddr;

use ipnet::IpNet;

use actix_web::HttpRequest;

/// An IPv4-mapped IPv6 address as IPv4; anything else unchanged.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

/// The proxies whose `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// From networks (`HttpSettings::trusted_proxies`).
    pub fn new(networks: Vec<IpNet>) -> Self {
        Self(networks)
    }

    /// Parses a comma-separated list of IPs and CIDRs (`10.0.0.0/8, ::1`);
    /// blank entries are skipped.
    ///
    /// # Errors
    /// What is wrong with the first bad entry.
    pub fn parse(list: &str) -> Result<Self, String> {
        crate::settings::typed::cidr_list(list).map(Self)
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|n| n.contains(&ip))
    }

    /// Whether `req` comes straight from a trusted proxy (whose headers,
    /// such as `X-Request-Id`, are then believed).
    pub fn trusts_peer(&self, req: &HttpRequest) -> bool {
        req.peer_addr()
            .is_some_and(|peer| self.trusts(canonical(peer.ip())))
    }

    /// The client IP of `req`: the peer, unless the peer is trusted and
    /// sent `X-Forwarded-For`; then the rightmost untrusted address in it.
    pub fn client_ip(&self, req: &HttpRequest) -> Option<IpAddr> {
        let peer = canonical(req.peer_addr()?.ip());
        if !self.trusts(peer) {
            return Some(peer);
        }
        let mut client = peer;
        let hops = req
            .headers()
            .get_all("x-forwarded-for")
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect::<Vec<_>>();
        for hop in hops.into_iter().rev() {
            match hop.parse::<IpAddr>() {
                Ok(ip) => {
                    client = canonical(ip);
                    if !self.trusts(client) {
                        break;
                    }
                }
                // A garbled entry: stop at the last address we could trust.
                Err(_) => break,
            }
        }
        Some(client)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn req(peer: &str, xff: Option<&str>) -> HttpRequest {
        let mut r = TestRequest::default().peer_addr(format!("{peer}:1234").parse().unwrap());
        if let Some(x) = xff {
            r = r.insert_header(("X-Forwarded-For", x));
        }
        r.to_http_request()
    }

    #[test]
    fn forwarded_for_only_from_trusted_peers() {
        let t = TrustedProxies::parse("10.0.0.0/8, 192.168.1.1").unwrap();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(
            t.client_ip(&req("203.0.113.5", Some("1.2.3.4"))),
            Some(ip("203.0.113.5"))
        );
        assert_eq!(
            t.client_ip(&req("10.1.2.3", Some("1.2.3.4"))),
            Some(ip("1.2.3.4"))
        );
        assert_eq!(
            t.client_ip(&req("10.1.2.3", Some("6.6.6.6, 1.2.3.4, 10.9.9.9"))),
            Some(ip("1.2.3.4"))
        );
        assert_eq!(t.client_ip(&req("192.168.1.1", None)), Some(ip("192.168.1.1")));
        assert_eq!(
            t.client_ip(&req("10.1.2.3", Some("garbage"))),
            Some(ip("10.1.2.3"))
        );
        assert!(TrustedProxies::parse("10.0.0.0/33").is_err());
        assert!(TrustedProxies::parse("nope").is_err());
        assert_eq!(TrustedProxies::parse(" ").unwrap(), TrustedProxies::default());
    }
}
