//! Emailed codes: send, check, the sign-up gate, password reset.

use crate::error::PortError;
use crate::password::PolicyViolation;
use crate::session::RevokeReason;
use crate::user::{Email, LoginId, User, UserId};
use crate::verification::{CodePurpose, OutgoingMail, PlainCode, PutOutcome, StoredCode};

use super::AuthService;

/// Why a code could not be sent.
#[derive(Debug, thiserror::Error)]
pub enum SendCodeError {
    /// The email is not an address.
    #[error("invalid email")]
    InvalidEmail,
    /// `SIGN_UP` to an email that already has an account.
    #[error("email already registered")]
    EmailTaken,
    /// A code was sent to this email less than the cooldown ago; a send is
    /// possible again after this long.
    #[error("resend cooldown for {0}")]
    Cooldown(chrono::TimeDelta),
    /// The mail could not be handed over; no code was left behind.
    #[error("mail unavailable")]
    MailUnavailable(#[source] PortError),
    /// Infrastructure failure.
    #[error(transparent)]
    Internal(#[from] PortError),
}

/// Who a password reset is for.
#[derive(Debug, Clone)]
pub enum AccountRef {
    /// The numeric id (`userId` in the `account` document).
    Id(i64),
    /// The login id (`authId`).
    LoginId(String),
}

/// Why a password reset failed.
#[derive(Debug, thiserror::Error)]
pub enum ResetError {
    /// The new password breaks the policy (checked first; the code is not
    /// spent).
    #[error(transparent)]
    WeakPassword(#[from] PolicyViolation),
    /// Unknown account, or the code is wrong, expired, used, dead or not a
    /// `FORGET_PASSWORD` code of this account. Deliberately one variant.
    #[error("denied")]
    Denied,
    /// Infrastructure failure.
    #[error(transparent)]
    Internal(#[from] PortError),
}

impl AuthService {
    /// Sends a code for `purpose` to `email`.
    ///
    /// `SIGN_UP` needs an email no account has. `FORGET_PASSWORD` needs the
    /// login id and email of one account; when they match none, nothing is
    /// mailed but the answer (and the cooldown) are the same as for a match.
    ///
    /// # Errors
    /// [`SendCodeError`].
    pub async fn send_code(
        &self,
        login_id: Option<&str>,
        email: &str,
        purpose: CodePurpose,
    ) -> Result<(), SendCodeError> {
        let email = Email::parse(email).map_err(|_| SendCodeError::InvalidEmail)?;
        let user_id = match purpose {
            CodePurpose::SignUp => {
                if self.ports.users.by_email(&email).await?.is_some() {
                    return Err(SendCodeError::EmailTaken);
                }
                None
            }
            CodePurpose::ForgetPassword => self
                .user_by_login_id(login_id)
                .await?
                .filter(|u| u.email == email)
                .map(|u| u.id),
        };
        let mut bytes = [0u8; 3];
        self.ports.random.fill(&mut bytes);
        let code = PlainCode::from_random(bytes);
        let now = self.ports.clock.now();
        let policy = self.policy.codes;
        let stored = StoredCode {
            email: email.clone(),
            purpose,
            user_id,
            hash: code.hash(&email, purpose),
            sent_at: now,
            expires_at: now + policy.ttl,
            attempts: 0,
            verified_at: None,
            consumed_at: None,
        };
        if let PutOutcome::Cooldown(until) = self.ports.codes.put(&stored, policy.resend_cooldown).await? {
            return Err(SendCodeError::Cooldown(until - now));
        }
        let deliver = purpose == CodePurpose::SignUp || user_id.is_some();
        if deliver {
            let mail = OutgoingMail::for_code(&email, &code, purpose, policy.ttl);
            if let Err(e) = self.ports.mailer.send(&mail).await {
                self.ports.codes.discard(&email, &stored.hash).await?;
                return Err(SendCodeError::MailUnavailable(e));
            }
        }
        Ok(())
    }

    /// Checks a code. `true` means: the code is the email's current code, of
    /// this purpose (and, for `FORGET_PASSWORD`, of this login id's account),
    /// unexpired, unused, with tries left. A wrong code costs one try. A
    /// right `SIGN_UP` code opens the sign-up gate for the email.
    ///
    /// # Errors
    /// [`PortError`] on infrastructure failure.
    pub async fn check_code(
        &self,
        login_id: Option<&str>,
        email: &str,
        code: &str,
        purpose: CodePurpose,
    ) -> Result<bool, PortError> {
        let Ok(email) = Email::parse(email) else {
            return Ok(false);
        };
        let now = self.ports.clock.now();
        let policy = self.policy.codes;
        let Some(stored) = self.ports.codes.get(&email).await? else {
            return Ok(false);
        };
        if !stored.is_open(now, &policy) {
            return Ok(false);
        }
        let matches = PlainCode::parse(code).is_some_and(|c| c.hash(&email, purpose) == stored.hash);
        if !matches {
            self.ports.codes.record_failure(&email, &stored.hash).await?;
            return Ok(false);
        }
        if purpose == CodePurpose::ForgetPassword {
            let owner = self.user_by_login_id(login_id).await?.map(|u| u.id);
            if owner.is_none() || owner != stored.user_id {
                return Ok(false);
            }
        }
        self.ports.codes.mark_verified(&email, &stored.hash, now).await?;
        Ok(true)
    }

    /// Resets a password with a `FORGET_PASSWORD` code: checks the policy,
    /// then the code; stores the new hash, consumes the code, and revokes
    /// every session of the user.
    ///
    /// # Errors
    /// [`ResetError`].
    pub async fn reset_password(
        &self,
        account: AccountRef,
        code: &str,
        new_password: &str,
    ) -> Result<UserId, ResetError> {
        let password = self.policy.password.check(new_password)?;
        let user = match account {
            AccountRef::Id(id) => self.ports.users.by_id(UserId::new(id)).await?,
            AccountRef::LoginId(raw) => self.user_by_login_id(Some(&raw)).await?,
        };
        let Some(user) = user else {
            return Err(ResetError::Denied);
        };
        let now = self.ports.clock.now();
        let policy = self.policy.codes;
        let Some(stored) = self.ports.codes.get(&user.email).await? else {
            return Err(ResetError::Denied);
        };
        if stored.purpose != CodePurpose::ForgetPassword
            || stored.user_id != Some(user.id)
            || !stored.is_open(now, &policy)
        {
            return Err(ResetError::Denied);
        }
        let matches = PlainCode::parse(code)
            .is_some_and(|c| c.hash(&user.email, CodePurpose::ForgetPassword) == stored.hash);
        if !matches {
            self.ports.codes.record_failure(&user.email, &stored.hash).await?;
            return Err(ResetError::Denied);
        }
        let hash = self.ports.hasher.hash(&password).await?;
        if !self
            .ports
            .codes
            .consume(&user.email, &stored.hash, now, policy.max_attempts)
            .await?
        {
            return Err(ResetError::Denied);
        }
        self.ports.users.set_password(user.id, &hash).await?;
        self.revoke_all_and_announce(user.id, RevokeReason::PasswordReset, now)
            .await?;
        self.audit(crate::audit::AuditKind::PasswordReset, Some(user.id), None, None)
            .await;
        Ok(user.id)
    }

    /// The sign-up gate: the email passed a `SIGN_UP` check within the
    /// window and that check was not used yet.
    pub(super) async fn signup_gate_open(&self, email: &Email) -> Result<Option<StoredCode>, PortError> {
        let now = self.ports.clock.now();
        let window = self.policy.codes.signup_window;
        Ok(self.ports.codes.get(email).await?.filter(|c| {
            c.purpose == CodePurpose::SignUp
                && c.consumed_at.is_none()
                && c.verified_at.is_some_and(|t| now - t <= window)
        }))
    }

    async fn user_by_login_id(&self, raw: Option<&str>) -> Result<Option<User>, PortError> {
        match raw.map(LoginId::parse) {
            Some(Ok(id)) => self.ports.users.by_login_id(&id).await,
            _ => Ok(None),
        }
    }
}
