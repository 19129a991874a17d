//! In-memory fakes of every port, and [`InMemoryAuth`]: an [`AuthService`]
//! wired to them with a handle on each, for tests of the use cases (this
//! crate's) and of code built on them (other crates', with the
//! `test-support` feature).
//!
//! The fakes keep everything in memory, decide races the way the storage
//! ports require, and record what was sent (mail, events, audit) for
//! assertions. Time is a [`ManualClock`]; nothing sleeps.

// Test support: a fake that panics on a broken invariant fails the test
// that broke it, which is what a test double is for.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// The fakes are named for the port they stand in for; the ones a test
// arranges or reads through are documented, the rest need no more.
#![allow(missing_docs, missing_debug_implementations)]

pub mod chat;
pub mod social;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use uuid::Uuid;

use crate::error::PortError;
use crate::identity::password::{NewPassword, PasswordHash};
use crate::identity::user::*;
use crate::policy::AuthPolicy;
use crate::ports::*;
use crate::sessions::events::Event;
use crate::sessions::session::*;
use crate::sessions::token::*;
use crate::verification::*;

use crate::service::{AuthService, Ports};
use crate::service_core::ServiceCore;

#[derive(Default)]
pub struct MemUsers {
    rows: Mutex<Vec<User>>,
    /// Social links stored by imports: (provider, subject, user).
    pub links: Mutex<Vec<(crate::social::Provider, String, UserId)>>,
    /// When set, `replace_password_hash` fails (the database is down).
    pub writes_down: std::sync::atomic::AtomicBool,
}

impl MemUsers {
    pub fn all(&self) -> Vec<User> {
        self.rows.lock().unwrap().clone()
    }
}

#[async_trait]
impl UserRepository for MemUsers {
    async fn insert(&self, u: NewUser) -> Result<User, InsertUserError> {
        let mut rows = self.rows.lock().unwrap();
        if rows
            .iter()
            .any(|r| r.login_id == u.login_id && u.login_id.is_some())
        {
            return Err(InsertUserError::Duplicate(UniqueField::LoginId));
        }
        if rows.iter().any(|r| r.email == u.email) {
            return Err(InsertUserError::Duplicate(UniqueField::Email));
        }
        let user = User {
            id: UserId::new(rows.iter().map(|u| u.id.get()).max().unwrap_or(0) + 1),
            uuid: u.uuid,
            login_id: u.login_id,
            email: u.email,
            name: u.name.as_str().to_owned(),
            profile_image: u.profile_image,
            password_hash: u.password_hash,
            created_at: u.created_at,
            disabled_at: None,
            email_verified: true,
        };
        rows.push(user.clone());
        Ok(user)
    }
    async fn by_id(&self, id: UserId) -> Result<Option<User>, PortError> {
        Ok(self.rows.lock().unwrap().iter().find(|u| u.id == id).cloned())
    }
    async fn by_uuid(&self, uuid: Uuid) -> Result<Option<User>, PortError> {
        Ok(self.rows.lock().unwrap().iter().find(|u| u.uuid == uuid).cloned())
    }
    async fn by_login_id(&self, l: &LoginId) -> Result<Option<User>, PortError> {
        Ok(self
            .rows
            .lock()
            .unwrap()
            .iter()
            .find(|u| u.login_id.as_ref() == Some(l))
            .cloned())
    }
    async fn by_email(&self, e: &Email) -> Result<Option<User>, PortError> {
        Ok(self.rows.lock().unwrap().iter().find(|u| &u.email == e).cloned())
    }
    async fn set_password(&self, id: UserId, h: &PasswordHash) -> Result<bool, PortError> {
        let mut rows = self.rows.lock().unwrap();
        Ok(rows
            .iter_mut()
            .find(|u| u.id == id)
            .map(|u| {
                u.password_hash = Some(h.clone());
                u.email_verified = true;
            })
            .is_some())
    }
    async fn delete_enabled(&self, id: UserId) -> Result<bool, PortError> {
        let mut rows = self.rows.lock().unwrap();
        let before = rows.len();
        rows.retain(|u| u.id != id || u.disabled_at.is_some());
        Ok(rows.len() != before)
    }
    async fn replace_password_hash(
        &self,
        id: UserId,
        old: &PasswordHash,
        new: &PasswordHash,
    ) -> Result<bool, PortError> {
        if self.writes_down.load(Ordering::SeqCst) {
            return Err(PortError::new("replace password hash", "database down"));
        }
        let mut rows = self.rows.lock().unwrap();
        Ok(rows
            .iter_mut()
            .find(|u| u.id == id && u.password_hash.as_ref() == Some(old))
            .map(|u| u.password_hash = Some(new.clone()))
            .is_some())
    }
    async fn import(
        &self,
        accounts: Vec<crate::import::ImportAccount>,
        dry_run: bool,
    ) -> Result<Vec<crate::import::ImportOutcome>, PortError> {
        use crate::import::{ImportConflict, ImportOutcome};
        let mut rows = self.rows.lock().unwrap();
        let mut links = self.links.lock().unwrap();
        let mut out = Vec::new();
        for a in accounts {
            let same = rows.iter().find(|u| {
                a.id.is_none_or(|id| id == u.id) && u.login_id == a.user.login_id && u.email == a.user.email
            });
            if let Some(u) = same {
                out.push(ImportOutcome::AlreadyImported(u.id));
                continue;
            }
            let conflict = if a.id.is_some_and(|id| rows.iter().any(|u| u.id == id)) {
                Some(ImportConflict::Id)
            } else if a.user.login_id.is_some() && rows.iter().any(|u| u.login_id == a.user.login_id) {
                Some(ImportConflict::LoginId)
            } else if rows.iter().any(|u| u.email == a.user.email) {
                Some(ImportConflict::Email)
            } else {
                a.links
                    .iter()
                    .find(|(p, s)| links.iter().any(|(q, t, _)| q == p && t == s))
                    .map(|(p, _)| ImportConflict::Social(*p))
            };
            if let Some(c) = conflict {
                out.push(ImportOutcome::Conflict(c));
                continue;
            }
            let id =
                a.id.unwrap_or_else(|| UserId::new(rows.iter().map(|u| u.id.get()).max().unwrap_or(0) + 1));
            if !dry_run {
                rows.push(User {
                    id,
                    uuid: a.user.uuid,
                    login_id: a.user.login_id,
                    email: a.user.email,
                    name: a.user.name.as_str().to_owned(),
                    profile_image: a.user.profile_image,
                    password_hash: a.user.password_hash,
                    created_at: a.user.created_at,
                    disabled_at: None,
                    email_verified: a.email_verified,
                });
                for (p, s) in a.links {
                    links.push((p, s, id));
                }
            }
            out.push(ImportOutcome::Imported(id));
        }
        Ok(out)
    }
    async fn search(
        &self,
        query: Option<&str>,
        after: Option<UserId>,
        limit: u32,
    ) -> Result<Vec<User>, PortError> {
        let q = query.map(str::to_lowercase);
        let mut rows: Vec<User> = self
            .rows
            .lock()
            .unwrap()
            .iter()
            .filter(|u| after.is_none_or(|a| u.id.get() > a.get()))
            .filter(|u| {
                q.as_deref().is_none_or(|q| {
                    u.login_id.as_ref().is_some_and(|l| l.as_str().contains(q))
                        || u.email.as_str().contains(q)
                        || u.name.to_lowercase().contains(q)
                })
            })
            .cloned()
            .collect();
        rows.sort_by_key(|u| u.id.get());
        rows.truncate(limit as usize);
        Ok(rows)
    }
    async fn set_disabled(&self, id: UserId, at: Option<DateTime<Utc>>) -> Result<Option<User>, PortError> {
        let mut rows = self.rows.lock().unwrap();
        let Some(u) = rows.iter_mut().find(|u| u.id == id) else {
            return Ok(None);
        };
        u.disabled_at = match at {
            Some(at) => Some(u.disabled_at.unwrap_or(at)),
            None => None,
        };
        Ok(Some(u.clone()))
    }
}

/// Background tasks, held until a test runs them (deterministic).
#[derive(Default)]
pub struct QueuedBackground(pub Mutex<Vec<BackgroundTask>>);

impl QueuedBackground {
    /// Runs every queued task to completion; returns how many ran.
    pub async fn run_all(&self) -> usize {
        let tasks: Vec<_> = std::mem::take(&mut *self.0.lock().unwrap());
        let n = tasks.len();
        for t in tasks {
            t.await;
        }
        n
    }
}

impl Background for QueuedBackground {
    fn spawn(&self, task: BackgroundTask) {
        self.0.lock().unwrap().push(task);
    }
}

#[derive(Default)]
pub struct MemSessions {
    pub sessions: Mutex<HashMap<SessionId, Session>>,
    pub refresh: Mutex<HashMap<RefreshTokenHash, RefreshRecord>>,
}

#[async_trait]
impl SessionStore for MemSessions {
    async fn create(&self, s: &Session, first: &RefreshRecord) -> Result<(), PortError> {
        self.sessions.lock().unwrap().insert(s.id, s.clone());
        self.refresh
            .lock()
            .unwrap()
            .insert(first.hash.clone(), first.clone());
        Ok(())
    }
    async fn get(&self, id: SessionId) -> Result<Option<Session>, PortError> {
        Ok(self.sessions.lock().unwrap().get(&id).cloned())
    }
    async fn refresh_record(&self, h: &RefreshTokenHash) -> Result<Option<RefreshRecord>, PortError> {
        Ok(self.refresh.lock().unwrap().get(h).cloned())
    }
    async fn rotate(
        &self,
        spent: &RefreshTokenHash,
        next: &RefreshRecord,
        now: DateTime<Utc>,
    ) -> Result<RotateOutcome, PortError> {
        let mut refresh = self.refresh.lock().unwrap();
        let Some(rec) = refresh.get_mut(spent) else {
            return Ok(RotateOutcome::Unknown);
        };
        if let Some(at) = rec.spent_at {
            return Ok(RotateOutcome::AlreadySpent(at));
        }
        let live = self
            .sessions
            .lock()
            .unwrap()
            .get(&rec.session_id)
            .is_some_and(Session::is_live);
        if !live {
            return Ok(RotateOutcome::SessionRevoked);
        }
        rec.spent_at = Some(now);
        refresh.insert(next.hash.clone(), next.clone());
        if let Some(s) = self.sessions.lock().unwrap().get_mut(&next.session_id) {
            s.last_refreshed_at = Some(now);
        }
        Ok(RotateOutcome::Rotated)
    }
    async fn add_refresh(&self, next: &RefreshRecord) -> Result<bool, PortError> {
        let live = self
            .sessions
            .lock()
            .unwrap()
            .get(&next.session_id)
            .is_some_and(Session::is_live);
        if live {
            self.refresh
                .lock()
                .unwrap()
                .insert(next.hash.clone(), next.clone());
        }
        Ok(live)
    }
    async fn revoke(
        &self,
        id: SessionId,
        reason: RevokeReason,
        now: DateTime<Utc>,
    ) -> Result<bool, PortError> {
        let mut s = self.sessions.lock().unwrap();
        match s.get_mut(&id) {
            Some(s) if s.is_live() => {
                s.revoked_at = Some(now);
                s.revoke_reason = Some(reason);
                Ok(true)
            }
            _ => Ok(false),
        }
    }
    async fn refresh_expiry(&self, id: SessionId) -> Result<Option<DateTime<Utc>>, PortError> {
        Ok(self
            .refresh
            .lock()
            .unwrap()
            .values()
            .filter(|r| r.session_id == id && r.spent_at.is_none())
            .map(|r| r.expires_at)
            .max())
    }
    async fn live_sessions(&self, user: UserId) -> Result<Vec<Session>, PortError> {
        let mut live: Vec<Session> = self
            .sessions
            .lock()
            .unwrap()
            .values()
            .filter(|s| s.user_id == user && s.is_live())
            .cloned()
            .collect();
        live.sort_by_key(|s| s.created_at);
        Ok(live)
    }
    async fn revoke_all(
        &self,
        user: UserId,
        reason: RevokeReason,
        now: DateTime<Utc>,
    ) -> Result<Vec<SessionId>, PortError> {
        let mut out = vec![];
        for s in self.sessions.lock().unwrap().values_mut() {
            if s.user_id == user && s.is_live() {
                s.revoked_at = Some(now);
                s.revoke_reason = Some(reason);
                out.push(s.id);
            }
        }
        Ok(out)
    }
    async fn active_sessions(&self, user: UserId, now: DateTime<Utc>) -> Result<Vec<Session>, PortError> {
        let live = self.live_sessions(user).await?;
        let refresh = self.refresh.lock().unwrap();
        Ok(live
            .into_iter()
            .filter(|s| {
                refresh
                    .values()
                    .any(|r| r.session_id == s.id && r.spent_at.is_none() && r.expires_at > now)
            })
            .collect())
    }
    async fn touch(&self, id: SessionId, now: DateTime<Utc>) -> Result<(), PortError> {
        if let Some(s) = self.sessions.lock().unwrap().get_mut(&id) {
            s.last_refreshed_at = Some(now);
        }
        Ok(())
    }
}

/// "Hashes" by prefixing; counts verifications so timing-equivalence
/// (one verification per login, known user or not) is checkable. A
/// verification yields to the runtime first, as the real pool does, so
/// concurrent logins interleave; with `down` set it fails (a full queue).
#[derive(Default)]
pub struct FakeHasher {
    pub verifications: AtomicU64,
    pub down: std::sync::atomic::AtomicBool,
}

/// Yields to the executor once, as `tokio::task::yield_now` does (this
/// crate has no tokio), so concurrent verifications interleave like real
/// ones.
async fn yield_once() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            std::task::Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    })
    .await;
}

#[async_trait]
impl PasswordHasher for FakeHasher {
    async fn hash(&self, p: &NewPassword) -> Result<PasswordHash, PortError> {
        Ok(PasswordHash::from_phc(format!("fake${}", p.expose())))
    }
    async fn verify(&self, p: &str, h: Option<&PasswordHash>) -> Result<bool, PortError> {
        yield_once().await;
        if self.down.load(Ordering::SeqCst) {
            return Err(PortError::new(
                "verify password",
                "the password hashing queue is full",
            ));
        }
        self.verifications.fetch_add(1, Ordering::SeqCst);
        // `fake$pw` is the current scheme, `old$pw` a foreign one (bcrypt).
        Ok(h.is_some_and(|h| h.as_phc() == format!("fake${p}") || h.as_phc() == format!("old${p}")))
    }
    fn scheme(&self, h: Option<&PasswordHash>) -> crate::identity::password::PasswordScheme {
        use crate::identity::password::PasswordScheme;
        match h.map(PasswordHash::as_phc) {
            None => PasswordScheme::None,
            Some(s) if s.starts_with("fake$") => PasswordScheme::Argon2id,
            Some(s) if s.starts_with("old$") => PasswordScheme::Bcrypt,
            Some(_) => PasswordScheme::Unknown,
        }
    }
    fn adopt(
        &self,
        foreign: &str,
        _spring_pbkdf2: &crate::identity::password::SpringPbkdf2,
    ) -> Result<PasswordHash, crate::identity::password::ForeignHashError> {
        if foreign.starts_with("old$") || foreign.starts_with("fake$") {
            Ok(PasswordHash::from_phc(foreign.to_owned()))
        } else {
            Err(crate::identity::password::ForeignHashError(
                "unknown format".into(),
            ))
        }
    }
}

/// Tokens as readable strings: `A|sub|sid|iat|exp`, `R|sub|sid|jti|iat|exp`.
pub struct FakeTokens;

impl TokenCodec for FakeTokens {
    fn sign_access(&self, c: &AccessClaims) -> Result<String, PortError> {
        Ok(format!("A|{}|{}|{}|{}", c.sub, c.sid, c.iat, c.exp))
    }
    fn sign_refresh(&self, c: &RefreshClaims) -> Result<String, PortError> {
        Ok(format!("R|{}|{}|{}|{}|{}", c.sub, c.sid, c.jti, c.iat, c.exp))
    }
    fn verify_access(
        &self,
        t: &str,
        now: DateTime<Utc>,
        allow_expired: bool,
    ) -> Result<AccessClaims, TokenError> {
        let p: Vec<&str> = t.split('|').collect();
        if p.len() != 5 || p[0] != "A" {
            return Err(TokenError::Invalid);
        }
        let c = AccessClaims {
            sub: p[1].parse().map_err(|_| TokenError::Invalid)?,
            sid: SessionId::from_uuid(p[2].parse().map_err(|_| TokenError::Invalid)?),
            iat: p[3].parse().map_err(|_| TokenError::Invalid)?,
            exp: p[4].parse().map_err(|_| TokenError::Invalid)?,
        };
        if !allow_expired && c.exp <= now.timestamp() {
            return Err(TokenError::Expired);
        }
        Ok(c)
    }
    fn verify_refresh(&self, t: &str, now: DateTime<Utc>) -> Result<RefreshClaims, TokenError> {
        let p: Vec<&str> = t.split('|').collect();
        if p.len() != 6 || p[0] != "R" {
            return Err(TokenError::Invalid);
        }
        let c = RefreshClaims {
            sub: p[1].parse().map_err(|_| TokenError::Invalid)?,
            sid: SessionId::from_uuid(p[2].parse().map_err(|_| TokenError::Invalid)?),
            jti: p[3].to_owned(),
            iat: p[4].parse().map_err(|_| TokenError::Invalid)?,
            exp: p[5].parse().map_err(|_| TokenError::Invalid)?,
        };
        if c.exp <= now.timestamp() {
            return Err(TokenError::Expired);
        }
        Ok(c)
    }
}

pub struct ManualClock(pub Mutex<DateTime<Utc>>);

/// Reads 2026-01-01T00:00:00Z until moved.
impl Default for ManualClock {
    fn default() -> Self {
        Self(Mutex::new(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()))
    }
}

impl ManualClock {
    pub fn advance(&self, by: TimeDelta) {
        *self.0.lock().unwrap() += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

/// Deterministic, never-repeating bytes.
#[derive(Default)]
pub struct CountingRandom(AtomicU64);

impl Random for CountingRandom {
    fn fill(&self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let n = self
                .0
                .fetch_add(1, Ordering::SeqCst)
                .wrapping_mul(0x9E37_79B9_7F4A_7C15);
            chunk.copy_from_slice(&n.to_le_bytes()[..chunk.len()]);
        }
    }
}

/// When a decoy's cooldown started and when it ends.
pub type DecoyCooldown = (DateTime<Utc>, DateTime<Utc>);

/// Codes and decoys in memory. One mutex per map makes every conditional
/// method atomic, as the port requires of the database.
#[derive(Default)]
pub struct MemCodes {
    pub rows: Mutex<HashMap<String, StoredCode>>,
    /// Decoy key (hex) to when its cooldown started and ends.
    pub decoys: Mutex<HashMap<String, DecoyCooldown>>,
}

#[async_trait]
impl CodeStore for MemCodes {
    async fn put(&self, code: &StoredCode, cooldown: TimeDelta) -> Result<PutOutcome, PortError> {
        let mut rows = self.rows.lock().unwrap();
        if let Some(old) = rows.get(code.email.as_str())
            && code.sent_at - old.sent_at < cooldown
        {
            return Ok(PutOutcome::Cooldown(old.sent_at + cooldown));
        }
        rows.insert(code.email.as_str().to_owned(), code.clone());
        Ok(PutOutcome::Stored)
    }
    async fn get(&self, email: &Email) -> Result<Option<StoredCode>, PortError> {
        Ok(self.rows.lock().unwrap().get(email.as_str()).cloned())
    }
    async fn reserve_attempt(
        &self,
        email: &Email,
        hash: &CodeHash,
        now: DateTime<Utc>,
        max: u32,
    ) -> Result<bool, PortError> {
        let mut rows = self.rows.lock().unwrap();
        match rows.get_mut(email.as_str()) {
            Some(c)
                if &c.hash == hash && c.consumed_at.is_none() && c.expires_at > now && c.attempts < max =>
            {
                c.attempts += 1;
                Ok(true)
            }
            _ => Ok(false),
        }
    }
    async fn mark_verified(
        &self,
        email: &Email,
        hash: &CodeHash,
        now: DateTime<Utc>,
        max: u32,
        login_id: Option<&LoginId>,
    ) -> Result<bool, PortError> {
        let mut rows = self.rows.lock().unwrap();
        match rows.get_mut(email.as_str()) {
            Some(c)
                if &c.hash == hash
                    && c.consumed_at.is_none()
                    && c.expires_at > now
                    && c.attempts <= max
                    && login_id.is_none_or(|l| c.login_id.as_ref().is_none_or(|b| b == l)) =>
            {
                c.verified_at = Some(now);
                c.attempts = c.attempts.saturating_sub(1);
                if let Some(l) = login_id {
                    c.login_id = Some(l.clone());
                }
                Ok(true)
            }
            _ => Ok(false),
        }
    }
    async fn consume(
        &self,
        email: &Email,
        hash: &CodeHash,
        now: DateTime<Utc>,
        max: u32,
    ) -> Result<bool, PortError> {
        let mut rows = self.rows.lock().unwrap();
        match rows.get_mut(email.as_str()) {
            Some(c)
                if &c.hash == hash && c.consumed_at.is_none() && c.expires_at > now && c.attempts <= max =>
            {
                c.consumed_at = Some(now);
                Ok(true)
            }
            _ => Ok(false),
        }
    }
    async fn consume_sign_up(
        &self,
        email: &Email,
        hash: &CodeHash,
        login_id: &LoginId,
        verified_since: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, PortError> {
        let mut rows = self.rows.lock().unwrap();
        match rows.get_mut(email.as_str()) {
            Some(c)
                if &c.hash == hash
                    && c.purpose == CodePurpose::SignUp
                    && c.login_id.as_ref() == Some(login_id)
                    && c.consumed_at.is_none()
                    && c.verified_at.is_some_and(|t| t >= verified_since) =>
            {
                c.consumed_at = Some(now);
                Ok(true)
            }
            _ => Ok(false),
        }
    }
    async fn discard(&self, email: &Email, hash: &CodeHash) -> Result<(), PortError> {
        let mut rows = self.rows.lock().unwrap();
        if rows.get(email.as_str()).is_some_and(|c| &c.hash == hash) {
            rows.remove(email.as_str());
        }
        Ok(())
    }
    async fn put_decoy(
        &self,
        key: &DecoyKey,
        now: DateTime<Utc>,
        cooldown: TimeDelta,
    ) -> Result<PutOutcome, PortError> {
        let mut decoys = self.decoys.lock().unwrap();
        if let Some(&(sent, _)) = decoys.get(key.as_str())
            && now - sent < cooldown
        {
            return Ok(PutOutcome::Cooldown(sent + cooldown));
        }
        decoys.insert(key.as_str().to_owned(), (now, now + cooldown));
        Ok(PutOutcome::Stored)
    }
    async fn purge_expired(&self, now: DateTime<Utc>, horizon: TimeDelta) -> Result<usize, PortError> {
        let cutoff = now - horizon;
        let mut rows = self.rows.lock().unwrap();
        let before = rows.len();
        rows.retain(|_, c| {
            !(c.expires_at <= now && c.sent_at <= cutoff && c.verified_at.is_none_or(|t| t <= cutoff))
        });
        let mut gone = before - rows.len();
        let mut decoys = self.decoys.lock().unwrap();
        let before = decoys.len();
        decoys.retain(|_, (_, ends)| *ends > now);
        gone += before - decoys.len();
        Ok(gone)
    }
}

#[derive(Default)]
pub struct RecordingMailer {
    pub sent: Mutex<Vec<OutgoingMail>>,
    pub down: std::sync::atomic::AtomicBool,
}

impl RecordingMailer {
    /// The code in the last mail to `to`.
    pub fn last_code(&self, to: &str) -> Option<String> {
        let sent = self.sent.lock().unwrap();
        let mail = sent.iter().rev().find(|m| m.to.as_str() == to)?;
        mail.code().map(str::to_owned)
    }
}

#[async_trait]
impl Mailer for RecordingMailer {
    async fn send(&self, mail: &OutgoingMail) -> Result<(), PortError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(PortError::new("send mail", "connection refused"));
        }
        self.sent.lock().unwrap().push(mail.clone());
        Ok(())
    }
}

/// Records every published event.
#[derive(Default)]
pub struct RecordingBus {
    pub events: Mutex<Vec<Event>>,
}

#[async_trait]
impl EventBus for RecordingBus {
    async fn publish(&self, event: Event) {
        self.events.lock().unwrap().push(event);
    }
}

/// Throttle counters in memory (the rule applied under one lock, like the
/// database's transaction).
#[derive(Default)]
pub struct MemThrottle(pub Mutex<HashMap<String, crate::identity::throttle::ThrottleState>>);

#[async_trait]
impl crate::identity::throttle::LoginThrottle for MemThrottle {
    async fn reserve(
        &self,
        keys: &[(String, crate::identity::throttle::ThrottleRule)],
        now: DateTime<Utc>,
    ) -> Result<crate::identity::throttle::Reservation, PortError> {
        let mut map = self.0.lock().unwrap();
        let lock = keys
            .iter()
            .filter_map(|(k, _)| map.get(k).and_then(|s| s.locked_until))
            .filter(|t| *t > now)
            .max();
        if let Some(until) = lock {
            return Ok(crate::identity::throttle::Reservation::Refused(until));
        }
        let states = keys
            .iter()
            .map(|(k, rule)| {
                let next = rule.after_failure(map.get(k).copied(), now);
                map.insert(k.clone(), next);
                next
            })
            .collect();
        Ok(crate::identity::throttle::Reservation::Granted(states))
    }

    async fn release(
        &self,
        key: &str,
        rule: &crate::identity::throttle::ThrottleRule,
        reserved: &crate::identity::throttle::ThrottleState,
    ) -> Result<(), PortError> {
        let mut map = self.0.lock().unwrap();
        if let Some(state) = map.get(key).copied() {
            map.insert(key.to_owned(), rule.after_release(state, reserved));
        }
        Ok(())
    }

    async fn reset(&self, key: &str) -> Result<(), PortError> {
        self.0.lock().unwrap().remove(key);
        Ok(())
    }
}

/// Keeps audit events in memory.
#[derive(Default)]
pub struct RecordingAudit(pub Mutex<Vec<crate::audit::AuditEvent>>);

impl RecordingAudit {
    pub fn kinds(&self) -> Vec<crate::audit::AuditKind> {
        self.0.lock().unwrap().iter().map(|e| e.kind).collect()
    }
}

#[async_trait]
impl crate::audit::AuditLog for RecordingAudit {
    async fn record(&self, event: crate::audit::AuditEvent) {
        self.0.lock().unwrap().push(event);
    }

    async fn recent(
        &self,
        user: Option<UserId>,
        limit: u32,
    ) -> Result<Vec<crate::audit::AuditEvent>, PortError> {
        let all = self.0.lock().unwrap();
        Ok(all
            .iter()
            .rev()
            .filter(|e| user.is_none() || e.user_id == user)
            .take(limit as usize)
            .cloned()
            .collect())
    }
}

/// An [`AuthService`] over the in-memory fakes, with a handle on each fake
/// to arrange a test (a user, a down database, the clock) and to assert on
/// what happened (mail sent, events announced, audit events).
pub struct InMemoryAuth {
    /// The use cases, over the fakes below.
    pub service: AuthService,
    /// The ports `service` was built from (to build a variant of it, or one
    /// area's service, over some of the same fakes).
    pub ports: Ports,
    pub users: Arc<MemUsers>,
    pub background: Arc<QueuedBackground>,
    pub sessions: Arc<MemSessions>,
    pub hasher: Arc<FakeHasher>,
    pub clock: Arc<ManualClock>,
    pub codes: Arc<MemCodes>,
    pub mailer: Arc<RecordingMailer>,
    pub bus: Arc<RecordingBus>,
    pub social: social::SocialFakes,
    pub chat: chat::ChatFakes,
    pub throttle: Arc<MemThrottle>,
    pub audit: Arc<RecordingAudit>,
}

/// A fresh [`InMemoryAuth`] with `policy`; its clock reads
/// 2026-01-01T00:00:00Z until moved.
pub fn in_memory_auth(policy: AuthPolicy) -> InMemoryAuth {
    let sessions = Arc::new(MemSessions::default());
    let codes = Arc::new(MemCodes::default());
    let mailer = Arc::new(RecordingMailer::default());
    let bus = Arc::new(RecordingBus::default());
    let social = social::SocialFakes::default();
    let chat = chat::ChatFakes::default();
    let hasher = Arc::new(FakeHasher::default());
    let throttle = Arc::new(MemThrottle::default());
    let audit = Arc::new(RecordingAudit::default());
    let users = Arc::new(MemUsers::default());
    let background = Arc::new(QueuedBackground::default());
    let clock = Arc::new(ManualClock::default());
    let ports = Ports {
        users: users.clone(),
        sessions: sessions.clone(),
        hasher: hasher.clone(),
        tokens: Arc::new(FakeTokens),
        clock: clock.clone(),
        random: Arc::new(CountingRandom::default()),
        codes: codes.clone(),
        mailer: mailer.clone(),
        events: bus.clone(),
        social: social.ports(),
        chat: chat.ports(),
        throttle: throttle.clone(),
        audit: audit.clone(),
        background: background.clone(),
    };
    InMemoryAuth {
        service: AuthService::new(ports.clone(), policy),
        ports,
        users,
        background,
        sessions,
        hasher,
        clock,
        codes,
        mailer,
        bus,
        social,
        chat,
        throttle,
        audit,
    }
}

/// A [`ServiceCore`] over fresh fakes (a [`ManualClock`] at
/// 2026-01-01T00:00:00Z, [`CountingRandom`], [`RecordingAudit`]) with
/// `policy`, for building one area's service.
pub fn test_core(policy: AuthPolicy) -> ServiceCore {
    ServiceCore::new(
        Arc::new(ManualClock::default()),
        Arc::new(CountingRandom::default()),
        Arc::new(RecordingAudit::default()),
        policy,
    )
}

/// The default policy without the sign-up gate (for tests not about codes).
pub fn open_policy() -> AuthPolicy {
    let mut policy = AuthPolicy::default();
    policy.codes.signup_requires_code = false;
    policy
}

/// A caller of the use cases in tests: through a `test` contract, IP and
/// user agent unknown (the audit events it leads to record neither).
pub fn caller() -> crate::Caller {
    crate::Caller::new("test")
}
