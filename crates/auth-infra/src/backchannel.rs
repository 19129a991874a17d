//! [`LogoutSender`] over HTTP (reqwest): posts logout tokens as Back-Channel
//! Logout 1.0 §2.5 says (`application/x-www-form-urlencoded`,
//! `logout_token=…`), each bounded by a timeout, never following a
//! redirect (§2.8: a redirect is not a success). How many are in flight at
//! once is the caller's to bound (the server's delivery task keeps at most
//! `AUTH_BACKCHANNEL_CONCURRENCY`).

use std::time::Duration;

use async_trait::async_trait;
use auth_domain::oidc::signals::LogoutSender;

/// Posts logout tokens. Cheap to clone (one connection pool).
#[derive(Debug, Clone)]
pub struct HttpLogoutSender {
    client: reqwest::Client,
}

impl HttpLogoutSender {
    /// A sender whose every post gives up after `timeout` (connecting
    /// included).
    ///
    /// # Errors
    /// When the HTTP client cannot be built (no TLS roots).
    pub fn new(timeout: Duration) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!(
                "auth-server/",
                env!("CARGO_PKG_VERSION"),
                " back-channel logout"
            ))
            .build()?;
        Ok(Self { client })
    }
}

#[async_trait]
impl LogoutSender for HttpLogoutSender {
    async fn send(&self, uri: &str, logout_token: &str) -> Result<(), String> {
        let answer = self
            .client
            .post(uri)
            .header(reqwest::header::CACHE_CONTROL, "no-store")
            .form(&[("logout_token", logout_token)])
            .send()
            .await;
        match answer {
            Ok(r) if r.status().is_success() => Ok(()),
            Ok(r) => Err(format!("HTTP {}", r.status().as_u16())),
            Err(e) if e.is_timeout() => Err("timed out".to_owned()),
            Err(e) if e.is_connect() => Err("unreachable".to_owned()),
            Err(_) => Err("the request failed".to_owned()),
        }
    }
}
