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
    /// Largest accepted account import body (`AUTH_IMPORT_MAX_BYTES`).
    pub import_max_bytes: usize,
    /// Bearer token of the internal admin API; `None` disables it.
    pub admin_token: Option<SecretString>,
    /// Where a successful social login of a browser-started flow sends the
    /// browser, with the tokens in the fragment
    /// (`AUTH_OAUTH_SUCCESS_REDIRECT`); `None` answers JSON.
    pub oauth_success_redirect: Option<String>,
    /// The same for a flow an application started (`AUTH_OAUTH_APP_REDIRECT`);
    /// `None` answers JSON (never the front end's redirect).
    pub oauth_app_redirect: Option<String>,
    /// Proxies whose `X-Forwarded-For` names the client (`AUTH_TRUSTED_PROXIES`).
    pub trusted_proxies: crate::client_ip::TrustedProxies,
    /// Whether `GET /metrics` answers (`AUTH_METRICS_ENABLED`).
    pub metrics_enabled: bool,
    /// Per-IP request limits of the public endpoints (`AUTH_RATE_LIMIT_*`),
    /// counted in the database on PostgreSQL, in memory on SQLite.
    pub rate_limit: crate::rate_limit::RateLimit,
    /// Where and how the social-login browser cookie is set.
    pub oauth_cookie: OAuthCookie,
    /// The social providers the hosted sign-in page offers: those with a
    /// client id, when the `picsel` contract (whose callback finishes the
    /// flow) is served.
    pub hosted_social: Vec<auth_domain::social::Provider>,
    /// This instance's live sockets (the console shows which sessions have
    /// one).
    pub sockets: std::sync::Arc<auth_ws::Registry>,
    /// Whether the console requires a second factor of admins
    /// (`AUTH_ADMIN_REQUIRE_MFA`, default true).
    pub admin_require_mfa: bool,
    /// How `POST /ssf/poll` answers and what wakes it.
    pub feed: crate::ssf::FeedConfig,
    /// Set when the instance begins to shut down: `/readyz` answers 503
    /// and every response closes its connection.
    pub draining: Draining,
}

/// Whether this instance is shutting down (shared by its workers).
#[derive(Debug, Clone, Default)]
pub struct Draining(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl Draining {
    /// Marks the instance as shutting down.
    pub fn begin(&self) {
        self.0.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// Whether the instance is shutting down.
    pub fn is_draining(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// The cookie that binds a browser-started social login to its browser
/// (see `crates/auth-http/src/contracts/picsel_social.rs`).
#[derive(Debug, Clone, Default)]
pub struct OAuthCookie {
    /// The path the browser sees before `/{provider}/callback`: the path of
    /// `AUTH_PUBLIC_URL`, the `picsel` prefix and `/api/auth`. The cookie is
    /// scoped to the callback path, so it travels with no other request.
    pub auth_path: String,
    /// `Secure` (only over HTTPS): when `AUTH_PUBLIC_URL` is `https://`.
    pub secure: bool,
}

impl OAuthCookie {
    /// From `AUTH_PUBLIC_URL` and the `picsel` path prefix.
    pub fn new(public_url: &str, picsel_prefix: &str) -> Self {
        let after_scheme = public_url.split_once("://").map_or(public_url, |(_, rest)| rest);
        let path = after_scheme.find('/').map_or("", |i| &after_scheme[i..]);
        Self {
            auth_path: format!(
                "{}{}/api/auth",
                path.trim_end_matches('/'),
                picsel_prefix.trim_end_matches('/')
            ),
            secure: public_url.starts_with("https://"),
        }
    }

    /// The callback path of `provider`, the cookie's `Path`.
    pub fn callback_path(&self, provider: &str) -> String {
        format!("{}/{provider}/callback", self.auth_path)
    }
}

impl AppState {
    /// The client IP of `req` (see [`crate::client_ip`]).
    pub fn client_ip(&self, req: &actix_web::HttpRequest) -> Option<std::net::IpAddr> {
        self.trusted_proxies.client_ip(req)
    }

    /// Who is calling, through which contract: the client IP and user agent
    /// of `req`, passed to every use case that records or limits by client
    /// (sessions, throttling, the audit trail).
    pub fn caller(&self, contract: &'static str, req: &actix_web::HttpRequest) -> auth_domain::Caller {
        auth_domain::Caller::new(contract)
            .with_ip(self.client_ip(req))
            .with_user_agent(Self::user_agent(req))
    }

    /// The client's `User-Agent` (for the audit trail), when readable.
    pub fn user_agent(req: &actix_web::HttpRequest) -> Option<String> {
        req.headers()
            .get(actix_web::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }

    /// Counts one request of `req`'s client against the public-endpoint
    /// limit (in the database on PostgreSQL, so shared by every instance);
    /// `Err` is the wait until the next one is allowed.
    ///
    /// # Errors
    /// The wait, when the client is over its limit.
    pub async fn rate_limit(&self, req: &actix_web::HttpRequest) -> Result<(), chrono::TimeDelta> {
        self.rate_limit.check(self.client_ip(req)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oauth_cookie_paths_follow_the_public_url_and_prefix() {
        let c = OAuthCookie::new("https://auth.example.com", "");
        assert_eq!(c.callback_path("google"), "/api/auth/google/callback");
        assert!(c.secure);
        let c = OAuthCookie::new("http://localhost:8080/auth/", "/picsel/");
        assert_eq!(c.callback_path("naver"), "/auth/picsel/api/auth/naver/callback");
        assert!(!c.secure);
    }
}
