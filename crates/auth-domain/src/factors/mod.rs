//! Second factors: TOTP authenticators ([`totp`]), passkeys (WebAuthn,
//! behind the [`ports::PasskeyCeremony`] port) and recovery codes, and the
//! second step of a login that needs one.
//!
//! [`SecondFactors`] holds the use cases: enrolment and removal
//! (`enrol.rs`), and the login's second step and passwordless passkey
//! sign-in (`step.rs`). A login of an enrolled user (any contract's
//! password login, a social login, the hosted sign-in) ends in
//! [`crate::identity::login::LoginError::SecondFactor`] with a
//! [`Challenge`] instead of a session; [`SecondFactors::verify`] finishes
//! it and hands the session back to the front end that started it
//! ([`Verified::front`]), which renders its own success.

mod enrol;
pub mod ports;
mod step;
#[cfg(test)]
mod tests;
pub mod totp;

use std::sync::Arc;

use chrono::TimeDelta;
use uuid::Uuid;

use crate::error::PortError;
use crate::identity::login::Login;
use crate::identity::ports::UserRepository;
use crate::identity::throttle::LoginThrottle;
use crate::service_core::ServiceCore;
use crate::sessions::issuer::SessionIssuer;

pub use ports::{FactorStore, PasskeyCeremony, PasskeyError, StoredPasskey};

/// How long an `mfaToken` lives.
pub const CHALLENGE_TTL_SECONDS: i64 = 300;
/// Second-factor checks an `mfaToken` allows before it dies.
pub const MAX_ATTEMPTS: u32 = 5;
/// Recovery codes in a set.
pub const RECOVERY_CODES: usize = 10;
/// How long a WebAuthn ceremony (registration, passwordless sign-in) lives.
pub const CEREMONY_TTL_SECONDS: i64 = 300;
/// The longest passkey name kept.
pub const MAX_PASSKEY_NAME: usize = 64;

/// The front ends a second step can finish for: the four password
/// contracts and the hosted sign-in's two session kinds. A pending step
/// names one of these; nothing else is ever stored.
pub const FRONTS: [&str; 6] = [
    "standard",
    "session",
    "picsel",
    "account",
    "browser",
    "browser-social",
];

/// The ports of the second factors.
#[derive(Clone)]
pub struct FactorPorts {
    /// Factors and pending steps.
    pub store: Arc<dyn FactorStore>,
    /// The WebAuthn relying party.
    pub passkeys: Arc<dyn PasskeyCeremony>,
}

impl std::fmt::Debug for FactorPorts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FactorPorts { .. }")
    }
}

/// The second-factor use cases. Cheap to clone.
#[derive(Clone)]
pub struct SecondFactors {
    pub(crate) core: ServiceCore,
    pub(crate) issuer: SessionIssuer,
    pub(crate) users: Arc<dyn UserRepository>,
    pub(crate) ports: FactorPorts,
    pub(crate) throttle: Arc<dyn LoginThrottle>,
}

impl std::fmt::Debug for SecondFactors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecondFactors { .. }")
    }
}

impl SecondFactors {
    /// The use cases over `ports`: sessions opened through `issuer`,
    /// accounts read from `users`, second-step failures counted in
    /// `throttle` (the login throttle, per user and client IP).
    pub fn new(
        issuer: SessionIssuer,
        users: Arc<dyn UserRepository>,
        ports: FactorPorts,
        throttle: Arc<dyn LoginThrottle>,
    ) -> Self {
        Self {
            core: issuer.core.clone(),
            issuer,
            users,
            ports,
            throttle,
        }
    }
}

/// A user's second factors, as `GET /api/mfa` shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MfaStatus {
    /// Whether a confirmed TOTP authenticator is on.
    pub totp: bool,
    /// The registered passkeys.
    pub passkeys: Vec<StoredPasskey>,
    /// Unspent recovery codes.
    pub recovery_codes_left: u32,
}

impl MfaStatus {
    /// The user's factors as `store` holds them (also what an
    /// administrator's view of the user shows).
    ///
    /// # Errors
    /// An outage.
    pub async fn read(
        store: &dyn FactorStore,
        user: crate::identity::user::UserId,
    ) -> Result<Self, PortError> {
        Ok(Self {
            totp: store.totp(user).await?.is_some_and(|t| t.confirmed_at.is_some()),
            passkeys: store.passkeys(user).await?,
            recovery_codes_left: store.recovery_codes_left(user).await?,
        })
    }

    /// Whether any second factor is on (a login then takes a second step).
    pub fn enrolled(&self) -> bool {
        self.totp || !self.passkeys.is_empty()
    }

    /// The methods a second step accepts, in the order the API lists them.
    pub fn methods(&self) -> Vec<&'static str> {
        let mut methods = Vec::with_capacity(3);
        if self.totp {
            methods.push("totp");
        }
        if !self.passkeys.is_empty() {
            methods.push("webauthn");
        }
        if self.recovery_codes_left > 0 {
            methods.push("recovery");
        }
        methods
    }
}

/// A started TOTP enrolment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TotpEnrollment {
    /// The secret, base32 (what a user types into an app).
    pub secret: String,
    /// The `otpauth://` URI (what the QR code carries).
    pub otpauth_uri: String,
}

/// What a login that needs a second step answers instead of a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// The single-use token that names this step (`mfaToken`).
    pub mfa_token: String,
    /// The methods the user can use: `totp`, `webauthn`, `recovery`.
    pub methods: Vec<&'static str>,
    /// Seconds until the token dies.
    pub expires_in: i64,
}

/// How the second step is proven.
#[derive(Debug, Clone)]
pub enum Proof {
    /// A 6-digit TOTP code.
    Totp(String),
    /// A recovery code.
    Recovery(String),
    /// A passkey assertion (`PublicKeyCredential` JSON) answering the
    /// step's passkey challenge.
    Passkey(String),
}

impl Proof {
    /// The method's name, as audited (`totp`, `recovery`, `webauthn`).
    pub fn method(&self) -> &'static str {
        match self {
            Self::Totp(_) => "totp",
            Self::Recovery(_) => "recovery",
            Self::Passkey(_) => "webauthn",
        }
    }
}

/// A finished login: the session, and the front end that renders it.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The front end that started the login (one of [`FRONTS`]).
    pub front: &'static str,
    /// The user and the new session's tokens.
    pub login: Login,
}

/// Why an enrolment or removal was refused.
#[derive(Debug, thiserror::Error)]
pub enum FactorError {
    /// The access token is not a live session's.
    #[error("not signed in")]
    Unauthenticated,
    /// The factor (or any factor, for recovery codes) is not on.
    #[error("not enrolled")]
    NotEnrolled,
    /// A confirmed TOTP authenticator is already on.
    #[error("already enrolled")]
    AlreadyEnrolled,
    /// No TOTP enrolment is pending.
    #[error("no pending enrolment")]
    NothingPending,
    /// The code is not six digits (or not a recovery code's shape).
    #[error("malformed code")]
    MalformedCode,
    /// The code is wrong, or was already used.
    #[error("wrong code")]
    WrongCode,
    /// Too many wrong codes for this user or IP, for this long.
    #[error("throttled")]
    Throttled {
        /// How long until a new attempt is accepted.
        retry_after: TimeDelta,
    },
    /// The passkey name is blank or too long.
    #[error("invalid name")]
    InvalidName,
    /// The credential JSON is not a WebAuthn credential.
    #[error("malformed credential")]
    MalformedCredential,
    /// The credential does not answer this ceremony, or is already
    /// registered.
    #[error("credential refused: {0}")]
    CredentialRefused(&'static str),
    /// No such passkey of this user.
    #[error("no such passkey")]
    UnknownPasskey,
    /// Passkeys are not configured on this server.
    #[error("passkeys are off")]
    PasskeysOff,
    /// Infrastructure failure.
    #[error(transparent)]
    Internal(#[from] PortError),
}

/// Why a second step (or a passwordless sign-in) was refused.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// The `mfaToken` is unknown, expired, spent, out of attempts, or was
    /// started by another front end.
    #[error("invalid mfa token")]
    InvalidToken,
    /// The code is not six digits (or not a recovery code's shape).
    #[error("malformed code")]
    MalformedCode,
    /// The code or assertion is wrong (the attempt is counted).
    #[error("wrong second factor")]
    Wrong,
    /// The method is not one the user has (no passkey, no authenticator),
    /// or a passkey assertion was sent before its challenge was asked for.
    #[error("method not available")]
    MethodUnavailable,
    /// The credential JSON is not a WebAuthn credential.
    #[error("malformed credential")]
    MalformedCredential,
    /// The passkey ceremony is unknown or expired (passwordless sign-in).
    #[error("unknown ceremony")]
    UnknownCeremony,
    /// Too many wrong second factors for this user or IP, for this long.
    #[error("throttled")]
    Throttled {
        /// How long until a new attempt is accepted.
        retry_after: TimeDelta,
    },
    /// The account was disabled meanwhile.
    #[error("account disabled")]
    Disabled,
    /// Infrastructure failure.
    #[error(transparent)]
    Internal(#[from] PortError),
}

/// The front-end name as a static string, if it is one of [`FRONTS`].
pub(crate) fn front_of(name: &str) -> Option<&'static str> {
    FRONTS.iter().copied().find(|f| *f == name)
}

/// A random secret of `bytes` bytes, hex.
pub(crate) fn random_hex(core: &ServiceCore, bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    core.fill(&mut buf);
    hex_lower(&buf)
}

fn hex_lower(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

/// The passkey's RFC 8176 value: a credential that may be synced between
/// devices is a software-secured key (`swk`), a device-bound one a
/// hardware-secured key (`hwk`).
pub(crate) fn key_amr(passkey: &StoredPasskey) -> &'static str {
    if passkey.backup_eligible { "swk" } else { "hwk" }
}

/// Our id of a passkey, as text.
pub fn passkey_target(id: Uuid) -> String {
    format!("passkey:{id}")
}
