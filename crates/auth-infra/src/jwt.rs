//! [`TokenCodec`] with HS256 JWTs.
//!
//! Claims: `{"sub", "sid", "iat", "exp", "typ": "access"|"refresh", "jti"}`
//! (`jti` on refresh tokens only). Only HS256 is accepted; expiry is checked
//! against the `now` passed in (the [`auth_domain::ports::Clock`]), not the
//! system clock.

use auth_domain::PortError;
use auth_domain::ports::TokenCodec;
use auth_domain::session::SessionId;
use auth_domain::token::{AccessClaims, RefreshClaims, TokenError};
use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Signs and verifies HS256 tokens with one shared secret.
#[derive(Clone)]
pub struct JwtCodec {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl std::fmt::Debug for JwtCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtCodec")
            .field("algorithm", &"HS256")
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Kind {
    Access,
    Refresh,
}

#[derive(Debug, Serialize, Deserialize)]
struct Wire {
    sub: Uuid,
    sid: Uuid,
    iat: i64,
    exp: i64,
    typ: Kind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    jti: Option<String>,
}

impl JwtCodec {
    /// A codec signing with HMAC-SHA256 under `secret` (use at least 32
    /// random bytes).
    pub fn hs256(secret: &[u8]) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        // Expiry is checked against the injected clock below.
        validation.validate_exp = false;
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub"]);
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
        }
    }

    fn sign(&self, claims: &Wire) -> Result<String, PortError> {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .map_err(|e| PortError::new("sign token", e))
    }

    /// Checks signature, algorithm and kind; returns the claims, expired or not.
    fn decode(&self, token: &str, kind: Kind) -> Result<Wire, TokenError> {
        let data = jsonwebtoken::decode::<Wire>(token, &self.decoding, &self.validation)
            .map_err(|_| TokenError::Invalid)?;
        if data.header.alg != Algorithm::HS256 || data.claims.typ != kind {
            return Err(TokenError::Invalid);
        }
        Ok(data.claims)
    }
}

fn expired(exp: i64, now: DateTime<Utc>) -> bool {
    exp <= now.timestamp()
}

impl TokenCodec for JwtCodec {
    fn sign_access(&self, claims: &AccessClaims) -> Result<String, PortError> {
        self.sign(&Wire {
            sub: claims.sub,
            sid: claims.sid.as_uuid(),
            iat: claims.iat,
            exp: claims.exp,
            typ: Kind::Access,
            jti: None,
        })
    }

    fn sign_refresh(&self, claims: &RefreshClaims) -> Result<String, PortError> {
        self.sign(&Wire {
            sub: claims.sub,
            sid: claims.sid.as_uuid(),
            iat: claims.iat,
            exp: claims.exp,
            typ: Kind::Refresh,
            jti: Some(claims.jti.clone()),
        })
    }

    fn verify_access(
        &self,
        token: &str,
        now: DateTime<Utc>,
        allow_expired: bool,
    ) -> Result<AccessClaims, TokenError> {
        let w = self.decode(token, Kind::Access)?;
        if w.jti.is_some() {
            return Err(TokenError::Invalid);
        }
        if !allow_expired && expired(w.exp, now) {
            return Err(TokenError::Expired);
        }
        Ok(AccessClaims {
            sub: w.sub,
            sid: SessionId::from_uuid(w.sid),
            iat: w.iat,
            exp: w.exp,
        })
    }

    fn verify_refresh(&self, token: &str, now: DateTime<Utc>) -> Result<RefreshClaims, TokenError> {
        let w = self.decode(token, Kind::Refresh)?;
        let jti = match w.jti {
            Some(jti) if !jti.is_empty() => jti,
            _ => return Err(TokenError::Invalid),
        };
        if expired(w.exp, now) {
            return Err(TokenError::Expired);
        }
        Ok(RefreshClaims {
            sub: w.sub,
            sid: SessionId::from_uuid(w.sid),
            jti,
            iat: w.iat,
            exp: w.exp,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

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
}
