//! [`LogoutSender`] over HTTP (reqwest): posts logout tokens as Back-Channel
//! Logout 1.0 §2.5 says (`application/x-www-form-urlencoded`,
//! `logout_token=…`), concurrently, each bounded by a timeout, never
//! following a redirect (§2.8: a redirect is not a success).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use auth_domain::oidc::signals::LogoutSender;
use tokio::sync::Semaphore;

/// Posts logout tokens. Cheap to clone.
#[derive(Debug, Clone)]
pub struct HttpLogoutSender {
    client: reqwest::Client,
    concurrency: Arc<Semaphore>,
}

impl HttpLogoutSender {
    /// A sender whose every post gives up after `timeout` (connecting
    /// included), with at most `concurrency` posts in flight.
    ///
    /// # Errors
    /// When the HTTP client cannot be built (no TLS roots).
    pub fn new(timeout: Duration, concurrency: usize) -> Result<Self, reqwest::Error> {
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
        Ok(Self {
            client,
            concurrency: Arc::new(Semaphore::new(concurrency.max(1))),
        })
    }

    async fn post(client: reqwest::Client, uri: String, token: String) -> Result<(), String> {
        let answer = client
            .post(&uri)
            .header(reqwest::header::CACHE_CONTROL, "no-store")
            .form(&[("logout_token", token)])
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

#[async_trait]
impl LogoutSender for HttpLogoutSender {
    async fn send(&self, uri: &str, logout_token: &str) -> Result<(), String> {
        let _permit = self.concurrency.acquire().await;
        Self::post(self.client.clone(), uri.to_owned(), logout_token.to_owned()).await
    }

    async fn send_all(&self, posts: &[(String, String)]) -> Vec<Result<(), String>> {
        let mut tasks = tokio::task::JoinSet::new();
        for (i, (uri, token)) in posts.iter().enumerate() {
            let (client, uri, token) = (self.client.clone(), uri.clone(), token.clone());
            let permits = self.concurrency.clone();
            tasks.spawn(async move {
                let _permit = permits.acquire_owned().await;
                (i, Self::post(client, uri, token).await)
            });
        }
        let mut out: Vec<Result<(), String>> = vec![Err("not sent".to_owned()); posts.len()];
        while let Some(done) = tasks.join_next().await {
            if let Ok((i, result)) = done {
                out[i] = result;
            }
        }
        out
    }
}
