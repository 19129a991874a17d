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
pub mod factors;
mod identity;
pub mod oidc;
pub mod roles;
mod sessions;
pub mod signals;
pub mod social;
mod verification;

pub use identity::*;
pub use sessions::*;
pub use verification::*;

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, TimeZone, Utc};

use crate::error::PortError;
use crate::identity::user::*;
use crate::policy::AuthPolicy;
use crate::ports::*;

use crate::service::{AuthService, Ports};
use crate::service_core::ServiceCore;

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
    /// The OpenID provider's fakes.
    pub oidc: oidc::OidcFakes,
    /// The second factors' fakes.
    pub factors: factors::FactorFakes,
    /// The admin roles' fake.
    pub roles: Arc<roles::MemRoles>,
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
    let oidc = oidc::OidcFakes::default();
    let factors = factors::FactorFakes::default();
    let roles = Arc::new(roles::MemRoles::default());
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
        oidc: oidc.ports(),
        factors: factors.ports(),
        roles: roles.clone(),
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
        oidc,
        factors,
        roles,
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
