//! Unit tests of `jwt`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use super::*;
use crate::signing::{KeyRing, SigningAlgorithm, SigningKey};
use auth_domain::sessions::session::SessionId;
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
        sign_in: Default::default(),
    }
}

fn refresh() -> RefreshClaims {
    RefreshClaims {
        sub: Uuid::from_u128(1),
        sid: SessionId::from_uuid(Uuid::from_u128(2)),
        jti: "jti-123".into(),
        iat: T0,
        exp: T0 + 86_400,
        sign_in: Default::default(),
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
            amr: Vec::new(),
            auth_time: None,
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
        amr: Vec::new(),
        auth_time: None,
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
        amr: Vec::new(),
        auth_time: None,
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
        amr: Vec::new(),
        auth_time: None,
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

fn at_jwt_claims(iss: &str) -> serde_json::Value {
    serde_json::json!({
        "iss": iss,
        "aud": "https://api.example.com",
        "sub": Uuid::from_u128(1).to_string(),
        "client_id": "app_123",
        "scope": "openid profile",
        "jti": "at-1",
        "iat": T0,
        "exp": T0 + 900,
    })
}

#[test]
fn typed_tokens_round_trip_with_their_typ_header() {
    let (key, _) = es256_key(1, 0);
    let kid = key.kid().to_owned();
    let c = es_codec(vec![key]);
    let claims = at_jwt_claims("https://auth.example.com");
    let token = c.sign_typed("at+jwt", &claims).unwrap();
    let header = jsonwebtoken::decode_header(&token).unwrap();
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    assert_eq!(header.kid.as_deref(), Some(kid.as_str()));
    assert_eq!(header.alg, Algorithm::ES256);
    assert_eq!(c.verify_typed(&token, "at+jwt", at(T0 + 1)), Ok(claims.clone()));
    // RFC 9068 §4: `application/at+jwt` names the same type, any case.
    assert_eq!(
        c.verify_typed(&token, "application/at+jwt", at(T0 + 1)),
        Ok(claims.clone())
    );
    assert_eq!(c.verify_typed(&token, "AT+JWT", at(T0 + 1)), Ok(claims.clone()));
    // Another type, expiry, another issuer.
    assert_eq!(
        c.verify_typed(&token, "logout+jwt", at(T0 + 1)),
        Err(TokenError::Invalid)
    );
    assert_eq!(
        c.verify_typed(&token, "at+jwt", at(T0 + 900)),
        Err(TokenError::Expired)
    );
    let other = c
        .sign_typed("at+jwt", &at_jwt_claims("https://evil.example"))
        .unwrap();
    assert_eq!(
        c.verify_typed(&other, "at+jwt", at(T0 + 1)),
        Err(TokenError::Invalid)
    );
}

#[test]
fn application_prefixed_typ_headers_verify() {
    let (key, pem) = es256_key(1, 0);
    let kid = key.kid().to_owned();
    let c = es_codec(vec![key]);
    let enc = EncodingKey::from_ec_pem(pem.as_bytes()).unwrap();
    let mut h = Header::new(Algorithm::ES256);
    h.kid = Some(kid);
    h.typ = Some("application/AT+JWT".into());
    let claims = at_jwt_claims("https://auth.example.com");
    let token = jsonwebtoken::encode(&h, &claims, &enc).unwrap();
    assert_eq!(c.verify_typed(&token, "at+jwt", at(T0 + 1)), Ok(claims));
}

#[test]
fn typed_access_and_refresh_tokens_are_not_interchangeable() {
    let (key, _) = es256_key(1, 0);
    let c = es_codec(vec![key]);
    let typed = c
        .sign_typed("at+jwt", &at_jwt_claims("https://auth.example.com"))
        .unwrap();
    let contract = c.sign_access(&access()).unwrap();
    let refresh_token = c.sign_refresh(&refresh()).unwrap();
    // An at+jwt token carries no `typ: "access"` claim: never a contract
    // access token, even for a reissue, nor a refresh token.
    assert_eq!(
        c.verify_access(&typed, at(T0 + 1), false),
        Err(TokenError::Invalid)
    );
    assert_eq!(
        c.verify_access(&typed, at(T0 + 1), true),
        Err(TokenError::Invalid)
    );
    assert_eq!(c.verify_refresh(&typed, at(T0 + 1)), Err(TokenError::Invalid));
    // The contract's tokens (header `JWT`; refresh: no kid) are not typed.
    assert_eq!(
        c.verify_typed(&contract, "at+jwt", at(T0 + 1)),
        Err(TokenError::Invalid)
    );
    assert_eq!(
        c.verify_typed(&refresh_token, "at+jwt", at(T0 + 1)),
        Err(TokenError::Invalid)
    );
    assert_eq!(
        c.verify_typed(&contract, "JWT", at(T0 + 1)),
        Err(TokenError::Invalid)
    );
    // Nor can a typed token be made to look like one.
    assert!(c.sign_typed("JWT", &at_jwt_claims("x")).is_err());
    assert!(c.sign_typed("application/jwt", &at_jwt_claims("x")).is_err());
    assert!(c.sign_typed("", &at_jwt_claims("x")).is_err());
    for kind in ["access", "refresh"] {
        let mut claims = at_jwt_claims("https://auth.example.com");
        claims["typ"] = kind.into();
        claims["sid"] = Uuid::from_u128(2).to_string().into();
        assert!(c.sign_typed("at+jwt", &claims).is_err(), "{kind}");
    }
}

#[test]
fn typed_tokens_refuse_forged_headers_and_foreign_keys() {
    let (key, pem) = es256_key(1, 0);
    let kid = key.kid().to_owned();
    let jwk = key.public_jwk().unwrap().clone();
    let c = es_codec(vec![key]);
    let enc = EncodingKey::from_ec_pem(pem.as_bytes()).unwrap();
    let claims = at_jwt_claims("https://auth.example.com");
    let header = |alg: Algorithm, kid: Option<&str>| {
        let mut h = Header::new(alg);
        h.kid = kid.map(str::to_owned);
        h.typ = Some("at+jwt".into());
        h
    };
    let genuine = jsonwebtoken::encode(&header(Algorithm::ES256, Some(&kid)), &claims, &enc).unwrap();
    assert!(c.verify_typed(&genuine, "at+jwt", at(T0)).is_ok());
    let mut with_jwk = header(Algorithm::ES256, Some(&kid));
    with_jwk.jwk = Some(serde_json::from_value(jwk.clone()).unwrap());
    let mut with_jku = header(Algorithm::ES256, Some(&kid));
    with_jku.jku = Some("https://evil.example/jwks".into());
    let (stranger, stranger_pem) = es256_key(1, 0);
    let forged = [
        jsonwebtoken::encode(&with_jwk, &claims, &enc).unwrap(),
        jsonwebtoken::encode(&with_jku, &claims, &enc).unwrap(),
        jsonwebtoken::encode(&header(Algorithm::ES256, None), &claims, &enc).unwrap(),
        jsonwebtoken::encode(
            &header(Algorithm::ES256, Some(stranger.kid())),
            &claims,
            &EncodingKey::from_ec_pem(stranger_pem.as_bytes()).unwrap(),
        )
        .unwrap(),
        jsonwebtoken::encode(
            &header(Algorithm::HS256, Some(&kid)),
            &claims,
            &EncodingKey::from_secret(jwk.to_string().as_bytes()),
        )
        .unwrap(),
    ];
    for token in forged {
        assert_eq!(
            c.verify_typed(&token, "at+jwt", at(T0)),
            Err(TokenError::Invalid),
            "{token}"
        );
    }
}

#[test]
fn typed_tokens_in_the_legacy_hs256_mode() {
    let c = codec();
    let claims = at_jwt_claims("");
    let token = c.sign_typed("at+jwt", &claims).unwrap();
    assert_eq!(jsonwebtoken::decode_header(&token).unwrap().alg, Algorithm::HS256);
    assert_eq!(c.verify_typed(&token, "at+jwt", at(T0 + 1)), Ok(claims));
    assert_eq!(
        c.verify_access(&token, at(T0 + 1), true),
        Err(TokenError::Invalid)
    );
    assert_eq!(c.verify_refresh(&token, at(T0 + 1)), Err(TokenError::Invalid));
    let r = c.sign_refresh(&refresh()).unwrap();
    assert_eq!(c.verify_typed(&r, "at+jwt", at(T0 + 1)), Err(TokenError::Invalid));
}
