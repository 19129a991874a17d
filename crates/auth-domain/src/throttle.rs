//! Login throttling: counting failed password checks per account key and per
//! client IP, and locking a key out for a growing delay.
//!
//! The rule ([`ThrottleRule::after_failure`]) is pure and lives here; the
//! [`LoginThrottle`] port stores the state and applies the rule atomically,
//! so several instances share the counters.

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
        }
    }
}

/// Stores failure counters per key (`acct:…`, `ip:…`).
#[async_trait]
pub trait LoginThrottle: Send + Sync {
    /// The latest lock among `keys` that ends after `now`, if any.
    ///
    /// # Errors
    /// [`PortError`] on infrastructure failure only.
    async fn locked_until(
        &self,
        keys: &[String],
        now: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, PortError>;

    /// Counts one failure against `key` at `now`: MUST read the stored
    /// state, apply [`ThrottleRule::after_failure`] and store the result
    /// atomically (concurrent failures are all counted, across instances).
    /// Returns the new state.
    ///
    /// # Errors
    /// [`PortError`] on infrastructure failure.
    async fn record_failure(
        &self,
        key: &str,
        rule: &ThrottleRule,
        now: DateTime<Utc>,
    ) -> Result<ThrottleState, PortError>;

    /// Forgets `key`'s failures (a successful login).
    ///
    /// # Errors
    /// [`PortError`] on infrastructure failure.
    async fn reset(&self, key: &str) -> Result<(), PortError>;
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
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
}
