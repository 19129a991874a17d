//! Signing keys of access tokens: algorithms, key material, and the key
//! ring (which key signs now, which keys still verify, what is published).
//!
//! A key's life (times, not flags, so every instance agrees without
//! coordination):
//! - **pending** from creation until its `activates_at`: published in the
//!   JWKS, not yet signing (the pre-publication period lets verifiers'
//!   caches learn it before the first token it signs);
//! - **active** from `activates_at` while no newer key is active: signs;
//! - **retiring** once a newer key is active (`superseded_at`, the next
//!   key's `activates_at`): still published and verifying, for as long as
//!   a token it signed can live (the access-token lifetime plus a minute);
//! - **retired** after that: neither published nor accepted.
//!
//! The newest (highest generation) key whose `activates_at` has passed
//! signs, so a later `--activate-now` rotation wins over an earlier pending
//! key.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use jsonwebtoken::jwk::{Jwk, KeyAlgorithm, PublicKeyUse, ThumbprintHash};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use serde_json::{Value, json};
use sha2::Digest;

/// The algorithm of access tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SigningAlgorithm {
    /// ECDSA P-256 with SHA-256 (the default).
    Es256,
    /// Ed25519.
    EdDsa,
    /// RSASSA-PKCS1-v1_5 with SHA-256, 2048-bit keys.
    Rs256,
    /// HMAC-SHA256 with a shared secret (legacy: nothing is published).
    Hs256,
}

impl SigningAlgorithm {
    /// Every algorithm, in the order documents list them.
    pub const ALL: [Self; 4] = [Self::Es256, Self::EdDsa, Self::Rs256, Self::Hs256];

    /// From its JOSE name (`ES256`, `EdDSA`, `RS256`, `HS256`; any case).
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|a| a.as_str().eq_ignore_ascii_case(name.trim()))
    }

    /// Its JOSE name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Es256 => "ES256",
            Self::EdDsa => "EdDSA",
            Self::Rs256 => "RS256",
            Self::Hs256 => "HS256",
        }
    }

    /// Whether tokens can be verified with a published public key.
    pub fn is_asymmetric(self) -> bool {
        self != Self::Hs256
    }

    pub(crate) fn jwt(self) -> Algorithm {
        match self {
            Self::Es256 => Algorithm::ES256,
            Self::EdDsa => Algorithm::EdDSA,
            Self::Rs256 => Algorithm::RS256,
            Self::Hs256 => Algorithm::HS256,
        }
    }
}

impl std::fmt::Display for SigningAlgorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why key material is unusable.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The PEM is not a private key of the algorithm.
    #[error("not a {alg} private key in PEM (PKCS#8{extra})")]
    BadPem {
        /// The expected algorithm.
        alg: SigningAlgorithm,
        /// Other accepted forms.
        extra: &'static str,
    },
    /// An RSA key shorter than 2048 bits.
    #[error("RSA keys must have at least 2048 bits")]
    WeakRsa,
    /// Generation or encoding failed.
    #[error("key generation failed: {0}")]
    Generate(String),
    /// The key cannot be turned into a JWK.
    #[error("cannot publish the key: {0}")]
    Publish(String),
    /// HS256 keys come from a secret, not a PEM.
    #[error("HS256 keys are secrets, not PEM files")]
    Symmetric,
}

/// A new private key of `alg` as PKCS#8 PEM (RSA: 2048 bits, slow in debug
/// builds; run it off the async runtime).
///
/// # Errors
/// [`KeyError::Generate`], or [`KeyError::Symmetric`] for HS256.
pub fn generate_pem(alg: SigningAlgorithm) -> Result<String, KeyError> {
    use rand_core::OsRng;
    let generate = |e: &dyn std::fmt::Display| KeyError::Generate(e.to_string());
    match alg {
        SigningAlgorithm::Es256 => {
            use p256::pkcs8::{EncodePrivateKey, LineEnding};
            let key = p256::SecretKey::random(&mut OsRng);
            Ok(key
                .to_pkcs8_pem(LineEnding::LF)
                .map_err(|e| generate(&e))?
                .to_string())
        }
        SigningAlgorithm::EdDsa => ed25519_pem(&ed25519_dalek::SigningKey::generate(&mut OsRng)),
        SigningAlgorithm::Rs256 => {
            use rsa::pkcs8::{EncodePrivateKey, LineEnding};
            let key = rsa::RsaPrivateKey::new(&mut OsRng, 2048).map_err(|e| generate(&e))?;
            Ok(key
                .to_pkcs8_pem(LineEnding::LF)
                .map_err(|e| generate(&e))?
                .to_string())
        }
        SigningAlgorithm::Hs256 => Err(KeyError::Symmetric),
    }
}

/// An Ed25519 key as PKCS#8 v1 PEM (without the public key, the form
/// jsonwebtoken reads).
fn ed25519_pem(key: &ed25519_dalek::SigningKey) -> Result<String, KeyError> {
    use ed25519_dalek::pkcs8::{EncodePrivateKey, KeypairBytes, spki::der::pem::LineEnding};
    let bytes = KeypairBytes {
        secret_key: key.to_bytes(),
        public_key: None,
    };
    Ok(bytes
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| KeyError::Generate(e.to_string()))?
        .to_string())
}

/// `pem` re-encoded as canonical PKCS#8 PEM of `alg`. Accepts PKCS#8 and,
/// for ES256, SEC1 (`EC PRIVATE KEY`), for RS256, PKCS#1 (`RSA PRIVATE
/// KEY`).
///
/// # Errors
/// [`KeyError`].
pub fn normalize_pem(alg: SigningAlgorithm, pem: &str) -> Result<String, KeyError> {
    let pem = pem.trim();
    match alg {
        SigningAlgorithm::Es256 => {
            use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
            let key = p256::SecretKey::from_pkcs8_pem(pem)
                .or_else(|_| p256::SecretKey::from_sec1_pem(pem))
                .map_err(|_| KeyError::BadPem {
                    alg,
                    extra: " or SEC1",
                })?;
            Ok(key
                .to_pkcs8_pem(LineEnding::LF)
                .map_err(|e| KeyError::Generate(e.to_string()))?
                .to_string())
        }
        SigningAlgorithm::EdDsa => {
            use ed25519_dalek::pkcs8::DecodePrivateKey;
            let key = ed25519_dalek::SigningKey::from_pkcs8_pem(pem)
                .map_err(|_| KeyError::BadPem { alg, extra: "" })?;
            ed25519_pem(&key)
        }
        SigningAlgorithm::Rs256 => {
            use rsa::pkcs1::DecodeRsaPrivateKey;
            use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
            use rsa::traits::PublicKeyParts;
            let key = rsa::RsaPrivateKey::from_pkcs8_pem(pem)
                .or_else(|_| rsa::RsaPrivateKey::from_pkcs1_pem(pem))
                .map_err(|_| KeyError::BadPem {
                    alg,
                    extra: " or PKCS#1",
                })?;
            if key.size() < 256 {
                return Err(KeyError::WeakRsa);
            }
            Ok(key
                .to_pkcs8_pem(LineEnding::LF)
                .map_err(|e| KeyError::Generate(e.to_string()))?
                .to_string())
        }
        SigningAlgorithm::Hs256 => Err(KeyError::Symmetric),
    }
}

/// One signing key: private material, the public JWK, and its dates.
pub struct SigningKey {
    kid: Arc<str>,
    alg: SigningAlgorithm,
    encoding: EncodingKey,
    /// The private key parsed once (ES256, EdDSA).
    signer: Signer,
    decoding: DecodingKey,
    /// The public key as published (`None` for HS256: never published).
    jwk: Option<Value>,
    /// Order of creation; the newest active key signs.
    pub generation: i64,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it starts signing.
    pub activates_at: DateTime<Utc>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("generation", &self.generation)
            .field("activates_at", &self.activates_at)
            .finish_non_exhaustive()
    }
}

/// A private key parsed once, ready to sign. `jsonwebtoken::encode` parses
/// the PKCS#8 document again on every call, and for ES256 and EdDSA that
/// derives and checks the public key too (a scalar multiplication): that
/// was half the CPU of a token rotation (docs/performance.md, "The write
/// path"). RSA keys sign with `ring` as well (below); HMAC keys go through
/// `jsonwebtoken::encode`, whose setup is a copy of the secret.
enum Signer {
    /// With `ring`: its P-256 signing uses precomputed tables of the base
    /// point, about 20 times fewer instructions than the RustCrypto `p256`
    /// signing that jsonwebtoken uses (docs/performance.md). Nonces are
    /// random (ring's choice), so signatures are not deterministic.
    Es256(Box<ring::signature::EcdsaKeyPair>, ring::rand::SystemRandom),
    EdDsa(Box<ed25519_dalek::SigningKey>),
    /// With `ring` too: its RSA signing (Montgomery arithmetic in
    /// assembly) takes a fraction of the RustCrypto `rsa` crate's 1.3 ms a
    /// signature, which bounded the code exchanges of clients with RS256
    /// ID tokens (docs/performance.md, "load-bench-oidc"). PKCS#1 v1.5
    /// signatures are deterministic: the same bytes either way.
    Rs256(Box<ring::signature::RsaKeyPair>, ring::rand::SystemRandom),
    Encode,
}

impl Signer {
    fn of(alg: SigningAlgorithm, pem: &str) -> Result<Self, KeyError> {
        use ed25519_dalek::pkcs8::DecodePrivateKey as _;
        let bad = |_| KeyError::BadPem { alg, extra: "" };
        Ok(match alg {
            SigningAlgorithm::Es256 => {
                let key = p256::SecretKey::from_pkcs8_pem(pem).map_err(bad)?;
                let public =
                    p256::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(&key.public_key(), false);
                let random = ring::rand::SystemRandom::new();
                let pair = ring::signature::EcdsaKeyPair::from_private_key_and_public_key(
                    &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                    &key.to_bytes(),
                    public.as_bytes(),
                    &random,
                )
                .map_err(|_| KeyError::BadPem { alg, extra: "" })?;
                Self::Es256(Box::new(pair), random)
            }
            SigningAlgorithm::EdDsa => Self::EdDsa(Box::new(
                ed25519_dalek::SigningKey::from_pkcs8_pem(pem).map_err(bad)?,
            )),
            SigningAlgorithm::Rs256 => {
                use rsa::pkcs8::SecretDocument;
                let (_, der) =
                    SecretDocument::from_pem(pem).map_err(|_| KeyError::BadPem { alg, extra: "" })?;
                let pair = ring::signature::RsaKeyPair::from_pkcs8(der.as_bytes())
                    .map_err(|_| KeyError::BadPem { alg, extra: "" })?;
                Self::Rs256(Box::new(pair), ring::rand::SystemRandom::new())
            }
            SigningAlgorithm::Hs256 => Self::Encode,
        })
    }
}

impl SigningKey {
    /// Signs `claims` under `header` as a compact JWS (`header.claims.sig`,
    /// each part base64url without padding), as `jsonwebtoken::encode`
    /// does, without parsing the key again.
    ///
    /// # Errors
    /// When the claims cannot be serialized or the signature fails.
    pub(crate) fn sign<T: serde::Serialize>(
        &self,
        header: &jsonwebtoken::Header,
        claims: &T,
    ) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
        use base64::Engine as _;
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let message = || -> Result<String, serde_json::Error> {
            Ok(format!(
                "{}.{}",
                URL_SAFE_NO_PAD.encode(serde_json::to_vec(header)?),
                URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims)?)
            ))
        };
        let (message, signature) = match &self.signer {
            Signer::Encode => return Ok(jsonwebtoken::encode(header, claims, &self.encoding)?),
            Signer::Es256(key, random) => {
                let message = message()?;
                let signature = key
                    .sign(random, message.as_bytes())
                    .map_err(|_| "ES256 signature failed")?;
                (message, signature.as_ref().to_vec())
            }
            Signer::EdDsa(key) => {
                use ed25519_dalek::Signer as _;
                let message = message()?;
                let signature = key.sign(message.as_bytes()).to_vec();
                (message, signature)
            }
            Signer::Rs256(key, random) => {
                let message = message()?;
                let mut signature = vec![0u8; key.public().modulus_len()];
                key.sign(
                    &ring::signature::RSA_PKCS1_SHA256,
                    random,
                    message.as_bytes(),
                    &mut signature,
                )
                .map_err(|_| "RS256 signature failed")?;
                (message, signature)
            }
        };
        Ok(format!("{message}.{}", URL_SAFE_NO_PAD.encode(signature)))
    }

    /// An asymmetric key from a PKCS#8 PEM private key (see
    /// [`normalize_pem`]); its `kid` is the RFC 7638 thumbprint of its
    /// public key.
    ///
    /// # Errors
    /// [`KeyError`].
    pub fn from_pem(
        alg: SigningAlgorithm,
        pem: &str,
        generation: i64,
        created_at: DateTime<Utc>,
        activates_at: DateTime<Utc>,
    ) -> Result<Self, KeyError> {
        crate::jwt_crypto::install();
        let pem = normalize_pem(alg, pem)?;
        let bad = || KeyError::BadPem { alg, extra: "" };
        let encoding = match alg {
            SigningAlgorithm::Es256 => EncodingKey::from_ec_pem(pem.as_bytes()),
            SigningAlgorithm::EdDsa => EncodingKey::from_ed_pem(pem.as_bytes()),
            SigningAlgorithm::Rs256 => EncodingKey::from_rsa_pem(pem.as_bytes()),
            SigningAlgorithm::Hs256 => return Err(KeyError::Symmetric),
        }
        .map_err(|_| bad())?;
        let signer = Signer::of(alg, &pem)?;
        let mut jwk =
            Jwk::from_encoding_key(&encoding, alg.jwt()).map_err(|e| KeyError::Publish(e.to_string()))?;
        let kid = jwk
            .thumbprint(ThumbprintHash::SHA256)
            .map_err(|e| KeyError::Publish(e.to_string()))?;
        jwk.common.key_id = Some(kid.clone());
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        jwk.common.key_algorithm = Some(match alg {
            SigningAlgorithm::Es256 => KeyAlgorithm::ES256,
            SigningAlgorithm::EdDsa => KeyAlgorithm::EdDSA,
            _ => KeyAlgorithm::RS256,
        });
        let decoding = DecodingKey::from_jwk(&jwk).map_err(|e| KeyError::Publish(e.to_string()))?;
        let jwk = serde_json::to_value(&jwk).map_err(|e| KeyError::Publish(e.to_string()))?;
        Ok(Self {
            kid: kid.into(),
            alg,
            encoding,
            signer,
            decoding,
            jwk: Some(jwk),
            generation,
            created_at,
            activates_at,
        })
    }

    /// The legacy HS256 key: `secret` shared with the services that verify.
    /// Its `kid` is derived from a hash of the secret (it names the key, it
    /// reveals nothing usable).
    pub fn hs256(secret: &[u8], created_at: DateTime<Utc>) -> Self {
        crate::jwt_crypto::install();
        let digest = sha2::Sha256::digest([b"auth kid hs256:".as_slice(), secret].concat());
        Self {
            kid: format!("hs256-{}", &hex::encode(digest)[..16]).into(),
            alg: SigningAlgorithm::Hs256,
            encoding: EncodingKey::from_secret(secret),
            signer: Signer::Encode,
            decoding: DecodingKey::from_secret(secret),
            jwk: None,
            generation: 1,
            created_at,
            activates_at: created_at,
        }
    }

    /// The key id (`kid`).
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The algorithm.
    pub fn alg(&self) -> SigningAlgorithm {
        self.alg
    }

    pub(crate) fn kid_arc(&self) -> Arc<str> {
        self.kid.clone()
    }

    #[cfg(test)]
    pub(crate) fn encoding(&self) -> &EncodingKey {
        &self.encoding
    }

    pub(crate) fn decoding(&self) -> &DecodingKey {
        &self.decoding
    }

    /// The published JWK (`None` for HS256).
    pub fn public_jwk(&self) -> Option<&Value> {
        self.jwk.as_ref()
    }
}

/// Where a key is in its life (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    /// Published, not signing yet.
    Pending,
    /// Signing.
    Active,
    /// Superseded; published and verifying until its tokens have expired.
    Retiring,
    /// Neither published nor accepted.
    Retired,
}

impl KeyState {
    /// `pending`, `active`, `retiring`, `retired`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Active => "active",
            Self::Retiring => "retiring",
            Self::Retired => "retired",
        }
    }
}

/// What `keys list` shows of a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    /// The key id.
    pub kid: String,
    /// The algorithm.
    pub alg: SigningAlgorithm,
    /// Its state now.
    pub state: KeyState,
    /// Creation.
    pub created_at: DateTime<Utc>,
    /// Start of signing.
    pub activates_at: DateTime<Utc>,
    /// When a newer key took over, if one has (or is scheduled to).
    pub superseded_at: Option<DateTime<Utc>>,
    /// When it stops being published and accepted.
    pub retires_at: Option<DateTime<Utc>>,
}

/// The keys an instance signs and verifies access tokens with.
#[derive(Debug)]
pub struct KeyRing {
    /// By generation, oldest first.
    keys: Vec<Arc<SigningKey>>,
    by_kid: HashMap<Arc<str>, usize>,
    /// How long a superseded key stays published and accepted.
    retire_after: TimeDelta,
}

impl KeyRing {
    /// A ring of `keys` (any order); superseded keys retire `retire_after`
    /// after a newer key took over.
    pub fn new(mut keys: Vec<SigningKey>, retire_after: TimeDelta) -> Self {
        keys.sort_by_key(|k| k.generation);
        let keys: Vec<Arc<SigningKey>> = keys.into_iter().map(Arc::new).collect();
        let by_kid = keys.iter().enumerate().map(|(i, k)| (k.kid.clone(), i)).collect();
        Self {
            keys,
            by_kid,
            retire_after,
        }
    }

    /// Whether this ring holds the same keys with the same dates as `other`.
    pub fn same_keys(&self, other: &Self) -> bool {
        self.keys.len() == other.keys.len()
            && self.retire_after == other.retire_after
            && self.keys.iter().zip(&other.keys).all(|(a, b)| {
                a.kid == b.kid && a.generation == b.generation && a.activates_at == b.activates_at
            })
    }

    /// The keys, oldest first.
    pub fn keys(&self) -> &[Arc<SigningKey>] {
        &self.keys
    }

    fn superseded_at(&self, i: usize) -> Option<DateTime<Utc>> {
        self.keys[i + 1..].iter().map(|k| k.activates_at).min()
    }

    fn state_of(&self, i: usize, now: DateTime<Utc>) -> KeyState {
        match self.superseded_at(i) {
            Some(s) if now >= s + self.retire_after => KeyState::Retired,
            Some(s) if now >= s => KeyState::Retiring,
            _ if now < self.keys[i].activates_at => KeyState::Pending,
            _ => KeyState::Active,
        }
    }

    /// The key that signs at `now`: the newest whose `activates_at` has
    /// passed (else the oldest: a ring never stops signing).
    pub fn signer(&self, now: DateTime<Utc>) -> Option<&Arc<SigningKey>> {
        self.keys
            .iter()
            .rev()
            .find(|k| k.activates_at <= now)
            .or_else(|| self.keys.first())
    }

    /// The key named `kid` if it may verify a token at `now` (not retired).
    pub fn verifier(&self, kid: &str, now: DateTime<Utc>) -> Option<&Arc<SigningKey>> {
        let &i = self.by_kid.get(kid)?;
        (self.state_of(i, now) != KeyState::Retired).then(|| &self.keys[i])
    }

    /// Until when the key named `kid` may verify tokens: `None` if it is
    /// not in the ring, `Some(None)` while no newer key supersedes it
    /// (no end yet), else `Some(Some(t))`, [`KeyRing::verifier`] refusing it
    /// from `t` on. Fixed for a given ring, so a cached verdict can carry it.
    pub fn verifies_until(&self, kid: &str) -> Option<Option<DateTime<Utc>>> {
        let &i = self.by_kid.get(kid)?;
        Some(self.superseded_at(i).map(|s| s + self.retire_after))
    }

    /// The only key, when the ring has exactly one (legacy HS256 tokens
    /// issued before keys had ids name none).
    pub fn single(&self) -> Option<&Arc<SigningKey>> {
        match self.keys.as_slice() {
            [only] => Some(only),
            _ => None,
        }
    }

    /// The JWK set: every key not retired at `now` that has a public key.
    pub fn jwks(&self, now: DateTime<Utc>) -> Value {
        let keys: Vec<&Value> = (0..self.keys.len())
            .filter(|&i| self.state_of(i, now) != KeyState::Retired)
            .filter_map(|i| self.keys[i].jwk.as_ref())
            .collect();
        json!({ "keys": keys })
    }

    /// Every key with its state and dates, oldest first.
    pub fn describe(&self, now: DateTime<Utc>) -> Vec<KeyInfo> {
        (0..self.keys.len())
            .map(|i| {
                let k = &self.keys[i];
                let superseded_at = self.superseded_at(i);
                KeyInfo {
                    kid: k.kid.to_string(),
                    alg: k.alg,
                    state: self.state_of(i, now),
                    created_at: k.created_at,
                    activates_at: k.activates_at,
                    superseded_at,
                    retires_at: superseded_at.map(|s| s + self.retire_after),
                }
            })
            .collect()
    }
}

mod verify;
pub(crate) use verify::{decode_with, own_key_header};
#[cfg(test)]
mod tests;
