//! Typed configuration, loaded once in `main` and passed down.
//!
//! Sources, later ones winning: built-in defaults, an optional TOML file
//! (`AUTH_CONFIG`, default `auth.toml` when it exists), then environment
//! variables prefixed `AUTH_` (nested keys with `__`, e.g.
//! `AUTH_CONTRACTS__PICSEL__PREFIX=/v1`). See `docs/configuration.md`.

use std::net::SocketAddr;
use std::path::PathBuf;

use secrecy::SecretString;
use serde::{Deserialize, Serialize};

mod oauth;
pub mod strict;
pub mod typed;
pub use oauth::OAuthSettings;
pub use typed::{EventBusKind, LogFormat};

/// Everything the server needs to start.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct Settings {
    /// Address to listen on (`AUTH_BIND`): an IP address and port, checked
    /// when parsed; read it as a [`SocketAddr`] with [`Settings::bind_addr`].
    #[serde(deserialize_with = "typed::de_socket_addr")]
    pub bind: String,
    /// `sqlite://PATH` or `postgres://…` (`AUTH_DATABASE_URL`).
    #[serde(serialize_with = "strict::database_url")]
    pub database_url: String,
    /// Connections in the database pool (`AUTH_DATABASE_POOL_SIZE`).
    pub database_pool_size: u32,
    /// HS256 secret (`AUTH_JWT_SECRET`), at least [`MIN_SECRET_BYTES`]
    /// bytes when set: signs refresh tokens, and access tokens too in the
    /// legacy `HS256` mode. When unset, one is generated once and stored in
    /// the database, so tokens survive restarts.
    #[serde(serialize_with = "strict::redacted")]
    pub jwt_secret: Option<SecretString>,
    /// Algorithm of access tokens (`AUTH_JWT_ALGORITHM`): `ES256`,
    /// `EdDSA`, `RS256`, or `HS256` (legacy: services share
    /// `AUTH_JWT_SECRET`, nothing is published). Unset: `ES256`, or `HS256`
    /// when `AUTH_JWT_SECRET` is set (today's deployments keep working).
    pub jwt_algorithm: Option<String>,
    /// `aud` of access tokens (`AUTH_JWT_AUDIENCE`); unset: the issuer
    /// (`AUTH_PUBLIC_URL`).
    pub jwt_audience: Option<String>,
    /// The private signing key as PEM (`AUTH_JWT_SIGNING_KEY`, or a file
    /// with `AUTH_JWT_SIGNING_KEY_FILE`), for operators who manage keys
    /// themselves; unset: keys are generated and kept in the database.
    #[serde(serialize_with = "strict::redacted")]
    pub jwt_signing_key: Option<SecretString>,
    /// Seconds a rotated-in key is published before it signs
    /// (`AUTH_JWT_KEY_PREPUBLISH_SECONDS`, default 3600).
    pub jwt_key_prepublish_seconds: i64,
    /// Seconds between two reads of the signing keys from the database, so
    /// every instance sees a rotation; 1 to 5 (`AUTH_JWT_KEY_REFRESH_SECONDS`,
    /// default 4).
    pub jwt_key_refresh_seconds: u64,
    /// Key-encryption key of the private signing keys stored in the
    /// database (`AUTH_KEY_ENCRYPTION_KEY` or `AUTH_KEY_ENCRYPTION_KEY_FILE`),
    /// at least [`MIN_SECRET_BYTES`] bytes; unset: stored in clear.
    #[serde(serialize_with = "strict::redacted")]
    pub key_encryption_key: Option<SecretString>,
    /// Access-token lifetime in seconds (`AUTH_ACCESS_TTL_SECONDS`).
    pub access_ttl_seconds: i64,
    /// Refresh-token lifetime in seconds (`AUTH_REFRESH_TTL_SECONDS`).
    pub refresh_ttl_seconds: i64,
    /// Replay window for a just-rotated refresh token
    /// (`AUTH_REFRESH_REUSE_GRACE_SECONDS`).
    pub refresh_reuse_grace_seconds: i64,
    /// Minimum length of new passwords (`AUTH_PASSWORD_MIN_LENGTH`).
    pub password_min_length: usize,
    /// Maximum length of new passwords (`AUTH_PASSWORD_MAX_LENGTH`).
    pub password_max_length: usize,
    /// Password hashes computed at once; default: the number of cores
    /// (`AUTH_HASH_CONCURRENCY`).
    pub hash_concurrency: Option<usize>,
    /// Nice value of the password hashing threads, so a login flood yields
    /// the CPU to request handling; 0 disables, at most 19
    /// (`AUTH_HASH_NICE`, default 10; Linux only).
    pub hash_nice: i32,
    /// Password checks that may wait for a hashing thread; beyond it a login
    /// is answered 503 at once instead of queueing (`AUTH_HASH_QUEUE_MAX`,
    /// default 64 per hashing thread).
    pub hash_queue_max: Option<usize>,
    /// Largest accepted request body in bytes (`AUTH_MAX_BODY_BYTES`).
    pub max_body_bytes: usize,
    /// Largest accepted body of `POST /internal/users/import`, in bytes
    /// (`AUTH_IMPORT_MAX_BYTES`, default 64 MiB: about 250,000 accounts).
    pub import_max_bytes: usize,
    /// actix worker threads; default: the number of cores (`AUTH_WORKERS`).
    pub workers: Option<usize>,
    /// Seconds to let requests finish on shutdown
    /// (`AUTH_SHUTDOWN_TIMEOUT_SECONDS`).
    pub shutdown_timeout_seconds: u64,
    /// `text` or `json` (`AUTH_LOG_FORMAT`).
    pub log_format: LogFormat,
    /// SMTP server in lettre's URL form (`AUTH_SMTP_URL`): `smtp://host:port`,
    /// `smtp://host?tls=required`, `smtps://user:pass@host`. Unset: mail is
    /// written as `.eml` files into `mail_dir`.
    #[serde(serialize_with = "strict::redacted")]
    pub smtp_url: Option<SecretString>,
    /// Seconds one SMTP exchange may take (`AUTH_SMTP_TIMEOUT_SECONDS`).
    pub smtp_timeout_seconds: u64,
    /// Sender of every mail (`AUTH_MAIL_FROM`).
    pub mail_from: String,
    /// Outbox folder when no SMTP server is set (`AUTH_MAIL_DIR`); default:
    /// `outbox` next to the SQLite file, or `./outbox`.
    pub mail_dir: Option<String>,
    /// Folder of mail templates replacing the Korean defaults
    /// (`AUTH_MAIL_TEMPLATES_DIR`): `sign_up.subject.txt`, `sign_up.txt`,
    /// `sign_up.html`, and the same for `forget_password`; `{code}` and
    /// `{minutes}` are filled in. A file that is absent keeps its default.
    pub mail_templates_dir: Option<String>,
    /// Whether sign-up needs a checked `SIGN_UP` code
    /// (`AUTH_SIGNUP_REQUIRE_EMAIL_CODE`).
    pub signup_require_email_code: bool,
    /// Validity of an emailed code, seconds (`AUTH_CODE_TTL_SECONDS`).
    pub code_ttl_seconds: i64,
    /// Wrong tries that kill a code (`AUTH_CODE_MAX_ATTEMPTS`).
    pub code_max_attempts: u32,
    /// Minimum seconds between two sends to one email
    /// (`AUTH_CODE_RESEND_COOLDOWN_SECONDS`).
    pub code_resend_cooldown_seconds: i64,
    /// Bearer token of the internal admin API (`AUTH_ADMIN_TOKEN`), at
    /// least [`MIN_SECRET_BYTES`] bytes when set; unset disables it (403).
    #[serde(serialize_with = "strict::redacted")]
    pub admin_token: Option<SecretString>,
    /// `auto` (PostgreSQL `LISTEN/NOTIFY` on PostgreSQL, in-process on
    /// SQLite), `local` or `postgres` (`AUTH_EVENT_BUS`).
    pub event_bus: EventBusKind,
    /// Seconds between server pings on a socket (`AUTH_WS_HEARTBEAT_SECONDS`).
    pub ws_heartbeat_seconds: u64,
    /// Seconds of silence after which a socket is closed
    /// (`AUTH_WS_IDLE_TIMEOUT_SECONDS`).
    pub ws_idle_timeout_seconds: u64,
    /// Seconds between each socket's check that its session is live; 0
    /// disables (`AUTH_WS_SESSION_CHECK_SECONDS`).
    pub ws_session_check_seconds: u64,
    /// Comma-separated contracts whose logins end the user's older sessions
    /// (`AUTH_SINGLE_SESSION_CONTRACTS`, default `session`; empty for none).
    /// Names are checked when parsed.
    #[serde(deserialize_with = "typed::de_contract_names")]
    pub single_session_contracts: String,
    /// Most live sessions per user, oldest evicted (`AUTH_MAX_SESSIONS_PER_USER`).
    pub max_sessions_per_user: Option<u32>,
    /// Whether failed password checks are throttled
    /// (`AUTH_LOGIN_THROTTLE_ENABLED`, default true).
    pub login_throttle_enabled: bool,
    /// Failures per account key within the window before a lock
    /// (`AUTH_LOGIN_MAX_FAILURES`, default 5).
    pub login_max_failures: u32,
    /// Failures per client IP within the window before a lock
    /// (`AUTH_LOGIN_IP_MAX_FAILURES`, default 20).
    pub login_ip_max_failures: u32,
    /// The counting window in seconds (`AUTH_LOGIN_FAILURE_WINDOW_SECONDS`,
    /// default 900).
    pub login_failure_window_seconds: i64,
    /// The first lock in seconds, doubled by each further lock in the window
    /// (`AUTH_LOGIN_LOCK_SECONDS`, default 60).
    pub login_lock_seconds: i64,
    /// The longest lock in seconds (`AUTH_LOGIN_MAX_LOCK_SECONDS`, default 900).
    pub login_max_lock_seconds: i64,
    /// Leading bits of an IPv6 client address that name one client in
    /// per-IP budgets (login IP counter, rate limits): 1 to 128
    /// (`AUTH_CLIENT_IPV6_PREFIX`, default 64). IPv4 clients are keyed on
    /// the whole address.
    pub client_ipv6_prefix: u8,
    /// Seconds between two runs of the purge of expired rows (sessions,
    /// codes, OAuth states, throttle counters, old audit events); 0 turns
    /// the scheduled purge off (`AUTH_PURGE_INTERVAL_SECONDS`, default 3600;
    /// `auth-server purge` runs it once).
    pub purge_interval_seconds: u64,
    /// Days audit events are kept; 0 keeps them forever
    /// (`AUTH_AUDIT_RETENTION_DAYS`, default 365).
    pub audit_retention_days: u32,
    /// Whether `GET /metrics` serves Prometheus metrics
    /// (`AUTH_METRICS_ENABLED`, default true).
    pub metrics_enabled: bool,
    /// A separate listen address for `GET /metrics` (`AUTH_METRICS_BIND`,
    /// e.g. `127.0.0.1:9100`); then the main listener answers 404 there.
    /// Blank or unset: the main listener serves it.
    #[serde(
        deserialize_with = "typed::de_optional_socket_addr",
        serialize_with = "typed::ser_optional_socket_addr"
    )]
    pub metrics_bind: Option<SocketAddr>,
    /// The longest a scrape's `auth_accounts_by_password_scheme` counts may
    /// be old, in seconds: they are counted again (one `GROUP BY` over
    /// `users`) at most this often; 0 counts at every scrape
    /// (`AUTH_METRICS_PASSWORD_SCHEMES_SECONDS`, default 60).
    pub metrics_password_schemes_seconds: u64,
    /// Comma-separated exact origins (`https://app.example.com`) allowed to
    /// call the public contract routes from a browser (CORS); empty: no CORS
    /// headers at all (`AUTH_CORS_ALLOWED_ORIGINS`). Never applies to
    /// `/internal`.
    #[serde(deserialize_with = "typed::de_origins")]
    pub cors_allowed_origins: String,
    /// Comma-separated IPs/CIDRs of reverse proxies whose `X-Forwarded-For`
    /// is believed (`AUTH_TRUSTED_PROXIES`, default none); checked when
    /// parsed, read as networks with [`Settings::trusted_proxy_networks`].
    #[serde(deserialize_with = "typed::de_cidr_list")]
    pub trusted_proxies: String,
    /// Whether the public endpoints are rate limited per client IP
    /// (`AUTH_RATE_LIMIT_ENABLED`, default true; off for load tests).
    pub rate_limit_enabled: bool,
    /// Requests per minute per client IP on the public endpoints, also the
    /// burst (`AUTH_RATE_LIMIT_PER_MINUTE`, default 60).
    pub rate_limit_per_minute: u32,
    /// Comma-separated IPs/CIDRs of clients the per-IP rate limit does not
    /// count (`AUTH_RATE_LIMIT_EXEMPT`, default none): a QA runner's or a
    /// health checker's address on staging, instead of switching limits
    /// off for everyone. Matched against the client IP (after
    /// `AUTH_TRUSTED_PROXIES`). Login throttling is not affected.
    #[serde(deserialize_with = "typed::de_cidr_list")]
    pub rate_limit_exempt: String,
    /// Which contracts are served, and where.
    pub contracts: ContractsSettings,
    /// Social login (`AUTH_PUBLIC_URL`, `AUTH_OAUTH_*`; flat keys).
    #[serde(flatten)]
    pub oauth: OAuthSettings,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8080".into(),
            database_url: "sqlite://auth.db".into(),
            database_pool_size: 8,
            jwt_secret: None,
            jwt_algorithm: None,
            jwt_audience: None,
            jwt_signing_key: None,
            jwt_key_prepublish_seconds: 3600,
            jwt_key_refresh_seconds: 4,
            key_encryption_key: None,
            access_ttl_seconds: 30 * 60,
            refresh_ttl_seconds: 7 * 24 * 60 * 60,
            refresh_reuse_grace_seconds: 0,
            password_min_length: 8,
            password_max_length: 64,
            hash_concurrency: None,
            hash_nice: auth_infra::Argon2Hasher::DEFAULT_NICE,
            hash_queue_max: None,
            max_body_bytes: 64 * 1024,
            import_max_bytes: 64 << 20,
            workers: None,
            shutdown_timeout_seconds: 10,
            log_format: LogFormat::Text,
            smtp_url: None,
            smtp_timeout_seconds: 10,
            mail_from: "Auth <no-reply@localhost>".into(),
            mail_dir: None,
            mail_templates_dir: None,
            signup_require_email_code: true,
            code_ttl_seconds: 600,
            code_max_attempts: 5,
            code_resend_cooldown_seconds: 60,
            admin_token: None,
            event_bus: EventBusKind::Auto,
            ws_heartbeat_seconds: 30,
            ws_idle_timeout_seconds: 90,
            ws_session_check_seconds: 60,
            single_session_contracts: "session".into(),
            max_sessions_per_user: None,
            login_throttle_enabled: true,
            login_max_failures: 5,
            login_ip_max_failures: 20,
            login_failure_window_seconds: 900,
            login_lock_seconds: 60,
            login_max_lock_seconds: 900,
            client_ipv6_prefix: auth_domain::throttle::DEFAULT_IPV6_PREFIX,
            purge_interval_seconds: 3600,
            cors_allowed_origins: String::new(),
            metrics_enabled: true,
            metrics_bind: None,
            metrics_password_schemes_seconds: 60,
            audit_retention_days: 365,
            trusted_proxies: String::new(),
            rate_limit_enabled: true,
            rate_limit_per_minute: 60,
            rate_limit_exempt: String::new(),
            contracts: ContractsSettings::default(),
            oauth: OAuthSettings::default(),
        }
    }
}

/// Per-contract switches.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct ContractsSettings {
    /// Seed 004.
    pub standard: ContractSettings,
    /// Seed 001.
    pub session: ContractSettings,
    /// Seed 002.
    pub picsel: ContractSettings,
    /// Seed 003.
    pub account: ContractSettings,
    /// Seed 000 (`POST /auth/login` with `App-Id`).
    pub chat: ContractSettings,
}

/// Whether a contract is served, and under which path prefix.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct ContractSettings {
    /// Serve this contract (default true).
    pub enabled: bool,
    /// Path prefix, e.g. `/v1` (default none).
    pub prefix: String,
}

impl Default for ContractSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            prefix: String::new(),
        }
    }
}

/// The shortest secret accepted for `AUTH_JWT_SECRET` and
/// `AUTH_ADMIN_TOKEN`: 32 bytes, the HS256 key size (RFC 7518 §3.2).
pub const MIN_SECRET_BYTES: usize = 32;

/// Refuses a secret that is set but blank (an unset template variable) or
/// shorter than [`MIN_SECRET_BYTES`]; the message names the setting, never
/// the value.
fn check_secret(env: &str, secret: Option<&SecretString>) -> Result<(), SettingsError> {
    use secrecy::ExposeSecret;
    let Some(secret) = secret else {
        return Ok(());
    };
    let value = secret.expose_secret();
    if value.trim().is_empty() {
        return Err(SettingsError(format!(
            "{env} is set but blank: set a random value of at least {MIN_SECRET_BYTES} bytes \
             (e.g. `openssl rand -hex 32`), or unset it"
        )));
    }
    if value.len() < MIN_SECRET_BYTES {
        return Err(SettingsError(format!(
            "{env} is too short: it must be at least {MIN_SECRET_BYTES} bytes \
             (e.g. `openssl rand -hex 32`)"
        )));
    }
    Ok(())
}

/// Why configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct SettingsError(String);

impl Settings {
    /// Loads defaults, then the TOML file, then `AUTH_*` variables.
    ///
    /// # Errors
    /// [`SettingsError`] when a value has the wrong type or is out of range.
    pub fn load() -> Result<Self, SettingsError> {
        Self::load_strict().map(|(settings, _)| settings)
    }

    /// Like [`Settings::load`], strictly: a set `AUTH_CONFIG` that does not
    /// exist, an unknown key in the TOML file, a secret given both directly
    /// and as a file, or an unreadable `AUTH_…_FILE` refuse, naming the
    /// key (and the nearest valid one). Unknown `AUTH_*` environment
    /// variables are returned as warnings (the server logs them; `auth-server
    /// config check` fails on them).
    ///
    /// # Errors
    /// [`SettingsError`].
    pub fn load_strict() -> Result<(Self, Vec<String>), SettingsError> {
        let env: Vec<(String, String)> = std::env::vars().collect();
        strict::load(&env)
    }

    /// Checks ranges that types cannot express, and (for settings built in
    /// code rather than parsed) the text settings' forms. Every message
    /// names the key, its variable and what would be valid.
    ///
    /// # Errors
    /// [`SettingsError`] naming the offending setting.
    pub fn validate(&self) -> Result<(), SettingsError> {
        let positive = |key: &str, value: i64| seconds(key, value, 1);
        let non_negative = |key: &str, value: i64| seconds(key, value, 0);
        positive("access_ttl_seconds", self.access_ttl_seconds)?;
        positive("refresh_ttl_seconds", self.refresh_ttl_seconds)?;
        non_negative("refresh_reuse_grace_seconds", self.refresh_reuse_grace_seconds)?;
        if self.password_min_length == 0 {
            return Err(invalid("password_min_length", "must be at least 1"));
        }
        if self.password_max_length < self.password_min_length {
            return Err(invalid(
                "password_max_length",
                &format!(
                    "must be at least password_min_length ({}), got {}",
                    self.password_min_length, self.password_max_length
                ),
            ));
        }
        if !auth_infra::Argon2Hasher::NICE_RANGE.contains(&self.hash_nice) {
            return Err(invalid(
                "hash_nice",
                &format!("must be between 0 (disabled) and 19, got {}", self.hash_nice),
            ));
        }
        check_secret("AUTH_JWT_SECRET", self.jwt_secret.as_ref())?;
        check_secret("AUTH_ADMIN_TOKEN", self.admin_token.as_ref())?;
        check_secret("AUTH_KEY_ENCRYPTION_KEY", self.key_encryption_key.as_ref())?;
        let alg = self.jwt_signing_algorithm()?;
        if self.jwt_signing_key.is_some() && !alg.is_asymmetric() {
            return Err(invalid(
                "jwt_signing_key",
                "is a private key for ES256, EdDSA or RS256; HS256 uses AUTH_JWT_SECRET",
            ));
        }
        if self.jwt_key_prepublish_seconds < 0 {
            return Err(invalid("jwt_key_prepublish_seconds", "must not be negative"));
        }
        if !(1..=5).contains(&self.jwt_key_refresh_seconds) {
            return Err(invalid(
                "jwt_key_refresh_seconds",
                &format!("must be between 1 and 5, got {}", self.jwt_key_refresh_seconds),
            ));
        }
        if self.jwt_audience.as_deref().is_some_and(|a| a.trim().is_empty()) {
            return Err(invalid("jwt_audience", "is set but blank"));
        }
        if self.hash_concurrency == Some(0) {
            return Err(invalid(
                "hash_concurrency",
                "must be at least 1 (or unset: the core count)",
            ));
        }
        if self.hash_queue_max == Some(0) {
            return Err(invalid("hash_queue_max", "must be at least 1 (or unset)"));
        }
        if !(1..=128).contains(&self.client_ipv6_prefix) {
            return Err(invalid(
                "client_ipv6_prefix",
                &format!("must be between 1 and 128, got {}", self.client_ipv6_prefix),
            ));
        }
        if self.database_pool_size == 0 {
            return Err(invalid("database_pool_size", "must be at least 1"));
        }
        if self.import_max_bytes < 1024 {
            return Err(invalid("import_max_bytes", "must be at least 1024"));
        }
        if self.max_body_bytes < 1024 {
            return Err(invalid("max_body_bytes", "must be at least 1024"));
        }
        positive("code_ttl_seconds", self.code_ttl_seconds)?;
        if self.code_max_attempts == 0 {
            return Err(invalid("code_max_attempts", "must be at least 1"));
        }
        non_negative("code_resend_cooldown_seconds", self.code_resend_cooldown_seconds)?;
        for (key, value, min) in [
            ("shutdown_timeout_seconds", self.shutdown_timeout_seconds, 0),
            ("smtp_timeout_seconds", self.smtp_timeout_seconds, 1),
            ("ws_heartbeat_seconds", self.ws_heartbeat_seconds, 1),
            ("ws_idle_timeout_seconds", self.ws_idle_timeout_seconds, 1),
            ("ws_session_check_seconds", self.ws_session_check_seconds, 0),
            ("purge_interval_seconds", self.purge_interval_seconds, 0),
            (
                "metrics_password_schemes_seconds",
                self.metrics_password_schemes_seconds,
                0,
            ),
        ] {
            seconds(key, i64::try_from(value).unwrap_or(i64::MAX), min)?;
        }
        if self.ws_idle_timeout_seconds <= self.ws_heartbeat_seconds {
            return Err(invalid(
                "ws_idle_timeout_seconds",
                &format!(
                    "must exceed ws_heartbeat_seconds ({}), got {}",
                    self.ws_heartbeat_seconds, self.ws_idle_timeout_seconds
                ),
            ));
        }
        if self.max_sessions_per_user == Some(0) {
            return Err(invalid(
                "max_sessions_per_user",
                "must be at least 1 (or unset: no limit)",
            ));
        }
        if self.login_max_failures == 0 {
            return Err(invalid("login_max_failures", "must be at least 1"));
        }
        if self.login_ip_max_failures == 0 {
            return Err(invalid("login_ip_max_failures", "must be at least 1"));
        }
        positive("login_failure_window_seconds", self.login_failure_window_seconds)?;
        positive("login_lock_seconds", self.login_lock_seconds)?;
        positive("login_max_lock_seconds", self.login_max_lock_seconds)?;
        if self.login_max_lock_seconds < self.login_lock_seconds {
            return Err(invalid(
                "login_max_lock_seconds",
                &format!(
                    "must be at least login_lock_seconds ({}), got {}",
                    self.login_lock_seconds, self.login_max_lock_seconds
                ),
            ));
        }
        if self.rate_limit_enabled && self.rate_limit_per_minute == 0 {
            return Err(invalid(
                "rate_limit_per_minute",
                "must be at least 1 (or rate_limit_enabled = false)",
            ));
        }
        typed::socket_addr(&self.bind).map_err(|e| invalid("bind", &e))?;
        if let (Some(metrics), Ok(main)) = (self.metrics_bind, self.bind_addr())
            && metrics == main
            && main.port() != 0
        {
            return Err(invalid("metrics_bind", "must differ from bind (or be empty)"));
        }
        typed::origins(&self.cors_allowed_origins).map_err(|e| invalid("cors_allowed_origins", &e))?;
        typed::cidr_list(&self.trusted_proxies).map_err(|e| invalid("trusted_proxies", &e))?;
        typed::cidr_list(&self.rate_limit_exempt).map_err(|e| invalid("rate_limit_exempt", &e))?;
        typed::contract_names(&self.single_session_contracts)
            .map_err(|e| invalid("single_session_contracts", &e))?;
        self.oauth.validate()?;
        Ok(())
    }
}

/// The longest duration setting accepted: ten years, far beyond any sane
/// value and far from the overflow of time arithmetic.
pub const MAX_SECONDS: i64 = 10 * 365 * 24 * 3600;

/// A duration setting in `min..=MAX_SECONDS`.
fn seconds(key: &str, value: i64, min: i64) -> Result<(), SettingsError> {
    if (min..=MAX_SECONDS).contains(&value) {
        Ok(())
    } else {
        Err(invalid(
            key,
            &format!("must be a number of seconds between {min} and {MAX_SECONDS} (ten years), got {value}"),
        ))
    }
}

/// The environment variable that sets `key` (`contracts.picsel.prefix` →
/// `AUTH_CONTRACTS__PICSEL__PREFIX`).
pub fn env_name(key: &str) -> String {
    format!("AUTH_{}", key.to_uppercase().replace('.', "__"))
}

/// "`key` (AUTH_KEY): what".
fn invalid(key: &str, what: &str) -> SettingsError {
    SettingsError(format!("`{key}` ({}): {what}", env_name(key)))
}

impl Settings {
    /// The listen address (`bind`, checked when parsed and by
    /// [`Settings::validate`]).
    ///
    /// # Errors
    /// What would be valid, for settings built in code with a bad address.
    pub fn bind_addr(&self) -> Result<SocketAddr, SettingsError> {
        typed::socket_addr(&self.bind).map_err(|e| invalid("bind", &e))
    }

    /// The clients the rate limit does not count, as networks
    /// (`rate_limit_exempt`).
    ///
    /// # Errors
    /// [`SettingsError`] naming an entry that is not an IP or CIDR.
    pub fn rate_limit_exempt_networks(&self) -> Result<Vec<ipnet::IpNet>, SettingsError> {
        typed::cidr_list(&self.rate_limit_exempt).map_err(|e| invalid("rate_limit_exempt", &e))
    }

    /// The trusted proxies as networks (`trusted_proxies`).
    ///
    /// # Errors
    /// The first bad entry, for settings built in code.
    pub fn trusted_proxy_networks(&self) -> Result<Vec<ipnet::IpNet>, SettingsError> {
        typed::cidr_list(&self.trusted_proxies).map_err(|e| invalid("trusted_proxies", &e))
    }

    /// The contracts whose logins end the user's older sessions.
    pub fn single_session_contract_names(&self) -> Vec<String> {
        typed::contract_names(&self.single_session_contracts).unwrap_or_default()
    }
}

impl Settings {
    /// The algorithm of access tokens (see [`Settings::jwt_algorithm`]).
    ///
    /// # Errors
    /// [`SettingsError`] for an unknown name.
    pub fn jwt_signing_algorithm(&self) -> Result<auth_infra::SigningAlgorithm, SettingsError> {
        use auth_infra::SigningAlgorithm;
        match self.jwt_algorithm.as_deref() {
            None if self.jwt_secret.is_some() => Ok(SigningAlgorithm::Hs256),
            None => Ok(SigningAlgorithm::Es256),
            Some(name) => SigningAlgorithm::parse(name).ok_or_else(|| {
                SettingsError(format!(
                    "jwt_algorithm must be ES256, EdDSA, RS256 or HS256, not {name:?}"
                ))
            }),
        }
    }

    /// The `iss` of access tokens: `AUTH_PUBLIC_URL` without a final `/`.
    pub fn jwt_issuer(&self) -> String {
        self.oauth.public_url.trim_end_matches('/').to_owned()
    }

    /// The `aud` of access tokens: `AUTH_JWT_AUDIENCE`, else the issuer.
    pub fn jwt_audience(&self) -> String {
        self.jwt_audience
            .as_deref()
            .map(str::trim)
            .map_or_else(|| self.jwt_issuer(), str::to_owned)
    }

    /// The configured CORS origins (empty: CORS off).
    pub fn cors_origins(&self) -> Vec<String> {
        typed::origins(&self.cors_allowed_origins).unwrap_or_default()
    }

    /// The outbox folder: `mail_dir`, else `outbox` beside the SQLite file,
    /// else `./outbox`.
    pub fn outbox_dir(&self) -> PathBuf {
        if let Some(dir) = &self.mail_dir {
            return PathBuf::from(dir);
        }
        self.database_url
            .strip_prefix("sqlite://")
            .map(PathBuf::from)
            .and_then(|db| db.parent().map(|p| p.join("outbox")))
            .unwrap_or_else(|| PathBuf::from("outbox"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outbox_sits_beside_the_sqlite_file() {
        let mut s = Settings::default();
        assert_eq!(s.outbox_dir(), PathBuf::from("outbox"));
        s.database_url = "sqlite:///var/lib/auth/auth.db".into();
        assert_eq!(s.outbox_dir(), PathBuf::from("/var/lib/auth/outbox"));
        s.database_url = "postgres://db/auth".into();
        assert_eq!(s.outbox_dir(), PathBuf::from("outbox"));
        s.mail_dir = Some("/tmp/mail".into());
        assert_eq!(s.outbox_dir(), PathBuf::from("/tmp/mail"));
    }

    #[test]
    fn blank_or_short_secrets_are_refused_by_name() {
        for (env, set) in [
            (
                "AUTH_JWT_SECRET",
                (|s: &mut Settings, v: &str| s.jwt_secret = Some(v.into())) as fn(&mut Settings, &str),
            ),
            ("AUTH_ADMIN_TOKEN", |s, v| s.admin_token = Some(v.into())),
        ] {
            for bad in ["", "   ", "\t\n", "x", "0123456789abcdef0123456789abcde"] {
                let mut s = Settings::default();
                set(&mut s, bad);
                let err = s.validate().map_or_else(|e| e.to_string(), |()| String::new());
                assert!(err.contains(env), "{env}={bad:?}: {err:?}");
                assert!(bad.len() < 8 || !err.contains(bad), "the value is not echoed");
            }
            let mut s = Settings::default();
            set(&mut s, "0123456789abcdef0123456789abcdef");
            assert!(s.validate().is_ok(), "{env}: 32 bytes are enough");
        }
        assert!(Settings::default().validate().is_ok(), "unset is fine");
    }

    #[test]
    fn ipv6_prefix_and_hash_queue_ranges() {
        let mut s = Settings::default();
        for bad in [0, 129] {
            s.client_ipv6_prefix = bad;
            let err = s.validate().map_or_else(|e| e.to_string(), |()| String::new());
            assert!(err.contains("client_ipv6_prefix"), "{bad}: {err:?}");
        }
        s.client_ipv6_prefix = 56;
        assert!(s.validate().is_ok());
        s.hash_queue_max = Some(0);
        let err = s.validate().map_or_else(|e| e.to_string(), |()| String::new());
        assert!(err.contains("hash_queue_max"), "{err:?}");
    }

    #[test]
    fn token_key_settings() {
        use auth_infra::SigningAlgorithm;
        let err = |s: &Settings| s.validate().map_or_else(|e| e.to_string(), |()| String::new());
        let mut s = Settings::default();
        assert_eq!(s.jwt_signing_algorithm().unwrap(), SigningAlgorithm::Es256);
        s.jwt_secret = Some("0123456789abcdef0123456789abcdef".into());
        assert_eq!(
            s.jwt_signing_algorithm().unwrap(),
            SigningAlgorithm::Hs256,
            "a configured secret keeps today's tokens"
        );
        s.jwt_algorithm = Some("eddsa".into());
        assert_eq!(s.jwt_signing_algorithm().unwrap(), SigningAlgorithm::EdDsa);
        s.jwt_algorithm = Some("none".into());
        assert!(err(&s).contains("jwt_algorithm"), "{}", err(&s));
        s.jwt_algorithm = Some("HS256".into());
        s.jwt_signing_key = Some("-----BEGIN PRIVATE KEY-----".into());
        assert!(err(&s).contains("AUTH_JWT_SIGNING_KEY"), "{}", err(&s));
        let mut s = Settings::default();
        for bad in [0, 6] {
            s.jwt_key_refresh_seconds = bad;
            assert!(err(&s).contains("jwt_key_refresh_seconds"), "{bad}");
        }
        s.jwt_key_refresh_seconds = 5;
        s.key_encryption_key = Some("short".into());
        assert!(err(&s).contains("AUTH_KEY_ENCRYPTION_KEY"), "{}", err(&s));
        s.key_encryption_key = None;
        s.oauth.public_url = "https://auth.example.com/".into();
        assert_eq!(s.jwt_issuer(), "https://auth.example.com");
        assert_eq!(s.jwt_audience(), "https://auth.example.com");
        s.jwt_audience = Some("orders".into());
        assert_eq!(s.jwt_audience(), "orders");
    }

    #[test]
    fn hash_nice_is_0_to_19() {
        let mut s = Settings::default();
        assert_eq!(s.hash_nice, 10);
        for ok in [0, 10, 19] {
            s.hash_nice = ok;
            assert!(s.validate().is_ok(), "{ok}");
        }
        for bad in [-1, 20] {
            s.hash_nice = bad;
            let err = s.validate().map_or_else(|e| e.to_string(), |()| String::new());
            assert!(err.contains("hash_nice"), "{bad}: {err:?}");
        }
    }
}
