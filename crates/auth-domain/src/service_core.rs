//! [`ServiceCore`]: what every area service uses (the clock, randomness,
//! the policy, and the audit trail's writer). Its own module, below every
//! area, so no area imports the façade (`service.rs`) that bundles them.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::audit::{AuditEvent, AuditKind, AuditLog};
use crate::caller::Caller;
use crate::identity::user::UserId;
use crate::platform::{Clock, Random};
use crate::policy::AuthPolicy;
use crate::sessions::session::SessionId;

/// What every area service uses: the clock, randomness, the policy, and
/// the audit trail's writer. Cheap to clone.
///
/// ```
/// use std::sync::Arc;
///
/// use auth_domain::service_core::ServiceCore;
/// use auth_domain::testing::{CountingRandom, ManualClock, RecordingAudit};
/// use auth_domain::AuthPolicy;
///
/// let core = ServiceCore::new(
///     Arc::new(ManualClock::default()),
///     Arc::new(CountingRandom::default()),
///     Arc::new(RecordingAudit::default()),
///     AuthPolicy::default(),
/// );
/// assert!(core.policy().access_ttl > chrono::TimeDelta::zero());
/// ```
#[derive(Clone)]
pub struct ServiceCore {
    clock: Arc<dyn Clock>,
    random: Arc<dyn Random>,
    audit: Arc<dyn AuditLog>,
    policy: Arc<AuthPolicy>,
}

impl std::fmt::Debug for ServiceCore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceCore")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl ServiceCore {
    /// The core over a clock, a source of randomness and the audit log
    /// (written best effort), with `policy`.
    pub fn new(
        clock: Arc<dyn Clock>,
        random: Arc<dyn Random>,
        audit: Arc<dyn AuditLog>,
        policy: AuthPolicy,
    ) -> Self {
        Self {
            clock,
            random,
            audit,
            policy: Arc::new(policy),
        }
    }

    /// The policy in force.
    pub fn policy(&self) -> &AuthPolicy {
        &self.policy
    }

    /// Now, from the clock port.
    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Fills `buf` from the randomness port.
    pub(crate) fn fill(&self, buf: &mut [u8]) {
        self.random.fill(buf);
    }

    /// Records an audit event now, with the caller's IP and user agent
    /// (best effort).
    pub(crate) async fn audit(
        &self,
        kind: AuditKind,
        user_id: Option<UserId>,
        session_id: Option<SessionId>,
        caller: &Caller,
    ) {
        self.record_audit(kind, user_id, session_id, caller, None).await;
    }

    /// Records an administrator's action on `target` (`user:7`, …) now
    /// (best effort).
    pub(crate) async fn audit_admin(
        &self,
        kind: AuditKind,
        user_id: Option<UserId>,
        session_id: Option<SessionId>,
        target: String,
        caller: &Caller,
    ) {
        self.record_audit(kind, user_id, session_id, caller, Some(target))
            .await;
    }

    /// Writes one audit event stamped now, with the caller's IP and user
    /// agent (control characters dropped, at most 256 characters).
    async fn record_audit(
        &self,
        kind: AuditKind,
        user_id: Option<UserId>,
        session_id: Option<SessionId>,
        caller: &Caller,
        target: Option<String>,
    ) {
        let event = AuditEvent {
            at: self.clock.now(),
            kind,
            user_id,
            session_id,
            ip: caller.ip,
            user_agent: caller
                .user_agent
                .as_deref()
                .map(|ua| ua.chars().filter(|c| !c.is_control()).take(256).collect()),
            target,
        };
        self.audit.record(event).await;
    }

    pub(crate) fn random_uuid(&self) -> Uuid {
        let mut bytes = [0u8; 16];
        self.random.fill(&mut bytes);
        uuid::Builder::from_random_bytes(bytes).into_uuid()
    }

    pub(crate) fn random_token_id(&self) -> String {
        let mut bytes = [0u8; 32];
        self.random.fill(&mut bytes);
        hex::encode(bytes)
    }
}
