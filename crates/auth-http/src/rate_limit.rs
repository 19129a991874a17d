//! Request rate limits per client IP on the public endpoints that cost
//! something or can be used to probe (sign-up, code sends and checks,
//! availability checks, every refresh), with `governor`'s GCRA.
//!
//! The counters live in this instance's memory: with several instances
//! behind a balancer a client gets up to the limit from each. Login attempts
//! are throttled separately, in the database (see `docs/security.md`).

use std::fmt;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

use auth_domain::identity::throttle::ip_bucket;
use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Above this many tracked IPs, idle entries are dropped on the next check.
const RETAIN_ABOVE: usize = 10_000;

/// The per-IP limiter, or nothing when switched off. IPv6 clients are
/// keyed on their prefix ([`ip_bucket`]).
#[derive(Clone, Default)]
pub struct RateLimit(
    Option<(Arc<DefaultKeyedRateLimiter<IpAddr>>, u8)>,
    Arc<[ipnet::IpNet]>,
);

impl fmt::Debug for RateLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("RateLimit")
            .field(&self.0.is_some())
            .field(&self.1)
            .finish()
    }
}

impl RateLimit {
    /// `per_minute` requests per client per minute (also the burst), or no
    /// limit when `enabled` is false or `per_minute` is 0. A client is an
    /// IPv4 address or the first `ipv6_prefix` bits of an IPv6 address.
    pub fn new(enabled: bool, per_minute: u32, ipv6_prefix: u8) -> Self {
        match NonZeroU32::new(per_minute) {
            Some(n) if enabled => Self(
                Some((Arc::new(RateLimiter::keyed(Quota::per_minute(n))), ipv6_prefix)),
                Arc::new([]),
            ),
            _ => Self::default(),
        }
    }

    /// The same limit, not counting clients in `exempt`
    /// (`AUTH_RATE_LIMIT_EXEMPT`).
    #[must_use]
    pub fn exempting(self, exempt: Vec<ipnet::IpNet>) -> Self {
        Self(self.0, exempt.into())
    }

    /// Counts one request from `ip`. `Err` carries how long until the next
    /// request is allowed. Requests without a known IP are not limited.
    ///
    /// # Errors
    /// The wait, when `ip` is over its limit.
    pub fn check(&self, ip: Option<IpAddr>) -> Result<(), chrono::TimeDelta> {
        let (Some((limiter, prefix)), Some(ip)) = (&self.0, ip) else {
            return Ok(());
        };
        let plain = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            IpAddr::V4(_) => ip,
        };
        if self.1.iter().any(|net| net.contains(&plain)) {
            return Ok(());
        }
        let ip = ip_bucket(ip, *prefix);
        if limiter.len() > RETAIN_ABOVE {
            limiter.retain_recent();
        }
        limiter.check_key(&ip).map_err(|not_until| {
            let wait = not_until.wait_time_from(limiter.clock().now());
            chrono::TimeDelta::from_std(wait).unwrap_or(chrono::TimeDelta::seconds(60))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_ip_and_can_be_off() {
        let limit = RateLimit::new(true, 2, 64);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        assert!(limit.check(Some(a)).is_ok());
        assert!(limit.check(Some(a)).is_ok());
        let wait = limit.check(Some(a)).unwrap_err();
        assert!(wait > chrono::TimeDelta::zero() && wait <= chrono::TimeDelta::seconds(30));
        assert!(limit.check(Some(b)).is_ok());
        assert!(limit.check(None).is_ok());
        // One /64 is one client, whichever of its addresses it uses.
        let v6 = |s: &str| Some(s.parse::<IpAddr>().unwrap());
        assert!(limit.check(v6("2001:db8:0:1::1")).is_ok());
        assert!(limit.check(v6("2001:db8:0:1::2")).is_ok());
        assert!(limit.check(v6("2001:db8:0:1:ffff::3")).is_err());
        assert!(limit.check(v6("2001:db8:0:2::1")).is_ok());
        // Exempt clients are not counted; the others still are.
        let exempting = RateLimit::new(true, 1, 64).exempting(vec!["10.1.0.0/16".parse().unwrap()]);
        for _ in 0..10 {
            assert!(exempting.check(Some("10.1.2.3".parse().unwrap())).is_ok());
        }
        assert!(exempting.check(Some(a)).is_ok());
        assert!(exempting.check(Some(a)).is_err());
        let off = RateLimit::new(false, 1, 64);
        for _ in 0..10 {
            assert!(off.check(Some(a)).is_ok());
        }
    }
}
