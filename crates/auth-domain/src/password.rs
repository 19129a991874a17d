//! Password policy and password hashes.

use std::fmt;

/// Why a new password was refused by the [`PasswordPolicy`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyViolation {
    /// Fewer characters than the policy's minimum.
    #[error("password must be at least {0} characters")]
    TooShort(usize),
    /// More characters than the policy's maximum.
    #[error("password must be at most {0} characters")]
    TooLong(usize),
}

/// The one policy for new passwords (sign-up, reset). Lengths count Unicode
/// scalar values. Default: 8 to 64.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordPolicy {
    min_len: usize,
    max_len: usize,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self {
            min_len: 8,
            max_len: 64,
        }
    }
}

impl PasswordPolicy {
    /// A policy with the given bounds; `max_len` is raised to `min_len` when
    /// smaller, and both are at least 1.
    pub fn new(min_len: usize, max_len: usize) -> Self {
        let min_len = min_len.max(1);
        Self {
            min_len,
            max_len: max_len.max(min_len),
        }
    }

    /// Minimum length.
    pub fn min_len(&self) -> usize {
        self.min_len
    }

    /// Maximum length.
    pub fn max_len(&self) -> usize {
        self.max_len
    }

    /// Checks a candidate password.
    ///
    /// # Errors
    /// [`PolicyViolation`] naming the broken bound.
    pub fn check(&self, candidate: &str) -> Result<NewPassword, PolicyViolation> {
        let len = candidate.chars().count();
        if len < self.min_len {
            return Err(PolicyViolation::TooShort(self.min_len));
        }
        if len > self.max_len {
            return Err(PolicyViolation::TooLong(self.max_len));
        }
        Ok(NewPassword(candidate.to_owned()))
    }
}

/// A password that passed the policy, ready to be hashed. Its `Debug` never
/// shows the contents.
#[derive(Clone)]
pub struct NewPassword(String);

impl NewPassword {
    /// The plain text, for the hasher only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword(<redacted>)")
    }
}

/// A password hash in PHC string format (`$argon2id$v=19$...`).
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    /// Wraps a PHC string produced by a [`crate::ports::PasswordHasher`] or
    /// read from storage.
    pub fn from_phc(phc: String) -> Self {
        Self(phc)
    }

    /// The PHC string.
    pub fn as_phc(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_counts_characters_not_bytes() {
        let p = PasswordPolicy::default();
        assert!(p.check("비밀번호비밀번호").is_ok());
        assert_eq!(p.check("비밀번호").err(), Some(PolicyViolation::TooShort(8)));
        assert_eq!(p.check(&"a".repeat(65)).err(), Some(PolicyViolation::TooLong(64)));
        assert!(p.check(&"a".repeat(64)).is_ok());
    }

    #[test]
    fn secrets_do_not_leak_through_debug() {
        let p = PasswordPolicy::default()
            .check("hunter2hunter2")
            .map(|p| format!("{p:?}"));
        assert_eq!(p.as_deref(), Ok("NewPassword(<redacted>)"));
        let h = PasswordHash::from_phc("$argon2id$secret".into());
        assert!(!format!("{h:?}").contains("secret"));
    }
}
