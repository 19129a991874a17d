//! Emailed verification codes.
//!
//! A code is 6 lowercase hex characters from a CSPRNG (the `account`
//! document's examples: `e09d93`, `ad6045`), bound to one email and one
//! [`CodePurpose`], valid 10 minutes, single use, dead after 5 wrong tries.
//! Only a hash is stored. There is at most one live code per email: a new
//! send replaces the previous one, and at most one send per email per minute
//! is accepted.
//!
//! Every comparison of a typed code with the stored hash first reserves one
//! of the code's tries in the store (a conditional write), so a burst of
//! concurrent guesses gets at most `max_attempts` comparisons; a right code
//! gives its try back. A `SIGN_UP` verification is bound to one login id and
//! opens one sign-up of that login id. A `FORGET_PASSWORD` request that
//! matches no account never touches the email's code: its cooldown is kept
//! as a [`DecoyKey`] of the (email, login id) pair.

pub mod codes;
pub mod ports;

pub use ports::{CodeStore, Mailer};

#[cfg(test)]
mod codes_tests;

use chrono::{DateTime, TimeDelta, Utc};
use sha2::{Digest, Sha256};
use std::fmt;

use crate::identity::user::{Email, LoginId, UserId};

/// What a code is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CodePurpose {
    /// Proving an email before sign-up (`SIGN_UP`).
    SignUp,
    /// Proving ownership before a password reset (`FORGET_PASSWORD`).
    ForgetPassword,
}

impl CodePurpose {
    /// The `account` contract's name, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SignUp => "SIGN_UP",
            Self::ForgetPassword => "FORGET_PASSWORD",
        }
    }

    /// Parses the contract's name.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "SIGN_UP" => Some(Self::SignUp),
            "FORGET_PASSWORD" => Some(Self::ForgetPassword),
            _ => None,
        }
    }
}

/// The rules for codes. Defaults: 10 minutes, 5 tries, one send a minute.
#[derive(Debug, Clone, Copy)]
pub struct CodePolicy {
    /// How long a code can be checked or used.
    pub ttl: TimeDelta,
    /// Wrong tries after which a code is dead.
    pub max_attempts: u32,
    /// Minimum time between two sends to one email.
    pub resend_cooldown: TimeDelta,
    /// How long a `SIGN_UP` check stays good for the sign-up itself.
    pub signup_window: TimeDelta,
    /// Whether sign-up requires a checked `SIGN_UP` code.
    pub signup_requires_code: bool,
}

impl Default for CodePolicy {
    fn default() -> Self {
        Self {
            ttl: TimeDelta::minutes(10),
            max_attempts: 5,
            resend_cooldown: TimeDelta::seconds(60),
            signup_window: TimeDelta::minutes(10),
            signup_requires_code: true,
        }
    }
}

/// A plain code, as mailed. `Debug` redacts it.
#[derive(Clone, PartialEq, Eq)]
pub struct PlainCode(String);

impl PlainCode {
    /// Length of every code.
    pub const LEN: usize = 6;

    /// Builds a code from 3 random bytes (6 lowercase hex characters).
    pub fn from_random(bytes: [u8; 3]) -> Self {
        Self(hex::encode(bytes))
    }

    /// Normalises a code typed by a user: trimmed, lowercased. Anything that
    /// cannot be a code yields `None`.
    pub fn parse(raw: &str) -> Option<Self> {
        let code = raw.trim().to_ascii_lowercase();
        (code.len() == Self::LEN && code.bytes().all(|b| b.is_ascii_hexdigit())).then_some(Self(code))
    }

    /// The code, for the mail body only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The stored form: SHA-256 over purpose, email and code, so a stored
    /// hash is useless for another email or purpose.
    pub fn hash(&self, email: &Email, purpose: CodePurpose) -> CodeHash {
        let mut h = Sha256::new();
        h.update(purpose.as_str().as_bytes());
        h.update([0]);
        h.update(email.as_str().as_bytes());
        h.update([0]);
        h.update(self.0.as_bytes());
        CodeHash(hex::encode(h.finalize()))
    }
}

impl fmt::Debug for PlainCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PlainCode(<redacted>)")
    }
}

/// The stored hash of a code.
#[derive(Clone, PartialEq, Eq)]
pub struct CodeHash(String);

impl CodeHash {
    /// Wraps a hash read from storage.
    pub fn from_stored(hex: String) -> Self {
        Self(hex)
    }
    /// The hex digest.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for CodeHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CodeHash(<redacted>)")
    }
}

/// A stored code: at most one per email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCode {
    /// The email it was sent to (the key).
    pub email: Email,
    /// What it is for.
    pub purpose: CodePurpose,
    /// For `FORGET_PASSWORD`: the account it resets (always `Some` for a
    /// code stored by this version: a request that matches no account stores
    /// a [`DecoyKey`] instead). `None` for `SIGN_UP`.
    pub user_id: Option<UserId>,
    /// For `SIGN_UP`: the login id this verification is for — the send's
    /// `authId`, or else the first successful check's. Only a sign-up with
    /// this login id may use it; `None` (nobody named one) admits none.
    pub login_id: Option<LoginId>,
    /// Hash of the code.
    pub hash: CodeHash,
    /// When it was sent.
    pub sent_at: DateTime<Utc>,
    /// When it stops being usable.
    pub expires_at: DateTime<Utc>,
    /// Wrong tries so far.
    pub attempts: u32,
    /// When it was last checked successfully.
    pub verified_at: Option<DateTime<Utc>>,
    /// When it was used (sign-up or reset). A consumed code is dead.
    pub consumed_at: Option<DateTime<Utc>>,
}

impl StoredCode {
    /// Whether the code can still be checked at `now` under `policy`.
    pub fn is_open(&self, now: DateTime<Utc>, policy: &CodePolicy) -> bool {
        self.consumed_at.is_none() && self.expires_at > now && self.attempts < policy.max_attempts
    }
}

/// The key under which a `FORGET_PASSWORD` request that matches no account
/// keeps its resend cooldown: a SHA-256 of the email and the login id as
/// typed (trimmed, lowercased), so the pair a stranger guessed is not stored
/// in clear and a decoy never shares a key with the email's real code.
#[derive(Clone, PartialEq, Eq)]
pub struct DecoyKey(String);

impl DecoyKey {
    /// The key of (`email`, `login_id`); a missing login id counts as empty.
    pub fn of(email: &Email, login_id: Option<&str>) -> Self {
        let login = login_id.unwrap_or_default().trim().to_lowercase();
        let mut h = Sha256::new();
        h.update(b"FORGET_PASSWORD decoy");
        h.update([0]);
        h.update(email.as_str().as_bytes());
        h.update([0]);
        h.update(login.as_bytes());
        Self(hex::encode(h.finalize()))
    }

    /// The hex digest, as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for DecoyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DecoyKey(<redacted>)")
    }
}

/// What [`crate::verification::ports::CodeStore::put`] (or `put_decoy`) did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PutOutcome {
    /// Stored, replacing any earlier code for the email.
    Stored,
    /// A code was sent to this email less than the cooldown ago; nothing
    /// changed. Retry after this time.
    Cooldown(DateTime<Utc>),
}

/// A mail to send: to whom, and what it says before it is worded. The
/// [`Mailer`] adapter words it (`auth-infra`'s templates: Korean by default,
/// overridable by the operator), so no product text sits in the domain.
#[derive(Clone, PartialEq, Eq)]
pub struct OutgoingMail {
    /// Recipient.
    pub to: Email,
    /// What the mail says.
    pub content: MailContent,
}

/// What a mail says.
#[derive(Clone, PartialEq, Eq)]
pub enum MailContent {
    /// A verification code: the code, what it is for, and for how many
    /// minutes it is valid (at least 1).
    Code {
        /// What the code is for.
        purpose: CodePurpose,
        /// The code itself.
        code: String,
        /// Its validity, in whole minutes.
        valid_minutes: i64,
    },
    /// A message its sender worded already (`auth-server send-test-email`).
    Worded {
        /// Subject line.
        subject: String,
        /// Plain-text body.
        text: String,
        /// HTML body.
        html: String,
    },
}

impl fmt::Debug for MailContent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A code mail carries its code; never print it.
        match self {
            Self::Code {
                purpose,
                valid_minutes,
                ..
            } => f
                .debug_struct("Code")
                .field("purpose", purpose)
                .field("valid_minutes", valid_minutes)
                .finish_non_exhaustive(),
            Self::Worded { subject, .. } => f
                .debug_struct("Worded")
                .field("subject", subject)
                .finish_non_exhaustive(),
        }
    }
}

impl fmt::Debug for OutgoingMail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Bodies carry codes; never print them.
        let kind = match &self.content {
            MailContent::Code { purpose, .. } => purpose.as_str(),
            MailContent::Worded { .. } => "worded",
        };
        f.debug_struct("OutgoingMail")
            .field("to", &self.to)
            .field("content", &kind)
            .finish_non_exhaustive()
    }
}

impl OutgoingMail {
    /// The mail for a code: states the code, its purpose and its validity
    /// (`ttl` in whole minutes, at least 1).
    pub fn for_code(to: &Email, code: &PlainCode, purpose: CodePurpose, ttl: TimeDelta) -> Self {
        Self {
            to: to.clone(),
            content: MailContent::Code {
                purpose,
                code: code.expose().to_owned(),
                valid_minutes: ttl.num_minutes().max(1),
            },
        }
    }

    /// The code of a code mail.
    pub fn code(&self) -> Option<&str> {
        match &self.content {
            MailContent::Code { code, .. } => Some(code),
            MailContent::Worded { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_six_lowercase_hex() {
        let c = PlainCode::from_random([0xe0, 0x9d, 0x93]);
        assert_eq!(c.expose(), "e09d93");
        assert_eq!(PlainCode::parse(" E09D93 "), Some(c));
        assert_eq!(PlainCode::parse("e09d9"), None);
        assert_eq!(PlainCode::parse("e09d9g"), None);
        assert!(!format!("{:?}", PlainCode::parse("e09d93").unwrap()).contains("e09d93"));
    }

    #[test]
    fn hashes_bind_email_and_purpose() {
        let c = PlainCode::parse("ad6045").unwrap();
        let a = Email::parse("a@b.com").unwrap();
        let b = Email::parse("b@b.com").unwrap();
        assert_ne!(c.hash(&a, CodePurpose::SignUp), c.hash(&b, CodePurpose::SignUp));
        assert_ne!(
            c.hash(&a, CodePurpose::SignUp),
            c.hash(&a, CodePurpose::ForgetPassword)
        );
        assert_eq!(c.hash(&a, CodePurpose::SignUp), c.hash(&a, CodePurpose::SignUp));
    }

    #[test]
    fn decoy_keys_bind_email_and_folded_login_id() {
        let a = Email::parse("a@b.com").unwrap();
        let b = Email::parse("b@b.com").unwrap();
        assert_eq!(DecoyKey::of(&a, Some(" ParkH ")), DecoyKey::of(&a, Some("parkh")));
        assert_ne!(DecoyKey::of(&a, Some("parkh")), DecoyKey::of(&b, Some("parkh")));
        assert_ne!(DecoyKey::of(&a, Some("parkh")), DecoyKey::of(&a, Some("other")));
        assert_eq!(DecoyKey::of(&a, None), DecoyKey::of(&a, Some("")));
    }

    #[test]
    fn the_mail_states_code_purpose_and_validity() {
        let to = Email::parse("a@b.com").unwrap();
        let m = OutgoingMail::for_code(
            &to,
            &PlainCode::parse("ad6045").unwrap(),
            CodePurpose::ForgetPassword,
            TimeDelta::minutes(10),
        );
        assert_eq!(
            m.content,
            MailContent::Code {
                purpose: CodePurpose::ForgetPassword,
                code: "ad6045".into(),
                valid_minutes: 10,
            }
        );
        assert_eq!(m.code(), Some("ad6045"));
        assert!(!format!("{m:?}").contains("ad6045"));
    }
}
