//! Shared by the adapter test binaries: a migrated database per test, and
//! the macro that runs every scenario on both backends.

use auth_infra::Database;
use auth_infra::testdb::TestDatabase;

/// Connects to a test database and applies the migrations.
pub async fn open(t: &TestDatabase) -> Database {
    let db = Database::connect(t.url(), 8).await.unwrap();
    db.migrate().await.unwrap();
    db
}

/// Generates `name::sqlite` and `name::postgres` for `crate::scenarios::name`,
/// each on a fresh database of that backend (dropped after the test).
macro_rules! on_both {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                let t = auth_infra::testdb::TestDatabase::new(auth_infra::testdb::TestBackend::Sqlite);
                let db = crate::common::open(&t).await;
                assert_eq!(db.backend(), auth_infra::Backend::Sqlite);
                crate::scenarios::$name(db).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                let t = auth_infra::testdb::TestDatabase::new(auth_infra::testdb::TestBackend::Postgres);
                let db = crate::common::open(&t).await;
                assert_eq!(db.backend(), auth_infra::Backend::Postgres);
                crate::scenarios::$name(db).await;
            }
        }
    )*};
}
