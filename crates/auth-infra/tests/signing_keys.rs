//! The signing-key store on both databases: racing first starts make one
//! key, rotations add keys in order, private keys are sealed under a KEK,
//! each purpose is its own ring; the ID-token keys ([`IdTokenKeys`]) and
//! the migration that gave keys a purpose.

// Helpers outside #[test] functions are not "in tests" for clippy.toml's
// allow-*-in-tests, so an integration-test file still allows them itself.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use auth_domain::ports::TokenCodec;
use auth_domain::sessions::session::SessionId;
use auth_domain::sessions::token::{AccessClaims, TokenError};
use auth_infra::testdb::{TestBackend, TestDatabase};
use auth_infra::{
    Database, ID_TOKEN_ALGORITHMS, IdTokenKeys, JwtCodec, Kek, KeyStoreError, SigningAlgorithm,
    SigningKeyStore, id_token_purpose,
};
use chrono::{TimeDelta, Utc};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

async fn open(t: &TestDatabase) -> Database {
    let db = Database::connect(t.url(), 8).await.unwrap();
    db.migrate().await.unwrap();
    db
}

fn kek(secret: &str) -> Kek {
    Kek::new(&secret.to_owned().into())
}

/// The `private_key` column of every row, straight from the database.
async fn stored(db: &Database) -> Vec<String> {
    db.raw_strings("SELECT private_key AS value FROM signing_keys ORDER BY generation")
        .await
        .unwrap()
}

async fn racing_first_starts_make_one_key(backend: TestBackend) {
    let t = TestDatabase::new(backend);
    let db = open(&t).await;
    let tasks: Vec<_> = (0..6)
        .map(|_| {
            let store = SigningKeyStore::new(db.clone(), None);
            tokio::spawn(async move {
                store
                    .ensure(SigningAlgorithm::Es256, Utc::now(), TimeDelta::hours(1))
                    .await
            })
        })
        .collect();
    let mut created = 0;
    for task in tasks {
        created += usize::from(task.await.unwrap().unwrap().is_some());
    }
    assert_eq!(created, 1);
    let keys = SigningKeyStore::new(db, None).load().await.unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].generation, 1);
}

async fn rotations_add_keys_and_algorithm_changes_rotate(backend: TestBackend) {
    let t = TestDatabase::new(backend);
    let db = open(&t).await;
    let store = SigningKeyStore::new(db.clone(), None);
    let now = Utc::now();
    store
        .ensure(SigningAlgorithm::Es256, now, TimeDelta::hours(1))
        .await
        .unwrap();
    // Same algorithm: nothing to do.
    assert!(
        store
            .ensure(SigningAlgorithm::Es256, now, TimeDelta::hours(1))
            .await
            .unwrap()
            .is_none()
    );
    let rotated = store
        .rotate(SigningAlgorithm::Es256, now, now + TimeDelta::hours(1))
        .await
        .unwrap();
    // The setting changed to EdDSA: a pre-published EdDSA key is added.
    let changed = store
        .ensure(SigningAlgorithm::EdDsa, now, TimeDelta::hours(1))
        .await
        .unwrap()
        .unwrap();
    let keys = store.load().await.unwrap();
    let gens: Vec<i64> = keys.iter().map(|k| k.generation).collect();
    assert_eq!(gens, [1, 2, 3]);
    assert_eq!(keys[1].kid(), rotated.kid);
    assert_eq!(keys[2].kid(), changed.kid);
    assert_eq!(keys[2].alg(), SigningAlgorithm::EdDsa);
    let ring = store.ring(TimeDelta::minutes(31)).await.unwrap();
    assert_eq!(
        ring.signer(now).unwrap().generation,
        1,
        "pre-published keys do not sign yet"
    );
    assert_eq!(ring.jwks(now)["keys"].as_array().unwrap().len(), 3);
    // Racing rotations each add one key.
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.rotate(SigningAlgorithm::Es256, now, now).await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(store.load().await.unwrap().len(), 7);
}

async fn private_keys_are_sealed_under_the_kek(backend: TestBackend) {
    let t = TestDatabase::new(backend);
    let db = open(&t).await;
    let now = Utc::now();
    // Stored in clear without a KEK …
    let plain = SigningKeyStore::new(db.clone(), None);
    plain
        .ensure(SigningAlgorithm::Es256, now, TimeDelta::hours(1))
        .await
        .unwrap();
    let rows = stored(&db).await;
    assert!(
        rows[0].starts_with("pem:-----BEGIN PRIVATE KEY-----"),
        "{}",
        &rows[0][..20]
    );
    // … sealed in place when a KEK is configured, and new keys sealed.
    let sealed = SigningKeyStore::new(db.clone(), Some(kek("the key-encryption key, 32+ bytes!!")));
    let kid = sealed.load().await.unwrap()[0].kid().to_owned();
    sealed.rotate(SigningAlgorithm::Es256, now, now).await.unwrap();
    for row in stored(&db).await {
        assert!(row.starts_with("xchacha20poly1305:"), "{}", &row[..20]);
        assert!(!row.contains("PRIVATE KEY"));
    }
    assert_eq!(sealed.load().await.unwrap()[0].kid(), kid, "the same key, opened");
    // Without the KEK, or with another one: a clear error naming the setting.
    let err = plain.load().await.unwrap_err();
    assert!(matches!(err, KeyStoreError::NeedsKek { .. }), "{err}");
    assert!(err.to_string().contains("AUTH_KEY_ENCRYPTION_KEY"));
    let wrong = SigningKeyStore::new(db, Some(kek("another key-encryption key, 32 bytes")));
    let err = wrong.load().await.unwrap_err();
    assert!(matches!(err, KeyStoreError::WrongKek { .. }), "{err}");
}

const ISSUER: &str = "https://auth.example.com";

async fn id_keys(db: &Database) -> IdTokenKeys {
    IdTokenKeys::load(
        db.clone(),
        None,
        ISSUER.to_owned(),
        TimeDelta::minutes(16),
        TimeDelta::hours(1),
    )
    .await
    .unwrap()
}

fn id_claims(iss: &str, iat: i64, exp: i64) -> Value {
    json!({"iss": iss, "sub": "user-1", "aud": "app_123", "nonce": "n-1", "iat": iat, "exp": exp})
}

/// The stored PEM of the (only) key of `purpose`, for forging tokens
/// signed by the genuine key.
async fn stored_pem(db: &Database, purpose: &str) -> String {
    let rows = db
        .raw_strings(&format!(
            "SELECT private_key AS value FROM signing_keys WHERE purpose = '{purpose}' ORDER BY generation"
        ))
        .await
        .unwrap();
    rows[0].strip_prefix("pem:").unwrap().to_owned()
}

async fn purposes(db: &Database) -> Vec<String> {
    db.raw_strings("SELECT purpose AS value FROM signing_keys ORDER BY purpose, generation")
        .await
        .unwrap()
}

async fn purposes_are_separate_rings(backend: TestBackend) {
    let t = TestDatabase::new(backend);
    let db = open(&t).await;
    let now = Utc::now();
    let access = SigningKeyStore::new(db.clone(), None);
    let id = SigningKeyStore::with_purpose(db.clone(), None, "id:ES256");
    assert_eq!(access.purpose(), "access");
    assert_eq!(id.purpose(), "id:ES256");
    // Each ring starts at generation 1: the generation is unique per purpose.
    let a = access
        .ensure(SigningAlgorithm::Es256, now, TimeDelta::hours(1))
        .await
        .unwrap()
        .unwrap();
    let i = id
        .ensure(SigningAlgorithm::Es256, now, TimeDelta::hours(1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((a.purpose.as_str(), i.purpose.as_str()), ("access", "id:ES256"));
    let r = id.rotate(SigningAlgorithm::Es256, now, now).await.unwrap();
    let access_keys = access.load().await.unwrap();
    let id_keys = id.load().await.unwrap();
    assert_eq!(access_keys.len(), 1);
    assert_eq!(access_keys[0].kid(), a.kid);
    let gens: Vec<i64> = id_keys.iter().map(|k| k.generation).collect();
    assert_eq!(gens, [1, 2]);
    assert_eq!(id_keys[1].kid(), r.kid);
    // Sealing under a KEK touches only the store's own purpose.
    let sealed = SigningKeyStore::with_purpose(
        db.clone(),
        Some(kek("the key-encryption key, 32+ bytes!!")),
        "id:ES256",
    );
    sealed.load().await.unwrap();
    let rows = stored(&db).await;
    assert_eq!(
        rows.iter()
            .filter(|r| r.starts_with("xchacha20poly1305:"))
            .count(),
        2
    );
    assert_eq!(rows.iter().filter(|r| r.starts_with("pem:")).count(), 1);
    assert_eq!(access.load().await.unwrap()[0].kid(), a.kid);
}

async fn racing_id_key_loads_agree_on_one_key_per_algorithm(backend: TestBackend) {
    let t = TestDatabase::new(backend);
    let db = open(&t).await;
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let db = db.clone();
            tokio::spawn(async move { id_keys(&db).await })
        })
        .collect();
    let mut seen = Vec::new();
    for task in tasks {
        let keys = task.await.unwrap();
        let kids: Vec<(&str, String)> = keys
            .describe(Utc::now())
            .into_iter()
            .map(|(purpose, info)| (purpose, info.kid))
            .collect();
        seen.push(kids);
    }
    assert_eq!(seen[0].len(), 3, "{:?}", seen[0]);
    assert!(seen.iter().all(|s| *s == seen[0]), "{seen:?}");
    let names: Vec<&str> = seen[0].iter().map(|(p, _)| *p).collect();
    assert_eq!(names, ["id:RS256", "id:ES256", "id:EdDSA"]);
    assert_eq!(purposes(&db).await, ["id:ES256", "id:EdDSA", "id:RS256"]);
    // No access key was made, and an access key still starts at 1.
    let access = SigningKeyStore::new(db.clone(), None);
    assert!(access.load().await.unwrap().is_empty());
    let first = access
        .ensure(SigningAlgorithm::Es256, Utc::now(), TimeDelta::hours(1))
        .await
        .unwrap();
    assert!(first.is_some());
    // A later start finds the keys and adds none.
    let again = id_keys(&db).await;
    let kids: Vec<(&str, String)> = again
        .describe(Utc::now())
        .into_iter()
        .map(|(p, i)| (p, i.kid))
        .collect();
    assert_eq!(kids, seen[0]);
}

async fn id_tokens_round_trip_and_strangers_are_refused(backend: TestBackend) {
    let t = TestDatabase::new(backend);
    let db = open(&t).await;
    let keys = id_keys(&db).await;
    // Another instance over the same database verifies what this one signs.
    let other = id_keys(&db).await;
    let now = Utc::now();
    let iat = now.timestamp();
    for alg in ID_TOKEN_ALGORITHMS {
        let token = keys.sign(alg, &id_claims(ISSUER, iat, iat + 300)).unwrap();
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!(header.alg, alg.as_str().parse::<Algorithm>().unwrap(), "{alg}");
        assert_eq!(header.typ.as_deref(), Some("JWT"));
        let ring = keys.ring(alg).unwrap();
        assert_eq!(header.kid.as_deref(), Some(ring.signer(now).unwrap().kid()));
        let claims = other.verify(&token, now, false).unwrap();
        assert_eq!(claims, id_claims(ISSUER, iat, iat + 300), "{alg}");
        // Expired: refused unless allowed (an `id_token_hint`).
        let old = keys.sign(alg, &id_claims(ISSUER, iat - 600, iat - 300)).unwrap();
        assert_eq!(keys.verify(&old, now, false), Err(TokenError::Expired), "{alg}");
        assert!(keys.verify(&old, now, true).is_ok(), "{alg}");
        // Another issuer.
        let foreign = keys
            .sign(alg, &id_claims("https://evil.example", iat, iat + 300))
            .unwrap();
        assert_eq!(
            keys.verify(&foreign, now, true),
            Err(TokenError::Invalid),
            "{alg}"
        );
    }
    assert!(
        keys.sign(SigningAlgorithm::Hs256, &id_claims(ISSUER, iat, iat + 300))
            .is_err()
    );
    assert!(keys.ring(SigningAlgorithm::Hs256).is_none());

    // Forged headers on tokens signed by the genuine ES256 key.
    let pem = stored_pem(&db, "id:ES256").await;
    let enc = EncodingKey::from_ec_pem(pem.as_bytes()).unwrap();
    let es = keys.ring(SigningAlgorithm::Es256).unwrap();
    let kid = es.signer(now).unwrap().kid().to_owned();
    let jwk = es.signer(now).unwrap().public_jwk().unwrap().clone();
    let claims = id_claims(ISSUER, iat, iat + 300);
    let header = |kid: &str| {
        let mut h = Header::new(Algorithm::ES256);
        h.kid = Some(kid.to_owned());
        h
    };
    let genuine = jsonwebtoken::encode(&header(&kid), &claims, &enc).unwrap();
    assert!(keys.verify(&genuine, now, false).is_ok());
    let mut with_jwk = header(&kid);
    with_jwk.jwk = Some(serde_json::from_value(jwk.clone()).unwrap());
    let mut with_x5u = header(&kid);
    with_x5u.x5u = Some("https://evil.example/cert".into());
    let mut at_jwt = header(&kid);
    at_jwt.typ = Some("at+jwt".into());
    let forged = [
        jsonwebtoken::encode(&with_jwk, &claims, &enc).unwrap(),
        jsonwebtoken::encode(&with_x5u, &claims, &enc).unwrap(),
        jsonwebtoken::encode(&at_jwt, &claims, &enc).unwrap(),
        jsonwebtoken::encode(&header("no-such-kid"), &claims, &enc).unwrap(),
        jsonwebtoken::encode(&Header::new(Algorithm::ES256), &claims, &enc).unwrap(),
        jsonwebtoken::encode(
            &{
                let mut h = header(&kid);
                h.alg = Algorithm::HS256;
                h
            },
            &claims,
            &EncodingKey::from_secret(jwk.to_string().as_bytes()),
        )
        .unwrap(),
    ];
    for token in forged {
        assert_eq!(
            keys.verify(&token, now, true),
            Err(TokenError::Invalid),
            "{token}"
        );
    }

    // The contract's access tokens (keys of the access ring) are not ID
    // tokens, even with the ID token's claims.
    let access_store = SigningKeyStore::new(db.clone(), None);
    access_store
        .ensure(SigningAlgorithm::Es256, now, TimeDelta::hours(1))
        .await
        .unwrap();
    let codec = JwtCodec::new(
        access_store.ring(TimeDelta::minutes(16)).await.unwrap(),
        b"refresh secret refresh secret 32",
        ISSUER,
        ISSUER,
    );
    let access = codec
        .sign_access(&AccessClaims {
            sub: uuid::Uuid::from_u128(1),
            sid: SessionId::from_uuid(uuid::Uuid::from_u128(2)),
            iat,
            exp: iat + 300,
            sign_in: Default::default(),
        })
        .unwrap();
    assert_eq!(keys.verify(&access, now, true), Err(TokenError::Invalid));
    let typed = codec.sign_typed("at+jwt", &claims).unwrap();
    assert_eq!(keys.verify(&typed, now, true), Err(TokenError::Invalid));
    let access_pem = stored_pem(&db, "access").await;
    let access_kid = codec.ring().signer(now).unwrap().kid().to_owned();
    let by_access_key = jsonwebtoken::encode(
        &header(&access_kid),
        &claims,
        &EncodingKey::from_ec_pem(access_pem.as_bytes()).unwrap(),
    )
    .unwrap();
    assert_eq!(keys.verify(&by_access_key, now, true), Err(TokenError::Invalid));
    // And an ID token is no access token.
    let id_token = keys.sign(SigningAlgorithm::Es256, &claims).unwrap();
    assert_eq!(
        codec.verify_access(&id_token, now, true),
        Err(TokenError::Invalid)
    );
    assert_eq!(
        codec.verify_typed(&id_token, "at+jwt", now),
        Err(TokenError::Invalid)
    );
}

async fn id_key_rotation_adds_a_key_per_algorithm(backend: TestBackend) {
    let t = TestDatabase::new(backend);
    let db = open(&t).await;
    let keys = id_keys(&db).await;
    let other = id_keys(&db).await;
    let now = Utc::now();
    let iat = now.timestamp();
    let before: Vec<String> = ID_TOKEN_ALGORITHMS
        .iter()
        .map(|&alg| keys.sign(alg, &id_claims(ISSUER, iat, iat + 3600)).unwrap())
        .collect();
    assert_eq!(keys.jwks_keys(now).len(), 3);

    // Pre-published: published at once, not signing yet.
    let pending = keys.rotate(false).await.unwrap();
    let algs: Vec<SigningAlgorithm> = pending.iter().map(|r| r.alg).collect();
    assert_eq!(algs, ID_TOKEN_ALGORITHMS);
    for r in &pending {
        assert_eq!(Some(r.purpose.as_str()), id_token_purpose(r.alg));
    }
    assert_eq!(keys.jwks_keys(Utc::now()).len(), 6);
    let still = keys
        .sign(SigningAlgorithm::Rs256, &id_claims(ISSUER, iat, iat + 3600))
        .unwrap();
    assert_ne!(
        jsonwebtoken::decode_header(&still).unwrap().kid.as_deref(),
        Some(pending[0].kid.as_str())
    );
    // The other instance sees them on its next reload.
    assert!(other.reload().await.unwrap());
    assert!(!other.reload().await.unwrap());
    assert_eq!(other.jwks_keys(Utc::now()).len(), 6);

    // Activated now: the new keys sign, the old ones verify until retired.
    let active = keys.rotate(true).await.unwrap();
    let later = Utc::now();
    for (alg, r) in ID_TOKEN_ALGORITHMS.iter().zip(&active) {
        let token = keys
            .sign(
                *alg,
                &id_claims(ISSUER, later.timestamp(), later.timestamp() + 60),
            )
            .unwrap();
        assert_eq!(
            jsonwebtoken::decode_header(&token).unwrap().kid.as_deref(),
            Some(r.kid.as_str()),
            "{alg}"
        );
    }
    assert!(other.reload().await.unwrap());
    for token in &before {
        assert!(other.verify(token, later, false).is_ok());
    }
    let described = keys.describe(later);
    assert_eq!(described.len(), 9);
    // The first keys and the pre-published ones the activated keys
    // overtook are retiring; one active key per algorithm.
    assert_eq!(
        described
            .iter()
            .filter(|(_, k)| k.state.as_str() == "retiring")
            .count(),
        6,
        "{described:?}"
    );
    assert_eq!(
        described
            .iter()
            .filter(|(_, k)| k.state.as_str() == "active")
            .count(),
        3,
        "{described:?}"
    );
    // Retired 16 minutes after the newer key took over.
    let retired = later + TimeDelta::minutes(17);
    for token in &before {
        assert_eq!(other.verify(token, retired, true), Err(TokenError::Invalid));
    }
    assert_eq!(keys.jwks_keys(retired).len(), 3, "the active keys only");
}

/// The migration that gave keys a purpose runs on a database that already
/// has access keys: they stay access keys and their tokens still verify;
/// its down migration drops the ID-token keys and keeps the access keys.
async fn migration_keeps_existing_access_keys(backend: TestBackend) {
    let t = TestDatabase::new(backend);
    let db = open(&t).await;
    let now = Utc::now();
    let access = SigningKeyStore::new(db.clone(), None);
    access
        .ensure(SigningAlgorithm::Es256, now, TimeDelta::hours(1))
        .await
        .unwrap();
    access.rotate(SigningAlgorithm::Es256, now, now).await.unwrap();
    let ring = access.ring(TimeDelta::minutes(16)).await.unwrap();
    let kids: Vec<String> = ring.keys().iter().map(|k| k.kid().to_owned()).collect();
    let codec = JwtCodec::new(ring, b"refresh secret refresh secret 32", ISSUER, ISSUER);
    let claims = AccessClaims {
        sub: uuid::Uuid::from_u128(1),
        sid: SessionId::from_uuid(uuid::Uuid::from_u128(2)),
        iat: now.timestamp(),
        exp: now.timestamp() + 300,
        sign_in: Default::default(),
    };
    let token = codec.sign_access(&claims).unwrap();
    id_keys(&db).await;
    assert_eq!(db.count_rows("signing_keys").await.unwrap(), 5);

    // Down: the table of before, access keys only.
    db.revert_migrations_through("20261207080000").await.unwrap();
    assert_eq!(db.count_rows("signing_keys").await.unwrap(), 2);
    assert!(
        !db.columns()
            .await
            .unwrap()
            .iter()
            .any(|(t, c)| t == "signing_keys" && c == "purpose")
    );
    // A key of the old shape, written as the old code wrote it (pending
    // until 2099, so the rotated-in key keeps signing).
    let pem = auth_infra::signing::generate_pem(SigningAlgorithm::Es256).unwrap();
    let old_shape = auth_infra::SigningKey::from_pem(SigningAlgorithm::Es256, &pem, 3, now, now).unwrap();
    db.execute_raw(&format!(
        "INSERT INTO signing_keys (kid, generation, alg, private_key, created_at, activates_at) \
         VALUES ('{}', 3, 'ES256', 'pem:{pem}', '2026-01-01 00:00:00', '2099-01-01 00:00:00')",
        old_shape.kid()
    ))
    .await
    .unwrap();
    let mut kids = kids;
    kids.push(old_shape.kid().to_owned());
    // Up again, on a table that holds access keys.
    db.migrate().await.unwrap();
    assert_eq!(purposes(&db).await, ["access", "access", "access"]);
    let reloaded = SigningKeyStore::new(db.clone(), None)
        .ring(TimeDelta::minutes(16))
        .await
        .unwrap();
    let after: Vec<String> = reloaded.keys().iter().map(|k| k.kid().to_owned()).collect();
    assert_eq!(after, kids);
    let codec = JwtCodec::new(reloaded, b"refresh secret refresh secret 32", ISSUER, ISSUER);
    assert_eq!(codec.verify_access(&token, now, false), Ok(claims));
    // ID-token keys start again beside them, each ring at generation 1.
    let keys = id_keys(&db).await;
    assert_eq!(keys.jwks_keys(Utc::now()).len(), 3);
    let generations = db
        .raw_strings(
            "SELECT CAST(generation AS TEXT) AS value FROM signing_keys ORDER BY purpose, generation",
        )
        .await
        .unwrap();
    assert_eq!(generations, ["1", "2", "3", "1", "1", "1"]);
}

auth_infra::on_both_backends!(
    racing_first_starts_make_one_key,
    rotations_add_keys_and_algorithm_changes_rotate,
    private_keys_are_sealed_under_the_kek,
    purposes_are_separate_rings,
    racing_id_key_loads_agree_on_one_key_per_algorithm,
    id_tokens_round_trip_and_strangers_are_refused,
    id_key_rotation_adds_a_key_per_algorithm,
    migration_keeps_existing_access_keys,
);
