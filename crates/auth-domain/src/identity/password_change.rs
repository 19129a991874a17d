//! Changing a password while signed in (the account page): the current
//! password through the same gate as every login, the new one through the
//! policy, and optionally the end of every other session of the user.

use chrono::TimeDelta;

use crate::audit::AuditKind;
use crate::caller::Caller;
use crate::error::PortError;
use crate::identity::accounts::Accounts;
use crate::identity::login::{GateError, Identifier, PasswordCheck};
use crate::identity::password::PolicyViolation;
use crate::identity::user::User;
use crate::sessions::session::{RevokeReason, SessionId};

/// Why a password change was refused; nothing was changed.
#[derive(Debug, thiserror::Error)]
pub enum ChangePasswordError {
    /// The current password is wrong (or the account has none: a social
    /// account sets one by the password reset).
    #[error("wrong password")]
    WrongPassword,
    /// The new password breaks the policy (checked before the current one,
    /// so a weak new password costs no attempt).
    #[error(transparent)]
    WeakPassword(#[from] PolicyViolation),
    /// Too many wrong passwords for this account or IP.
    #[error("throttled")]
    Throttled {
        /// How long until a new attempt is accepted.
        retry_after: TimeDelta,
    },
    /// The account is disabled.
    #[error("disabled")]
    Disabled,
    /// Infrastructure failure.
    #[error(transparent)]
    Internal(#[from] PortError),
}

impl Accounts {
    /// Changes `user`'s password: the new password is checked against the
    /// policy, the current one through the password gate (same throttle,
    /// audit and timing as a login), then the new hash is stored. With
    /// `revoke_others`, every live session of the user but those in `keep`
    /// (the page's own) ends, each announced (`LOGOUT` on its sockets).
    /// Audited (`password_change`). Returns how many sessions ended.
    ///
    /// # Errors
    /// [`ChangePasswordError`].
    pub async fn change_password(
        &self,
        user: &User,
        current: &str,
        new: &str,
        revoke_others: bool,
        keep: &[SessionId],
        caller: &Caller,
    ) -> Result<usize, ChangePasswordError> {
        let password = self.core.policy().password.check(new)?;
        let identifier = Identifier::Email(user.email.as_str().to_owned());
        let checked = match self.check_password(&identifier, current, caller).await {
            Ok(PasswordCheck::Verified(found)) if found.id == user.id => found,
            Ok(_) => return Err(ChangePasswordError::WrongPassword),
            Err(GateError::Throttled(retry_after)) => {
                return Err(ChangePasswordError::Throttled { retry_after });
            }
            Err(GateError::Internal(e)) => return Err(e.into()),
        };
        if checked.disabled_at.is_some() {
            return Err(ChangePasswordError::Disabled);
        }
        let hash = self.hasher.hash(&password).await?;
        if !self.users.set_password(user.id, &hash).await? {
            return Err(ChangePasswordError::WrongPassword);
        }
        let mut ended = 0;
        if revoke_others {
            let now = self.core.now();
            for session in self.issuer.sessions().live_sessions(user.id).await? {
                if !keep.contains(&session.id)
                    && self
                        .issuer
                        .revoker
                        .revoke_and_announce(session.id, RevokeReason::PasswordReset, now)
                        .await?
                {
                    ended += 1;
                }
            }
        }
        self.core
            .audit(
                AuditKind::PasswordChange,
                Some(user.id),
                keep.first().copied(),
                caller,
            )
            .await;
        Ok(ended)
    }
}
