//! The signing-key store on both databases: racing first starts make one
//! key, rotations add keys in order, private keys are sealed under a KEK.

// Helpers outside #[test] functions are not "in tests" for clippy.toml's
// allow-*-in-tests, so an integration-test file still allows them itself.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use auth_infra::testdb::{TestBackend, TestDatabase};
use auth_infra::{Database, Kek, KeyStoreError, SigningAlgorithm, SigningKeyStore};
use chrono::{TimeDelta, Utc};

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

auth_infra::on_both_backends!(
    racing_first_starts_make_one_key,
    rotations_add_keys_and_algorithm_changes_rotate,
    private_keys_are_sealed_under_the_kek,
);
