//! Throw-away databases for tests (feature `test-support`).
//!
//! [`TestDatabase::sqlite`] makes a temporary file; [`TestDatabase::postgres`]
//! creates a fresh database on a PostgreSQL server (see [`postgres_admin_url`]
//! for which one). Both are removed when the value is dropped. When no
//! PostgreSQL can be had, [`TestDatabase::postgres`] panics with what to do:
//! tests must fail, not skip, when a backend is missing.

// Test support: panicking with a clear message is the intended failure mode.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::sync::OnceLock;

use diesel::{Connection, PgConnection, RunQueryDsl};
use rand::Rng;

/// Environment variable naming the PostgreSQL server (an admin URL whose
/// user may create and drop databases).
pub const POSTGRES_URL_ENV: &str = "AUTH_TEST_POSTGRES_URL";
/// Used when [`POSTGRES_URL_ENV`] is unset and a server answers there.
///
/// `sslmode=disable`: libpq then never initializes OpenSSL in a test
/// process. Suspected, not proven: OpenSSL's exit-time cleanup (an
/// `atexit` handler) freeing its state while servers still alive in a
/// test process reconnect in the background; a contract-test binary
/// aborted at exit (`malloc_consolidate(): invalid chunk size`) after all
/// its tests had passed, in some runs.
pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable";
/// Set to `1` to skip the server on 5432 and always start a throwaway
/// cluster (how CI checks the throwaway path on a machine that has a
/// server).
pub const THROWAWAY_ENV: &str = "AUTH_TEST_POSTGRES_THROWAWAY";

mod cluster;

/// The PostgreSQL server the tests of this process use, as an admin URL,
/// decided once per process:
/// 1. `AUTH_TEST_POSTGRES_URL`, if set;
/// 2. a server on 127.0.0.1:5432 that lets user `postgres` in without a
///    password (unless `AUTH_TEST_POSTGRES_THROWAWAY=1`);
/// 3. a throwaway cluster started from the installed server binaries, shared
///    by this process's tests, stopped and deleted when the process ends
///    however it ends.
///
/// # Errors
/// What went wrong and what to do, when none of these can be had.
pub fn postgres_admin_url() -> Result<String, String> {
    static SERVER: OnceLock<Result<String, String>> = OnceLock::new();
    static CLUSTER: OnceLock<cluster::Cluster> = OnceLock::new();
    SERVER
        .get_or_init(|| {
            if let Ok(url) = std::env::var(POSTGRES_URL_ENV)
                && !url.trim().is_empty()
            {
                return Ok(url);
            }
            let forced = std::env::var(THROWAWAY_ENV).is_ok_and(|v| v.trim() == "1");
            if !forced && default_server_answers() {
                return Ok(DEFAULT_POSTGRES_URL.to_owned());
            }
            let started = cluster::Cluster::start().map_err(|e| {
                format!(
                    "no PostgreSQL for the tests: {POSTGRES_URL_ENV} is unset, nothing usable answers \
                     on 127.0.0.1:5432, and a throwaway cluster could not be started: {e}"
                )
            })?;
            let url = started.url.clone();
            let _ = CLUSTER.set(started);
            Ok(url)
        })
        .clone()
}

/// Whether the default server accepts user `postgres` without a password.
fn default_server_answers() -> bool {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], 5432));
    if std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_secs(1)).is_err() {
        return false;
    }
    // A plain thread: this may be called from inside a tokio runtime.
    std::thread::spawn(|| PgConnection::establish(DEFAULT_POSTGRES_URL).is_ok())
        .join()
        .unwrap_or(false)
}

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
    /// server of [`postgres_admin_url`], dropped (`WITH (FORCE)`) on drop.
    ///
    /// # Panics
    /// When no server can be had, or it refuses `CREATE DATABASE`.
    pub fn postgres() -> Self {
        let admin_url = postgres_admin_url().unwrap_or_else(|e| panic!("{e}"));
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
                 Start PostgreSQL, set {POSTGRES_URL_ENV}, or {}; PostgreSQL tests do not skip.",
                cluster::INSTALL_HINT
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

/// Runs each scenario on SQLite and on PostgreSQL, as the tests
/// `NAME::sqlite` and `NAME::postgres`: the one way every test crate of
/// the workspace covers both backends.
///
/// - `on_both_backends!(a, b)`: `async fn a(backend: TestBackend)`, each on
///   a multi-thread tokio runtime.
/// - `on_both_backends!(sync: a, b)`: `fn a(backend: TestBackend)`, each a
///   plain `#[test]` (scenarios that run the server binary).
/// - `on_both_backends!(with run: a, b)`: `run(backend, a).await`, for
///   scenarios that take something built per backend (a migrated database,
///   say) from the async function `run`.
///
/// The calling crate needs `tokio` (with `macros` and `rt-multi-thread`).
#[macro_export]
macro_rules! on_both_backends {
    (sync: $($name:ident),* $(,)?) => {$(
        mod $name {
            #[test]
            fn sqlite() {
                super::$name($crate::testdb::TestBackend::Sqlite)
            }
            #[test]
            fn postgres() {
                super::$name($crate::testdb::TestBackend::Postgres)
            }
        }
    )*};
    (with $run:path: $($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                $run($crate::testdb::TestBackend::Sqlite, super::$name).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                $run($crate::testdb::TestBackend::Postgres, super::$name).await
            }
        }
    )*};
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                super::$name($crate::testdb::TestBackend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                super::$name($crate::testdb::TestBackend::Postgres).await
            }
        }
    )*};
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
