//! The shutdown sequence (docs/operations.md, "Shutdown and restarts").
//!
//! On SIGTERM or SIGINT (or [`ShutdownHandle::begin`]):
//! 1. `/readyz` answers 503 `draining` and every response carries
//!    `Connection: close`, so a balancer stops sending here and a proxy
//!    keeps no connection to this instance;
//! 2. every socket is closed with 1001 (going away), and one opened later
//!    at once, so clients reconnect to another instance;
//! 3. for `AUTH_SHUTDOWN_DRAIN_SECONDS` (5) the instance still accepts and
//!    serves, as 1. says, so a balancer's probe sees the 503 and a proxy's
//!    idle connections to it close;
//! 4. the listener is closed (new connections are refused, which a proxy
//!    retries on another instance) and the requests in flight finish,
//!    within `AUTH_SHUTDOWN_TIMEOUT_SECONDS`;
//! 5. background work is flushed, within the same bound again: password
//!    upgrades still running, and the back-channel logouts (one last take of
//!    what is due, the posts in flight finished and recorded);
//! 6. the event listener thread is stopped and joined, and the database
//!    pools closed, before the process exits (with 0).
//!
//! A second signal during 3 or 4 stops at once (the requests still in
//! flight are dropped).

use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::ConnectionType;
use actix_web::middleware::Next;
use actix_web::web;
use auth_infra::PgEventBus;

use crate::state::AppState;

/// Asks a running [`crate::Application`] to shut down as SIGTERM does.
#[derive(Debug, Clone)]
pub struct ShutdownHandle(pub(super) tokio::sync::watch::Sender<bool>);

impl ShutdownHandle {
    /// Begins the shutdown sequence (as SIGTERM); returns at once.
    pub fn begin(&self) {
        let _ = self.0.send(true);
    }
}

/// The first SIGTERM or SIGINT, or [`ShutdownHandle::begin`].
pub(super) async fn requested(begun: &mut tokio::sync::watch::Receiver<bool>) -> &'static str {
    let asked = async {
        // Only a dropped sender ends this without a request: then wait
        // for a signal alone.
        if begun.wait_for(|b| *b).await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        () = asked => "requested",
        name = signal() => name,
    }
}

/// The next SIGTERM or SIGINT.
pub(super) async fn signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) {
            (Ok(mut term), Ok(mut int)) => tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = int.recv() => "SIGINT",
            },
            _ => {
                tracing::warn!("cannot listen for SIGTERM/SIGINT; stop the server with its handle");
                std::future::pending().await
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        "Ctrl-C"
    }
}

/// Middleware: while draining, every response closes its connection (a
/// proxy then drops it instead of sending the next request on it).
pub(super) async fn close_when_draining(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let draining = req
        .app_data::<web::Data<AppState>>()
        .map(|state| state.draining.clone());
    let mut res = next.call(req).await?;
    // Not a socket's handshake: its 101 must keep `Connection: upgrade`
    // (the socket is then told to go away by the registry).
    if draining.is_some_and(|d| d.is_draining())
        && res.status() != actix_web::http::StatusCode::SWITCHING_PROTOCOLS
    {
        res.response_mut()
            .head_mut()
            .set_connection_type(ConnectionType::Close);
    }
    Ok(res)
}

/// Stops and joins the PostgreSQL event listener when dropped: also when
/// the application is dropped without its shutdown sequence (a test's
/// runtime ending), so no listener thread outlives its server.
#[derive(Debug)]
pub(super) struct Listener(pub(super) PgEventBus);

impl Drop for Listener {
    fn drop(&mut self) {
        self.0.stop_listening();
    }
}

/// What a stage of the sequence may take at most: the configured bound,
/// and at least a second (a zero `AUTH_SHUTDOWN_TIMEOUT_SECONDS` still
/// lets a finished post be recorded).
pub(super) fn stage_bound(configured: Duration) -> Duration {
    configured.max(Duration::from_secs(1))
}
