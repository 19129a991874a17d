//! The use cases. [`AuthService`] holds the ports and exposes one method
//! per use case; each returns its own error enum. Handlers parse a request,
//! call one method, and render the result in their contract's envelope.
//!
//! The use cases live in their areas ([`crate::identity`],
//! [`crate::sessions`], [`crate::verification`], [`crate::social`],
//! [`crate::chat`], [`crate::import`], [`crate::admin`]); their types are
//! re-exported here.

pub use crate::admin::{AccountChange, AdminError, MAX_USER_PAGE, MAX_USER_QUERY_CHARS, UserPage};
pub use crate::caller::Caller;
pub use crate::chat::use_cases::{
    ChatAuthError, ChatIdentity, ChatLogin, ChatLoginError, ChatPorts, ChatProfileInput, CreateAppError,
};
pub use crate::identity::account::{SignUp, SignUpError, WithdrawError};
pub use crate::identity::login::{Identifier, Login, LoginError};
pub use crate::import::use_cases::{ImportOptions, ImportRun, UserView};
pub use crate::sessions::status::{EndReason, LiveSession, LiveSessionError, NotifyError, SessionStatus};
pub use crate::sessions::tokens::{LogoutError, RefreshError, ReissueError};
pub use crate::social::login::{
    FlowOrigin, ProviderAnswer, SocialLoginError, SocialPorts, SocialStart, SocialStartError,
};
pub use crate::verification::codes::{AccountRef, ResetError, SendCodeError};

use std::sync::Arc;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::error::PortError;
use crate::policy::AuthPolicy;
use crate::ports::{
    AuditLog, Background, Clock, CodeStore, EventBus, LoginThrottle, Mailer, PasswordHasher, Random,
    SessionStore, TokenCodec, UserRepository,
};
use crate::session::{RefreshRecord, RefreshTokenHash, SessionId};
use crate::token::{AccessClaims, IssuedAccess, IssuedRefresh, RefreshClaims, TokenError, TokenPair};

/// The adapters an [`AuthService`] works through.
#[derive(Clone)]
pub struct Ports {
    /// User storage.
    pub users: Arc<dyn UserRepository>,
    /// Session and refresh-token storage.
    pub sessions: Arc<dyn SessionStore>,
    /// Password hashing.
    pub hasher: Arc<dyn PasswordHasher>,
    /// Token signing and verification.
    pub tokens: Arc<dyn TokenCodec>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Randomness.
    pub random: Arc<dyn Random>,
    /// Verification-code storage.
    pub codes: Arc<dyn CodeStore>,
    /// Outgoing mail.
    pub mailer: Arc<dyn Mailer>,
    /// Announcements to connected devices.
    pub events: Arc<dyn EventBus>,
    /// Social login: providers, identity links, pending flows.
    pub social: SocialPorts,
    /// The `chat` contract: applications, their tokens, profiles.
    pub chat: ChatPorts,
    /// Failed-login counters per account key and client IP.
    pub throttle: Arc<dyn LoginThrottle>,
    /// The audit trail (best effort).
    pub audit: Arc<dyn AuditLog>,
    /// Work that must not delay an answer (password upgrades on login).
    pub background: Arc<dyn Background>,
}

impl std::fmt::Debug for Ports {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Ports { .. }")
    }
}

/// The identity core's use cases. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AuthService {
    pub(crate) ports: Ports,
    pub(crate) policy: Arc<AuthPolicy>,
}

impl AuthService {
    /// Builds the service from its adapters and policy.
    pub fn new(ports: Ports, policy: AuthPolicy) -> Self {
        Self {
            ports,
            policy: Arc::new(policy),
        }
    }

    /// The policy in force.
    pub fn policy(&self) -> &AuthPolicy {
        &self.policy
    }

    /// Verifies an access token statelessly (signature, kind, expiry) and
    /// returns its claims. Costs no storage access.
    ///
    /// # Errors
    /// [`TokenError`] when the token is unusable.
    pub fn authenticate(&self, access_token: &str) -> Result<AccessClaims, TokenError> {
        self.ports
            .tokens
            .verify_access(access_token, self.ports.clock.now(), false)
    }

    /// The latest audit events, newest first, of one user or of everyone
    /// (`limit` at most 1000).
    ///
    /// # Errors
    /// [`PortError`] on infrastructure failure.
    pub async fn audit_trail(
        &self,
        user: Option<crate::user::UserId>,
        limit: u32,
    ) -> Result<Vec<crate::audit::AuditEvent>, PortError> {
        self.ports.audit.recent(user, limit.clamp(1, 1000)).await
    }

    /// Records an audit event now, with the caller's IP and user agent
    /// (best effort).
    pub(crate) async fn audit(
        &self,
        kind: crate::audit::AuditKind,
        user_id: Option<crate::user::UserId>,
        session_id: Option<SessionId>,
        caller: &Caller,
    ) {
        self.record_audit(kind, user_id, session_id, caller, None).await;
    }

    /// Records an administrator's action on `target` (`user:7`, …) now
    /// (best effort).
    pub(crate) async fn audit_admin(
        &self,
        kind: crate::audit::AuditKind,
        user_id: Option<crate::user::UserId>,
        session_id: Option<SessionId>,
        target: String,
        caller: &Caller,
    ) {
        self.record_audit(kind, user_id, session_id, caller, Some(target))
            .await;
    }

    /// Writes one audit event stamped now, with the caller's IP and user
    /// agent (control characters dropped, at most 256 characters).
    async fn record_audit(
        &self,
        kind: crate::audit::AuditKind,
        user_id: Option<crate::user::UserId>,
        session_id: Option<SessionId>,
        caller: &Caller,
        target: Option<String>,
    ) {
        let event = crate::audit::AuditEvent {
            at: self.ports.clock.now(),
            kind,
            user_id,
            session_id,
            ip: caller.ip,
            user_agent: caller
                .user_agent
                .as_deref()
                .map(|ua| ua.chars().filter(|c| !c.is_control()).take(256).collect()),
            target,
        };
        self.ports.audit.record(event).await;
    }

    /// Records an audit event about a session, finding its user (best effort).
    pub(crate) async fn audit_session(&self, kind: crate::audit::AuditKind, sid: SessionId, caller: &Caller) {
        let user = self
            .ports
            .sessions
            .get(sid)
            .await
            .ok()
            .flatten()
            .map(|s| s.user_id);
        self.audit(kind, user, Some(sid), caller).await;
    }

    pub(crate) fn random_uuid(&self) -> Uuid {
        let mut bytes = [0u8; 16];
        self.ports.random.fill(&mut bytes);
        uuid::Builder::from_random_bytes(bytes).into_uuid()
    }

    pub(crate) fn random_token_id(&self) -> String {
        let mut bytes = [0u8; 32];
        self.ports.random.fill(&mut bytes);
        hex::encode(bytes)
    }

    /// Signs an access token for `(user, session)` at `now`.
    pub(crate) fn sign_access(
        &self,
        sub: Uuid,
        sid: SessionId,
        now: DateTime<Utc>,
    ) -> Result<IssuedAccess, PortError> {
        let expires_at = now + self.policy.access_ttl;
        let claims = AccessClaims {
            sub,
            sid,
            iat: now.timestamp(),
            exp: expires_at.timestamp(),
        };
        let token = self.ports.tokens.sign_access(&claims)?;
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
        now: DateTime<Utc>,
    ) -> Result<(IssuedRefresh, RefreshRecord), PortError> {
        let expires_at = now + self.policy.refresh_ttl;
        let jti = self.random_token_id();
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
        };
        let token = self.ports.tokens.sign_refresh(&claims)?;
        Ok((IssuedRefresh { token, expires_at }, record))
    }

    pub(crate) fn sign_pair(
        &self,
        sub: Uuid,
        sid: SessionId,
        now: DateTime<Utc>,
    ) -> Result<(TokenPair, RefreshRecord), PortError> {
        let access = self.sign_access(sub, sid, now)?;
        let (refresh, record) = self.sign_refresh(sub, sid, now)?;
        Ok((TokenPair { access, refresh }, record))
    }
}
