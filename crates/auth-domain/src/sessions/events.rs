//! What the identity core announces to connected devices.
//!
//! Use cases publish an [`Event`] through the [`crate::sessions::ports::EventBus`]
//! port after the state change is stored; the WebSocket layer (`auth-ws`)
//! turns events into pushes to live sockets, on whichever instance holds
//! them.

use uuid::Uuid;

use crate::chat::AppId;
use crate::sessions::session::{RevokeReason, SessionId};

/// Longest notification message, in characters (the `session` document
/// allows 200; a little room is left for other clients).
pub const MAX_NOTIFICATION_CHARS: usize = 1000;

/// Something connected devices must learn about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// These sessions were revoked: their sockets get `LOGOUT` and are closed.
    SessionsRevoked {
        /// The revoked sessions.
        sessions: Vec<SessionId>,
        /// Why.
        reason: RevokeReason,
    },
    /// A message for every socket of a user (`NOTIFICATION`).
    Notification {
        /// The user's UUID.
        user: Uuid,
        /// The text.
        message: String,
    },
    /// An application was deleted or re-keyed: every `chat` socket opened
    /// for it is closed (its tokens no longer verify).
    AppRevoked {
        /// The application.
        app: AppId,
    },
}

/// Who may hold several sessions at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionPolicy {
    /// Contracts whose password logins end the user's older sessions
    /// (default: `session`, as its document's `LOGOUT` message describes).
    pub single_session_clients: Vec<String>,
    /// At most this many live sessions per user, oldest evicted (all
    /// contracts); `None` for no limit.
    pub max_sessions_per_user: Option<u32>,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        Self {
            single_session_clients: vec!["session".to_owned()],
            max_sessions_per_user: None,
        }
    }
}
