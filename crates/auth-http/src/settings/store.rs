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
