//! Running scenarios: each ends passed, failed (with the message and the
//! last requests and responses) or skipped (with what it needs).

use std::cell::RefCell;
use std::fmt::Write as _;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Once;
use std::time::{Duration, Instant};

use futures_util::FutureExt;

use crate::target::{Exchange, Skip, Target};

/// A scenario's body.
pub type ScenarioFn = for<'a> fn(&'a Target) -> Pin<Box<dyn Future<Output = ()> + 'a>>;

/// One scenario of the suite.
#[derive(Clone, Copy)]
pub struct Scenario {
    /// Its group: the file it is written in (`session`, `abuse`, …).
    pub group: &'static str,
    /// Its name within the group.
    pub name: &'static str,
    /// Its body.
    pub run: ScenarioFn,
}

impl std::fmt::Debug for Scenario {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Scenario({})", self.id())
    }
}

impl Scenario {
    /// A scenario from `module_path!()` of its file and its function.
    pub fn new(module: &'static str, name: &'static str, run: ScenarioFn) -> Self {
        let group = module.rsplit("::").next().unwrap_or(module);
        Self { group, name, run }
    }

    /// `group::name`.
    pub fn id(&self) -> String {
        format!("{}::{}", self.group, self.name)
    }
}

/// How a scenario ended.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Every assertion held.
    Passed,
    /// It failed: the panic message (with where) and the last exchanges.
    Failed {
        /// The assertion or error message.
        message: String,
        /// The last requests and responses before it failed.
        exchanges: Vec<Exchange>,
    },
    /// It did not run: what it needs.
    Skipped(String),
}

/// A scenario's result.
#[derive(Debug, Clone)]
pub struct Result {
    /// The scenario.
    pub scenario: Scenario,
    /// How it ended.
    pub outcome: Outcome,
    /// How long it took.
    pub elapsed: Duration,
}

thread_local! {
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

static HOOK: Once = Once::new();

/// Installs (once) a panic hook that keeps the message of a failing
/// assertion for the report, stays silent for skips, and, when `echo`,
/// also prints failures the way the default hook does.
pub fn install_panic_hook(echo: bool) {
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if info.payload().downcast_ref::<Skip>().is_some() {
                return;
            }
            let message = describe(info.payload());
            let location = info.location().map(|l| format!(" at {l}")).unwrap_or_default();
            LAST_PANIC.with(|p| *p.borrow_mut() = Some(format!("{message}{location}")));
            if echo {
                default(info);
            }
        }));
    });
}

/// The message of a panic payload.
fn describe(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "(panic without a message)".to_owned())
}

/// Runs `scenario` against `target` (a fresh target: its exchange log is
/// the scenario's own), within `limit`.
pub async fn run_one(scenario: Scenario, target: &Target, limit: Duration) -> Result {
    let started = Instant::now();
    LAST_PANIC.with(|p| p.borrow_mut().take());
    let body = AssertUnwindSafe((scenario.run)(target)).catch_unwind();
    let outcome = match tokio::time::timeout(limit, body).await {
        Err(_) => Outcome::Failed {
            message: format!("did not finish within {} s", limit.as_secs()),
            exchanges: target.last_exchanges(),
        },
        Ok(Ok(())) => Outcome::Passed,
        Ok(Err(payload)) => match payload.downcast_ref::<Skip>() {
            Some(Skip(reason)) => Outcome::Skipped(reason.clone()),
            None => Outcome::Failed {
                message: LAST_PANIC
                    .with(|p| p.borrow_mut().take())
                    .unwrap_or_else(|| describe(&*payload)),
                exchanges: target.last_exchanges(),
            },
        },
    };
    Result {
        scenario,
        outcome,
        elapsed: started.elapsed(),
    }
}

/// A failure as text: the message, then the last exchanges.
pub fn failure_text(message: &str, exchanges: &[Exchange]) -> String {
    let mut out = format!("{message}\n");
    if !exchanges.is_empty() {
        out.push_str("last requests (oldest first):\n");
    }
    for e in exchanges {
        let _ = writeln!(out, "  → {}", e.request);
        if !e.request_body.is_empty() {
            let _ = writeln!(out, "    {}", e.request_body);
        }
        let _ = writeln!(out, "  ← {}", e.status);
        if !e.response_body.is_empty() {
            let _ = writeln!(out, "    {}", e.response_body);
        }
    }
    out
}

fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 cannot carry.
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\r' | '\t') => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// The results as JUnit XML: one `<testsuite>` per group, skipped
/// scenarios as `<skipped message="…"/>`, failures with their report.
pub fn junit(results: &[Result], suite: &str) -> String {
    let mut groups: Vec<&str> = results.iter().map(|r| r.scenario.group).collect();
    groups.sort_unstable();
    groups.dedup();
    let count = |f: &dyn Fn(&Outcome) -> bool, rs: &[&Result]| rs.iter().filter(|r| f(&r.outcome)).count();
    let failed = |o: &Outcome| matches!(o, Outcome::Failed { .. });
    let skipped = |o: &Outcome| matches!(o, Outcome::Skipped(_));
    let all: Vec<&Result> = results.iter().collect();
    let total_time: f64 = results.iter().map(|r| r.elapsed.as_secs_f64()).sum();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"{}\" tests=\"{}\" failures=\"{}\" skipped=\"{}\" errors=\"0\" time=\"{total_time:.3}\">",
        xml(suite),
        results.len(),
        count(&failed, &all),
        count(&skipped, &all),
    );
    for group in groups {
        let members: Vec<&Result> = results.iter().filter(|r| r.scenario.group == group).collect();
        let time: f64 = members.iter().map(|r| r.elapsed.as_secs_f64()).sum();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" skipped=\"{}\" errors=\"0\" time=\"{time:.3}\">",
            xml(group),
            members.len(),
            count(&failed, &members),
            count(&skipped, &members),
        );
        for r in members {
            let _ = write!(
                out,
                "    <testcase classname=\"{}\" name=\"{}\" time=\"{:.3}\"",
                xml(group),
                xml(r.scenario.name),
                r.elapsed.as_secs_f64()
            );
            match &r.outcome {
                Outcome::Passed => out.push_str("/>\n"),
                Outcome::Skipped(reason) => {
                    let _ = writeln!(
                        out,
                        ">\n      <skipped message=\"{}\"/>\n    </testcase>",
                        xml(reason)
                    );
                }
                Outcome::Failed { message, exchanges } => {
                    let first = message.lines().next().unwrap_or_default();
                    let _ = writeln!(
                        out,
                        ">\n      <failure message=\"{}\" type=\"assertion\">{}</failure>\n    </testcase>",
                        xml(first),
                        xml(&failure_text(message, exchanges))
                    );
                }
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}
