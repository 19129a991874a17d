//! Importing accounts from another system: the records, what the store
//! decides for each, and the report an operator reads.
//!
//! The file format (newline-delimited JSON) is the edge's business; the
//! domain gets each line's fields as [`ImportRecord`] and validates them
//! ([`crate::import::use_cases::Import::import_batch`]).

pub mod use_cases;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};

use crate::identity::password::PasswordScheme;
use crate::identity::user::{NewUser, UserId};
use crate::social::Provider;

/// One account as the source system describes it, not yet validated.
#[derive(Clone, Default)]
pub struct ImportRecord {
    /// `loginId`.
    pub login_id: Option<String>,
    /// `email`.
    pub email: Option<String>,
    /// `emailVerified`: `false` keeps the address unproven (no social login
    /// joins the account until its owner proves it with a code); absent or
    /// `true`, the import vouches for it.
    pub email_verified: Option<bool>,
    /// `name`.
    pub name: Option<String>,
    /// `profileImage`.
    pub profile_image: Option<String>,
    /// `passwordHash`, in any supported format.
    pub password_hash: Option<String>,
    /// `createdAt`.
    pub created_at: Option<DateTime<Utc>>,
    /// `accountId`: the numeric id clients already hold.
    pub account_id: Option<i64>,
    /// `providers`: `(provider, subject)` pairs.
    pub providers: Vec<(String, String)>,
}

impl fmt::Debug for ImportRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImportRecord")
            .field("login_id", &self.login_id)
            .field("email", &self.email)
            .field("account_id", &self.account_id)
            .field(
                "password_hash",
                &self.password_hash.as_ref().map(|_| "<redacted>"),
            )
            .finish_non_exhaustive()
    }
}

/// The largest `accountId` an import keeps: 2^53 − 1, the largest integer
/// a JSON client parsing numbers as doubles (JavaScript) reads exactly.
/// Kept ids stop there so the id sequence, which continues above the
/// largest one, keeps room for every later sign-up (both backends' ids go
/// to 2^63 − 1; an imported id at the top ended every sign-up).
pub const MAX_ACCOUNT_ID: i64 = (1 << 53) - 1;

/// A validated account, ready for [`crate::identity::ports::UserRepository::import`].
#[derive(Debug, Clone)]
pub struct ImportAccount {
    /// The numeric id to keep, if the source gave one.
    pub id: Option<UserId>,
    /// The user row.
    pub user: NewUser,
    /// Social identities to link to it.
    pub links: Vec<(Provider, String)>,
    /// Whether the source system proved the address (`emailVerified`,
    /// default true).
    pub email_verified: bool,
}

/// What the store decided for one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportOutcome {
    /// Stored now (or, in a dry run, would be).
    Imported(UserId),
    /// A user with the same id (when given), login id and email exists:
    /// an earlier run imported it. Nothing changed.
    AlreadyImported(UserId),
    /// Something of this account belongs to another user. Nothing changed.
    Conflict(ImportConflict),
}

/// Which part of an account belongs to another user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportConflict {
    /// The `accountId` is another user's.
    Id,
    /// The login id is another user's.
    LoginId,
    /// The email is another user's.
    Email,
    /// This social identity is linked to another user.
    Social(Provider),
}

impl fmt::Display for ImportConflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Id => f.write_str("accountId belongs to another existing account"),
            Self::LoginId => f.write_str("loginId belongs to another existing account"),
            Self::Email => f.write_str("email belongs to another existing account"),
            Self::Social(p) => write!(
                f,
                "the {} identity is linked to another existing account",
                p.as_str()
            ),
        }
    }
}

/// A refused line of the import file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedLine {
    /// 1-based line number in the file.
    pub line: u64,
    /// Why, for the operator (never hash material or a password).
    pub reason: String,
}

/// Totals of an import run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Whether nothing was stored (`--dry-run`).
    pub dry_run: bool,
    /// Non-blank lines read.
    pub records: u64,
    /// Accounts stored (or, in a dry run, that would be).
    pub imported: u64,
    /// Accounts an earlier run imported already.
    pub skipped: u64,
    /// Refused lines: malformed, invalid, duplicated in the file, or in
    /// conflict with existing accounts.
    pub rejected: u64,
    /// Of `rejected`, those in conflict with existing accounts.
    pub conflicts: u64,
    /// Imported accounts per password scheme (`none` for social-only).
    pub by_scheme: BTreeMap<PasswordScheme, u64>,
}
