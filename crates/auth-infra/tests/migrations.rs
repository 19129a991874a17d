//! The SQLite and PostgreSQL migration folders stay in step: the same
//! migrations, each with both directions, producing the same tables and
//! columns. A change that migrates one backend and forgets the other fails
//! here, not in production.

// Helpers outside #[test] functions are not "in tests" for clippy.toml's
// allow-*-in-tests, so an integration-test file still allows them itself.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use std::collections::BTreeSet;
use std::path::PathBuf;

use auth_infra::Database;
use auth_infra::testdb::{TestBackend, TestDatabase};

fn folder(backend: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../migrations")
        .join(backend)
}

/// The migration names of one backend's folder, checking each has `up.sql`
/// and `down.sql`.
fn migrations(backend: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for entry in std::fs::read_dir(folder(backend)).unwrap() {
        let entry = entry.unwrap();
        if !entry.file_type().unwrap().is_dir() {
            continue;
        }
        let name = entry.file_name().into_string().unwrap();
        for file in ["up.sql", "down.sql"] {
            assert!(
                entry.path().join(file).is_file(),
                "migrations/{backend}/{name} has no {file}"
            );
        }
        names.insert(name);
    }
    names
}

#[test]
fn both_backends_have_the_same_migrations() {
    let sqlite = migrations("sqlite");
    let postgres = migrations("postgres");
    assert!(!sqlite.is_empty());
    let only_sqlite: Vec<_> = sqlite.difference(&postgres).collect();
    let only_postgres: Vec<_> = postgres.difference(&sqlite).collect();
    assert!(
        only_sqlite.is_empty() && only_postgres.is_empty(),
        "migrations only in sqlite: {only_sqlite:?}; only in postgres: {only_postgres:?}"
    );
}

async fn migrated_columns(backend: TestBackend) -> Vec<(String, String)> {
    let t = TestDatabase::new(backend);
    let db = Database::connect(t.url(), 2).await.unwrap();
    db.migrate().await.unwrap();
    db.columns().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_backends_migrate_to_the_same_tables_and_columns() {
    let sqlite = migrated_columns(TestBackend::Sqlite).await;
    let postgres = migrated_columns(TestBackend::Postgres).await;
    assert!(
        sqlite.iter().any(|(t, c)| t == "users" && c == "email"),
        "{sqlite:?}"
    );
    let s: BTreeSet<_> = sqlite.iter().collect();
    let p: BTreeSet<_> = postgres.iter().collect();
    let only_sqlite: Vec<_> = s.difference(&p).collect();
    let only_postgres: Vec<_> = p.difference(&s).collect();
    assert!(
        only_sqlite.is_empty() && only_postgres.is_empty(),
        "columns only on sqlite: {only_sqlite:?}; only on postgres: {only_postgres:?}"
    );
}
