//! What the OpenID provider needs from the outside world: client storage,
//! authorization codes, grants and consents, and ID-token / RFC 9068
//! access-token signing.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::error::PortError;
use crate::identity::user::UserId;
use crate::oidc::client::{IdTokenAlg, OAuthClient};
use crate::sessions::session::SessionId;
use crate::sessions::token::TokenError;

/// Registered clients.
#[async_trait]
pub trait OAuthClientStore: Send + Sync {
    /// Stores a new client (its id is random and new).
    ///
    /// # Errors
    /// [`PortError`].
    async fn create(&self, client: &OAuthClient) -> Result<(), PortError>;
    /// One client.
    ///
    /// # Errors
    /// [`PortError`].
    async fn get(&self, client_id: &str) -> Result<Option<OAuthClient>, PortError>;
    /// Every client, oldest first.
    ///
    /// # Errors
    /// [`PortError`].
    async fn list(&self) -> Result<Vec<OAuthClient>, PortError>;
    /// Replaces a client's settings (all but its id, secret and creation
    /// time); `false` when it does not exist.
    ///
    /// # Errors
    /// [`PortError`].
    async fn update(&self, client: &OAuthClient) -> Result<bool, PortError>;
    /// Replaces its secret hash; `false` when it does not exist.
    ///
    /// # Errors
    /// [`PortError`].
    async fn set_secret(
        &self,
        client_id: &str,
        secret_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, PortError>;
    /// Deletes a client with its codes and consents; `false` when it did
    /// not exist.
    ///
    /// # Errors
    /// [`PortError`].
    async fn delete(&self, client_id: &str) -> Result<bool, PortError>;
}

/// An authorization code as stored (the code itself only as a hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCode {
    /// SHA-256 (hex) of the code.
    pub code_hash: String,
    /// The client it was issued to.
    pub client_id: String,
    /// The user who signed in.
    pub user_id: UserId,
    /// The browser session it was issued in.
    pub browser_session: SessionId,
    /// The `redirect_uri` of the request (the exchange must repeat it).
    pub redirect_uri: String,
    /// Granted scopes, space-separated.
    pub scope: String,
    /// The request's `nonce`, if any.
    pub nonce: Option<String>,
    /// The PKCE S256 challenge.
    pub code_challenge: String,
    /// When the user authenticated.
    pub auth_time: DateTime<Utc>,
    /// How (`pwd`, …), space-separated.
    pub amr: String,
    /// Issue time.
    pub created_at: DateTime<Utc>,
    /// Expiry.
    pub expires_at: DateTime<Utc>,
}

/// What taking a code found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeTake {
    /// It was unused and unexpired: now used.
    Taken(Box<StoredCode>),
    /// It had been used: now marked replayed; the grant its first exchange
    /// opened, if any yet.
    Replayed(Option<SessionId>),
    /// No such code, or it expired.
    Unknown,
}

/// A grant: the session an authorization-code exchange opened for one
/// client (its tokens carry that `sid`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The grant's own session.
    pub session_id: SessionId,
    /// The client.
    pub client_id: String,
    /// The browser session it came from.
    pub browser_session: Option<SessionId>,
    /// Granted scopes, space-separated.
    pub scope: String,
    /// When the user authenticated.
    pub auth_time: DateTime<Utc>,
    /// How, space-separated.
    pub amr: String,
}

/// Codes, grants and remembered consents.
#[async_trait]
pub trait OAuthGrantStore: Send + Sync {
    /// Stores a new code.
    ///
    /// # Errors
    /// [`PortError`].
    async fn put_code(&self, code: &StoredCode) -> Result<(), PortError>;
    /// An unexpired code (used or not).
    ///
    /// # Errors
    /// [`PortError`].
    async fn code(&self, code_hash: &str, now: DateTime<Utc>) -> Result<Option<StoredCode>, PortError>;
    /// Takes a code, atomically: of any number of concurrent takes at most
    /// one gets [`CodeTake::Taken`]; a take of a used code marks it
    /// replayed and answers the grant its exchange opened, once bound.
    ///
    /// # Errors
    /// [`PortError`].
    async fn take_code(&self, code_hash: &str, now: DateTime<Utc>) -> Result<CodeTake, PortError>;
    /// Records the grant a taken code's exchange opened.
    ///
    /// # Errors
    /// [`PortError`].
    async fn bind_code(&self, code_hash: &str, grant: SessionId) -> Result<(), PortError>;
    /// Whether the code was replayed.
    ///
    /// # Errors
    /// [`PortError`].
    async fn code_replayed(&self, code_hash: &str) -> Result<bool, PortError>;
    /// Stores a grant.
    ///
    /// # Errors
    /// [`PortError`].
    async fn put_grant(&self, grant: &Grant) -> Result<(), PortError>;
    /// A grant by its session.
    ///
    /// # Errors
    /// [`PortError`].
    async fn grant(&self, session: SessionId) -> Result<Option<Grant>, PortError>;
    /// The grants opened from a browser session.
    ///
    /// # Errors
    /// [`PortError`].
    async fn grants_of_browser(&self, browser: SessionId) -> Result<Vec<Grant>, PortError>;
    /// The scopes the user has allowed the client (space-separated).
    ///
    /// # Errors
    /// [`PortError`].
    async fn consent(&self, user: UserId, client_id: &str) -> Result<Option<String>, PortError>;
    /// Remembers (replaces) the scopes the user allowed the client.
    ///
    /// # Errors
    /// [`PortError`].
    async fn put_consent(
        &self,
        user: UserId,
        client_id: &str,
        scope: &str,
        now: DateTime<Utc>,
    ) -> Result<(), PortError>;
    /// Deletes codes that expired before `before`; returns how many.
    ///
    /// # Errors
    /// [`PortError`].
    async fn purge_codes(&self, before: DateTime<Utc>) -> Result<u64, PortError>;
}

/// Claims of an ID token (OpenID Connect Core §2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdTokenClaims {
    /// The user's UUID.
    pub sub: Uuid,
    /// The client id (`aud` and `azp`).
    pub client_id: String,
    /// Issue time, seconds.
    pub iat: i64,
    /// Expiry, seconds.
    pub exp: i64,
    /// When the user authenticated, seconds.
    pub auth_time: i64,
    /// The request's nonce.
    pub nonce: Option<String>,
    /// The session (`sid`).
    pub sid: SessionId,
    /// `at_hash` of the access token issued with it.
    pub at_hash: Option<String>,
    /// Authentication methods (RFC 8176).
    pub amr: Vec<String>,
    /// `profile` claims: `name`, `preferred_username`, `picture`.
    pub profile: Option<ProfileClaims>,
    /// `email` claims: `email`, `email_verified`.
    pub email: Option<(String, bool)>,
}

/// The `profile` scope's claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileClaims {
    /// `name`.
    pub name: String,
    /// `preferred_username` (the login id), if any.
    pub preferred_username: Option<String>,
    /// `picture`, if any.
    pub picture: Option<String>,
}

/// Claims of an RFC 9068 access token issued to a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientAccessClaims {
    /// The user's UUID, or the client id for `client_credentials`.
    pub sub: String,
    /// The client.
    pub client_id: String,
    /// Space-separated scopes.
    pub scope: String,
    /// The grant's session (none for `client_credentials`).
    pub sid: Option<SessionId>,
    /// When the user authenticated, if a user did.
    pub auth_time: Option<i64>,
    /// Random id.
    pub jti: String,
    /// Issue time, seconds.
    pub iat: i64,
    /// Expiry, seconds.
    pub exp: i64,
}

/// Claims of a logout token (Back-Channel Logout 1.0 §2.4): `iss`, `aud`,
/// `iat`, `exp`, `jti`, `sub`, `sid`, `events`; never a `nonce`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoutClaims {
    /// The client (`aud`).
    pub client_id: String,
    /// The user's UUID.
    pub sub: Uuid,
    /// The ended session.
    pub sid: SessionId,
    /// Issue time, seconds.
    pub iat: i64,
    /// Expiry, seconds.
    pub exp: i64,
    /// A fresh random id per token (a retried delivery is a new token).
    pub jti: String,
}

/// A SET (RFC 8417) with one CAEP `session-revoked` event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRevokedSet {
    /// The client (`aud`).
    pub client_id: String,
    /// The SET's id (the signal's, stable).
    pub jti: String,
    /// Issue time, seconds.
    pub iat: i64,
    /// The user's UUID.
    pub sub: Uuid,
    /// The ended session.
    pub sid: SessionId,
    /// When it ended, seconds (`event_timestamp`).
    pub event_timestamp: i64,
    /// CAEP `initiating_entity`: `user`, `admin`, `policy` or `system`.
    pub initiating_entity: &'static str,
    /// Why (`reason_admin.en`): the stored [`RevokeReason`] name.
    pub reason: &'static str,
}

/// Signs and verifies the provider's tokens.
pub trait OidcSigner: Send + Sync {
    /// The issuer (`iss`).
    fn issuer(&self) -> &str;
    /// Signs an ID token with `alg`.
    ///
    /// # Errors
    /// [`PortError`].
    fn sign_id_token(&self, alg: IdTokenAlg, claims: &IdTokenClaims) -> Result<String, PortError>;
    /// Checks an ID token this provider issued (an `id_token_hint`, which
    /// may have expired); returns its `sub`, `aud` and `sid`.
    ///
    /// # Errors
    /// [`TokenError::Invalid`].
    fn verify_id_token_hint(
        &self,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<(String, String, Option<String>), TokenError>;
    /// Signs an RFC 9068 access token.
    ///
    /// # Errors
    /// [`PortError`].
    fn sign_client_access(&self, claims: &ClientAccessClaims) -> Result<String, PortError>;
    /// Verifies an RFC 9068 access token of ours (signature, `typ`,
    /// issuer, expiry).
    ///
    /// # Errors
    /// [`TokenError`].
    fn verify_client_access(&self, token: &str, now: DateTime<Utc>)
    -> Result<ClientAccessClaims, TokenError>;
    /// Signs a logout token (Back-Channel Logout 1.0 §2.4: header `typ`
    /// `logout+jwt`) with `alg`, the client's ID-token algorithm.
    ///
    /// # Errors
    /// [`PortError`].
    fn sign_logout_token(&self, alg: IdTokenAlg, claims: &LogoutClaims) -> Result<String, PortError>;
    /// Signs a Security Event Token (RFC 8417: header `typ`
    /// `secevent+jwt`) carrying one CAEP `session-revoked` event, with
    /// `alg`.
    ///
    /// # Errors
    /// [`PortError`].
    fn sign_session_revoked(&self, alg: IdTokenAlg, set: &SessionRevokedSet) -> Result<String, PortError>;
}
