//! Purging rows that can no longer matter: expired refresh records and the
//! sessions they leave behind, revoked sessions, expired codes and OAuth
//! states, idle throttle counters, spent request-rate budgets, and audit
//! events past their retention.
//!
//! [`Housekeeper`] decides *what* is expired (pure rules over a clock);
//! the [`Housekeeping`] port deletes it. It is a use case of its own, not
//! part of [`crate::AuthService`], so an operator's `auth-server purge` or a
//! scheduled task needs nothing but the database and a clock.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};

use crate::error::PortError;
use crate::platform::Clock;
use crate::policy::AuthPolicy;

/// How long each kind of row is kept once it stops mattering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionPolicy {
    /// An access token can outlive the refresh record it was issued with by
    /// up to its lifetime, and is checked against its session: expired
    /// refresh records, and sessions left without any, are kept this much
    /// longer.
    pub access_ttl: TimeDelta,
    /// Revoked sessions are kept this long (sockets and late requests learn
    /// the stored reason), 1 day by default.
    pub revoked_sessions: TimeDelta,
    /// A code's row also carries the resend cooldown and, once checked,
    /// the sign-up window: kept this long after it was sent and checked
    /// (the longer of the two), and until it expired.
    pub code_horizon: TimeDelta,
    /// A throttle counter matters while its window runs or its lock stands.
    pub throttle_window: TimeDelta,
    /// Audit events older than this are deleted; `None` keeps them forever.
    pub audit: Option<TimeDelta>,
}

impl RetentionPolicy {
    /// The retention that follows from the service's policy, with the audit
    /// trail kept for `audit` (`None`: forever).
    pub fn from_policy(policy: &AuthPolicy, audit: Option<TimeDelta>) -> Self {
        Self {
            access_ttl: policy.access_ttl,
            revoked_sessions: TimeDelta::days(1),
            code_horizon: policy.codes.resend_cooldown.max(policy.codes.signup_window),
            throttle_window: policy.throttle.account.window.max(policy.throttle.ip.window),
            audit,
        }
    }

    /// The cutoffs at `now`.
    pub fn cutoffs(&self, now: DateTime<Utc>) -> PurgeCutoffs {
        PurgeCutoffs {
            now,
            refresh_expired_before: now - self.access_ttl,
            revoked_before: now - self.revoked_sessions,
            code_horizon: self.code_horizon,
            throttle_window_started_before: now - self.throttle_window,
            audit_before: self.audit.map(|keep| now - keep),
        }
    }
}

/// What [`Housekeeping::purge`] deletes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PurgeCutoffs {
    /// The time of the purge; request-rate budgets whose theoretical
    /// arrival time is at or before it are spent (see
    /// [`crate::identity::throttle::RequestRate`]).
    pub now: DateTime<Utc>,
    /// Refresh records that expired before this; then sessions that have no
    /// refresh record left and were created before this.
    pub refresh_expired_before: DateTime<Utc>,
    /// Sessions revoked before this, with their refresh records.
    pub revoked_before: DateTime<Utc>,
    /// Codes expired at `now` and sent (and checked) longer than this ago,
    /// and send decoys whose cooldown ended (see
    /// [`crate::verification::ports::CodeStore::purge_expired`]).
    pub code_horizon: TimeDelta,
    /// Throttle counters whose window started before this and that are not
    /// locked at `now`.
    pub throttle_window_started_before: DateTime<Utc>,
    /// Audit events before this, if any are to go.
    pub audit_before: Option<DateTime<Utc>>,
}

/// How many rows of each kind a purge deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PurgeReport {
    /// Refresh records (expired, or of purged sessions).
    pub refresh_records: u64,
    /// Sessions (revoked long ago, or without a usable refresh record).
    pub sessions: u64,
    /// Emailed codes (and any send decoys).
    pub codes: u64,
    /// Pending OAuth states.
    pub oauth_states: u64,
    /// Expired authorization codes of the OpenID provider.
    pub authorization_codes: u64,
    /// Expired second steps (`mfaToken`s) and WebAuthn ceremonies.
    pub second_factor_steps: u64,
    /// Login throttle counters.
    pub throttle_counters: u64,
    /// Spent per-client request-rate budgets.
    pub request_rates: u64,
    /// Audit events.
    pub audit_events: u64,
}

impl PurgeReport {
    /// All rows deleted.
    pub fn total(&self) -> u64 {
        self.refresh_records
            + self.sessions
            + self.codes
            + self.oauth_states
            + self.authorization_codes
            + self.second_factor_steps
            + self.throttle_counters
            + self.request_rates
            + self.audit_events
    }
}

/// Deletes expired rows.
#[async_trait]
pub trait Housekeeping: Send + Sync {
    /// Deletes every row [`PurgeCutoffs`] describes, and nothing else: MUST
    /// NOT touch a live session, an unexpired refresh record, code or state,
    /// a throttle counter in its window or locked, a request-rate budget
    /// not yet spent, nor a user. Safe to run concurrently (several
    /// instances purge the same database).
    ///
    /// # Errors
    /// [`PortError`] on infrastructure failure (rows already deleted stay
    /// deleted; a next run finishes the job).
    async fn purge(&self, cutoffs: &PurgeCutoffs) -> Result<PurgeReport, PortError>;
}

/// The purge use case.
#[derive(Clone)]
pub struct Housekeeper {
    store: Arc<dyn Housekeeping>,
    clock: Arc<dyn Clock>,
    retention: RetentionPolicy,
}

impl std::fmt::Debug for Housekeeper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Housekeeper")
            .field("retention", &self.retention)
            .finish_non_exhaustive()
    }
}

impl Housekeeper {
    /// A housekeeper over `store`, deciding by `clock` and `retention`.
    pub fn new(store: Arc<dyn Housekeeping>, clock: Arc<dyn Clock>, retention: RetentionPolicy) -> Self {
        Self {
            store,
            clock,
            retention,
        }
    }

    /// Deletes what has expired now.
    ///
    /// # Errors
    /// [`PortError`] on infrastructure failure.
    pub async fn purge(&self) -> Result<PurgeReport, PortError> {
        let cutoffs = self.retention.cutoffs(self.clock.now());
        self.store.purge(&cutoffs).await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use chrono::TimeZone;

    use super::*;

    struct Fixed(DateTime<Utc>);
    impl Clock for Fixed {
        fn now(&self) -> DateTime<Utc> {
            self.0
        }
    }

    #[derive(Default)]
    struct Recording(Mutex<Vec<PurgeCutoffs>>);
    #[async_trait]
    impl Housekeeping for Recording {
        async fn purge(&self, cutoffs: &PurgeCutoffs) -> Result<PurgeReport, PortError> {
            self.0.lock().unwrap().push(*cutoffs);
            Ok(PurgeReport::default())
        }
    }

    #[tokio::test]
    async fn cutoffs_follow_the_policy() {
        let now = Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap();
        let store = Arc::new(Recording::default());
        let retention = RetentionPolicy::from_policy(&AuthPolicy::default(), Some(TimeDelta::days(365)));
        Housekeeper::new(store.clone(), Arc::new(Fixed(now)), retention)
            .purge()
            .await
            .unwrap();
        let c = store.0.lock().unwrap()[0];
        assert_eq!(c.now, now);
        assert_eq!(c.refresh_expired_before, now - TimeDelta::minutes(30));
        assert_eq!(c.revoked_before, now - TimeDelta::days(1));
        assert_eq!(
            c.code_horizon,
            TimeDelta::minutes(10),
            "the sign-up window outlasts the cooldown"
        );
        assert_eq!(c.throttle_window_started_before, now - TimeDelta::minutes(15));
        assert_eq!(c.audit_before, Some(now - TimeDelta::days(365)));
        let forever = RetentionPolicy::from_policy(&AuthPolicy::default(), None);
        assert_eq!(forever.cutoffs(now).audit_before, None);
    }
}
