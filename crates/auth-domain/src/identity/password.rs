//! Password policy and password hashes.

use std::fmt;

/// Why a new password was refused by the [`PasswordPolicy`]. Each variant
/// carries the policy's bounds, so a client's message can name the whole
/// range (`8자 이상 64자 이하`) from the error alone.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyViolation {
    /// Fewer characters than the policy's minimum.
    #[error("password must be at least {min} characters")]
    TooShort {
        /// The policy's minimum length.
        min: usize,
        /// The policy's maximum length.
        max: usize,
    },
    /// More characters than the policy's maximum.
    #[error("password must be at most {max} characters")]
    TooLong {
        /// The policy's minimum length.
        min: usize,
        /// The policy's maximum length.
        max: usize,
    },
}

impl PolicyViolation {
    /// The policy's bounds, `(min, max)` characters.
    pub fn bounds(&self) -> (usize, usize) {
        match *self {
            Self::TooShort { min, max } | Self::TooLong { min, max } => (min, max),
        }
    }
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
            return Err(PolicyViolation::TooShort {
                min: self.min_len,
                max: self.max_len,
            });
        }
        if len > self.max_len {
            return Err(PolicyViolation::TooLong {
                min: self.min_len,
                max: self.max_len,
            });
        }
        Ok(NewPassword(candidate.to_owned()))
    }
}

/// A password that passed the policy, ready to be hashed. Its `Debug` never
/// shows the contents.
#[derive(Clone)]
pub struct NewPassword(String);

impl NewPassword {
    /// A password that was already proven right (it just verified against
    /// the stored hash) or that an import hands over in plain text: it is
    /// hashed again as it is, without the policy for new passwords (an old
    /// account's password may predate it).
    pub(crate) fn accepted(plain: &str) -> Self {
        Self(plain.to_owned())
    }

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
    /// Wraps a PHC string produced by a [`crate::identity::ports::PasswordHasher`] or
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

/// How a stored password hash was made: the scheme an operator watches
/// while imported accounts migrate to the current one.
///
/// Everything but [`PasswordScheme::Argon2id`] (and the two non-schemes,
/// [`PasswordScheme::None`] and [`PasswordScheme::Unknown`]) is re-hashed
/// with the current argon2id parameters at the account's next successful
/// password login.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum PasswordScheme {
    /// argon2id with the parameters new hashes get: the goal.
    Argon2id,
    /// argon2id with other parameters (older or imported).
    Argon2idOld,
    /// argon2i, any parameters.
    Argon2i,
    /// argon2d, any parameters.
    Argon2d,
    /// bcrypt (`$2a$`, `$2b$`, `$2y$`): Spring's `BCryptPasswordEncoder`,
    /// node's `bcrypt`.
    Bcrypt,
    /// PBKDF2 with HMAC-SHA1 (Spring's `{pbkdf2}` before 5.8).
    Pbkdf2Sha1,
    /// PBKDF2 with HMAC-SHA256.
    Pbkdf2Sha256,
    /// PBKDF2 with HMAC-SHA512.
    Pbkdf2Sha512,
    /// scrypt (PHC string, or Spring's `{scrypt}` encoding).
    Scrypt,
    /// No password (a social-only account).
    None,
    /// A stored value no verifier understands: password login fails.
    Unknown,
}

impl PasswordScheme {
    /// Every scheme, in a stable order (for per-scheme counts).
    pub const ALL: [PasswordScheme; 11] = [
        Self::Argon2id,
        Self::Argon2idOld,
        Self::Argon2i,
        Self::Argon2d,
        Self::Bcrypt,
        Self::Pbkdf2Sha1,
        Self::Pbkdf2Sha256,
        Self::Pbkdf2Sha512,
        Self::Scrypt,
        Self::None,
        Self::Unknown,
    ];

    /// The name reported as `passwordScheme`: `argon2id`, `argon2id-old`,
    /// `argon2i`, `argon2d`, `bcrypt`, `pbkdf2-sha1`, `pbkdf2-sha256`,
    /// `pbkdf2-sha512`, `scrypt`, `none` or `unknown`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Argon2id => "argon2id",
            Self::Argon2idOld => "argon2id-old",
            Self::Argon2i => "argon2i",
            Self::Argon2d => "argon2d",
            Self::Bcrypt => "bcrypt",
            Self::Pbkdf2Sha1 => "pbkdf2-sha1",
            Self::Pbkdf2Sha256 => "pbkdf2-sha256",
            Self::Pbkdf2Sha512 => "pbkdf2-sha512",
            Self::Scrypt => "scrypt",
            Self::None => "none",
            Self::Unknown => "unknown",
        }
    }

    /// Whether a successful login re-hashes a password stored this way.
    pub fn needs_upgrade(self) -> bool {
        !matches!(self, Self::Argon2id | Self::None | Self::Unknown)
    }

    /// The scheme of a stored hash, from its text alone (no verification):
    /// `current_argon2id` is the `$argon2id$v=..$m=..,t=..,p=..$` prefix
    /// that new hashes start with. Pure, so a report over many accounts
    /// costs no hashing.
    pub fn of(stored: Option<&PasswordHash>, current_argon2id: &str) -> Self {
        let Some(stored) = stored else {
            return Self::None;
        };
        let s = stored.as_phc();
        let phc_id = s.strip_prefix('$').and_then(|rest| rest.split('$').next());
        match phc_id {
            Some("argon2id") if s.starts_with(current_argon2id) => Self::Argon2id,
            Some("argon2id") => Self::Argon2idOld,
            Some("argon2i") => Self::Argon2i,
            Some("argon2d") => Self::Argon2d,
            Some("2a" | "2b" | "2y") => Self::Bcrypt,
            Some("pbkdf2" | "pbkdf2-sha1") => Self::Pbkdf2Sha1,
            Some("pbkdf2-sha256") => Self::Pbkdf2Sha256,
            Some("pbkdf2-sha512") => Self::Pbkdf2Sha512,
            Some("scrypt") => Self::Scrypt,
            _ if s.starts_with("{scrypt}$") => Self::Scrypt,
            _ => Self::Unknown,
        }
    }
}

impl fmt::Display for PasswordScheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The HMAC digest of a PBKDF2 hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pbkdf2Digest {
    /// HMAC-SHA1 (`PBKDF2WithHmacSHA1`).
    Sha1,
    /// HMAC-SHA256 (`PBKDF2WithHmacSHA256`).
    Sha256,
    /// HMAC-SHA512 (`PBKDF2WithHmacSHA512`).
    Sha512,
}

/// What Spring's `{pbkdf2}` encoding leaves out: `Pbkdf2PasswordEncoder`
/// writes only hex(salt ‖ hash), so an import names the parameters the
/// encoder was built with. Only the default empty encoder secret is
/// supported (a secret is appended to the salt and is not in the database).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpringPbkdf2 {
    /// The HMAC digest.
    pub digest: Pbkdf2Digest,
    /// Iterations.
    pub iterations: u32,
    /// Salt bytes at the start of the decoded value.
    pub salt_len: usize,
    /// Hash bytes after the salt (`hashWidth` / 8).
    pub hash_len: usize,
}

impl SpringPbkdf2 {
    /// `Pbkdf2PasswordEncoder.defaultsForSpringSecurity_v5_5()`, which
    /// `PasswordEncoderFactories` maps to `{pbkdf2}`: HMAC-SHA1, 185,000
    /// iterations, 8-byte salt, 256-bit hash. Also what the deprecated
    /// no-argument constructor of Spring Security 4.1 to 5.7 does.
    pub const SPRING_V5_5: Self = Self {
        digest: Pbkdf2Digest::Sha1,
        iterations: 185_000,
        salt_len: 8,
        hash_len: 32,
    };

    /// `Pbkdf2PasswordEncoder.defaultsForSpringSecurity_v5_8()`, which
    /// `PasswordEncoderFactories` maps to `{pbkdf2@SpringSecurity_v5_8}`:
    /// HMAC-SHA256, 310,000 iterations, 16-byte salt, 256-bit hash.
    pub const SPRING_V5_8: Self = Self {
        digest: Pbkdf2Digest::Sha256,
        iterations: 310_000,
        salt_len: 16,
        hash_len: 32,
    };

    /// Parses `v5.5`, `v5.8`, or `DIGEST:ITERATIONS:SALT_BYTES:HASH_BYTES`
    /// with `DIGEST` one of `sha1`, `sha256`, `sha512` (e.g.
    /// `sha512:310000:16:64`). `None` when it is neither.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "v5.5" | "v5_5" | "spring-v5.5" => return Some(Self::SPRING_V5_5),
            "v5.8" | "v5_8" | "spring-v5.8" => return Some(Self::SPRING_V5_8),
            _ => {}
        }
        let mut parts = raw.trim().split(':');
        let digest = match parts.next()?.to_ascii_lowercase().as_str() {
            "sha1" => Pbkdf2Digest::Sha1,
            "sha256" => Pbkdf2Digest::Sha256,
            "sha512" => Pbkdf2Digest::Sha512,
            _ => return None,
        };
        let iterations = parts.next()?.parse().ok()?;
        let salt_len = parts.next()?.parse().ok()?;
        let hash_len = parts.next()?.parse().ok()?;
        if parts.next().is_some() {
            return None;
        }
        Some(Self {
            digest,
            iterations,
            salt_len,
            hash_len,
        })
    }
}

impl Default for SpringPbkdf2 {
    fn default() -> Self {
        Self::SPRING_V5_5
    }
}

/// Why an imported password hash was refused. The text is shown to the
/// operator (rejects file, import report); it names the problem, never
/// hash material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ForeignHashError(pub String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_counts_characters_not_bytes() {
        let p = PasswordPolicy::default();
        assert!(p.check("비밀번호비밀번호").is_ok());
        assert_eq!(
            p.check("비밀번호").err(),
            Some(PolicyViolation::TooShort { min: 8, max: 64 })
        );
        assert_eq!(p.check(&"a".repeat(65)).err().map(|v| v.bounds()), Some((8, 64)));
        assert!(p.check(&"a".repeat(64)).is_ok());
    }

    #[test]
    fn schemes_are_told_from_the_stored_text() {
        let current = "$argon2id$v=19$m=19456,t=2,p=1$";
        let of = |s: &str| PasswordScheme::of(Some(&PasswordHash::from_phc(s.into())), current);
        assert_eq!(
            of("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"),
            PasswordScheme::Argon2id
        );
        assert_eq!(
            of("$argon2id$v=19$m=16384,t=2,p=1$c2FsdA$aGFzaA"),
            PasswordScheme::Argon2idOld
        );
        assert_eq!(
            of("$argon2i$v=19$m=4096,t=3,p=1$c2FsdA$aGFzaA"),
            PasswordScheme::Argon2i
        );
        assert_eq!(of("$2a$10$abc"), PasswordScheme::Bcrypt);
        assert_eq!(of("$2y$10$abc"), PasswordScheme::Bcrypt);
        assert_eq!(of("$pbkdf2$i=185000,l=32$x$y"), PasswordScheme::Pbkdf2Sha1);
        assert_eq!(of("$pbkdf2-sha256$i=1000$x$y"), PasswordScheme::Pbkdf2Sha256);
        assert_eq!(of("$pbkdf2-sha512$i=1000$x$y"), PasswordScheme::Pbkdf2Sha512);
        assert_eq!(of("$scrypt$ln=16,r=8,p=1$x$y"), PasswordScheme::Scrypt);
        assert_eq!(of("{scrypt}$e0801$x$y"), PasswordScheme::Scrypt);
        assert_eq!(of("fake$x"), PasswordScheme::Unknown);
        assert_eq!(PasswordScheme::of(None, current), PasswordScheme::None);
        assert!(PasswordScheme::Bcrypt.needs_upgrade());
        assert!(PasswordScheme::Argon2idOld.needs_upgrade());
        assert!(!PasswordScheme::Argon2id.needs_upgrade());
        assert!(!PasswordScheme::None.needs_upgrade());
    }

    #[test]
    fn spring_pbkdf2_parameters_are_named() {
        assert_eq!(SpringPbkdf2::parse("v5.5"), Some(SpringPbkdf2::SPRING_V5_5));
        assert_eq!(SpringPbkdf2::parse("V5.8"), Some(SpringPbkdf2::SPRING_V5_8));
        assert_eq!(
            SpringPbkdf2::parse("sha512:310000:16:64"),
            Some(SpringPbkdf2 {
                digest: Pbkdf2Digest::Sha512,
                iterations: 310_000,
                salt_len: 16,
                hash_len: 64
            })
        );
        assert_eq!(SpringPbkdf2::parse("md5:1:1:1"), None);
        assert_eq!(SpringPbkdf2::parse("sha1:1:1"), None);
        assert_eq!(SpringPbkdf2::parse("sha1:1:1:1:1"), None);
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
