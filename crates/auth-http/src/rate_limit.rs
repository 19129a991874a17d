//! Request rate limits per client IP on the public endpoints that cost
//! something or can be used to probe (sign-up, code sends and checks,
//! availability checks, every refresh), as a GCRA: `per_minute` requests a
//! minute per client, `per_minute` at once.
//!
//! Where the budgets live follows the database ([`RateLimit::stored_in`]):
//! - **PostgreSQL** (one or many instances): in the database, through the
//!   [`RequestRates`] port (`DieselRequestRates`, one upsert per limited
//!   request), so the limit holds however many instances serve: N
//!   instances allow the configured rate in total.
//! - **SQLite** (one instance): in this process's memory, with `governor`.
//!
//! Both apply the same rule ([`RequestRate`]), the same exemptions
//! (`AUTH_RATE_LIMIT_EXEMPT`) and the same client buckets ([`ip_bucket`]).
//! If the database cannot count a request, the request is **allowed** and
//! a warning logged (fail open): a limited endpoint needs the database
//! anyway and answers its own 503 when it is down, and a flaky store must
//! not turn into refusals of every client. Login attempts are throttled
//! separately, in the database (see `docs/security.md`).

use std::fmt;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

use auth_domain::identity::throttle::{HitError, RequestRate, ip_bucket};
use auth_domain::ports::{Clock, RequestRates};
use auth_infra::{Backend, Database, DieselRequestRates, SystemClock};
use governor::clock::Clock as _;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Above this many tracked IPs, idle entries are dropped on the next check.
const RETAIN_ABOVE: usize = 10_000;

/// The per-IP limiter, or nothing when switched off. IPv6 clients are
/// keyed on their prefix ([`ip_bucket`]).
#[derive(Clone, Default)]
pub struct RateLimit {
    /// The budget and where it is counted; `None` when switched off.
    counter: Option<(RequestRate, Counter)>,
    ipv6_prefix: u8,
    exempt: Arc<[ipnet::IpNet]>,
}

/// Where the budgets are counted.
#[derive(Clone)]
enum Counter {
    /// This instance's memory.
    Memory(Arc<DefaultKeyedRateLimiter<IpAddr>>),
    /// A store every instance sees, at the time of `clock`.
    Shared(Arc<dyn RequestRates>, Arc<dyn Clock>),
}

impl fmt::Debug for RateLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let counter = self.counter.as_ref().map(|(rate, counter)| {
            let store = match counter {
                Counter::Memory(_) => "memory",
                Counter::Shared(..) => "shared",
            };
            (rate.limit(), store)
        });
        f.debug_struct("RateLimit")
            .field("counter", &counter)
            .field("ipv6_prefix", &self.ipv6_prefix)
            .field("exempt", &self.exempt)
            .finish()
    }
}

impl RateLimit {
    /// `per_minute` requests per client per minute (also the burst), counted
    /// in this instance's memory, or no limit when `enabled` is false or
    /// `per_minute` is 0. A client is an IPv4 address or the first
    /// `ipv6_prefix` bits of an IPv6 address.
    pub fn new(enabled: bool, per_minute: u32, ipv6_prefix: u8) -> Self {
        match NonZeroU32::new(per_minute) {
            Some(n) if enabled => Self {
                counter: Some((
                    RequestRate::per_minute(n),
                    Counter::Memory(Arc::new(RateLimiter::keyed(Quota::per_minute(n)))),
                )),
                ipv6_prefix,
                exempt: Arc::new([]),
            },
            _ => Self::default(),
        }
    }

    /// The same limit, not counting clients in `exempt`
    /// (`AUTH_RATE_LIMIT_EXEMPT`).
    #[must_use]
    pub fn exempting(self, exempt: Vec<ipnet::IpNet>) -> Self {
        Self {
            exempt: exempt.into(),
            ..self
        }
    }

    /// The same limit, counted in `rates` (shared by every instance that
    /// uses the same store) at the time of `clock`. A limit switched off
    /// stays off.
    #[must_use]
    pub fn shared(self, rates: Arc<dyn RequestRates>, clock: Arc<dyn Clock>) -> Self {
        Self {
            counter: self
                .counter
                .map(|(rate, _)| (rate, Counter::Shared(rates, clock))),
            ..self
        }
    }

    /// The same limit, counted where `db` says: in the database on
    /// PostgreSQL (several instances share it), in memory on SQLite (one
    /// instance).
    #[must_use]
    pub fn stored_in(self, db: &Database) -> Self {
        match db.backend() {
            Backend::Postgres => self.shared(
                Arc::new(DieselRequestRates::new(db.clone())),
                Arc::new(SystemClock),
            ),
            Backend::Sqlite => self,
        }
    }

    /// Whether the budgets are counted in a shared store rather than in
    /// this instance's memory.
    pub fn is_shared(&self) -> bool {
        matches!(self.counter, Some((_, Counter::Shared(..))))
    }

    /// Counts one request from `ip`. `Err` carries how long until the next
    /// request is allowed. Requests without a known IP are not limited, nor
    /// are exempt clients; a shared store that fails allows the request
    /// (logged as a warning).
    ///
    /// # Errors
    /// The wait, when `ip` is over its limit.
    pub async fn check(&self, ip: Option<IpAddr>) -> Result<(), chrono::TimeDelta> {
        let (Some((rate, counter)), Some(ip)) = (&self.counter, ip) else {
            return Ok(());
        };
        let plain = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            IpAddr::V4(_) => ip,
        };
        if self.exempt.iter().any(|net| net.contains(&plain)) {
            return Ok(());
        }
        let bucket = ip_bucket(ip, self.ipv6_prefix);
        match counter {
            Counter::Memory(limiter) => {
                if limiter.len() > RETAIN_ABOVE {
                    limiter.retain_recent();
                }
                limiter.check_key(&bucket).map_err(|not_until| {
                    let wait = not_until.wait_time_from(limiter.clock().now());
                    chrono::TimeDelta::from_std(wait).unwrap_or(chrono::TimeDelta::seconds(60))
                })
            }
            Counter::Shared(rates, clock) => match rates.hit(&bucket.to_string(), *rate, clock.now()).await {
                Ok(()) => Ok(()),
                Err(HitError::Over(wait)) => Err(wait),
                Err(HitError::Internal(e)) => {
                    // Fail open: see the module documentation.
                    tracing::warn!(error = %e, "the request rate limit could not be counted; request allowed");
                    Ok(())
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use auth_infra::testdb::{TestBackend, TestDatabase};

    use super::*;

    /// The behaviour every store must have: `two` allows 2 a minute, `one`
    /// 1 a minute except for 10.1.0.0/16, `off` is switched off.
    async fn limits_per_ip_and_can_be_off(two: RateLimit, one: RateLimit, off: RateLimit) {
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        assert!(two.check(Some(a)).await.is_ok());
        assert!(two.check(Some(a)).await.is_ok());
        let wait = two.check(Some(a)).await.unwrap_err();
        assert!(wait > chrono::TimeDelta::zero() && wait <= chrono::TimeDelta::seconds(30));
        assert!(two.check(Some(b)).await.is_ok());
        assert!(two.check(None).await.is_ok());
        // One /64 is one client, whichever of its addresses it uses; an
        // IPv4-mapped address is its IPv4 client.
        let v6 = |s: &str| Some(s.parse::<IpAddr>().unwrap());
        assert!(two.check(v6("2001:db8:0:1::1")).await.is_ok());
        assert!(two.check(v6("2001:db8:0:1::2")).await.is_ok());
        assert!(two.check(v6("2001:db8:0:1:ffff::3")).await.is_err());
        assert!(two.check(v6("2001:db8:0:2::1")).await.is_ok());
        assert!(two.check(v6("::ffff:10.0.0.2")).await.is_ok());
        assert!(two.check(Some(b)).await.is_err());
        // Exempt clients are not counted; the others still are.
        for _ in 0..10 {
            assert!(one.check(Some("10.1.2.3".parse().unwrap())).await.is_ok());
        }
        assert!(one.check(Some(a)).await.is_ok());
        assert!(one.check(Some(a)).await.is_err());
        for _ in 0..10 {
            assert!(off.check(Some(a)).await.is_ok());
        }
    }

    fn limits() -> [RateLimit; 3] {
        [
            RateLimit::new(true, 2, 64),
            RateLimit::new(true, 1, 64).exempting(vec!["10.1.0.0/16".parse().unwrap()]),
            RateLimit::new(false, 1, 64),
        ]
    }

    #[tokio::test]
    async fn in_memory_limits_per_ip_and_can_be_off() {
        let [two, one, off] = limits();
        assert!(!two.is_shared());
        limits_per_ip_and_can_be_off(two, one, off).await;
    }

    #[tokio::test]
    async fn a_shared_store_limits_the_same_way() {
        // Each limit over a migrated SQLite database of its own (the store
        // works on both backends; auth-infra tests its PostgreSQL side).
        let mut dbs = Vec::new();
        let mut shared = Vec::new();
        for limit in limits() {
            let t = TestDatabase::new(TestBackend::Sqlite);
            let db = Database::connect(t.url(), 2).await.unwrap();
            db.migrate().await.unwrap();
            shared.push(limit.shared(Arc::new(DieselRequestRates::new(db)), Arc::new(SystemClock)));
            dbs.push(t);
        }
        let [two, one, off] = <[RateLimit; 3]>::try_from(shared).unwrap();
        assert!(two.is_shared() && one.is_shared() && !off.is_shared());
        limits_per_ip_and_can_be_off(two, one, off).await;
    }

    #[tokio::test]
    async fn the_store_follows_the_database() {
        let t = TestDatabase::new(TestBackend::Sqlite);
        let db = Database::connect(t.url(), 1).await.unwrap();
        assert!(!RateLimit::new(true, 5, 64).stored_in(&db).is_shared());
        let t = TestDatabase::new(TestBackend::Postgres);
        let db = Database::connect(t.url(), 1).await.unwrap();
        assert!(RateLimit::new(true, 5, 64).stored_in(&db).is_shared());
        assert!(!RateLimit::new(false, 5, 64).stored_in(&db).is_shared());
    }

    #[tokio::test]
    async fn a_failing_store_allows_requests() {
        // Never migrated: every count fails (no such table).
        let t = TestDatabase::new(TestBackend::Sqlite);
        let db = Database::connect(t.url(), 1).await.unwrap();
        let limit =
            RateLimit::new(true, 1, 64).shared(Arc::new(DieselRequestRates::new(db)), Arc::new(SystemClock));
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        for _ in 0..5 {
            assert!(limit.check(Some(a)).await.is_ok());
        }
    }
}
