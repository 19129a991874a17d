//! The issuer's key set (JWKS): fetching, caching, rate-limited refetch,
//! and the header checks that pin a token to one of its keys.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Header};

use crate::{AuthClient, Error};

#[derive(Default)]
pub(crate) struct KeyCache {
    keys: HashMap<String, (DecodingKey, Algorithm)>,
    /// When the cached set goes stale (`Cache-Control: max-age`).
    fresh_until: Option<Instant>,
}

/// `max-age` of a `Cache-Control` value; `Some(0)` for `no-store` and
/// `no-cache`.
pub(crate) fn max_age(cache_control: &str) -> Option<Duration> {
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
    /// Fetches the key set, unless one was fetched less than
    /// `min_refetch_interval` ago (and `force` is false). Returns whether a
    /// fetch happened.
    pub(crate) async fn refetch(&self, force: bool) -> Result<bool, Error> {
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
    /// not know `kid` (rate limited). With `strict`, a `kid` still unknown
    /// because the refetch failed is [`Error::Unavailable`] rather than
    /// [`Error::Invalid`] (for logout tokens and security events: the
    /// sender retries, or the event is delivered again).
    async fn key(&self, kid: &str, strict: bool) -> Result<(DecodingKey, Algorithm), Error> {
        {
            let cache = self.inner.keys.read().await;
            let fresh = cache.fresh_until.is_some_and(|t| Instant::now() < t);
            if let Some(found) = cache.keys.get(kid).filter(|_| fresh) {
                return Ok(found.clone());
            }
        }
        // Stale or unknown: refetch (bounded); a failed refetch keeps
        // serving the stale set rather than failing every request.
        let failed = match self.refetch(false).await {
            Ok(_) => None,
            Err(e) => {
                tracing::warn!(error = %e, "cannot refresh the JWKS; using the cached keys");
                Some(e)
            }
        };
        let cache = self.inner.keys.read().await;
        match (cache.keys.get(kid), failed) {
            (Some(found), _) => Ok(found.clone()),
            (None, Some(e)) if strict => Err(e),
            (None, _) => Err(Error::Invalid("unknown key")),
        }
    }

    /// The header checks of every JWT this crate verifies, then its key:
    /// no `jku`/`x5u`/`jwk`/`x5c`/`crit`, `alg` allowed, a `kid` among the
    /// published keys, and `alg` equal to that key's algorithm.
    pub(crate) async fn header_and_key(
        &self,
        token: &str,
        strict: bool,
    ) -> Result<(Header, DecodingKey, Algorithm), Error> {
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
        let (key, alg) = self.key(kid, strict).await?;
        if alg != header.alg {
            return Err(Error::Invalid("algorithm does not match the key"));
        }
        Ok((header, key, alg))
    }
}
