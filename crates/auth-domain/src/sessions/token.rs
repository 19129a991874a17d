//! Token claims and what the service hands to clients.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::sessions::session::SessionId;

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
    /// How the session's user signed in (`amr`, `auth_time`).
    pub sign_in: SignIn,
}

/// How the user of a session signed in: OpenID Connect's `amr` (RFC 8176
/// method references: `pwd`, `otp`, `hwk`, `swk`, `mfa`) and `auth_time`
/// (seconds since the epoch). Copied into every token minted from the
/// session; empty for sessions from before it was recorded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct SignIn {
    /// The methods, in the order they were used.
    pub amr: Vec<String>,
    /// When the user signed in.
    pub auth_time: Option<i64>,
}

impl SignIn {
    /// Whether more than one factor was used (`amr` contains `mfa`).
    pub fn is_multi_factor(&self) -> bool {
        self.amr.iter().any(|m| m == "mfa")
    }
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
    /// How the session's user signed in, carried so that a refresh mints
    /// access tokens that say it without reading the session.
    pub sign_in: SignIn,
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

/// What a token is for: its `typ` claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "lowercase")
)]
pub enum TokenKind {
    /// `"access"`: presented to APIs; verifiable by other services with
    /// the published keys.
    Access,
    /// `"refresh"`: presented only to this service, to rotate a session.
    Refresh,
}

/// The JSON payload of one of our JWTs exactly as it is signed: what another
/// service sees after verifying an access token, and what the codec reads
/// back. With the `serde` feature it (de)serializes to and from the wire
/// form (`iss`, `aud` and `jti` left out when absent).
///
/// Access tokens carry `iss` and `aud` (unless signed in the legacy HS256
/// mode) and no `jti`; refresh tokens carry `jti` and neither `iss` nor
/// `aud`.
///
/// ```
/// use auth_domain::sessions::token::{AccessClaims, JwtClaims, TokenKind};
/// use auth_domain::sessions::session::SessionId;
///
/// let claims = AccessClaims { sub: uuid::Uuid::nil(), sid: SessionId::from_uuid(uuid::Uuid::nil()), iat: 1, exp: 2, sign_in: Default::default() };
/// let wire = JwtClaims::access(&claims, Some("https://auth.example.com".into()), Some("my-api".into()));
/// assert_eq!(wire.typ, TokenKind::Access);
/// assert_eq!(wire.access_claims(), Some(claims));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct JwtClaims {
    /// The issuer (the service's public URL), on access tokens.
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub iss: Option<String>,
    /// The audience (`AUTH_TOKEN_AUDIENCE`), on access tokens.
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub aud: Option<String>,
    /// The user's UUID.
    pub sub: uuid::Uuid,
    /// The session's UUID.
    pub sid: uuid::Uuid,
    /// Issued at, seconds since the epoch.
    pub iat: i64,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
    /// Access or refresh.
    pub typ: TokenKind,
    /// The refresh token's random id (refresh tokens only).
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub jti: Option<String>,
    /// How the user signed in (RFC 8176), when recorded.
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Vec::is_empty"))]
    pub amr: Vec<String>,
    /// When the user signed in, when recorded.
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub auth_time: Option<i64>,
}

impl JwtClaims {
    /// The payload of an access token with these claims.
    pub fn access(claims: &AccessClaims, iss: Option<String>, aud: Option<String>) -> Self {
        Self {
            iss,
            aud,
            sub: claims.sub,
            sid: claims.sid.as_uuid(),
            iat: claims.iat,
            exp: claims.exp,
            typ: TokenKind::Access,
            jti: None,
            amr: claims.sign_in.amr.clone(),
            auth_time: claims.sign_in.auth_time,
        }
    }

    /// The payload of a refresh token with these claims.
    pub fn refresh(claims: &RefreshClaims) -> Self {
        Self {
            iss: None,
            aud: None,
            sub: claims.sub,
            sid: claims.sid.as_uuid(),
            iat: claims.iat,
            exp: claims.exp,
            typ: TokenKind::Refresh,
            jti: Some(claims.jti.clone()),
            amr: claims.sign_in.amr.clone(),
            auth_time: claims.sign_in.auth_time,
        }
    }

    /// The access claims, when this is an access token's payload (no `jti`).
    pub fn access_claims(&self) -> Option<AccessClaims> {
        (self.typ == TokenKind::Access && self.jti.is_none()).then(|| AccessClaims {
            sub: self.sub,
            sid: SessionId::from_uuid(self.sid),
            iat: self.iat,
            exp: self.exp,
            sign_in: self.sign_in(),
        })
    }

    /// The `amr` and `auth_time` claims.
    pub fn sign_in(&self) -> SignIn {
        SignIn {
            amr: self.amr.clone(),
            auth_time: self.auth_time,
        }
    }

    /// The refresh claims, when this is a refresh token's payload (with a
    /// `jti`).
    pub fn refresh_claims(&self) -> Option<RefreshClaims> {
        match (&self.typ, &self.jti) {
            (TokenKind::Refresh, Some(jti)) => Some(RefreshClaims {
                sub: self.sub,
                sid: SessionId::from_uuid(self.sid),
                jti: jti.clone(),
                iat: self.iat,
                exp: self.exp,
                sign_in: self.sign_in(),
            }),
            _ => None,
        }
    }
}
