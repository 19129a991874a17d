//! `--scale` part 2: bounded growth. A sustained churn of logins and
//! refreshes against a server whose rows expire within the run (short
//! access and refresh lifetimes) and whose scheduled purge runs every few
//! seconds; the database size is sampled over time.

use super::*;

/// Rows and bytes at one moment of the churn.
pub(crate) struct Sample {
    pub(crate) at: u64,
    pub(crate) bytes: i64,
    /// The audit table and its indexes: kept for `AUTH_AUDIT_RETENTION_DAYS`
    /// (days, not the minutes of a churn), so they grow during the run by
    /// design; the rest must level off.
    pub(crate) audit_bytes: i64,
    pub(crate) sessions: i64,
    pub(crate) refresh: i64,
    pub(crate) audit: i64,
    pub(crate) logins: u64,
    pub(crate) refreshes: u64,
}

pub(crate) async fn churn(params: &Params, backend: TestBackend, seconds: u64) -> String {
    let name = match backend {
        TestBackend::Sqlite => "SQLite",
        TestBackend::Postgres => "PostgreSQL",
    };
    let db = TestDatabase::new(backend);
    let mail = mail_dir();
    let env: Vec<(String, String)> = [
        ("AUTH_ACCESS_TTL_SECONDS", "10"),
        ("AUTH_REFRESH_TTL_SECONDS", "20"),
        ("AUTH_PURGE_INTERVAL_SECONDS", "5"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let server = start_with(params, db.url(), &mail, &env).await;
    let client = reqwest::Client::new();
    let users = seed_users(&client, &server.base).await;
    let stats = auth_infra::Database::connect(db.url(), 1).await.unwrap();
    let logins = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let refreshes = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let until = Instant::now() + Duration::from_secs(seconds);
    // Each client: log in, rotate the pair 5 times, log in again (the old
    // session is left to expire).
    let tasks: Vec<_> = (0..4 * cores())
        .map(|i| {
            let (client, base, users) = (client.clone(), server.base.clone(), users.clone());
            let (logins, refreshes) = (logins.clone(), refreshes.clone());
            tokio::spawn(async move {
                let mut k = i;
                while Instant::now() < until {
                    let mut pair = login(&client, &base, &users[k % users.len()]).await;
                    logins.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    for _ in 0..5 {
                        pair = reissue(&client, &base, &pair).await;
                        refreshes.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                    k += 1;
                }
            })
        })
        .collect();
    let started = Instant::now();
    let mut samples = vec![];
    let step = (seconds / 12).max(5);
    let audit_sql = match backend {
        TestBackend::Sqlite => {
            "SELECT CAST(COALESCE(SUM(pgsize), 0) AS TEXT) AS value FROM dbstat \
             WHERE name IN (SELECT name FROM sqlite_master WHERE tbl_name = 'audit_log')"
        }
        TestBackend::Postgres => "SELECT pg_total_relation_size('audit_log')::text AS value",
    };
    let mut at = 0;
    while at <= seconds {
        tokio::time::sleep_until((started + Duration::from_secs(at)).into()).await;
        let bytes = match backend {
            TestBackend::Sqlite => i64::try_from(sqlite_bytes(db.url())).unwrap(),
            TestBackend::Postgres => stats.database_bytes().await.unwrap(),
        };
        let audit_bytes = stats.raw_strings(audit_sql).await.unwrap()[0].parse().unwrap();
        samples.push(Sample {
            at,
            bytes,
            audit_bytes,
            sessions: stats.count_rows("sessions").await.unwrap(),
            refresh: stats.count_rows("refresh_tokens").await.unwrap(),
            audit: stats.count_rows("audit_log").await.unwrap(),
            logins: logins.load(std::sync::atomic::Ordering::Relaxed),
            refreshes: refreshes.load(std::sync::atomic::Ordering::Relaxed),
        });
        eprintln!("[churn {name}] {at} s: {} bytes", bytes);
        at += step;
    }
    for t in tasks {
        t.await.unwrap();
    }
    drop(server);
    let _ = std::fs::remove_dir_all(&mail);
    let autovacuum = match backend {
        TestBackend::Sqlite => String::new(),
        TestBackend::Postgres => format!(
            "; the server's `autovacuum` is {}",
            stats
                .raw_strings("SELECT current_setting('autovacuum') AS value")
                .await
                .unwrap()[0]
        ),
    };
    let mut table = format!(
        "{name}, churn of {seconds} s (`AUTH_ACCESS_TTL_SECONDS=10`, `AUTH_REFRESH_TTL_SECONDS=20`, \
         `AUTH_PURGE_INTERVAL_SECONDS=5`; {} clients each logging in and rotating its pair 5 times, over and over{autovacuum}):\n\n\
         | time | database size | without the audit trail | sessions | refresh records | audit rows | logins so far | refreshes so far |\n\
         |---|---|---|---|---|---|---|---|\n",
        4 * cores()
    );
    for s in &samples {
        table.push_str(&format!(
            "| {} s | {:.1} MB | {:.1} MB | {} | {} | {} | {} | {} |\n",
            s.at,
            s.bytes as f64 / 1e6,
            (s.bytes - s.audit_bytes) as f64 / 1e6,
            s.sessions,
            s.refresh,
            s.audit,
            s.logins,
            s.refreshes
        ));
    }
    table
}
