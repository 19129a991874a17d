//! Login throttling and the per-IP rate limit of the public endpoints
//! ([`ThrottleSettings`]).

use chrono::TimeDelta;
use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use super::typed;
use super::{SettingsError, delta_seconds, invalid};

/// Failed-login throttling and request rate limits.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct ThrottleSettings {
    /// Whether failed password checks are throttled
    /// (`AUTH_LOGIN_THROTTLE_ENABLED`, default true).
    #[serde(rename = "login_throttle_enabled")]
    pub login_enabled: bool,
    /// Failures per account key within the window before a lock
    /// (`AUTH_LOGIN_MAX_FAILURES`, default 5).
    pub login_max_failures: u32,
    /// Failures per client IP within the window before a lock
    /// (`AUTH_LOGIN_IP_MAX_FAILURES`, default 20).
    pub login_ip_max_failures: u32,
    /// The counting window (`AUTH_LOGIN_FAILURE_WINDOW_SECONDS`, default
    /// 900).
    #[serde(rename = "login_failure_window_seconds", with = "typed::delta_seconds")]
    pub login_failure_window: TimeDelta,
    /// The first lock, doubled by each further lock in the window
    /// (`AUTH_LOGIN_LOCK_SECONDS`, default 60).
    #[serde(rename = "login_lock_seconds", with = "typed::delta_seconds")]
    pub login_lock: TimeDelta,
    /// The longest lock (`AUTH_LOGIN_MAX_LOCK_SECONDS`, default 900).
    #[serde(rename = "login_max_lock_seconds", with = "typed::delta_seconds")]
    pub login_max_lock: TimeDelta,
    /// Leading bits of an IPv6 client address that name one client in
    /// per-IP budgets (login IP counter, rate limits): 1 to 128
    /// (`AUTH_CLIENT_IPV6_PREFIX`, default 64). IPv4 clients are keyed on
    /// the whole address.
    pub client_ipv6_prefix: u8,
    /// Whether the public endpoints are rate limited per client IP
    /// (`AUTH_RATE_LIMIT_ENABLED`, default true; off for load tests).
    pub rate_limit_enabled: bool,
    /// Requests per minute per client IP on the public endpoints, also the
    /// burst (`AUTH_RATE_LIMIT_PER_MINUTE`, default 60).
    pub rate_limit_per_minute: u32,
    /// Clients the per-IP rate limit does not count, as IPs/CIDRs,
    /// comma-separated in `AUTH_RATE_LIMIT_EXEMPT` (default none): a QA
    /// runner's or a health checker's address on staging, instead of
    /// switching limits off for everyone. Matched against the client IP
    /// (after `AUTH_TRUSTED_PROXIES`). Login throttling is not affected.
    #[serde(
        deserialize_with = "typed::de_cidr_list",
        serialize_with = "typed::ser_cidr_list"
    )]
    pub rate_limit_exempt: Vec<IpNet>,
}

impl Default for ThrottleSettings {
    fn default() -> Self {
        Self {
            login_enabled: true,
            login_max_failures: 5,
            login_ip_max_failures: 20,
            login_failure_window: TimeDelta::seconds(900),
            login_lock: TimeDelta::seconds(60),
            login_max_lock: TimeDelta::seconds(900),
            client_ipv6_prefix: auth_domain::identity::throttle::DEFAULT_IPV6_PREFIX,
            rate_limit_enabled: true,
            rate_limit_per_minute: 60,
            rate_limit_exempt: Vec::new(),
        }
    }
}

impl ThrottleSettings {
    /// Checks the budgets, the window and locks, and the IPv6 prefix.
    ///
    /// # Errors
    /// [`SettingsError`] naming the setting.
    pub fn validate(&self) -> Result<(), SettingsError> {
        if !(1..=128).contains(&self.client_ipv6_prefix) {
            return Err(invalid(
                "client_ipv6_prefix",
                &format!("must be between 1 and 128, got {}", self.client_ipv6_prefix),
            ));
        }
        if self.login_max_failures == 0 {
            return Err(invalid("login_max_failures", "must be at least 1"));
        }
        if self.login_ip_max_failures == 0 {
            return Err(invalid("login_ip_max_failures", "must be at least 1"));
        }
        delta_seconds("login_failure_window_seconds", self.login_failure_window, 1)?;
        delta_seconds("login_lock_seconds", self.login_lock, 1)?;
        delta_seconds("login_max_lock_seconds", self.login_max_lock, 1)?;
        if self.login_max_lock < self.login_lock {
            return Err(invalid(
                "login_max_lock_seconds",
                &format!(
                    "must be at least login_lock_seconds ({}), got {}",
                    self.login_lock.num_seconds(),
                    self.login_max_lock.num_seconds()
                ),
            ));
        }
        if self.rate_limit_enabled && self.rate_limit_per_minute == 0 {
            return Err(invalid(
                "rate_limit_per_minute",
                "must be at least 1 (or rate_limit_enabled = false)",
            ));
        }
        Ok(())
    }
}
