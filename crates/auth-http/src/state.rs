//! What every handler can reach.

use auth_domain::AuthService;
use auth_infra::Database;
use secrecy::SecretString;

/// Shared application state, one per server (no globals).
#[derive(Debug, Clone)]
pub struct AppState {
    /// The use cases.
    pub auth: AuthService,
    /// For the readiness probe only; handlers never query it.
    pub db: Database,
    /// Largest accepted request body.
    pub max_body_bytes: usize,
    /// Bearer token of the internal admin API; `None` disables it.
    pub admin_token: Option<SecretString>,
    /// Where a successful social login sends the browser, with the tokens in
    /// the fragment (`AUTH_OAUTH_SUCCESS_REDIRECT`); `None` answers JSON.
    pub oauth_success_redirect: Option<String>,
}
