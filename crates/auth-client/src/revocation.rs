//! [`RevocationList`]: the sessions this service heard ended, consulted by
//! [`crate::AuthClient::verify`] without a request to the server.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use crate::events::unix_now;
use crate::{Claims, Error, LogoutToken, SessionRevoked};

/// Configures a [`RevocationList`].
#[derive(Debug, Clone)]
pub struct RevocationListBuilder {
    pub(crate) retention: Duration,
    pub(crate) capacity: usize,
    pub(crate) logout_token_max_age: Duration,
    pub(crate) clock_skew: Duration,
}

impl Default for RevocationListBuilder {
    fn default() -> Self {
        Self {
            retention: Duration::from_secs(3600),
            capacity: 1_000_000,
            logout_token_max_age: Duration::from_secs(300),
            clock_skew: Duration::from_secs(60),
        }
    }
}

impl RevocationListBuilder {
    /// How long an ended session (or user) is remembered after its end was
    /// heard (default 1 hour). It must outlive the longest access token
    /// the server issues (`AUTH_ACCESS_TOKEN_TTL`, 30 minutes by default):
    /// once pruned, a token of that session verifies again until its `exp`.
    #[must_use]
    pub fn retention(mut self, retention: Duration) -> Self {
        self.retention = retention;
        self
    }

    /// The most entries kept (default 1,000,000 ended sessions or users,
    /// roughly 200 bytes each); past it the oldest are dropped first (with
    /// a warning), as are the `jti`s of logout tokens kept to refuse
    /// replays (the soonest to expire first). At least 1.
    #[must_use]
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity.max(1);
        self
    }

    /// The oldest `iat` accepted on a logout token without an `exp`
    /// (default 5 minutes).
    #[must_use]
    pub fn logout_token_max_age(mut self, max_age: Duration) -> Self {
        self.logout_token_max_age = max_age;
        self
    }

    /// The clock difference tolerated with the server on the `iat` and
    /// `exp` of logout tokens and security events (default 60 s).
    #[must_use]
    pub fn clock_skew(mut self, skew: Duration) -> Self {
        self.clock_skew = skew;
        self
    }

    /// The list, empty.
    #[must_use]
    pub fn build(self) -> RevocationList {
        RevocationList {
            inner: Arc::new(Shared {
                config: self,
                state: RwLock::new(State::default()),
            }),
        }
    }
}

/// The sessions (and users) this service heard ended: by a back-channel
/// logout token ([`crate::AuthClient::receive_logout_token`]) or a polled
/// security event ([`crate::Poller`]).
///
/// Cheap to clone (an `Arc` inside) and thread-safe. Give it to
/// [`crate::Builder::revocations`] so that [`crate::AuthClient::verify`]
/// (and the actix extractors) refuse, with [`Error::Revoked`] and no
/// request to the server, an access token whose `sid` ended, or whose
/// `sub` had all its sessions ended at or after the token's `iat`.
///
/// Entries are kept for [`RevocationListBuilder::retention`] (1 hour) and
/// then pruned (on the next write); at most
/// [`RevocationListBuilder::capacity`] entries are kept, the oldest
/// dropped first. The list lives in memory: a restarted service hears only
/// the ends announced after it started (the server keeps undelivered
/// events for a poller until they are acknowledged).
#[derive(Clone)]
pub struct RevocationList {
    inner: Arc<Shared>,
}

impl std::fmt::Debug for RevocationList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RevocationList")
            .field("entries", &self.len())
            .field("retention", &self.inner.config.retention)
            .field("capacity", &self.inner.config.capacity)
            .finish_non_exhaustive()
    }
}

impl Default for RevocationList {
    fn default() -> Self {
        Self::new()
    }
}

struct Shared {
    config: RevocationListBuilder,
    state: RwLock<State>,
}

/// What an entry ended.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Session(Arc<str>),
    User(Arc<str>),
}

#[derive(Default)]
struct State {
    /// Ended session → its entry's sequence number.
    sessions: HashMap<Arc<str>, u64>,
    /// User → (tokens issued at or before this time are ended, sequence).
    users: HashMap<Arc<str>, (i64, u64)>,
    /// Entries in the order they were recorded, with when.
    order: BTreeMap<u64, (Key, Instant)>,
    next: u64,
    /// `jti`s of accepted logout tokens → (forget after, sequence).
    jtis: HashMap<Arc<str>, (i64, u64)>,
    /// The same, soonest forgotten first.
    jti_order: BTreeMap<(i64, u64), Arc<str>>,
}

impl State {
    fn push(&mut self, key: Key, now: Instant) -> u64 {
        self.next += 1;
        self.order.insert(self.next, (key, now));
        self.next
    }

    fn remove(&mut self, key: &Key) {
        match key {
            Key::Session(sid) => {
                self.sessions.remove(sid);
            }
            Key::User(sub) => {
                self.users.remove(sub);
            }
        }
    }

    /// Drops entries older than `retention`, then the oldest past
    /// `capacity`; forgets `jti`s past their time, then the soonest past
    /// `capacity`.
    fn prune(&mut self, config: &RevocationListBuilder, now: Instant, unix: i64) {
        while let Some(entry) = self.order.first_entry() {
            if now.saturating_duration_since(entry.get().1) < config.retention {
                break;
            }
            let (key, _) = entry.remove();
            self.remove(&key);
        }
        let mut dropped = 0_usize;
        while self.order.len() > config.capacity {
            let Some((_, (key, _))) = self.order.pop_first() else {
                break;
            };
            self.remove(&key);
            dropped += 1;
        }
        if dropped > 0 {
            tracing::warn!(
                dropped,
                capacity = config.capacity,
                "revocation list full: dropped the oldest ended sessions"
            );
        }
        while let Some(entry) = self.jti_order.first_entry() {
            if entry.key().0 >= unix && self.jtis.len() <= config.capacity {
                break;
            }
            let jti = entry.remove();
            self.jtis.remove(&jti);
        }
    }

    fn end_session(&mut self, sid: &str, now: Instant) {
        if self.sessions.contains_key(sid) {
            return;
        }
        let sid: Arc<str> = Arc::from(sid);
        let seq = self.push(Key::Session(sid.clone()), now);
        self.sessions.insert(sid, seq);
    }

    fn end_user(&mut self, sub: &str, issued_up_to: i64, now: Instant) {
        if let Some(&(ended, seq)) = self.users.get(sub) {
            if ended >= issued_up_to {
                return;
            }
            self.order.remove(&seq);
        }
        let sub: Arc<str> = Arc::from(sub);
        let seq = self.push(Key::User(sub.clone()), now);
        self.users.insert(sub, (issued_up_to, seq));
    }
}

impl RevocationList {
    /// An empty list with the defaults (retention 1 hour, capacity
    /// 1,000,000, logout tokens at most 5 minutes old, 60 s clock skew).
    #[must_use]
    pub fn new() -> Self {
        Self::builder().build()
    }

    /// Configure a list.
    #[must_use]
    pub fn builder() -> RevocationListBuilder {
        RevocationListBuilder::default()
    }

    pub(crate) fn config(&self) -> &RevocationListBuilder {
        &self.inner.config
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        // A panic while holding the lock cannot leave the maps half
        // updated in a way that matters here: keep using them.
        self.inner.state.write().unwrap_or_else(PoisonError::into_inner)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.inner.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records the end of session `sid`.
    pub fn end_session(&self, sid: &str) {
        let now = Instant::now();
        let mut state = self.write();
        state.end_session(sid, now);
        state.prune(self.config(), now, unix_now());
    }

    /// Records the end of every session of user `sub` whose tokens were
    /// issued at or before `issued_up_to` (seconds since the epoch).
    pub fn end_user_sessions(&self, sub: &str, issued_up_to: i64) {
        let now = Instant::now();
        let mut state = self.write();
        state.end_user(sub, issued_up_to, now);
        state.prune(self.config(), now, unix_now());
    }

    /// Records a verified back-channel logout token (from
    /// [`crate::AuthClient::verify_logout_token`]): its `sid` ended, or
    /// without one, its `sub`'s sessions issued at or before its `iat`.
    /// Its `jti` is remembered until the token would expire, to refuse a
    /// replay.
    ///
    /// # Errors
    /// [`Error::Invalid`] for a `jti` already seen; then nothing is
    /// recorded.
    pub fn record_logout(&self, token: &LogoutToken) -> Result<(), Error> {
        let config = self.config();
        let skew = i64::try_from(config.clock_skew.as_secs()).unwrap_or(i64::MAX);
        let max_age = i64::try_from(config.logout_token_max_age.as_secs()).unwrap_or(i64::MAX);
        let forget_at = token
            .exp
            .unwrap_or_else(|| token.iat.saturating_add(max_age))
            .saturating_add(skew);
        let (now, unix) = (Instant::now(), unix_now());
        let mut state = self.write();
        state.prune(config, now, unix);
        if state.jtis.contains_key(token.jti.as_str()) {
            return Err(Error::Invalid("replayed jti"));
        }
        let jti: Arc<str> = Arc::from(token.jti.as_str());
        state.next += 1;
        let seq = state.next;
        state.jtis.insert(jti.clone(), (forget_at, seq));
        state.jti_order.insert((forget_at, seq), jti);
        match (&token.sid, &token.sub) {
            (Some(sid), _) => state.end_session(sid, now),
            (None, Some(sub)) => state.end_user(sub, token.iat, now),
            (None, None) => {}
        }
        state.prune(config, now, unix);
        Ok(())
    }

    /// Records a verified CAEP `session-revoked` event (from
    /// [`crate::AuthClient::verify_security_event`]): its session ended,
    /// or without one, its user's sessions issued at or before the event.
    /// Recording the same event twice changes nothing.
    pub fn record_event(&self, event: &SessionRevoked) {
        let now = Instant::now();
        let mut state = self.write();
        match (&event.session, &event.user) {
            (Some(sid), _) => state.end_session(sid, now),
            (None, Some(sub)) => state.end_user(sub, event.event_timestamp.unwrap_or(event.iat), now),
            (None, None) => {}
        }
        state.prune(self.config(), now, unix_now());
    }

    /// Whether session `sid` is recorded as ended.
    pub fn is_session_ended(&self, sid: &str) -> bool {
        self.read().sessions.contains_key(sid)
    }

    /// Whether the sessions of user `sub` issued at `iat` (seconds since
    /// the epoch) are recorded as ended.
    pub fn is_user_ended(&self, sub: &str, iat: i64) -> bool {
        self.read().users.get(sub).is_some_and(|&(ended, _)| iat <= ended)
    }

    /// Refuses the claims of a token whose session, or whose user's
    /// sessions at its `iat`, are recorded as ended.
    ///
    /// # Errors
    /// [`Error::Revoked`].
    pub fn check(&self, claims: &Claims) -> Result<(), Error> {
        let state = self.read();
        if state.sessions.is_empty() && state.users.is_empty() {
            return Ok(());
        }
        let session_ended = claims
            .sid
            .as_deref()
            .is_some_and(|sid| state.sessions.contains_key(sid));
        let user_ended = state
            .users
            .get(claims.sub.as_str())
            .is_some_and(|&(ended, _)| claims.iat <= ended);
        if session_ended || user_ended {
            Err(Error::Revoked)
        } else {
            Ok(())
        }
    }

    /// How many ended sessions and users are recorded.
    pub fn len(&self) -> usize {
        self.read().order.len()
    }

    /// Whether nothing is recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Prunes as if the time were `now` (tests).
    #[cfg(test)]
    pub(crate) fn prune_at(&self, now: Instant, unix: i64) {
        self.write().prune(self.config(), now, unix);
    }

    /// How many logout-token `jti`s are remembered (tests).
    #[cfg(test)]
    pub(crate) fn remembered_jtis(&self) -> usize {
        self.read().jtis.len()
    }
}
