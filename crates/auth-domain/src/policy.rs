//! Tunable rules of the identity core.

use chrono::TimeDelta;

use crate::identity::password::PasswordPolicy;
use crate::identity::throttle::ThrottlePolicy;
use crate::sessions::events::SessionPolicy;
use crate::social::SocialPolicy;
use crate::verification::CodePolicy;

/// The rules every use case follows. Built once from configuration.
#[derive(Debug, Clone)]
pub struct AuthPolicy {
    /// Lifetime of access tokens (default 30 minutes).
    pub access_ttl: TimeDelta,
    /// Lifetime of refresh tokens (default 7 days).
    pub refresh_ttl: TimeDelta,
    /// How long after rotation a spent refresh token may be replayed without
    /// being treated as theft (default 0: never).
    pub refresh_reuse_grace: TimeDelta,
    /// Rules for new passwords.
    pub password: PasswordPolicy,
    /// Rules for emailed codes and the sign-up gate.
    pub codes: CodePolicy,
    /// Concurrent-session rules.
    pub sessions: SessionPolicy,
    /// Rules for social login.
    pub social: SocialPolicy,
    /// Login throttling (failures per account key and per client IP).
    pub throttle: ThrottlePolicy,
}

impl Default for AuthPolicy {
    fn default() -> Self {
        Self {
            access_ttl: TimeDelta::minutes(30),
            refresh_ttl: TimeDelta::days(7),
            refresh_reuse_grace: TimeDelta::zero(),
            password: PasswordPolicy::default(),
            codes: CodePolicy::default(),
            sessions: SessionPolicy::default(),
            social: SocialPolicy::default(),
            throttle: ThrottlePolicy::default(),
        }
    }
}
