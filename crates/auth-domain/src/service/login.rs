//! Password login, and the throttling every password check goes through.

use std::net::IpAddr;

use chrono::{DateTime, TimeDelta, Utc};

use crate::audit::AuditKind;
use crate::error::PortError;
use crate::session::Session;
use crate::session::SessionId;
use crate::token::TokenPair;
use crate::user::{Email, LoginId, User};

use super::AuthService;

/// What the client logs in with.
#[derive(Debug, Clone)]
pub enum Identifier {
    /// A login id (`authId`, `username`, `userId`), as typed.
    LoginId(String),
    /// An email, as typed.
    Email(String),
}

/// Facts about the client that opened a session.
#[derive(Debug, Clone)]
pub struct SessionMeta {
    /// The contract the login came through (`standard`, `session`, ...).
    pub client: &'static str,
    /// The client's IP address (the socket peer, or the forwarded address
    /// from a trusted proxy), when known. Used for per-IP throttling.
    pub ip: Option<IpAddr>,
    /// The client's `User-Agent`, when known (for the audit trail only).
    pub user_agent: Option<String>,
}

/// A successful login.
#[derive(Debug, Clone)]
pub struct Login {
    /// Who logged in.
    pub user: User,
    /// The new session's tokens.
    pub tokens: TokenPair,
}

/// Why a login failed. Contracts that must not reveal whether an account
/// exists render both failure variants identically; the `account` contract's
/// document distinguishes them.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// No account has this identifier (one password verification was still
    /// spent, so timing does not tell).
    #[error("unknown user")]
    UnknownUser,
    /// The password does not match, or the account has no password.
    #[error("wrong password")]
    WrongPassword,
    /// Too many failed logins for this identifier or from this IP: refused
    /// without checking the password (whether or not the account exists).
    #[error("throttled")]
    Throttled {
        /// How long until a new attempt is accepted.
        retry_after: TimeDelta,
    },
    /// Infrastructure failure.
    #[error(transparent)]
    Internal(#[from] PortError),
}

impl AuthService {
    /// Logs in with an identifier and a password, creating a session.
    ///
    /// An identifier that cannot be valid is an unknown user. Exactly one
    /// password verification is spent whether or not the user exists,
    /// unless the identifier or the client IP is locked out: then none is.
    ///
    /// # Errors
    /// [`LoginError`].
    pub async fn login(
        &self,
        identifier: Identifier,
        password: &str,
        meta: SessionMeta,
    ) -> Result<Login, LoginError> {
        let keys = ThrottleKeys::new(&identifier, meta.ip);
        if let Some(retry_after) = self.throttle_check(&keys).await? {
            return Err(LoginError::Throttled { retry_after });
        }
        let user = self.find_by_identifier(&identifier).await?;
        let verified = self
            .ports
            .hasher
            .verify(password, user.as_ref().and_then(|u| u.password_hash.as_ref()))
            .await?;
        let user = match (user, verified) {
            (None, _) => {
                self.throttle_failure(&keys).await?;
                self.audit(AuditKind::LoginFailure, None, None, Some(&meta)).await;
                return Err(LoginError::UnknownUser);
            }
            (Some(user), false) => {
                self.throttle_failure(&keys).await?;
                self.audit(AuditKind::LoginFailure, Some(user.id), None, Some(&meta))
                    .await;
                return Err(LoginError::WrongPassword);
            }
            (Some(user), true) => user,
        };
        self.throttle_success(&keys).await?;
        let audit_meta = meta.clone();
        let tokens = self.open_session(&user, meta).await?;
        self.audit(
            AuditKind::LoginSuccess,
            Some(user.id),
            Some(tokens.access.claims.sid),
            Some(&audit_meta),
        )
        .await;
        Ok(Login { user, tokens })
    }

    /// How long `keys` are still locked out, if they are.
    pub(super) async fn throttle_check(&self, keys: &ThrottleKeys) -> Result<Option<TimeDelta>, PortError> {
        if !self.policy.throttle.enabled {
            return Ok(None);
        }
        let now = self.ports.clock.now();
        let all = keys.all();
        let until = self.ports.throttle.locked_until(&all, now).await?;
        Ok(until.and_then(|t| remaining(t, now)))
    }

    /// Counts one failed password check against the account key and the IP.
    pub(super) async fn throttle_failure(&self, keys: &ThrottleKeys) -> Result<(), PortError> {
        if !self.policy.throttle.enabled {
            return Ok(());
        }
        let now = self.ports.clock.now();
        self.ports
            .throttle
            .record_failure(&keys.account, &self.policy.throttle.account, now)
            .await?;
        if let Some(ip) = &keys.ip {
            self.ports
                .throttle
                .record_failure(ip, &self.policy.throttle.ip, now)
                .await?;
        }
        Ok(())
    }

    /// A successful password check resets the account key (not the IP: one
    /// known password must not buy unlimited guesses at other accounts).
    pub(super) async fn throttle_success(&self, keys: &ThrottleKeys) -> Result<(), PortError> {
        if !self.policy.throttle.enabled {
            return Ok(());
        }
        self.ports.throttle.reset(&keys.account).await
    }

    pub(super) async fn find_by_identifier(
        &self,
        identifier: &Identifier,
    ) -> Result<Option<User>, PortError> {
        match identifier {
            Identifier::LoginId(raw) => match LoginId::parse(raw) {
                Ok(id) => self.ports.users.by_login_id(&id).await,
                Err(_) => Ok(None),
            },
            Identifier::Email(raw) => match Email::parse(raw) {
                Ok(email) => self.ports.users.by_email(&email).await,
                Err(_) => Ok(None),
            },
        }
    }

    /// Creates a session for `user` and signs its first token pair.
    pub(super) async fn open_session(&self, user: &User, meta: SessionMeta) -> Result<TokenPair, PortError> {
        let now = self.ports.clock.now();
        let session = Session {
            id: SessionId::from_uuid(self.random_uuid()),
            user_id: user.id,
            client: meta.client.to_owned(),
            created_at: now,
            revoked_at: None,
            revoke_reason: None,
        };
        let (pair, record) = self.sign_pair(user.uuid, session.id, now)?;
        self.ports.sessions.create(&session, &record).await?;
        self.enforce_session_policy(user, &session).await?;
        Ok(pair)
    }
}

/// The throttle keys of one password check.
#[derive(Debug, Clone)]
pub(super) struct ThrottleKeys {
    /// `acct:` and the SHA-256 (hex) of `login:<id>` or `email:<email>`,
    /// normalized when valid. Hashed: what was typed (an unknown name, a
    /// password typed into the wrong field, a NUL) is never stored.
    pub(super) account: String,
    /// `ip:<addr>`, when the client IP is known.
    pub(super) ip: Option<String>,
}

impl ThrottleKeys {
    /// The keys for an identifier as typed (normalized the way lookups are,
    /// whether or not an account has it) and a client IP.
    pub(super) fn new(identifier: &Identifier, ip: Option<IpAddr>) -> Self {
        use sha2::Digest;
        let typed = match identifier {
            Identifier::LoginId(raw) => {
                let norm = LoginId::parse(raw)
                    .map_or_else(|_| raw.trim().to_lowercase(), |id| id.as_str().to_owned());
                format!("login:{norm}")
            }
            Identifier::Email(raw) => {
                let norm =
                    Email::parse(raw).map_or_else(|_| raw.trim().to_lowercase(), |e| e.as_str().to_owned());
                format!("email:{norm}")
            }
        };
        Self {
            account: format!("acct:{}", hex::encode(sha2::Sha256::digest(typed.as_bytes()))),
            ip: ip.map(|ip| format!("ip:{ip}")),
        }
    }

    fn all(&self) -> Vec<String> {
        let mut all = vec![self.account.clone()];
        all.extend(self.ip.clone());
        all
    }
}

/// The time from `now` until `until`, if positive.
fn remaining(until: DateTime<Utc>, now: DateTime<Utc>) -> Option<TimeDelta> {
    let left = until - now;
    (left > TimeDelta::zero()).then_some(left)
}
