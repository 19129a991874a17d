//! Password login, and the password gate every password check goes through.

use std::net::IpAddr;

use chrono::{DateTime, TimeDelta, Utc};

use crate::audit::AuditKind;
use crate::caller::Caller;
use crate::error::PortError;
use crate::identity::password::NewPassword;
use crate::identity::throttle::{LoginThrottle, Reservation, ThrottleState, ip_bucket};
use crate::identity::user::{Email, LoginId, User};
use crate::service_core::ServiceCore;
use crate::sessions::token::TokenPair;

use crate::identity::accounts::Accounts;
use crate::sessions::issuer::OpenError;

/// What the client logs in with.
#[derive(Debug, Clone)]
pub enum Identifier {
    /// A login id (`authId`, `username`, `userId`), as typed.
    LoginId(String),
    /// An email, as typed.
    Email(String),
}

/// A successful login.
#[derive(Debug, Clone)]
pub struct Login {
    /// Who logged in.
    pub user: User,
    /// The new session's tokens.
    pub tokens: TokenPair,
}

/// Why a login failed. Contracts that must not reveal whether an account
/// exists render both failure variants identically; the `account` contract's
/// document distinguishes them.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// No account has this identifier (one password verification was still
    /// spent, so timing does not tell).
    #[error("unknown user")]
    UnknownUser,
    /// The password does not match, or the account has no password.
    #[error("wrong password")]
    WrongPassword,
    /// Too many failed logins for this identifier or from this IP: refused
    /// without checking the password (whether or not the account exists).
    #[error("throttled")]
    Throttled {
        /// How long until a new attempt is accepted.
        retry_after: TimeDelta,
    },
    /// The password is right but an administrator disabled the account.
    /// Only a verified password learns this: a wrong one on a disabled
    /// account is [`LoginError::WrongPassword`], so disabling is no oracle.
    #[error("account disabled")]
    Disabled,
    /// The password is right and the account has a second factor: no
    /// session yet. The client finishes the login with the challenge's
    /// `mfaToken` ([`crate::factors::SecondFactors::verify`]); every
    /// contract answers 401 `추가 인증이 필요합니다.` with it.
    #[error("second factor required")]
    SecondFactor(crate::factors::Challenge),
    /// Infrastructure failure.
    #[error(transparent)]
    Internal(#[from] PortError),
}

impl From<OpenError> for LoginError {
    fn from(e: OpenError) -> Self {
        match e {
            OpenError::Disabled => Self::Disabled,
            OpenError::Internal(e) => Self::Internal(e),
        }
    }
}

impl Accounts {
    /// Logs in with an identifier and a password, creating a session.
    ///
    /// An identifier that cannot be valid is an unknown user. Exactly one
    /// password verification is spent whether or not the user exists,
    /// unless the identifier or the client IP is locked out: then none is.
    ///
    /// # Errors
    /// [`LoginError`].
    pub async fn login(
        &self,
        identifier: Identifier,
        password: &str,
        caller: &Caller,
    ) -> Result<Login, LoginError> {
        let user = match self.check_password(&identifier, password, caller).await? {
            PasswordCheck::Verified(user) => user,
            PasswordCheck::UnknownUser => return Err(LoginError::UnknownUser),
            PasswordCheck::WrongPassword => return Err(LoginError::WrongPassword),
        };
        if let Some(factors) = &self.second_factors {
            if user.disabled_at.is_some() {
                self.core
                    .audit(AuditKind::LoginFailure, Some(user.id), None, caller)
                    .await;
                return Err(LoginError::Disabled);
            }
            if let Some(challenge) = factors
                .challenge_for(&user, caller.contract, vec!["pwd".to_owned()])
                .await?
            {
                return Err(LoginError::SecondFactor(challenge));
            }
        }
        let tokens = match self
            .issuer
            .open_session(&user, caller, vec!["pwd".to_owned()])
            .await
        {
            Ok(tokens) => tokens,
            Err(e) => {
                if matches!(e, OpenError::Disabled) {
                    self.core
                        .audit(AuditKind::LoginFailure, Some(user.id), None, caller)
                        .await;
                }
                return Err(e.into());
            }
        };
        self.core
            .audit(
                AuditKind::LoginSuccess,
                Some(user.id),
                Some(tokens.access.claims.sid),
                caller,
            )
            .await;
        Ok(Login { user, tokens })
    }

    /// The password gate: every password check of the service (each
    /// contract's login, `account` withdrawal) goes through here, so they
    /// cannot disagree.
    ///
    /// 1. One attempt is reserved on the account key and the client's IP
    ///    bucket, atomically in the throttle store; a locked key refuses
    ///    with nothing verified. However many checks arrive at once, at most
    ///    the limit per key is ever verified in a window.
    /// 2. Exactly one verification is spent, against the account's hash or,
    ///    for an unknown identifier, the hasher's dummy (timing).
    /// 3. A failure stays counted and is audited. A success forgets the
    ///    account key's failures and gives the IP its attempt back (one
    ///    known password must not buy guesses at other accounts, nor cost
    ///    the IP anything). An infrastructure failure (the hashing queue is
    ///    full, the database is down) gives both attempts back: nothing was
    ///    checked.
    /// 4. A success against a foreign or outdated hash starts its upgrade
    ///    to the current argon2id parameters, off the answer's path
    ///    ([`Self::upgrade_password`]).
    pub(crate) async fn check_password(
        &self,
        identifier: &Identifier,
        password: &str,
        caller: &Caller,
    ) -> Result<PasswordCheck, GateError> {
        let keys = ThrottleKeys::new(identifier, caller.ip, self.core.policy().throttle.ipv6_prefix);
        let reserved = reserve_attempt(&self.core, self.throttle.as_ref(), &keys).await?;
        let checked = async {
            let user = self.find_by_identifier(identifier).await?;
            let hash = user.as_ref().and_then(|u| u.password_hash.as_ref());
            let verified = self.hasher.verify(password, hash).await?;
            Ok::<_, PortError>((user, verified))
        }
        .await;
        let (user, verified) = match checked {
            Ok(checked) => checked,
            Err(e) => {
                // Best effort: the caller gets the outage either way.
                let _ = release_attempts(&self.core, self.throttle.as_ref(), &keys, &reserved, true).await;
                return Err(GateError::Internal(e));
            }
        };
        match (user, verified) {
            (Some(user), true) => {
                release_attempts(&self.core, self.throttle.as_ref(), &keys, &reserved, false).await?;
                self.upgrade_password(&user, password);
                Ok(PasswordCheck::Verified(user))
            }
            (user, _) => {
                let user_id = user.as_ref().map(|u| u.id);
                self.core
                    .audit(AuditKind::LoginFailure, user_id, None, caller)
                    .await;
                Ok(match user {
                    None => PasswordCheck::UnknownUser,
                    Some(_) => PasswordCheck::WrongPassword,
                })
            }
        }
    }

    /// Step 4 of the gate, after a verified check: a password stored with a
    /// foreign scheme (bcrypt, PBKDF2, scrypt, argon2i/d) or with older
    /// argon2id parameters is re-hashed with the current ones and stored.
    ///
    /// It runs as a background task, so the login answers as fast as
    /// without it: the re-hash costs one argon2id run (as much as the check
    /// itself), which the user would otherwise wait for once, and which
    /// would double the hashing pool's work during a migration's first wave
    /// of logins. The store is conditional (`replace_password_hash`: only
    /// if the hash is still the one just verified), so a password changed
    /// meanwhile is never overwritten; if the hashing queue is full or the
    /// write fails, the old hash simply stays and the next login tries
    /// again. Nothing is lost either way: the password verified against the
    /// old hash, which is kept until the new one is stored in one write.
    fn upgrade_password(&self, user: &User, password: &str) {
        let Some(old) = user.password_hash.clone() else {
            return;
        };
        if !self.hasher.scheme(Some(&old)).needs_upgrade() {
            return;
        }
        let (hasher, users, core) = (self.hasher.clone(), self.users.clone(), self.core.clone());
        let id = user.id;
        let password = NewPassword::accepted(password);
        self.background.spawn(Box::pin(async move {
            let Ok(new) = hasher.hash(&password).await else {
                return;
            };
            if let Ok(true) = users.replace_password_hash(id, &old, &new).await {
                // The upgrade runs after the answer: its event records no
                // client, as it always has.
                core.audit(
                    AuditKind::PasswordUpgraded,
                    Some(id),
                    None,
                    &Caller::new("background"),
                )
                .await;
            }
        }));
    }

    pub(crate) async fn find_by_identifier(
        &self,
        identifier: &Identifier,
    ) -> Result<Option<User>, PortError> {
        match identifier {
            Identifier::LoginId(raw) => match LoginId::parse(raw) {
                Ok(id) => self.users.by_login_id(&id).await,
                Err(_) => Ok(None),
            },
            Identifier::Email(raw) => match Email::parse(raw) {
                Ok(email) => self.users.by_email(&email).await,
                Err(_) => Ok(None),
            },
        }
    }
}

/// Step 1 of the password gate, shared with the second step: one attempt
/// reserved on `keys` (atomically, before anything is checked), or `None`
/// when throttling is off.
pub(crate) async fn reserve_attempt(
    core: &ServiceCore,
    throttle: &dyn LoginThrottle,
    keys: &ThrottleKeys,
) -> Result<Option<Vec<ThrottleState>>, GateError> {
    let policy = &core.policy().throttle;
    if !policy.enabled {
        return Ok(None);
    }
    let now = core.now();
    let mut rules = vec![(keys.account.clone(), policy.account)];
    rules.extend(keys.ip.clone().map(|ip| (ip, policy.ip)));
    match throttle.reserve(&rules, now).await? {
        Reservation::Granted(states) => Ok(Some(states)),
        Reservation::Refused(until) => Err(GateError::Throttled(
            remaining(until, now).unwrap_or_else(|| TimeDelta::seconds(1)),
        )),
    }
}

/// Step 3 of the password gate, shared with the second step, after a
/// success (`all` false: the account key is reset, the IP's attempt given
/// back) or an outage (`all` true: both attempts given back).
pub(crate) async fn release_attempts(
    core: &ServiceCore,
    throttle: &dyn LoginThrottle,
    keys: &ThrottleKeys,
    reserved: &Option<Vec<ThrottleState>>,
    all: bool,
) -> Result<(), PortError> {
    let Some(states) = reserved else {
        return Ok(());
    };
    let policy = &core.policy().throttle;
    match (all, states.first()) {
        (true, Some(state)) => throttle.release(&keys.account, &policy.account, state).await?,
        _ => throttle.reset(&keys.account).await?,
    }
    if let (Some(ip), Some(state)) = (&keys.ip, states.get(1)) {
        throttle.release(ip, &policy.ip, state).await?;
    }
    Ok(())
}

/// What the password gate found.
#[derive(Debug)]
pub(crate) enum PasswordCheck {
    /// The password is the account's.
    Verified(User),
    /// No account has this identifier.
    UnknownUser,
    /// The account exists; the password is not its (or it has none).
    WrongPassword,
}

/// Why the password gate checked nothing.
#[derive(Debug)]
pub(crate) enum GateError {
    /// A key is locked for this long.
    Throttled(TimeDelta),
    /// Infrastructure failure.
    Internal(PortError),
}

impl From<PortError> for GateError {
    fn from(e: PortError) -> Self {
        Self::Internal(e)
    }
}

impl From<GateError> for LoginError {
    fn from(e: GateError) -> Self {
        match e {
            GateError::Throttled(retry_after) => Self::Throttled { retry_after },
            GateError::Internal(e) => Self::Internal(e),
        }
    }
}

/// The throttle keys of one password check.
#[derive(Debug, Clone)]
pub(crate) struct ThrottleKeys {
    /// `acct:` and the SHA-256 (hex) of `login:<id>` or `email:<email>`,
    /// normalized when valid. Hashed: what was typed (an unknown name, a
    /// password typed into the wrong field, a NUL) is never stored.
    pub(crate) account: String,
    /// `ip:<bucket>` (see [`ip_bucket`]), when the client IP is known.
    pub(crate) ip: Option<String>,
}

impl ThrottleKeys {
    /// The keys for an identifier as typed (normalized the way lookups are,
    /// whether or not an account has it) and a client IP.
    pub(crate) fn new(identifier: &Identifier, ip: Option<IpAddr>, ipv6_prefix: u8) -> Self {
        use sha2::Digest;
        let typed = match identifier {
            Identifier::LoginId(raw) => {
                let norm = LoginId::parse(raw)
                    .map_or_else(|_| raw.trim().to_lowercase(), |id| id.as_str().to_owned());
                format!("login:{norm}")
            }
            Identifier::Email(raw) => {
                let norm =
                    Email::parse(raw).map_or_else(|_| raw.trim().to_lowercase(), |e| e.as_str().to_owned());
                format!("email:{norm}")
            }
        };
        Self::with_account(
            format!("acct:{}", hex::encode(sha2::Sha256::digest(typed.as_bytes()))),
            ip,
            ipv6_prefix,
        )
    }

    /// The keys of another account key (the second step's `mfa:<uuid>`)
    /// and a client IP.
    pub(crate) fn with_account(account: String, ip: Option<IpAddr>, ipv6_prefix: u8) -> Self {
        Self {
            account,
            ip: ip.map(|ip| format!("ip:{}", ip_bucket(ip, ipv6_prefix))),
        }
    }
}

/// The time from `now` until `until`, if positive.
fn remaining(until: DateTime<Utc>, now: DateTime<Utc>) -> Option<TimeDelta> {
    let left = until - now;
    (left > TimeDelta::zero()).then_some(left)
}
