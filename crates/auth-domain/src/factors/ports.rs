//! The ports of the second factors: where factors and pending second steps
//! are stored ([`FactorStore`]), and the WebAuthn ceremonies
//! ([`PasskeyCeremony`]), which an adapter performs with a WebAuthn library
//! so that none is linked here.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::error::PortError;
use crate::identity::user::UserId;

/// The SHA-256 of a secret the client holds (an `mfaToken`, a recovery
/// code, a ceremony id): what is stored instead of it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SecretHash(pub [u8; 32]);

impl SecretHash {
    /// The hash of `secret` (as sent; callers normalize first).
    pub fn of(secret: &str) -> Self {
        Self(Sha256::digest(secret.as_bytes()).into())
    }
}

/// A user's TOTP authenticator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TotpRecord {
    /// The shared secret (20 random bytes). Adapters seal it at rest under
    /// the key-encryption key when one is configured.
    pub secret: Vec<u8>,
    /// When the user confirmed it with a first code; `None` while enrolment
    /// is pending (the factor is not on).
    pub confirmed_at: Option<DateTime<Utc>>,
    /// The last time step accepted (RFC 6238 §5.2: each step once).
    pub last_step: Option<i64>,
    /// When enrolment started.
    pub created_at: DateTime<Utc>,
}

/// A registered passkey (WebAuthn credential).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPasskey {
    /// Our id of it (`DELETE /api/mfa/webauthn/{id}`).
    pub id: Uuid,
    /// Whose it is.
    pub user_id: UserId,
    /// The credential id the authenticator chose (raw bytes), unique.
    pub credential_id: Vec<u8>,
    /// The name the user gave it.
    pub name: String,
    /// The ceremony adapter's serialized credential (public key, counter,
    /// flags), opaque here. Adapters seal it at rest like TOTP secrets.
    pub data: String,
    /// Whether the credential may be synced between devices (the
    /// authenticator's backup-eligible flag): `swk` rather than `hwk`.
    pub backup_eligible: bool,
    /// Registration time.
    pub created_at: DateTime<Utc>,
    /// Last successful use.
    pub last_used_at: Option<DateTime<Utc>>,
}

/// What a login that needs a second step is waiting for: stored under the
/// hash of its `mfaToken`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingSecondFactor {
    /// SHA-256 of the `mfaToken`.
    pub token_hash: SecretHash,
    /// The user whose password (or social login) was verified.
    pub user_id: UserId,
    /// The front end that started the login and will render its success:
    /// a contract name (`standard`, `session`, `picsel`, `account`) or the
    /// hosted sign-in (`browser`, `browser-social`).
    pub contract: String,
    /// How the first step was passed (RFC 8176 values, `pwd` for a password).
    pub first_factor: Vec<String>,
    /// Creation time (becomes the session's `auth_time` on success).
    pub created_at: DateTime<Utc>,
    /// Dead after this.
    pub expires_at: DateTime<Utc>,
    /// Second-factor checks spent on it (refused at the maximum).
    pub attempts: u32,
    /// The WebAuthn authentication state, once a passkey challenge was
    /// asked for (`POST /api/mfa/webauthn/challenge`).
    pub passkey_state: Option<String>,
}

/// A WebAuthn ceremony in progress that is not tied to a login step: a
/// passkey registration (`user_id` set) or a passwordless sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingCeremony {
    /// SHA-256 of the ceremony's random id.
    pub id_hash: SecretHash,
    /// The registering user; `None` for a passwordless sign-in.
    pub user_id: Option<UserId>,
    /// The adapter's serialized ceremony state.
    pub state: String,
    /// Dead after this.
    pub expires_at: DateTime<Utc>,
}

/// Storage of second factors and of pending second steps.
///
/// Every method that spends something (a TOTP step, a recovery code, an
/// attempt, a pending step, a ceremony) is one atomic statement, so that of
/// any number of parallel requests exactly the allowed number succeed.
#[async_trait]
pub trait FactorStore: Send + Sync {
    /// The user's TOTP authenticator, pending or confirmed.
    async fn totp(&self, user: UserId) -> Result<Option<TotpRecord>, PortError>;
    /// Starts a TOTP enrolment: stores `secret` unconfirmed, replacing a
    /// pending one. Returns false (storing nothing) when a confirmed one
    /// exists.
    async fn begin_totp(&self, user: UserId, secret: &[u8], now: DateTime<Utc>) -> Result<bool, PortError>;
    /// Confirms the pending authenticator whose secret is `secret`, with
    /// `step` as its last used step. False when there is none, it is
    /// already confirmed, or its secret changed meanwhile.
    async fn confirm_totp(
        &self,
        user: UserId,
        secret: &[u8],
        step: i64,
        now: DateTime<Utc>,
    ) -> Result<bool, PortError>;
    /// Spends time step `step` of the confirmed authenticator: true only if
    /// no step at or after it was accepted before (replays, also in
    /// parallel, get false).
    async fn spend_totp_step(&self, user: UserId, step: i64) -> Result<bool, PortError>;
    /// Removes the authenticator (pending or confirmed). True if one existed.
    async fn delete_totp(&self, user: UserId) -> Result<bool, PortError>;

    /// Replaces the user's recovery codes with `hashes` (the old set stops
    /// working).
    async fn replace_recovery_codes(
        &self,
        user: UserId,
        hashes: &[SecretHash],
        now: DateTime<Utc>,
    ) -> Result<(), PortError>;
    /// Spends one recovery code: true only the first time.
    async fn spend_recovery_code(
        &self,
        user: UserId,
        hash: &SecretHash,
        now: DateTime<Utc>,
    ) -> Result<bool, PortError>;
    /// How many unspent recovery codes the user has.
    async fn recovery_codes_left(&self, user: UserId) -> Result<u32, PortError>;

    /// The user's passkeys, oldest first.
    async fn passkeys(&self, user: UserId) -> Result<Vec<StoredPasskey>, PortError>;
    /// The passkey with this credential id, whoever's it is.
    async fn passkey_by_credential(&self, credential_id: &[u8]) -> Result<Option<StoredPasskey>, PortError>;
    /// Stores a new passkey; false when its credential id is already
    /// registered (to anyone).
    async fn add_passkey(&self, passkey: &StoredPasskey) -> Result<bool, PortError>;
    /// Records a successful use: the adapter's updated `data` (its counter)
    /// and the time. False when the passkey is gone.
    async fn record_passkey_use(&self, id: Uuid, data: &str, now: DateTime<Utc>) -> Result<bool, PortError>;
    /// Removes one of the user's passkeys. False when the user has none
    /// with this id.
    async fn delete_passkey(&self, user: UserId, id: Uuid) -> Result<bool, PortError>;
    /// Removes every factor of the user (authenticator, recovery codes,
    /// passkeys) and their pending steps. True if anything was removed.
    async fn delete_all(&self, user: UserId) -> Result<bool, PortError>;

    /// Stores a pending second step.
    async fn create_pending(&self, pending: &PendingSecondFactor) -> Result<(), PortError>;
    /// Reserves one check on a pending step: atomically counts an attempt
    /// and returns the step, if it exists, has not expired at `now`, and had
    /// fewer than `max_attempts`. `None` otherwise (unknown, expired, spent,
    /// or out of attempts).
    async fn reserve_attempt(
        &self,
        hash: &SecretHash,
        max_attempts: u32,
        now: DateTime<Utc>,
    ) -> Result<Option<PendingSecondFactor>, PortError>;
    /// A pending step as it is (no attempt counted), if unexpired at `now`.
    async fn pending(
        &self,
        hash: &SecretHash,
        now: DateTime<Utc>,
    ) -> Result<Option<PendingSecondFactor>, PortError>;
    /// Stores the passkey authentication state of a pending step. False
    /// when the step is gone.
    async fn set_passkey_state(&self, hash: &SecretHash, state: &str) -> Result<bool, PortError>;
    /// Removes a pending step: true for exactly one caller (the one whose
    /// check succeeded opens the session).
    async fn spend_pending(&self, hash: &SecretHash) -> Result<bool, PortError>;

    /// Stores a WebAuthn ceremony in progress.
    async fn put_ceremony(&self, ceremony: &PendingCeremony) -> Result<(), PortError>;
    /// Takes (removes and returns) a ceremony, if unexpired at `now`: each
    /// ceremony finishes once.
    async fn take_ceremony(
        &self,
        id_hash: &SecretHash,
        now: DateTime<Utc>,
    ) -> Result<Option<PendingCeremony>, PortError>;

    /// Deletes expired pending steps and ceremonies; returns how many.
    async fn purge_expired(&self, now: DateTime<Utc>) -> Result<u64, PortError>;
}

/// The user a passkey is registered for, as the ceremony shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeyUser {
    /// The stable WebAuthn user handle: the user's UUID.
    pub handle: Uuid,
    /// The account name shown by the authenticator (login id or email).
    pub name: String,
    /// The display name.
    pub display_name: String,
}

/// A ceremony's options for the browser, and its state to keep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CeremonyStart {
    /// `{"publicKey": …}`: `PublicKeyCredentialCreationOptions` or
    /// `PublicKeyCredentialRequestOptions` in the WebAuthn JSON form
    /// (base64url binary fields), as JSON text.
    pub options: String,
    /// The state to hand back to the finish step, as text.
    pub state: String,
}

/// A passkey that completed registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredPasskey {
    /// The credential id (raw bytes).
    pub credential_id: Vec<u8>,
    /// The adapter's serialized credential.
    pub data: String,
    /// The backup-eligible flag.
    pub backup_eligible: bool,
}

/// A passkey assertion that verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedAssertion {
    /// The credential id used.
    pub credential_id: Vec<u8>,
    /// The credential's data with its counter updated, to store.
    pub data: String,
}

/// Why a WebAuthn ceremony step was refused.
#[derive(Debug, thiserror::Error)]
pub enum PasskeyError {
    /// The credential JSON is not a WebAuthn credential.
    #[error("malformed credential")]
    Malformed,
    /// The credential does not answer this ceremony: another challenge, a
    /// wrong origin or relying-party id, a bad signature, user
    /// verification missing, a credential not allowed here.
    #[error("credential refused: {0}")]
    Refused(&'static str),
    /// The signature counter went backwards: a cloned authenticator, maybe.
    #[error("signature counter went backwards")]
    CounterRegressed,
    /// No relying party is configured (the public URL's host cannot be
    /// one): passkeys are off on this server.
    #[error("passkeys are not configured")]
    NotConfigured,
    /// Infrastructure or configuration failure.
    #[error(transparent)]
    Internal(#[from] PortError),
}

/// The WebAuthn relying party: builds options and verifies the browser's
/// answers. Pure computation (no storage): the caller keeps the states.
pub trait PasskeyCeremony: Send + Sync {
    /// Options to register a new passkey for `user` (resident key and user
    /// verification required), excluding the credentials in `existing`.
    ///
    /// # Errors
    /// [`PasskeyError::Internal`] when the relying party is not usable.
    fn start_registration(
        &self,
        user: &PasskeyUser,
        existing: &[StoredPasskey],
    ) -> Result<CeremonyStart, PasskeyError>;
    /// Verifies the authenticator's answer (`credential`: the
    /// `PublicKeyCredential` JSON) against the registration `state`.
    ///
    /// # Errors
    /// [`PasskeyError`].
    fn finish_registration(&self, state: &str, credential: &str) -> Result<RegisteredPasskey, PasskeyError>;
    /// Options to prove possession of one of `allowed` (a second step), or,
    /// when `allowed` is empty, of any discoverable credential (passwordless
    /// sign-in). User verification is required either way.
    ///
    /// # Errors
    /// [`PasskeyError::Internal`].
    fn start_authentication(&self, allowed: &[StoredPasskey]) -> Result<CeremonyStart, PasskeyError>;
    /// The challenge (base64url, as sent) of ceremony options
    /// (`{"publicKey": {"challenge": …}}`) or of a credential answering
    /// them (from its `clientDataJSON`): what a passwordless sign-in's
    /// state is found by, since its finish carries nothing else.
    ///
    /// # Errors
    /// [`PasskeyError::Malformed`].
    fn challenge_of(&self, json: &str) -> Result<String, PasskeyError>;
    /// The credential id a `credential` (assertion JSON) claims, to find
    /// its stored passkey before verifying.
    ///
    /// # Errors
    /// [`PasskeyError::Malformed`].
    fn credential_id(&self, credential: &str) -> Result<Vec<u8>, PasskeyError>;
    /// Verifies an assertion against the authentication `state` and the
    /// stored `passkey` it claims to be (whose user handle, for a
    /// discoverable sign-in, must be `user_handle`).
    ///
    /// # Errors
    /// [`PasskeyError`]; a counter that went backwards is
    /// [`PasskeyError::CounterRegressed`].
    fn finish_authentication(
        &self,
        state: &str,
        credential: &str,
        passkey: &StoredPasskey,
        user_handle: Uuid,
    ) -> Result<VerifiedAssertion, PasskeyError>;
    /// Whether this relying party can run ceremonies at all (false when
    /// passkeys are off: every call above answers
    /// [`PasskeyError::NotConfigured`]). What a page asks before offering
    /// a passkey button.
    fn available(&self) -> bool {
        true
    }
}
