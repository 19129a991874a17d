//! The benchmarks (`load-bench`, `token-bench`, `ws-bench`, `timing-bench`,
//! `import-bench`, `logout-bench`, `soak-bench` ([`soak`]); `just bench`,
//! docs/performance.md; `cost-bench` ([`costs`]), docs/capacity.md) and
//! their shared plumbing: start a real `auth-server` process ([`Server`]),
//! read figures off it ([`rss_kib`], [`ceiling`], [`metric_sum`]), drive it
//! ([`http`], [`bare`]), receive what it posts ([`receiver`]), fill a
//! database like a deployment of some years ([`scale`]), and write the
//! figures into a document between markers ([`write_section`]).
//! Benchmarks, not tests: they report, and assert nothing about time.
//!
//! A workspace member of its own, so that the contract-test crate does not
//! build argon2 or the foreign hash schemes for them.

// A benchmark harness: failing loudly on any unexpected state is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod bare;
pub mod ceiling;
pub mod costs;
pub mod http;
pub mod receiver;
pub mod scale;
pub mod soak;
pub mod sockets;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `auth-server` child process, killed on drop.
#[derive(Debug)]
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// From spawn to the first successful `/readyz`.
    pub ready_in: Duration,
}

impl Server {
    /// Starts `binary` with `env` (plus `AUTH_BIND` on a free loopback port
    /// and `RUST_LOG=warn`) and waits, at most 30 s, until `/readyz` answers.
    pub async fn start(binary: &str, env: &[(&str, &str)]) -> Server {
        // Bench only: a port freed just before the spawn.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let started = Instant::now();
        let mut command = Command::new(binary);
        command
            .env("AUTH_BIND", format!("127.0.0.1:{port}"))
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        for (k, v) in env {
            command.env(k, v);
        }
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {binary}: {e}"));
        let base = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if client
                .get(format!("{base}/readyz"))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                break;
            }
            assert!(Instant::now() < deadline, "{binary} not ready within 30 s");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        Server {
            child,
            base,
            ready_in: started.elapsed(),
        }
    }

    /// `ws://127.0.0.1:PORT/ws`, with `?token=` when `token` is given.
    pub fn ws_url(&self, token: Option<&str>) -> String {
        let base = self.base.replacen("http", "ws", 1);
        match token {
            Some(token) => format!("{base}/ws?token={token}"),
            None => format!("{base}/ws"),
        }
    }

    /// The process id (for `/proc` readings).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The median of `values` (the upper one of an even count).
///
/// # Panics
/// When `values` is empty.
pub fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// The number after `field` (`"VmRSS:"`, `"Threads:"`, …) in
/// `/proc/{process}/status`, `process` a pid or `self`; `None` when the
/// file or the field is missing.
pub fn proc_status_value(process: &str, field: &str) -> Option<u64> {
    status_field(
        &std::fs::read_to_string(format!("/proc/{process}/status")).ok()?,
        field,
    )
}

/// The number after `field` in the text of a `/proc/…/status` file.
fn status_field(status: &str, field: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// Resident memory of a process by kind, KiB: anonymous (heap, stacks,
/// SQLite's page caches), file-backed (the binary, mapped files such as
/// SQLite's WAL index) and shared memory.
pub fn rss_parts_kib(pid: u32) -> (u64, u64, u64) {
    // One reading, so that the three parts are of the same moment.
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name| status_field(&status, name).unwrap_or(0);
    (field("RssAnon:"), field("RssFile:"), field("RssShmem:"))
}

/// Resident memory of a process, KiB.
pub fn rss_kib(pid: u32) -> u64 {
    proc_status_value(&pid.to_string(), "VmRSS:").unwrap()
}

/// The `p`-th percentile (nearest rank) of sorted durations.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The value after `--name` on the command line, or `default`.
pub fn arg(name: &str, default: &str) -> String {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
        .unwrap_or_else(|| default.to_owned())
}

/// The sum of the samples of metric `name` whose labels contain `label`
/// (`""` for all), in a Prometheus text exposition (`GET /metrics`).
pub fn metric_sum(exposition: &str, name: &str, label: &str) -> f64 {
    exposition
        .lines()
        .filter(|l| {
            l.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with(['{', ' ']))
        })
        .filter(|l| l.contains(label))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// `N cores, <CPU model>`.
pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines().find_map(|l| {
                l.strip_prefix("model name")
                    .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
            })
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    format!("{cores} cores, {cpu}")
}

/// Milliseconds with one decimal.
pub fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// Replaces what stands between `<!-- NAME:start -->` and `<!-- NAME:end -->`
/// in `file` with `body` (appending the block when the markers are absent).
pub fn write_section(file: &str, name: &str, body: &str) {
    let (start, end) = (format!("<!-- {name}:start -->"), format!("<!-- {name}:end -->"));
    let block = format!("{start}\n{body}\n{end}");
    let doc = std::fs::read_to_string(file).unwrap_or_default();
    let updated = match (doc.find(&start), doc.find(&end)) {
        (Some(s), Some(e)) => format!("{}{}{}", &doc[..s], block, &doc[e + end.len()..]),
        _ => format!("{doc}\n{block}\n"),
    };
    std::fs::write(file, updated).unwrap();
}
