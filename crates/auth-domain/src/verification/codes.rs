//! Emailed codes: send, check, the sign-up gate, password reset.

use std::sync::Arc;

use crate::caller::Caller;
use crate::error::PortError;
use crate::identity::password::PolicyViolation;
use crate::identity::ports::{PasswordHasher, UserRepository};
use crate::identity::user::{Email, LoginId, User, UserId};
use crate::service_core::ServiceCore;
use crate::sessions::issuer::SessionRevoker;
use crate::sessions::session::RevokeReason;
use crate::verification::ports::{CodeStore, Mailer};
use crate::verification::{CodePurpose, DecoyKey, OutgoingMail, PlainCode, PutOutcome, StoredCode};

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

/// The emailed-code use cases: sending and checking codes, and password
/// reset with one. Cheap to clone.
#[derive(Clone)]
pub struct Verification {
    core: ServiceCore,
    users: Arc<dyn UserRepository>,
    codes: Arc<dyn CodeStore>,
    mailer: Arc<dyn Mailer>,
    hasher: Arc<dyn PasswordHasher>,
    revoker: SessionRevoker,
}

impl std::fmt::Debug for Verification {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Verification { .. }")
    }
}

impl Verification {
    /// The code use cases: codes stored in `codes` and mailed through
    /// `mailer` to the accounts of `users`; a reset hashes the new password
    /// with `hasher` and ends the user's sessions through `revoker`.
    ///
    /// ```
    /// use std::sync::Arc;
    ///
    /// use auth_domain::sessions::issuer::SessionRevoker;
    /// use auth_domain::verification::codes::Verification;
    /// use auth_domain::testing::*;
    /// use auth_domain::verification::CodePurpose;
    /// use auth_domain::AuthPolicy;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let mailer = Arc::new(RecordingMailer::default());
    /// let verification = Verification::new(
    ///     test_core(AuthPolicy::default()),
    ///     Arc::new(MemUsers::default()),
    ///     Arc::new(MemCodes::default()),
    ///     mailer.clone(),
    ///     Arc::new(FakeHasher::default()),
    ///     SessionRevoker::new(Arc::new(MemSessions::default()), Arc::new(RecordingBus::default())),
    /// );
    /// verification
    ///     .send_code(Some("kim"), "kim@example.com", CodePurpose::SignUp)
    ///     .await
    ///     .expect("sent");
    /// let code = mailer.last_code("kim@example.com").expect("mailed");
    /// let checked = verification.check_code(Some("kim"), "kim@example.com", &code, CodePurpose::SignUp);
    /// assert!(checked.await.expect("checked"));
    /// # }
    /// ```
    pub fn new(
        core: ServiceCore,
        users: Arc<dyn UserRepository>,
        codes: Arc<dyn CodeStore>,
        mailer: Arc<dyn Mailer>,
        hasher: Arc<dyn PasswordHasher>,
        revoker: SessionRevoker,
    ) -> Self {
        Self {
            core,
            users,
            codes,
            mailer,
            hasher,
            revoker,
        }
    }

    /// Sends a code for `purpose` to `email`.
    ///
    /// `SIGN_UP` needs an email no account has; a well-formed `login_id`
    /// binds the verification to it (see [`Self::check_code`]).
    /// `FORGET_PASSWORD` needs the login id and email of one account; when
    /// they match none, nothing is mailed and nothing stored for the email
    /// changes, but the answer (and the cooldown) are the same as for a
    /// match.
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
        let now = self.core.now();
        let policy = self.core.policy().codes;
        let (user_id, bound) = match purpose {
            CodePurpose::SignUp => {
                if self.users.by_email(&email).await?.is_some() {
                    return Err(SendCodeError::EmailTaken);
                }
                // A malformed login id binds nothing: no sign-up could use it.
                (None, login_id.and_then(|raw| LoginId::parse(raw).ok()))
            }
            CodePurpose::ForgetPassword => {
                let owner = self
                    .user_by_login_id(login_id)
                    .await?
                    .filter(|u| u.email == email);
                match owner {
                    Some(user) => (Some(user.id), None),
                    None => return self.decoy_send(login_id, &email, now).await,
                }
            }
        };
        let mut bytes = [0u8; 3];
        self.core.fill(&mut bytes);
        let code = PlainCode::from_random(bytes);
        let stored = StoredCode {
            email: email.clone(),
            purpose,
            user_id,
            login_id: bound,
            hash: code.hash(&email, purpose),
            sent_at: now,
            expires_at: now + policy.ttl,
            attempts: 0,
            verified_at: None,
            consumed_at: None,
        };
        if let PutOutcome::Cooldown(until) = self.codes.put(&stored, policy.resend_cooldown).await? {
            return Err(SendCodeError::Cooldown(until - now));
        }
        let mail = OutgoingMail::for_code(&email, &code, purpose, policy.ttl);
        if let Err(e) = self.mailer.send(&mail).await {
            self.codes.discard(&email, &stored.hash).await?;
            return Err(SendCodeError::MailUnavailable(e));
        }
        Ok(())
    }

    /// A `FORGET_PASSWORD` request that matches no account: answers like a
    /// match would, without touching the email's code (replacing it would
    /// let a stranger void the owner's pending code, and its cooldown would
    /// delay the owner's next request). The pair's own decoy cooldown
    /// decides instead, so repeating the request is refused as a repeated
    /// match is. The email's code is deliberately not read: if a mismatch
    /// were refused while that code is in its cooldown, a stranger could
    /// learn whether the previous pair they sent matched (it wrote the code)
    /// by sending a fresh pair right after it.
    async fn decoy_send(
        &self,
        login_id: Option<&str>,
        email: &Email,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), SendCodeError> {
        let cooldown = self.core.policy().codes.resend_cooldown;
        match self
            .codes
            .put_decoy(&DecoyKey::of(email, login_id), now, cooldown)
            .await?
        {
            PutOutcome::Stored => Ok(()),
            PutOutcome::Cooldown(until) => Err(SendCodeError::Cooldown(until - now)),
        }
    }

    /// Checks a code. `true` means: the code is the email's current code, of
    /// this purpose, unexpired, unused, with tries left, and — for
    /// `FORGET_PASSWORD` — of this login id's account, or — for `SIGN_UP` —
    /// bound to this login id or to none yet (a given login id then binds
    /// it). A right `SIGN_UP` code opens the sign-up of the bound login id
    /// for the email.
    ///
    /// A wrong code costs one try. The account and binding are decided
    /// before any comparison, so a caller naming another login id never
    /// spends the owner's tries; the comparison itself runs only after the
    /// store granted a try, so concurrent guesses cannot outrun the cap.
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
        let now = self.core.now();
        let policy = self.core.policy().codes;
        let Some(stored) = self.codes.get(&email).await? else {
            return Ok(false);
        };
        // A code of another purpose can never match (the hash covers the
        // purpose), so it is refused without spending a try.
        if stored.purpose != purpose || !stored.is_open(now, &policy) {
            return Ok(false);
        }
        let binding = match purpose {
            CodePurpose::SignUp => {
                let named = login_id.and_then(|raw| LoginId::parse(raw).ok());
                if stored.login_id.is_some() && stored.login_id != named {
                    return Ok(false);
                }
                named
            }
            CodePurpose::ForgetPassword => {
                let owner = self.user_by_login_id(login_id).await?.map(|u| u.id);
                if owner.is_none() || owner != stored.user_id {
                    return Ok(false);
                }
                None
            }
        };
        if !self
            .codes
            .reserve_attempt(&email, &stored.hash, now, policy.max_attempts)
            .await?
        {
            return Ok(false);
        }
        let matches = PlainCode::parse(code).is_some_and(|c| c.hash(&email, purpose) == stored.hash);
        if !matches {
            // The reserved try stays counted: it was the wrong try.
            return Ok(false);
        }
        self.codes
            .mark_verified(&email, &stored.hash, now, policy.max_attempts, binding.as_ref())
            .await
    }

    /// Resets a password with a `FORGET_PASSWORD` code: checks the policy,
    /// then the code (a reserved try, as in [`Self::check_code`]);
    /// stores the new hash, consumes the code, and revokes every session of
    /// the user.
    ///
    /// # Errors
    /// [`ResetError`].
    pub async fn reset_password(
        &self,
        account: AccountRef,
        code: &str,
        new_password: &str,
        caller: &Caller,
    ) -> Result<UserId, ResetError> {
        let password = self.core.policy().password.check(new_password)?;
        let user = match account {
            AccountRef::Id(id) => self.users.by_id(UserId::new(id)).await?,
            AccountRef::LoginId(raw) => self.user_by_login_id(Some(&raw)).await?,
        };
        let Some(user) = user else {
            return Err(ResetError::Denied);
        };
        let now = self.core.now();
        let policy = self.core.policy().codes;
        let Some(stored) = self.codes.get(&user.email).await? else {
            return Err(ResetError::Denied);
        };
        if stored.purpose != CodePurpose::ForgetPassword
            || stored.user_id != Some(user.id)
            || !stored.is_open(now, &policy)
        {
            return Err(ResetError::Denied);
        }
        if !self
            .codes
            .reserve_attempt(&user.email, &stored.hash, now, policy.max_attempts)
            .await?
        {
            return Err(ResetError::Denied);
        }
        let matches = PlainCode::parse(code)
            .is_some_and(|c| c.hash(&user.email, CodePurpose::ForgetPassword) == stored.hash);
        if !matches {
            return Err(ResetError::Denied);
        }
        let hash = self.hasher.hash(&password).await?;
        if !self
            .codes
            .consume(&user.email, &stored.hash, now, policy.max_attempts)
            .await?
        {
            return Err(ResetError::Denied);
        }
        self.users.set_password(user.id, &hash).await?;
        self.revoker
            .revoke_all_and_announce(user.id, RevokeReason::PasswordReset, now)
            .await?;
        self.core
            .audit(
                crate::audit::AuditKind::PasswordReset,
                Some(user.id),
                None,
                caller,
            )
            .await;
        Ok(user.id)
    }

    async fn user_by_login_id(&self, raw: Option<&str>) -> Result<Option<User>, PortError> {
        match raw.map(LoginId::parse) {
            Some(Ok(id)) => self.users.by_login_id(&id).await,
            _ => Ok(None),
        }
    }
}
