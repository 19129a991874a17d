//! In-memory fakes of the second factors' ports: [`MemFactors`] (the
//! store) and [`FakePasskeys`] (a relying party whose "credentials" are
//! readable strings, `cred|<id hex>|<challenge>|<counter>|<user uuid>`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::error::PortError;
use crate::factors::FactorPorts;
use crate::factors::ports::{
    CeremonyStart, FactorStore, PasskeyCeremony, PasskeyError, PasskeyUser, PendingCeremony,
    PendingSecondFactor, RegisteredPasskey, SecretHash, StoredPasskey, TotpRecord, VerifiedAssertion,
};
use crate::identity::user::UserId;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The factor store in maps (one lock: every method is atomic).
#[derive(Debug, Default)]
pub struct MemFactors(Mutex<Factors>);

/// What [`MemFactors`] holds.
#[derive(Debug, Default)]
pub struct Factors {
    /// Authenticators by user.
    pub totp: HashMap<UserId, TotpRecord>,
    /// Recovery codes: (user, hash, spent).
    pub recovery: Vec<(UserId, SecretHash, bool)>,
    /// Passkeys.
    pub passkeys: Vec<StoredPasskey>,
    /// Pending steps.
    pub pending: Vec<PendingSecondFactor>,
    /// Ceremonies.
    pub ceremonies: Vec<PendingCeremony>,
}

impl MemFactors {
    /// A look at what is stored.
    pub fn with<R>(&self, f: impl FnOnce(&mut Factors) -> R) -> R {
        f(&mut lock(&self.0))
    }
}

#[async_trait]
impl FactorStore for MemFactors {
    async fn totp(&self, user: UserId) -> Result<Option<TotpRecord>, PortError> {
        Ok(lock(&self.0).totp.get(&user).cloned())
    }
    async fn begin_totp(&self, user: UserId, secret: &[u8], now: DateTime<Utc>) -> Result<bool, PortError> {
        let mut f = lock(&self.0);
        if f.totp.get(&user).is_some_and(|t| t.confirmed_at.is_some()) {
            return Ok(false);
        }
        f.totp.insert(
            user,
            TotpRecord {
                secret: secret.to_vec(),
                confirmed_at: None,
                last_step: None,
                created_at: now,
            },
        );
        Ok(true)
    }
    async fn confirm_totp(
        &self,
        user: UserId,
        secret: &[u8],
        step: i64,
        now: DateTime<Utc>,
    ) -> Result<bool, PortError> {
        let mut f = lock(&self.0);
        match f.totp.get_mut(&user) {
            Some(t) if t.confirmed_at.is_none() && t.secret == secret => {
                t.confirmed_at = Some(now);
                t.last_step = Some(step);
                Ok(true)
            }
            _ => Ok(false),
        }
    }
    async fn spend_totp_step(&self, user: UserId, step: i64) -> Result<bool, PortError> {
        let mut f = lock(&self.0);
        match f.totp.get_mut(&user) {
            Some(t) if t.confirmed_at.is_some() && t.last_step.is_none_or(|l| l < step) => {
                t.last_step = Some(step);
                Ok(true)
            }
            _ => Ok(false),
        }
    }
    async fn delete_totp(&self, user: UserId) -> Result<bool, PortError> {
        Ok(lock(&self.0).totp.remove(&user).is_some())
    }
    async fn replace_recovery_codes(
        &self,
        user: UserId,
        hashes: &[SecretHash],
        _now: DateTime<Utc>,
    ) -> Result<(), PortError> {
        let mut f = lock(&self.0);
        f.recovery.retain(|(u, _, _)| *u != user);
        f.recovery.extend(hashes.iter().map(|h| (user, h.clone(), false)));
        Ok(())
    }
    async fn spend_recovery_code(
        &self,
        user: UserId,
        hash: &SecretHash,
        _now: DateTime<Utc>,
    ) -> Result<bool, PortError> {
        let mut f = lock(&self.0);
        match f
            .recovery
            .iter_mut()
            .find(|(u, h, spent)| *u == user && h == hash && !spent)
        {
            Some(code) => {
                code.2 = true;
                Ok(true)
            }
            None => Ok(false),
        }
    }
    async fn recovery_codes_left(&self, user: UserId) -> Result<u32, PortError> {
        let f = lock(&self.0);
        Ok(f.recovery
            .iter()
            .filter(|(u, _, spent)| *u == user && !spent)
            .count() as u32)
    }
    async fn passkeys(&self, user: UserId) -> Result<Vec<StoredPasskey>, PortError> {
        Ok(lock(&self.0)
            .passkeys
            .iter()
            .filter(|p| p.user_id == user)
            .cloned()
            .collect())
    }
    async fn passkey_by_credential(&self, credential_id: &[u8]) -> Result<Option<StoredPasskey>, PortError> {
        Ok(lock(&self.0)
            .passkeys
            .iter()
            .find(|p| p.credential_id == credential_id)
            .cloned())
    }
    async fn add_passkey(&self, passkey: &StoredPasskey) -> Result<bool, PortError> {
        let mut f = lock(&self.0);
        if f.passkeys
            .iter()
            .any(|p| p.credential_id == passkey.credential_id)
        {
            return Ok(false);
        }
        f.passkeys.push(passkey.clone());
        Ok(true)
    }
    async fn record_passkey_use(&self, id: Uuid, data: &str, now: DateTime<Utc>) -> Result<bool, PortError> {
        let mut f = lock(&self.0);
        match f.passkeys.iter_mut().find(|p| p.id == id) {
            Some(p) => {
                p.data = data.to_owned();
                p.last_used_at = Some(now);
                Ok(true)
            }
            None => Ok(false),
        }
    }
    async fn delete_passkey(&self, user: UserId, id: Uuid) -> Result<bool, PortError> {
        let mut f = lock(&self.0);
        let before = f.passkeys.len();
        f.passkeys.retain(|p| !(p.user_id == user && p.id == id));
        Ok(f.passkeys.len() != before)
    }
    async fn delete_all(&self, user: UserId) -> Result<bool, PortError> {
        let mut f = lock(&self.0);
        let had = f.totp.remove(&user).is_some()
            | f.recovery.iter().any(|(u, _, _)| *u == user)
            | f.passkeys.iter().any(|p| p.user_id == user);
        f.recovery.retain(|(u, _, _)| *u != user);
        f.passkeys.retain(|p| p.user_id != user);
        f.pending.retain(|p| p.user_id != user);
        f.ceremonies.retain(|c| c.user_id != Some(user));
        Ok(had)
    }
    async fn create_pending(&self, pending: &PendingSecondFactor) -> Result<(), PortError> {
        lock(&self.0).pending.push(pending.clone());
        Ok(())
    }
    async fn reserve_attempt(
        &self,
        hash: &SecretHash,
        max_attempts: u32,
        now: DateTime<Utc>,
    ) -> Result<Option<PendingSecondFactor>, PortError> {
        let mut f = lock(&self.0);
        match f
            .pending
            .iter_mut()
            .find(|p| &p.token_hash == hash && p.expires_at > now && p.attempts < max_attempts)
        {
            Some(p) => {
                p.attempts += 1;
                Ok(Some(p.clone()))
            }
            None => Ok(None),
        }
    }
    async fn pending(
        &self,
        hash: &SecretHash,
        now: DateTime<Utc>,
    ) -> Result<Option<PendingSecondFactor>, PortError> {
        Ok(lock(&self.0)
            .pending
            .iter()
            .find(|p| &p.token_hash == hash && p.expires_at > now)
            .cloned())
    }
    async fn set_passkey_state(&self, hash: &SecretHash, state: &str) -> Result<bool, PortError> {
        let mut f = lock(&self.0);
        match f.pending.iter_mut().find(|p| &p.token_hash == hash) {
            Some(p) => {
                p.passkey_state = Some(state.to_owned());
                Ok(true)
            }
            None => Ok(false),
        }
    }
    async fn spend_pending(&self, hash: &SecretHash) -> Result<bool, PortError> {
        let mut f = lock(&self.0);
        let before = f.pending.len();
        f.pending.retain(|p| &p.token_hash != hash);
        Ok(f.pending.len() != before)
    }
    async fn put_ceremony(&self, ceremony: &PendingCeremony) -> Result<(), PortError> {
        let mut f = lock(&self.0);
        f.ceremonies.retain(|c| c.id_hash != ceremony.id_hash);
        f.ceremonies.push(ceremony.clone());
        Ok(())
    }
    async fn take_ceremony(
        &self,
        id_hash: &SecretHash,
        now: DateTime<Utc>,
    ) -> Result<Option<PendingCeremony>, PortError> {
        let mut f = lock(&self.0);
        let found = f.ceremonies.iter().position(|c| &c.id_hash == id_hash);
        Ok(found
            .map(|i| f.ceremonies.remove(i))
            .filter(|c| c.expires_at > now))
    }
    async fn purge_expired(&self, now: DateTime<Utc>) -> Result<u64, PortError> {
        let mut f = lock(&self.0);
        let before = f.pending.len() + f.ceremonies.len();
        f.pending.retain(|p| p.expires_at > now);
        f.ceremonies.retain(|c| c.expires_at > now);
        Ok((before - f.pending.len() - f.ceremonies.len()) as u64)
    }
}

/// A relying party over readable strings. Options are
/// `{"publicKey":{"challenge":"<c>"}}`; a credential answering them is
/// [`FakePasskeys::credential`]; a passkey's `data` is its counter.
#[derive(Debug, Default)]
pub struct FakePasskeys {
    next: Mutex<u32>,
}

impl FakePasskeys {
    /// The credential an authenticator holding `credential_id` (for
    /// `user`) answers challenge `challenge` with, at signature counter
    /// `counter`.
    pub fn credential(credential_id: &[u8], challenge: &str, counter: u32, user: Uuid) -> String {
        format!("cred|{}|{challenge}|{counter}|{user}", hex::encode(credential_id))
    }

    /// The challenge of fake options.
    pub fn challenge(options: &str) -> String {
        options
            .trim_start_matches("{\"publicKey\":{\"challenge\":\"")
            .trim_end_matches("\"}}")
            .to_owned()
    }

    fn start(&self, state_prefix: &str) -> CeremonyStart {
        let mut next = lock(&self.next);
        *next += 1;
        let challenge = format!("c{}", *next);
        CeremonyStart {
            options: format!("{{\"publicKey\":{{\"challenge\":\"{challenge}\"}}}}"),
            state: format!("{state_prefix}{challenge}"),
        }
    }
}

struct FakeCredential {
    id: Vec<u8>,
    challenge: String,
    counter: u32,
    user: Uuid,
}

fn parse(credential: &str) -> Result<FakeCredential, PasskeyError> {
    let p: Vec<&str> = credential.split('|').collect();
    match p.as_slice() {
        ["cred", id, challenge, counter, user] => Ok(FakeCredential {
            id: hex::decode(id).map_err(|_| PasskeyError::Malformed)?,
            challenge: (*challenge).to_owned(),
            counter: counter.parse().map_err(|_| PasskeyError::Malformed)?,
            user: user.parse().map_err(|_| PasskeyError::Malformed)?,
        }),
        _ => Err(PasskeyError::Malformed),
    }
}

impl PasskeyCeremony for FakePasskeys {
    fn start_registration(
        &self,
        user: &PasskeyUser,
        _existing: &[StoredPasskey],
    ) -> Result<CeremonyStart, PasskeyError> {
        Ok(self.start(&format!("reg:{}:", user.handle)))
    }
    fn finish_registration(&self, state: &str, credential: &str) -> Result<RegisteredPasskey, PasskeyError> {
        let c = parse(credential)?;
        if state != format!("reg:{}:{}", c.user, c.challenge) {
            return Err(PasskeyError::Refused("another challenge"));
        }
        Ok(RegisteredPasskey {
            credential_id: c.id,
            data: c.counter.to_string(),
            backup_eligible: false,
        })
    }
    fn start_authentication(&self, _allowed: &[StoredPasskey]) -> Result<CeremonyStart, PasskeyError> {
        Ok(self.start("auth:"))
    }
    fn challenge_of(&self, json: &str) -> Result<String, PasskeyError> {
        if json.starts_with("cred|") {
            return Ok(parse(json)?.challenge);
        }
        let challenge = Self::challenge(json);
        if challenge.is_empty() || challenge.contains('{') {
            return Err(PasskeyError::Malformed);
        }
        Ok(challenge)
    }
    fn credential_id(&self, credential: &str) -> Result<Vec<u8>, PasskeyError> {
        Ok(parse(credential)?.id)
    }
    fn finish_authentication(
        &self,
        state: &str,
        credential: &str,
        passkey: &StoredPasskey,
        user_handle: Uuid,
    ) -> Result<VerifiedAssertion, PasskeyError> {
        let c = parse(credential)?;
        if state != format!("auth:{}", c.challenge) {
            return Err(PasskeyError::Refused("another challenge"));
        }
        if c.id != passkey.credential_id || c.user != user_handle {
            return Err(PasskeyError::Refused("another credential"));
        }
        let stored: u32 = passkey.data.parse().map_err(|_| PasskeyError::Malformed)?;
        if stored != 0 && c.counter <= stored {
            return Err(PasskeyError::CounterRegressed);
        }
        Ok(VerifiedAssertion {
            credential_id: c.id,
            data: c.counter.to_string(),
        })
    }
}

/// Both fakes, with handles for tests.
#[derive(Clone, Default)]
pub struct FactorFakes {
    /// The store.
    pub store: Arc<MemFactors>,
    /// The relying party.
    pub passkeys: Arc<FakePasskeys>,
}

impl FactorFakes {
    /// The ports over these fakes.
    pub fn ports(&self) -> FactorPorts {
        FactorPorts {
            store: self.store.clone(),
            passkeys: self.passkeys.clone(),
        }
    }
}
