//! The live sockets of this instance.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use auth_domain::chat::AppId;
use auth_domain::sessions::events::Event;
use auth_domain::sessions::session::SessionId;
use futures_channel::mpsc;
use uuid::Uuid;

use crate::messages::logout_message;

/// What a socket task is told to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Push {
    /// Send `LOGOUT` with this message, then close (a `chat` socket closes
    /// without the frame, which its contract does not have).
    Logout(String),
    /// Send `NOTIFICATION` with this message (`session` sockets only).
    Notification(String),
    /// The socket's application was deleted or re-keyed: close (`chat`
    /// sockets only).
    AppRevoked,
    /// This instance is shutting down: close with 1001 (going away), so
    /// the client reconnects, through the proxy, to another instance.
    GoingAway,
}

/// The close reason of [`Push::GoingAway`]: code 1001.
pub fn going_away() -> actix_ws::CloseReason {
    actix_ws::CloseReason {
        code: actix_ws::CloseCode::Away,
        description: Some("server shutting down".into()),
    }
}

/// Which contract a socket speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SocketKind {
    /// `session` sockets: `LOGOUT` and `NOTIFICATION` frames.
    Session,
    /// `chat` sockets (an `App-Id` at the handshake).
    Chat,
}

struct Conn {
    session: Option<SessionId>,
    /// Whose notifications the socket receives (`session` sockets).
    user: Option<Uuid>,
    /// The application of a `chat` socket.
    app: Option<AppId>,
    tx: mpsc::UnboundedSender<Push>,
}

#[derive(Default)]
struct Inner {
    next: u64,
    conns: HashMap<u64, Conn>,
    by_session: HashMap<SessionId, Vec<u64>>,
    by_user: HashMap<Uuid, Vec<u64>>,
    by_app: HashMap<AppId, Vec<u64>>,
    chat: usize,
    /// Set by [`Registry::close_all`]: a socket registered later is told
    /// to go away at once.
    closing: bool,
}

/// Sockets by session, by user and by application. Cheap operations under
/// one mutex; no I/O happens while it is held (pushes go through each
/// socket's channel). Every socket that belongs to a session is here,
/// `chat` sockets opened with one of our access tokens included, so a
/// session's end reaches all of them.
#[derive(Default)]
pub struct Registry {
    inner: Mutex<Inner>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry").field("sockets", &self.len()).finish()
    }
}

/// Removes its socket from the registry when dropped (the socket task ends).
#[derive(Debug)]
pub struct Registration {
    id: u64,
    registry: Arc<Registry>,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.registry.remove(self.id);
    }
}

fn remove_id<K: std::hash::Hash + Eq>(map: &mut HashMap<K, Vec<u64>>, key: K, id: u64) {
    if let Some(ids) = map.get_mut(&key) {
        ids.retain(|&i| i != id);
        if ids.is_empty() {
            map.remove(&key);
        }
    }
}

impl Registry {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the maps half-updated
        // in a way that matters more than losing every socket would.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn add(self: &Arc<Self>, conn: Conn) -> Registration {
        let mut inner = self.lock();
        inner.next += 1;
        let id = inner.next;
        if let Some(session) = conn.session {
            inner.by_session.entry(session).or_default().push(id);
        }
        if let Some(user) = conn.user {
            inner.by_user.entry(user).or_default().push(id);
        }
        if let Some(app) = &conn.app {
            inner.by_app.entry(app.clone()).or_default().push(id);
            inner.chat += 1;
        }
        if inner.closing {
            // Its task has not started reading yet; the push waits for it.
            let _ = conn.tx.unbounded_send(Push::GoingAway);
        }
        inner.conns.insert(id, conn);
        Registration {
            id,
            registry: self.clone(),
        }
    }

    /// Adds a `session` socket of `session` (the user's notifications
    /// reach it too); it stays until the returned guard is dropped.
    pub fn register(
        self: &Arc<Self>,
        session: SessionId,
        user: Uuid,
        tx: mpsc::UnboundedSender<Push>,
    ) -> Registration {
        self.add(Conn {
            session: Some(session),
            user: Some(user),
            app: None,
            tx,
        })
    }

    /// Adds a `chat` socket of `app`, and of `session` when it was opened
    /// with one of our access tokens; it stays until the returned guard is
    /// dropped.
    pub fn register_chat(
        self: &Arc<Self>,
        app: AppId,
        session: Option<SessionId>,
        tx: mpsc::UnboundedSender<Push>,
    ) -> Registration {
        self.add(Conn {
            session,
            user: None,
            app: Some(app),
            tx,
        })
    }

    fn remove(&self, id: u64) {
        let mut inner = self.lock();
        if let Some(conn) = inner.conns.remove(&id) {
            if let Some(session) = conn.session {
                remove_id(&mut inner.by_session, session, id);
            }
            if let Some(user) = conn.user {
                remove_id(&mut inner.by_user, user, id);
            }
            if let Some(app) = conn.app {
                remove_id(&mut inner.by_app, app, id);
                inner.chat -= 1;
            }
        }
    }

    /// Live sockets on this instance, of both kinds.
    pub fn len(&self) -> usize {
        self.lock().conns.len()
    }

    /// Live sockets of one kind on this instance.
    pub fn len_of(&self, kind: SocketKind) -> usize {
        let inner = self.lock();
        match kind {
            SocketKind::Chat => inner.chat,
            SocketKind::Session => inner.conns.len() - inner.chat,
        }
    }

    /// Live sockets of `session` on this instance (the console's
    /// "connected now").
    pub fn sockets_of(&self, session: SessionId) -> usize {
        self.lock().by_session.get(&session).map_or(0, Vec::len)
    }

    /// Whether no socket is live.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Tells every socket, and every socket registered from now on, to
    /// close with 1001 (going away): the shutdown's first step, so clients
    /// reconnect elsewhere instead of holding the instance open. Returns
    /// how many were told.
    pub fn close_all(&self) -> usize {
        let mut inner = self.lock();
        inner.closing = true;
        inner
            .conns
            .values()
            .filter(|conn| conn.tx.unbounded_send(Push::GoingAway).is_ok())
            .count()
    }

    /// Turns an event into pushes to the sockets it concerns; returns how
    /// many sockets were told.
    pub fn dispatch(&self, event: &Event) -> usize {
        let inner = self.lock();
        let (ids, push): (Vec<u64>, Push) = match event {
            Event::SessionsRevoked { sessions, reason } => (
                sessions
                    .iter()
                    .filter_map(|s| inner.by_session.get(s))
                    .flatten()
                    .copied()
                    .collect(),
                Push::Logout(logout_message(*reason).to_owned()),
            ),
            Event::Notification { user, message } => (
                inner.by_user.get(user).cloned().unwrap_or_default(),
                Push::Notification(message.clone()),
            ),
            Event::AppRevoked { app } => (
                inner.by_app.get(app).cloned().unwrap_or_default(),
                Push::AppRevoked,
            ),
        };
        ids.iter()
            .filter_map(|id| inner.conns.get(id))
            .filter(|conn| conn.tx.unbounded_send(push.clone()).is_ok())
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use auth_domain::sessions::session::RevokeReason;

    #[test]
    fn closing_all_tells_every_socket_and_every_later_one() {
        let registry = Arc::new(Registry::default());
        let (tx1, mut rx1) = mpsc::unbounded();
        let (tx2, mut rx2) = mpsc::unbounded();
        let _g1 = registry.register(SessionId::from_uuid(Uuid::new_v4()), Uuid::new_v4(), tx1);
        let _g2 = registry.register_chat(AppId::parse("app_0123abc").unwrap(), None, tx2);
        assert_eq!(registry.close_all(), 2);
        assert_eq!(rx1.try_recv().unwrap(), Push::GoingAway);
        assert_eq!(rx2.try_recv().unwrap(), Push::GoingAway);
        let (tx3, mut rx3) = mpsc::unbounded();
        let _g3 = registry.register(SessionId::from_uuid(Uuid::new_v4()), Uuid::new_v4(), tx3);
        assert_eq!(rx3.try_recv().unwrap(), Push::GoingAway);
    }

    #[test]
    fn events_reach_exactly_their_sockets_and_guards_unregister() {
        let registry = Arc::new(Registry::default());
        let (s1, s2) = (
            SessionId::from_uuid(Uuid::new_v4()),
            SessionId::from_uuid(Uuid::new_v4()),
        );
        let user = Uuid::new_v4();
        let (tx1, mut rx1) = mpsc::unbounded();
        let (tx2, mut rx2) = mpsc::unbounded();
        let g1 = registry.register(s1, user, tx1);
        let _g2 = registry.register(s2, user, tx2);
        let told = registry.dispatch(&Event::SessionsRevoked {
            sessions: vec![s1],
            reason: RevokeReason::NewLogin,
        });
        assert_eq!(told, 1);
        assert_eq!(
            rx1.try_recv().unwrap(),
            Push::Logout(crate::messages::NEW_LOGIN.into())
        );
        assert!(rx2.try_recv().is_err());
        let told = registry.dispatch(&Event::Notification {
            user,
            message: "hi".into(),
        });
        assert_eq!(told, 2);
        drop(g1);
        assert_eq!(registry.len(), 1);
        let told = registry.dispatch(&Event::Notification {
            user,
            message: "again".into(),
        });
        assert_eq!(told, 1);
    }

    #[test]
    fn chat_sockets_end_with_their_session_or_app_and_get_no_notifications() {
        let registry = Arc::new(Registry::default());
        let (sid, user) = (SessionId::from_uuid(Uuid::new_v4()), Uuid::new_v4());
        let (app, other) = (AppId::parse("app_a").unwrap(), AppId::parse("app_b").unwrap());
        let (tx_own, mut own) = mpsc::unbounded();
        let (tx_app, mut app_user) = mpsc::unbounded();
        let (tx_session, mut session) = mpsc::unbounded();
        let _own = registry.register_chat(app.clone(), Some(sid), tx_own);
        let g_app = registry.register_chat(app.clone(), None, tx_app);
        let _session = registry.register(sid, user, tx_session);
        assert_eq!(
            (
                registry.len_of(SocketKind::Session),
                registry.len_of(SocketKind::Chat)
            ),
            (1, 2)
        );
        assert_eq!(
            registry.dispatch(&Event::Notification {
                user,
                message: "hi".into()
            }),
            1
        );
        assert!(own.try_recv().is_err());
        assert!(matches!(session.try_recv(), Ok(Push::Notification(_))));
        assert_eq!(registry.dispatch(&Event::AppRevoked { app: other }), 0);
        assert_eq!(registry.dispatch(&Event::AppRevoked { app: app.clone() }), 2);
        assert_eq!(own.try_recv().unwrap(), Push::AppRevoked);
        assert_eq!(app_user.try_recv().unwrap(), Push::AppRevoked);
        let told = registry.dispatch(&Event::SessionsRevoked {
            sessions: vec![sid],
            reason: RevokeReason::Logout,
        });
        assert_eq!(told, 2, "the session socket and the chat socket of the session");
        assert!(matches!(own.try_recv(), Ok(Push::Logout(_))));
        assert!(app_user.try_recv().is_err());
        drop(g_app);
        assert_eq!(registry.len_of(SocketKind::Chat), 1);
    }
}
