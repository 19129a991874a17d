//! Login throttling: counting failed password checks per account key and per
//! client IP, and locking a key out for a growing delay.
//!
//! The rules ([`ThrottleRule::after_failure`], [`ThrottleRule::after_release`])
//! are pure and live here; the [`LoginThrottle`] port stores the state and
//! applies them atomically, so several instances share the counters. An
//! attempt is counted *before* the password is verified (a reservation), so
//! a parallel burst cannot outrun the lock. [`ip_bucket`] says which clients
//! share a per-IP counter.
//!
//! The per-IP request rate limit of the public endpoints has its own port,
//! [`RequestRates`]: one budget per client ([`RequestRate`], a GCRA), kept
//! where every instance sees it.

use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};

use crate::error::PortError;

/// How many failures a key may have, and how long it is locked after that.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleRule {
    /// Failures allowed within [`ThrottleRule::window`] before a lock.
    pub max_failures: u32,
    /// The counting window, from the first failure of a run.
    pub window: TimeDelta,
    /// The first lock's length; each further lock in the window doubles it.
    pub base_lock: TimeDelta,
    /// The longest lock.
    pub max_lock: TimeDelta,
}

/// The stored state of one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleState {
    /// Failures counted in the current window.
    pub failures: u32,
    /// When the current window started (its first failure).
    pub window_start: DateTime<Utc>,
    /// How many locks were imposed in the current window.
    pub lockouts: u32,
    /// Refused until then, if locked.
    pub locked_until: Option<DateTime<Utc>>,
}

impl ThrottleRule {
    /// The state after one more failure at `now`, given the stored state.
    ///
    /// A window older than [`ThrottleRule::window`] (and not locked) starts
    /// over. Reaching `max_failures` locks the key for `base_lock`, doubled
    /// for each earlier lock of the window, at most `max_lock`; every further
    /// failure in the window locks it again, longer.
    pub fn after_failure(&self, state: Option<ThrottleState>, now: DateTime<Utc>) -> ThrottleState {
        let mut s = match state {
            Some(s) if s.window_start + self.window > now || s.locked_until.is_some_and(|t| t > now) => s,
            _ => ThrottleState {
                failures: 0,
                window_start: now,
                lockouts: 0,
                locked_until: None,
            },
        };
        s.failures = s.failures.saturating_add(1);
        if s.failures >= self.max_failures.max(1) {
            let factor = 1_i32.checked_shl(s.lockouts.min(30)).unwrap_or(i32::MAX);
            let lock = self
                .base_lock
                .checked_mul(factor)
                .map_or(self.max_lock, |l| l.min(self.max_lock));
            s.locked_until = Some(now + lock);
            s.lockouts = s.lockouts.saturating_add(1);
        }
        s
    }
}

/// The throttling configuration of the login use cases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Whether throttling applies at all.
    pub enabled: bool,
    /// The rule per account key (the normalized identifier as typed).
    pub account: ThrottleRule,
    /// The rule per client IP.
    pub ip: ThrottleRule,
    /// How many leading bits of an IPv6 address name one client for the
    /// per-IP counter (see [`ip_bucket`]); 64 by default.
    pub ipv6_prefix: u8,
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        let rule = |max_failures| ThrottleRule {
            max_failures,
            window: TimeDelta::minutes(15),
            base_lock: TimeDelta::minutes(1),
            max_lock: TimeDelta::minutes(15),
        };
        Self {
            enabled: true,
            account: rule(5),
            ip: rule(20),
            ipv6_prefix: DEFAULT_IPV6_PREFIX,
        }
    }
}

/// What [`LoginThrottle::reserve`] decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reservation {
    /// Every key had an attempt left: one attempt was counted against each
    /// (as a failure, until [`LoginThrottle::release`] or
    /// [`LoginThrottle::reset`] says otherwise). The states after the
    /// reservation, in the order of the keys. The password may be verified
    /// once.
    Granted(Vec<ThrottleState>),
    /// A key is locked until then: nothing was counted, and the password
    /// must not be verified.
    Refused(DateTime<Utc>),
}

impl ThrottleRule {
    /// The state after giving back one reservation that turned out to be a
    /// success. `reserved` is the state [`ThrottleRule::after_failure`]
    /// produced for that reservation.
    ///
    /// One failure is uncounted; if that reservation imposed the lock that
    /// is still stored, the lock is lifted too (no reservation is granted
    /// while a lock stands, so nothing else counted since). The result is
    /// the state as if the attempt had never been made.
    pub fn after_release(&self, state: ThrottleState, reserved: &ThrottleState) -> ThrottleState {
        let mut s = state;
        s.failures = s.failures.saturating_sub(1);
        if reserved.locked_until.is_some() && s.locked_until == reserved.locked_until {
            s.locked_until = None;
            s.lockouts = s.lockouts.saturating_sub(1);
        }
        s
    }
}

/// The IPv6 prefix length that names one client by default: a /64 is what
/// one subscriber line, one host or one VM usually gets, and an attacker
/// holding one can pick any of its 2^64 addresses.
pub const DEFAULT_IPV6_PREFIX: u8 = 64;

/// The address that stands for `ip` in per-IP budgets: an IPv4 address (or
/// an IPv4-mapped IPv6 address) as itself, an IPv6 address as its first
/// `ipv6_prefix` bits (the rest zeroed; values above 128 count as 128).
///
/// Keying IPv6 clients on their full address would hand anyone with a /64
/// an unlimited supply of fresh budgets.
pub fn ip_bucket(ip: IpAddr, ipv6_prefix: u8) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return IpAddr::V4(v4);
            }
            let bits = u32::from(ipv6_prefix.min(128));
            let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from(u128::from(v6) & mask))
        }
    }
}

/// Stores attempt counters per key (`acct:…`, `ip:…`).
///
/// Every password check first *reserves* an attempt on all its keys in one
/// atomic step, and only a granted reservation may verify the password. So
/// however many checks arrive at once, at most `max_failures` per key are
/// ever verified in a window: the reservation that reaches the limit locks
/// the key before the next one is decided.
#[async_trait]
pub trait LoginThrottle: Send + Sync {
    /// Reserves one attempt on every `(key, rule)` at `now`.
    ///
    /// MUST, atomically across concurrent callers and instances: refuse with
    /// the latest lock when any key is locked after `now`, changing nothing;
    /// otherwise apply [`ThrottleRule::after_failure`] to every key and store
    /// the results. Keys are distinct.
    ///
    /// # Errors
    /// [`PortError`] on infrastructure failure only.
    async fn reserve(
        &self,
        keys: &[(String, ThrottleRule)],
        now: DateTime<Utc>,
    ) -> Result<Reservation, PortError>;

    /// Gives back a reservation of `key` that was a success: MUST apply
    /// [`ThrottleRule::after_release`] to the stored state atomically. A key
    /// with no stored state is left alone.
    ///
    /// # Errors
    /// [`PortError`] on infrastructure failure.
    async fn release(
        &self,
        key: &str,
        rule: &ThrottleRule,
        reserved: &ThrottleState,
    ) -> Result<(), PortError>;

    /// Forgets `key`'s failures (a successful login).
    ///
    /// # Errors
    /// [`PortError`] on infrastructure failure.
    async fn reset(&self, key: &str) -> Result<(), PortError>;
}

/// A per-client request budget: `per_minute` requests a minute, of which
/// `per_minute` may come at once (the burst), as a GCRA ("generic cell rate
/// algorithm", the rule of `governor`'s in-memory limiter).
///
/// A bucket stores its *theoretical arrival time* (TAT). A request at `now`
/// is allowed when `TAT <= now + tolerance()`, and then moves the TAT to
/// `max(TAT, now) + interval()`; a bucket without a TAT (or with one in the
/// past) is fresh. A refused request changes nothing and must wait
/// `TAT - tolerance() - now`, at most one `interval()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestRate {
    per_minute: NonZeroU32,
}

impl RequestRate {
    /// `per_minute` requests a minute, `per_minute` at once.
    pub fn per_minute(per_minute: NonZeroU32) -> Self {
        Self { per_minute }
    }

    /// The requests allowed a minute (and at once).
    pub fn limit(&self) -> NonZeroU32 {
        self.per_minute
    }

    /// The emission interval: one request's share of the minute (at least
    /// one microsecond, the stored precision).
    pub fn interval(&self) -> TimeDelta {
        TimeDelta::microseconds(self.interval_micros())
    }

    /// How far ahead of `now` the TAT may be for a request to be allowed:
    /// `interval() × (per_minute − 1)`, so a fresh bucket takes exactly
    /// `per_minute` requests at once.
    pub fn tolerance(&self) -> TimeDelta {
        // At most 2^32 µs (about 72 minutes): no overflow.
        TimeDelta::microseconds(self.interval_micros() * i64::from(self.per_minute.get() - 1))
    }

    fn interval_micros(&self) -> i64 {
        (60_000_000 / i64::from(self.per_minute.get())).max(1)
    }
}

/// Why [`RequestRates::hit`] did not allow a request.
#[derive(Debug, thiserror::Error)]
pub enum HitError {
    /// Over the budget: the wait until the bucket allows a request again.
    #[error("over the request rate limit, retry in {0}")]
    Over(TimeDelta),
    /// The store failed; nothing is known about the budget.
    #[error(transparent)]
    Internal(#[from] PortError),
}

/// Stores the per-client request budgets ([`RequestRate`]) of the public
/// endpoints, keyed by bucket (the client's [`ip_bucket`], as text), where
/// every instance serving the same database sees them: N instances then
/// allow the configured rate in total, not N times it.
#[async_trait]
pub trait RequestRates: Send + Sync {
    /// Counts one request of `bucket` at `now` against `rate`.
    ///
    /// MUST decide and store atomically across concurrent callers and
    /// instances, by the rule of [`RequestRate`]: allow (and move the
    /// bucket's TAT) or refuse (changing nothing). A bucket whose stored TAT
    /// is at or before `now` is fresh, so such rows may be purged any time.
    ///
    /// # Errors
    /// [`HitError::Over`] with the wait when refused (MAY be an estimate
    /// under concurrency, but always in `(0, rate.interval()]`);
    /// [`HitError::Internal`] on infrastructure failure only.
    async fn hit(&self, bucket: &str, rate: RequestRate, now: DateTime<Utc>) -> Result<(), HitError>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn locks_after_max_failures_and_doubles() {
        let rule = ThrottlePolicy::default().account;
        let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let mut s = None;
        for _ in 0..4 {
            let next = rule.after_failure(s, t0);
            assert_eq!(next.locked_until, None);
            s = Some(next);
        }
        let fifth = rule.after_failure(s, t0);
        assert_eq!(fifth.locked_until, Some(t0 + TimeDelta::minutes(1)));
        let t1 = t0 + TimeDelta::minutes(2);
        let sixth = rule.after_failure(Some(fifth), t1);
        assert_eq!(sixth.locked_until, Some(t1 + TimeDelta::minutes(2)));
        let mut s = sixth;
        for _ in 0..10 {
            s = rule.after_failure(Some(s), t1);
        }
        assert_eq!(s.locked_until, Some(t1 + TimeDelta::minutes(15)));
    }

    #[test]
    fn ipv6_clients_share_their_prefix_ipv4_clients_their_address() {
        let b = |ip: &str, p| ip_bucket(ip.parse().unwrap(), p).to_string();
        assert_eq!(b("2001:db8:1:2:aaaa::1", 64), "2001:db8:1:2::");
        assert_eq!(b("2001:db8:1:2:ffff:ffff:ffff:ffff", 64), "2001:db8:1:2::");
        assert_ne!(b("2001:db8:1:3::1", 64), b("2001:db8:1:2::1", 64));
        assert_eq!(b("2001:db8:1:2:aaaa::1", 48), "2001:db8:1::");
        assert_eq!(b("2001:db8::1", 128), "2001:db8::1");
        assert_eq!(b("2001:db8::1", 200), "2001:db8::1");
        assert_eq!(b("203.0.113.7", 64), "203.0.113.7");
        assert_eq!(b("::ffff:203.0.113.7", 64), "203.0.113.7");
    }

    #[test]
    fn a_released_reservation_is_as_if_never_made() {
        let rule = ThrottlePolicy::default().ip;
        let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        // Below the limit: one failure fewer.
        let mut s = None;
        for _ in 0..3 {
            s = Some(rule.after_failure(s, t0));
        }
        let reserved = rule.after_failure(s, t0);
        let back = rule.after_release(reserved, &reserved);
        assert_eq!(Some(back), s);
        // The reservation that reached the limit also takes its lock back.
        let mut s = None;
        for _ in 0..19 {
            s = Some(rule.after_failure(s, t0));
        }
        let reserved = rule.after_failure(s, t0);
        assert!(reserved.locked_until.is_some());
        let back = rule.after_release(reserved, &reserved);
        assert_eq!(Some(back), s);
        // A lock that is not this reservation's stays.
        let other = ThrottleState {
            locked_until: Some(t0 + TimeDelta::minutes(9)),
            ..reserved
        };
        assert_eq!(
            rule.after_release(other, &reserved).locked_until,
            other.locked_until
        );
    }

    #[test]
    fn an_old_window_starts_over() {
        let rule = ThrottlePolicy::default().account;
        let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let mut s = None;
        for _ in 0..4 {
            s = Some(rule.after_failure(s, t0));
        }
        let later = t0 + TimeDelta::minutes(16);
        let next = rule.after_failure(s, later);
        assert_eq!(next.failures, 1);
        assert_eq!(next.window_start, later);
        assert_eq!(next.locked_until, None);
    }

    #[test]
    fn a_request_rate_shares_the_minute_out_over_its_budget() {
        let rate = RequestRate::per_minute(NonZeroU32::new(6).unwrap());
        assert_eq!(rate.interval(), TimeDelta::seconds(10));
        assert_eq!(rate.tolerance(), TimeDelta::seconds(50));
        let one = RequestRate::per_minute(NonZeroU32::MIN);
        assert_eq!(one.interval(), TimeDelta::minutes(1));
        assert_eq!(one.tolerance(), TimeDelta::zero());
        let huge = RequestRate::per_minute(NonZeroU32::MAX);
        assert_eq!(huge.interval(), TimeDelta::microseconds(1));
        assert_eq!(huge.tolerance(), TimeDelta::microseconds(i64::from(u32::MAX - 1)));
    }
}
