//! `soak-bench` (`just soak`): a long run at a level mixed load on each
//! backend, watching for drift. A benchmark, not a test: it writes the
//! series (CSV), a chart per backend (SVG, drawn by this program) and the
//! table of slopes into `docs/`, and asserts nothing.
//!
//! Per backend (SQLite on a throwaway file, PostgreSQL on a throwaway
//! database): the release `auth-server` starts as a child process with the
//! settings of `auth_bench::soak::run::SETTINGS`; 32 users sign up and 16
//! sessions log in; then for `--minutes` operations start at `--rate` per
//! second in a fixed cycle (logins, rotations, token checks, code sends,
//! socket churn, admin searches; `auth_bench::soak::load`), and every
//! `--sample-seconds` the server's RSS, file descriptors, threads, the
//! database size, its pool gauges and the p50/p99 of each operation over
//! the window are recorded. Each series gets a least-squares line over the
//! last two thirds of the run: its slope per hour, with a 95 % interval.
//!
//! Usage: `soak-bench [--minutes 30] [--backend sqlite|postgres|both]
//! [--sample-seconds 10] [--rate 40] [--max-in-flight 64] [--server PATH]
//! [--out docs/performance.md] [--dir docs/soak]`.
//!
//! PostgreSQL is found as in the test suite (`AUTH_TEST_POSTGRES_URL`, or
//! a server on 127.0.0.1:5432).
// A benchmark harness: failing loudly on any unexpected state is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use auth_bench::soak::report::{TOLERANCE, columns, csv, svg, table};
use auth_bench::soak::run::{Options, Run, SETTINGS, soak};
use auth_bench::soak::{OPS, load};
use auth_bench::{arg, machine, write_section};
use auth_contract_tests::TestBackend;

/// The run length `just soak` uses.
const DEFAULT_MINUTES: &str = "30";

fn main() {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(run());
}

async fn run() {
    let options = Options {
        binary: arg("--server", "target/release/auth-server"),
        minutes: arg("--minutes", DEFAULT_MINUTES)
            .parse()
            .expect("--minutes: a number"),
        sample_seconds: arg("--sample-seconds", "10")
            .parse()
            .expect("--sample-seconds: whole seconds"),
        rate: arg("--rate", "40")
            .parse()
            .expect("--rate: operations per second"),
        max_in_flight: arg("--max-in-flight", "64")
            .parse()
            .expect("--max-in-flight: a count"),
    };
    assert!(options.rate > 0.0, "--rate must be positive");
    let out = arg("--out", "docs/performance.md");
    let dir = arg("--dir", "docs/soak");
    let backend = arg("--backend", "both");
    let backends = match backend.as_str() {
        "sqlite" => vec![TestBackend::Sqlite],
        "postgres" => vec![TestBackend::Postgres],
        "both" => vec![TestBackend::Sqlite, TestBackend::Postgres],
        other => panic!("--backend {other:?}: sqlite, postgres or both"),
    };
    std::fs::create_dir_all(&dir).unwrap();
    // Links from the document to the files beside it.
    let link_dir = Path::new(&out)
        .parent()
        .and_then(|docs| Path::new(&dir).strip_prefix(docs).ok())
        .map_or_else(|| dir.clone(), |p| p.display().to_string());
    let mut body = preamble(&options, &backend);
    for backend in backends {
        let run = soak(&options, backend).await;
        body.push_str(&section(&options, &run, &dir, &link_dir));
        eprintln!("{body}");
    }
    write_section(&out, "soak", &body);
    eprintln!("figures written to {out} and {dir}/");
}

/// What ran, how it was sampled and how the verdicts are reached.
fn preamble(o: &Options, backend: &str) -> String {
    let shortened = if format!("{}", o.minutes) == DEFAULT_MINUTES {
        String::new()
    } else {
        format!(" (shortened: `just soak` runs {DEFAULT_MINUTES} minutes per backend by default)")
    };
    let mut text = format!(
        "Measured {date} on {machine}, release build, loopback (`soak-bench --minutes {m} \
         --backend {backend} --sample-seconds {s} --rate {r}`): {m} minutes per backend{shortened}.\n\n\
         Load: {r} operations started per second, open loop (the next starts on schedule whatever the \
         answers; a tick is dropped, and counted, only when {max} are still in flight), in a fixed cycle of \
         20 giving each its share; {users} users signed up beforehand, {slots} sessions held (logins replace \
         one, leaving the old session to expire; rotations and token checks use one):\n\n\
         | operation | share | per second |\n|---|---:|---:|\n",
        date = chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        machine = machine(),
        m = o.minutes,
        s = o.sample_seconds,
        r = o.rate,
        max = o.max_in_flight,
        users = load::USERS,
        slots = load::SLOTS,
    );
    for op in OPS {
        text.push_str(&format!(
            "| {} | {}/20 | {:.1} |\n",
            op.what(),
            op.share(),
            o.rate * f64::from(op.share()) / 20.0
        ));
    }
    let settings: Vec<String> = SETTINGS.iter().map(|(k, v)| format!("`{k}={v}`")).collect();
    text.push_str(&format!(
        "\nServer: the release `auth-server` as a child process, defaults (pool of 8, metrics on) \
         except {}. The scheduled purge runs every 15 s instead of hourly, and sessions, refresh records \
         and codes live seconds instead of days, so that expired rows are deleted within the first third \
         and the database can level off. The audit trail (a row per login and per notification) is kept \
         `AUTH_AUDIT_RETENTION_DAYS` (365) days, so it grows for the whole run by design. Codes are kept \
         10 minutes after they are sent whatever their lifetime (the sign-up window: a checked `SIGN_UP` \
         code admits a sign-up for 10 minutes; not a setting), so the codes table fills for the first 10 \
         minutes of any run and levels after that. The tables give the database with and without those \
         two. Mail goes to the file outbox in a temporary folder, emptied at every sample.\n\n\
         Every {s} s: the server's RSS (`/proc/PID/status`, also split into anonymous and file-backed), \
         open file descriptors (`/proc/PID/fd`) and threads; the database's size (SQLite: the file and \
         its WAL; PostgreSQL: `pg_database_size`); `auth_db_pool_connections` and \
         `auth_db_pool_in_use_connections` off `/metrics` (in use: read every second, mean and largest); \
         the p50 and p99 of each operation completed in the window; and, to read the latencies by, the \
         machine's 1-minute load average (`/proc/loadavg`: every process of the shared machine, not only \
         ours; the CSV also counts the rows of the churning tables). Each series gets a least-squares \
         line over the samples of the last two thirds (the first third, shaded in the charts, is warm-up \
         and the filling of the lifetimes): its slope per hour with a 95 % confidence interval (Student's \
         t; it assumes independent samples, and consecutive samples are correlated, so the interval is if \
         anything too narrow and the verdict leans to \"grows\"). Verdict: flat when the interval \
         contains zero, or when an hour at the fitted slope changes the level by less than {tol:.0} %; \
         otherwise grows or falls. A slope fitted over minutes and quoted per hour is an extrapolation: \
         it says whether anything moves once the load is level, not what an hour would do.\n",
        settings.join(", "),
        s = o.sample_seconds,
        tol = TOLERANCE * 100.0,
    ));
    text
}

/// One backend's files and its part of the document.
fn section(o: &Options, run: &Run, dir: &str, link_dir: &str) -> String {
    let cols = columns(&run.samples);
    let from = run.seconds / 3.0;
    let subtitle = format!(
        "{} min at {} ops/s, a sample every {} s; release auth-server, {}",
        run.seconds / 60.0,
        o.rate,
        o.sample_seconds,
        machine()
    );
    let title = format!("soak-bench, {}", run.name);
    std::fs::write(format!("{dir}/{}.csv", run.key), csv(&run.samples, &cols)).unwrap();
    std::fs::write(
        format!("{dir}/{}.svg", run.key),
        svg(&title, &subtitle, &run.samples, &cols, run.seconds),
    )
    .unwrap();
    let (rows, drifting) = table(&run.samples, &cols, from);
    let total = |f: &dyn Fn(&auth_bench::soak::Sample) -> u64| run.samples.iter().map(f).sum::<u64>();
    let done = total(&|s| s.ops.iter().map(|o| o.done).sum());
    let errors = total(&|s| s.ops.iter().map(|o| o.errors).sum());
    let skipped = total(&|s| s.skipped);
    let mails = total(&|s| s.mails);
    let last = run.samples.last().map(|s| s.rows).unwrap_or_default();
    let autovacuum = run.autovacuum.as_ref().map_or(String::new(), |a| {
        format!(
            " The PostgreSQL server's `autovacuum` is `{a}` (the purge vacuums the tables it deletes from)."
        )
    });
    let verdict = if drifting.is_empty() {
        "Every fitted series is flat over the last two thirds.".to_owned()
    } else {
        let labels: Vec<String> = cols
            .iter()
            .filter(|c| drifting.contains(&c.key))
            .map(|c| c.label.clone())
            .collect();
        format!("Not flat over the last two thirds: {}.", labels.join("; "))
    };
    format!(
        "\n### {name}\n\n![soak-bench, {name}: RSS, file descriptors, threads, database size, pool, \
         operations per second, p50 and p99 over time]({link_dir}/{key}.svg)\n\n\
         Series: [`{link_dir}/{key}.csv`]({link_dir}/{key}.csv), {n} samples. {done} operations \
         completed ({rate:.1}/s), {errors} failed, {skipped} ticks dropped; {mails} mails written and \
         removed. Rows at the end: {} sessions, {} refresh records, {} codes, {} audit \
         events.{autovacuum}\n\n{rows}\n{verdict}\n",
        last[0],
        last[1],
        last[2],
        last[3],
        name = run.name,
        key = run.key,
        n = run.samples.len(),
        rate = done as f64 / run.seconds.max(1.0),
    )
}
