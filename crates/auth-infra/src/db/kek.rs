//! The key-encryption key (KEK) and the sealing of secrets at rest under it:
//! signing keys ([`crate::SigningKeyStore`]), TOTP secrets and passkey
//! credentials ([`crate::DieselFactorStore`]).
//!
//! A sealed value is stored as `xchacha20poly1305:` and base64 of a 24-byte
//! random nonce followed by the ciphertext (XChaCha20-Poly1305 under
//! SHA-256 of the configured secret). The caller passes the row's identity
//! as associated data (a signing key's `kid`, `totp:<user id>`,
//! `passkey:<id>`), so a sealed value copied into another row does not open.

use secrecy::{ExposeSecret, SecretString};

/// The prefix of a sealed value.
pub(crate) const SEALED: &str = "xchacha20poly1305:";

/// Why a value could not be sealed or opened.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SealError {
    /// The cipher refused to encrypt (a message beyond its size limit).
    #[error("encryption failed")]
    Encrypt,
    /// The stored value is not base64 of a nonce and a ciphertext.
    #[error("sealed value is malformed")]
    Malformed,
    /// Authentication failed: another KEK, or a value moved from another row.
    #[error("sealed value does not open with the configured key-encryption key (wrong key?)")]
    WrongKey,
}

/// A key-encryption key.
#[derive(Clone)]
pub struct Kek([u8; 32]);

impl std::fmt::Debug for Kek {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Kek(<redacted>)")
    }
}

impl Kek {
    /// From the configured secret (any length; SHA-256 makes the key).
    pub fn new(secret: &SecretString) -> Self {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(
            [
                b"auth signing-key KEK v1:".as_slice(),
                secret.expose_secret().as_bytes(),
            ]
            .concat(),
        );
        Self(digest.into())
    }

    /// Seals `plain` with `aad` (the row's identity) as associated data:
    /// `xchacha20poly1305:` and base64 of nonce and ciphertext.
    pub(crate) fn seal(&self, aad: &str, plain: &[u8]) -> Result<String, SealError> {
        use base64::Engine;
        use chacha20poly1305::aead::{Aead, KeyInit, Payload};
        use rand::Rng;
        let cipher = chacha20poly1305::XChaCha20Poly1305::new((&self.0).into());
        let mut nonce = [0u8; 24];
        rand::rng().fill_bytes(&mut nonce);
        let sealed = cipher
            .encrypt(
                (&nonce).into(),
                Payload {
                    msg: plain,
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| SealError::Encrypt)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(format!(
            "{SEALED}{}",
            base64::engine::general_purpose::STANDARD.encode(out)
        ))
    }

    /// Opens `sealed` (what follows the `xchacha20poly1305:` prefix), sealed
    /// with `aad` as associated data.
    pub(crate) fn open(&self, aad: &str, sealed: &str) -> Result<Vec<u8>, SealError> {
        use base64::Engine;
        use chacha20poly1305::aead::{Aead, KeyInit, Payload};
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(sealed)
            .map_err(|_| SealError::Malformed)?;
        if bytes.len() < 24 + 16 {
            return Err(SealError::Malformed);
        }
        let (nonce, ct) = bytes.split_at(24);
        let cipher = chacha20poly1305::XChaCha20Poly1305::new((&self.0).into());
        cipher
            .decrypt(
                nonce.into(),
                Payload {
                    msg: ct,
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| SealError::WrongKey)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kek(s: &str) -> Kek {
        Kek::new(&s.to_owned().into())
    }

    #[test]
    fn opens_only_with_its_key_and_associated_data() {
        let k = kek("one");
        let sealed = k.seal("totp:1", b"secret").unwrap();
        let body = sealed.strip_prefix(SEALED).unwrap();
        assert_eq!(k.open("totp:1", body).unwrap(), b"secret");
        assert!(matches!(k.open("totp:2", body), Err(SealError::WrongKey)));
        assert!(matches!(
            kek("two").open("totp:1", body),
            Err(SealError::WrongKey)
        ));
        assert!(matches!(k.open("totp:1", "!!"), Err(SealError::Malformed)));
        assert!(matches!(k.open("totp:1", "AAAA"), Err(SealError::Malformed)));
    }
}
