//! What live connections need: authenticating a socket against a live
//! session, revocations announced to devices, and notifications.

use uuid::Uuid;

use crate::caller::Caller;
use crate::error::PortError;
use crate::identity::user::{LoginId, UserId};
use crate::sessions::events::{Event, MAX_NOTIFICATION_CHARS};
use crate::sessions::session::{RevokeReason, SessionId};
use crate::sessions::token::{AccessClaims, TokenError};
use crate::sessions::tokens::Sessions;

/// A socket's identity: a valid access token of a session that is live now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveSession {
    /// The token's claims (`sub` is the user's UUID).
    pub claims: AccessClaims,
    /// The session's user.
    pub user_id: UserId,
}

/// Whether a session can still be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionStatus {
    /// Not revoked, and a refresh token can still continue it.
    Live,
    /// Over, for this reason.
    Ended(EndReason),
}

/// Why a session is over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    /// It was revoked (a missing session counts as withdrawn).
    Revoked(RevokeReason),
    /// Its last refresh token expired.
    Expired,
}

/// Why a notification could not be sent.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// No user has this UUID or login id.
    #[error("unknown user")]
    UnknownUser,
    /// The message is empty or longer than [`MAX_NOTIFICATION_CHARS`].
    #[error("invalid message")]
    InvalidMessage,
    /// Infrastructure failure.
    #[error(transparent)]
    Internal(#[from] PortError),
}

/// Why a socket could not be authenticated.
#[derive(Debug, thiserror::Error)]
pub enum LiveSessionError {
    /// The token is not a valid access token, or its session is revoked.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// Infrastructure failure.
    #[error(transparent)]
    Internal(#[from] PortError),
}

impl Sessions {
    /// Verifies an access token and that its session is still live (for
    /// long-lived connections, which must not outlive a logout).
    ///
    /// # Errors
    /// [`LiveSessionError::Token`] with [`TokenError::Invalid`] for a revoked
    /// or unknown session.
    pub async fn authenticate_live(&self, access_token: &str) -> Result<LiveSession, LiveSessionError> {
        let claims = self.authenticate(access_token)?;
        match self.store().get(claims.sid).await? {
            Some(session) if session.is_live() && self.can_continue(session.id).await? => Ok(LiveSession {
                claims,
                user_id: session.user_id,
            }),
            _ => Err(TokenError::Invalid.into()),
        }
    }

    /// RFC 7662 introspection: the claims of `access_token` when it is a
    /// valid, unexpired access token of a session that is live now;
    /// `None` for anything else (expired, forged, logged out, revoked,
    /// user withdrawn, password reset, refresh tokens).
    ///
    /// # Errors
    /// [`PortError`] on infrastructure failure.
    pub async fn introspect(&self, access_token: &str) -> Result<Option<AccessClaims>, PortError> {
        let Ok(claims) = self.authenticate(access_token) else {
            return Ok(None);
        };
        Ok((self.session_status(claims.sid).await? == SessionStatus::Live).then_some(claims))
    }

    /// Whether a session is still live: not revoked, and not expired (one of
    /// its refresh tokens is unspent and unexpired, so it can go on).
    ///
    /// # Errors
    /// [`PortError`] on infrastructure failure.
    pub async fn session_is_live(&self, id: SessionId) -> Result<bool, PortError> {
        Ok(self.session_status(id).await? == SessionStatus::Live)
    }

    /// A session's state, with why it ended, from what is stored (so a
    /// socket that checks after a revocation but before its announcement
    /// still tells the device the true reason).
    ///
    /// # Errors
    /// [`PortError`] on infrastructure failure.
    pub async fn session_status(&self, id: SessionId) -> Result<SessionStatus, PortError> {
        match self.store().get(id).await? {
            // Session rows disappear only with their user (withdrawal).
            None => Ok(SessionStatus::Ended(EndReason::Revoked(RevokeReason::Withdrawal))),
            Some(s) if !s.is_live() => Ok(SessionStatus::Ended(EndReason::Revoked(
                s.revoke_reason.unwrap_or(RevokeReason::Logout),
            ))),
            Some(_) if !self.can_continue(id).await? => Ok(SessionStatus::Ended(EndReason::Expired)),
            Some(_) => Ok(SessionStatus::Live),
        }
    }

    async fn can_continue(&self, id: SessionId) -> Result<bool, PortError> {
        let now = self.core.now();
        Ok(self.store().refresh_expiry(id).await?.is_some_and(|t| t > now))
    }

    /// Sends `message` to every live socket of a user, named by UUID or
    /// login id.
    ///
    /// # Errors
    /// [`NotifyError`].
    pub async fn notify(&self, user: &str, message: &str, caller: &Caller) -> Result<(), NotifyError> {
        let len = message.chars().count();
        if message.trim().is_empty() || len > MAX_NOTIFICATION_CHARS {
            return Err(NotifyError::InvalidMessage);
        }
        let found = match Uuid::parse_str(user) {
            Ok(uuid) => self.users().by_uuid(uuid).await?,
            Err(_) => match LoginId::parse(user) {
                Ok(login_id) => self.users().by_login_id(&login_id).await?,
                Err(_) => None,
            },
        };
        let user = found.ok_or(NotifyError::UnknownUser)?;
        self.revoker()
            .publish(Event::Notification {
                user: user.uuid,
                message: message.to_owned(),
            })
            .await;
        self.core
            .audit_admin(
                crate::audit::AuditKind::AdminNotification,
                Some(user.id),
                None,
                format!("user:{}", user.id),
                caller,
            )
            .await;
        Ok(())
    }
}
