//! [`Builder`]: configures an [`AuthClient`] and reads the discovery
//! document.

use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::Algorithm;
use serde::Deserialize;
use tokio::sync::{Mutex, RwLock};

use crate::keys::KeyCache;
use crate::{AuthClient, Error, Inner, RevocationList};

/// Configures an [`AuthClient`].
#[derive(Debug, Clone)]
pub struct Builder {
    pub(crate) issuer: String,
    pub(crate) audience: Option<String>,
    pub(crate) algorithms: Vec<Algorithm>,
    pub(crate) min_refetch_interval: Duration,
    pub(crate) default_max_age: Duration,
    pub(crate) leeway: u64,
    pub(crate) credentials: Option<(String, String)>,
    pub(crate) http: Option<reqwest::Client>,
    pub(crate) require_mfa: bool,
    pub(crate) max_auth_age: Option<Duration>,
    pub(crate) client_id: Option<String>,
    pub(crate) revocations: Option<RevocationList>,
}

impl Builder {
    /// The expected `aud` (default: the issuer, the server's default).
    #[must_use]
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }

    /// Accept only tokens of users who signed in with a second factor
    /// (`amr` contains `mfa`); others are
    /// [`Error::InsufficientAuthentication`]. Per route instead:
    /// [`crate::Claims::require_mfa`].
    #[must_use]
    pub fn require_mfa(mut self) -> Self {
        self.require_mfa = true;
        self
    }

    /// Accept only tokens whose user signed in at most `max_age` ago
    /// (`auth_time`); others are [`Error::InsufficientAuthentication`]
    /// with that `max_age`. Per route instead:
    /// [`crate::Claims::require_auth_within`].
    #[must_use]
    pub fn max_auth_age(mut self, max_age: Duration) -> Self {
        self.max_auth_age = Some(max_age);
        self
    }

    /// The accepted algorithms (default ES256, EdDSA, RS256). HS256 is
    /// refused here: shared secrets are not verified by this crate.
    #[must_use]
    pub fn algorithms(mut self, algorithms: &[Algorithm]) -> Self {
        self.algorithms = algorithms
            .iter()
            .copied()
            .filter(|a| matches!(a, Algorithm::ES256 | Algorithm::EdDSA | Algorithm::RS256))
            .collect();
        self
    }

    /// The shortest time between two key-set fetches (default 10 s).
    #[must_use]
    pub fn min_refetch_interval(mut self, every: Duration) -> Self {
        self.min_refetch_interval = every;
        self
    }

    /// Seconds of clock skew allowed on `exp` (default 0).
    #[must_use]
    pub fn leeway(mut self, seconds: u64) -> Self {
        self.leeway = seconds;
        self
    }

    /// Your application's credentials (`appId`, `secret` from
    /// `POST /internal/apps`), for [`AuthClient::introspect`].
    #[must_use]
    pub fn credentials(mut self, app_id: impl Into<String>, secret: impl Into<String>) -> Self {
        self.credentials = Some((app_id.into(), secret.into()));
        self
    }

    /// Your service's OpenID Connect client id at the server: the `aud`
    /// that back-channel logout tokens and security event tokens addressed
    /// to you carry (see [`AuthClient::receive_logout_token`] and
    /// [`crate::Poller`]). Not needed to verify access tokens.
    #[must_use]
    pub fn client_id(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = Some(client_id.into());
        self
    }

    /// The list of ended sessions to consult on every
    /// [`AuthClient::verify`]: a token whose `sid` it holds, or whose
    /// `sub` it says ended at or after the token's `iat`, is
    /// [`Error::Revoked`] (no request to the server). Logouts heard by
    /// [`AuthClient::receive_logout_token`] (push) and [`crate::Poller`]
    /// (pull) are recorded in it.
    #[must_use]
    pub fn revocations(mut self, list: RevocationList) -> Self {
        self.revocations = Some(list);
        self
    }

    /// The HTTP client to use (default: one with a 10 s timeout).
    #[must_use]
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// Reads the discovery document and the key set.
    ///
    /// # Errors
    /// [`Error::Unavailable`] when the server cannot be reached;
    /// [`Error::Config`] when its discovery document names another issuer.
    pub async fn build(self) -> Result<AuthClient, Error> {
        let http = match self.http {
            Some(client) => client,
            None => reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .map_err(|e| Error::Config(e.to_string()))?,
        };
        let issuer = self.issuer.trim_end_matches('/').to_owned();
        let discovery: Discovery = http
            .get(format!("{issuer}/.well-known/openid-configuration"))
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| Error::Unavailable(e.to_string()))?
            .json()
            .await
            .map_err(|e| Error::Config(format!("discovery document: {e}")))?;
        if discovery.issuer.trim_end_matches('/') != issuer {
            return Err(Error::Config(format!(
                "the discovery document names issuer {:?}, not {issuer:?}",
                discovery.issuer
            )));
        }
        if self.algorithms.is_empty() {
            return Err(Error::Config("no asymmetric algorithm allowed".into()));
        }
        let client = AuthClient {
            inner: Arc::new(Inner {
                audience: self.audience.unwrap_or_else(|| issuer.clone()),
                issuer,
                jwks_uri: discovery.jwks_uri,
                introspection_endpoint: discovery.introspection_endpoint,
                algorithms: self.algorithms,
                min_refetch_interval: self.min_refetch_interval,
                default_max_age: self.default_max_age,
                leeway: self.leeway,
                credentials: self.credentials,
                require_mfa: self.require_mfa,
                max_auth_age: self.max_auth_age,
                client_id: self.client_id,
                revocations: self.revocations,
                http,
                keys: RwLock::new(KeyCache::default()),
                fetch: Mutex::new(None),
            }),
        };
        client.refetch(true).await?;
        Ok(client)
    }
}

#[derive(Deserialize)]
struct Discovery {
    issuer: String,
    jwks_uri: String,
    introspection_endpoint: Option<String>,
}
