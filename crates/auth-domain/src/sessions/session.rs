//! Sessions and the refresh tokens that keep them alive.
//!
//! Every login creates a [`Session`]. Tokens carry its id (`sid`), so logout,
//! refresh and revocation from any contract act on the same sessions. The
//! store keeps, per refresh token, only the SHA-256 of its random id
//! ([`RefreshTokenHash`]), never the token.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use std::fmt;
use uuid::Uuid;

use crate::identity::user::UserId;

/// Identifies a session; the `sid` claim of every token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(transparent))]
pub struct SessionId(Uuid);

impl SessionId {
    /// Wraps a UUID.
    pub fn from_uuid(id: Uuid) -> Self {
        Self(id)
    }
    /// The UUID.
    pub fn as_uuid(&self) -> Uuid {
        self.0
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl From<Uuid> for SessionId {
    fn from(id: Uuid) -> Self {
        Self(id)
    }
}

impl From<SessionId> for Uuid {
    fn from(id: SessionId) -> Self {
        id.0
    }
}

impl std::str::FromStr for SessionId {
    type Err = uuid::Error;
    /// Parses the UUID text (`"67e55044-10b1-426f-9247-bb680e5fe0c8"`).
    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(raw).map(Self)
    }
}

/// Why a session was revoked. Stored, and later shown in the audit trail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevokeReason {
    /// The user logged out.
    Logout,
    /// The account was withdrawn.
    Withdrawal,
    /// The password was reset.
    PasswordReset,
    /// A spent refresh token was presented again.
    RefreshReuse,
    /// A newer login replaced this session (single-session policy).
    NewLogin,
    /// An administrator ended it (`DELETE /internal/sessions/{sid}`, …).
    Admin,
    /// An administrator disabled the account.
    AccountDisabled,
}

impl RevokeReason {
    /// Stable lowercase name, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Logout => "logout",
            Self::Withdrawal => "withdrawal",
            Self::PasswordReset => "password_reset",
            Self::RefreshReuse => "refresh_reuse",
            Self::NewLogin => "new_login",
            Self::Admin => "admin",
            Self::AccountDisabled => "account_disabled",
        }
    }

    /// Parses a stored name.
    pub fn parse(raw: &str) -> Option<Self> {
        [
            Self::Logout,
            Self::Withdrawal,
            Self::PasswordReset,
            Self::RefreshReuse,
            Self::NewLogin,
            Self::Admin,
            Self::AccountDisabled,
        ]
        .into_iter()
        .find(|r| r.as_str() == raw)
    }
}

/// A login session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The `sid`.
    pub id: SessionId,
    /// Whose session it is.
    pub user_id: UserId,
    /// Which contract created it (`standard`, `session`, `picsel`, `account`, ...).
    pub client: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<DateTime<Utc>>,
    /// Why it was revoked.
    pub revoke_reason: Option<RevokeReason>,
    /// The client IP of the login that opened it, when known.
    pub ip: Option<std::net::IpAddr>,
    /// The `User-Agent` of that login, when known (at most 256 characters).
    pub user_agent: Option<String>,
    /// When a refresh last used it (a new access token), if ever.
    pub last_refreshed_at: Option<DateTime<Utc>>,
    /// How the user signed in (RFC 8176 values; empty for sessions from
    /// before it was recorded). The sign-in time is `created_at`.
    pub amr: Vec<String>,
}

impl Session {
    /// Whether the session still accepts refresh tokens.
    pub fn is_live(&self) -> bool {
        self.revoked_at.is_none()
    }
}

/// The SHA-256 (hex) of a refresh token's random id (`jti`).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct RefreshTokenHash(String);

impl RefreshTokenHash {
    /// Hashes a refresh token id.
    pub fn of_jti(jti: &str) -> Self {
        Self(hex::encode(Sha256::digest(jti.as_bytes())))
    }

    /// Wraps a hash read from storage.
    pub fn from_stored(hex: String) -> Self {
        Self(hex)
    }

    /// The hex digest.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for RefreshTokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A prefix is enough to correlate log lines and reveals nothing usable.
        write!(f, "RefreshTokenHash({}…)", self.0.get(..8).unwrap_or(""))
    }
}

/// One refresh token issued for a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshRecord {
    /// Hash of the token's `jti`.
    pub hash: RefreshTokenHash,
    /// The session it belongs to.
    pub session_id: SessionId,
    /// Issue time.
    pub issued_at: DateTime<Utc>,
    /// Expiry (the token's `exp`).
    pub expires_at: DateTime<Utc>,
    /// When it was exchanged for a newer token (rotation), if it was.
    pub spent_at: Option<DateTime<Utc>>,
}

/// What [`crate::sessions::ports::SessionStore::rotate`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RotateOutcome {
    /// The presented token was unspent and its session live: it is now spent
    /// and the next token is stored.
    Rotated,
    /// The presented token had already been spent at this time; nothing changed.
    AlreadySpent(DateTime<Utc>),
    /// The session is revoked; nothing changed.
    SessionRevoked,
    /// No such token is stored; nothing changed.
    Unknown,
}
