//! What live connections need: authenticating a socket against a live
//! session, revocations announced to devices, and notifications.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::caller::Caller;
use crate::error::PortError;
use crate::events::{Event, MAX_NOTIFICATION_CHARS};
use crate::session::{RevokeReason, Session, SessionId};
use crate::token::{AccessClaims, TokenError};
use crate::user::{LoginId, User, UserId};

use crate::service::AuthService;

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

impl AuthService {
    /// Verifies an access token and that its session is still live (for
    /// long-lived connections, which must not outlive a logout).
    ///
    /// # Errors
    /// [`LiveSessionError::Token`] with [`TokenError::Invalid`] for a revoked
    /// or unknown session.
    pub async fn authenticate_live(&self, access_token: &str) -> Result<LiveSession, LiveSessionError> {
        let claims = self.authenticate(access_token)?;
        match self.ports.sessions.get(claims.sid).await? {
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
        match self.ports.sessions.get(id).await? {
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
        let now = self.ports.clock.now();
        Ok(self
            .ports
            .sessions
            .refresh_expiry(id)
            .await?
            .is_some_and(|t| t > now))
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
            Ok(uuid) => self.ports.users.by_uuid(uuid).await?,
            Err(_) => match LoginId::parse(user) {
                Ok(login_id) => self.ports.users.by_login_id(&login_id).await?,
                Err(_) => None,
            },
        };
        let user = found.ok_or(NotifyError::UnknownUser)?;
        self.ports
            .events
            .publish(Event::Notification {
                user: user.uuid,
                message: message.to_owned(),
            })
            .await;
        self.audit_admin(
            crate::audit::AuditKind::AdminNotification,
            Some(user.id),
            None,
            format!("user:{}", user.id),
            caller,
        )
        .await;
        Ok(())
    }

    /// Revokes one session and, if it was live, announces it.
    pub(crate) async fn revoke_and_announce(
        &self,
        id: SessionId,
        reason: RevokeReason,
        now: DateTime<Utc>,
    ) -> Result<bool, PortError> {
        let revoked = self.ports.sessions.revoke(id, reason, now).await?;
        if revoked {
            self.announce(vec![id], reason).await;
        }
        Ok(revoked)
    }

    /// Revokes every live session of a user and announces them.
    pub(crate) async fn revoke_all_and_announce(
        &self,
        user: UserId,
        reason: RevokeReason,
        now: DateTime<Utc>,
    ) -> Result<Vec<SessionId>, PortError> {
        let revoked = self.ports.sessions.revoke_all(user, reason, now).await?;
        self.announce(revoked.clone(), reason).await;
        Ok(revoked)
    }

    async fn announce(&self, sessions: Vec<SessionId>, reason: RevokeReason) {
        if !sessions.is_empty() {
            self.ports
                .events
                .publish(Event::SessionsRevoked { sessions, reason })
                .await;
        }
    }

    /// Applies the session policy after `new` was opened for `user`: in a
    /// single-session contract every older live session ends; otherwise the
    /// oldest are evicted beyond the per-user limit. Only sessions created no
    /// later than `new` are touched, so of two racing logins the newer wins.
    pub(crate) async fn enforce_session_policy(&self, user: &User, new: &Session) -> Result<(), PortError> {
        let policy = &self.policy.sessions;
        let single = policy.single_session_clients.iter().any(|c| c == &new.client);
        if !single && policy.max_sessions_per_user.is_none() {
            return Ok(());
        }
        let older: Vec<Session> = self
            .ports
            .sessions
            .live_sessions(user.id)
            .await?
            .into_iter()
            .filter(|s| s.id != new.id && s.created_at <= new.created_at)
            .collect();
        let keep = if single {
            0
        } else {
            let max = policy
                .max_sessions_per_user
                .map_or(usize::MAX, |m| m.max(1) as usize);
            max - 1
        };
        let excess = older.len().saturating_sub(keep);
        let mut evicted = Vec::with_capacity(excess);
        for session in older.into_iter().take(excess) {
            if self
                .ports
                .sessions
                .revoke(session.id, RevokeReason::NewLogin, new.created_at)
                .await?
            {
                evicted.push(session.id);
            }
        }
        self.announce(evicted, RevokeReason::NewLogin).await;
        Ok(())
    }
}
