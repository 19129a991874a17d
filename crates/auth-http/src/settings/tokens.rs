//! Tokens and accounts: signing and lifetimes ([`TokenSettings`]),
//! passwords, emailed codes and sessions ([`AccountSettings`]), the
//! password hashing pool ([`HashingSettings`]).

use std::time::Duration;

use chrono::TimeDelta;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use super::typed;
use super::{SettingsError, check_secret, delta_seconds, invalid};

/// Token signing, the signing keys and token lifetimes.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct TokenSettings {
    /// HS256 secret (`AUTH_JWT_SECRET`), at least
    /// [`super::MIN_SECRET_BYTES`] bytes when set: signs refresh tokens,
    /// and access tokens too in the legacy `HS256` mode. When unset, one is
    /// generated once and stored in the database, so tokens survive
    /// restarts.
    #[serde(rename = "jwt_secret", serialize_with = "super::strict::redacted")]
    pub secret: Option<SecretString>,
    /// Algorithm of access tokens (`AUTH_JWT_ALGORITHM`): `ES256`,
    /// `EdDSA`, `RS256`, or `HS256` (legacy: services share
    /// `AUTH_JWT_SECRET`, nothing is published). Unset: `ES256`, or `HS256`
    /// when `AUTH_JWT_SECRET` is set (today's deployments keep working);
    /// read it with [`TokenSettings::signing_algorithm`].
    #[serde(rename = "jwt_algorithm")]
    pub algorithm: Option<String>,
    /// `aud` of access tokens (`AUTH_JWT_AUDIENCE`); unset: the issuer
    /// (`AUTH_PUBLIC_URL`; see [`super::Settings::jwt_audience`]).
    #[serde(rename = "jwt_audience")]
    pub audience: Option<String>,
    /// The private signing key as PEM (`AUTH_JWT_SIGNING_KEY`, or a file
    /// with `AUTH_JWT_SIGNING_KEY_FILE`), for operators who manage keys
    /// themselves; unset: keys are generated and kept in the database.
    #[serde(rename = "jwt_signing_key", serialize_with = "super::strict::redacted")]
    pub signing_key: Option<SecretString>,
    /// How long a rotated-in key is published before it signs
    /// (`AUTH_JWT_KEY_PREPUBLISH_SECONDS`, default 3600).
    #[serde(rename = "jwt_key_prepublish_seconds", with = "typed::delta_seconds")]
    pub key_prepublish: TimeDelta,
    /// Time between two reads of the signing keys from the database, so
    /// every instance sees a rotation; 1 to 5 seconds
    /// (`AUTH_JWT_KEY_REFRESH_SECONDS`, default 4).
    #[serde(rename = "jwt_key_refresh_seconds", with = "typed::seconds")]
    pub key_refresh: Duration,
    /// Key-encryption key of the private signing keys stored in the
    /// database (`AUTH_KEY_ENCRYPTION_KEY` or `AUTH_KEY_ENCRYPTION_KEY_FILE`),
    /// at least [`super::MIN_SECRET_BYTES`] bytes; unset: stored in clear.
    #[serde(serialize_with = "super::strict::redacted")]
    pub key_encryption_key: Option<SecretString>,
    /// Access-token lifetime (`AUTH_ACCESS_TTL_SECONDS`).
    #[serde(rename = "access_ttl_seconds", with = "typed::delta_seconds")]
    pub access_ttl: TimeDelta,
    /// Refresh-token lifetime (`AUTH_REFRESH_TTL_SECONDS`).
    #[serde(rename = "refresh_ttl_seconds", with = "typed::delta_seconds")]
    pub refresh_ttl: TimeDelta,
    /// Replay window for a just-rotated refresh token
    /// (`AUTH_REFRESH_REUSE_GRACE_SECONDS`).
    #[serde(rename = "refresh_reuse_grace_seconds", with = "typed::delta_seconds")]
    pub refresh_reuse_grace: TimeDelta,
}

impl Default for TokenSettings {
    fn default() -> Self {
        Self {
            secret: None,
            algorithm: None,
            audience: None,
            signing_key: None,
            key_prepublish: TimeDelta::seconds(3600),
            key_refresh: Duration::from_secs(4),
            key_encryption_key: None,
            access_ttl: TimeDelta::seconds(30 * 60),
            refresh_ttl: TimeDelta::seconds(7 * 24 * 60 * 60),
            refresh_reuse_grace: TimeDelta::zero(),
        }
    }
}

impl TokenSettings {
    /// The algorithm of access tokens (see [`TokenSettings::algorithm`]).
    ///
    /// # Errors
    /// [`SettingsError`] for an unknown name.
    pub fn signing_algorithm(&self) -> Result<auth_infra::SigningAlgorithm, SettingsError> {
        use auth_infra::SigningAlgorithm;
        match self.algorithm.as_deref() {
            None if self.secret.is_some() => Ok(SigningAlgorithm::Hs256),
            None => Ok(SigningAlgorithm::Es256),
            Some(name) => SigningAlgorithm::parse(name).ok_or_else(|| {
                SettingsError(format!(
                    "jwt_algorithm must be ES256, EdDSA, RS256 or HS256, not {name:?}"
                ))
            }),
        }
    }

    /// Checks the lifetimes, the secrets, the algorithm and its key, and
    /// the key timing.
    ///
    /// # Errors
    /// [`SettingsError`] naming the setting.
    pub fn validate(&self) -> Result<(), SettingsError> {
        delta_seconds("access_ttl_seconds", self.access_ttl, 1)?;
        delta_seconds("refresh_ttl_seconds", self.refresh_ttl, 1)?;
        delta_seconds("refresh_reuse_grace_seconds", self.refresh_reuse_grace, 0)?;
        check_secret("AUTH_JWT_SECRET", self.secret.as_ref())?;
        check_secret("AUTH_KEY_ENCRYPTION_KEY", self.key_encryption_key.as_ref())?;
        let alg = self.signing_algorithm()?;
        if self.signing_key.is_some() && !alg.is_asymmetric() {
            return Err(invalid(
                "jwt_signing_key",
                "is a private key for ES256, EdDSA or RS256; HS256 uses AUTH_JWT_SECRET",
            ));
        }
        if self.key_prepublish < TimeDelta::zero() {
            return Err(invalid("jwt_key_prepublish_seconds", "must not be negative"));
        }
        if !(1..=5).contains(&self.key_refresh.as_secs()) {
            return Err(invalid(
                "jwt_key_refresh_seconds",
                &format!("must be between 1 and 5, got {}", self.key_refresh.as_secs()),
            ));
        }
        if self.audience.as_deref().is_some_and(|a| a.trim().is_empty()) {
            return Err(invalid("jwt_audience", "is set but blank"));
        }
        Ok(())
    }
}

/// Passwords, emailed codes and the session policy.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct AccountSettings {
    /// Minimum length of new passwords (`AUTH_PASSWORD_MIN_LENGTH`).
    pub password_min_length: usize,
    /// Maximum length of new passwords (`AUTH_PASSWORD_MAX_LENGTH`).
    pub password_max_length: usize,
    /// Whether sign-up needs a checked `SIGN_UP` code
    /// (`AUTH_SIGNUP_REQUIRE_EMAIL_CODE`).
    pub signup_require_email_code: bool,
    /// Validity of an emailed code (`AUTH_CODE_TTL_SECONDS`).
    #[serde(rename = "code_ttl_seconds", with = "typed::delta_seconds")]
    pub code_ttl: TimeDelta,
    /// Wrong tries that kill a code (`AUTH_CODE_MAX_ATTEMPTS`).
    pub code_max_attempts: u32,
    /// Minimum time between two sends to one email
    /// (`AUTH_CODE_RESEND_COOLDOWN_SECONDS`).
    #[serde(rename = "code_resend_cooldown_seconds", with = "typed::delta_seconds")]
    pub code_resend_cooldown: TimeDelta,
    /// Contracts whose logins end the user's older sessions, comma-separated
    /// in `AUTH_SINGLE_SESSION_CONTRACTS` (default `session`; empty for
    /// none). Names are checked when parsed.
    #[serde(
        deserialize_with = "typed::de_contract_names",
        serialize_with = "typed::ser_list"
    )]
    pub single_session_contracts: Vec<String>,
    /// Most live sessions per user, oldest evicted (`AUTH_MAX_SESSIONS_PER_USER`).
    pub max_sessions_per_user: Option<u32>,
}

impl Default for AccountSettings {
    fn default() -> Self {
        Self {
            password_min_length: 8,
            password_max_length: 64,
            signup_require_email_code: true,
            code_ttl: TimeDelta::seconds(600),
            code_max_attempts: 5,
            code_resend_cooldown: TimeDelta::seconds(60),
            single_session_contracts: vec!["session".into()],
            max_sessions_per_user: None,
        }
    }
}

impl AccountSettings {
    /// Checks the password bounds, the codes and the session cap.
    ///
    /// # Errors
    /// [`SettingsError`] naming the setting.
    pub fn validate(&self) -> Result<(), SettingsError> {
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
        delta_seconds("code_ttl_seconds", self.code_ttl, 1)?;
        if self.code_max_attempts == 0 {
            return Err(invalid("code_max_attempts", "must be at least 1"));
        }
        delta_seconds("code_resend_cooldown_seconds", self.code_resend_cooldown, 0)?;
        if self.max_sessions_per_user == Some(0) {
            return Err(invalid(
                "max_sessions_per_user",
                "must be at least 1 (or unset: no limit)",
            ));
        }
        let known = |name: &String| typed::CONTRACT_NAMES.contains(&name.as_str());
        if let Some(name) = self.single_session_contracts.iter().find(|n| !known(n)) {
            return Err(invalid(
                "single_session_contracts",
                &typed::contract_names(name).err().unwrap_or_default(),
            ));
        }
        Ok(())
    }
}

/// The password hashing pool.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct HashingSettings {
    /// Password hashes computed at once; default: the number of cores
    /// (`AUTH_HASH_CONCURRENCY`).
    #[serde(rename = "hash_concurrency")]
    pub concurrency: Option<usize>,
    /// Nice value of the password hashing threads, so a login flood yields
    /// the CPU to request handling; 0 disables, at most 19
    /// (`AUTH_HASH_NICE`, default 10; Linux only).
    #[serde(rename = "hash_nice")]
    pub nice: i32,
    /// Password checks that may wait for a hashing thread; beyond it a login
    /// is answered 503 at once instead of queueing (`AUTH_HASH_QUEUE_MAX`,
    /// default 64 per hashing thread).
    #[serde(rename = "hash_queue_max")]
    pub queue_max: Option<usize>,
}

impl Default for HashingSettings {
    fn default() -> Self {
        Self {
            concurrency: None,
            nice: auth_infra::Argon2Hasher::DEFAULT_NICE,
            queue_max: None,
        }
    }
}

impl HashingSettings {
    /// Checks the nice value, the thread count and the queue.
    ///
    /// # Errors
    /// [`SettingsError`] naming the setting.
    pub fn validate(&self) -> Result<(), SettingsError> {
        if !auth_infra::Argon2Hasher::NICE_RANGE.contains(&self.nice) {
            return Err(invalid(
                "hash_nice",
                &format!("must be between 0 (disabled) and 19, got {}", self.nice),
            ));
        }
        if self.concurrency == Some(0) {
            return Err(invalid(
                "hash_concurrency",
                "must be at least 1 (or unset: the core count)",
            ));
        }
        if self.queue_max == Some(0) {
            return Err(invalid("hash_queue_max", "must be at least 1 (or unset)"));
        }
        Ok(())
    }
}
