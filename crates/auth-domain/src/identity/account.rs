//! [`Accounts`], the account use cases: sign-up, withdrawal and
//! availability checks here, password login and the password gate in
//! [`super::login`].

use crate::audit::AuditKind;
use crate::caller::Caller;
use crate::error::PortError;
use crate::identity::accounts::Accounts;
use crate::identity::password::PolicyViolation;
use crate::identity::ports::InsertUserError;
use crate::identity::user::{DisplayName, Email, LoginId, NewUser, UniqueField, User};
use crate::sessions::session::RevokeReason;
use crate::verification::{CodePurpose, StoredCode};

use crate::identity::login::{GateError, Identifier, PasswordCheck};

/// A sign-up request, as typed by the user.
#[derive(Clone)]
pub struct SignUp {
    /// Wanted login id.
    pub login_id: String,
    /// Email.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Wanted password.
    pub password: String,
}

impl std::fmt::Debug for SignUp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignUp")
            .field("login_id", &self.login_id)
            .field("email", &self.email)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// Why a sign-up failed.
#[derive(Debug, thiserror::Error)]
pub enum SignUpError {
    /// The login id breaks the format rules.
    #[error("invalid login id")]
    InvalidLoginId,
    /// The email is not an address.
    #[error("invalid email")]
    InvalidEmail,
    /// The name is empty, too long or has control characters.
    #[error("invalid name")]
    InvalidName,
    /// The password breaks the password policy.
    #[error(transparent)]
    WeakPassword(#[from] PolicyViolation),
    /// Sign-up requires a checked `SIGN_UP` code for this email (within the
    /// window) and there is none.
    #[error("email not verified")]
    EmailNotVerified,
    /// The login id or email belongs to another account.
    #[error("duplicate {0:?}")]
    Duplicate(UniqueField),
    /// Infrastructure failure.
    #[error(transparent)]
    Internal(#[from] PortError),
}

/// Why a withdrawal failed.
#[derive(Debug, thiserror::Error)]
pub enum WithdrawError {
    /// No account has this login id.
    #[error("unknown user")]
    UnknownUser,
    /// The password does not match.
    #[error("wrong password")]
    WrongPassword,
    /// Too many failed password checks for this login id or from this IP:
    /// refused without checking the password.
    #[error("throttled")]
    Throttled {
        /// How long until a new attempt is accepted.
        retry_after: chrono::TimeDelta,
    },
    /// The password is right but an administrator disabled the account: a
    /// disabled account cannot delete itself (which would free its login
    /// id and email for a fresh sign-up). Only a verified password learns
    /// this, as at login.
    #[error("account disabled")]
    Disabled,
    /// Infrastructure failure.
    #[error(transparent)]
    Internal(#[from] PortError),
}

impl Accounts {
    /// Registers a user with a password. Validation happens first, then the
    /// sign-up gate is read (a `SIGN_UP` check bound to this login id,
    /// unless the policy turns the gate off), then the hash (before any
    /// write); then the gate's verification is spent in one conditional
    /// write — so one check admits one sign-up however many race — and one
    /// insert whose unique constraints decide duplicates.
    ///
    /// # Errors
    /// [`SignUpError`].
    pub async fn sign_up(&self, request: SignUp) -> Result<User, SignUpError> {
        let login_id = LoginId::parse(&request.login_id).map_err(|_| SignUpError::InvalidLoginId)?;
        let email = Email::parse(&request.email).map_err(|_| SignUpError::InvalidEmail)?;
        let name = DisplayName::parse(&request.name).map_err(|_| SignUpError::InvalidName)?;
        let password = self.core.policy().password.check(&request.password)?;
        let gate = if self.core.policy().codes.signup_requires_code {
            match self.signup_gate_open(&email, &login_id).await? {
                Some(code) => Some(code),
                None => return Err(self.gate_closed(&login_id, &email, false).await?),
            }
        } else {
            None
        };
        let hash = self.hasher.hash(&password).await?;
        if let Some(code) = gate
            && !self.claim_sign_up(&code, &login_id).await?
        {
            return Err(self.gate_closed(&login_id, &email, true).await?);
        }
        let new = NewUser {
            uuid: self.core.random_uuid(),
            login_id: Some(login_id),
            email,
            name,
            profile_image: None,
            password_hash: Some(hash),
            created_at: self.core.now(),
        };
        // The verification is spent even if the insert fails: a duplicate
        // means the bound login id or the email was taken meanwhile, so it
        // could not admit this sign-up again anyway; after an infrastructure
        // failure the user asks for a new code.
        self.users.insert(new).await.map_err(|e| match e {
            InsertUserError::Duplicate(field) => SignUpError::Duplicate(field),
            InsertUserError::Port(e) => SignUpError::Internal(e),
        })
    }

    /// Why the sign-up gate is closed for `login_id` and `email`. A taken
    /// id or email is reported as the document says (`이미 존재 하는 값`),
    /// not as an unverified email: a registered email can never get a
    /// `SIGN_UP` code. `lost_race`: the gate was open when read but another
    /// sign-up of the same login id spent it first — the same request sent
    /// twice — which is a duplicate too, even before that sign-up's insert
    /// is visible.
    async fn gate_closed(
        &self,
        login_id: &LoginId,
        email: &Email,
        lost_race: bool,
    ) -> Result<SignUpError, PortError> {
        if self.users.by_login_id(login_id).await?.is_some() {
            return Ok(SignUpError::Duplicate(UniqueField::LoginId));
        }
        if self.users.by_email(email).await?.is_some() {
            return Ok(SignUpError::Duplicate(UniqueField::Email));
        }
        if lost_race
            && self
                .codes
                .get(email)
                .await?
                .is_some_and(|c| c.login_id.as_ref() == Some(login_id) && c.consumed_at.is_some())
        {
            return Ok(SignUpError::Duplicate(UniqueField::Email));
        }
        Ok(SignUpError::EmailNotVerified)
    }

    /// Deletes an account after checking its password: every session is
    /// revoked, then the user's data is deleted. The password check goes
    /// through the same gate as every login (same account key, same IP
    /// counter). A disabled account is refused ([`WithdrawError::Disabled`]),
    /// also when it is disabled between the check and the delete: the
    /// delete is conditional on the flag
    /// ([`UserRepository::delete_enabled`](crate::identity::ports::UserRepository::delete_enabled)).
    ///
    /// # Errors
    /// [`WithdrawError`].
    pub async fn withdraw(
        &self,
        login_id: &str,
        password: &str,
        caller: &Caller,
    ) -> Result<(), WithdrawError> {
        let identifier = Identifier::LoginId(login_id.to_owned());
        let user = match self.check_password(&identifier, password, caller).await {
            Ok(PasswordCheck::Verified(user)) => user,
            Ok(PasswordCheck::UnknownUser) => return Err(WithdrawError::UnknownUser),
            Ok(PasswordCheck::WrongPassword) => return Err(WithdrawError::WrongPassword),
            Err(GateError::Throttled(retry_after)) => return Err(WithdrawError::Throttled { retry_after }),
            Err(GateError::Internal(e)) => return Err(WithdrawError::Internal(e)),
        };
        if user.disabled_at.is_some() {
            self.core
                .audit(AuditKind::LoginFailure, Some(user.id), None, caller)
                .await;
            return Err(WithdrawError::Disabled);
        }
        let now = self.core.now();
        self.issuer
            .revoker
            .revoke_all_and_announce(user.id, RevokeReason::Withdrawal, now)
            .await?;
        if !self.users.delete_enabled(user.id).await? {
            // Disabled (or already deleted) since the check: disabling
            // revokes the sessions too, and the account stays.
            return Err(WithdrawError::Disabled);
        }
        self.core
            .audit(AuditKind::Withdrawal, Some(user.id), None, caller)
            .await;
        Ok(())
    }

    /// Whether a login id is free for sign-up: well-formed and unused.
    ///
    /// # Errors
    /// [`PortError`] on infrastructure failure.
    pub async fn login_id_available(&self, raw: &str) -> Result<bool, PortError> {
        match LoginId::parse(raw) {
            Ok(id) => Ok(self.users.by_login_id(&id).await?.is_none()),
            Err(_) => Ok(false),
        }
    }

    /// Whether an email is free for sign-up: well-formed and unused.
    ///
    /// # Errors
    /// [`PortError`] on infrastructure failure.
    pub async fn email_available(&self, raw: &str) -> Result<bool, PortError> {
        match Email::parse(raw) {
            Ok(email) => Ok(self.users.by_email(&email).await?.is_none()),
            Err(_) => Ok(false),
        }
    }

    /// The sign-up gate, read before the password is hashed: the email
    /// passed a `SIGN_UP` check bound to `login_id` within the window and
    /// that check was not used yet. [`Self::claim_sign_up`] then spends it
    /// atomically.
    async fn signup_gate_open(
        &self,
        email: &Email,
        login_id: &LoginId,
    ) -> Result<Option<StoredCode>, PortError> {
        let now = self.core.now();
        let window = self.core.policy().codes.signup_window;
        Ok(self.codes.get(email).await?.filter(|c| {
            c.purpose == CodePurpose::SignUp
                && c.login_id.as_ref() == Some(login_id)
                && c.consumed_at.is_none()
                && c.verified_at.is_some_and(|t| now - t <= window)
        }))
    }

    /// Spends the verification `gate` for the sign-up of `login_id`, before
    /// the account is created. `false`: a concurrent sign-up spent it first,
    /// or it was replaced or its window closed since it was read.
    async fn claim_sign_up(&self, gate: &StoredCode, login_id: &LoginId) -> Result<bool, PortError> {
        let now = self.core.now();
        let since = now - self.core.policy().codes.signup_window;
        self.codes
            .consume_sign_up(&gate.email, &gate.hash, login_id, since, now)
            .await
    }
}
