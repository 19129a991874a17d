//! One soak on one backend: a fresh database, the release server started
//! on it with [`SETTINGS`], the load driven for the whole run while the
//! sampler reads the figures at the end of every window.

use std::time::{Duration, Instant};

use auth_contract_tests::{TestBackend, TestDatabase};

use super::Sample;
use super::load::{ADMIN_TOKEN, Load, drive};
use super::probe::{DbProbe, empty_outbox, load_average, pool, process};
use crate::Server;

/// What the benchmark was asked for.
#[derive(Debug, Clone)]
pub struct Options {
    /// The `auth-server` binary.
    pub binary: String,
    /// Length of the run on each backend.
    pub minutes: f64,
    /// Length of a sampling window.
    pub sample_seconds: u64,
    /// Operations started per second.
    pub rate: f64,
    /// Operations running at once beyond which a tick is dropped.
    pub max_in_flight: usize,
}

/// The server settings of the soak besides the database, mail folder and
/// admin token: lifetimes short enough that rows expire, and are purged,
/// well within the first third of a run, so that the database can level
/// off; no request limits (one client address sends everything).
pub const SETTINGS: [(&str, &str); 9] = [
    ("AUTH_ACCESS_TTL_SECONDS", "30"),
    ("AUTH_REFRESH_TTL_SECONDS", "60"),
    ("AUTH_CODE_TTL_SECONDS", "60"),
    ("AUTH_PURGE_INTERVAL_SECONDS", "15"),
    ("AUTH_RATE_LIMIT_ENABLED", "false"),
    ("AUTH_LOGIN_THROTTLE_ENABLED", "false"),
    ("AUTH_SIGNUP_REQUIRE_EMAIL_CODE", "false"),
    ("AUTH_JWT_ALGORITHM", "ES256"),
    ("RUST_LOG", "info"),
];

/// One backend's run.
#[derive(Debug)]
pub struct Run {
    /// `SQLite` or `PostgreSQL`.
    pub name: &'static str,
    /// `sqlite` or `postgres` (file names).
    pub key: &'static str,
    /// One per window.
    pub samples: Vec<Sample>,
    /// Seconds the load ran.
    pub seconds: f64,
    /// The PostgreSQL server's `autovacuum`.
    pub autovacuum: Option<String>,
}

/// Removes a folder when dropped.
struct Folder(String);

impl Drop for Folder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs the soak on `backend`.
///
/// # Panics
/// When the database or the server cannot be started.
pub async fn soak(options: &Options, backend: TestBackend) -> Run {
    let (name, key) = match backend {
        TestBackend::Sqlite => ("SQLite", "sqlite"),
        TestBackend::Postgres => ("PostgreSQL", "postgres"),
    };
    let db = TestDatabase::new(backend);
    let mail = Folder(
        std::env::temp_dir()
            .join(format!("soak-bench-mail-{}-{key}", std::process::id()))
            .display()
            .to_string(),
    );
    let mut env = vec![
        ("AUTH_DATABASE_URL", db.url()),
        ("AUTH_MAIL_DIR", mail.0.as_str()),
        ("AUTH_ADMIN_TOKEN", ADMIN_TOKEN),
    ];
    env.extend(SETTINGS);
    let server = Server::start(&options.binary, &env).await;
    let load = Load::prepare(&server.base, &server.ws_url(None), &key[..1]).await;
    let probe = DbProbe::new(db.url()).await;
    let client = super::load::client();
    let seconds = options.minutes * 60.0;
    let window = Duration::from_secs(options.sample_seconds.max(1));
    let windows = (seconds / window.as_secs_f64()).floor() as u32;
    eprintln!(
        "[soak {name}] {:.0} s at {} ops/s, a sample every {} s",
        seconds,
        options.rate,
        window.as_secs()
    );
    load.take_window();
    let started = Instant::now();
    let until = started + window * windows;
    let driver = tokio::spawn(drive(load.clone(), options.rate, until, options.max_in_flight));
    let mut samples = Vec::new();
    for i in 1..=windows {
        let opened = started + window * (i - 1);
        let mut in_use = Vec::new();
        for s in 1..window.as_secs() {
            tokio::time::sleep_until((opened + Duration::from_secs(s)).into()).await;
            if let Some((_, used)) = pool(&client, &server.base).await {
                in_use.push(used);
            }
        }
        tokio::time::sleep_until((opened + window).into()).await;
        let (ops, skipped) = load.take_window();
        let ([rss_mb, rss_anon_mb, rss_file_mb], fds, threads) = process(server.pid());
        let (pool_open, used) = pool(&client, &server.base).await.unwrap_or((f64::NAN, f64::NAN));
        in_use.push(used);
        let finite: Vec<f64> = in_use.into_iter().filter(|v| v.is_finite()).collect();
        let sample = Sample {
            at: (window * i).as_secs_f64(),
            window: window.as_secs_f64(),
            rss_mb,
            rss_anon_mb,
            rss_file_mb,
            fds,
            threads,
            db_mb: probe.size_mb().await,
            audit_mb: probe.table_mb("audit_log").await,
            codes_mb: probe.table_mb("verification_codes").await,
            rows: probe.rows().await,
            pool_open,
            pool_in_use_mean: finite.iter().sum::<f64>() / finite.len().max(1) as f64,
            pool_in_use_max: finite.iter().copied().fold(f64::NAN, f64::max),
            skipped,
            mails: empty_outbox(&mail.0),
            load1: load_average(),
            ops,
        };
        eprintln!(
            "[soak {name}] {:>5.0} s: RSS {:.1} MB, {} fds, {} threads, db {:.2} MB (audit {:.2}), \
             pool {}/{:.1}, {:.1} ops/s, errors {}, p99 ms {:?}",
            sample.at,
            sample.rss_mb,
            sample.fds,
            sample.threads,
            sample.db_mb,
            sample.audit_mb,
            sample.pool_open,
            sample.pool_in_use_mean,
            sample.ops.iter().map(|o| o.done as f64).sum::<f64>() / sample.window,
            sample.ops.iter().map(|o| o.errors).sum::<u64>(),
            sample.ops.map(|o| (o.p99_ms * 10.0).round() / 10.0),
        );
        samples.push(sample);
    }
    driver.await.unwrap();
    let autovacuum = probe.autovacuum().await;
    drop(server);
    Run {
        name,
        key,
        samples,
        seconds: (window * windows).as_secs_f64(),
        autovacuum,
    }
}
