//! From the event bus to the registry.

use std::sync::Arc;

use auth_domain::sessions::events::Event;
use tokio::sync::broadcast;

use crate::registry::Registry;

/// Runs until the bus closes: every event is handed to the registry.
pub fn spawn_dispatcher(registry: Arc<Registry>, mut events: broadcast::Receiver<Event>) {
    tokio::spawn(async move {
        loop {
            match events.recv().await {
                Ok(event) => {
                    let told = registry.dispatch(&event);
                    tracing::debug!(sockets = told, "event dispatched");
                }
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    // Sockets of the missed events learn at their next
                    // session check.
                    tracing::warn!(missed, "socket dispatcher fell behind; events dropped");
                }
                Err(broadcast::error::RecvError::Closed) => break,
            }
        }
    });
}
