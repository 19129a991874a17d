//! In-memory fakes of the identity area's ports: users, the password hasher, background work and the login throttle.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::error::PortError;
use crate::identity::password::{NewPassword, PasswordHash};
use crate::identity::user::*;
use crate::ports::*;

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
