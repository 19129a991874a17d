//! Password login.

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
    /// Infrastructure failure.
    #[error(transparent)]
    Internal(#[from] PortError),
}

impl AuthService {
    /// Logs in with an identifier and a password, creating a session.
    ///
    /// An identifier that cannot be valid is an unknown user. Exactly one
    /// password verification is spent whether or not the user exists.
    ///
    /// # Errors
    /// [`LoginError`].
    pub async fn login(
        &self,
        identifier: Identifier,
        password: &str,
        meta: SessionMeta,
    ) -> Result<Login, LoginError> {
        let user = self.find_by_identifier(&identifier).await?;
        let verified = self
            .ports
            .hasher
            .verify(password, user.as_ref().and_then(|u| u.password_hash.as_ref()))
            .await?;
        let user = match (user, verified) {
            (None, _) => return Err(LoginError::UnknownUser),
            (Some(_), false) => return Err(LoginError::WrongPassword),
            (Some(user), true) => user,
        };
        let tokens = self.open_session(&user, meta).await?;
        Ok(Login { user, tokens })
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
