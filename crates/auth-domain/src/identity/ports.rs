//! What identity needs from the outside world: user storage, password
//! hashing, and work off the answer's path.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::error::PortError;
use crate::identity::password::{ForeignHashError, NewPassword, PasswordHash, PasswordScheme, SpringPbkdf2};
use crate::identity::user::{Email, LoginId, NewUser, UniqueField, User, UserId};
use crate::import::{ImportAccount, ImportOutcome};

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

    /// Replaces a user's password hash after the owner proved the address
    /// with an emailed code (password reset), so the address counts as
    /// verified from then on ([`User::email_verified`](crate::identity::user::User::email_verified)).
    /// Returns whether the user existed.
    ///
    /// # Errors
    /// [`PortError`] on infrastructure failure only.
    async fn set_password(&self, id: UserId, hash: &PasswordHash) -> Result<bool, PortError>;

    /// Deletes a user that is not disabled and, with it, their sessions
    /// and refresh tokens, in one conditional write (`DELETE … WHERE
    /// disabled_at IS NULL`), so a disable racing the delete wins. Returns
    /// whether a user was deleted (false: unknown or disabled).
    ///
    /// # Errors
    /// [`PortError`] on infrastructure failure only.
    async fn delete_enabled(&self, id: UserId) -> Result<bool, PortError>;

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
    /// (case-insensitively for ASCII letters at least; every user when
    /// `query` is `None`). `%`, `_`, `\` and `"` in `query` match
    /// themselves. Keyset pagination: the cost does not grow with how far
    /// the caller has paged. An adapter should find a query of three
    /// characters or more through an index (the ones in this repository
    /// use trigram indexes), so that the cost does not grow with the
    /// number of accounts either.
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
