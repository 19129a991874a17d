//! The second step of a login, and passwordless passkey sign-in.
//!
//! A pending step is stored under the SHA-256 of its `mfaToken` (256
//! random bits, never an access token: it is not a JWT and no verifier
//! accepts it). Every check first reserves an attempt on the step (at most
//! [`MAX_ATTEMPTS`], counted atomically, so a parallel burst gets no more)
//! and one on the login throttle under the user's key and the client's IP
//! (so new tokens buy no new guesses); a success spends the step, once.

use chrono::TimeDelta;

use crate::audit::AuditKind;
use crate::caller::Caller;
use crate::error::PortError;
use crate::factors::enrol::normalize_recovery;
use crate::factors::ports::{PasskeyError, PendingCeremony, PendingSecondFactor, SecretHash, StoredPasskey};
use crate::factors::totp;
use crate::factors::{
    CEREMONY_TTL_SECONDS, CHALLENGE_TTL_SECONDS, Challenge, MAX_ATTEMPTS, Proof, SecondFactors, StepError,
    Verified, front_of, key_amr, passkey_target, random_hex,
};
use crate::identity::login::Login;
use crate::identity::login::{GateError, ThrottleKeys, release_attempts, reserve_attempt};
use crate::identity::throttle::ThrottleState;
use crate::identity::user::User;
use crate::oidc::provider::{BROWSER, BROWSER_SOCIAL};
use crate::sessions::issuer::OpenError;

/// The throttle reservation of one second-factor check.
pub(crate) struct Reserved {
    keys: ThrottleKeys,
    states: Option<Vec<ThrottleState>>,
}

impl SecondFactors {
    /// The second step a verified first step of `user` needs, if the user
    /// has a factor: a new pending step for front end `front`, whose first
    /// factor was `first_factor` (RFC 8176 values). `None` for a user
    /// without second factors: the login opens its session as before.
    ///
    /// # Errors
    /// An outage.
    pub async fn challenge_for(
        &self,
        user: &User,
        front: &str,
        first_factor: Vec<String>,
    ) -> Result<Option<Challenge>, PortError> {
        // Two reads for a user without factors (every login until one is
        // turned on); the recovery codes are counted only for the others.
        let store = &self.ports.store;
        let totp = store
            .totp(user.id)
            .await?
            .is_some_and(|t| t.confirmed_at.is_some());
        let passkeys = store.passkeys(user.id).await?;
        if !totp && passkeys.is_empty() {
            return Ok(None);
        }
        let status = crate::factors::MfaStatus {
            totp,
            passkeys,
            recovery_codes_left: store.recovery_codes_left(user.id).await?,
        };
        let token = random_hex(&self.core, 32);
        let now = self.core.now();
        self.ports
            .store
            .create_pending(&PendingSecondFactor {
                token_hash: SecretHash::of(&token),
                user_id: user.id,
                contract: front.to_owned(),
                first_factor,
                created_at: now,
                expires_at: now + TimeDelta::seconds(CHALLENGE_TTL_SECONDS),
                attempts: 0,
                passkey_state: None,
            })
            .await?;
        Ok(Some(Challenge {
            mfa_token: token,
            methods: status.methods(),
            expires_in: CHALLENGE_TTL_SECONDS,
        }))
    }

    /// The methods the user of a pending step can use (empty when the step
    /// is unknown or expired, or on an outage): what the hosted page offers.
    pub async fn pending_methods(&self, mfa_token: &str) -> Vec<&'static str> {
        let Ok(Some(pending)) = self
            .ports
            .store
            .pending(&SecretHash::of(mfa_token), self.core.now())
            .await
        else {
            return Vec::new();
        };
        self.status(pending.user_id)
            .await
            .map(|s| s.methods())
            .unwrap_or_default()
    }

    /// The passkey challenge of a pending step
    /// (`PublicKeyCredentialRequestOptions` for the user's passkeys).
    ///
    /// # Errors
    /// [`StepError::InvalidToken`], [`StepError::MethodUnavailable`] when
    /// the user has no passkey.
    pub async fn passkey_challenge(&self, mfa_token: &str) -> Result<String, StepError> {
        let hash = SecretHash::of(mfa_token);
        let pending = self
            .ports
            .store
            .pending(&hash, self.core.now())
            .await?
            .filter(|p| p.attempts < MAX_ATTEMPTS)
            .ok_or(StepError::InvalidToken)?;
        let passkeys = self.ports.store.passkeys(pending.user_id).await?;
        if passkeys.is_empty() {
            return Err(StepError::MethodUnavailable);
        }
        let start = self
            .ports
            .passkeys
            .start_authentication(&passkeys)
            .map_err(step_error)?;
        if !self.ports.store.set_passkey_state(&hash, &start.state).await? {
            return Err(StepError::InvalidToken);
        }
        Ok(start.options)
    }

    /// Finishes a pending step with a second factor and opens the session
    /// for the front end that started it. `hosted` says whether the hosted
    /// sign-in asks (it finishes only its own steps; the API only the
    /// contracts').
    ///
    /// # Errors
    /// [`StepError`].
    pub async fn verify(
        &self,
        mfa_token: &str,
        proof: Proof,
        hosted: bool,
        caller: &Caller,
    ) -> Result<Verified, StepError> {
        let proof = normalized(proof)?;
        let hash = SecretHash::of(mfa_token);
        let now = self.core.now();
        let pending = self
            .ports
            .store
            .pending(&hash, now)
            .await?
            .ok_or(StepError::InvalidToken)?;
        let front = front_of(&pending.contract).ok_or(StepError::InvalidToken)?;
        if hosted != (front == BROWSER || front == BROWSER_SOCIAL) {
            return Err(StepError::InvalidToken);
        }
        let user = self
            .users
            .by_id(pending.user_id)
            .await?
            .ok_or(StepError::InvalidToken)?;
        let reserved = self.reserve(&user, caller).await?;
        let Some(pending) = self.ports.store.reserve_attempt(&hash, MAX_ATTEMPTS, now).await? else {
            return Err(StepError::InvalidToken);
        };
        let method_amr = match self.check(&user, &pending, &proof, caller).await {
            Ok(amr) => amr,
            Err(e) => {
                let what = proof.method().to_owned();
                self.core
                    .audit_admin(AuditKind::MfaFailure, Some(user.id), None, what, caller)
                    .await;
                return Err(e);
            }
        };
        if !self.ports.store.spend_pending(&hash).await? {
            return Err(StepError::InvalidToken);
        }
        self.release(&reserved).await?;
        let mut amr = pending.first_factor.clone();
        amr.push(method_amr.0.to_owned());
        amr.push("mfa".to_owned());
        self.core
            .audit_admin(AuditKind::MfaSuccess, Some(user.id), None, method_amr.1, caller)
            .await;
        let login = self.open(user, front, amr, caller).await?;
        Ok(Verified { front, login })
    }

    /// Whether passkeys are on (the relying party is configured): whether
    /// a page offers passwordless passkey sign-in.
    pub fn passkeys_available(&self) -> bool {
        self.ports.passkeys.available()
    }

    /// Options for a passwordless passkey sign-in (any discoverable
    /// credential of this relying party; user verification required).
    ///
    /// # Errors
    /// An outage or an unusable relying party.
    pub async fn start_passkey_login(&self) -> Result<String, StepError> {
        let start = self
            .ports
            .passkeys
            .start_authentication(&[])
            .map_err(step_error)?;
        let challenge = self
            .ports
            .passkeys
            .challenge_of(&start.options)
            .map_err(step_error)?;
        self.ports
            .store
            .put_ceremony(&PendingCeremony {
                id_hash: login_key(&challenge),
                user_id: None,
                state: start.state,
                expires_at: self.core.now() + TimeDelta::seconds(CEREMONY_TTL_SECONDS),
            })
            .await?;
        Ok(start.options)
    }

    /// Finishes a passwordless passkey sign-in and opens a session for
    /// `front`: a contract's, or the hosted sign-in's browser session
    /// ([`BROWSER`], which `Provider::adopt` turns into the single-sign-on
    /// session). The ceremony is spent whatever the outcome.
    ///
    /// # Errors
    /// [`StepError`]: an unknown or expired ceremony, a credential nobody
    /// registered, a refused assertion.
    pub async fn finish_passkey_login(
        &self,
        credential: &str,
        front: &'static str,
        caller: &Caller,
    ) -> Result<Login, StepError> {
        let challenge = self.ports.passkeys.challenge_of(credential).map_err(step_error)?;
        let now = self.core.now();
        let ceremony = self
            .ports
            .store
            .take_ceremony(&login_key(&challenge), now)
            .await?
            .filter(|c| c.user_id.is_none())
            .ok_or(StepError::UnknownCeremony)?;
        let passkey = self.claimed_passkey(credential).await?.ok_or(StepError::Wrong)?;
        let user = self.users.by_id(passkey.user_id).await?.ok_or(StepError::Wrong)?;
        self.assert(&user, &passkey, &ceremony.state, credential, caller)
            .await?;
        self.core
            .audit_admin(
                AuditKind::PasskeyLogin,
                Some(user.id),
                None,
                passkey_target(passkey.id),
                caller,
            )
            .await;
        self.open(
            user,
            front,
            vec![key_amr(&passkey).to_owned(), "mfa".to_owned()],
            caller,
        )
        .await
    }

    /// Checks `proof` for `user`'s pending step: the RFC 8176 value of the
    /// method and the audit target, or why not.
    async fn check(
        &self,
        user: &User,
        pending: &PendingSecondFactor,
        proof: &Proof,
        caller: &Caller,
    ) -> Result<(&'static str, String), StepError> {
        match proof {
            Proof::Totp(code) => {
                if self.spend_totp(user.id, code).await? {
                    Ok(("otp", "totp".into()))
                } else {
                    Err(StepError::Wrong)
                }
            }
            Proof::Recovery(code) => {
                let spent = self
                    .ports
                    .store
                    .spend_recovery_code(user.id, &SecretHash::of(code), self.core.now())
                    .await?;
                if spent {
                    Ok(("otp", "recovery".into()))
                } else {
                    Err(StepError::Wrong)
                }
            }
            Proof::Passkey(credential) => {
                let state = pending
                    .passkey_state
                    .as_deref()
                    .ok_or(StepError::MethodUnavailable)?;
                // Another user's credential never completes this login.
                let passkey = self
                    .claimed_passkey(credential)
                    .await?
                    .filter(|p| p.user_id == user.id)
                    .ok_or(StepError::Wrong)?;
                self.assert(user, &passkey, state, credential, caller).await?;
                Ok((key_amr(&passkey), passkey_target(passkey.id)))
            }
        }
    }

    /// The stored passkey an assertion claims to be (by its credential id),
    /// whoever's it is; `None` when nobody registered it.
    async fn claimed_passkey(&self, credential: &str) -> Result<Option<StoredPasskey>, StepError> {
        let id = self
            .ports
            .passkeys
            .credential_id(credential)
            .map_err(step_error)?;
        Ok(self.ports.store.passkey_by_credential(&id).await?)
    }

    /// Verifies a passkey assertion and records its use (the new counter).
    async fn assert(
        &self,
        user: &User,
        passkey: &StoredPasskey,
        state: &str,
        credential: &str,
        caller: &Caller,
    ) -> Result<(), StepError> {
        match self
            .ports
            .passkeys
            .finish_authentication(state, credential, passkey, user.uuid)
        {
            Ok(verified) => {
                self.ports
                    .store
                    .record_passkey_use(passkey.id, &verified.data, self.core.now())
                    .await?;
                Ok(())
            }
            Err(PasskeyError::CounterRegressed) => {
                self.core
                    .audit_admin(
                        AuditKind::PasskeyCounterRegressed,
                        Some(user.id),
                        None,
                        passkey_target(passkey.id),
                        caller,
                    )
                    .await;
                Err(StepError::Wrong)
            }
            Err(e) => Err(step_error(e)),
        }
    }

    /// Opens the session of a finished login for `front`.
    async fn open(
        &self,
        user: User,
        front: &'static str,
        amr: Vec<String>,
        caller: &Caller,
    ) -> Result<Login, StepError> {
        let caller = Caller {
            contract: front,
            ..caller.clone()
        };
        let tokens = match self.issuer.open_session(&user, &caller, amr).await {
            Ok(tokens) => tokens,
            Err(OpenError::Disabled) => return Err(StepError::Disabled),
            Err(OpenError::Internal(e)) => return Err(e.into()),
        };
        self.core
            .audit(
                AuditKind::LoginSuccess,
                Some(user.id),
                Some(tokens.access.claims.sid),
                &caller,
            )
            .await;
        Ok(Login { user, tokens })
    }

    /// Reserves one second-factor check on the login throttle, through the
    /// password gate's own reservation: the user's key (`mfa:<uuid>`, the
    /// account rule) and the client's IP bucket.
    pub(crate) async fn reserve(&self, user: &User, caller: &Caller) -> Result<Reserved, StepError> {
        let keys = ThrottleKeys::with_account(
            format!("mfa:{}", user.uuid),
            caller.ip,
            self.core.policy().throttle.ipv6_prefix,
        );
        match reserve_attempt(&self.core, self.throttle.as_ref(), &keys).await {
            Ok(states) => Ok(Reserved { keys, states }),
            Err(GateError::Throttled(retry_after)) => Err(StepError::Throttled { retry_after }),
            Err(GateError::Internal(e)) => Err(e.into()),
        }
    }

    /// After a success: the user's failures are forgotten, the IP gets its
    /// attempt back.
    pub(crate) async fn release(&self, reserved: &Reserved) -> Result<(), PortError> {
        release_attempts(
            &self.core,
            self.throttle.as_ref(),
            &reserved.keys,
            &reserved.states,
            false,
        )
        .await
    }
}

/// The proof with its code normalized, or why it cannot be one.
fn normalized(proof: Proof) -> Result<Proof, StepError> {
    match proof {
        Proof::Totp(code) => totp::normalize_code(&code)
            .map(Proof::Totp)
            .ok_or(StepError::MalformedCode),
        Proof::Recovery(code) => normalize_recovery(&code)
            .map(Proof::Recovery)
            .ok_or(StepError::MalformedCode),
        Proof::Passkey(credential) if credential.trim().is_empty() => Err(StepError::MalformedCredential),
        proof @ Proof::Passkey(_) => Ok(proof),
    }
}

/// The key of a passwordless sign-in ceremony: its challenge.
fn login_key(challenge: &str) -> SecretHash {
    SecretHash::of(&format!("login:{challenge}"))
}

/// A ceremony refusal as a step error.
pub(crate) fn step_error(e: PasskeyError) -> StepError {
    match e {
        PasskeyError::Malformed => StepError::MalformedCredential,
        PasskeyError::Refused(_) | PasskeyError::CounterRegressed => StepError::Wrong,
        PasskeyError::NotConfigured => StepError::MethodUnavailable,
        PasskeyError::Internal(e) => StepError::Internal(e),
    }
}
