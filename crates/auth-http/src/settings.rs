//! Typed configuration, loaded once in `main` and passed down.
//!
//! Sources, later ones winning: built-in defaults, an optional TOML file
//! (`AUTH_CONFIG`, default `auth.toml` when it exists), then environment
//! variables prefixed `AUTH_` (nested keys with `__`, e.g.
//! `AUTH_CONTRACTS__PICSEL__PREFIX=/v1`). See `docs/configuration.md`.
//!
//! [`Settings`] is made of sections, one per part of the server (`http`,
//! `database`, `tokens`, `accounts`, `hashing`, `mail`, `throttle`,
//! `sockets`, `metrics`, `logging`, `purge`, `signals`, `oauth`, and the nested
//! `contracts`). The sections are flattened: every key stays at the top
//! level (`bind`, `access_ttl_seconds`, `oauth_google_client_id`), as the
//! documentation names it. Each section is read from the same sources
//! ([`Settings::from_figment`]), parses addresses, lists and durations
//! once into their types, and validates itself.

use std::path::PathBuf;
use std::time::Duration;

use chrono::TimeDelta;
use figment::Figment;
use secrecy::SecretString;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

mod http;
mod mail;
mod oauth;
mod store;
pub mod strict;
mod throttle;
mod tokens;
pub mod typed;
pub use http::{HttpSettings, LoggingSettings, MetricsSettings, SocketSettings};
pub use mail::MailSettings;
pub use oauth::{OAuthSettings, ProviderSettings, public_url_of};
pub use store::{DatabaseSettings, PurgeSettings, SignalSettings};
pub use throttle::ThrottleSettings;
pub use tokens::{AccountSettings, HashingSettings, TokenSettings};
pub use typed::{EventBusKind, LogFormat};

/// Everything the server needs to start, by section. Every section is
/// flattened, so the keys (and `AUTH_*` variables) are those of
/// `docs/configuration.md`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Settings {
    /// The listener, request bodies, CORS, proxies and the admin token.
    #[serde(flatten)]
    pub http: HttpSettings,
    /// The database and the event bus over it.
    #[serde(flatten)]
    pub database: DatabaseSettings,
    /// Token signing, keys and lifetimes.
    #[serde(flatten)]
    pub tokens: TokenSettings,
    /// Passwords, emailed codes and session policy.
    #[serde(flatten)]
    pub accounts: AccountSettings,
    /// The password hashing pool.
    #[serde(flatten)]
    pub hashing: HashingSettings,
    /// Outgoing mail.
    #[serde(flatten)]
    pub mail: MailSettings,
    /// Login throttling and per-IP rate limits.
    #[serde(flatten)]
    pub throttle: ThrottleSettings,
    /// WebSocket timing.
    #[serde(flatten)]
    pub sockets: SocketSettings,
    /// `GET /metrics`.
    #[serde(flatten)]
    pub metrics: MetricsSettings,
    /// The log's format.
    #[serde(flatten)]
    pub logging: LoggingSettings,
    /// The scheduled purge of expired rows.
    #[serde(flatten)]
    pub purge: PurgeSettings,
    /// Back-channel logout deliveries and the `/ssf/poll` feed.
    #[serde(flatten)]
    pub signals: SignalSettings,
    /// Which contracts are served, and where.
    pub contracts: ContractsSettings,
    /// Social login (`AUTH_PUBLIC_URL`, `AUTH_OAUTH_*`; flat keys).
    #[serde(flatten)]
    pub oauth: OAuthSettings,
}

/// The `contracts` table, read on its own like the flat sections.
#[derive(Default, Deserialize)]
#[serde(default)]
struct ContractsSection {
    contracts: ContractsSettings,
}

impl Settings {
    /// Reads every section from `figment` (defaults for what it does not
    /// set). Keys that name no setting are ignored here (the strict loader
    /// refuses them first).
    ///
    /// # Errors
    /// Every offending key's error, chained in key order (the first one,
    /// the head, has the smallest path).
    pub fn from_figment(figment: &Figment) -> Result<Self, Box<figment::Error>> {
        let (settings, errors) = Self::read_figment(figment);
        match errors.into_iter().rev().reduce(|later, e| later.chain(e)) {
            Some(error) => Err(Box::new(error)),
            None => Ok(settings),
        }
    }

    /// Like [`Settings::from_figment`], but keeps going: the settings (a
    /// section that failed is its defaults) and every error, one per key,
    /// sorted by key, so `config check` reports them all at once.
    pub(crate) fn read_figment(figment: &Figment) -> (Self, Vec<figment::Error>) {
        let mut errors = Vec::new();
        let oauth = OAuthSettings::from_figment(figment).unwrap_or_else(|e| {
            errors.push(*e);
            OAuthSettings::default()
        });
        let mut section = Sections {
            figment,
            errors: &mut errors,
        };
        let mut settings = Self {
            http: section.read(),
            database: section.read(),
            tokens: section.read(),
            accounts: section.read(),
            hashing: section.read(),
            mail: section.read(),
            throttle: section.read(),
            sockets: section.read(),
            metrics: section.read(),
            logging: section.read(),
            purge: section.read(),
            signals: section.read(),
            contracts: section.read::<ContractsSection>().contracts,
            oauth,
        };
        // Unset, the public URL (and so the issuer) is the listen address,
        // not a fixed default on another port (issue 33).
        if !figment.contains("public_url") {
            settings.oauth.public_url = oauth::public_url_of(settings.http.bind);
            settings.oauth.public_url_from_bind = true;
        }
        // One figment error may hold several (one section, several keys).
        let mut errors: Vec<figment::Error> = errors.into_iter().flatten().collect();
        errors.sort_by(|a, b| a.path.cmp(&b.path));
        (settings, errors)
    }
}

/// Reads sections from one figment, keeping their errors.
struct Sections<'a> {
    figment: &'a Figment,
    errors: &'a mut Vec<figment::Error>,
}

impl Sections<'_> {
    fn read<T: DeserializeOwned + Default>(&mut self) -> T {
        self.figment.extract().unwrap_or_else(|e| {
            self.errors.push(e);
            T::default()
        })
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

/// Why configuration could not be loaded: one problem, or every problem
/// found, one per line (issue 33: not one per run).
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct SettingsError(String);

impl SettingsError {
    /// `Ok` without problems, the problem itself for one, else one error
    /// listing each (sorted: they start with their key), one per line.
    ///
    /// # Errors
    /// That error.
    fn all(mut problems: Vec<Self>) -> Result<(), Self> {
        problems.sort_by(|a, b| a.0.cmp(&b.0));
        problems.dedup_by(|a, b| a.0 == b.0);
        match problems.len() {
            0 => Ok(()),
            1 => Err(problems.remove(0)),
            n => Err(Self(format!(
                "{n} problems:\n  {}",
                problems
                    .iter()
                    .map(|p| p.0.as_str())
                    .collect::<Vec<_>>()
                    .join("\n  ")
            ))),
        }
    }
}

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

    /// Checks ranges that types cannot express, section by section, then
    /// what ties two sections. Every message names the key, its variable
    /// and what would be valid.
    ///
    /// # Errors
    /// [`SettingsError`] naming every offending setting (the first of each
    /// section), one per line.
    pub fn validate(&self) -> Result<(), SettingsError> {
        SettingsError::all(self.problems())
    }

    /// What [`Settings::validate`] refuses, every section checked.
    fn problems(&self) -> Vec<SettingsError> {
        let mut problems: Vec<SettingsError> = [
            self.tokens.validate(),
            self.accounts.validate(),
            self.hashing.validate(),
            self.http.validate(),
            self.database.validate(),
            self.mail.validate(),
            self.sockets.validate(),
            self.throttle.validate(),
            self.metrics.validate(),
            self.purge.validate(),
            self.signals.validate(),
            self.oauth.validate(),
        ]
        .into_iter()
        .filter_map(Result::err)
        .collect();
        if let Some(metrics) = self.metrics.bind
            && metrics == self.http.bind
            && metrics.port() != 0
        {
            problems.push(invalid("metrics_bind", "must differ from bind (or be empty)"));
        }
        // The legacy mode must be asked for by name in a deployment: a
        // secret alone used to switch every token to HS256 silently (the
        // JWKS empty, `auth-client` refusing every token; issue 33).
        if !self.oauth.public_url_from_bind && self.tokens.algorithm.is_none() && self.tokens.secret.is_some()
        {
            problems.push(invalid(
                "jwt_algorithm",
                "is unset while AUTH_JWT_SECRET and AUTH_PUBLIC_URL are set: tokens would be legacy HS256 \
                 (nothing published, auth-client refuses them). Set AUTH_JWT_ALGORITHM=ES256 (the secret then \
                 signs only refresh tokens) or AUTH_JWT_ALGORITHM=HS256 to keep the legacy mode on purpose",
            ));
        }
        problems
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

/// A [`TimeDelta`] setting of whole seconds in `min..=MAX_SECONDS`.
fn delta_seconds(key: &str, value: TimeDelta, min: i64) -> Result<(), SettingsError> {
    seconds(key, value.num_seconds(), min)
}

/// A [`Duration`] setting of whole seconds in `min..=MAX_SECONDS`.
fn duration_seconds(key: &str, value: Duration, min: i64) -> Result<(), SettingsError> {
    seconds(key, i64::try_from(value.as_secs()).unwrap_or(i64::MAX), min)
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
    /// The `iss` of access tokens: `AUTH_PUBLIC_URL` without a final `/`.
    pub fn jwt_issuer(&self) -> String {
        self.oauth.public_url.trim_end_matches('/').to_owned()
    }

    /// The `aud` of access tokens: `AUTH_JWT_AUDIENCE`, else the issuer.
    pub fn jwt_audience(&self) -> String {
        self.tokens
            .audience
            .as_deref()
            .map(str::trim)
            .map_or_else(|| self.jwt_issuer(), str::to_owned)
    }

    /// The outbox folder: `mail_dir`, else `outbox` beside the SQLite file,
    /// else `./outbox`.
    pub fn outbox_dir(&self) -> PathBuf {
        if let Some(dir) = &self.mail.dir {
            return PathBuf::from(dir);
        }
        self.database
            .url
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
        s.database.url = "sqlite:///var/lib/auth/auth.db".into();
        assert_eq!(s.outbox_dir(), PathBuf::from("/var/lib/auth/outbox"));
        s.database.url = "postgres://db/auth".into();
        assert_eq!(s.outbox_dir(), PathBuf::from("outbox"));
        s.mail.dir = Some("/tmp/mail".into());
        assert_eq!(s.outbox_dir(), PathBuf::from("/tmp/mail"));
    }

    #[test]
    fn blank_or_short_secrets_are_refused_by_name() {
        for (env, set) in [
            (
                "AUTH_JWT_SECRET",
                // With the algorithm said: a secret alone under a public URL
                // is refused for another reason (see the next test).
                (|s: &mut Settings, v: &str| {
                    s.tokens.secret = Some(v.into());
                    s.tokens.algorithm = Some("HS256".into());
                }) as fn(&mut Settings, &str),
            ),
            ("AUTH_ADMIN_TOKEN", |s, v| s.http.admin_token = Some(v.into())),
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
    fn a_secret_alone_does_not_choose_hs256_for_a_deployment() {
        let mut s = Settings::default();
        s.tokens.secret = Some("0123456789abcdef0123456789abcdef".into());
        let err = s.validate().map_or_else(|e| e.to_string(), |()| String::new());
        assert!(err.contains("AUTH_JWT_ALGORITHM"), "{err}");
        s.oauth.public_url_from_bind = true;
        assert!(s.validate().is_ok(), "no public URL: the developer's machine");
        s.oauth.public_url_from_bind = false;
        s.tokens.algorithm = Some("ES256".into());
        assert!(s.validate().is_ok());
    }

    #[test]
    fn ipv6_prefix_and_hash_queue_ranges() {
        let mut s = Settings::default();
        for bad in [0, 129] {
            s.throttle.client_ipv6_prefix = bad;
            let err = s.validate().map_or_else(|e| e.to_string(), |()| String::new());
            assert!(err.contains("client_ipv6_prefix"), "{bad}: {err:?}");
        }
        s.throttle.client_ipv6_prefix = 56;
        assert!(s.validate().is_ok());
        s.hashing.queue_max = Some(0);
        let err = s.validate().map_or_else(|e| e.to_string(), |()| String::new());
        assert!(err.contains("hash_queue_max"), "{err:?}");
    }

    #[test]
    fn token_key_settings() {
        use auth_infra::SigningAlgorithm;
        let err = |s: &Settings| s.validate().map_or_else(|e| e.to_string(), |()| String::new());
        let mut s = Settings::default();
        assert_eq!(s.tokens.signing_algorithm().unwrap(), SigningAlgorithm::Es256);
        s.tokens.secret = Some("0123456789abcdef0123456789abcdef".into());
        assert_eq!(
            s.tokens.signing_algorithm().unwrap(),
            SigningAlgorithm::Hs256,
            "a configured secret keeps today's tokens"
        );
        s.tokens.algorithm = Some("eddsa".into());
        assert_eq!(s.tokens.signing_algorithm().unwrap(), SigningAlgorithm::EdDsa);
        s.tokens.algorithm = Some("none".into());
        assert!(err(&s).contains("jwt_algorithm"), "{}", err(&s));
        s.tokens.algorithm = Some("HS256".into());
        s.tokens.signing_key = Some("-----BEGIN PRIVATE KEY-----".into());
        assert!(err(&s).contains("AUTH_JWT_SIGNING_KEY"), "{}", err(&s));
        let mut s = Settings::default();
        for bad in [0, 6] {
            s.tokens.key_refresh = Duration::from_secs(bad);
            assert!(err(&s).contains("jwt_key_refresh_seconds"), "{bad}");
        }
        s.tokens.key_refresh = Duration::from_secs(5);
        s.tokens.key_encryption_key = Some("short".into());
        assert!(err(&s).contains("AUTH_KEY_ENCRYPTION_KEY"), "{}", err(&s));
        s.tokens.key_encryption_key = None;
        s.oauth.public_url = "https://auth.example.com/".into();
        assert_eq!(s.jwt_issuer(), "https://auth.example.com");
        assert_eq!(s.jwt_audience(), "https://auth.example.com");
        s.tokens.audience = Some("orders".into());
        assert_eq!(s.jwt_audience(), "orders");
    }

    #[test]
    fn hash_nice_is_0_to_19() {
        let mut s = Settings::default();
        assert_eq!(s.hashing.nice, 10);
        for ok in [0, 10, 19] {
            s.hashing.nice = ok;
            assert!(s.validate().is_ok(), "{ok}");
        }
        for bad in [-1, 20] {
            s.hashing.nice = bad;
            let err = s.validate().map_or_else(|e| e.to_string(), |()| String::new());
            assert!(err.contains("hash_nice"), "{bad}: {err:?}");
        }
    }
}
