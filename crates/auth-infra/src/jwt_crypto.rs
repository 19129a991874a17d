//! The cryptography jsonwebtoken runs with in this process: its RustCrypto
//! provider, except that ES256 signatures are verified by `ring`.
//!
//! Verifying an ES256 signature with the RustCrypto `p256` crate costs about
//! 3.2 million instructions (two generic scalar multiplications); `ring`
//! does the same check with precomputed tables and assembly in a fraction
//! of that (docs/performance.md, "The write path"). Every reissue verifies
//! the access token it is given, and so does every token-only request that
//! misses the verified-token cache. Everything else (the header, the
//! algorithm pinning, the claims) is still jsonwebtoken's.
//!
//! The provider is process-wide and can be installed only before
//! jsonwebtoken first needs one: [`install`] is called by every constructor
//! of a key or codec in this crate. If something else in the process used
//! jsonwebtoken first, the RustCrypto provider stays in place: slower, the
//! same answers.

use std::sync::LazyLock;

use jsonwebtoken::crypto::{CryptoProvider, JwtVerifier, rust_crypto};
use jsonwebtoken::errors::{ErrorKind, Result};
use jsonwebtoken::signature::{Error as SignatureError, Verifier};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey};

static PROVIDER: LazyLock<CryptoProvider> = LazyLock::new(|| CryptoProvider {
    signer_factory: rust_crypto::DEFAULT_PROVIDER.signer_factory,
    verifier_factory: verifier,
    key_utils: rust_crypto::DEFAULT_PROVIDER.key_utils.clone(),
});

/// Makes this module's provider jsonwebtoken's default for the process
/// (once; later calls, and calls after jsonwebtoken picked its own, change
/// nothing).
pub(crate) fn install() {
    let _ = LazyLock::force(&PROVIDER).install_default();
}

fn verifier(alg: &Algorithm, key: &DecodingKey) -> Result<Box<dyn JwtVerifier>> {
    if *alg != Algorithm::ES256 {
        return (rust_crypto::DEFAULT_PROVIDER.verifier_factory)(alg, key);
    }
    // As the RustCrypto verifier: an ES256 token needs an EC key.
    if key.family() != AlgorithmFamily::Ec {
        return Err(ErrorKind::InvalidKeyFormat.into());
    }
    Ok(Box::new(RingEs256(key.try_get_as_bytes()?.to_vec())))
}

/// An ES256 verifier over a SEC1 public point (`04 ‖ x ‖ y`).
struct RingEs256(Vec<u8>);

impl Verifier<Vec<u8>> for RingEs256 {
    fn verify(&self, message: &[u8], signature: &Vec<u8>) -> std::result::Result<(), SignatureError> {
        ring::signature::UnparsedPublicKey::new(&ring::signature::ECDSA_P256_SHA256_FIXED, &self.0)
            .verify(message, signature)
            .map_err(|_| SignatureError::new())
    }
}

impl JwtVerifier for RingEs256 {
    fn algorithm(&self) -> Algorithm {
        Algorithm::ES256
    }
}

#[cfg(test)]
mod tests {
    use jsonwebtoken::{DecodingKey, EncodingKey, Header, Validation};
    use serde_json::{Value, json};

    use crate::signing::{SigningAlgorithm, SigningKey, generate_pem};

    /// ES256 tokens verify through `ring` exactly when they verify through
    /// RustCrypto: a good one, one whose payload was changed, one signed
    /// by another key.
    #[test]
    fn ring_verifies_es256_as_rust_crypto_does() {
        super::install();
        let now = chrono::Utc::now();
        let pem = generate_pem(SigningAlgorithm::Es256).unwrap();
        let key = SigningKey::from_pem(SigningAlgorithm::Es256, &pem, 1, now, now).unwrap();
        let other_pem = generate_pem(SigningAlgorithm::Es256).unwrap();
        let other = SigningKey::from_pem(SigningAlgorithm::Es256, &other_pem, 1, now, now).unwrap();
        let claims = json!({"sub": "someone", "exp": 4_000_000_000_i64});
        let header = Header::new(jsonwebtoken::Algorithm::ES256);
        let good = jsonwebtoken::encode(
            &header,
            &claims,
            &EncodingKey::from_ec_pem(pem.as_bytes()).unwrap(),
        )
        .unwrap();
        let (signed, signature) = good.rsplit_once('.').unwrap();
        let (head, _) = signed.split_once('.').unwrap();
        let forged_payload = {
            use base64::Engine as _;
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"sub":"admin","exp":4000000000}"#)
        };
        let tampered = format!("{head}.{forged_payload}.{signature}");
        let by_other = other.sign(&header, &claims).unwrap();
        let validation = Validation::new(jsonwebtoken::Algorithm::ES256);
        let verdict = |token: &str| jsonwebtoken::decode::<Value>(token, key.decoding(), &validation).is_ok();
        let rust_crypto = |token: &str| {
            let (message, signature) = token.rsplit_once('.').unwrap();
            let signature = {
                use base64::Engine as _;
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(signature)
                    .unwrap()
            };
            let verifier = (jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.verifier_factory)(
                &jsonwebtoken::Algorithm::ES256,
                key.decoding(),
            )
            .unwrap();
            jsonwebtoken::signature::Verifier::verify(&*verifier, message.as_bytes(), &signature).is_ok()
        };
        // This module's verifier itself, whichever provider the process
        // ended up with.
        let ring = |token: &str| {
            let (message, signature) = token.rsplit_once('.').unwrap();
            let signature = {
                use base64::Engine as _;
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(signature)
                    .unwrap()
            };
            let verifier = super::verifier(&jsonwebtoken::Algorithm::ES256, key.decoding()).unwrap();
            verifier.verify(message.as_bytes(), &signature).is_ok()
        };
        for (token, expected) in [(&good, true), (&tampered, false), (&by_other, false)] {
            assert_eq!(verdict(token), expected, "{token}");
            assert_eq!(rust_crypto(token), expected, "{token}");
            assert_eq!(ring(token), expected, "{token}");
        }
        // An ES256 token against a symmetric key: refused before any math.
        let hmac = DecodingKey::from_secret(b"0123456789abcdef0123456789abcdef");
        assert!(super::verifier(&jsonwebtoken::Algorithm::ES256, &hmac).is_err());
        // Our own signer's tokens verify too.
        assert!(verdict(&key.sign(&header, &claims).unwrap()));
    }
}
