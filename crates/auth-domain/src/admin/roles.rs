//! The admin role of accounts (issue 30): who may enter the admin
//! console. One port, [`AdminRoleStore`]; the use cases that grant, revoke
//! and read the role are [`super::UserAdmin`]'s.
//!
//! The role is independent of the account's other state: a disabled
//! account may still hold it (the console checks `disabled` separately),
//! and it goes with the account when the account is deleted.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::error::PortError;
use crate::identity::user::UserId;

/// Stores which accounts hold the admin role.
#[async_trait]
pub trait AdminRoleStore: Send + Sync {
    /// Whether the user holds the admin role (`false` for an unknown id).
    ///
    /// # Errors
    /// [`PortError`] on infrastructure failure.
    async fn is_admin(&self, user: UserId) -> Result<bool, PortError>;

    /// Grants (`admin` true, at `at`) or revokes (false) the role; returns
    /// whether anything changed. Idempotent: granting a held role or
    /// revoking one not held changes nothing and is not an error. Of
    /// parallel callers asking for the same change, exactly one MUST
    /// return `true` (and none fail on the race).
    ///
    /// Granting to an id that names no account MUST NOT store anything; it
    /// returns `false` (the use cases check the account first; this covers
    /// one deleted in between).
    ///
    /// # Errors
    /// [`PortError`] on infrastructure failure.
    async fn set_admin(&self, user: UserId, admin: bool, at: DateTime<Utc>) -> Result<bool, PortError>;
}
