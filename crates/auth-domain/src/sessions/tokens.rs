//! [`Sessions`], the session use cases: refresh, reissue (rotation with
//! reuse detection) and logout here; whether a session is live in
//! [`super::status`].

use std::sync::Arc;

use crate::caller::Caller;
use crate::error::PortError;
use crate::identity::ports::UserRepository;
use crate::service_core::ServiceCore;
use crate::sessions::issuer::{SessionIssuer, SessionRevoker};
use crate::sessions::ports::{SessionStore, TokenCodec};
use crate::sessions::session::{RefreshTokenHash, RevokeReason, RotateOutcome, SessionId};
use crate::sessions::token::{
    AccessClaims, IssuedAccess, IssuedRefresh, RefreshClaims, TokenError, TokenPair,
};

/// Why a refresh (new access token, same refresh token) failed.
#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    /// Not a refresh token of ours, expired, unknown, or its session is
    /// revoked.
    #[error("invalid refresh token")]
    Invalid,
    /// The token had been spent by a rotation: treated as theft, and the
    /// whole session is now revoked.
    #[error("refresh token reused; session revoked")]
    Reused,
    /// Infrastructure failure.
    #[error(transparent)]
    Internal(#[from] PortError),
}

/// Why a reissue (rotation) failed.
#[derive(Debug, thiserror::Error)]
pub enum ReissueError {
    /// The access token is not ours (an expired one is accepted).
    #[error("invalid access token")]
    InvalidAccessToken,
    /// The refresh token is not ours, expired, unknown, or its session is
    /// revoked.
    #[error("invalid refresh token")]
    InvalidRefreshToken,
    /// The two tokens belong to different sessions.
    #[error("tokens belong to different sessions")]
    SessionMismatch,
    /// A spent refresh token was presented outside the grace window: the
    /// whole session is now revoked.
    #[error("refresh token reused; session revoked")]
    Reused,
    /// Infrastructure failure.
    #[error(transparent)]
    Internal(#[from] PortError),
}

/// Why a logout failed.
#[derive(Debug, thiserror::Error)]
pub enum LogoutError {
    /// The token is not ours, or expired.
    #[error("invalid token")]
    InvalidToken,
    /// Infrastructure failure.
    #[error(transparent)]
    Internal(#[from] PortError),
}

/// The verdict on a presented refresh token.
enum RefreshVerdict {
    /// Unspent, session live.
    Fresh(RefreshClaims),
    /// Spent within the grace window, session live.
    Graced(RefreshClaims),
}

/// Why [`Sessions::rotate_checked`] refused.
pub(crate) enum RotateRefusal {
    /// Not a live refresh token of ours.
    Invalid,
    /// It does not belong where it was presented; nothing changed.
    Mismatch,
    /// A spent token: its session is now revoked.
    Reused,
    /// Infrastructure failure.
    Port(PortError),
}

impl From<PortError> for RotateRefusal {
    fn from(e: PortError) -> Self {
        Self::Port(e)
    }
}

enum RefreshRefusal {
    Invalid,
    Reused,
    Port(PortError),
}

impl From<PortError> for RefreshRefusal {
    fn from(e: PortError) -> Self {
        Self::Port(e)
    }
}

/// The session use cases: verifying access tokens, refresh, reissue,
/// logout ([`crate::sessions::tokens`]), whether a session is live, and
/// notifications to a user's sockets ([`crate::sessions::status`]).
/// Cheap to clone.
#[derive(Clone)]
pub struct Sessions {
    pub(crate) core: ServiceCore,
    issuer: SessionIssuer,
    users: Arc<dyn UserRepository>,
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sessions { .. }")
    }
}

impl Sessions {
    /// The session use cases over `issuer` (token codec, session store,
    /// event bus, clock, policy) and `users` (to name a notification's
    /// user).
    ///
    /// ```
    /// use std::sync::Arc;
    ///
    /// use auth_domain::sessions::issuer::{SessionIssuer, SessionRevoker};
    /// use auth_domain::sessions::tokens::Sessions;
    /// use auth_domain::testing::{test_core, FakeTokens, MemSessions, MemUsers, RecordingBus};
    /// use auth_domain::{AuthPolicy, Caller};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let users = Arc::new(MemUsers::default());
    /// let revoker = SessionRevoker::new(Arc::new(MemSessions::default()), Arc::new(RecordingBus::default()));
    /// let issuer = SessionIssuer::new(test_core(AuthPolicy::default()), Arc::new(FakeTokens), users.clone(), revoker);
    /// let sessions = Sessions::new(issuer, users);
    ///
    /// assert!(sessions.authenticate("not a token").is_err());
    /// let refreshed = sessions.refresh("not a token", &Caller::new("session")).await;
    /// assert!(matches!(refreshed, Err(auth_domain::sessions::tokens::RefreshError::Invalid)));
    /// # }
    /// ```
    pub fn new(issuer: SessionIssuer, users: Arc<dyn UserRepository>) -> Self {
        Self {
            core: issuer.core.clone(),
            issuer,
            users,
        }
    }

    /// Verifies an access token statelessly (signature, kind, expiry) and
    /// returns its claims. Costs no storage access.
    ///
    /// # Errors
    /// [`TokenError`] when the token is unusable.
    pub fn authenticate(&self, access_token: &str) -> Result<AccessClaims, TokenError> {
        self.tokens().verify_access(access_token, self.core.now(), false)
    }

    fn tokens(&self) -> &Arc<dyn TokenCodec> {
        &self.issuer.tokens
    }

    pub(super) fn store(&self) -> &Arc<dyn SessionStore> {
        self.issuer.sessions()
    }

    pub(super) fn revoker(&self) -> &SessionRevoker {
        &self.issuer.revoker
    }

    pub(super) fn users(&self) -> &Arc<dyn UserRepository> {
        &self.users
    }

    /// Records an audit event about a session, finding its user (best effort).
    async fn audit_session(&self, kind: crate::audit::AuditKind, sid: SessionId, caller: &Caller) {
        let user = self.store().get(sid).await.ok().flatten().map(|s| s.user_id);
        self.core.audit(kind, user, Some(sid), caller).await;
    }
}

impl Sessions {
    /// Issues a new access token for a refresh token, which stays valid (the
    /// `session` and `picsel` contracts). A spent refresh token presented
    /// here is reuse, as anywhere.
    ///
    /// # Errors
    /// [`RefreshError`].
    pub async fn refresh(&self, refresh_token: &str, caller: &Caller) -> Result<IssuedAccess, RefreshError> {
        let claims = match self.check_refresh(refresh_token, caller).await {
            Ok(RefreshVerdict::Fresh(c) | RefreshVerdict::Graced(c)) => c,
            Err(RefreshRefusal::Invalid) => return Err(RefreshError::Invalid),
            Err(RefreshRefusal::Reused) => return Err(RefreshError::Reused),
            Err(RefreshRefusal::Port(e)) => return Err(e.into()),
        };
        let now = self.core.now();
        let access = self
            .issuer
            .sign_access(claims.sub, claims.sid, &claims.sign_in, now)?;
        self.store().touch(claims.sid, now).await?;
        Ok(access)
    }

    /// Exchanges an access token (expired is fine, the signature is still
    /// checked) and a refresh token of the same session for a new pair; the
    /// presented refresh token is spent (rotation). Presenting a spent
    /// refresh token again revokes the session, unless it was spent less than
    /// the policy's grace period ago.
    ///
    /// # Errors
    /// [`ReissueError`].
    pub async fn reissue(
        &self,
        access_token: &str,
        refresh_token: &str,
        caller: &Caller,
    ) -> Result<TokenPair, ReissueError> {
        let (pair, touched) = self.reissue_pair(access_token, refresh_token, caller).await?;
        // A rotation recorded the refresh in its own transaction; a token
        // added in the grace window did not.
        if !touched {
            self.store()
                .touch(pair.access.claims.sid, pair.access.issued_at)
                .await?;
        }
        Ok(pair)
    }

    /// [`Self::reissue`], and whether the session's last refresh was
    /// recorded with it (by a rotation).
    async fn reissue_pair(
        &self,
        access_token: &str,
        refresh_token: &str,
        caller: &Caller,
    ) -> Result<(TokenPair, bool), ReissueError> {
        let now = self.core.now();
        let access = self
            .tokens()
            .verify_access(access_token, now, true)
            .map_err(|_| ReissueError::InvalidAccessToken)?;
        let same_session = |c: &RefreshClaims| c.sid == access.sid && c.sub == access.sub;
        let (claims, refresh, touched) = match self.rotate_checked(refresh_token, caller, same_session).await
        {
            Ok(rotated) => rotated,
            Err(RotateRefusal::Invalid) => return Err(ReissueError::InvalidRefreshToken),
            Err(RotateRefusal::Mismatch) => return Err(ReissueError::SessionMismatch),
            Err(RotateRefusal::Reused) => return Err(ReissueError::Reused),
            Err(RotateRefusal::Port(e)) => return Err(e.into()),
        };
        let access = self
            .issuer
            .sign_access(claims.sub, claims.sid, &claims.sign_in, now)?;
        Ok((TokenPair { access, refresh }, touched))
    }

    /// Rotates a refresh token (spends it, signs and stores the next one)
    /// when `belongs` accepts its claims: the rotation with reuse
    /// detection every front end shares (the contracts' reissue, an
    /// OpenID client's `refresh_token` grant). A spent token outside the
    /// grace window revokes its session. Returns the presented token's
    /// claims, the next token, and whether the rotation recorded the
    /// session's last refresh (a token added in the grace window does not).
    pub(crate) async fn rotate_checked(
        &self,
        refresh_token: &str,
        caller: &Caller,
        belongs: impl FnOnce(&RefreshClaims) -> bool,
    ) -> Result<(RefreshClaims, IssuedRefresh, bool), RotateRefusal> {
        let now = self.core.now();
        let presented = match self.check_refresh(refresh_token, caller).await {
            Ok(p) => p,
            Err(RefreshRefusal::Invalid) => return Err(RotateRefusal::Invalid),
            Err(RefreshRefusal::Reused) => return Err(RotateRefusal::Reused),
            Err(RefreshRefusal::Port(e)) => return Err(RotateRefusal::Port(e)),
        };
        let claims = match &presented {
            RefreshVerdict::Fresh(c) | RefreshVerdict::Graced(c) => c.clone(),
        };
        if !belongs(&claims) {
            return Err(RotateRefusal::Mismatch);
        }
        let (refresh, next) = self
            .issuer
            .sign_refresh(claims.sub, claims.sid, &claims.sign_in, now)?;
        match presented {
            RefreshVerdict::Graced(_) => {
                if self.store().add_refresh(&next).await? {
                    Ok((claims, refresh, false))
                } else {
                    Err(RotateRefusal::Invalid)
                }
            }
            RefreshVerdict::Fresh(_) => {
                let spent = RefreshTokenHash::of_jti(&claims.jti);
                match self.store().rotate(&spent, &next, now).await? {
                    RotateOutcome::Rotated => Ok((claims, refresh, true)),
                    RotateOutcome::AlreadySpent(spent_at) => {
                        // Lost a race with a concurrent rotation of the same token.
                        if self.within_grace(spent_at, now) && self.store().add_refresh(&next).await? {
                            Ok((claims, refresh, false))
                        } else {
                            self.revoke_for_reuse(&claims, caller).await?;
                            Err(RotateRefusal::Reused)
                        }
                    }
                    RotateOutcome::SessionRevoked | RotateOutcome::Unknown => Err(RotateRefusal::Invalid),
                }
            }
        }
    }

    /// Logs out the session a refresh token belongs to (`picsel`). Logging
    /// out an already revoked session succeeds: the outcome the client wants
    /// holds.
    ///
    /// # Errors
    /// [`LogoutError::InvalidToken`] when the token is not a live refresh
    /// token of ours.
    pub async fn logout_with_refresh(&self, refresh_token: &str, caller: &Caller) -> Result<(), LogoutError> {
        let now = self.core.now();
        let claims = self
            .tokens()
            .verify_refresh(refresh_token, now)
            .map_err(|_| LogoutError::InvalidToken)?;
        let known = self
            .store()
            .refresh_record(&RefreshTokenHash::of_jti(&claims.jti))
            .await?;
        if known.is_none() {
            return Err(LogoutError::InvalidToken);
        }
        self.revoker()
            .revoke_and_announce(claims.sid, RevokeReason::Logout, now)
            .await?;
        self.audit_session(crate::audit::AuditKind::Logout, claims.sid, caller)
            .await;
        Ok(())
    }

    /// Logs out the session an access token belongs to (`standard`).
    ///
    /// # Errors
    /// [`LogoutError::InvalidToken`] when the access token is not valid.
    pub async fn logout_with_access(&self, access_token: &str, caller: &Caller) -> Result<(), LogoutError> {
        let now = self.core.now();
        let claims = self
            .tokens()
            .verify_access(access_token, now, false)
            .map_err(|_| LogoutError::InvalidToken)?;
        self.revoker()
            .revoke_and_announce(claims.sid, RevokeReason::Logout, now)
            .await?;
        self.audit_session(crate::audit::AuditKind::Logout, claims.sid, caller)
            .await;
        Ok(())
    }

    /// The user's own sessions that can still be used, oldest first (the
    /// account page's devices).
    ///
    /// # Errors
    /// [`PortError`].
    pub async fn own_sessions(
        &self,
        user: crate::identity::user::UserId,
    ) -> Result<Vec<crate::sessions::session::Session>, PortError> {
        self.issuer
            .sessions()
            .active_sessions(user, self.core.now())
            .await
    }

    /// Ends one of the user's own sessions (`LOGOUT` to its sockets),
    /// audited as a logout. `false`, with nothing changed, when the session
    /// is another user's, unknown, or already ended.
    ///
    /// # Errors
    /// [`PortError`].
    pub async fn end_own_session(
        &self,
        user: crate::identity::user::UserId,
        sid: crate::sessions::session::SessionId,
        caller: &Caller,
    ) -> Result<bool, PortError> {
        let Some(session) = self.issuer.sessions().get(sid).await? else {
            return Ok(false);
        };
        if session.user_id != user || !session.is_live() {
            return Ok(false);
        }
        let now = self.core.now();
        let ended = self
            .revoker()
            .revoke_and_announce(sid, RevokeReason::Logout, now)
            .await?;
        if ended {
            self.audit_session(crate::audit::AuditKind::Logout, sid, caller)
                .await;
        }
        Ok(ended)
    }

    fn within_grace(
        &self,
        spent_at: chrono::DateTime<chrono::Utc>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> bool {
        let grace = self.core.policy().refresh_reuse_grace;
        grace > chrono::TimeDelta::zero() && now - spent_at <= grace
    }

    async fn revoke_for_reuse(&self, claims: &RefreshClaims, caller: &Caller) -> Result<(), PortError> {
        let now = self.core.now();
        self.revoker()
            .revoke_and_announce(claims.sid, RevokeReason::RefreshReuse, now)
            .await?;
        self.audit_session(crate::audit::AuditKind::TokenReuse, claims.sid, caller)
            .await;
        Ok(())
    }

    /// Verifies a refresh token and judges it against the store.
    async fn check_refresh(&self, token: &str, caller: &Caller) -> Result<RefreshVerdict, RefreshRefusal> {
        let now = self.core.now();
        let claims = self.tokens().verify_refresh(token, now).map_err(|e| match e {
            TokenError::Invalid | TokenError::Expired => RefreshRefusal::Invalid,
        })?;
        let found = self
            .store()
            .refresh_record_with_session(&RefreshTokenHash::of_jti(&claims.jti))
            .await?;
        let Some((record, session)) = found else {
            return Err(RefreshRefusal::Invalid);
        };
        // The session read is the record's; it is the token's only when
        // the two agree.
        if record.session_id != claims.sid || record.expires_at <= now {
            return Err(RefreshRefusal::Invalid);
        }
        if !session.is_some_and(|s| s.is_live()) {
            return Err(RefreshRefusal::Invalid);
        }
        match record.spent_at {
            None => Ok(RefreshVerdict::Fresh(claims)),
            Some(spent_at) if self.within_grace(spent_at, now) => Ok(RefreshVerdict::Graced(claims)),
            Some(_) => {
                self.revoke_for_reuse(&claims, caller).await?;
                Err(RefreshRefusal::Reused)
            }
        }
    }
}
