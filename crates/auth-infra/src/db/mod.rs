//! The database: one pool over SQLite or PostgreSQL, chosen by URL scheme.
//!
//! Diesel is synchronous; every query runs on tokio's blocking pool
//! (`spawn_blocking`), which also works inside actix workers (current-thread
//! tokio runtimes). The connection type is a diesel `MultiConnection` over
//! both backends, so each query is written once.
//!
//! The diesel adapters of the storage ports live here too, one module per
//! port (re-exported at the crate root): `users`, `sessions`, `codes`,
//! `apps` (the `chat` contract), `social_store`, `throttle`,
//! `request_rates` (the per-IP request budgets), `audit`,
//! `housekeeping`, `signing_store` (signing keys), `keys` (server keys and
//! secrets), `factors` (second factors and pending second steps), `roles`
//! (the admin role of accounts) and `password_schemes` (a metrics query).
//! `kek` seals secrets at rest under the key-encryption key.
//!
//! A lookup by a unique key ends in `get_result`, not `first`: `first` adds
//! a bound `LIMIT ?`, and SQLite re-prepares a statement whose `LIMIT`
//! parameter was bound again (it reads the value while planning), which
//! diesel does on every execution: a cached statement was compiled anew on
//! every refresh (docs/performance.md, "The write path").

mod apps;
mod audit;
mod backup;
mod codes;
mod factors;
mod housekeeping;
#[cfg(feature = "test-support")]
mod inspect;
mod kek;
mod keys;
mod oidc;
mod password_schemes;
mod request_rates;
mod roles;
pub(crate) mod schema;
mod sessions;
mod signals;
mod signing_store;
mod social_store;
mod throttle;
mod users;

pub use apps::{DieselAppRepository, DieselChatProfiles, HmacAppTokens};
pub use audit::DieselAuditLog;
pub use backup::sqlite_vacuum_into;
pub use codes::DieselCodeStore;
pub use factors::DieselFactorStore;
pub use housekeeping::DieselHousekeeping;
pub use kek::Kek;
pub use keys::{APPS_KEY_NAME, load_or_create_key, load_or_create_signing_secret};
pub use oidc::DieselOidcStore;
pub use password_schemes::accounts_by_password_scheme;
pub use request_rates::DieselRequestRates;
pub use roles::DieselAdminRoleStore;
pub use sessions::DieselSessionStore;
pub use signals::DieselSignalOutbox;
pub use signing_store::{ACCESS_PURPOSE, KeyStoreError, Rotated, SigningKeyStore, reset_signing_keys};
pub use social_store::{DieselLoginStateStore, DieselSocialIdentityStore};
pub use throttle::DieselLoginThrottle;
pub use users::DieselUserRepository;

use std::error::Error as StdError;
use std::fmt;
use std::path::Path;
use std::time::Duration;

use auth_domain::PortError;
use chrono::{DateTime, NaiveDateTime, SubsecRound, Utc};
use diesel::connection::SimpleConnection;
use diesel::r2d2::{ManageConnection, Pool, R2D2Connection};
use diesel::{Connection, PgConnection, RunQueryDsl, SqliteConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::redact::{redact_database_url, scrub_secret};

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");

/// Statements run on every new SQLite connection. `busy_timeout` comes first
/// so that switching to WAL waits for, instead of failing on, a peer's lock.
const SQLITE_PRAGMAS: &str = "PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; \
                              PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;";

/// How long a caller waits for a pooled connection before failing.
const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(10);

pub(crate) use conn::AnyConnection;

mod conn {
    // The derive generates public helper items without docs.
    #![allow(missing_docs)]

    use diesel::{PgConnection, SqliteConnection};

    /// One connection to either backend.
    #[derive(diesel::MultiConnection)]
    pub(crate) enum AnyConnection {
        Postgres(PgConnection),
        Sqlite(SqliteConnection),
    }
}

/// Which database engine a [`Database`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// SQLite (a file, WAL mode).
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        })
    }
}

/// Why the database could not be opened, migrated or queried.
///
/// The messages never contain the database password: connection errors are
/// scrubbed of it before they are stored.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DbError {
    /// The URL is neither `sqlite://PATH` nor `postgres://…`/`postgresql://…`.
    #[error("unsupported database url {0:?}: expected sqlite://PATH, postgres://… or postgresql://…")]
    UnsupportedUrl(String),
    /// An in-memory SQLite database was requested; with a pool every
    /// connection would see its own empty database.
    #[error("in-memory SQLite is not supported; use a file path (sqlite://PATH)")]
    InMemorySqlite,
    /// The directory for the SQLite file could not be created.
    #[error("could not create the directory for the SQLite database: {0}")]
    CreateDir(std::io::Error),
    /// The first connection failed.
    #[error("could not connect to the database: {0}")]
    Connect(String),
    /// The pool failed to hand out or create a connection.
    #[error("database pool: {0}")]
    Pool(String),
    /// Applying the embedded migrations failed.
    #[error("database migration failed: {0}")]
    Migration(String),
    /// A query failed.
    #[error("database query failed: {0}")]
    Query(#[from] diesel::result::Error),
    /// Stored data did not have the expected shape.
    #[error("corrupt stored data: {0}")]
    Corrupt(&'static str),
    /// The blocking task running the query panicked or was cancelled.
    #[error("database task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// A pool of database connections. Cheap to clone; all clones share the pool.
#[derive(Clone)]
pub struct Database {
    pool: Pool<ConnManager>,
    backend: Backend,
    redacted_url: std::sync::Arc<str>,
}

impl fmt::Debug for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Database")
            .field("backend", &self.backend)
            .field("url", &self.redacted_url)
            .finish_non_exhaustive()
    }
}

/// The pool's helper threads (r2d2's default is 3, named `r2d2-worker-N`),
/// which end as soon as the pool is dropped. r2d2's default pool keeps them
/// until its next scheduled reap (up to 30 s), so every pool a process had
/// opened and dropped in the last half minute still had threads, and a
/// pending connection attempt could run, while the process exited
/// (docs/security.md, "Exit-time heap corruption").
fn pool_threads() -> std::sync::Arc<scheduled_thread_pool::ScheduledThreadPool> {
    std::sync::Arc::new(
        scheduled_thread_pool::ScheduledThreadPool::builder()
            .num_threads(3)
            .thread_name_pattern("r2d2-worker-{}")
            .on_drop_behavior(scheduled_thread_pool::OnPoolDropBehavior::DiscardPendingScheduled)
            .build(),
    )
}

impl Database {
    /// The pool's connections: `(open, idle)` (for metrics).
    pub fn pool_state(&self) -> (u32, u32) {
        let state = self.pool.state();
        (state.connections, state.idle_connections)
    }

    /// Opens a pool of at most `pool_size` connections (at least 1).
    ///
    /// Accepted URLs: `sqlite://PATH` (relative, or absolute as
    /// `sqlite:///abs/path`; the parent directory is created), `postgres://…`
    /// and `postgresql://…`. In-memory SQLite is refused.
    ///
    /// # Errors
    /// [`DbError`] when the URL is not supported or the first connection
    /// fails (with the driver's message, minus any password).
    pub async fn connect(url: &str, pool_size: u32) -> Result<Self, DbError> {
        let target = Target::parse(url)?;
        let manager = ConnManager {
            target,
            redacted: redact_database_url(url),
        };
        tokio::task::spawn_blocking(move || Self::connect_blocking(manager, pool_size)).await?
    }

    fn connect_blocking(manager: ConnManager, pool_size: u32) -> Result<Self, DbError> {
        if let Target::Sqlite { path } = &manager.target
            && let Some(parent) = Path::new(path).parent()
            && !parent.as_os_str().is_empty()
        {
            std::fs::create_dir_all(parent).map_err(DbError::CreateDir)?;
        }
        // Connect once directly: a pool build failure only says "timed out".
        let first = manager.connect().map_err(|e| DbError::Connect(e.0))?;
        let backend = manager.target.backend();
        let redacted_url = manager.redacted.as_str().into();
        let pool = Pool::builder()
            .thread_pool(pool_threads())
            .max_size(pool_size.max(1))
            .min_idle(Some(1))
            .connection_timeout(CHECKOUT_TIMEOUT)
            // No `SELECT 1` before every checkout: on the write path it was
            // one more round trip per query (three per refresh rotation;
            // docs/performance.md). A connection that died while idle fails
            // its next query, which `has_broken` then sees, and the pool
            // replaces it: one failed request after a database restart
            // instead of a round trip on every request.
            .test_on_check_out(false)
            .build_unchecked(manager);
        drop(first);
        // Surface a broken pool now rather than on the first request.
        pool.get().map_err(|e| DbError::Pool(e.to_string()))?;
        Ok(Self {
            pool,
            backend,
            redacted_url,
        })
    }

    /// Which engine this database is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Applies the embedded migrations that have not run yet. Idempotent.
    ///
    /// # Errors
    /// [`DbError::Migration`] when a migration fails; [`DbError::Pool`] when
    /// no connection is available.
    pub async fn migrate(&self) -> Result<(), DbError> {
        self.with_conn(|conn| {
            let applied = match conn {
                AnyConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|v| v.len()),
                AnyConnection::Postgres(c) => c.run_pending_migrations(POSTGRES_MIGRATIONS).map(|v| v.len()),
            };
            match applied {
                Ok(n) => {
                    if n > 0 {
                        tracing::info!(applied = n, "database migrations applied");
                    }
                    Ok(())
                }
                Err(e) => Err(DbError::Migration(e.to_string())),
            }
        })
        .await?
    }

    /// Reverts applied migrations, newest first, down to and including the
    /// one whose version is `version` (its folder name's digits, e.g.
    /// `20251127090000`); [`Database::migrate`] applies them again. For
    /// tests of a migration's data conversion: revert it, store rows of the
    /// older shape, migrate.
    ///
    /// # Errors
    /// [`DbError::Migration`] when a down migration fails or `version` was
    /// never applied.
    #[cfg(feature = "test-support")]
    pub async fn revert_migrations_through(&self, version: &str) -> Result<(), DbError> {
        let version = version.to_owned();
        self.with_conn(move |conn| {
            loop {
                let reverted = match conn {
                    AnyConnection::Sqlite(c) => c.revert_last_migration(SQLITE_MIGRATIONS),
                    AnyConnection::Postgres(c) => c.revert_last_migration(POSTGRES_MIGRATIONS),
                }
                .map_err(|e| DbError::Migration(e.to_string()))?;
                if reverted.to_string() == version {
                    return Ok(());
                }
            }
        })
        .await?
    }

    /// Checks that the database answers (`SELECT 1`).
    ///
    /// # Errors
    /// [`DbError`] when no connection is available or the query fails.
    pub async fn ping(&self) -> Result<(), DbError> {
        self.with_conn(|conn| diesel::sql_query("SELECT 1").execute(conn).map(|_| ()))
            .await?
            .map_err(DbError::from)
    }

    /// Runs `f` with a pooled connection on the blocking pool. The outer
    /// error covers checkout and task failures; `f`'s own result is returned
    /// as is.
    pub(crate) async fn with_conn<R, F>(&self, f: F) -> Result<R, DbError>
    where
        F: FnOnce(&mut AnyConnection) -> R + Send + 'static,
        R: Send + 'static,
    {
        let pool = self.pool.clone();
        let result = tokio::task::spawn_blocking(move || {
            let mut conn = pool.get().map_err(|e| DbError::Pool(e.to_string()))?;
            Ok(f(&mut conn))
        })
        .await
        .map_err(DbError::from)
        .and_then(|r| r);
        if let Err(e) = &result {
            count_error(match e {
                DbError::Pool(_) => "pool",
                _ => "task",
            });
        }
        result
    }

    /// Runs a diesel query on the blocking pool, mapping every failure to a
    /// [`PortError`] with `context`.
    pub(crate) async fn query<T, F>(&self, context: &'static str, f: F) -> Result<T, PortError>
    where
        F: FnOnce(&mut AnyConnection) -> diesel::QueryResult<T> + Send + 'static,
        T: Send + 'static,
    {
        match self.with_conn(f).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => {
                // A unique violation that reaches here is still an answer
                // (a decided race), not a failing database.
                if !matches!(
                    e,
                    diesel::result::Error::DatabaseError(
                        diesel::result::DatabaseErrorKind::UniqueViolation,
                        _
                    )
                ) {
                    count_error("query");
                }
                Err(PortError::new(context, e))
            }
            Err(e) => Err(PortError::new(context, e)),
        }
    }
}

/// Counts a failed database operation: `auth_db_query_errors_total{kind}`,
/// `kind` being `query` (the statement failed), `pool` (no connection
/// within the checkout timeout) or `task` (the blocking task died).
fn count_error(kind: &'static str) {
    metrics::counter!("auth_db_query_errors_total", "kind" => kind).increment(1);
}

/// Where the connections go, parsed from the URL.
#[derive(Clone)]
enum Target {
    Sqlite { path: String },
    Postgres { url: String },
}

/// libpq waits forever for an unreachable host unless told otherwise; a
/// PostgreSQL URL without `connect_timeout` gets 5 seconds, so start-up and
/// pool checkouts fail (503) instead of hanging.
fn with_connect_timeout(url: &str) -> String {
    if url.contains("connect_timeout=") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&connect_timeout=5")
    } else {
        format!("{url}?connect_timeout=5")
    }
}

impl Target {
    fn parse(url: &str) -> Result<Self, DbError> {
        let url = url.trim();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self::Postgres {
                url: with_connect_timeout(url),
            });
        }
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .ok_or_else(|| DbError::UnsupportedUrl(redact_database_url(url)))?;
        if path.is_empty() {
            return Err(DbError::UnsupportedUrl(redact_database_url(url)));
        }
        if path == ":memory:" || path.contains("mode=memory") {
            return Err(DbError::InMemorySqlite);
        }
        Ok(Self::Sqlite {
            path: path.to_owned(),
        })
    }

    fn backend(&self) -> Backend {
        match self {
            Self::Sqlite { .. } => Backend::Sqlite,
            Self::Postgres { .. } => Backend::Postgres,
        }
    }
}

/// An r2d2 connection manager that picks the backend from the URL scheme
/// (diesel's derived `establish` hides PostgreSQL's error and lets SQLite
/// accept any string).
struct ConnManager {
    target: Target,
    redacted: String,
}

/// A connection failure whose message has had the password removed.
#[derive(Debug)]
struct ConnectError(String);

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl StdError for ConnectError {}

impl ManageConnection for ConnManager {
    type Connection = AnyConnection;
    type Error = ConnectError;

    fn connect(&self) -> Result<AnyConnection, ConnectError> {
        match &self.target {
            Target::Postgres { url } => PgConnection::establish(url)
                .map(AnyConnection::Postgres)
                .map_err(|e| ConnectError(scrub_secret(&e.to_string(), url))),
            Target::Sqlite { path } => {
                let mut conn = SqliteConnection::establish(path).map_err(|e| ConnectError(e.to_string()))?;
                conn.batch_execute(SQLITE_PRAGMAS)
                    .map_err(|e| ConnectError(format!("configuring SQLite connection: {e}")))?;
                Ok(AnyConnection::Sqlite(conn))
            }
        }
    }

    fn is_valid(&self, conn: &mut AnyConnection) -> Result<(), ConnectError> {
        conn.ping().map_err(|e| ConnectError(e.to_string()))
    }

    fn has_broken(&self, conn: &mut AnyConnection) -> bool {
        conn.is_broken()
    }
}

// Shown by `Pool`'s `Debug`; only the redacted URL.
impl fmt::Debug for ConnManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnManager")
            .field("url", &self.redacted)
            .finish()
    }
}

/// Converts a domain time to what is stored: UTC, truncated to microseconds
/// so SQLite and PostgreSQL round-trip the same value.
pub(crate) fn to_db_time(t: DateTime<Utc>) -> NaiveDateTime {
    t.naive_utc().trunc_subsecs(6)
}

/// Converts a stored time back to a domain time.
pub(crate) fn from_db_time(t: NaiveDateTime) -> DateTime<Utc> {
    t.and_utc()
}

#[cfg(test)]
mod tests;
