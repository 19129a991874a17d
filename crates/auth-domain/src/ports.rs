//! The ports: what the identity core needs from the outside world.
//!
//! Ports are named by role; adapters (in `auth-infra`) by technology. Each
//! method documents its errors. A [`PortError`] always means "the
//! infrastructure failed", never "not found": absence is `Ok(None)`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::error::PortError;
use crate::events::Event;
use crate::import::{ImportAccount, ImportOutcome};
use crate::password::{ForeignHashError, NewPassword, PasswordHash, PasswordScheme, SpringPbkdf2};
use crate::session::{RefreshRecord, RefreshTokenHash, RevokeReason, RotateOutcome, Session, SessionId};
use crate::token::{AccessClaims, RefreshClaims, TokenError};
use crate::user::{Email, LoginId, NewUser, UniqueField, User, UserId};
use crate::verification::{CodeHash, DecoyKey, OutgoingMail, PutOutcome, StoredCode};

// The `chat` contract's ports live beside their types in `chat.rs`.
pub use crate::chat::{AppRepository, AppTokens, ChatProfiles};
// Social login's ports live beside their types in `social.rs`.
pub use crate::social::{LoginStateStore, SocialIdentityStore, SocialProvider, SocialProviderError};
// The audit trail's port lives beside its types in `audit.rs`.
pub use crate::audit::AuditLog;
// Login throttling's port lives beside its rule in `throttle.rs`.
pub use crate::throttle::LoginThrottle;

/// Why a user could not be inserted.
#[derive(Debug, thiserror::Error)]
pub enum InsertUserError {
    /// A unique constraint rejected the row. The database is the source of
    /// truth for duplicates: two racing inserts produce one user.
    #[error("duplicate {0:?}")]
    Duplicate(UniqueField),
    /// Infrastructure failure.
    #[error(transparent)]
    Port(#[from] PortError),
}

/// Stores users.
#[async_trait]
pub trait UserRepository: Send + Sync {
    /// Inserts a user and returns it with its numeric id.
    ///
    /// # Errors
    /// MUST return [`InsertUserError::Duplicate`] when the login id or the
    /// email is already taken (decided by the database's unique constraints),
    /// and [`InsertUserError::Port`] on any other failure.
    async fn insert(&self, user: NewUser) -> Result<User, InsertUserError>;

    /// Finds a user by numeric id.
    ///
    /// # Errors
    /// [`PortError`] on infrastructure failure only.
    async fn by_id(&self, id: UserId) -> Result<Option<User>, PortError>;

    /// Finds a user by UUID.
    ///
    /// # Errors
    /// [`PortError`] on infrastructure failure only.
    async fn by_uuid(&self, uuid: Uuid) -> Result<Option<User>, PortError>;

    /// Finds a user by login id.
    ///
    /// # Errors
    /// [`PortError`] on infrastructure failure only.
    async fn by_login_id(&self, login_id: &LoginId) -> Result<Option<User>, PortError>;

    /// Finds a user by email.
    ///
    /// # Errors
    /// [`PortError`] on infrastructure failure only.
    async fn by_email(&self, email: &Email) -> Result<Option<User>, PortError>;

    /// Replaces a user's password hash. Returns whether the user existed.
    ///
    /// # Errors
    /// [`PortError`] on infrastructure failure only.
    async fn set_password(&self, id: UserId, hash: &PasswordHash) -> Result<bool, PortError>;

    /// Deletes a user and, with it, their sessions and refresh tokens.
    /// Returns whether the user existed.
    ///
    /// # Errors
    /// [`PortError`] on infrastructure failure only.
    async fn delete(&self, id: UserId) -> Result<bool, PortError>;

    /// Replaces a user's password hash with `new` only if it is still
    /// `old`, in one conditional write (`UPDATE … WHERE password_hash =
    /// old`): an upgrade never overwrites a password changed meanwhile.
    /// Returns whether it wrote.
    ///
    /// # Errors
    /// [`PortError`] on infrastructure failure only; the old hash is then
    /// still stored.
    async fn replace_password_hash(
        &self,
        id: UserId,
        old: &PasswordHash,
        new: &PasswordHash,
    ) -> Result<bool, PortError>;

    /// Imports accounts, one outcome per account in the same order.
    ///
    /// MUST store each account (its user row, with `id` when given, and its
    /// social links) atomically, never change an existing row, and decide
    /// per account: [`ImportOutcome::AlreadyImported`] when a user with the
    /// same id (when given), login id and email exists, and
    /// [`ImportOutcome::Conflict`] when any of them, or a social link,
    /// belongs to another user. With `dry_run` it decides the same way and
    /// stores nothing. After storing accounts with explicit ids, new users
    /// MUST get ids above the largest one.
    ///
    /// # Errors
    /// [`PortError`] on infrastructure failure; accounts of a batch that
    /// failed are then absent, and accounts of earlier calls stay stored.
    async fn import(
        &self,
        accounts: Vec<ImportAccount>,
        dry_run: bool,
    ) -> Result<Vec<ImportOutcome>, PortError>;

    /// Up to `limit` users with ids above `after` (all when `None`), lowest
    /// id first, whose login id, email or name contains `query`
    /// (case-insensitively for ASCII; every user when `query` is `None`).
    /// `%`, `_` and `\` in `query` match themselves. Keyset pagination: the
    /// cost does not grow with how far the caller has paged.
    ///
    /// # Errors
    /// [`PortError`] on infrastructure failure only.
    async fn search(
        &self,
        query: Option<&str>,
        after: Option<UserId>,
        limit: u32,
    ) -> Result<Vec<User>, PortError>;

    /// Disables (`Some(at)`) or enables (`None`) a user and returns it as
    /// stored; `None` when there is no such user. Disabling an already
    /// disabled user keeps its first `disabled_at` (one conditional write).
    ///
    /// # Errors
    /// [`PortError`] on infrastructure failure only.
    async fn set_disabled(&self, id: UserId, at: Option<DateTime<Utc>>) -> Result<Option<User>, PortError>;
}

/// Stores sessions and their refresh tokens.
#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Stores a new session and its first refresh token, atomically.
    ///
    /// # Errors
    /// [`PortError`] on infrastructure failure.
    async fn create(&self, session: &Session, first: &RefreshRecord) -> Result<(), PortError>;

    /// Finds a session.
    ///
    /// # Errors
    /// [`PortError`] on infrastructure failure only.
    async fn get(&self, id: SessionId) -> Result<Option<Session>, PortError>;

    /// Finds a refresh token record by hash.
    ///
    /// # Errors
    /// [`PortError`] on infrastructure failure only.
    async fn refresh_record(&self, hash: &RefreshTokenHash) -> Result<Option<RefreshRecord>, PortError>;

    /// Finds a refresh token record by hash together with its session, for
    /// the refresh path. A store answers both in one read (one trip to the
    /// database instead of two); the default asks [`Self::refresh_record`]
    /// and then [`Self::get`].
    ///
    /// # Errors
    /// [`PortError`] on infrastructure failure only.
    async fn refresh_record_with_session(
        &self,
        hash: &RefreshTokenHash,
    ) -> Result<Option<(RefreshRecord, Option<Session>)>, PortError> {
        let Some(record) = self.refresh_record(hash).await? else {
            return Ok(None);
        };
        let session = self.get(record.session_id).await?;
        Ok(Some((record, session)))
    }

    /// Exchanges `spent` for `next`, atomically and decided by the database:
    /// MUST mark `spent` as spent at `now` and insert `next` only when
    /// `spent` exists, is unspent and its session is live. Of any number of
    /// concurrent calls with the same `spent`, at most one returns
    /// [`RotateOutcome::Rotated`].
    ///
    /// # Errors
    /// [`PortError`] on infrastructure failure.
    async fn rotate(
        &self,
        spent: &RefreshTokenHash,
        next: &RefreshRecord,
        now: DateTime<Utc>,
    ) -> Result<RotateOutcome, PortError>;

    /// Adds another refresh token to a live session without spending any
    /// (used for the reuse grace window). Returns `false`, storing nothing,
    /// when the session is revoked or gone.
    ///
    /// # Errors
    /// [`PortError`] on infrastructure failure.
    async fn add_refresh(&self, next: &RefreshRecord) -> Result<bool, PortError>;

    /// Revokes one session. Returns `true` if it was live.
    ///
    /// # Errors
    /// [`PortError`] on infrastructure failure.
    async fn revoke(
        &self,
        id: SessionId,
        reason: RevokeReason,
        now: DateTime<Utc>,
    ) -> Result<bool, PortError>;

    /// The latest expiry among the session's unspent refresh tokens: the
    /// session can be continued until then. `None` when it has none.
    ///
    /// # Errors
    /// [`PortError`] on infrastructure failure only.
    async fn refresh_expiry(&self, id: SessionId) -> Result<Option<DateTime<Utc>>, PortError>;

    /// The user's live (unrevoked) sessions, oldest first.
    ///
    /// # Errors
    /// [`PortError`] on infrastructure failure only.
    async fn live_sessions(&self, user: UserId) -> Result<Vec<Session>, PortError>;

    /// Revokes every live session of a user and returns their ids.
    ///
    /// # Errors
    /// [`PortError`] on infrastructure failure.
    async fn revoke_all(
        &self,
        user: UserId,
        reason: RevokeReason,
        now: DateTime<Utc>,
    ) -> Result<Vec<SessionId>, PortError>;

    /// The user's sessions that can still be used at `now`: not revoked,
    /// with an unspent refresh token that has not expired. Oldest first.
    ///
    /// # Errors
    /// [`PortError`] on infrastructure failure only.
    async fn active_sessions(&self, user: UserId, now: DateTime<Utc>) -> Result<Vec<Session>, PortError>;

    /// Records that a refresh used the session at `now`
    /// ([`Session::last_refreshed_at`]).
    ///
    /// # Errors
    /// [`PortError`] on infrastructure failure only.
    async fn touch(&self, id: SessionId, now: DateTime<Utc>) -> Result<(), PortError>;
}

/// Hashes and verifies passwords. Implementations MUST keep the work off
/// async executor threads (a bounded blocking pool) and MUST spend the same
/// work on `verify(_, None)` as on a real verification.
#[async_trait]
pub trait PasswordHasher: Send + Sync {
    /// Hashes a new password with a fresh salt.
    ///
    /// # Errors
    /// [`PortError`] if the hashing pool fails.
    async fn hash(&self, password: &NewPassword) -> Result<PasswordHash, PortError>;

    /// Verifies `password` against `hash`. With `hash = None` (unknown user,
    /// or a social-only user) it verifies against a dummy hash, so the
    /// response time reveals nothing, and returns `false`.
    ///
    /// # Errors
    /// [`PortError`] if the hashing pool fails. A malformed stored hash is
    /// `Ok(false)`.
    async fn verify(&self, password: &str, hash: Option<&PasswordHash>) -> Result<bool, PortError>;

    /// The scheme of a stored hash, from its text (no verification); the
    /// hasher knows which argon2id parameters are current.
    fn scheme(&self, hash: Option<&PasswordHash>) -> PasswordScheme;

    /// Checks a password hash made by another system and returns the form
    /// to store: one that [`PasswordHasher::verify`] accepts and that names
    /// all its parameters (Spring's `{pbkdf2}` gets `spring_pbkdf2`'s).
    /// Cheap (no hashing): only the text is checked.
    ///
    /// # Errors
    /// [`ForeignHashError`] when the format is unknown, the value is
    /// truncated or malformed, or its parameters are outside what this
    /// service will spend on one verification.
    fn adopt(&self, foreign: &str, spring_pbkdf2: &SpringPbkdf2) -> Result<PasswordHash, ForeignHashError>;
}

/// A unit of work started by a use case that must not delay its answer.
pub type BackgroundTask = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + 'static>>;

/// Runs work after, or beside, the answer of the request that started it
/// (re-hashing a password on login). Best effort: a task lost to a
/// shutdown must leave nothing half done.
pub trait Background: Send + Sync {
    /// Starts `task` and returns at once.
    fn spawn(&self, task: BackgroundTask);
}

/// Signs and verifies tokens. Verification takes `now` so expiry follows the
/// [`Clock`] port.
pub trait TokenCodec: Send + Sync {
    /// Signs an access token.
    ///
    /// # Errors
    /// [`PortError`] if signing fails (misconfigured key).
    fn sign_access(&self, claims: &AccessClaims) -> Result<String, PortError>;

    /// Signs a refresh token.
    ///
    /// # Errors
    /// [`PortError`] if signing fails (misconfigured key).
    fn sign_refresh(&self, claims: &RefreshClaims) -> Result<String, PortError>;

    /// Verifies an access token's signature, algorithm and kind, and its
    /// expiry unless `allow_expired`.
    ///
    /// # Errors
    /// [`TokenError::Invalid`] for anything not signed by us as an access
    /// token; [`TokenError::Expired`] when past `exp` (and not allowed).
    fn verify_access(
        &self,
        token: &str,
        now: DateTime<Utc>,
        allow_expired: bool,
    ) -> Result<AccessClaims, TokenError>;

    /// Verifies a refresh token's signature, algorithm, kind and expiry.
    ///
    /// # Errors
    /// As [`TokenCodec::verify_access`].
    fn verify_refresh(&self, token: &str, now: DateTime<Utc>) -> Result<RefreshClaims, TokenError>;
}

/// The current time.
pub trait Clock: Send + Sync {
    /// Now, in UTC.
    fn now(&self) -> DateTime<Utc>;
}

/// Cryptographically secure randomness.
pub trait Random: Send + Sync {
    /// Fills `buf` with random bytes from a CSPRNG.
    fn fill(&self, buf: &mut [u8]);
}

/// Stores emailed verification codes — at most one per email — and the
/// cooldowns of `FORGET_PASSWORD` requests that matched no account (decoys).
///
/// Every conditional method decides in one statement of the database (under
/// its row lock), so that concurrent callers on several instances cannot
/// both pass a condition that only one may pass.
#[async_trait]
pub trait CodeStore: Send + Sync {
    /// Stores `code` as the one code of its email, replacing any earlier one
    /// (every field, including the bound login id; tries back to zero, not
    /// verified, not used), unless a code was sent to that email less than
    /// `cooldown` before `code.sent_at`: then nothing changes and the answer
    /// says when a send is possible again. MUST be decided by the database,
    /// so two racing sends to one email store one code.
    ///
    /// # Errors
    /// [`PortError`] on infrastructure failure.
    async fn put(&self, code: &StoredCode, cooldown: chrono::TimeDelta) -> Result<PutOutcome, PortError>;

    /// The code of an email, if any.
    ///
    /// # Errors
    /// [`PortError`] on infrastructure failure only.
    async fn get(&self, email: &Email) -> Result<Option<StoredCode>, PortError>;

    /// Reserves one try of the email's code before a typed code is compared
    /// with it: MUST add one to its tries only if the code is still `hash`,
    /// unused, unexpired at `now` and has fewer than `max_attempts` tries,
    /// in one conditional write. Returns whether the try was granted; of any
    /// number of concurrent calls at most `max_attempts - tries` are. A
    /// granted try that finds a wrong code is simply kept: it is the counted
    /// failure.
    ///
    /// # Errors
    /// [`PortError`] on infrastructure failure.
    async fn reserve_attempt(
        &self,
        email: &Email,
        hash: &CodeHash,
        now: DateTime<Utc>,
        max_attempts: u32,
    ) -> Result<bool, PortError>;

    /// Records a successful check at `now` by a caller holding a reserved
    /// try, and gives that try back (a right code is not a wrong try). MUST
    /// write only if the code is still `hash`, unused, unexpired at `now`,
    /// has at most `max_attempts` tries (the caller's included) and, when
    /// `login_id` is given, is bound to no login id or to that one; a given
    /// `login_id` is then bound. Returns whether it wrote.
    ///
    /// # Errors
    /// [`PortError`] on infrastructure failure.
    async fn mark_verified(
        &self,
        email: &Email,
        hash: &CodeHash,
        now: DateTime<Utc>,
        max_attempts: u32,
        login_id: Option<&LoginId>,
    ) -> Result<bool, PortError>;

    /// Marks the code used at `now` for a caller holding a reserved try (a
    /// password reset that compared the code): MUST write only if it is
    /// still `hash`, unused, unexpired and has at most `max_attempts` tries
    /// (the caller's included). Returns whether this call consumed it: of
    /// concurrent calls at most one does.
    ///
    /// # Errors
    /// [`PortError`] on infrastructure failure.
    async fn consume(
        &self,
        email: &Email,
        hash: &CodeHash,
        now: DateTime<Utc>,
        max_attempts: u32,
    ) -> Result<bool, PortError>;

    /// Spends a `SIGN_UP` verification for the sign-up of `login_id`, before
    /// the account is created: MUST mark the code used at `now` only if it is
    /// still `hash`, a `SIGN_UP` code bound to `login_id`, unused, and was
    /// checked at or after `verified_since`. Returns whether this call spent
    /// it: of concurrent calls at most one does, so one check admits one
    /// sign-up.
    ///
    /// # Errors
    /// [`PortError`] on infrastructure failure.
    async fn consume_sign_up(
        &self,
        email: &Email,
        hash: &CodeHash,
        login_id: &LoginId,
        verified_since: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, PortError>;

    /// Deletes the email's code if it is still `hash` (mailing it failed:
    /// a code nobody received must not block a retry or stay usable).
    ///
    /// # Errors
    /// [`PortError`] on infrastructure failure.
    async fn discard(&self, email: &Email, hash: &CodeHash) -> Result<(), PortError>;

    /// Starts the cooldown of a `FORGET_PASSWORD` request that matched no
    /// account, under `key`, unless one started less than `cooldown` before
    /// `now`: then nothing changes and the answer says when it ends. MUST
    /// NOT touch any email's code, and MUST be decided by the database like
    /// [`CodeStore::put`].
    ///
    /// # Errors
    /// [`PortError`] on infrastructure failure.
    async fn put_decoy(
        &self,
        key: &DecoyKey,
        now: DateTime<Utc>,
        cooldown: chrono::TimeDelta,
    ) -> Result<PutOutcome, PortError>;

    /// Deletes what can no longer matter at `now`: every decoy whose cooldown
    /// has ended, and every code that expired at or before `now` and was
    /// sent, and (if checked) checked, at or before `now - horizon`. The
    /// caller passes a `horizon` at least as long as the resend cooldown and
    /// the sign-up window, so no cooldown or open sign-up is cut short.
    /// Returns how many rows went.
    ///
    /// # Errors
    /// [`PortError`] on infrastructure failure.
    async fn purge_expired(&self, now: DateTime<Utc>, horizon: chrono::TimeDelta)
    -> Result<usize, PortError>;
}

/// Sends mail.
#[async_trait]
pub trait Mailer: Send + Sync {
    /// Delivers one message (or hands it to a relay that accepted it).
    ///
    /// # Errors
    /// [`PortError`] when the message was not accepted (server down,
    /// refused, outbox not writable).
    async fn send(&self, mail: &OutgoingMail) -> Result<(), PortError>;
}

/// Announces events to connected devices, on every instance.
///
/// Publishing is best effort by contract: the state change it reports is
/// already stored, so a failed announcement must not undo or fail the use
/// case. Adapters log their own failures.
#[async_trait]
pub trait EventBus: Send + Sync {
    /// Publishes one event.
    async fn publish(&self, event: Event);
}
