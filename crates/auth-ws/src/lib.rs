//! WebSockets for the auth service.
//!
//! - [`registry::Registry`]: the live sockets of this instance, by session
//!   and by user.
//! - [`dispatch::spawn_dispatcher`]: turns domain events (from the local
//!   event bus, which with PostgreSQL carries every instance's events) into
//!   pushes to the registry's sockets.
//! - [`handler::ws`]: `GET /ws`. Authenticates at the handshake (refusing
//!   the upgrade with 401), then runs one task per socket: heartbeat, idle
//!   timeout, periodic session check, and pushes of the `session` contract
//!   (`{"type":"LOGOUT"|"NOTIFICATION","message","timestamp"}`).
//!   A connection presenting an `App-Id` is handed to [`chat`] instead.
//! - [`chat`]: the `chat` contract's event frames (`connect`/`disconnect`)
//!   and [`ChatPresence`].
//!
//! Architecture invariant: this crate decides nothing about identity; it
//! asks `auth_domain::AuthService` and renders.
//!
//! Architecture invariant: the wall clock is read only through the injected
//! [`auth_domain::ports::Clock`] ([`WsState::clock`]); `chrono::Utc::now` is a
//! disallowed method here (`clippy.toml`).

#![warn(clippy::disallowed_methods)]

pub mod chat;
pub mod dispatch;
pub mod handler;
pub mod messages;
pub mod registry;

use std::sync::Arc;
use std::time::Duration;

use auth_domain::AuthService;
use auth_domain::ports::Clock;

pub use chat::ChatPresence;
pub use dispatch::spawn_dispatcher;
pub use handler::ws;
pub use registry::Registry;

/// Socket timing.
#[derive(Debug, Clone, Copy)]
pub struct WsConfig {
    /// How often the server pings.
    pub heartbeat: Duration,
    /// A socket that sends nothing (not even a pong) for this long is closed.
    pub idle_timeout: Duration,
    /// How often each socket re-checks that its session is live (catches an
    /// event missed while the cross-instance listener was reconnecting);
    /// zero disables.
    pub session_check: Duration,
}

impl Default for WsConfig {
    fn default() -> Self {
        Self {
            heartbeat: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(90),
            session_check: Duration::from_secs(60),
        }
    }
}

/// What the `/ws` handler needs.
#[derive(Clone)]
pub struct WsState {
    /// The use cases.
    pub auth: AuthService,
    /// This instance's sockets.
    pub registry: Arc<Registry>,
    /// Timing.
    pub config: WsConfig,
    /// Who is connected to a `chat` socket on this instance.
    pub chat: Arc<ChatPresence>,
    /// The time: frame timestamps and when a chat token's socket closes.
    pub clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for WsState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WsState")
            .field("auth", &self.auth)
            .field("registry", &self.registry)
            .field("config", &self.config)
            .field("chat", &self.chat)
            .finish_non_exhaustive()
    }
}
