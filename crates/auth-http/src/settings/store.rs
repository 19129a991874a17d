//! The database and what runs over it: the connection and the event bus
//! ([`DatabaseSettings`]), the scheduled purge ([`PurgeSettings`]).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::typed::{self, EventBusKind};
use super::{SettingsError, duration_seconds, invalid};

/// The database.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct DatabaseSettings {
    /// `sqlite://PATH` or `postgres://…` (`AUTH_DATABASE_URL`).
    #[serde(rename = "database_url", serialize_with = "super::strict::database_url")]
    pub url: String,
    /// Connections in the database pool (`AUTH_DATABASE_POOL_SIZE`).
    #[serde(rename = "database_pool_size")]
    pub pool_size: u32,
    /// `auto` (PostgreSQL `LISTEN/NOTIFY` on PostgreSQL, in-process on
    /// SQLite), `local` or `postgres` (`AUTH_EVENT_BUS`).
    pub event_bus: EventBusKind,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            url: "sqlite://auth.db".into(),
            pool_size: 8,
            event_bus: EventBusKind::Auto,
        }
    }
}

impl DatabaseSettings {
    /// Checks the pool size.
    ///
    /// # Errors
    /// [`SettingsError`] naming the setting.
    pub fn validate(&self) -> Result<(), SettingsError> {
        if self.pool_size == 0 {
            return Err(invalid("database_pool_size", "must be at least 1"));
        }
        Ok(())
    }
}

/// The purge of expired rows.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct PurgeSettings {
    /// Time between two runs of the purge of expired rows (sessions,
    /// codes, OAuth states, throttle counters, old audit events); 0 turns
    /// the scheduled purge off (`AUTH_PURGE_INTERVAL_SECONDS`, default
    /// 3600; `auth-server purge` runs it once).
    #[serde(rename = "purge_interval_seconds", with = "typed::seconds")]
    pub interval: Duration,
    /// Days audit events are kept; 0 keeps them forever
    /// (`AUTH_AUDIT_RETENTION_DAYS`, default 365).
    pub audit_retention_days: u32,
}

impl Default for PurgeSettings {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(3600),
            audit_retention_days: 365,
        }
    }
}

impl PurgeSettings {
    /// Checks the interval.
    ///
    /// # Errors
    /// [`SettingsError`] naming the setting.
    pub fn validate(&self) -> Result<(), SettingsError> {
        duration_seconds("purge_interval_seconds", self.interval, 0)
    }
}

/// Telling services that a session ended: back-channel logout deliveries
/// and the `POST /ssf/poll` feed.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct SignalSettings {
    /// How long one back-channel logout post may take, connecting included
    /// (`AUTH_BACKCHANNEL_TIMEOUT_SECONDS`, default 5).
    #[serde(rename = "backchannel_timeout_seconds", with = "typed::seconds")]
    pub timeout: Duration,
    /// How long a failing receiver is retried after the session ended
    /// before its event is given up (`AUTH_BACKCHANNEL_RETRY_SECONDS`,
    /// default 86400: a day).
    #[serde(rename = "backchannel_retry_seconds", with = "typed::seconds")]
    pub retry_for: Duration,
    /// The longest wait between two attempts; waits double from one second
    /// (`AUTH_BACKCHANNEL_MAX_BACKOFF_SECONDS`, default 60).
    #[serde(rename = "backchannel_max_backoff_seconds", with = "typed::seconds")]
    pub max_backoff: Duration,
    /// Posts in flight at once per instance
    /// (`AUTH_BACKCHANNEL_CONCURRENCY`, default 64).
    #[serde(rename = "backchannel_concurrency")]
    pub concurrency: u32,
    /// How long an unacknowledged event stays in a client's feed
    /// (`AUTH_SSF_RETENTION_SECONDS`, default 86400).
    #[serde(rename = "ssf_retention_seconds", with = "typed::seconds")]
    pub retention: Duration,
    /// How long `POST /ssf/poll` without `returnImmediately` waits for an
    /// event before answering none (`AUTH_SSF_POLL_WAIT_SECONDS`, default
    /// 25; 0 answers at once).
    #[serde(rename = "ssf_poll_wait_seconds", with = "typed::seconds")]
    pub poll_wait: Duration,
}

impl Default for SignalSettings {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(5),
            retry_for: Duration::from_secs(86_400),
            max_backoff: Duration::from_secs(60),
            concurrency: 64,
            retention: Duration::from_secs(86_400),
            poll_wait: Duration::from_secs(25),
        }
    }
}

impl SignalSettings {
    /// Checks the ranges.
    ///
    /// # Errors
    /// [`SettingsError`] naming the setting.
    pub fn validate(&self) -> Result<(), SettingsError> {
        duration_seconds("backchannel_timeout_seconds", self.timeout, 1)?;
        duration_seconds("backchannel_retry_seconds", self.retry_for, 0)?;
        duration_seconds("backchannel_max_backoff_seconds", self.max_backoff, 1)?;
        duration_seconds("ssf_retention_seconds", self.retention, 60)?;
        if self.poll_wait > Duration::from_secs(300) {
            return Err(invalid("ssf_poll_wait_seconds", "must be between 0 and 300"));
        }
        if !(1..=4096).contains(&self.concurrency) {
            return Err(invalid("backchannel_concurrency", "must be between 1 and 4096"));
        }
        Ok(())
    }

    /// The delivery policy these settings describe.
    pub fn policy(&self) -> auth_domain::oidc::signals::DeliveryPolicy {
        let delta = |d: Duration| chrono::TimeDelta::from_std(d).unwrap_or(chrono::TimeDelta::MAX);
        // A lease outlives a post: the delivery task starts each post as it
        // takes it (never more than `concurrency` at once), so one timeout,
        // doubled for signing and a loaded machine, and a margin.
        auth_domain::oidc::signals::DeliveryPolicy {
            retry_for: delta(self.retry_for),
            max_backoff: delta(self.max_backoff),
            lease: delta(self.timeout * 2 + Duration::from_secs(2)),
            ..auth_domain::oidc::signals::DeliveryPolicy::default()
        }
    }
}
