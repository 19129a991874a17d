//! Users and their validated fields.
//!
//! Fields are parsed once at the edge into newtypes with private contents;
//! everything inside the service trusts them.

use chrono::{DateTime, Utc};
use std::fmt;
use uuid::Uuid;

use crate::identity::password::PasswordHash;

/// The numeric user id (`"id": 1` in the `account` contract).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(transparent))]
pub struct UserId(i64);

impl UserId {
    /// Wraps a database id.
    pub fn new(id: i64) -> Self {
        Self(id)
    }
    /// The raw number.
    pub fn get(self) -> i64 {
        self.0
    }
}

impl From<i64> for UserId {
    fn from(id: i64) -> Self {
        Self(id)
    }
}

impl From<UserId> for i64 {
    fn from(id: UserId) -> Self {
        id.0
    }
}

impl std::str::FromStr for UserId {
    type Err = std::num::ParseIntError;
    /// Parses the decimal id (`"7"`).
    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        raw.parse().map(Self)
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Why a login id was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoginIdError {
    /// Shorter than [`LoginId::MIN_LEN`] or longer than [`LoginId::MAX_LEN`].
    #[error("login id must be {min} to {max} characters", min = LoginId::MIN_LEN, max = LoginId::MAX_LEN)]
    Length,
    /// Contains something other than ASCII letters and digits.
    #[error("login id may contain only letters and digits")]
    Charset,
}

/// The login id: `authId` (account), `username` (standard), `userId` (session).
///
/// Rules: 3 to 20 ASCII letters or digits, folded to lowercase, so that
/// every account is also reachable through the `session` contract, whose
/// document allows only lowercase letters and digits.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct LoginId(String);

impl LoginId {
    /// Shortest accepted login id.
    pub const MIN_LEN: usize = 3;
    /// Longest accepted login id.
    pub const MAX_LEN: usize = 20;

    /// Validates and normalises (lowercases) a login id.
    ///
    /// # Errors
    /// [`LoginIdError`] when the length or the characters are not allowed.
    pub fn parse(raw: &str) -> Result<Self, LoginIdError> {
        if !raw.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(LoginIdError::Charset);
        }
        if !(Self::MIN_LEN..=Self::MAX_LEN).contains(&raw.len()) {
            return Err(LoginIdError::Length);
        }
        Ok(Self(raw.to_ascii_lowercase()))
    }

    /// The normalised login id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for LoginId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LoginId({})", self.0)
    }
}

impl fmt::Display for LoginId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why an email address was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a valid email address")]
pub struct EmailError;

/// An email address, normalised to lowercase (emails are unique and compared
/// case-insensitively).
///
/// The check is deliberately structural (one `@`, a non-empty local part, a
/// dotted domain, no whitespace or control characters, at most 254 bytes);
/// whether the address exists is proved by the emailed code, not by a regex.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    /// Validates and normalises an email address.
    ///
    /// # Errors
    /// [`EmailError`] when the address is not structurally valid.
    pub fn parse(raw: &str) -> Result<Self, EmailError> {
        if raw.len() > 254 || raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(EmailError);
        }
        let (local, domain) = raw.split_once('@').ok_or(EmailError)?;
        let domain_ok = domain.contains('.')
            && !domain.contains('@')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..");
        if local.is_empty() || local.len() > 64 || !domain_ok {
            return Err(EmailError);
        }
        Ok(Self(raw.to_lowercase()))
    }

    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Email({})", self.0)
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a display name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("name must be 1 to 50 characters without control characters")]
pub struct NameError;

/// A person's display name: 1 to 50 characters after trimming, no control
/// characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    /// Validates a display name (surrounding whitespace is trimmed).
    ///
    /// # Errors
    /// [`NameError`] when it is empty, too long or contains control characters.
    pub fn parse(raw: &str) -> Result<Self, NameError> {
        let trimmed = raw.trim();
        let len = trimmed.chars().count();
        if len == 0 || len > 50 || trimmed.chars().any(char::is_control) {
            return Err(NameError);
        }
        Ok(Self(trimmed.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A stored user.
#[derive(Debug, Clone)]
pub struct User {
    /// Numeric id.
    pub id: UserId,
    /// Public, stable identifier; the JWT `sub`.
    pub uuid: Uuid,
    /// Login id; social-only users may have none.
    pub login_id: Option<LoginId>,
    /// Unique email.
    pub email: Email,
    /// Display name.
    pub name: String,
    /// Profile image URL, if any.
    pub profile_image: Option<String>,
    /// argon2id hash; `None` for social-only users (password login fails).
    pub password_hash: Option<PasswordHash>,
    /// When the account was created.
    pub created_at: DateTime<Utc>,
    /// When an administrator disabled the account, if it is disabled: no
    /// login on any contract, no refresh.
    pub disabled_at: Option<DateTime<Utc>>,
    /// Whether the email address was proven: true for sign-ups (a mailed
    /// code), social accounts and imports that vouch for the address;
    /// false for an import's `emailVerified: false` until the owner proves
    /// it with a code (password reset). A social login never joins an
    /// account whose address is unproven.
    pub email_verified: bool,
}

/// A user about to be inserted.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Public identifier, generated by the use case.
    pub uuid: Uuid,
    /// Login id.
    pub login_id: Option<LoginId>,
    /// Email.
    pub email: Email,
    /// Display name.
    pub name: DisplayName,
    /// Profile image URL.
    pub profile_image: Option<String>,
    /// Hash of the chosen password.
    pub password_hash: Option<PasswordHash>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

/// Which unique field a new user collided on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UniqueField {
    /// Another user has this login id.
    LoginId,
    /// Another user has this email.
    Email,
}

crate::conversions::validated_string!(newtype LoginId, LoginIdError, parse);
crate::conversions::validated_string!(newtype Email, EmailError, parse);
crate::conversions::validated_string!(newtype DisplayName, NameError, parse);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_id_is_folded_and_bounded() {
        assert_eq!(LoginId::parse("ParkH1").map(|l| l.0), Ok("parkh1".into()));
        assert_eq!(LoginId::parse("ab"), Err(LoginIdError::Length));
        assert_eq!(LoginId::parse(&"a".repeat(21)), Err(LoginIdError::Length));
        assert_eq!(LoginId::parse("user_1"), Err(LoginIdError::Charset));
        assert_eq!(LoginId::parse("사용자아이디"), Err(LoginIdError::Charset));
    }

    #[test]
    fn email_is_structural_and_lowercased() {
        assert_eq!(
            Email::parse("Hyeon@Naver.COM").map(|e| e.0),
            Ok("hyeon@naver.com".into())
        );
        for bad in [
            "",
            "a",
            "a@b",
            "@b.com",
            "a@.com",
            "a@b.com.",
            "a b@c.com",
            "a@b@c.com",
            "a@b..com",
        ] {
            assert_eq!(Email::parse(bad), Err(EmailError), "{bad}");
        }
    }

    #[test]
    fn display_name_is_trimmed() {
        assert_eq!(DisplayName::parse("  홍길동 ").map(|n| n.0), Ok("홍길동".into()));
        assert_eq!(DisplayName::parse("   "), Err(NameError));
        assert_eq!(DisplayName::parse("a\u{0}b"), Err(NameError));
    }
}
