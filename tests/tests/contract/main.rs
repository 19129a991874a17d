//! The contract suite in-process: every scenario of `auth-qa`, on SQLite
//! and on PostgreSQL, as tests `group::name::sqlite` and
//! `group::name::postgres` (a libtest-compatible harness: filters,
//! `--exact`, `--list`, `--test-threads` work as usual).
//!
//! In-process every need of a scenario can be met (settings, a second
//! instance, the database), so a scenario that skips here fails, with its
//! reason: nothing ends early in silence.
//!
//! With `AUTH_QA_WRITE_COVERAGE=1`, a full run also rewrites
//! `crates/auth-qa/coverage.txt` (which seed endpoints each scenario
//! exercises; `auth-qa --list` shows it). Without, the run checks that
//! every scenario has its line there.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use auth_contract_tests::{TestBackend, target};
use auth_qa::runner::{self, Outcome};
use libtest_mimic::{Arguments, Failed, Trial};

type Coverage = Arc<Mutex<BTreeMap<String, BTreeSet<String>>>>;

fn main() {
    let args = Arguments::from_args();
    runner::install_panic_hook(true);
    let scenarios = auth_qa::all();
    let coverage: Coverage = Arc::default();
    let mut trials = Vec::new();
    for scenario in &scenarios {
        for (backend, name) in [
            (TestBackend::Sqlite, "sqlite"),
            (TestBackend::Postgres, "postgres"),
        ] {
            let scenario = *scenario;
            let coverage = coverage.clone();
            trials.push(Trial::test(format!("{}::{name}", scenario.id()), move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .unwrap();
                let target = target(backend);
                let result = runtime.block_on(runner::run_one(scenario, &target, Duration::from_secs(600)));
                coverage
                    .lock()
                    .unwrap()
                    .entry(scenario.id())
                    .or_default()
                    .extend(target.touched().into_iter().map(str::to_owned));
                // Servers and fakes stop with their runtime.
                runtime.shutdown_timeout(Duration::from_secs(2));
                match result.outcome {
                    Outcome::Passed => Ok(()),
                    Outcome::Skipped(reason) => Err(Failed::from(format!(
                        "skipped in-process, where every need can be met: {reason}"
                    ))),
                    Outcome::Failed { message, exchanges } => {
                        Err(Failed::from(runner::failure_text(&message, &exchanges)))
                    }
                }
            }));
        }
    }
    let filtered = args.filter.is_some() || !args.skip.is_empty() || args.list;
    let conclusion = libtest_mimic::run(&args, trials);
    if !conclusion.has_failed() && !args.list {
        check_coverage(&scenarios, &coverage.lock().unwrap(), filtered);
    }
    conclusion.exit();
}

/// Writes (`AUTH_QA_WRITE_COVERAGE=1`: the scenarios that ran replace
/// their lines) or, after a full run, checks `coverage.txt`.
fn check_coverage(
    scenarios: &[auth_qa::Scenario],
    recorded: &BTreeMap<String, BTreeSet<String>>,
    filtered: bool,
) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../crates/auth-qa/coverage.txt");
    if std::env::var("AUTH_QA_WRITE_COVERAGE").is_ok_and(|v| v == "1") {
        let known: BTreeSet<String> = scenarios.iter().map(auth_qa::Scenario::id).collect();
        let mut merged = auth_qa::seeds::parse(&std::fs::read_to_string(path).unwrap_or_default());
        merged.retain(|id, _| known.contains(id));
        merged.extend(recorded.iter().map(|(k, v)| (k.clone(), v.clone())));
        std::fs::write(path, auth_qa::seeds::render(&merged)).unwrap();
        eprintln!("wrote {path}");
        return;
    }
    if filtered {
        return;
    }
    let committed = auth_qa::seeds::coverage();
    let missing: Vec<String> = scenarios
        .iter()
        .map(auth_qa::Scenario::id)
        .filter(|id| !committed.contains_key(id))
        .collect();
    if !missing.is_empty() {
        eprintln!(
            "crates/auth-qa/coverage.txt lacks {} scenarios ({}); regenerate it with \
             AUTH_QA_WRITE_COVERAGE=1 cargo test -p auth-contract-tests --test contract",
            missing.len(),
            missing.join(", ")
        );
        std::process::exit(101);
    }
}
