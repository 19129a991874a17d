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
//! The payload is [`auth_domain::token::JwtClaims`] (public, so that other
//! Rust services read the same type).
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
use auth_domain::token::{AccessClaims, JwtClaims as Wire, RefreshClaims, TokenError, TokenKind as Kind};
use chrono::{DateTime, TimeDelta, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use sha2::Digest;

use crate::signing::{KeyRing, SigningAlgorithm, SigningKey};

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
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Invalid)?;
        // Keys come from our ring only: a token cannot point at its own.
        if header.jku.is_some()
            || header.x5u.is_some()
            || header.jwk.is_some()
            || header.x5c.is_some()
            || header.crit.is_some()
        {
            return Err(TokenError::Invalid);
        }
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
        if header.alg != key.alg().jwt() {
            return Err(TokenError::Invalid);
        }
        let mut validation = Validation::new(key.alg().jwt());
        validation.validate_exp = false;
        validation.validate_aud = false;
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub"]);
        let data = jsonwebtoken::decode::<Wire>(token, key.decoding(), &validation)
            .map_err(|_| TokenError::Invalid)?;
        let w = data.claims;
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
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use crate::signing::{KeyRing, SigningAlgorithm, SigningKey};
    use auth_domain::session::SessionId;
    use uuid::Uuid;

    const T0: i64 = 1_700_000_000;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(secs, 0).unwrap()
    }

    fn access() -> AccessClaims {
        AccessClaims {
            sub: Uuid::from_u128(1),
            sid: SessionId::from_uuid(Uuid::from_u128(2)),
            iat: T0,
            exp: T0 + 900,
        }
    }

    fn refresh() -> RefreshClaims {
        RefreshClaims {
            sub: Uuid::from_u128(1),
            sid: SessionId::from_uuid(Uuid::from_u128(2)),
            jti: "jti-123".into(),
            iat: T0,
            exp: T0 + 86_400,
        }
    }

    fn codec() -> JwtCodec {
        JwtCodec::hs256(b"0123456789abcdef0123456789abcdef")
    }

    fn parts(token: &str) -> Vec<String> {
        token.split('.').map(str::to_owned).collect()
    }

    #[test]
    fn access_roundtrip() {
        let c = codec();
        let token = c.sign_access(&access()).unwrap();
        assert_eq!(c.verify_access(&token, at(T0 + 1), false), Ok(access()));
    }

    #[test]
    fn refresh_roundtrip() {
        let c = codec();
        let token = c.sign_refresh(&refresh()).unwrap();
        assert_eq!(c.verify_refresh(&token, at(T0 + 1)), Ok(refresh()));
    }

    #[test]
    fn claims_have_the_documented_shape() {
        let token = codec().sign_refresh(&refresh()).unwrap();
        let payload = jsonwebtoken::dangerous::insecure_decode::<serde_json::Value>(&token)
            .unwrap()
            .claims;
        assert_eq!(payload["typ"], "refresh");
        assert_eq!(payload["jti"], "jti-123");
        assert_eq!(payload["sub"], Uuid::from_u128(1).to_string());
        assert_eq!(payload["sid"], Uuid::from_u128(2).to_string());
        assert_eq!(payload["iat"], T0);
        let token = codec().sign_access(&access()).unwrap();
        let payload = jsonwebtoken::dangerous::insecure_decode::<serde_json::Value>(&token)
            .unwrap()
            .claims;
        assert_eq!(payload["typ"], "access");
        assert!(payload.get("jti").is_none());
    }

    #[test]
    fn wrong_key_is_invalid() {
        let token = codec().sign_access(&access()).unwrap();
        let other = JwtCodec::hs256(b"another secret, also 32 bytes...");
        assert_eq!(
            other.verify_access(&token, at(T0), false),
            Err(TokenError::Invalid)
        );
    }

    #[test]
    fn alg_none_is_invalid() {
        let token = codec().sign_access(&access()).unwrap();
        let p = parts(&token);
        // base64url of {"alg":"none","typ":"JWT"}
        let none_header = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0";
        for forged in [
            format!("{none_header}.{}.", p[1]),
            format!("{none_header}.{}.{}", p[1], p[2]),
        ] {
            assert_eq!(
                codec().verify_access(&forged, at(T0), false),
                Err(TokenError::Invalid),
                "{forged}"
            );
        }
    }

    #[test]
    fn other_algorithms_are_invalid() {
        let secret = b"0123456789abcdef0123456789abcdef";
        for alg in [Algorithm::HS384, Algorithm::HS512] {
            let wire = Wire {
                iss: None,
                aud: None,
                sub: Uuid::from_u128(1),
                sid: Uuid::from_u128(2),
                iat: T0,
                exp: T0 + 900,
                typ: Kind::Access,
                jti: None,
            };
            let token =
                jsonwebtoken::encode(&Header::new(alg), &wire, &EncodingKey::from_secret(secret)).unwrap();
            assert_eq!(
                codec().verify_access(&token, at(T0), false),
                Err(TokenError::Invalid)
            );
        }
    }

    #[test]
    fn stripped_signature_is_invalid() {
        let token = codec().sign_access(&access()).unwrap();
        let p = parts(&token);
        let stripped = format!("{}.{}.", p[0], p[1]);
        assert_eq!(
            codec().verify_access(&stripped, at(T0), false),
            Err(TokenError::Invalid)
        );
        let two_parts = format!("{}.{}", p[0], p[1]);
        assert_eq!(
            codec().verify_access(&two_parts, at(T0), false),
            Err(TokenError::Invalid)
        );
    }

    #[test]
    fn tampered_payload_is_invalid() {
        let c = codec();
        let token = c.sign_access(&access()).unwrap();
        let other = c
            .sign_access(&AccessClaims {
                sub: Uuid::from_u128(99),
                ..access()
            })
            .unwrap();
        let (p, q) = (parts(&token), parts(&other));
        assert_ne!(p[1], q[1]);
        let tampered = format!("{}.{}.{}", p[0], q[1], p[2]);
        assert_eq!(
            c.verify_access(&tampered, at(T0), false),
            Err(TokenError::Invalid)
        );
    }

    #[test]
    fn garbage_is_invalid() {
        for junk in ["", "a", "a.b.c", "....", "eyJhbGciOiJIUzI1NiJ9.e30.x"] {
            assert_eq!(
                codec().verify_access(junk, at(T0), false),
                Err(TokenError::Invalid),
                "{junk}"
            );
            assert_eq!(
                codec().verify_refresh(junk, at(T0)),
                Err(TokenError::Invalid),
                "{junk}"
            );
        }
    }

    #[test]
    fn expiry_follows_the_given_clock() {
        let c = codec();
        let a = c.sign_access(&access()).unwrap();
        assert!(c.verify_access(&a, at(T0 + 899), false).is_ok());
        assert_eq!(c.verify_access(&a, at(T0 + 900), false), Err(TokenError::Expired));
        assert_eq!(c.verify_access(&a, at(T0 + 10_000), true), Ok(access()));
        let r = c.sign_refresh(&refresh()).unwrap();
        assert_eq!(c.verify_refresh(&r, at(T0 + 86_400)), Err(TokenError::Expired));
        // Expiry is ours, not the system clock's: a token from 2023 verifies
        // at a 2023 "now".
        assert!(c.verify_refresh(&r, at(T0 + 86_399)).is_ok());
    }

    #[test]
    fn kinds_are_not_interchangeable() {
        let c = codec();
        let a = c.sign_access(&access()).unwrap();
        let r = c.sign_refresh(&refresh()).unwrap();
        assert_eq!(c.verify_access(&r, at(T0), false), Err(TokenError::Invalid));
        assert_eq!(c.verify_access(&r, at(T0), true), Err(TokenError::Invalid));
        assert_eq!(c.verify_refresh(&a, at(T0)), Err(TokenError::Invalid));
    }

    fn es256_key(generation: i64, activates: i64) -> (SigningKey, String) {
        let pem = crate::signing::generate_pem(SigningAlgorithm::Es256).unwrap();
        let key = SigningKey::from_pem(
            SigningAlgorithm::Es256,
            &pem,
            generation,
            at(T0),
            at(T0 + activates),
        )
        .unwrap();
        (key, pem)
    }

    fn es_codec(keys: Vec<SigningKey>) -> JwtCodec {
        JwtCodec::new(
            KeyRing::new(keys, TimeDelta::seconds(960)),
            b"refresh secret refresh secret 32",
            "https://auth.example.com",
            "https://auth.example.com",
        )
    }

    #[test]
    fn es256_tokens_carry_kid_iss_aud_and_verify() {
        let (key, _) = es256_key(1, 0);
        let kid = key.kid().to_owned();
        let c = es_codec(vec![key]);
        let token = c.sign_access(&access()).unwrap();
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!(header.alg, Algorithm::ES256);
        assert_eq!(header.kid.as_deref(), Some(kid.as_str()));
        let payload = jsonwebtoken::dangerous::insecure_decode::<serde_json::Value>(&token)
            .unwrap()
            .claims;
        assert_eq!(payload["iss"], "https://auth.example.com");
        assert_eq!(payload["aud"], "https://auth.example.com");
        assert_eq!(c.verify_access(&token, at(T0 + 1), false), Ok(access()));
        // Cached: the second verification gives the same answer, and
        // expiry still applies.
        assert_eq!(c.verify_access(&token, at(T0 + 2), false), Ok(access()));
        assert_eq!(
            c.verify_access(&token, at(T0 + 900), false),
            Err(TokenError::Expired)
        );
        // Refresh tokens stay HS256, verified only by us.
        let r = c.sign_refresh(&refresh()).unwrap();
        assert_eq!(jsonwebtoken::decode_header(&r).unwrap().alg, Algorithm::HS256);
        assert_eq!(c.verify_refresh(&r, at(T0 + 1)), Ok(refresh()));
    }

    #[test]
    fn pre_upgrade_hs256_access_tokens_only_reissue() {
        let secret = b"refresh secret refresh secret 32";
        let legacy = JwtCodec::hs256(secret);
        // A token of the HS256 era: no kid, no iss/aud.
        let wire = Wire {
            iss: None,
            aud: None,
            sub: Uuid::from_u128(1),
            sid: Uuid::from_u128(2),
            iat: T0,
            exp: T0 + 900,
            typ: Kind::Access,
            jti: None,
        };
        let old = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &wire,
            &EncodingKey::from_secret(secret),
        )
        .unwrap();
        assert!(legacy.verify_access(&old, at(T0), false).is_ok());
        let (key, _) = es256_key(1, 0);
        let upgraded = es_codec(vec![key]);
        assert_eq!(
            upgraded.verify_access(&old, at(T0), false),
            Err(TokenError::Invalid)
        );
        assert_eq!(upgraded.verify_access(&old, at(T0 + 5000), true), Ok(access()));
        // Still refused for a reissue: another secret, or a kid.
        let other = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &wire,
            &EncodingKey::from_secret(b"another secret, 32 bytes long..."),
        )
        .unwrap();
        assert_eq!(
            upgraded.verify_access(&other, at(T0), true),
            Err(TokenError::Invalid)
        );
    }

    #[test]
    fn the_legacy_hs256_mode_refuses_asymmetric_tokens() {
        let secret = b"refresh secret refresh secret 32";
        let legacy = JwtCodec::hs256(secret);
        let kid = legacy.ring().keys()[0].kid().to_owned();
        let (_, pem) = es256_key(1, 0);
        let wire = Wire {
            iss: None,
            aud: None,
            sub: Uuid::from_u128(1),
            sid: Uuid::from_u128(2),
            iat: T0,
            exp: T0 + 900,
            typ: Kind::Access,
            jti: None,
        };
        for header_kid in [Some(kid.clone()), None] {
            let mut h = Header::new(Algorithm::ES256);
            h.kid = header_kid;
            let token =
                jsonwebtoken::encode(&h, &wire, &EncodingKey::from_ec_pem(pem.as_bytes()).unwrap()).unwrap();
            assert_eq!(
                legacy.verify_access(&token, at(T0), false),
                Err(TokenError::Invalid)
            );
            assert_eq!(
                legacy.verify_access(&token, at(T0), true),
                Err(TokenError::Invalid)
            );
        }
        let mut h = Header::new(Algorithm::HS256);
        h.kid = Some(kid);
        let genuine = jsonwebtoken::encode(&h, &wire, &EncodingKey::from_secret(secret)).unwrap();
        assert_eq!(legacy.verify_access(&genuine, at(T0), false), Ok(access()));
    }

    #[test]
    fn a_retired_key_stops_verifying_even_when_cached() {
        let (old, _) = es256_key(1, 0);
        let (new, _) = es256_key(2, 100);
        let c = es_codec(vec![old, new]);
        let mut claims = access();
        claims.exp = T0 + 100_000;
        let token = c.sign_access(&claims).unwrap();
        assert!(c.verify_access(&token, at(T0 + 50), false).is_ok());
        assert!(c.verify_access(&token, at(T0 + 1059), false).is_ok(), "retiring");
        assert_eq!(
            c.verify_access(&token, at(T0 + 1060), false),
            Err(TokenError::Invalid),
            "retired 960 s after the new key took over"
        );
    }

    #[test]
    fn forged_headers_and_claims_are_refused() {
        let (key, pem) = es256_key(1, 0);
        let kid = key.kid().to_owned();
        let jwk = key.public_jwk().unwrap().clone();
        let c = es_codec(vec![key]);
        let enc = EncodingKey::from_ec_pem(pem.as_bytes()).unwrap();
        let wire = |iss: &str, aud: &str| Wire {
            iss: Some(iss.into()),
            aud: Some(aud.into()),
            sub: Uuid::from_u128(1),
            sid: Uuid::from_u128(2),
            iat: T0,
            exp: T0 + 900,
            typ: Kind::Access,
            jti: None,
        };
        let good = wire("https://auth.example.com", "https://auth.example.com");
        let header = |alg: Algorithm, kid: &str| {
            let mut h = Header::new(alg);
            h.kid = Some(kid.to_owned());
            h
        };
        let genuine = jsonwebtoken::encode(&header(Algorithm::ES256, &kid), &good, &enc).unwrap();
        assert!(c.verify_access(&genuine, at(T0), false).is_ok());
        let mut jku = header(Algorithm::ES256, &kid);
        jku.jku = Some("https://evil.example/jwks".into());
        let mut x5u = header(Algorithm::ES256, &kid);
        x5u.x5u = Some("https://evil.example/cert".into());
        let hs = |secret: &[u8]| {
            jsonwebtoken::encode(
                &header(Algorithm::HS256, &kid),
                &good,
                &EncodingKey::from_secret(secret),
            )
            .unwrap()
        };
        let forged = [
            jsonwebtoken::encode(&jku, &good, &enc).unwrap(),
            jsonwebtoken::encode(&x5u, &good, &enc).unwrap(),
            jsonwebtoken::encode(&header(Algorithm::ES256, "../../etc/passwd"), &good, &enc).unwrap(),
            jsonwebtoken::encode(&header(Algorithm::ES256, "' OR '1'='1"), &good, &enc).unwrap(),
            jsonwebtoken::encode(&Header::new(Algorithm::ES256), &good, &enc).unwrap(),
            jsonwebtoken::encode(
                &header(Algorithm::ES256, &kid),
                &wire("https://evil", "https://auth.example.com"),
                &enc,
            )
            .unwrap(),
            jsonwebtoken::encode(
                &header(Algorithm::ES256, &kid),
                &wire("https://auth.example.com", "other"),
                &enc,
            )
            .unwrap(),
            hs(jwk.to_string().as_bytes()),
            hs(pem.as_bytes()),
            hs(b"refresh secret refresh secret 32"),
        ];
        for token in forged {
            assert_eq!(
                c.verify_access(&token, at(T0), false),
                Err(TokenError::Invalid),
                "{token}"
            );
        }
    }
}
