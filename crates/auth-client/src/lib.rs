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
//! - A [`RevocationList`] ([`Builder::revocations`]) makes `verify`
//!   refuse, still offline, the tokens of sessions whose end it heard of:
//!   pushed by the server (OpenID Connect Back-Channel Logout 1.0,
//!   [`AuthClient::receive_logout_token`], the actix handler
//!   `actix::backchannel_logout`) or pulled by a [`Poller`] (RFC 8936
//!   polling of RFC 8417 security event tokens, CAEP `session-revoked`).
//! - With the `actix` feature, [`actix::Authenticated`] is an extractor
//!   that does all this for a handler.
//!
//! See `README.md` for the five-minute guide.

use std::sync::Arc;
use std::time::{Duration, Instant};

use jsonwebtoken::{Algorithm, Validation};
use serde::Deserialize;
use tokio::sync::{Mutex, RwLock};

#[cfg(feature = "actix")]
pub mod actix;
mod builder;
mod events;
mod keys;
mod poller;
mod revocation;
mod step_up;

pub use builder::Builder;
pub use events::{LogoutToken, SessionRevoked};
use keys::KeyCache;
pub use poller::Poller;
pub use revocation::{RevocationList, RevocationListBuilder};

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
    /// The session is no longer live: the server says so (introspection),
    /// or the [`RevocationList`] heard of its end (back-channel logout or
    /// a polled security event).
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
    /// The OpenID Connect client id: `aud` of logout tokens and SETs.
    client_id: Option<String>,
    /// Ended sessions, consulted by `verify`.
    revocations: Option<RevocationList>,
    http: reqwest::Client,
    keys: RwLock<KeyCache>,
    /// When the key set was last fetched (serializes fetches).
    fetch: Mutex<Option<Instant>>,
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
            client_id: None,
            revocations: None,
        }
    }

    /// The issuer.
    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    /// The OpenID Connect client id given to [`Builder::client_id`].
    pub fn client_id(&self) -> Option<&str> {
        self.inner.client_id.as_deref()
    }

    /// The list of ended sessions given to [`Builder::revocations`].
    pub fn revocations(&self) -> Option<&RevocationList> {
        self.inner.revocations.as_ref()
    }

    /// The HTTP client (shared with the poller).
    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.inner.http
    }

    /// Verifies `token` offline: header (no `jku`/`x5u`/`jwk`/`x5c`/
    /// `crit`), a known `kid`, the key's algorithm among the allowed ones,
    /// the signature, `iss`, `aud`, `exp`, and the kind of token: the claim
    /// `typ` = `access` with a `sid` (the contracts' access tokens), or the
    /// header `typ` = `at+jwt` with a `client_id` and no `typ` claim (RFC
    /// 9068 tokens of OpenID Connect clients). With a
    /// [`Builder::revocations`] list, a token of a session it heard ended
    /// is refused too (still no request to the server).
    ///
    /// # Errors
    /// [`Error::Invalid`] or [`Error::Expired`]; [`Error::Revoked`] when
    /// the revocation list holds the token's session.
    pub async fn verify(&self, token: &str) -> Result<Claims, Error> {
        let (header, key, alg) = self.header_and_key(token, false).await?;
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
        if let Some(list) = &self.inner.revocations {
            list.check(&claims)?;
        }
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
