//! `soak-bench` (`just soak`): a long run at a level mixed load, watching
//! for drift. The release `auth-server` runs as a child process; every
//! `--sample-seconds` its RSS, open file descriptors and threads (from
//! `/proc`), the database size, the pool gauges of its `/metrics`, and the
//! p50/p99 of each operation over the window are recorded ([`probe`]),
//! while [`load`] drives the operations at a fixed rate. [`stats`] fits a
//! least-squares line to each series over the last two thirds of the run,
//! [`report`] writes the series as CSV, a chart ([`svg`], drawn here as
//! text) and the table of slopes.

pub mod load;
pub mod probe;
pub mod report;
pub mod run;
pub mod stats;
pub mod svg;

/// One operation of the mixed load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `standard` password login (`POST /api/auth/login`).
    Login,
    /// Refresh rotation (`POST /api/auth/reissue-token`).
    Refresh,
    /// Token check (`GET /api/auth/me` with an access token).
    TokenCheck,
    /// Sign-up code send (`POST /api/auth/send/auth-key`, a new address).
    CodeSend,
    /// Socket churn: an authenticated `GET /ws`, a notification received
    /// through it, then dropped.
    Socket,
    /// Admin user search (`GET /internal/users?query=…`).
    AdminSearch,
}

/// Every operation, in the order of the CSV columns and the legends.
pub const OPS: [Op; 6] = [
    Op::Login,
    Op::Refresh,
    Op::TokenCheck,
    Op::CodeSend,
    Op::Socket,
    Op::AdminSearch,
];

impl Op {
    /// The short name used in CSV columns and legends.
    pub fn key(self) -> &'static str {
        match self {
            Op::Login => "login",
            Op::Refresh => "refresh",
            Op::TokenCheck => "me",
            Op::CodeSend => "code",
            Op::Socket => "socket",
            Op::AdminSearch => "search",
        }
    }

    /// What the operation does, for the document.
    pub fn what(self) -> &'static str {
        match self {
            Op::Login => "password login, `standard` (`POST /api/auth/login`; argon2 verify, new session)",
            Op::Refresh => "refresh rotation (`POST /api/auth/reissue-token` of a held session)",
            Op::TokenCheck => "token check (`GET /api/auth/me` with a held access token)",
            Op::CodeSend => {
                "sign-up code send to a new address (`POST /api/auth/send/auth-key`, file outbox)"
            }
            Op::Socket => {
                "socket churn: `GET /ws?token=…`, `POST /internal/notifications` to its user, the \
                 `NOTIFICATION` frame received, then the connection dropped"
            }
            Op::AdminSearch => "admin search (`GET /internal/users?query=soakuserN&limit=20`, admin token)",
        }
    }

    /// Its share of the load, in twentieths.
    pub fn share(self) -> u32 {
        match self {
            Op::Login | Op::CodeSend => 2,
            Op::Refresh | Op::TokenCheck => 5,
            Op::Socket | Op::AdminSearch => 3,
        }
    }

    /// Its position in [`OPS`].
    pub fn index(self) -> usize {
        OPS.iter().position(|o| *o == self).unwrap_or(0)
    }
}

/// One operation over one sampling window.
#[derive(Debug, Clone, Copy, Default)]
pub struct OpWindow {
    /// Operations completed successfully in the window.
    pub done: u64,
    /// Operations that failed (wrong status, refused socket, timeout).
    pub errors: u64,
    /// Median latency of the successful ones, ms (`NaN` when none).
    pub p50_ms: f64,
    /// 99th percentile (nearest rank), ms (`NaN` when none).
    pub p99_ms: f64,
}

/// Everything read at the end of one sampling window.
#[derive(Debug, Clone, Default)]
pub struct Sample {
    /// Seconds since the load started.
    pub at: f64,
    /// Length of the window, seconds.
    pub window: f64,
    /// The server's resident memory, MB.
    pub rss_mb: f64,
    /// Its anonymous part (heap, stacks, SQLite's page caches), MB.
    pub rss_anon_mb: f64,
    /// Its file-backed part (the binary, mapped files), MB.
    pub rss_file_mb: f64,
    /// The server's open file descriptors (`/proc/PID/fd`).
    pub fds: f64,
    /// The server's threads (`/proc/PID/status`).
    pub threads: f64,
    /// The database on disk, MB (SQLite: file + WAL; PostgreSQL:
    /// `pg_database_size`).
    pub db_mb: f64,
    /// The audit trail's table and indexes, MB.
    pub audit_mb: f64,
    /// The codes' table and indexes, MB.
    pub codes_mb: f64,
    /// Rows of `sessions`, `refresh_tokens`, `verification_codes`,
    /// `audit_log`.
    pub rows: [i64; 4],
    /// `auth_db_pool_connections` at the sample.
    pub pool_open: f64,
    /// `auth_db_pool_in_use_connections`, mean of one reading a second.
    pub pool_in_use_mean: f64,
    /// The same, largest reading of the window.
    pub pool_in_use_max: f64,
    /// Ticks of the pacer dropped because `max in flight` operations were
    /// still running.
    pub skipped: u64,
    /// Mail files removed from the outbox in the window.
    pub mails: u64,
    /// The machine's 1-minute load average (every process, not only the
    /// server's: the machine is shared).
    pub load1: f64,
    /// Per operation, in the order of [`OPS`].
    pub ops: [OpWindow; 6],
}

/// The tables whose rows [`Sample::rows`] counts.
pub const COUNTED_TABLES: [&str; 4] = ["sessions", "refresh_tokens", "verification_codes", "audit_log"];
