//! The HTTP side: the listener, request bodies, CORS, trusted proxies and
//! the admin token ([`HttpSettings`]); `GET /metrics` ([`MetricsSettings`]);
//! socket timing ([`SocketSettings`]); the log ([`LoggingSettings`]).

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use ipnet::IpNet;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use super::typed::{self, LogFormat};
use super::{SettingsError, check_secret, duration_seconds, invalid};

/// The listener and what it accepts.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct HttpSettings {
    /// Address to listen on (`AUTH_BIND`): an IP address and port, checked
    /// when parsed.
    #[serde(
        deserialize_with = "typed::de_socket_addr",
        serialize_with = "typed::ser_socket_addr"
    )]
    pub bind: SocketAddr,
    /// Largest accepted request body in bytes (`AUTH_MAX_BODY_BYTES`).
    pub max_body_bytes: usize,
    /// Largest accepted body of `POST /internal/users/import`, in bytes
    /// (`AUTH_IMPORT_MAX_BYTES`, default 64 MiB: about 250,000 accounts).
    pub import_max_bytes: usize,
    /// actix worker threads; default: the number of cores (`AUTH_WORKERS`).
    pub workers: Option<usize>,
    /// Time to let requests finish on shutdown
    /// (`AUTH_SHUTDOWN_TIMEOUT_SECONDS`).
    #[serde(rename = "shutdown_timeout_seconds", with = "typed::seconds")]
    pub shutdown_timeout: Duration,
    /// How long after SIGTERM the instance keeps accepting, answering
    /// `/readyz` with 503 and closing each connection after its response,
    /// before it stops accepting (`AUTH_SHUTDOWN_DRAIN_SECONDS`, default 5;
    /// 0 stops accepting at once). Above the balancer's health-check
    /// interval and the proxy's upstream keep-alive (4 s in
    /// `deploy/nginx.conf`).
    #[serde(rename = "shutdown_drain_seconds", with = "typed::seconds")]
    pub shutdown_drain: Duration,
    /// Exact origins (`https://app.example.com`) allowed to call the public
    /// contract routes from a browser (CORS), comma-separated in
    /// `AUTH_CORS_ALLOWED_ORIGINS`; empty: no CORS headers at all. Never
    /// applies to `/internal`.
    #[serde(deserialize_with = "typed::de_origins", serialize_with = "typed::ser_list")]
    pub cors_allowed_origins: Vec<String>,
    /// Reverse proxies whose `X-Forwarded-For` is believed, as IPs/CIDRs,
    /// comma-separated in `AUTH_TRUSTED_PROXIES` (default none).
    #[serde(
        deserialize_with = "typed::de_cidr_list",
        serialize_with = "typed::ser_cidr_list"
    )]
    pub trusted_proxies: Vec<IpNet>,
    /// Bearer token of the internal admin API (`AUTH_ADMIN_TOKEN`), at
    /// least [`super::MIN_SECRET_BYTES`] bytes when set; unset disables it
    /// (403).
    #[serde(serialize_with = "super::strict::redacted")]
    pub admin_token: Option<SecretString>,
    /// Whether an admin must have signed in with a second factor to use
    /// the console (`AUTH_ADMIN_REQUIRE_MFA`, default true); one without a
    /// factor is sent to enrol one first.
    pub admin_require_mfa: bool,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, 8080)),
            max_body_bytes: 64 * 1024,
            import_max_bytes: 64 << 20,
            workers: None,
            shutdown_timeout: Duration::from_secs(10),
            shutdown_drain: Duration::from_secs(5),
            cors_allowed_origins: Vec::new(),
            trusted_proxies: Vec::new(),
            admin_token: None,
            admin_require_mfa: true,
        }
    }
}

impl HttpSettings {
    /// Checks the admin token, the body limits and the shutdown time.
    ///
    /// # Errors
    /// [`SettingsError`] naming the setting.
    pub fn validate(&self) -> Result<(), SettingsError> {
        check_secret("AUTH_ADMIN_TOKEN", self.admin_token.as_ref())?;
        if self.import_max_bytes < 1024 {
            return Err(invalid("import_max_bytes", "must be at least 1024"));
        }
        if self.max_body_bytes < 1024 {
            return Err(invalid("max_body_bytes", "must be at least 1024"));
        }
        duration_seconds("shutdown_timeout_seconds", self.shutdown_timeout, 0)?;
        duration_seconds("shutdown_drain_seconds", self.shutdown_drain, 0)
    }
}

/// `GET /metrics`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct MetricsSettings {
    /// Whether `GET /metrics` serves Prometheus metrics
    /// (`AUTH_METRICS_ENABLED`, default true).
    #[serde(rename = "metrics_enabled")]
    pub enabled: bool,
    /// A separate listen address for `GET /metrics` (`AUTH_METRICS_BIND`,
    /// e.g. `127.0.0.1:9100`); then the main listener answers 404 there.
    /// Blank or unset: the main listener serves it.
    #[serde(
        rename = "metrics_bind",
        deserialize_with = "typed::de_optional_socket_addr",
        serialize_with = "typed::ser_optional_socket_addr"
    )]
    pub bind: Option<SocketAddr>,
    /// The longest a scrape's `auth_accounts_by_password_scheme` counts may
    /// be old: they are counted again (one `GROUP BY` over `users`) at most
    /// this often; 0 counts at every scrape
    /// (`AUTH_METRICS_PASSWORD_SCHEMES_SECONDS`, default 60).
    #[serde(rename = "metrics_password_schemes_seconds", with = "typed::seconds")]
    pub password_schemes: Duration,
}

impl Default for MetricsSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            bind: None,
            password_schemes: Duration::from_secs(60),
        }
    }
}

impl MetricsSettings {
    /// Checks the counting interval.
    ///
    /// # Errors
    /// [`SettingsError`] naming the setting.
    pub fn validate(&self) -> Result<(), SettingsError> {
        duration_seconds("metrics_password_schemes_seconds", self.password_schemes, 0)
    }
}

/// WebSocket timing.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct SocketSettings {
    /// Time between server pings on a socket (`AUTH_WS_HEARTBEAT_SECONDS`).
    #[serde(rename = "ws_heartbeat_seconds", with = "typed::seconds")]
    pub heartbeat: Duration,
    /// Silence after which a socket is closed
    /// (`AUTH_WS_IDLE_TIMEOUT_SECONDS`).
    #[serde(rename = "ws_idle_timeout_seconds", with = "typed::seconds")]
    pub idle_timeout: Duration,
    /// Time between each socket's check that its session is live; 0
    /// disables (`AUTH_WS_SESSION_CHECK_SECONDS`).
    #[serde(rename = "ws_session_check_seconds", with = "typed::seconds")]
    pub session_check: Duration,
}

impl Default for SocketSettings {
    fn default() -> Self {
        Self {
            heartbeat: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(90),
            session_check: Duration::from_secs(60),
        }
    }
}

impl SocketSettings {
    /// Checks the ranges, and that the idle timeout exceeds the heartbeat.
    ///
    /// # Errors
    /// [`SettingsError`] naming the setting.
    pub fn validate(&self) -> Result<(), SettingsError> {
        duration_seconds("ws_heartbeat_seconds", self.heartbeat, 1)?;
        duration_seconds("ws_idle_timeout_seconds", self.idle_timeout, 1)?;
        duration_seconds("ws_session_check_seconds", self.session_check, 0)?;
        if self.idle_timeout <= self.heartbeat {
            return Err(invalid(
                "ws_idle_timeout_seconds",
                &format!(
                    "must exceed ws_heartbeat_seconds ({}), got {}",
                    self.heartbeat.as_secs(),
                    self.idle_timeout.as_secs()
                ),
            ));
        }
        Ok(())
    }
}

/// The log.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct LoggingSettings {
    /// `text` or `json` (`AUTH_LOG_FORMAT`).
    #[serde(rename = "log_format")]
    pub format: LogFormat,
}
