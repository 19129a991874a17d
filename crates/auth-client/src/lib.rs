//! Verify the auth service's access tokens in your own Rust service.
//!
//! ```no_run
//! # async fn demo() -> Result<(), auth_client::Error> {
//! // Once, at start-up: discovery from the issuer URL (`AUTH_PUBLIC_URL`).
//! let auth = auth_client::AuthClient::discover("https://auth.example.com").await?;
//! // Per request: offline verification (signature, alg, iss, aud, exp, typ).
//! let claims = auth.verify("eyJhbGciOiJFUzI1NiIs…").await?;
//! println!("user {} in session {:?}", claims.sub, claims.sid);
//! # Ok(()) }
//! ```
//!
//! - The key set (JWKS) is fetched once and cached as its `Cache-Control`
//!   says; a token naming an unknown `kid` (a rotation) triggers a refetch,
//!   at most one per [`Builder::min_refetch_interval`], so forged `kid`s
//!   cannot make the client hammer the server.
//! - Algorithms are pinned (ES256, EdDSA, RS256 by default; never `none`,
//!   never HMAC with a public key): a token's `alg` must be both allowed
//!   and the algorithm of the key its `kid` names. Tokens carrying their
//!   own key location (`jku`, `x5u`, `jwk`, `x5c`) or `crit` are refused.
//! - [`AuthClient::verify_live`] additionally asks the server (RFC 7662
//!   introspection, with your application's credentials) whether the
//!   session is still live: instant revocation, at the cost of a request.
//! - Access tokens the server issues to OpenID Connect clients (RFC 9068,
//!   header `typ: at+jwt`) verify too: their [`Claims`] carry `client_id`
//!   and `scope`, and a `sid` only when a user signed in (not for
//!   `client_credentials`). Check `client_id` if only some clients may call
//!   you.
//! - With the `actix` feature, [`actix::Authenticated`] is an extractor
//!   that does all this for a handler.
//!
//! See `README.md` for the five-minute guide.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use tokio::sync::{Mutex, RwLock};

#[cfg(feature = "actix")]
pub mod actix;
mod step_up;

/// The claims of a verified access token.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Claims {
    /// The user's UUID; for a `client_credentials` token (RFC 9068), the
    /// client's id.
    pub sub: String,
    /// The session's UUID. Always present in the contracts' access tokens;
    /// in an RFC 9068 token, the user's grant (`None` for
    /// `client_credentials`).
    pub sid: Option<String>,
    /// Issue time, seconds since the epoch.
    pub iat: i64,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
    /// The issuer.
    pub iss: String,
    /// The audience.
    pub aud: String,
    /// The OpenID Connect client the token was issued to (RFC 9068
    /// tokens only).
    pub client_id: Option<String>,
    /// Its granted scopes, space-separated (RFC 9068 tokens only).
    pub scope: Option<String>,
    /// How the user signed in (RFC 8176: `pwd`, `otp`, `hwk`, `swk`,
    /// `mfa`); empty when the token does not say.
    pub amr: Vec<String>,
    /// When the user signed in, seconds since the epoch, when the token
    /// says.
    pub auth_time: Option<i64>,
}

#[derive(Deserialize)]
struct Wire {
    sub: String,
    sid: Option<String>,
    iat: i64,
    exp: i64,
    iss: String,
    aud: String,
    typ: Option<String>,
    client_id: Option<String>,
    scope: Option<String>,
    #[serde(default)]
    amr: Vec<String>,
    auth_time: Option<i64>,
}

/// Whether a header `typ` is RFC 9068's `at+jwt` (case-insensitive, the
/// `application/` prefix optional, RFC 9068 §4).
fn is_at_jwt(typ: Option<&str>) -> bool {
    typ.is_some_and(|t| {
        let t = t.to_ascii_lowercase();
        t.strip_prefix("application/").unwrap_or(&t) == "at+jwt"
    })
}

/// Why a token was refused or the server could not be asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Not a valid access token of this issuer: malformed, bad signature,
    /// unknown or retired key, algorithm not allowed, wrong `iss`/`aud`/`typ`.
    #[error("invalid token: {0}")]
    Invalid(&'static str),
    /// Valid but past its `exp`.
    #[error("expired token")]
    Expired,
    /// The server says the session is no longer live (introspection).
    #[error("revoked token")]
    Revoked,
    /// The server could not be reached or answered unexpectedly.
    #[error("auth server unavailable: {0}")]
    Unavailable(String),
    /// The client is misconfigured (no introspection credentials, bad
    /// discovery document).
    #[error("auth client misconfigured: {0}")]
    Config(String),
    /// A valid token whose sign-in is not strong or recent enough: no
    /// second factor, or older than `max_age` seconds (RFC 9470's
    /// `insufficient_user_authentication`; the client signs in again).
    #[error("insufficient user authentication")]
    InsufficientAuthentication {
        /// The maximum authentication age asked for, if that was the reason.
        max_age: Option<u64>,
    },
}

/// Configures an [`AuthClient`].
#[derive(Debug, Clone)]
pub struct Builder {
    issuer: String,
    audience: Option<String>,
    algorithms: Vec<Algorithm>,
    min_refetch_interval: Duration,
    default_max_age: Duration,
    leeway: u64,
    credentials: Option<(String, String)>,
    http: Option<reqwest::Client>,
    require_mfa: bool,
    max_auth_age: Option<Duration>,
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
    /// [`Claims::require_mfa`].
    #[must_use]
    pub fn require_mfa(mut self) -> Self {
        self.require_mfa = true;
        self
    }

    /// Accept only tokens whose user signed in at most `max_age` ago
    /// (`auth_time`); others are [`Error::InsufficientAuthentication`]
    /// with that `max_age`. Per route instead:
    /// [`Claims::require_auth_within`].
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

#[derive(Default)]
struct KeyCache {
    keys: HashMap<String, (DecodingKey, Algorithm)>,
    /// When the cached set goes stale (`Cache-Control: max-age`).
    fresh_until: Option<Instant>,
}

/// Verifies access tokens of one issuer; cheap to clone (shared cache).
#[derive(Clone)]
pub struct AuthClient {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for AuthClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthClient")
            .field("issuer", &self.inner.issuer)
            .field("audience", &self.inner.audience)
            .finish_non_exhaustive()
    }
}

struct Inner {
    issuer: String,
    audience: String,
    jwks_uri: String,
    introspection_endpoint: Option<String>,
    algorithms: Vec<Algorithm>,
    min_refetch_interval: Duration,
    default_max_age: Duration,
    leeway: u64,
    credentials: Option<(String, String)>,
    require_mfa: bool,
    max_auth_age: Option<Duration>,
    http: reqwest::Client,
    keys: RwLock<KeyCache>,
    /// When the key set was last fetched (serializes fetches).
    fetch: Mutex<Option<Instant>>,
}

/// `max-age` of a `Cache-Control` value; `Some(0)` for `no-store` and
/// `no-cache`.
fn max_age(cache_control: &str) -> Option<Duration> {
    let mut found = None;
    for directive in cache_control.split(',').map(str::trim) {
        let lower = directive.to_ascii_lowercase();
        if lower == "no-store" || lower == "no-cache" {
            return Some(Duration::ZERO);
        }
        if let Some(n) = lower.strip_prefix("max-age=") {
            found = n.trim_matches('"').parse::<u64>().ok().map(Duration::from_secs);
        }
    }
    found
}

impl AuthClient {
    /// A client for `issuer` with the defaults: audience = issuer, ES256,
    /// EdDSA and RS256 allowed.
    ///
    /// # Errors
    /// As [`Builder::build`].
    pub async fn discover(issuer: &str) -> Result<Self, Error> {
        Self::builder(issuer).build().await
    }

    /// Configure a client for `issuer` (the server's `AUTH_PUBLIC_URL`).
    pub fn builder(issuer: &str) -> Builder {
        Builder {
            issuer: issuer.to_owned(),
            audience: None,
            algorithms: vec![Algorithm::ES256, Algorithm::EdDSA, Algorithm::RS256],
            min_refetch_interval: Duration::from_secs(10),
            default_max_age: Duration::from_secs(300),
            leeway: 0,
            credentials: None,
            http: None,
            require_mfa: false,
            max_auth_age: None,
        }
    }

    /// The issuer.
    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    /// Fetches the key set, unless one was fetched less than
    /// `min_refetch_interval` ago (and `force` is false). Returns whether a
    /// fetch happened.
    async fn refetch(&self, force: bool) -> Result<bool, Error> {
        let mut last = self.inner.fetch.lock().await;
        if !force && last.is_some_and(|t| t.elapsed() < self.inner.min_refetch_interval) {
            return Ok(false);
        }
        *last = Some(Instant::now());
        let response = self
            .inner
            .http
            .get(&self.inner.jwks_uri)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| Error::Unavailable(format!("JWKS: {e}")))?;
        let ttl = response
            .headers()
            .get(reqwest::header::CACHE_CONTROL)
            .and_then(|v| v.to_str().ok())
            .and_then(max_age)
            .unwrap_or(self.inner.default_max_age);
        let set: JwkSet = response
            .json()
            .await
            .map_err(|e| Error::Unavailable(format!("JWKS: {e}")))?;
        let mut keys = HashMap::new();
        for jwk in &set.keys {
            let (Some(kid), Some(alg)) = (&jwk.common.key_id, jwk.common.key_algorithm) else {
                continue;
            };
            let alg = match alg {
                jsonwebtoken::jwk::KeyAlgorithm::ES256 => Algorithm::ES256,
                jsonwebtoken::jwk::KeyAlgorithm::EdDSA => Algorithm::EdDSA,
                jsonwebtoken::jwk::KeyAlgorithm::RS256 => Algorithm::RS256,
                _ => continue,
            };
            if !self.inner.algorithms.contains(&alg) {
                continue;
            }
            if let Ok(key) = DecodingKey::from_jwk(jwk) {
                keys.insert(kid.clone(), (key, alg));
            }
        }
        tracing::debug!(
            keys = keys.len(),
            ttl_s = ttl.as_secs(),
            "fetched the auth server's JWKS"
        );
        let mut cache = self.inner.keys.write().await;
        cache.keys = keys;
        cache.fresh_until = Some(Instant::now() + ttl);
        Ok(true)
    }

    /// The key named `kid`, refetching the set when it is stale or does
    /// not know `kid` (rate limited).
    async fn key(&self, kid: &str) -> Result<(DecodingKey, Algorithm), Error> {
        {
            let cache = self.inner.keys.read().await;
            let fresh = cache.fresh_until.is_some_and(|t| Instant::now() < t);
            if let Some(found) = cache.keys.get(kid).filter(|_| fresh) {
                return Ok(found.clone());
            }
        }
        // Stale or unknown: refetch (bounded); a failed refetch keeps
        // serving the stale set rather than failing every request.
        if let Err(e) = self.refetch(false).await {
            tracing::warn!(error = %e, "cannot refresh the JWKS; using the cached keys");
        }
        let cache = self.inner.keys.read().await;
        cache.keys.get(kid).cloned().ok_or(Error::Invalid("unknown key"))
    }

    /// Verifies `token` offline: header (no `jku`/`x5u`/`jwk`/`x5c`/
    /// `crit`), a known `kid`, the key's algorithm among the allowed ones,
    /// the signature, `iss`, `aud`, `exp`, and the kind of token: the claim
    /// `typ` = `access` with a `sid` (the contracts' access tokens), or the
    /// header `typ` = `at+jwt` with a `client_id` and no `typ` claim (RFC
    /// 9068 tokens of OpenID Connect clients).
    ///
    /// # Errors
    /// [`Error::Invalid`] or [`Error::Expired`].
    pub async fn verify(&self, token: &str) -> Result<Claims, Error> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| Error::Invalid("malformed"))?;
        if header.jku.is_some()
            || header.x5u.is_some()
            || header.jwk.is_some()
            || header.x5c.is_some()
            || header.crit.is_some()
        {
            return Err(Error::Invalid("the token names its own key"));
        }
        if !self.inner.algorithms.contains(&header.alg) {
            return Err(Error::Invalid("algorithm not allowed"));
        }
        let kid = header.kid.as_deref().ok_or(Error::Invalid("no kid"))?;
        let (key, alg) = self.key(kid).await?;
        if alg != header.alg {
            return Err(Error::Invalid("algorithm does not match the key"));
        }
        let mut validation = Validation::new(alg);
        validation.set_issuer(&[&self.inner.issuer]);
        validation.set_audience(&[&self.inner.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = self.inner.leeway;
        let data = jsonwebtoken::decode::<Wire>(token, &key, &validation).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind;
            match e.kind() {
                ErrorKind::ExpiredSignature => Error::Expired,
                ErrorKind::InvalidIssuer => Error::Invalid("wrong issuer"),
                ErrorKind::InvalidAudience => Error::Invalid("wrong audience"),
                ErrorKind::InvalidSignature => Error::Invalid("bad signature"),
                _ => Error::Invalid("malformed claims"),
            }
        })?;
        let w = data.claims;
        let kind_ok = if is_at_jwt(header.typ.as_deref()) {
            w.typ.is_none() && w.client_id.is_some()
        } else {
            w.typ.as_deref() == Some("access") && w.sid.is_some()
        };
        if !kind_ok {
            return Err(Error::Invalid("not an access token"));
        }
        let claims = Claims {
            sub: w.sub,
            sid: w.sid,
            iat: w.iat,
            exp: w.exp,
            iss: w.iss,
            aud: w.aud,
            client_id: w.client_id,
            scope: w.scope,
            amr: w.amr,
            auth_time: w.auth_time,
        };
        if self.inner.require_mfa {
            claims.require_mfa()?;
        }
        if let Some(max_age) = self.inner.max_auth_age {
            claims.require_auth_within(max_age)?;
        }
        Ok(claims)
    }

    /// Asks the server whether `token` is live (RFC 7662), with the
    /// credentials of [`Builder::credentials`]: `Ok(true)` when active.
    ///
    /// # Errors
    /// [`Error::Config`] without credentials; [`Error::Unavailable`].
    pub async fn introspect(&self, token: &str) -> Result<bool, Error> {
        let (id, secret) = self
            .inner
            .credentials
            .as_ref()
            .ok_or_else(|| Error::Config("introspection needs credentials".into()))?;
        let endpoint = self
            .inner
            .introspection_endpoint
            .as_ref()
            .ok_or_else(|| Error::Config("the server announces no introspection endpoint".into()))?;
        #[derive(Deserialize)]
        struct Answer {
            active: bool,
        }
        let response = self
            .inner
            .http
            .post(endpoint)
            .basic_auth(id, Some(secret))
            .form(&[("token", token)])
            .send()
            .await
            .map_err(|e| Error::Unavailable(e.to_string()))?;
        if response.status() == reqwest::StatusCode::UNAUTHORIZED {
            return Err(Error::Config("the server refused the client credentials".into()));
        }
        let answer: Answer = response
            .error_for_status()
            .map_err(|e| Error::Unavailable(e.to_string()))?
            .json()
            .await
            .map_err(|e| Error::Unavailable(e.to_string()))?;
        Ok(answer.active)
    }

    /// [`AuthClient::verify`], then [`AuthClient::introspect`]: refuses a
    /// token whose session ended (logout, revocation, withdrawal, password
    /// reset) at once instead of at its `exp`.
    ///
    /// # Errors
    /// As both; [`Error::Revoked`] when the server says inactive.
    pub async fn verify_live(&self, token: &str) -> Result<Claims, Error> {
        let claims = self.verify(token).await?;
        if self.introspect(token).await? {
            Ok(claims)
        } else {
            Err(Error::Revoked)
        }
    }
}

#[cfg(test)]
mod tests;
