//! What one batch of operations cost, for `cost-bench` (docs/capacity.md):
//! CPU time of the server's threads and of its PostgreSQL backends (from
//! `/proc`), the bench database's statements (`pg_stat_statements`) and WAL
//! (`pg_walinspect`), as [`Snapshot`]s around a batch turned into a
//! [`Delta`]; and the tables of the report ([`Row`]).
//!
//! Figures are one map of named values (`stmts`, `rows.sessions.ins`, …),
//! so every one is netted of the idle instance's work the same way.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use auth_infra::Database;

/// Marks the probe's own statements, which `pg_stat_statements` then
/// shows with this comment and the snapshots leave out.
const MARK: &str = "/* cost-bench probe */";

/// On-CPU nanoseconds of each thread of process `pid`
/// (`/proc/PID/task/TID/schedstat`, first field); empty when the process
/// is gone or `/proc` is not readable.
pub fn thread_cpu_ns(pid: u32) -> HashMap<u32, u64> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return HashMap::new();
    };
    tasks
        .filter_map(Result::ok)
        .filter_map(|t| {
            let tid: u32 = t.file_name().to_str()?.parse().ok()?;
            Some((tid, schedstat_ns(&format!("/proc/{pid}/task/{tid}/schedstat"))?))
        })
        .collect()
}

/// On-CPU nanoseconds of each of `pids` (PostgreSQL backends); one whose
/// `/proc` entry is unreadable (gone, or on another machine) is left out.
pub fn process_cpu_ns(pids: &[u32]) -> HashMap<u32, u64> {
    pids.iter()
        .filter_map(|&pid| Some((pid, schedstat_ns(&format!("/proc/{pid}/schedstat"))?)))
        .collect()
}

fn schedstat_ns(path: &str) -> Option<u64> {
    std::fs::read_to_string(path)
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// CPU ms of the threads in `after` since `before`: one born in between
/// counts whole, one that ended is lost (read soon after a batch for that).
pub fn cpu_delta_ms(before: &HashMap<u32, u64>, after: &HashMap<u32, u64>) -> f64 {
    after
        .iter()
        .map(|(id, ns)| ns.saturating_sub(before.get(id).copied().unwrap_or(0)))
        .sum::<u64>() as f64
        / 1e6
}

/// Readings of one moment: CPU time of the server's threads and backends,
/// and PostgreSQL's counters as named values (none on SQLite).
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// When they were read.
    pub at: Option<Instant>,
    /// The server's threads.
    pub server: HashMap<u32, u64>,
    /// The server's PostgreSQL backends.
    pub backends: HashMap<u32, u64>,
    /// `q.<queryid>` (calls), `r.<queryid>` (rows) of the bench database's
    /// statements, `dealloc` (`pg_stat_statements` evictions), `checkpoints`.
    pub values: BTreeMap<String, f64>,
    /// Statement texts by queryid.
    pub texts: BTreeMap<String, String>,
    /// The WAL insert position, as PostgreSQL writes it (`0/1A2B3C`).
    pub lsn: String,
}

/// What a batch cost, over the window between two [`Snapshot`]s.
#[derive(Debug, Clone, Default)]
pub struct Delta {
    /// Seconds between the readings.
    pub seconds: f64,
    /// `cpu.server`, `cpu.backends` (ms), `stmts`,
    /// `q.<queryid>`, `rows`, `rows.<table>.<ins|upd|del>`, `dealloc`,
    /// `checkpoints`, and
    /// from the WAL (set by [`PgProbe::wal`]) `wal`, `wal.fpi`, `commits`,
    /// `wal.cluster`.
    pub values: BTreeMap<String, f64>,
}

/// The table and kind of write of a statement's text (`INSERT INTO "t"`,
/// `UPDATE t`, `DELETE FROM "t"`), if it is one.
pub fn written_table(text: &str) -> Option<(String, &'static str)> {
    let text = text.trim_start();
    let upper = text.to_ascii_uppercase();
    let (rest, kind) = if upper.starts_with("INSERT INTO ") {
        (&text[12..], "ins")
    } else if upper.starts_with("UPDATE ") {
        (&text[7..], "upd")
    } else if upper.starts_with("DELETE FROM ") {
        (&text[12..], "del")
    } else {
        return None;
    };
    let name: String = rest
        .trim_start()
        .trim_start_matches('"')
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    (!name.is_empty()).then_some((name, kind))
}

impl Delta {
    /// The difference of two readings. A statement's counters that went
    /// down were evicted from `pg_stat_statements` and counted again: its
    /// count since is taken (a lower bound); one gone by `b` counts 0.
    pub fn between(a: &Snapshot, b: &Snapshot) -> Delta {
        let mut values = BTreeMap::new();
        values.insert("cpu.server".into(), cpu_delta_ms(&a.server, &b.server));
        values.insert("cpu.backends".into(), cpu_delta_ms(&a.backends, &b.backends));
        let get = |s: &Snapshot, k: &str| s.values.get(k).copied().unwrap_or(0.0);
        for key in ["dealloc", "checkpoints"] {
            values.insert(key.into(), get(b, key) - get(a, key));
        }
        let (mut stmts, mut rows) = (0.0, 0.0);
        for (key, after) in &b.values {
            let Some(id) = key.strip_prefix("q.").or_else(|| key.strip_prefix("r.")) else {
                continue;
            };
            let before = get(a, key);
            let d = if *after >= before { after - before } else { *after };
            if key.starts_with("q.") {
                stmts += d;
                values.insert(key.clone(), d);
            } else if let Some((table, kind)) = b.texts.get(id).and_then(|t| written_table(t)) {
                rows += d;
                *values.entry(format!("rows.{table}.{kind}")).or_insert(0.0) += d;
            }
        }
        values.insert("stmts".into(), stmts);
        values.insert("rows".into(), rows);
        let seconds = match (a.at, b.at) {
            (Some(a), Some(b)) => b.duration_since(a).as_secs_f64(),
            _ => 0.0,
        };
        Delta { seconds, values }
    }

    /// Per second, for each value (the idle instance's rates).
    pub fn rates(&self) -> BTreeMap<String, f64> {
        let seconds = self.seconds.max(1e-9);
        self.values
            .iter()
            .map(|(k, v)| (k.clone(), v / seconds))
            .collect()
    }

    /// Each value less what the `idle` rates give over this window, divided
    /// by `n`: the cost of one operation.
    pub fn per_op(&self, idle: &BTreeMap<String, f64>, n: f64) -> BTreeMap<String, f64> {
        self.values
            .iter()
            .map(|(k, v)| {
                let net = v - idle.get(k).copied().unwrap_or(0.0) * self.seconds;
                (k.clone(), net / n)
            })
            .collect()
    }
}

/// PostgreSQL's view of the bench database: a connection to it (for
/// `pg_stat_statements` and `pg_walinspect`, created there) and one to the
/// admin database (for `pg_stat_activity`).
#[derive(Debug)]
pub struct PgProbe {
    bench: Database,
    admin: Database,
    name: String,
    dbid: String,
    own_pid: String,
}

/// How to enable `pg_stat_statements`, for the error that says it is missing.
pub const ENABLE_PG_STAT_STATEMENTS: &str = "pg_stat_statements is not loaded by this PostgreSQL server. As a \
     superuser run `ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'` (add it to any libraries \
     already listed) and restart the server (Debian: `pg_ctlcluster 15 main restart`; check with \
     `pg_lsclusters`), then run cost-bench again. `SHOW shared_preload_libraries` must list it.";

async fn rows(db: &Database, sql: &str) -> Result<Vec<String>, String> {
    db.raw_strings(&format!("{MARK} {sql}"))
        .await
        .map_err(|e| format!("{e}: {sql}"))
}

async fn one(db: &Database, sql: &str) -> Result<String, String> {
    rows(db, sql)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| format!("no row: {sql}"))
}

impl PgProbe {
    /// Connects to the bench database at `bench_url` and the admin database
    /// at `admin_url`, checks that `pg_stat_statements` is preloaded, and
    /// creates it and `pg_walinspect` (PostgreSQL 15+) in the bench
    /// database.
    ///
    /// # Errors
    /// [`ENABLE_PG_STAT_STATEMENTS`] when the library is not preloaded; a
    /// connection or SQL error otherwise.
    pub async fn connect(bench_url: &str, admin_url: &str) -> Result<PgProbe, String> {
        let bench = Database::connect(bench_url, 1).await.map_err(|e| e.to_string())?;
        let admin = Database::connect(admin_url, 1).await.map_err(|e| e.to_string())?;
        let preload = one(
            &bench,
            "SELECT current_setting('shared_preload_libraries') AS value",
        )
        .await?;
        if !preload
            .split(',')
            .any(|l| l.trim().trim_matches('"') == "pg_stat_statements")
        {
            return Err(ENABLE_PG_STAT_STATEMENTS.into());
        }
        for extension in ["pg_stat_statements", "pg_walinspect"] {
            bench
                .execute_raw(&format!("CREATE EXTENSION IF NOT EXISTS {extension}"))
                .await
                .map_err(|e| format!("CREATE EXTENSION {extension}: {e}"))?;
        }
        let name = one(&bench, "SELECT current_database()::text AS value").await?;
        let dbid = one(
            &bench,
            "SELECT oid::text AS value FROM pg_database WHERE datname = current_database()",
        )
        .await?;
        let own_pid = one(&bench, "SELECT pg_backend_pid()::text AS value").await?;
        Ok(PgProbe {
            bench,
            admin,
            name,
            dbid,
            own_pid,
        })
    }

    /// `SELECT version()`.
    ///
    /// # Errors
    /// When the query fails.
    pub async fn version(&self) -> Result<String, String> {
        one(&self.admin, "SELECT version() AS value").await
    }

    /// The pids of the bench database's backends other than the probe's.
    ///
    /// # Errors
    /// When the query fails.
    pub async fn backend_pids(&self) -> Result<Vec<u32>, String> {
        let sql = format!(
            "SELECT pid::text AS value FROM pg_stat_activity WHERE datname = '{}' AND pid <> {}",
            self.name, self.own_pid
        );
        Ok(rows(&self.admin, &sql)
            .await?
            .iter()
            .filter_map(|p| p.parse().ok())
            .collect())
    }

    /// Adds the counters of now to `snapshot`: the bench database's
    /// statements (calls, rows, text), evictions, checkpoints, WAL position.
    ///
    /// # Errors
    /// When a query fails.
    pub async fn read(&self, snapshot: &mut Snapshot) -> Result<(), String> {
        let sql = "SELECT concat_ws('|', pg_current_wal_insert_lsn(), dealloc, (SELECT checkpoints_timed + \
                   checkpoints_req FROM pg_stat_bgwriter)) AS value FROM pg_stat_statements_info";
        let now = one(&self.bench, sql).await?;
        let mut parts = now.split('|');
        snapshot.lsn = parts.next().unwrap_or("").to_owned();
        for key in ["dealloc", "checkpoints"] {
            let v = parts.next().and_then(|v| v.parse().ok()).unwrap_or(0.0);
            snapshot.values.insert(key.into(), v);
        }
        let sql = format!(
            "SELECT concat_ws('|', queryid, calls, rows, regexp_replace(query, '\\s+', ' ', 'g')) AS value \
             FROM pg_stat_statements WHERE dbid = {} AND query NOT LIKE '%cost-bench probe%'",
            self.dbid
        );
        for row in rows(&self.bench, &sql).await? {
            let mut parts = row.splitn(4, '|');
            let (Some(id), Some(calls), Some(written)) = (parts.next(), parts.next(), parts.next()) else {
                continue;
            };
            let number = |v: &str| v.parse::<f64>().unwrap_or(0.0);
            *snapshot.values.entry(format!("q.{id}")).or_insert(0.0) += number(calls);
            *snapshot.values.entry(format!("r.{id}")).or_insert(0.0) += number(written);
            snapshot
                .texts
                .insert(id.to_owned(), parts.next().unwrap_or("").to_owned());
        }
        Ok(())
    }

    /// Keeps the WAL from now on until the next call or the end of the
    /// probe's connection (a temporary replication slot): on a shared
    /// server, other databases' checkpoints would recycle it before
    /// [`PgProbe::wal`] reads it.
    ///
    /// # Errors
    /// When the slot cannot be made (no free `max_replication_slots`).
    pub async fn keep_wal(&self) -> Result<(), String> {
        let slot = format!("cost_bench_{}", self.own_pid);
        let release = format!(
            "SELECT count(pg_drop_replication_slot(slot_name))::text AS value FROM pg_replication_slots \
             WHERE slot_name = '{slot}'"
        );
        one(&self.bench, &release).await?;
        let keep = format!(
            "SELECT slot_name::text AS value FROM pg_create_physical_replication_slot('{slot}', true, true)"
        );
        one(&self.bench, &keep).await.map(drop)
    }

    /// The WAL between two positions (`pg_walinspect`): `wal` (bytes of the
    /// records touching the bench database or of its transactions, commits
    /// included), `wal.fpi` and `wal.records` (full-page images and the
    /// rest), `commits` (its transactions' commit records: WAL flushes
    /// waited for), `wal.cluster` (every database's).
    ///
    /// # Errors
    /// When the query fails (WAL already recycled, for instance).
    pub async fn wal(&self, from: &str, to: &str) -> Result<BTreeMap<String, f64>, String> {
        let mine = format!("block_ref LIKE '%/{}/%'", self.dbid);
        let sql = format!(
            "WITH r AS (SELECT xid, resource_manager, record_type, record_length, fpi_length, block_ref \
               FROM pg_get_wal_records_info('{from}', least('{to}'::pg_lsn, pg_current_wal_flush_lsn()))), \
             x AS (SELECT DISTINCT xid FROM r WHERE xid <> 0 AND {mine}) \
             SELECT concat_ws('|', \
               (SELECT coalesce(sum(record_length), 0) FROM r WHERE {mine} OR xid IN (SELECT xid FROM x)), \
               (SELECT coalesce(sum(fpi_length), 0) FROM r WHERE {mine} OR xid IN (SELECT xid FROM x)), \
               (SELECT count(*) FROM r WHERE resource_manager = 'Transaction' AND record_type LIKE 'COMMIT%' \
                  AND xid IN (SELECT xid FROM x)), \
               (SELECT coalesce(sum(record_length), 0) FROM r)) AS value"
        );
        let row = if from == to {
            "0|0|0|0".to_owned()
        } else {
            one(&self.bench, &sql).await?
        };
        let mut wal: BTreeMap<String, f64> = ["wal", "wal.fpi", "commits", "wal.cluster"]
            .iter()
            .zip(row.split('|'))
            .map(|(k, v)| ((*k).to_owned(), v.parse().unwrap_or(0.0)))
            .collect();
        wal.insert("wal.records".into(), wal["wal"] - wal["wal.fpi"]);
        Ok(wal)
    }
}

/// The server's CPU readings now, with those of its `backends`.
pub fn cpu_now(server_pid: u32, backends: &[u32]) -> Snapshot {
    Snapshot {
        at: Some(Instant::now()),
        server: thread_cpu_ns(server_pid),
        backends: process_cpu_ns(backends),
        ..Snapshot::default()
    }
}

/// The median of each key over `rounds` (a key missing from a round counts
/// as 0 there).
pub fn medians(rounds: &[BTreeMap<String, f64>]) -> BTreeMap<String, f64> {
    let keys: std::collections::BTreeSet<&String> = rounds.iter().flat_map(|r| r.keys()).collect();
    keys.into_iter()
        .map(|k| {
            let mut v: Vec<f64> = rounds.iter().map(|r| r.get(k).copied().unwrap_or(0.0)).collect();
            (k.clone(), crate::median(&mut v))
        })
        .collect()
}

/// Runs `f(0) … f(n - 1)`, `concurrency` at a time; the outputs in order.
///
/// # Panics
/// When a call panics.
pub async fn spread<T, F, Fut>(n: usize, concurrency: usize, f: F) -> Vec<T>
where
    F: Fn(usize) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let next = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..concurrency.max(1))
        .map(|_| {
            let (f, next) = (f.clone(), next.clone());
            tokio::spawn(async move {
                let mut out = vec![];
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= n {
                        break out;
                    }
                    out.push((i, f(i).await));
                }
            })
        })
        .collect();
    let mut all = vec![];
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all.sort_by_key(|(i, _)| *i);
    all.into_iter().map(|(_, v)| v).collect()
}

/// The status and JSON body (`Null` when there is none) of `request`.
///
/// # Panics
/// When the request cannot be sent.
pub async fn send(request: reqwest::RequestBuilder) -> (u16, serde_json::Value) {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(serde_json::Value::Null))
}

/// One line of the report: an operation and its per-operation figures on
/// each backend (`None` where it was not measured).
#[derive(Debug, Clone, Default)]
pub struct Row {
    /// What was done.
    pub label: String,
    /// How many per round (text: `200`, `200 sockets × window`).
    pub n: String,
    /// PostgreSQL medians per operation.
    pub pg: Option<BTreeMap<String, f64>>,
    /// SQLite medians per operation.
    pub sqlite: Option<BTreeMap<String, f64>>,
}

fn get(map: &BTreeMap<String, f64>, key: &str) -> f64 {
    map.get(key).copied().unwrap_or(0.0)
}

/// A figure with the precision its size deserves (`0.0123`, `1.23`, `123`).
pub fn fig(v: f64) -> String {
    match v.abs() {
        a if a < 0.005 => "0".into(),
        a if a < 1.0 => format!("{v:.3}"),
        a if a < 100.0 => format!("{v:.2}"),
        _ => format!("{v:.0}"),
    }
}

/// The main table: CPU each side, statements, commits, rows and WAL per
/// operation.
pub fn cost_table(rows: &[Row]) -> String {
    let mut s = String::from(
        "| operation | N per round | server CPU, PostgreSQL (ms) | PostgreSQL backends CPU (ms) | statements \
         (round trips) | commits that wrote (WAL flushes) | rows written | WAL bytes, records | WAL bytes, full-page \
         images | server CPU, SQLite (ms) |\n|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for r in rows {
        let pg = |key: &str| r.pg.as_ref().map_or("–".into(), |m| fig(get(m, key)));
        let lite = r
            .sqlite
            .as_ref()
            .map_or("–".into(), |m| fig(get(m, "cpu.server")));
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            r.label,
            r.n,
            pg("cpu.server"),
            pg("cpu.backends"),
            pg("stmts"),
            pg("commits"),
            pg("rows"),
            pg("wal.records"),
            pg("wal.fpi"),
            lite
        ));
    }
    s
}

/// Rows inserted, updated and deleted per operation, by table
/// (PostgreSQL, from `pg_stat_statements`' rows of each write).
pub fn rows_by_table(rows: &[Row]) -> String {
    let mut s = String::from("| operation | rows written per operation, by table |\n|---|---|\n");
    for r in rows {
        let Some(m) = &r.pg else { continue };
        let mut tables: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        let writes = m
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix("rows.")?.rsplit_once('.')?, v)));
        for ((table, kind), v) in writes.filter(|(_, v)| v.abs() >= 0.005) {
            tables
                .entry(table)
                .or_default()
                .push(format!("{} {kind}", fig(*v)));
        }
        let cells: Vec<String> = tables
            .iter()
            .map(|(t, k)| format!("`{t}` {}", k.join(", ")))
            .collect();
        let cell = Some(cells.join("; "))
            .filter(|c| !c.is_empty())
            .unwrap_or_else(|| "none".into());
        s.push_str(&format!("| {} | {cell} |\n", r.label));
    }
    s
}

/// The `top` statements of each operation by calls per operation
/// (PostgreSQL), their text cut to 120 characters.
pub fn top_statements(rows: &[Row], texts: &BTreeMap<String, String>, top: usize) -> String {
    let mut s = String::from(
        "| operation | calls per operation | statement (`pg_stat_statements` text) |\n|---|---|---|\n",
    );
    for r in rows {
        let Some(m) = &r.pg else { continue };
        let mut calls: Vec<(&String, f64)> = m
            .iter()
            .filter(|(k, v)| k.starts_with("q.") && **v >= 0.005)
            .map(|(k, v)| (k, *v))
            .collect();
        calls.sort_by(|a, b| b.1.total_cmp(&a.1));
        for (k, v) in calls.into_iter().take(top) {
            let text: String = texts
                .get(k.trim_start_matches("q."))
                .map_or("?", String::as_str)
                .chars()
                .take(120)
                .collect();
            let text = text.replace('|', "\\|").replace('`', "'");
            s.push_str(&format!("| {} | {} | `{text}` |\n", r.label, fig(v)));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thread_born_between_readings_counts_whole_and_one_that_ended_is_left_out() {
        let before = HashMap::from([(1, 1_000_000), (2, 5_000_000)]);
        let after = HashMap::from([(1, 3_000_000), (3, 4_000_000)]);
        assert_eq!(cpu_delta_ms(&before, &after), 6.0);
    }

    #[test]
    fn per_op_nets_the_idle_rate_over_the_window() {
        let delta = Delta {
            seconds: 10.0,
            values: BTreeMap::from([("cpu.server".into(), 300.0), ("stmts".into(), 1030.0)]),
        };
        let idle = BTreeMap::from([("cpu.server".into(), 10.0), ("stmts".into(), 3.0)]);
        let per = delta.per_op(&idle, 100.0);
        assert_eq!(per["cpu.server"], 2.0);
        assert_eq!(per["stmts"], 10.0);
    }

    #[test]
    fn writes_are_counted_per_table_and_an_evicted_statement_from_its_return() {
        let a = Snapshot {
            values: BTreeMap::from([("q.1".into(), 10.0), ("r.1".into(), 10.0), ("q.2".into(), 50.0)]),
            ..Snapshot::default()
        };
        // Statement 2 was evicted and came back with 3 calls.
        let b = Snapshot {
            texts: BTreeMap::from([
                ("1".into(), r#"INSERT INTO "sessions" ("id") VALUES ($1)"#.into()),
                ("2".into(), "UPDATE session_signals SET id = id WHERE $1".into()),
            ]),
            values: BTreeMap::from([
                ("q.1".into(), 14.0),
                ("r.1".into(), 14.0),
                ("q.2".into(), 3.0),
                ("r.2".into(), 3.0),
            ]),
            ..Snapshot::default()
        };
        let d = Delta::between(&a, &b);
        assert_eq!(d.values["stmts"], 7.0);
        assert_eq!(d.values["rows.sessions.ins"], 4.0);
        assert_eq!(d.values["rows.session_signals.upd"], 3.0);
        assert_eq!(written_table("SELECT 1"), None);
    }
}
