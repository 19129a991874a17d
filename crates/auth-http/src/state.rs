//! What every handler can reach.

use auth_domain::AuthService;
use auth_infra::Database;

/// Shared application state, one per server (no globals).
#[derive(Debug, Clone)]
pub struct AppState {
    /// The use cases.
    pub auth: AuthService,
    /// For the readiness probe only; handlers never query it.
    pub db: Database,
    /// Largest accepted request body.
    pub max_body_bytes: usize,
}
