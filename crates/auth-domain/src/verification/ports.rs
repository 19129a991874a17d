//! What emailed codes need from the outside world: code storage and mail.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::error::PortError;
use crate::identity::user::{Email, LoginId};
use crate::verification::{CodeHash, DecoyKey, OutgoingMail, PutOutcome, StoredCode};

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
