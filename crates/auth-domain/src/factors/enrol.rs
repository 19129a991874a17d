//! Turning second factors on and off, by the signed-in user (and off by an
//! administrator).

use crate::audit::AuditKind;
use crate::caller::Caller;
use crate::error::PortError;
use crate::factors::ports::{PasskeyError, PasskeyUser, PendingCeremony, SecretHash, StoredPasskey};
use crate::factors::totp;
use crate::factors::{
    CEREMONY_TTL_SECONDS, FactorError, MAX_PASSKEY_NAME, MfaStatus, RECOVERY_CODES, SecondFactors,
    TotpEnrollment, passkey_target,
};
use crate::identity::user::{User, UserId};
use crate::sessions::session::SessionId;
use chrono::TimeDelta;
use uuid::Uuid;

/// The alphabet of recovery codes (RFC 4648 base32, lower case).
const RECOVERY_ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
/// Characters of a recovery code (80 bits), shown in groups of four.
const RECOVERY_CHARS: usize = 16;

impl SecondFactors {
    /// The user and session behind an access token, if the session is live
    /// and the account enabled: who enrolment acts for.
    ///
    /// # Errors
    /// [`FactorError::Unauthenticated`], or an outage.
    pub async fn authenticate(&self, access_token: &str) -> Result<(User, SessionId), FactorError> {
        let now = self.core.now();
        let claims = self
            .issuer
            .tokens
            .verify_access(access_token, now, false)
            .map_err(|_| FactorError::Unauthenticated)?;
        let live = self
            .issuer
            .sessions()
            .get(claims.sid)
            .await?
            .is_some_and(|s| s.is_live());
        let user = self.users.by_uuid(claims.sub).await?;
        match user {
            Some(user) if live && user.disabled_at.is_none() => Ok((user, claims.sid)),
            _ => Err(FactorError::Unauthenticated),
        }
    }

    /// The user's factors.
    ///
    /// # Errors
    /// An outage.
    pub async fn status(&self, user: UserId) -> Result<MfaStatus, PortError> {
        MfaStatus::read(self.ports.store.as_ref(), user).await
    }

    /// Starts a TOTP enrolment with a new 160-bit secret (replacing one
    /// pending); `issuer` labels it in the user's app.
    ///
    /// # Errors
    /// [`FactorError::AlreadyEnrolled`] when one is on.
    pub async fn enroll_totp(&self, user: &User, issuer: &str) -> Result<TotpEnrollment, FactorError> {
        let mut secret = [0u8; totp::SECRET_BYTES];
        self.core.fill(&mut secret);
        if !self
            .ports
            .store
            .begin_totp(user.id, &secret, self.core.now())
            .await?
        {
            return Err(FactorError::AlreadyEnrolled);
        }
        let account = user
            .login_id
            .as_ref()
            .map_or_else(|| user.email.as_str().to_owned(), |l| l.as_str().to_owned());
        Ok(TotpEnrollment {
            secret: totp::base32(&secret),
            otpauth_uri: totp::otpauth_uri(issuer, &account, &secret),
        })
    }

    /// Turns the pending authenticator on with its first code. Returns the
    /// recovery codes when it is the user's first factor.
    ///
    /// # Errors
    /// [`FactorError`]: no enrolment pending, one already on, a malformed or
    /// wrong code.
    pub async fn confirm_totp(
        &self,
        user: &User,
        code: &str,
        caller: &Caller,
    ) -> Result<Option<Vec<String>>, FactorError> {
        let code = totp::normalize_code(code).ok_or(FactorError::MalformedCode)?;
        let record = self
            .ports
            .store
            .totp(user.id)
            .await?
            .ok_or(FactorError::NothingPending)?;
        if record.confirmed_at.is_some() {
            return Err(FactorError::AlreadyEnrolled);
        }
        let now = self.core.now();
        let step = totp::matching_step(&record.secret, &code, now).ok_or(FactorError::WrongCode)?;
        let first = !self.status(user.id).await?.enrolled();
        if !self
            .ports
            .store
            .confirm_totp(user.id, &record.secret, step, now)
            .await?
        {
            return Err(FactorError::NothingPending);
        }
        self.core
            .audit_admin(AuditKind::MfaEnroll, Some(user.id), None, "totp".into(), caller)
            .await;
        self.first_recovery_codes(user.id, first).await
    }

    /// Turns the authenticator off, given a current second factor (a TOTP
    /// code or a recovery code). With no factor left, the recovery codes go
    /// too.
    ///
    /// # Errors
    /// [`FactorError`].
    pub async fn disable_totp(&self, user: &User, code: &str, caller: &Caller) -> Result<(), FactorError> {
        let status = self.status(user.id).await?;
        if !status.totp {
            return Err(FactorError::NotEnrolled);
        }
        self.check_current_factor(user, code, caller).await?;
        self.ports.store.delete_totp(user.id).await?;
        if status.passkeys.is_empty() {
            self.ports
                .store
                .replace_recovery_codes(user.id, &[], self.core.now())
                .await?;
        }
        self.core
            .audit_admin(AuditKind::MfaRemove, Some(user.id), None, "totp".into(), caller)
            .await;
        Ok(())
    }

    /// A new set of recovery codes (the old set stops working), given a
    /// current second factor.
    ///
    /// # Errors
    /// [`FactorError`]: [`FactorError::NotEnrolled`] without a factor.
    pub async fn regenerate_recovery_codes(
        &self,
        user: &User,
        code: &str,
        caller: &Caller,
    ) -> Result<Vec<String>, FactorError> {
        if !self.status(user.id).await?.enrolled() {
            return Err(FactorError::NotEnrolled);
        }
        self.check_current_factor(user, code, caller).await?;
        let codes = self.new_recovery_codes(user.id).await?;
        self.core
            .audit_admin(
                AuditKind::MfaRecoveryCodes,
                Some(user.id),
                None,
                "recovery".into(),
                caller,
            )
            .await;
        Ok(codes)
    }

    /// Options to register a passkey (one registration per user at a time;
    /// a new start replaces the previous one).
    ///
    /// # Errors
    /// An outage or an unusable relying party.
    pub async fn start_passkey_registration(&self, user: &User) -> Result<String, FactorError> {
        let existing = self.ports.store.passkeys(user.id).await?;
        let who = PasskeyUser {
            handle: user.uuid,
            name: user
                .login_id
                .as_ref()
                .map_or_else(|| user.email.as_str().to_owned(), |l| l.as_str().to_owned()),
            display_name: if user.name.trim().is_empty() {
                user.email.as_str().to_owned()
            } else {
                user.name.clone()
            },
        };
        let start = self
            .ports
            .passkeys
            .start_registration(&who, &existing)
            .map_err(factor_error)?;
        let ceremony = PendingCeremony {
            id_hash: registration_key(user),
            user_id: Some(user.id),
            state: start.state,
            expires_at: self.core.now() + TimeDelta::seconds(CEREMONY_TTL_SECONDS),
        };
        // A previous registration of this user is replaced.
        let _ = self
            .ports
            .store
            .take_ceremony(&ceremony.id_hash, self.core.now())
            .await?;
        self.ports.store.put_ceremony(&ceremony).await?;
        Ok(start.options)
    }

    /// Finishes a passkey registration. Returns the passkey's id and, when
    /// it is the user's first factor, the recovery codes.
    ///
    /// # Errors
    /// [`FactorError`]: a blank or long name, no registration started, a
    /// credential that does not answer it or is already registered.
    pub async fn finish_passkey_registration(
        &self,
        user: &User,
        name: &str,
        credential: &str,
        caller: &Caller,
    ) -> Result<(Uuid, Option<Vec<String>>), FactorError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > MAX_PASSKEY_NAME || name.chars().any(char::is_control) {
            return Err(FactorError::InvalidName);
        }
        let now = self.core.now();
        let ceremony = self
            .ports
            .store
            .take_ceremony(&registration_key(user), now)
            .await?
            .filter(|c| c.user_id == Some(user.id))
            .ok_or(FactorError::CredentialRefused(
                "no passkey registration was started",
            ))?;
        let registered = self
            .ports
            .passkeys
            .finish_registration(&ceremony.state, credential)
            .map_err(factor_error)?;
        let first = !self.status(user.id).await?.enrolled();
        let passkey = StoredPasskey {
            id: self.core.random_uuid(),
            user_id: user.id,
            credential_id: registered.credential_id,
            name: name.to_owned(),
            data: registered.data,
            backup_eligible: registered.backup_eligible,
            created_at: now,
            last_used_at: None,
        };
        if !self.ports.store.add_passkey(&passkey).await? {
            return Err(FactorError::CredentialRefused(
                "this passkey is already registered",
            ));
        }
        self.core
            .audit_admin(
                AuditKind::MfaEnroll,
                Some(user.id),
                None,
                passkey_target(passkey.id),
                caller,
            )
            .await;
        Ok((passkey.id, self.first_recovery_codes(user.id, first).await?))
    }

    /// Removes one of the user's passkeys. With no factor left, the
    /// recovery codes go too.
    ///
    /// # Errors
    /// [`FactorError::UnknownPasskey`].
    pub async fn delete_passkey(&self, user: &User, id: Uuid, caller: &Caller) -> Result<(), FactorError> {
        if !self.ports.store.delete_passkey(user.id, id).await? {
            return Err(FactorError::UnknownPasskey);
        }
        if !self.status(user.id).await?.enrolled() {
            self.ports
                .store
                .replace_recovery_codes(user.id, &[], self.core.now())
                .await?;
        }
        self.core
            .audit_admin(
                AuditKind::MfaRemove,
                Some(user.id),
                None,
                passkey_target(id),
                caller,
            )
            .await;
        Ok(())
    }

    /// Checks a current second factor given as one code: six digits are a
    /// TOTP code (its time step spent), anything else a recovery code
    /// (spent). Wrong codes count on the login throttle of the user.
    async fn check_current_factor(
        &self,
        user: &User,
        code: &str,
        caller: &Caller,
    ) -> Result<(), FactorError> {
        let reserved = self.reserve(user, caller).await.map_err(|e| match e {
            crate::factors::StepError::Throttled { retry_after } => FactorError::Throttled { retry_after },
            crate::factors::StepError::Internal(e) => FactorError::Internal(e),
            _ => FactorError::WrongCode,
        })?;
        let ok = if let Some(code) = totp::normalize_code(code) {
            self.spend_totp(user.id, &code).await?
        } else {
            let code = normalize_recovery(code).ok_or(FactorError::MalformedCode)?;
            self.ports
                .store
                .spend_recovery_code(user.id, &SecretHash::of(&code), self.core.now())
                .await?
        };
        if !ok {
            self.core
                .audit_admin(AuditKind::MfaFailure, Some(user.id), None, "code".into(), caller)
                .await;
            return Err(FactorError::WrongCode);
        }
        self.release(&reserved).await?;
        Ok(())
    }

    /// Checks a TOTP code against the confirmed authenticator and spends
    /// its step: false when wrong, replayed or without an authenticator.
    pub(crate) async fn spend_totp(&self, user: UserId, code: &str) -> Result<bool, PortError> {
        let Some(record) = self.ports.store.totp(user).await? else {
            return Ok(false);
        };
        if record.confirmed_at.is_none() {
            return Ok(false);
        }
        match totp::matching_step(&record.secret, code, self.core.now()) {
            Some(step) => self.ports.store.spend_totp_step(user, step).await,
            None => Ok(false),
        }
    }

    async fn first_recovery_codes(
        &self,
        user: UserId,
        first: bool,
    ) -> Result<Option<Vec<String>>, FactorError> {
        if !first {
            return Ok(None);
        }
        Ok(Some(self.new_recovery_codes(user).await?))
    }

    async fn new_recovery_codes(&self, user: UserId) -> Result<Vec<String>, PortError> {
        let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| self.recovery_code()).collect();
        let hashes: Vec<SecretHash> = codes
            .iter()
            .filter_map(|c| normalize_recovery(c))
            .map(|c| SecretHash::of(&c))
            .collect();
        self.ports
            .store
            .replace_recovery_codes(user, &hashes, self.core.now())
            .await?;
        Ok(codes)
    }

    /// `abcd-efgh-ijkl-mnop`: 80 random bits.
    fn recovery_code(&self) -> String {
        let mut bytes = [0u8; RECOVERY_CHARS];
        self.core.fill(&mut bytes);
        let chars: Vec<char> = bytes
            .iter()
            .map(|b| char::from(RECOVERY_ALPHABET[usize::from(b & 31)]))
            .collect();
        chars
            .chunks(4)
            .map(|c| c.iter().collect::<String>())
            .collect::<Vec<_>>()
            .join("-")
    }
}

/// A recovery code as stored: lower case, without dashes and spaces; `None`
/// unless it has the shape of one.
pub(crate) fn normalize_recovery(raw: &str) -> Option<String> {
    let code: String = raw
        .chars()
        .filter(|c| *c != '-' && *c != ' ')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    (code.len() == RECOVERY_CHARS && code.bytes().all(|b| RECOVERY_ALPHABET.contains(&b))).then_some(code)
}

/// The key of a user's registration ceremony (one at a time).
fn registration_key(user: &User) -> SecretHash {
    SecretHash::of(&format!("register:{}", user.uuid))
}

/// A ceremony refusal as an enrolment error.
pub(crate) fn factor_error(e: PasskeyError) -> FactorError {
    match e {
        PasskeyError::Malformed => FactorError::MalformedCredential,
        PasskeyError::Refused(why) => FactorError::CredentialRefused(why),
        PasskeyError::CounterRegressed => FactorError::CredentialRefused("signature counter went backwards"),
        PasskeyError::NotConfigured => FactorError::PasskeysOff,
        PasskeyError::Internal(e) => FactorError::Internal(e),
    }
}
