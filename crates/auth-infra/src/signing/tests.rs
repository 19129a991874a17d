//! Unit tests of `signing`.

use super::*;

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000 + secs, 0).unwrap()
}

fn key(generation: i64, activates: i64) -> SigningKey {
    let pem = generate_pem(SigningAlgorithm::Es256).unwrap();
    SigningKey::from_pem(SigningAlgorithm::Es256, &pem, generation, at(0), at(activates)).unwrap()
}

/// The cached signer makes the token `jsonwebtoken::encode` makes (the
/// same header and claims; the same bytes where the signature is
/// deterministic: Ed25519, RSA, HMAC), and it verifies with the
/// published key.
#[test]
fn the_cached_signer_signs_as_jsonwebtoken_does() {
    for alg in [
        SigningAlgorithm::Es256,
        SigningAlgorithm::EdDsa,
        SigningAlgorithm::Rs256,
    ] {
        let pem = generate_pem(alg).unwrap();
        let key = SigningKey::from_pem(alg, &pem, 1, at(0), at(0)).unwrap();
        let mut header = jsonwebtoken::Header::new(alg.jwt());
        header.kid = Some(key.kid().to_owned());
        let claims = json!({"sub": "someone", "exp": 4_000_000_000_i64, "typ": "access"});
        let ours = key.sign(&header, &claims).unwrap();
        let theirs = jsonwebtoken::encode(&header, &claims, key.encoding()).unwrap();
        if alg == SigningAlgorithm::Es256 {
            // Random nonces: the signed part is the same.
            let signed = |t: &str| t.rsplit_once('.').unwrap().0.to_owned();
            assert_eq!(signed(&ours), signed(&theirs));
            assert_eq!(ours.rsplit_once('.').unwrap().1.len(), 86, "r || s, 64 bytes");
        } else {
            assert_eq!(ours, theirs, "{alg:?}");
        }
        let mut validation = jsonwebtoken::Validation::new(alg.jwt());
        validation.validate_aud = false;
        let decoded = jsonwebtoken::decode::<Value>(&ours, key.decoding(), &validation).unwrap();
        assert_eq!(decoded.claims, claims, "{alg:?}");
    }
    let hs = SigningKey::hs256(b"0123456789abcdef0123456789abcdef", at(0));
    let header = jsonwebtoken::Header::new(Algorithm::HS256);
    let claims = json!({"sub": "someone", "exp": 4_000_000_000_i64});
    assert_eq!(
        hs.sign(&header, &claims).unwrap(),
        jsonwebtoken::encode(&header, &claims, hs.encoding()).unwrap()
    );
}

#[test]
fn every_asymmetric_algorithm_generates_a_publishable_key() {
    for alg in [
        SigningAlgorithm::Es256,
        SigningAlgorithm::EdDsa,
        SigningAlgorithm::Rs256,
    ] {
        let pem = generate_pem(alg).unwrap();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"), "{alg}");
        let k = SigningKey::from_pem(alg, &pem, 1, at(0), at(0)).unwrap();
        let jwk = k.public_jwk().unwrap();
        assert_eq!(jwk["alg"], alg.as_str());
        assert_eq!(jwk["use"], "sig");
        assert_eq!(jwk["kid"], k.kid());
        assert!(jwk.get("d").is_none(), "no private part: {jwk}");
        // The same PEM gives the same kid (thumbprint).
        assert_eq!(
            SigningKey::from_pem(alg, &pem, 1, at(0), at(0)).unwrap().kid(),
            k.kid()
        );
        // A key of another algorithm is refused.
        let other = if alg == SigningAlgorithm::Es256 {
            SigningAlgorithm::EdDsa
        } else {
            SigningAlgorithm::Es256
        };
        assert!(SigningKey::from_pem(other, &pem, 1, at(0), at(0)).is_err());
    }
    assert!(SigningKey::from_pem(SigningAlgorithm::Es256, "junk", 1, at(0), at(0)).is_err());
}

#[test]
fn a_rotation_walks_pending_active_retiring_retired() {
    let ring = KeyRing::new(vec![key(2, 100), key(1, 0)], TimeDelta::seconds(60));
    let (old, new) = (ring.keys()[0].clone(), ring.keys()[1].clone());
    let states = |t| ring.describe(at(t)).iter().map(|k| k.state).collect::<Vec<_>>();
    assert_eq!(states(50), [KeyState::Active, KeyState::Pending]);
    assert_eq!(ring.signer(at(50)).unwrap().kid(), old.kid());
    assert_eq!(ring.jwks(at(50))["keys"].as_array().unwrap().len(), 2);
    assert_eq!(states(100), [KeyState::Retiring, KeyState::Active]);
    assert_eq!(ring.signer(at(100)).unwrap().kid(), new.kid());
    assert!(ring.verifier(old.kid(), at(159)).is_some());
    assert_eq!(states(160), [KeyState::Retired, KeyState::Active]);
    assert!(ring.verifier(old.kid(), at(160)).is_none());
    assert_eq!(ring.jwks(at(160))["keys"].as_array().unwrap().len(), 1);
    assert!(ring.verifier("../../etc/passwd", at(0)).is_none());
}

#[test]
fn the_newest_activated_key_signs() {
    // Rotated with pre-publication (gen 2, later), then at once (gen 3).
    let ring = KeyRing::new(vec![key(1, 0), key(2, 1000), key(3, 10)], TimeDelta::seconds(60));
    let gen3 = ring.keys()[2].kid().to_owned();
    assert_eq!(ring.signer(at(20)).unwrap().kid(), gen3);
    assert_eq!(ring.signer(at(2000)).unwrap().kid(), gen3);
}
