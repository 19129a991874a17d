//! The signing keys of OpenID Connect ID tokens: one [`KeyRing`] per
//! algorithm (RS256, ES256, EdDSA), each kept in the `signing_keys` table
//! under its own purpose (`id:RS256`, `id:ES256`, `id:EdDSA`) beside the
//! access-token keys, whatever the access-token mode (database keys, an
//! `AUTH_JWT_SIGNING_KEY` PEM, or legacy HS256).
//!
//! A client asks for the algorithm of its ID tokens (RS256 is the OpenID
//! Connect default), so every algorithm always has a key. The keys live as
//! the access-token keys do (pending, active, retiring, retired: see
//! [`crate::signing`]): a rotation adds one key per algorithm, published
//! at once, signing after the pre-publication period.
//!
//! Verification ([`IdTokenKeys::verify`], for `id_token_hint`) accepts a
//! token signed by a key of these rings only, looked up by `kid` (never a
//! path, URL or query), its `alg` pinned to the key's, refusing `jku`,
//! `x5u`, `jwk`, `x5c` and `crit` headers, as [`crate::JwtCodec`] does.

use std::sync::{Arc, PoisonError, RwLock};

use auth_domain::PortError;
use auth_domain::sessions::token::TokenError;
use chrono::{DateTime, TimeDelta, Utc};
use jsonwebtoken::Header;
use serde_json::Value;

use crate::db::{Database, Kek, KeyStoreError, Rotated, SigningKeyStore};
use crate::signing::{KeyInfo, KeyRing, SigningAlgorithm, SigningKey, decode_with, own_key_header};

/// The algorithms ID tokens can be signed with, in the order documents
/// list them (RS256 first: the OpenID Connect default).
pub const ID_TOKEN_ALGORITHMS: [SigningAlgorithm; 3] = [
    SigningAlgorithm::Rs256,
    SigningAlgorithm::Es256,
    SigningAlgorithm::EdDsa,
];

/// The `signing_keys` purpose of the ID-token keys of `alg` (`id:RS256`,
/// `id:ES256`, `id:EdDSA`); `None` for HS256, never an ID-token algorithm.
pub fn id_token_purpose(alg: SigningAlgorithm) -> Option<&'static str> {
    match alg {
        SigningAlgorithm::Rs256 => Some("id:RS256"),
        SigningAlgorithm::Es256 => Some("id:ES256"),
        SigningAlgorithm::EdDsa => Some("id:EdDSA"),
        SigningAlgorithm::Hs256 => None,
    }
}

/// The ID-token keys of one instance: one ring per algorithm of
/// [`ID_TOKEN_ALGORITHMS`], read from and rotated in the database. Cheap
/// to clone (shared state).
#[derive(Clone)]
pub struct IdTokenKeys {
    inner: Arc<Inner>,
}

struct Inner {
    /// One per algorithm of [`ID_TOKEN_ALGORITHMS`], in that order.
    rings: [IdRing; 3],
    issuer: String,
    retire_after: TimeDelta,
    prepublish: TimeDelta,
}

struct IdRing {
    alg: SigningAlgorithm,
    purpose: &'static str,
    store: SigningKeyStore,
    ring: RwLock<Arc<KeyRing>>,
}

impl IdRing {
    fn current(&self) -> Arc<KeyRing> {
        self.ring.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Replaces the ring if its keys changed; returns whether they did.
    fn replace(&self, ring: KeyRing) -> bool {
        let mut current = self.ring.write().unwrap_or_else(PoisonError::into_inner);
        if current.same_keys(&ring) {
            return false;
        }
        *current = Arc::new(ring);
        true
    }
}

impl std::fmt::Debug for IdTokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdTokenKeys")
            .field("issuer", &self.inner.issuer)
            .field(
                "purposes",
                &self.inner.rings.iter().map(|r| r.purpose).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

/// A ring of the stored keys of `store`, every key of the ring's algorithm
/// (a key of another algorithm under an `id:<alg>` purpose is corrupt).
async fn read_ring(
    store: &SigningKeyStore,
    alg: SigningAlgorithm,
    retire_after: TimeDelta,
) -> Result<KeyRing, KeyStoreError> {
    let keys = store.load().await?;
    if let Some(stranger) = keys.iter().find(|k| k.alg() != alg) {
        return Err(KeyStoreError::Corrupt {
            kid: stranger.kid().to_owned(),
            what: "an ID-token key of another algorithm than its purpose names",
        });
    }
    Ok(KeyRing::new(keys, retire_after))
}

impl IdTokenKeys {
    /// Makes sure each algorithm of [`ID_TOKEN_ALGORITHMS`] has a key in
    /// `db` (generating the missing ones concurrently, active at once;
    /// instances starting together agree on one key per algorithm, see
    /// [`SigningKeyStore::ensure`]), then loads the rings. Private keys are
    /// sealed under `kek` when given; ID tokens carry `iss` = `issuer`; a
    /// superseded key retires `retire_after` after its successor activates;
    /// a rotated-in key signs `prepublish` after it is published.
    ///
    /// # Errors
    /// [`KeyStoreError`] when the database fails or a stored key is
    /// unusable (sealed without a KEK, wrong KEK, corrupt).
    pub async fn load(
        db: Database,
        kek: Option<Kek>,
        issuer: String,
        retire_after: TimeDelta,
        prepublish: TimeDelta,
    ) -> Result<Self, KeyStoreError> {
        let now = Utc::now();
        let stores = ID_TOKEN_ALGORITHMS.map(|alg| {
            let purpose = id_token_purpose(alg).unwrap_or("id:unknown");
            (
                alg,
                purpose,
                SigningKeyStore::with_purpose(db.clone(), kek.clone(), purpose),
            )
        });
        // Key generation runs on the blocking pool (RSA takes a while), so
        // the three run side by side.
        let [a, b, c] = join3(stores.each_ref().map(|(alg, _, store)| async move {
            let created = store.ensure(*alg, now, prepublish).await?;
            if let Some(r) = &created {
                tracing::info!(kid = %r.kid, alg = %r.alg, purpose = %r.purpose, "generated an ID-token signing key");
            }
            read_ring(store, *alg, retire_after).await
        }))
        .await;
        let [s0, s1, s2] = stores;
        let ring = |(alg, purpose, store): (SigningAlgorithm, &'static str, SigningKeyStore),
                    ring: KeyRing| IdRing {
            alg,
            purpose,
            store,
            ring: RwLock::new(Arc::new(ring)),
        };
        Ok(Self {
            inner: Arc::new(Inner {
                rings: [ring(s0, a?), ring(s1, b?), ring(s2, c?)],
                issuer,
                retire_after,
                prepublish,
            }),
        })
    }

    fn ring_of(&self, alg: SigningAlgorithm) -> Option<&IdRing> {
        self.inner.rings.iter().find(|r| r.alg == alg)
    }

    /// The `iss` of ID tokens (and the one [`IdTokenKeys::verify`] wants).
    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    /// The keys of `alg` in use (`None` for HS256).
    pub fn ring(&self, alg: SigningAlgorithm) -> Option<Arc<KeyRing>> {
        self.ring_of(alg).map(IdRing::current)
    }

    /// `claims` as a compact JWS signed by the active key of `alg`'s ring
    /// (picked at the claims' `iat` when it is a number, as access tokens
    /// are), header `{"alg", "kid", "typ": "JWT"}`. The claims are signed
    /// as given: the caller sets `iss` (see [`IdTokenKeys::issuer`]),
    /// `aud`, `exp` and the rest.
    ///
    /// # Errors
    /// [`PortError`] for HS256 (not an ID-token algorithm here), or when
    /// signing fails.
    pub fn sign(&self, alg: SigningAlgorithm, claims: &Value) -> Result<String, PortError> {
        self.sign_typed(alg, "JWT", claims)
    }

    /// As [`IdTokenKeys::sign`], with the header `typ` given: `logout+jwt`
    /// for a logout token, `secevent+jwt` for a Security Event Token.
    ///
    /// # Errors
    /// As [`IdTokenKeys::sign`].
    pub fn sign_typed(&self, alg: SigningAlgorithm, typ: &str, claims: &Value) -> Result<String, PortError> {
        let ring = self
            .ring(alg)
            .ok_or_else(|| PortError::new("sign ID token", format!("{alg} is not an ID-token algorithm")))?;
        let at = claims
            .get("iat")
            .and_then(Value::as_i64)
            .and_then(|iat| DateTime::from_timestamp(iat, 0))
            .unwrap_or_else(Utc::now);
        let key = ring
            .signer(at)
            .ok_or_else(|| PortError::new("sign ID token", "no signing key"))?;
        let mut header = Header::new(key.alg().jwt());
        header.kid = Some(key.kid().to_owned());
        header.typ = Some(typ.to_owned());
        key.sign(&header, claims)
            .map_err(|e| PortError::new("sign ID token", e))
    }

    /// The key named `kid` in any ID-token ring, if it may verify at `now`.
    fn verifier(&self, kid: &str, now: DateTime<Utc>) -> Option<Arc<SigningKey>> {
        self.inner
            .rings
            .iter()
            .find_map(|r| r.current().verifier(kid, now).cloned())
    }

    /// The claims of an ID token this service signed: `kid` names a key of
    /// the ID-token rings (not retired at `now`), `alg` is that key's, no
    /// `jku`, `x5u`, `jwk`, `x5c` or `crit` header, `typ` (if any) `JWT`,
    /// a valid signature, `iss` equal to [`IdTokenKeys::issuer`], and an
    /// `exp` after `now` unless `allow_expired` (an `id_token_hint` may
    /// name an expired token). `aud` is the caller's to check.
    ///
    /// # Errors
    /// [`TokenError::Invalid`] for anything but a genuine ID token of ours
    /// (an access or refresh token included), [`TokenError::Expired`] past
    /// its `exp` when expiry counts.
    pub fn verify(&self, token: &str, now: DateTime<Utc>, allow_expired: bool) -> Result<Value, TokenError> {
        let header = own_key_header(token)?;
        if header
            .typ
            .as_deref()
            .is_some_and(|typ| !typ.eq_ignore_ascii_case("JWT"))
        {
            return Err(TokenError::Invalid);
        }
        let kid = header.kid.as_deref().ok_or(TokenError::Invalid)?;
        let key = self.verifier(kid, now).ok_or(TokenError::Invalid)?;
        let claims: Value = decode_with(token, &header, &key, &["exp", "iss"])?;
        if claims.get("iss").and_then(Value::as_str) != Some(self.inner.issuer.as_str()) {
            return Err(TokenError::Invalid);
        }
        let exp = claims
            .get("exp")
            .and_then(Value::as_i64)
            .ok_or(TokenError::Invalid)?;
        if !allow_expired && exp <= now.timestamp() {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }

    /// The public JWKs of every ID-token key not retired at `now` (pending,
    /// active, retiring), RS256 first, for the JWKS beside the access keys.
    pub fn jwks_keys(&self, now: DateTime<Utc>) -> Vec<Value> {
        self.inner
            .rings
            .iter()
            .flat_map(|r| match r.current().jwks(now).get_mut("keys").map(Value::take) {
                Some(Value::Array(keys)) => keys,
                _ => Vec::new(),
            })
            .collect()
    }

    /// Every ID-token key with its purpose (`id:RS256`, …), state and
    /// dates, ring by ring (RS256 first), oldest first within a ring.
    pub fn describe(&self, now: DateTime<Utc>) -> Vec<(&'static str, KeyInfo)> {
        self.inner
            .rings
            .iter()
            .flat_map(|r| {
                r.current()
                    .describe(now)
                    .into_iter()
                    .map(move |info| (r.purpose, info))
            })
            .collect()
    }

    /// Reads the ID-token keys from the database again (a rotation by
    /// another instance or the CLI); returns whether any ring changed.
    ///
    /// # Errors
    /// [`KeyStoreError`]; the rings in use stay (all of them: none is
    /// replaced unless every ring could be read).
    pub async fn reload(&self) -> Result<bool, KeyStoreError> {
        let retire_after = self.inner.retire_after;
        let read = join3(
            self.inner
                .rings
                .each_ref()
                .map(|r| read_ring(&r.store, r.alg, retire_after)),
        )
        .await;
        let rings = read.into_iter().collect::<Result<Vec<_>, _>>()?;
        let mut changed = false;
        for (r, ring) in self.inner.rings.iter().zip(rings) {
            changed |= r.replace(ring);
        }
        Ok(changed)
    }

    /// Adds one key per algorithm (concurrently): published at once,
    /// signing after the pre-publication period, or at once with
    /// `activate_now`. This instance uses them immediately (the others on
    /// their next [`IdTokenKeys::reload`]). Returns the keys added, RS256
    /// first.
    ///
    /// # Errors
    /// [`KeyStoreError`]: some keys may have been added (each algorithm's
    /// rotation is its own insert); a retry adds one more per algorithm.
    pub async fn rotate(&self, activate_now: bool) -> Result<Vec<Rotated>, KeyStoreError> {
        let now = Utc::now();
        let activates_at = if activate_now {
            now
        } else {
            now + self.inner.prepublish
        };
        let rotated = join3(
            self.inner
                .rings
                .each_ref()
                .map(|r| r.store.rotate(r.alg, now, activates_at)),
        )
        .await
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?;
        for r in &rotated {
            tracing::info!(kid = %r.kid, alg = %r.alg, purpose = %r.purpose, activates_at = %r.activates_at, "ID-token signing key rotated");
        }
        self.reload().await?;
        Ok(rotated)
    }
}

/// Runs three futures side by side on the current task (one per
/// algorithm of [`ID_TOKEN_ALGORITHMS`]) and returns their outputs in
/// order.
async fn join3<T, F: std::future::Future<Output = T>>(futures: [F; 3]) -> [T; 3] {
    let [a, b, c] = futures;
    let (a, b, c) = tokio::join!(a, b, c);
    [a, b, c]
}
