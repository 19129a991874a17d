//! What is read off the server between operations: `/proc` figures of
//! its process, its `/metrics` pool gauges, and the database's size and
//! row counts through a connection of the benchmark's own (not one of the
//! server's pool).

use auth_infra::Database;

use super::COUNTED_TABLES;
use crate::{metric_sum, proc_status_value, rss_kib, rss_parts_kib};

/// The server process's resident memory, its anonymous and file-backed
/// parts (MB), open file descriptors and threads.
pub fn process(pid: u32) -> ([f64; 3], f64, f64) {
    let mb = |kib: u64| kib as f64 * 1024.0 / 1e6;
    let (anon, file, _) = rss_parts_kib(pid);
    let rss = [mb(rss_kib(pid)), mb(anon), mb(file)];
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(f64::NAN, |d| d.count() as f64);
    let threads = proc_status_value(&pid.to_string(), "Threads:").map_or(f64::NAN, |t| t as f64);
    (rss, fds, threads)
}

/// The machine's 1-minute load average (`/proc/loadavg`).
pub fn load_average() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next()?.parse().ok())
        .unwrap_or(f64::NAN)
}

/// `(auth_db_pool_connections, auth_db_pool_in_use_connections)` off
/// `base`'s `/metrics`; `None` when it does not answer.
pub async fn pool(client: &reqwest::Client, base: &str) -> Option<(f64, f64)> {
    let response = client.get(format!("{base}/metrics")).send().await.ok()?;
    if !response.status().is_success() {
        return None;
    }
    let text = response.text().await.ok()?;
    Some((
        metric_sum(&text, "auth_db_pool_connections", ""),
        metric_sum(&text, "auth_db_pool_in_use_connections", ""),
    ))
}

/// Which database the sizes are read from.
#[derive(Debug)]
pub struct DbProbe {
    db: Database,
    /// The SQLite file, or `None` on PostgreSQL.
    sqlite_path: Option<String>,
}

impl DbProbe {
    /// A one-connection pool on `url` (already migrated by the server).
    ///
    /// # Panics
    /// When the database cannot be reached.
    pub async fn new(url: &str) -> Self {
        let db = Database::connect(url, 1).await.expect("the soak's database");
        let sqlite_path = url.strip_prefix("sqlite://").map(str::to_owned);
        DbProbe { db, sqlite_path }
    }

    /// `pg_database_size`, or the SQLite file and its WAL, in MB.
    pub async fn size_mb(&self) -> f64 {
        let bytes = match &self.sqlite_path {
            Some(path) => ["", "-wal"]
                .iter()
                .filter_map(|s| std::fs::metadata(format!("{path}{s}")).ok())
                .map(|m| m.len() as f64)
                .sum(),
            None => self.db.database_bytes().await.map_or(f64::NAN, |b| b as f64),
        };
        bytes / 1e6
    }

    /// `table` and its indexes, in MB (`table` is one of ours, a plain
    /// identifier).
    pub async fn table_mb(&self, table: &str) -> f64 {
        let sql = if self.sqlite_path.is_some() {
            format!(
                "SELECT CAST(COALESCE(SUM(pgsize), 0) AS TEXT) AS value FROM dbstat \
                 WHERE name IN (SELECT name FROM sqlite_master WHERE tbl_name = '{table}')"
            )
        } else {
            format!("SELECT pg_total_relation_size('{table}')::text AS value")
        };
        self.db
            .raw_strings(&sql)
            .await
            .ok()
            .and_then(|v| v.first()?.parse::<f64>().ok())
            .map_or(f64::NAN, |b| b / 1e6)
    }

    /// Rows of each of [`COUNTED_TABLES`] (`-1` when a count fails).
    pub async fn rows(&self) -> [i64; 4] {
        let mut out = [-1; 4];
        for (slot, table) in out.iter_mut().zip(COUNTED_TABLES) {
            *slot = self.db.count_rows(table).await.unwrap_or(-1);
        }
        out
    }

    /// `autovacuum` of the PostgreSQL server, or `None` on SQLite.
    pub async fn autovacuum(&self) -> Option<String> {
        if self.sqlite_path.is_some() {
            return None;
        }
        self.db
            .raw_strings("SELECT current_setting('autovacuum') AS value")
            .await
            .ok()?
            .into_iter()
            .next()
    }
}

/// Removes every file in `dir` (the file outbox), returning how many.
pub fn empty_outbox(dir: &str) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .filter(|e| std::fs::remove_file(e.path()).is_ok())
        .count() as u64
}
