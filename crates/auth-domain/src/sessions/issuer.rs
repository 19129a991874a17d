//! What every area that logs users in or out shares: the
//! [`SessionRevoker`] (revoke sessions, announce it to devices) and the
//! [`SessionIssuer`] (sign token pairs, open sessions).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::caller::Caller;
use crate::error::PortError;
use crate::identity::ports::UserRepository;
use crate::identity::user::{User, UserId};
use crate::service_core::ServiceCore;
use crate::sessions::events::Event;
use crate::sessions::ports::{EventBus, SessionStore, TokenCodec};
use crate::sessions::session::{RefreshRecord, RefreshTokenHash, RevokeReason, Session, SessionId};
use crate::sessions::token::{AccessClaims, IssuedAccess, IssuedRefresh, RefreshClaims, SignIn, TokenPair};

/// Revokes sessions and announces the revocations to connected devices
/// (`LOGOUT` on their sockets). Cheap to clone.
///
/// ```
/// use std::sync::Arc;
///
/// use auth_domain::sessions::issuer::SessionRevoker;
/// use auth_domain::testing::{MemSessions, RecordingBus};
///
/// let revoker = SessionRevoker::new(Arc::new(MemSessions::default()), Arc::new(RecordingBus::default()));
/// # let _ = revoker;
/// ```
#[derive(Clone)]
pub struct SessionRevoker {
    pub(crate) sessions: Arc<dyn SessionStore>,
    events: Arc<dyn EventBus>,
}

impl std::fmt::Debug for SessionRevoker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionRevoker { .. }")
    }
}

impl SessionRevoker {
    /// The revoker over the session store and the event bus.
    pub fn new(sessions: Arc<dyn SessionStore>, events: Arc<dyn EventBus>) -> Self {
        Self { sessions, events }
    }

    /// Revokes one session and, if it was live, announces it.
    pub(crate) async fn revoke_and_announce(
        &self,
        id: SessionId,
        reason: RevokeReason,
        now: DateTime<Utc>,
    ) -> Result<bool, PortError> {
        let revoked = self.sessions.revoke(id, reason, now).await?;
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
        let revoked = self.sessions.revoke_all(user, reason, now).await?;
        self.announce(revoked.clone(), reason).await;
        Ok(revoked)
    }

    /// Announces revoked sessions (nothing for none).
    pub(crate) async fn announce(&self, sessions: Vec<SessionId>, reason: RevokeReason) {
        if !sessions.is_empty() {
            self.events
                .publish(Event::SessionsRevoked { sessions, reason })
                .await;
        }
    }

    /// Publishes any event on the bus (notifications).
    pub(crate) async fn publish(&self, event: Event) {
        self.events.publish(event).await;
    }
}

/// Signs token pairs and opens sessions: shared by every area that logs a
/// user in ([`crate::identity::accounts::Accounts`], [`crate::social::login::Social`]) or
/// continues a session ([`crate::sessions::tokens::Sessions`]), so they cannot
/// disagree on lifetimes, claims or the session policy. Cheap to clone.
///
/// ```
/// use std::sync::Arc;
///
/// use auth_domain::sessions::issuer::{SessionIssuer, SessionRevoker};
/// use auth_domain::testing::{test_core, FakeTokens, MemSessions, MemUsers, RecordingBus};
/// use auth_domain::AuthPolicy;
///
/// let revoker = SessionRevoker::new(Arc::new(MemSessions::default()), Arc::new(RecordingBus::default()));
/// let issuer = SessionIssuer::new(
///     test_core(AuthPolicy::default()),
///     Arc::new(FakeTokens),
///     Arc::new(MemUsers::default()),
///     revoker,
/// );
/// # let _ = issuer;
/// ```
#[derive(Clone)]
pub struct SessionIssuer {
    pub(crate) core: ServiceCore,
    pub(crate) tokens: Arc<dyn TokenCodec>,
    users: Arc<dyn UserRepository>,
    pub(crate) revoker: SessionRevoker,
}

impl std::fmt::Debug for SessionIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionIssuer { .. }")
    }
}

impl SessionIssuer {
    /// The issuer: tokens signed with `tokens` for the policy's lifetimes
    /// (`core`), sessions stored and revoked through `revoker`, accounts
    /// re-read from `users` when a session is opened.
    pub fn new(
        core: ServiceCore,
        tokens: Arc<dyn TokenCodec>,
        users: Arc<dyn UserRepository>,
        revoker: SessionRevoker,
    ) -> Self {
        Self {
            core,
            tokens,
            users,
            revoker,
        }
    }

    /// The session store.
    pub(crate) fn sessions(&self) -> &Arc<dyn SessionStore> {
        &self.revoker.sessions
    }

    /// Signs an access token for `(user, session)` at `now`.
    pub(crate) fn sign_access(
        &self,
        sub: Uuid,
        sid: SessionId,
        sign_in: &SignIn,
        now: DateTime<Utc>,
    ) -> Result<IssuedAccess, PortError> {
        let expires_at = now + self.core.policy().access_ttl;
        let claims = AccessClaims {
            sub,
            sid,
            iat: now.timestamp(),
            exp: expires_at.timestamp(),
            sign_in: sign_in.clone(),
        };
        let token = self.tokens.sign_access(&claims)?;
        Ok(IssuedAccess {
            token,
            claims,
            issued_at: now,
            expires_at,
        })
    }

    /// Signs a new refresh token for `(user, session)` and returns it with
    /// the record to store.
    pub(crate) fn sign_refresh(
        &self,
        sub: Uuid,
        sid: SessionId,
        sign_in: &SignIn,
        now: DateTime<Utc>,
    ) -> Result<(IssuedRefresh, RefreshRecord), PortError> {
        let expires_at = now + self.core.policy().refresh_ttl;
        let jti = self.core.random_token_id();
        let record = RefreshRecord {
            hash: RefreshTokenHash::of_jti(&jti),
            session_id: sid,
            issued_at: now,
            expires_at,
            spent_at: None,
        };
        let claims = RefreshClaims {
            sub,
            sid,
            jti,
            iat: now.timestamp(),
            exp: expires_at.timestamp(),
            sign_in: sign_in.clone(),
        };
        let token = self.tokens.sign_refresh(&claims)?;
        Ok((IssuedRefresh { token, expires_at }, record))
    }

    /// Signs an access and a refresh token for `(user, session)` at `now`;
    /// returns them with the refresh record to store.
    pub(crate) fn sign_pair(
        &self,
        sub: Uuid,
        sid: SessionId,
        sign_in: &SignIn,
        now: DateTime<Utc>,
    ) -> Result<(TokenPair, RefreshRecord), PortError> {
        let access = self.sign_access(sub, sid, sign_in, now)?;
        let (refresh, record) = self.sign_refresh(sub, sid, sign_in, now)?;
        Ok((TokenPair { access, refresh }, record))
    }

    /// Creates a session for `user`, who signed in by `amr` (RFC 8176
    /// values, recorded on the session and in its tokens with the time), and
    /// signs its first token pair, unless the account is disabled.
    ///
    /// The account is read again after the session is stored: an
    /// administrator's disable stores the flag before revoking the user's
    /// sessions, so a session stored before that revocation is revoked by
    /// it, and one stored after it finds the flag here and is revoked at
    /// once. Either way no session of a disabled account survives.
    pub(crate) async fn open_session(
        &self,
        user: &User,
        caller: &Caller,
        amr: Vec<String>,
    ) -> Result<TokenPair, OpenError> {
        if user.disabled_at.is_some() {
            return Err(OpenError::Disabled);
        }
        let now = self.core.now();
        let session = Session {
            id: SessionId::from_uuid(self.core.random_uuid()),
            user_id: user.id,
            client: caller.contract.to_owned(),
            created_at: now,
            revoked_at: None,
            revoke_reason: None,
            ip: caller.ip,
            user_agent: caller
                .user_agent
                .as_deref()
                .map(|ua| ua.chars().filter(|c| !c.is_control()).take(256).collect()),
            last_refreshed_at: None,
            amr,
        };
        let sign_in = SignIn {
            amr: session.amr.clone(),
            auth_time: Some(now.timestamp()),
        };
        let (pair, record) = self.sign_pair(user.uuid, session.id, &sign_in, now)?;
        self.sessions().create(&session, &record).await?;
        let disabled_meanwhile = self
            .users
            .by_id(user.id)
            .await?
            .is_none_or(|u| u.disabled_at.is_some());
        if disabled_meanwhile {
            self.revoker
                .revoke_and_announce(session.id, RevokeReason::AccountDisabled, now)
                .await?;
            return Err(OpenError::Disabled);
        }
        self.enforce_session_policy(user, &session).await?;
        Ok(pair)
    }

    /// Applies the session policy after `new` was opened for `user`: in a
    /// single-session contract every older live session ends; otherwise the
    /// oldest are evicted beyond the per-user limit. Only sessions created no
    /// later than `new` are touched, so of two racing logins the newer wins.
    async fn enforce_session_policy(&self, user: &User, new: &Session) -> Result<(), PortError> {
        let policy = &self.core.policy().sessions;
        let single = policy.single_session_clients.iter().any(|c| c == &new.client);
        if !single && policy.max_sessions_per_user.is_none() {
            return Ok(());
        }
        let older: Vec<Session> = self
            .sessions()
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
                .sessions()
                .revoke(session.id, RevokeReason::NewLogin, new.created_at)
                .await?
            {
                evicted.push(session.id);
            }
        }
        self.revoker.announce(evicted, RevokeReason::NewLogin).await;
        Ok(())
    }
}

/// Why a session could not be opened for a user who proved who they are.
#[derive(Debug)]
pub(crate) enum OpenError {
    /// The account is disabled (or was disabled while the session was
    /// being stored: it is revoked again).
    Disabled,
    /// Infrastructure failure.
    Internal(PortError),
}

impl From<PortError> for OpenError {
    fn from(e: PortError) -> Self {
        Self::Internal(e)
    }
}
