//! Token claims and what the service hands to clients.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::session::SessionId;

/// Claims of an access token (`typ` = `access`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct AccessClaims {
    /// The user's UUID (`sub`).
    pub sub: Uuid,
    /// The session (`sid`).
    pub sid: SessionId,
    /// Issued at, seconds since the epoch.
    pub iat: i64,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
}

/// Claims of a refresh token (`typ` = `refresh`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct RefreshClaims {
    /// The user's UUID (`sub`).
    pub sub: Uuid,
    /// The session (`sid`).
    pub sid: SessionId,
    /// Random id; the store keeps only its hash.
    pub jti: String,
    /// Issued at, seconds since the epoch.
    pub iat: i64,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
}

/// Why a presented token was refused. Deliberately coarse: clients learn
/// only that the token is unusable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not a token of ours: malformed, wrong algorithm, bad signature, wrong
    /// kind (a refresh token used as an access token or the reverse).
    #[error("invalid token")]
    Invalid,
    /// Well-formed and signed by us, but past its `exp`.
    #[error("expired token")]
    Expired,
}

/// A freshly signed access token.
#[derive(Debug, Clone)]
pub struct IssuedAccess {
    /// The JWT.
    pub token: String,
    /// Its claims.
    pub claims: AccessClaims,
    /// Issue time.
    pub issued_at: DateTime<Utc>,
    /// Expiry.
    pub expires_at: DateTime<Utc>,
}

/// A freshly signed refresh token.
#[derive(Debug, Clone)]
pub struct IssuedRefresh {
    /// The JWT.
    pub token: String,
    /// Expiry.
    pub expires_at: DateTime<Utc>,
}

/// What a login or a reissue hands to the client.
#[derive(Debug, Clone)]
pub struct TokenPair {
    /// The access token.
    pub access: IssuedAccess,
    /// The refresh token.
    pub refresh: IssuedRefresh,
}
