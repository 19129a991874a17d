//! The live sockets of this instance.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use auth_domain::events::Event;
use auth_domain::session::SessionId;
use futures_channel::mpsc;
use uuid::Uuid;

use crate::messages::logout_message;

/// What a socket task is told to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Push {
    /// Send `LOGOUT` with this message, then close.
    Logout(String),
    /// Send `NOTIFICATION` with this message.
    Notification(String),
}

struct Conn {
    session: SessionId,
    user: Uuid,
    tx: mpsc::UnboundedSender<Push>,
}

#[derive(Default)]
struct Inner {
    next: u64,
    conns: HashMap<u64, Conn>,
    by_session: HashMap<SessionId, Vec<u64>>,
    by_user: HashMap<Uuid, Vec<u64>>,
}

/// Sockets by session and by user. Cheap operations under one mutex; no
/// I/O happens while it is held (pushes go through each socket's channel).
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

    /// Adds a socket; it stays until the returned guard is dropped.
    pub fn register(
        self: &Arc<Self>,
        session: SessionId,
        user: Uuid,
        tx: mpsc::UnboundedSender<Push>,
    ) -> Registration {
        let mut inner = self.lock();
        inner.next += 1;
        let id = inner.next;
        inner.conns.insert(id, Conn { session, user, tx });
        inner.by_session.entry(session).or_default().push(id);
        inner.by_user.entry(user).or_default().push(id);
        Registration {
            id,
            registry: self.clone(),
        }
    }

    fn remove(&self, id: u64) {
        let mut inner = self.lock();
        if let Some(conn) = inner.conns.remove(&id) {
            remove_id(&mut inner.by_session, conn.session, id);
            remove_id(&mut inner.by_user, conn.user, id);
        }
    }

    /// Live sockets on this instance.
    pub fn len(&self) -> usize {
        self.lock().conns.len()
    }

    /// Whether no socket is live.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
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
    use auth_domain::session::RevokeReason;

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
}
