//! [`TokenCodec`] with JWTs.
//!
//! Access tokens: header `{"alg", "kid", "typ": "JWT"}`, claims `{"iss",
//! "aud", "sub", "sid", "iat", "exp", "typ": "access"}`, signed by the
//! [`KeyRing`]'s active key (ES256 by default; EdDSA, RS256, or HS256 in
//! the legacy mode). Verification pins each key's algorithm, looks the key
//! up by `kid` only among the ring's keys (a `kid` is never a path or a
//! query), refuses `jku`, `x5u`, `jwk`, `x5c` and `crit` headers, and
//! checks `iss` and `aud`.
//!
//! The payload is [`auth_domain::sessions::token::JwtClaims`] (public, so that other
//! Rust services read the same type).
//!
//! Typed tokens ([`JwtCodec::sign_typed`], e.g. RFC 9068 `at+jwt` access
//! tokens issued to OAuth clients): header `{"alg", "kid", "typ": typ}`,
//! claims as the caller gives them, signed by the same ring. Their header
//! `typ` keeps them apart from the contract's access tokens (header `JWT`,
//! claim `typ: "access"`, which typed tokens never carry) in both
//! directions.
//!
//! Refresh tokens are verified only by us: HS256 under the refresh secret,
//! claims `{"sub", "sid", "iat", "exp", "typ": "refresh", "jti"}`, no
//! `kid`; a key rotation does not touch them.
//!
//! Expiry is checked against the `now` passed in (the
//! [`auth_domain::ports::Clock`]), not the system clock. Verified access
//! tokens are remembered in a bounded cache keyed by the SHA-256 of the
//! token, so a token presented again costs a hash instead of a signature
//! check; entries go at expiry and whenever the ring changes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use auth_domain::PortError;
use auth_domain::ports::TokenCodec;
use auth_domain::sessions::token::{
    AccessClaims, JwtClaims as Wire, RefreshClaims, TokenError, TokenKind as Kind,
};
use chrono::{DateTime, TimeDelta, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use sha2::Digest;

use crate::signing::{KeyRing, SigningAlgorithm, SigningKey, decode_with, own_key_header};

/// Signs and verifies access tokens with a key ring, refresh tokens with
/// one HS256 secret. Cheap to clone (shared state).
#[derive(Clone)]
pub struct JwtCodec {
    inner: Arc<Inner>,
}

struct Inner {
    ring: RwLock<Arc<KeyRing>>,
    /// Bumped when the ring's keys change (cache entries of an older
    /// version are ignored).
    version: std::sync::atomic::AtomicU64,
    refresh_encoding: EncodingKey,
    refresh_decoding: DecodingKey,
    issuer: String,
    audience: String,
    cache: VerifiedCache,
}

impl std::fmt::Debug for JwtCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtCodec")
            .field("issuer", &self.inner.issuer)
            .field("audience", &self.inner.audience)
            .finish_non_exhaustive()
    }
}

/// The bound of the verified-token cache.
const CACHE_CAPACITY: usize = 16_384;
const CACHE_SHARDS: usize = 16;

/// Verified access tokens by the SHA-256 of the token.
struct VerifiedCache {
    shards: Vec<Mutex<HashMap<[u8; 32], Cached>>>,
}

#[derive(Clone)]
struct Cached {
    claims: AccessClaims,
    /// When the signing key retires (`None`: not superseded in this ring);
    /// the entry is not used from then on, as [`KeyRing::verifier`] would
    /// refuse the key.
    key_until: Option<DateTime<Utc>>,
    version: u64,
}

impl Cached {
    /// Whether this verdict holds at `now` for the ring of `version`.
    fn holds(&self, version: u64, now: DateTime<Utc>) -> bool {
        self.version == version && self.key_until.is_none_or(|until| now < until)
    }
}

impl VerifiedCache {
    fn new() -> Self {
        Self {
            shards: (0..CACHE_SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
        }
    }

    fn shard(&self, key: &[u8; 32]) -> &Mutex<HashMap<[u8; 32], Cached>> {
        &self.shards[usize::from(key[0]) % CACHE_SHARDS]
    }

    fn get(&self, key: &[u8; 32]) -> Option<Cached> {
        self.shard(key)
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key)
            .cloned()
    }

    /// Stores an entry; a full shard first drops what expired or is of an
    /// older ring, and is emptied if that is not enough.
    fn put(&self, key: [u8; 32], entry: Cached, now: i64) {
        let mut shard = self.shard(&key).lock().unwrap_or_else(PoisonError::into_inner);
        if shard.len() >= CACHE_CAPACITY / CACHE_SHARDS {
            let version = entry.version;
            shard.retain(|_, c| c.claims.exp > now && c.version == version);
            if shard.len() >= CACHE_CAPACITY / CACHE_SHARDS {
                shard.clear();
            }
        }
        shard.insert(key, entry);
    }

    fn clear(&self) {
        for shard in &self.shards {
            shard.lock().unwrap_or_else(PoisonError::into_inner).clear();
        }
    }
}

impl JwtCodec {
    /// Legacy HS256 with one shared secret for both kinds, no `iss`/`aud`
    /// (use at least 32 random bytes). For tests and tools.
    pub fn hs256(secret: &[u8]) -> Self {
        let ring = KeyRing::new(
            vec![SigningKey::hs256(secret, DateTime::UNIX_EPOCH)],
            TimeDelta::zero(),
        );
        Self::new(ring, secret, "", "")
    }

    /// Access tokens from `ring` with `iss` = `issuer` and `aud` =
    /// `audience` (both left out when empty), refresh tokens HS256 under
    /// `refresh_secret`.
    pub fn new(ring: KeyRing, refresh_secret: &[u8], issuer: &str, audience: &str) -> Self {
        crate::jwt_crypto::install();
        Self {
            inner: Arc::new(Inner {
                ring: RwLock::new(Arc::new(ring)),
                version: std::sync::atomic::AtomicU64::new(0),
                refresh_encoding: EncodingKey::from_secret(refresh_secret),
                refresh_decoding: DecodingKey::from_secret(refresh_secret),
                issuer: issuer.to_owned(),
                audience: audience.to_owned(),
                cache: VerifiedCache::new(),
            }),
        }
    }

    /// The keys in use.
    pub fn ring(&self) -> Arc<KeyRing> {
        self.inner
            .ring
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Replaces the keys (a rotation seen in the database); returns whether
    /// anything changed. Cached verifications are dropped on a change.
    pub fn replace_ring(&self, ring: KeyRing) -> bool {
        let mut current = self.inner.ring.write().unwrap_or_else(PoisonError::into_inner);
        if current.same_keys(&ring) {
            return false;
        }
        *current = Arc::new(ring);
        self.inner
            .version
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        drop(current);
        self.inner.cache.clear();
        true
    }

    /// The `iss` of access tokens.
    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    /// The `aud` of access tokens.
    pub fn audience(&self) -> &str {
        &self.inner.audience
    }

    fn sign_refresh_wire(&self, claims: &Wire) -> Result<String, PortError> {
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            claims,
            &self.inner.refresh_encoding,
        )
        .map_err(|e| PortError::new("sign token", e))
    }

    fn decode_refresh(&self, token: &str) -> Result<Wire, TokenError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.validate_exp = false;
        validation.validate_aud = false;
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub"]);
        let data = jsonwebtoken::decode::<Wire>(token, &self.inner.refresh_decoding, &validation)
            .map_err(|_| TokenError::Invalid)?;
        if data.header.alg != Algorithm::HS256 || data.claims.typ != Kind::Refresh {
            return Err(TokenError::Invalid);
        }
        Ok(data.claims)
    }

    /// An access token signed HS256 under the refresh secret before keys
    /// had ids (the access tokens of deployments from before issue 13).
    fn decode_legacy_access(&self, token: &str) -> Result<(Wire, Arc<str>), TokenError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.validate_exp = false;
        validation.validate_aud = false;
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub"]);
        let w = jsonwebtoken::decode::<Wire>(token, &self.inner.refresh_decoding, &validation)
            .map_err(|_| TokenError::Invalid)?
            .claims;
        if w.typ != Kind::Access || w.jti.is_some() || w.iss.is_some() || w.aud.is_some() {
            return Err(TokenError::Invalid);
        }
        Ok((w, Arc::from("legacy-hs256")))
    }

    /// Checks an access token's header, key, signature, algorithm, kind,
    /// issuer and audience (not its expiry).
    /// `allow_legacy` also accepts an access token of the HS256 era (no
    /// `kid`, HMAC under our own secret, never published), for reissues
    /// after an upgrade to asymmetric keys.
    fn decode_access(
        &self,
        token: &str,
        ring: &KeyRing,
        now: DateTime<Utc>,
        allow_legacy: bool,
    ) -> Result<(Wire, Arc<str>), TokenError> {
        // Keys come from our ring only: a token cannot point at its own.
        let header = own_key_header(token)?;
        let key = match header.kid.as_deref() {
            Some(kid) => ring.verifier(kid, now),
            // Legacy HS256 tokens, issued before keys had ids.
            None => ring.single().filter(|k| k.alg() == SigningAlgorithm::Hs256),
        };
        let Some(key) = key else {
            return match (header.kid.as_deref(), header.alg, allow_legacy) {
                (None, Algorithm::HS256, true) => self.decode_legacy_access(token),
                _ => Err(TokenError::Invalid),
            };
        };
        let w: Wire = decode_with(token, &header, key, &["exp", "sub"])?;
        if w.typ != Kind::Access || w.jti.is_some() {
            return Err(TokenError::Invalid);
        }
        // Asymmetric tokens always carry both; legacy HS256 tokens issued
        // before they existed carry neither.
        let strict = key.alg().is_asymmetric();
        let matches = |claim: &Option<String>, expected: &str| match claim {
            Some(value) => value == expected,
            None => !strict || expected.is_empty(),
        };
        if !matches(&w.iss, &self.inner.issuer) || !matches(&w.aud, &self.inner.audience) {
            return Err(TokenError::Invalid);
        }
        Ok((w, key.kid_arc()))
    }
}

/// The `typ` claims of the contract's own tokens (`access`, `refresh`),
/// which a typed token must not carry.
fn is_contract_kind(claims: &serde_json::Value) -> bool {
    matches!(
        claims.get("typ").and_then(serde_json::Value::as_str),
        Some("access" | "refresh")
    )
}

/// Whether a header `typ` names the media type `typ` (RFC 7515 §4.1.9:
/// case-insensitive, the `application/` prefix optional; so `at+jwt`
/// also matches `application/at+jwt`, RFC 9068 §4).
fn typ_matches(header: &str, typ: &str) -> bool {
    let strip = |t: &str| {
        let t = t.trim();
        match t.get(..12) {
            Some(prefix) if prefix.eq_ignore_ascii_case("application/") => t[12..].to_owned(),
            _ => t.to_owned(),
        }
    };
    strip(header).eq_ignore_ascii_case(&strip(typ))
}

impl JwtCodec {
    /// `claims` as a compact JWS with header `{"alg", "kid", "typ": typ}`
    /// (e.g. `at+jwt` for an RFC 9068 access token), signed by the access
    /// ring's key active at the claims' `iat` (now when there is none), as
    /// [`TokenCodec::sign_access`] picks. The claims are signed as given;
    /// the caller sets `iss` (see [`JwtCodec::issuer`]), `aud`, `exp`.
    ///
    /// # Errors
    /// [`PortError`] when `typ` is `JWT` (the contract's access tokens),
    /// the claims carry `typ: "access"` or `typ: "refresh"` (the contract's
    /// kinds), or signing fails.
    pub fn sign_typed(&self, typ: &str, claims: &serde_json::Value) -> Result<String, PortError> {
        if typ.trim().is_empty() || typ_matches(typ, "JWT") {
            return Err(PortError::new(
                "sign token",
                "a typed token needs its own typ, not JWT",
            ));
        }
        if is_contract_kind(claims) {
            return Err(PortError::new(
                "sign token",
                "a typed token cannot carry the contract's typ claim",
            ));
        }
        let ring = self.ring();
        let at = claims
            .get("iat")
            .and_then(serde_json::Value::as_i64)
            .and_then(|iat| DateTime::from_timestamp(iat, 0))
            .unwrap_or_else(Utc::now);
        let key = ring
            .signer(at)
            .ok_or_else(|| PortError::new("sign token", "no signing key"))?;
        let mut header = Header::new(key.alg().jwt());
        header.kid = Some(key.kid().to_owned());
        header.typ = Some(typ.to_owned());
        key.sign(&header, claims)
            .map_err(|e| PortError::new("sign token", e))
    }

    /// The claims of a token of [`JwtCodec::sign_typed`]: header `typ`
    /// equal to `typ` (case-insensitive; `application/at+jwt` counts as
    /// `at+jwt`), `kid` naming a key of the ring not retired at `now`, that
    /// key's `alg`, no `jku`, `x5u`, `jwk`, `x5c` or `crit` header, a valid
    /// signature, `iss` equal to the codec's issuer when it has one, no
    /// `typ: "access"`/`"refresh"` claim, and `exp` after `now`. `aud` and
    /// the rest are the caller's to check.
    ///
    /// # Errors
    /// [`TokenError::Invalid`] for anything else (the contract's access and
    /// refresh tokens included), [`TokenError::Expired`] past `exp`.
    pub fn verify_typed(
        &self,
        token: &str,
        typ: &str,
        now: DateTime<Utc>,
    ) -> Result<serde_json::Value, TokenError> {
        if typ.trim().is_empty() || typ_matches(typ, "JWT") {
            return Err(TokenError::Invalid);
        }
        let header = own_key_header(token)?;
        if !header.typ.as_deref().is_some_and(|t| typ_matches(t, typ)) {
            return Err(TokenError::Invalid);
        }
        let kid = header.kid.as_deref().ok_or(TokenError::Invalid)?;
        let ring = self.ring();
        let key = ring.verifier(kid, now).ok_or(TokenError::Invalid)?;
        let claims: serde_json::Value = decode_with(token, &header, key, &["exp"])?;
        if is_contract_kind(&claims) {
            return Err(TokenError::Invalid);
        }
        if !self.inner.issuer.is_empty()
            && claims.get("iss").and_then(serde_json::Value::as_str) != Some(self.inner.issuer.as_str())
        {
            return Err(TokenError::Invalid);
        }
        let exp = claims
            .get("exp")
            .and_then(serde_json::Value::as_i64)
            .ok_or(TokenError::Invalid)?;
        if expired(exp, now) {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }
}

fn expired(exp: i64, now: DateTime<Utc>) -> bool {
    exp <= now.timestamp()
}

fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_owned())
}

impl TokenCodec for JwtCodec {
    fn sign_access(&self, claims: &AccessClaims) -> Result<String, PortError> {
        let ring = self.ring();
        let at = DateTime::from_timestamp(claims.iat, 0).unwrap_or_else(Utc::now);
        let key = ring
            .signer(at)
            .ok_or_else(|| PortError::new("sign token", "no signing key"))?;
        let mut header = Header::new(key.alg().jwt());
        header.kid = Some(key.kid().to_owned());
        let wire = Wire::access(
            claims,
            non_empty(&self.inner.issuer),
            non_empty(&self.inner.audience),
        );
        key.sign(&header, &wire)
            .map_err(|e| PortError::new("sign token", e))
    }

    fn sign_refresh(&self, claims: &RefreshClaims) -> Result<String, PortError> {
        self.sign_refresh_wire(&Wire::refresh(claims))
    }

    fn verify_access(
        &self,
        token: &str,
        now: DateTime<Utc>,
        allow_expired: bool,
    ) -> Result<AccessClaims, TokenError> {
        // A cached verdict needs neither the ring nor the key: its version
        // and the key's retirement date are in the entry.
        let version = self.inner.version.load(std::sync::atomic::Ordering::SeqCst);
        let digest: [u8; 32] = sha2::Sha256::digest(token.as_bytes()).into();
        let cached = self.inner.cache.get(&digest).filter(|c| c.holds(version, now));
        let claims = match cached {
            Some(c) => c.claims,
            None => {
                let ring = self.ring();
                // Only a reissue (which also needs the refresh token)
                // accepts a pre-upgrade access token.
                let (w, kid) = self.decode_access(token, &ring, now, allow_expired)?;
                let claims = w.access_claims().ok_or(TokenError::Invalid)?;
                let key_until = ring.verifies_until(&kid);
                if let Some(key_until) = key_until
                    && !expired(claims.exp, now)
                    && ring.verifier(&kid, now).is_some()
                {
                    self.inner.cache.put(
                        digest,
                        Cached {
                            claims: claims.clone(),
                            key_until,
                            version,
                        },
                        now.timestamp(),
                    );
                }
                claims
            }
        };
        if !allow_expired && expired(claims.exp, now) {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }

    fn verify_refresh(&self, token: &str, now: DateTime<Utc>) -> Result<RefreshClaims, TokenError> {
        let claims = self
            .decode_refresh(token)?
            .refresh_claims()
            .filter(|c| !c.jti.is_empty())
            .ok_or(TokenError::Invalid)?;
        if expired(claims.exp, now) {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests;
