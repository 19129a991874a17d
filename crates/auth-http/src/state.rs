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
    /// Proxies whose `X-Forwarded-For` names the client (`AUTH_TRUSTED_PROXIES`).
    pub trusted_proxies: crate::client_ip::TrustedProxies,
    /// Per-IP request limits of the public endpoints (`AUTH_RATE_LIMIT_*`).
    pub rate_limit: crate::rate_limit::RateLimit,
}

impl AppState {
    /// The client IP of `req` (see [`crate::client_ip`]).
    pub fn client_ip(&self, req: &actix_web::HttpRequest) -> Option<std::net::IpAddr> {
        self.trusted_proxies.client_ip(req)
    }

    /// The use cases, recording `req`'s client (IP, user agent) on the audit
    /// trail of the use cases that take no [`auth_domain::service::SessionMeta`].
    pub fn auth_for(&self, contract: &'static str, req: &actix_web::HttpRequest) -> auth_domain::AuthService {
        self.auth.for_client(self.client_meta(contract, req))
    }

    /// Who is calling, through which contract: the client IP and user agent
    /// of `req`, for sessions, throttling and the audit trail.
    pub fn client_meta(
        &self,
        contract: &'static str,
        req: &actix_web::HttpRequest,
    ) -> auth_domain::service::SessionMeta {
        auth_domain::service::SessionMeta {
            client: contract,
            ip: self.client_ip(req),
            user_agent: Self::user_agent(req),
        }
    }

    /// The client's `User-Agent` (for the audit trail), when readable.
    pub fn user_agent(req: &actix_web::HttpRequest) -> Option<String> {
        req.headers()
            .get(actix_web::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }

    /// Counts one request of `req`'s client against the public-endpoint
    /// limit; `Err` is the wait until the next one is allowed.
    ///
    /// # Errors
    /// The wait, when the client is over its limit.
    pub fn rate_limit(&self, req: &actix_web::HttpRequest) -> Result<(), chrono::TimeDelta> {
        self.rate_limit.check(self.client_ip(req))
    }
}
