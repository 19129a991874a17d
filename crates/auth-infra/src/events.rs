//! [`EventBus`] adapters: in-process fan-out, and PostgreSQL `LISTEN/NOTIFY`
//! so that an event published on one instance reaches the sockets held by
//! every instance sharing the database. No extra server to operate.
//!
//! Subscribers (the WebSocket registry) always read from the local
//! [`LocalEventBus`]. With PostgreSQL, publishing sends `NOTIFY` and a
//! listener thread per instance feeds every notification, its own included,
//! into the local bus; so each event is delivered exactly once per instance.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use auth_domain::chat::AppId;
use auth_domain::ports::EventBus;
use auth_domain::sessions::events::Event;
use auth_domain::sessions::session::{RevokeReason, SessionId};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::Text;
use serde_json::{Value, json};
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::db::{AnyConnection, Database};

/// The PostgreSQL channel events travel on.
pub const CHANNEL: &str = "auth_events";

/// Fans events out to subscribers in this process.
#[derive(Debug, Clone)]
pub struct LocalEventBus {
    tx: broadcast::Sender<Event>,
}

impl LocalEventBus {
    /// A bus buffering up to `capacity` events per slow subscriber.
    pub fn new(capacity: usize) -> Self {
        let (tx, _) = broadcast::channel(capacity.max(16));
        Self { tx }
    }

    /// A new subscription; it sees events published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.tx.subscribe()
    }

    fn deliver(&self, event: Event) {
        // No subscriber (no socket layer) is fine: nobody to tell.
        let _ = self.tx.send(event);
    }
}

#[async_trait]
impl EventBus for LocalEventBus {
    async fn publish(&self, event: Event) {
        self.deliver(event);
    }
}

/// Session ids per NOTIFY: 150 UUIDs make about 6,000 bytes of JSON, under
/// PostgreSQL's 8,000-byte payload limit.
pub const SESSIONS_PER_NOTIFY: usize = 150;

/// Splits an event into events whose payloads fit one NOTIFY: a
/// revocation of many sessions (a revoke-all of a user holding thousands)
/// becomes several, of [`SESSIONS_PER_NOTIFY`] sessions each; other events
/// are small (notifications are capped at 1000 characters).
pub fn split(event: Event) -> Vec<Event> {
    match event {
        Event::SessionsRevoked { sessions, reason } if sessions.len() > SESSIONS_PER_NOTIFY => sessions
            .chunks(SESSIONS_PER_NOTIFY)
            .map(|chunk| Event::SessionsRevoked {
                sessions: chunk.to_vec(),
                reason,
            })
            .collect(),
        other => vec![other],
    }
}

/// Encodes an event as the NOTIFY payload (JSON); an event from [`split`]
/// fits PostgreSQL's 8000-byte limit.
pub fn encode(event: &Event) -> String {
    match event {
        Event::SessionsRevoked { sessions, reason } => json!({
            "t": "revoked",
            "sessions": sessions.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "reason": reason.as_str(),
        }),
        Event::Notification { user, message } => json!({"t": "notify", "user": user, "message": message}),
        Event::AppRevoked { app } => json!({"t": "app", "app": app.as_str()}),
    }
    .to_string()
}

/// Decodes a NOTIFY payload; `None` for anything not produced by [`encode`].
pub fn decode(payload: &str) -> Option<Event> {
    let v: Value = serde_json::from_str(payload).ok()?;
    match v.get("t")?.as_str()? {
        "revoked" => Some(Event::SessionsRevoked {
            sessions: v
                .get("sessions")?
                .as_array()?
                .iter()
                .map(|s| {
                    s.as_str()
                        .and_then(|s| Uuid::parse_str(s).ok())
                        .map(SessionId::from_uuid)
                })
                .collect::<Option<Vec<_>>>()?,
            reason: RevokeReason::parse(v.get("reason")?.as_str()?)?,
        }),
        "notify" => Some(Event::Notification {
            user: Uuid::parse_str(v.get("user")?.as_str()?).ok()?,
            message: v.get("message")?.as_str()?.to_owned(),
        }),
        "app" => Some(Event::AppRevoked {
            app: AppId::parse(v.get("app")?.as_str()?).ok()?,
        }),
        _ => None,
    }
}

/// Publishes with `NOTIFY` and listens on a dedicated connection.
#[derive(Debug, Clone)]
pub struct PgEventBus {
    db: Database,
    local: LocalEventBus,
    listener: Arc<Listener>,
}

/// The listener thread's stop flag and its exit, shared by the bus's
/// clones.
#[derive(Debug, Default)]
struct Listener {
    /// Set to stop; the thread waits on `wake` between polls and
    /// reconnections, so a stop interrupts its sleeps.
    stopped: std::sync::Mutex<bool>,
    wake: std::sync::Condvar,
    /// The thread, until joined.
    thread: std::sync::Mutex<Option<std::thread::JoinHandle<()>>>,
    /// Signalled by the thread as it returns (so a stop can wait for it
    /// with a bound).
    exited: std::sync::Mutex<bool>,
    exit: std::sync::Condvar,
}

/// How long [`PgEventBus::stop_listening`] waits for the listener thread:
/// it is between polls (5 ms) or reconnections unless a connection attempt
/// hangs on an unreachable server.
const JOIN_WAIT: Duration = Duration::from_secs(3);

impl Listener {
    fn is_stopped(&self) -> bool {
        *self
            .stopped
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Sleeps `d` unless stopped meanwhile; true when stopped.
    fn sleep(&self, d: Duration) -> bool {
        let guard = self
            .stopped
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (guard, _) = self
            .wake
            .wait_timeout_while(guard, d, |stopped| !*stopped)
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *guard
    }

    fn mark_exited(&self) {
        *self
            .exited
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = true;
        self.exit.notify_all();
    }
}

impl PgEventBus {
    /// Starts the listener thread on its own connection to `url` (the same
    /// database as `db`) and returns the bus. Events received are delivered
    /// to `local`. The listener reconnects with a back-off if the connection
    /// drops; events sent while it is down are lost (sockets then learn of a
    /// revocation at their next session check). Stop it with
    /// [`PgEventBus::stop_listening`] before the process exits.
    pub fn start(db: Database, url: String, local: LocalEventBus, poll: Duration) -> Self {
        let listener = Arc::new(Listener::default());
        let thread_listener = listener.clone();
        let thread_local = local.clone();
        let spawned = std::thread::Builder::new()
            .name("auth-pg-listener".into())
            .spawn(move || {
                listen(&url, &thread_local, &thread_listener, poll);
                thread_listener.mark_exited();
            });
        match spawned {
            Ok(thread) => {
                *listener
                    .thread
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(thread);
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot start the PostgreSQL event listener");
                listener.mark_exited();
            }
        }
        Self { db, local, listener }
    }

    /// A bus that only publishes (`NOTIFY`), with no listener: for a
    /// process that changes state but holds no sockets (`auth-server`'s
    /// admin commands), so the serving instances push what it announces.
    pub fn publisher(db: Database) -> Self {
        let listener = Listener {
            stopped: std::sync::Mutex::new(true),
            exited: std::sync::Mutex::new(true),
            ..Listener::default()
        };
        Self {
            db,
            local: LocalEventBus::new(16),
            listener: Arc::new(listener),
        }
    }

    /// The local side, for subscribers.
    pub fn local(&self) -> &LocalEventBus {
        &self.local
    }

    /// Stops the listener thread and waits for it (at most a few seconds:
    /// longer only when it is connecting to a server that does not answer).
    /// Idempotent; clones share the listener.
    ///
    /// Call it before the process exits: a thread still inside libpq (and
    /// so OpenSSL, on a TLS connection) while the C libraries' exit
    /// handlers free their state corrupts the heap (docs/security.md,
    /// "Exit-time heap corruption").
    pub fn stop_listening(&self) {
        {
            let mut stopped = self
                .listener
                .stopped
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            *stopped = true;
        }
        self.listener.wake.notify_all();
        let exited = self
            .listener
            .exited
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (exited, _) = self
            .listener
            .exit
            .wait_timeout_while(exited, JOIN_WAIT, |exited| !*exited)
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if !*exited {
            tracing::warn!("the event listener did not stop in time (a connection attempt hangs)");
            return;
        }
        drop(exited);
        let thread = self
            .listener
            .thread
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(thread) = thread
            && thread.join().is_err()
        {
            tracing::warn!("the event listener thread panicked");
        }
    }
}

/// Whether this process's listener holds a `LISTEN` connection:
/// `auth_event_listener_up` (1 or 0); each loss of it counts in
/// `auth_event_listener_disconnects_total`.
fn listener_up(up: bool) {
    metrics::gauge!("auth_event_listener_up").set(if up { 1.0 } else { 0.0 });
}

fn listen(url: &str, local: &LocalEventBus, control: &Listener, poll: Duration) {
    listener_up(false);
    listen_until_stopped(url, local, control, poll);
    listener_up(false);
}

fn listen_until_stopped(url: &str, local: &LocalEventBus, control: &Listener, poll: Duration) {
    let mut backoff = Duration::from_millis(100);
    while !control.is_stopped() {
        let mut conn = match PgConnection::establish(url) {
            Ok(conn) => conn,
            Err(e) => {
                tracing::warn!(error = %crate::redact_database_url(&e.to_string()), "event listener cannot connect; retrying");
                if control.sleep(backoff) {
                    return;
                }
                backoff = (backoff * 2).min(Duration::from_secs(5));
                continue;
            }
        };
        if let Err(e) = diesel::sql_query(format!("LISTEN {CHANNEL}")).execute(&mut conn) {
            tracing::warn!(error = %e, "event listener cannot LISTEN; retrying");
            if control.sleep(backoff) {
                return;
            }
            continue;
        }
        tracing::info!(channel = CHANNEL, "listening for events from other instances");
        listener_up(true);
        backoff = Duration::from_millis(100);
        'poll: while !control.is_stopped() {
            for received in conn.notifications_iter() {
                match received {
                    Ok(n) => match decode(&n.payload) {
                        Some(event) => local.deliver(event),
                        None => tracing::warn!("ignored a malformed event notification"),
                    },
                    Err(e) => {
                        tracing::warn!(error = %e, "event listener connection lost; reconnecting");
                        listener_up(false);
                        metrics::counter!("auth_event_listener_disconnects_total").increment(1);
                        break 'poll;
                    }
                }
            }
            if control.sleep(poll) {
                return;
            }
        }
    }
}

#[async_trait]
impl EventBus for PgEventBus {
    async fn publish(&self, event: Event) {
        for part in split(event) {
            let payload = encode(&part);
            let result = self
                .db
                .query("publish event", move |conn| match conn {
                    AnyConnection::Postgres(pg) => diesel::sql_query("SELECT pg_notify($1, $2)")
                        .bind::<Text, _>(CHANNEL)
                        .bind::<Text, _>(payload)
                        .execute(pg)
                        .map(|_| ()),
                    AnyConnection::Sqlite(_) => Err(diesel::result::Error::QueryBuilderError(
                        "the PostgreSQL event bus needs a PostgreSQL database".into(),
                    )),
                })
                .await;
            if let Err(e) = result {
                // This instance still hears it (its own sockets, its
                // deliveries); the others learn at their next session
                // check and delivery tick.
                tracing::error!(error = %e, "event not published to other instances; delivered here only");
                self.local.deliver(part);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_round_trip() {
        let events = [
            Event::SessionsRevoked {
                sessions: vec![
                    SessionId::from_uuid(Uuid::new_v4()),
                    SessionId::from_uuid(Uuid::new_v4()),
                ],
                reason: RevokeReason::NewLogin,
            },
            Event::Notification {
                user: Uuid::new_v4(),
                message: "안녕 \"quoted\" \n".into(),
            },
            Event::AppRevoked {
                app: AppId::parse("app_0123abc").unwrap(),
            },
        ];
        for e in events {
            assert_eq!(decode(&encode(&e)), Some(e));
        }
        assert_eq!(decode("{}"), None);
        // A revocation of thousands of sessions is split into payloads
        // PostgreSQL accepts (8000 bytes), none lost.
        let many: Vec<SessionId> = (0..1000).map(|_| SessionId::from_uuid(Uuid::new_v4())).collect();
        let parts = split(Event::SessionsRevoked {
            sessions: many.clone(),
            reason: RevokeReason::Admin,
        });
        assert_eq!(parts.len(), 7);
        let mut back = Vec::new();
        for part in &parts {
            let payload = encode(part);
            assert!(payload.len() < 8000, "{} bytes", payload.len());
            match decode(&payload) {
                Some(Event::SessionsRevoked { sessions, reason }) => {
                    assert_eq!(reason, RevokeReason::Admin);
                    back.extend(sessions);
                }
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(back, many);
        assert_eq!(decode(r#"{"t":"app","app":"a b"}"#), None);
        assert_eq!(decode("not json"), None);
    }
}
