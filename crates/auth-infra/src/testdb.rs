//! Throw-away databases for tests (feature `test-support`).
//!
//! [`TestDatabase::sqlite`] makes a temporary file; [`TestDatabase::postgres`]
//! creates a fresh database on the server named by `AUTH_TEST_POSTGRES_URL`
//! (default `postgres://postgres@127.0.0.1:5432/postgres`). Both are removed
//! when the value is dropped. When PostgreSQL is unreachable,
//! [`TestDatabase::postgres`] panics: tests must fail, not skip, when a
//! backend is missing.

// Test support: panicking with a clear message is the intended failure mode.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use diesel::{Connection, PgConnection, RunQueryDsl};
use rand::Rng;

/// Environment variable naming the PostgreSQL server (an admin URL whose
/// user may create and drop databases).
pub const POSTGRES_URL_ENV: &str = "AUTH_TEST_POSTGRES_URL";
/// Used when [`POSTGRES_URL_ENV`] is unset.
pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// Which engine a [`TestDatabase`] uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TestBackend {
    /// A temporary SQLite file.
    Sqlite,
    /// A temporary database on a PostgreSQL server.
    Postgres,
}

#[derive(Debug)]
enum Cleanup {
    Sqlite { path: PathBuf },
    Postgres { admin_url: String, name: String },
}

/// A temporary, empty database (not migrated), removed on drop.
#[derive(Debug)]
pub struct TestDatabase {
    url: String,
    backend: TestBackend,
    cleanup: Cleanup,
}

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    hex::encode(buf)
}

/// `url` with its database name replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let scheme_end = url.find("://").map_or(0, |i| i + 3);
    let rest = &url[scheme_end..];
    let authority_end = rest.find(['/', '?']).map_or(url.len(), |i| scheme_end + i);
    let query = url[authority_end..]
        .find('?')
        .map(|i| &url[authority_end + i..])
        .unwrap_or("");
    format!("{}/{name}{query}", &url[..authority_end])
}

impl TestDatabase {
    /// A temporary database of the given kind.
    ///
    /// # Panics
    /// When the database cannot be created (PostgreSQL unreachable).
    pub fn new(backend: TestBackend) -> Self {
        match backend {
            TestBackend::Sqlite => Self::sqlite(),
            TestBackend::Postgres => Self::postgres(),
        }
    }

    /// A temporary SQLite file in the system temp directory. The file and
    /// its `-wal`/`-shm` companions are deleted on drop.
    pub fn sqlite() -> Self {
        let path = std::env::temp_dir().join(format!("auth_test_{}.db", random_hex(8)));
        Self {
            url: format!("sqlite://{}", path.display()),
            backend: TestBackend::Sqlite,
            cleanup: Cleanup::Sqlite { path },
        }
    }

    /// A new, empty database `auth_test_<random hex>` on the PostgreSQL
    /// server at `AUTH_TEST_POSTGRES_URL` (default
    /// `postgres://postgres@127.0.0.1:5432/postgres`), dropped (`WITH
    /// (FORCE)`) on drop.
    ///
    /// # Panics
    /// When the server is unreachable or refuses `CREATE DATABASE`.
    pub fn postgres() -> Self {
        let admin_url = std::env::var(POSTGRES_URL_ENV).unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned());
        let name = format!("auth_test_{}", random_hex(8));
        let redacted = crate::redact_database_url(&admin_url);
        let statement = format!("CREATE DATABASE {name}");
        let admin = admin_url.clone();
        // A plain thread: this may be called from inside a tokio runtime.
        let created = std::thread::spawn(move || -> Result<(), String> {
            let mut conn = PgConnection::establish(&admin).map_err(|e| e.to_string())?;
            diesel::sql_query(statement)
                .execute(&mut conn)
                .map_err(|e| e.to_string())?;
            Ok(())
        })
        .join()
        .expect("thread creating the test database panicked");
        if let Err(e) = created {
            panic!(
                "PostgreSQL test database could not be created on {redacted} ({e}). \
                 Start PostgreSQL or set {POSTGRES_URL_ENV}; PostgreSQL tests do not skip."
            );
        }
        Self {
            url: with_database(&admin_url, &name),
            backend: TestBackend::Postgres,
            cleanup: Cleanup::Postgres { admin_url, name },
        }
    }

    /// The URL to pass to [`crate::Database::connect`].
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Which engine this is.
    pub fn backend(&self) -> TestBackend {
        self.backend
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::Sqlite { path } => {
                for suffix in ["", "-wal", "-shm", "-journal"] {
                    let mut p = path.clone().into_os_string();
                    p.push(suffix);
                    let _ = std::fs::remove_file(p);
                }
            }
            Cleanup::Postgres { admin_url, name } => {
                let admin_url = admin_url.clone();
                let statement = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                let dropped = std::thread::spawn(move || -> Result<(), String> {
                    let mut conn = PgConnection::establish(&admin_url).map_err(|e| e.to_string())?;
                    diesel::sql_query(statement)
                        .execute(&mut conn)
                        .map_err(|e| e.to_string())?;
                    Ok(())
                })
                .join();
                if !matches!(dropped, Ok(Ok(()))) {
                    eprintln!("warning: could not drop test database {name}: {dropped:?}");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_name_is_replaced() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            with_database("postgres://u:p@h/db?sslmode=disable", "x"),
            "postgres://u:p@h/x?sslmode=disable"
        );
        assert_eq!(with_database("postgresql://h:5432", "x"), "postgresql://h:5432/x");
        assert_eq!(
            with_database("postgres://h?sslmode=disable", "x"),
            "postgres://h/x?sslmode=disable"
        );
    }
}
