//! Shared by the adapter test binaries: a migrated database per test, for
//! `auth_infra::on_both_backends!(with common::on_migrated: …)`.

use auth_infra::Database;
use auth_infra::testdb::{TestBackend, TestDatabase};

/// Connects to a test database and applies the migrations.
pub async fn open(t: &TestDatabase) -> Database {
    let db = Database::connect(t.url(), 8).await.unwrap();
    db.migrate().await.unwrap();
    db
}

/// Runs `scenario` on a fresh, migrated database of `backend`, dropped
/// after the test (for `auth_infra::on_both_backends!(with …)`).
pub async fn on_migrated<F, Fut>(backend: TestBackend, scenario: F)
where
    F: FnOnce(Database) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let t = TestDatabase::new(backend);
    let db = open(&t).await;
    let expected = match backend {
        TestBackend::Sqlite => auth_infra::Backend::Sqlite,
        TestBackend::Postgres => auth_infra::Backend::Postgres,
    };
    assert_eq!(db.backend(), expected);
    scenario(db).await;
}
