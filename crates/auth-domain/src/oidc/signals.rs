//! Telling services that a session ended: OpenID Connect Back-Channel
//! Logout 1.0 deliveries (push) and the RFC 8936 poll feed of RFC 8417
//! Security Event Tokens carrying CAEP `session-revoked` (pull).
//!
//! **The outbox.** The session store writes a [`Signal`] per (ended
//! session, client that hears of it) in the transaction that ends the
//! session ([`crate::ports::SessionStore::revoke`] and `revoke_all`): the
//! client of the session's grant, and every client registered with
//! [`OAuthClient::all_sessions`], when it can hear at all (it has a
//! back-channel logout URI, or a secret to poll with). A committed end
//! therefore always has its signals, and an end that rolled back has none.
//!
//! **Push.** [`Signals::take_due`] takes the pushes that are due
//! ([`SignalOutbox::claim_due`]: any instance, each row leased to one);
//! [`Signals::logout_token`] signs one with the client's ID-token
//! algorithm; a [`LogoutSender`] posts it; [`Signals::record`] records each
//! outcome: delivered, retried after a back-off, or given up once
//! [`DeliveryPolicy::retry_for`] has passed since the session ended. The
//! server keeps posts in flight and records each as it ends (a hung
//! receiver delays no one else); [`Signals::deliver_due`] is the same in
//! one pass. A killed instance's lease runs out and another takes the row:
//! nothing pending is lost.
//!
//! **Pull.** [`Signals::poll`] answers `POST /ssf/poll` for one client: its
//! unacknowledged signals as SETs, after recording its acknowledgements.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use uuid::Uuid;

use crate::error::PortError;
use crate::oidc::client::{IdTokenAlg, OAuthClient};
use crate::oidc::ports::{LogoutClaims, OidcSigner, SessionRevokedSet};
use crate::service_core::ServiceCore;
use crate::sessions::session::{RevokeReason, SessionId};

/// The `events` member of a logout token (Back-Channel Logout 1.0 §2.4).
pub const BACKCHANNEL_LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
/// The CAEP event type of a SET in the feed.
pub const SESSION_REVOKED_EVENT: &str = "https://schemas.openid.net/secevent/caep/event-type/session-revoked";
/// How long a logout token is valid after its `iat`, in seconds.
pub const LOGOUT_TOKEN_TTL_SECONDS: i64 = 120;
/// The most SETs one poll answers.
pub const MAX_EVENTS_PER_POLL: u32 = 1000;

/// One session's end, for one client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signal {
    /// The row (ordering, and the outbox's handle).
    pub id: i64,
    /// The SET's `jti` in the feed (stable: acknowledgements name it).
    pub jti: String,
    /// The client that hears of it (`aud`).
    pub client_id: String,
    /// The session that ended (`sid`).
    pub session: SessionId,
    /// Its user's UUID (`sub`).
    pub subject: Uuid,
    /// Why it ended.
    pub reason: RevokeReason,
    /// When.
    pub ended_at: DateTime<Utc>,
    /// Delivery attempts made so far, this one included for a claimed row.
    pub attempts: u32,
}

/// Where a claimed push goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The client's back-channel logout URI.
    pub uri: String,
    /// Its ID-token algorithm (the logout token's).
    pub alg: IdTokenAlg,
}

/// A push taken for delivery; `target` is `None` when the client is gone
/// or no longer has a back-channel logout URI (then it is given up).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    /// The signal.
    pub signal: Signal,
    /// Where it goes.
    pub target: Option<Target>,
}

/// What is still to be pushed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Backlog {
    /// Pushes neither delivered nor given up.
    pub pending: u64,
    /// When the oldest of them ended.
    pub oldest: Option<DateTime<Utc>>,
}

/// The outbox of session-ended signals (written by the session store).
#[async_trait]
pub trait SignalOutbox: Send + Sync {
    /// Takes up to `limit` pushes due at `now` (not delivered, not given up,
    /// `next attempt` reached), oldest first, counts an attempt on each and
    /// leases them until `lease_until`: no other caller, on any instance,
    /// takes them before then. Rows another caller is taking are skipped,
    /// not waited for.
    ///
    /// # Errors
    /// [`PortError`].
    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        limit: u32,
        lease_until: DateTime<Utc>,
    ) -> Result<Vec<Due>, PortError>;

    /// Records pushes as delivered.
    ///
    /// # Errors
    /// [`PortError`].
    async fn delivered(&self, ids: &[i64], now: DateTime<Utc>) -> Result<(), PortError>;

    /// Schedules another attempt of a push at `at`, with the last error.
    ///
    /// # Errors
    /// [`PortError`].
    async fn retry_at(&self, id: i64, at: DateTime<Utc>, error: &str) -> Result<(), PortError>;

    /// Gives a push up (it stays in the feed).
    ///
    /// # Errors
    /// [`PortError`].
    async fn give_up(&self, id: i64, now: DateTime<Utc>, error: &str) -> Result<(), PortError>;

    /// The pushes still pending.
    ///
    /// # Errors
    /// [`PortError`].
    async fn backlog(&self) -> Result<Backlog, PortError>;

    /// Up to `limit` of `client_id`'s unacknowledged signals that ended
    /// after `since`, oldest first.
    ///
    /// # Errors
    /// [`PortError`].
    async fn feed(&self, client_id: &str, since: DateTime<Utc>, limit: u32)
    -> Result<Vec<Signal>, PortError>;

    /// Acknowledges `client_id`'s signals named by `jtis` (other clients'
    /// and unknown ones are ignored); returns how many were newly
    /// acknowledged.
    ///
    /// # Errors
    /// [`PortError`].
    async fn ack(&self, client_id: &str, jtis: &[String], now: DateTime<Utc>) -> Result<u64, PortError>;

    /// Deletes the signals that ended before `before` and are no longer
    /// pending; returns how many.
    ///
    /// # Errors
    /// [`PortError`].
    async fn purge(&self, before: DateTime<Utc>) -> Result<u64, PortError>;
}

/// Posts logout tokens (`application/x-www-form-urlencoded`,
/// `logout_token=…`, Back-Channel Logout 1.0 §2.5).
#[async_trait]
pub trait LogoutSender: Send + Sync {
    /// Posts one logout token to `uri`: `Ok` for a 2xx answer, the reason
    /// otherwise (never the token).
    async fn send(&self, uri: &str, logout_token: &str) -> Result<(), String>;
}

/// Who ended a session, in CAEP's words.
pub fn initiating_entity(reason: RevokeReason) -> &'static str {
    match reason {
        RevokeReason::Logout | RevokeReason::Withdrawal | RevokeReason::PasswordReset => "user",
        RevokeReason::Admin | RevokeReason::AccountDisabled => "admin",
        RevokeReason::RefreshReuse | RevokeReason::NewLogin => "policy",
    }
}

/// How pushes are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryPolicy {
    /// Give a push up once this long has passed since its session ended.
    pub retry_for: TimeDelta,
    /// The longest wait between two attempts (the wait doubles from one
    /// second).
    pub max_backoff: TimeDelta,
    /// How long a taken push is leased (longer than a delivery can take).
    pub lease: TimeDelta,
    /// The most pushes taken at once.
    pub batch: u32,
}

impl Default for DeliveryPolicy {
    fn default() -> Self {
        Self {
            retry_for: TimeDelta::days(1),
            max_backoff: TimeDelta::minutes(1),
            lease: TimeDelta::seconds(60),
            batch: 256,
        }
    }
}

impl DeliveryPolicy {
    /// The wait after the `attempts`-th failed attempt: 1 s doubling,
    /// capped at [`Self::max_backoff`].
    pub fn backoff(&self, attempts: u32) -> TimeDelta {
        let doubled = TimeDelta::seconds(1i64 << attempts.saturating_sub(1).min(20));
        doubled.min(self.max_backoff).max(TimeDelta::milliseconds(100))
    }
}

/// The pushes [`Signals::take_due`] took: the deliverable ones with their
/// target, and how many were given up (client gone).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Taken {
    /// `(signal, target)` to post.
    pub due: Vec<(Signal, Target)>,
    /// Given up at once.
    pub failed: usize,
}

/// What one [`Signals::deliver_due`] (or [`Signals::record`]) did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DeliveryReport {
    /// Pushes taken.
    pub taken: usize,
    /// Delivered (2xx).
    pub delivered: usize,
    /// Failed and scheduled again.
    pub retried: usize,
    /// Failed for good (retry time over, or the client gone).
    pub failed: usize,
}

/// An RFC 8936 poll request, parsed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PollRequest {
    /// `maxEvents` (`None`: up to [`MAX_EVENTS_PER_POLL`]).
    pub max_events: Option<u32>,
    /// `ack`, and the `setErrs` keys (a SET the receiver refused is not
    /// sent again either).
    pub ack: Vec<String>,
}

/// The answer of a poll: SETs by `jti`, and whether more wait.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PollAnswer {
    /// `(jti, SET)`, oldest first.
    pub sets: Vec<(String, String)>,
    /// `moreAvailable`.
    pub more_available: bool,
}

/// The session-ended signals' use cases. Cheap to clone.
#[derive(Clone)]
pub struct Signals {
    core: ServiceCore,
    outbox: Arc<dyn SignalOutbox>,
    signer: Arc<dyn OidcSigner>,
}

impl std::fmt::Debug for Signals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Signals { .. }")
    }
}

impl Signals {
    /// The use cases over these ports.
    pub(crate) fn new(core: ServiceCore, outbox: Arc<dyn SignalOutbox>, signer: Arc<dyn OidcSigner>) -> Self {
        Self { core, outbox, signer }
    }

    /// Takes up to `limit` pushes that are due (leased to this caller, see
    /// [`SignalOutbox::claim_due`]); the ones whose client is gone or has no
    /// URI any more are given up at once and counted in
    /// [`Taken::failed`].
    ///
    /// # Errors
    /// [`PortError`] when the outbox cannot be read or written.
    pub async fn take_due(&self, policy: &DeliveryPolicy, limit: u32) -> Result<Taken, PortError> {
        let now = self.core.now();
        let due = self.outbox.claim_due(now, limit, now + policy.lease).await?;
        let mut taken = Taken::default();
        for d in due {
            match d.target {
                Some(target) => taken.due.push((d.signal, target)),
                None => {
                    self.outbox
                        .give_up(
                            d.signal.id,
                            now,
                            "the client is gone or has no back-channel logout URI",
                        )
                        .await?;
                    taken.failed += 1;
                }
            }
        }
        Ok(taken)
    }

    /// A logout token for `signal`, signed now with `target`'s algorithm
    /// and a fresh `jti` (a retried delivery is a new token).
    ///
    /// # Errors
    /// [`PortError`] when signing fails (no key of that algorithm).
    pub fn logout_token(&self, signal: &Signal, target: &Target) -> Result<String, PortError> {
        let now = self.core.now().timestamp();
        let claims = LogoutClaims {
            client_id: signal.client_id.clone(),
            sub: signal.subject,
            sid: signal.session,
            iat: now,
            exp: now + LOGOUT_TOKEN_TTL_SECONDS,
            jti: self.core.random_uuid().to_string(),
        };
        self.signer.sign_logout_token(target.alg, &claims)
    }

    /// Records the outcomes of finished posts: the delivered ones in one
    /// write, each failure retried after its back-off or given up once
    /// [`DeliveryPolicy::retry_for`] has passed since its session ended.
    ///
    /// # Errors
    /// [`PortError`]; an outcome not recorded is taken again after its
    /// lease.
    pub async fn record(
        &self,
        outcomes: &[(Signal, Result<(), String>)],
        policy: &DeliveryPolicy,
    ) -> Result<DeliveryReport, PortError> {
        let now = self.core.now();
        let mut report = DeliveryReport::default();
        let mut delivered = Vec::new();
        for (signal, outcome) in outcomes {
            match outcome {
                Ok(()) => delivered.push(signal.id),
                Err(reason) => self.failed(signal, now, policy, reason, &mut report).await?,
            }
        }
        if !delivered.is_empty() {
            self.outbox.delivered(&delivered, now).await?;
        }
        report.delivered = delivered.len();
        Ok(report)
    }

    /// One pass, for callers without a pipeline of their own: takes what is
    /// due, posts it with `sender` one after the other and records the
    /// outcomes when the last post has ended. (The server's delivery task
    /// instead keeps posts in flight and records each as it ends, so a hung
    /// receiver holds up no one else: `auth-http`'s `startup/signals.rs`.)
    ///
    /// # Errors
    /// [`PortError`] when the outbox cannot be read or written.
    pub async fn deliver_due(
        &self,
        sender: &dyn LogoutSender,
        policy: &DeliveryPolicy,
    ) -> Result<DeliveryReport, PortError> {
        let taken = self.take_due(policy, policy.batch).await?;
        let mut outcomes = Vec::with_capacity(taken.due.len());
        for (signal, target) in taken.due {
            let outcome = match self.logout_token(&signal, &target) {
                Ok(token) => sender.send(&target.uri, &token).await,
                Err(e) => Err(format!("cannot sign: {e}")),
            };
            outcomes.push((signal, outcome));
        }
        let mut report = self.record(&outcomes, policy).await?;
        report.taken = outcomes.len() + taken.failed;
        report.failed += taken.failed;
        Ok(report)
    }

    async fn failed(
        &self,
        signal: &Signal,
        now: DateTime<Utc>,
        policy: &DeliveryPolicy,
        reason: &str,
        report: &mut DeliveryReport,
    ) -> Result<(), PortError> {
        let next = now + policy.backoff(signal.attempts);
        if next - signal.ended_at > policy.retry_for {
            self.outbox.give_up(signal.id, now, reason).await?;
            report.failed += 1;
        } else {
            self.outbox.retry_at(signal.id, next, reason).await?;
            report.retried += 1;
        }
        Ok(())
    }

    /// The pushes still pending.
    ///
    /// # Errors
    /// [`PortError`].
    pub async fn backlog(&self) -> Result<Backlog, PortError> {
        self.outbox.backlog().await
    }

    /// One poll of `client`'s feed (RFC 8936 §2.4): records the
    /// acknowledgements, then answers up to `max_events` unacknowledged
    /// signals that ended within `retention`, as SETs.
    ///
    /// # Errors
    /// [`PortError`].
    pub async fn poll(
        &self,
        client: &OAuthClient,
        request: &PollRequest,
        retention: TimeDelta,
    ) -> Result<PollAnswer, PortError> {
        let now = self.core.now();
        if !request.ack.is_empty() {
            self.outbox.ack(&client.client_id, &request.ack, now).await?;
        }
        let max = request
            .max_events
            .unwrap_or(MAX_EVENTS_PER_POLL)
            .min(MAX_EVENTS_PER_POLL);
        if max == 0 {
            return Ok(PollAnswer::default());
        }
        let mut signals = self
            .outbox
            .feed(&client.client_id, now - retention, max + 1)
            .await?;
        let more_available = signals.len() > max as usize;
        signals.truncate(max as usize);
        let mut sets = Vec::with_capacity(signals.len());
        for s in signals {
            let set = SessionRevokedSet {
                client_id: s.client_id,
                jti: s.jti.clone(),
                iat: now.timestamp(),
                sub: s.subject,
                sid: s.session,
                event_timestamp: s.ended_at.timestamp(),
                initiating_entity: initiating_entity(s.reason),
                reason: s.reason.as_str(),
            };
            sets.push((
                s.jti,
                self.signer.sign_session_revoked(client.id_token_alg, &set)?,
            ));
        }
        Ok(PollAnswer { sets, more_available })
    }

    /// Deletes signals that ended more than `retention` ago and are no
    /// longer pending.
    ///
    /// # Errors
    /// [`PortError`].
    pub async fn purge(&self, retention: TimeDelta) -> Result<u64, PortError> {
        self.outbox.purge(self.core.now() - retention).await
    }
}

#[cfg(test)]
#[path = "signals_tests.rs"]
mod tests;
