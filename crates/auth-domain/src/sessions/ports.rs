//! What sessions need from the outside world: session storage, token
//! signing, and announcements to connected devices.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::error::PortError;
use crate::identity::user::UserId;
use crate::sessions::events::Event;
use crate::sessions::session::{
    RefreshRecord, RefreshTokenHash, RevokeReason, RotateOutcome, Session, SessionId,
};
use crate::sessions::token::{AccessClaims, RefreshClaims, TokenError};

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
    /// [`RotateOutcome::Rotated`]. A rotation also records `now` as the
    /// session's last refresh ([`Session::last_refreshed_at`], what
    /// [`Self::touch`] does), in the same transaction: one commit per
    /// rotation, not two.
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
    /// A store that persists MUST write the session's signals to the
    /// outbox ([`crate::oidc::signals`]) in the same transaction: the
    /// clients that hear of the end learn of it exactly when it commits.
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

    /// Revokes every live session of a user and returns their ids; the
    /// signals of each are written as [`Self::revoke`] says.
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

    /// How many sessions of everyone can still be used at `now` (the
    /// console's overview): [`Self::active_sessions`]' rule, counted.
    ///
    /// # Errors
    /// [`PortError`] on infrastructure failure only.
    async fn count_active(&self, now: DateTime<Utc>) -> Result<u64, PortError>;

    /// Records that a refresh used the session at `now`
    /// ([`Session::last_refreshed_at`]).
    ///
    /// # Errors
    /// [`PortError`] on infrastructure failure only.
    async fn touch(&self, id: SessionId, now: DateTime<Utc>) -> Result<(), PortError>;
}

/// Signs and verifies tokens. Verification takes `now` so expiry follows the
/// [`Clock`](crate::platform::Clock) port.
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
