//! The QA runner: the scenarios against one deployment (`auth-qa`).
//!
//! The deployment is expected to run the staging profile
//! ([`staging_profile`], `docs/qa.md`): scenarios that need other settings,
//! a second instance or the database are skipped, each with its reason.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use clap::Parser;

use crate::mail::{MailDir, MailReader, Mailpit, SmtpSink};
use crate::oauth::FakeProvider;
use crate::runner::{self, Outcome, Scenario};
use crate::seeds;
use crate::target::{Address, Config, Deployment, Server, Target, skip};

/// `auth-qa`: the contract suite against a running deployment.
#[derive(Debug, Clone, Parser)]
#[command(name = "auth-qa", version, about, long_about = None)]
pub struct Options {
    /// The deployment's base URL (e.g. `https://auth.staging.example.com`).
    #[arg(long, value_name = "URL", required_unless_present_any = ["list"])]
    pub base_url: Option<String>,
    /// The deployment's `AUTH_PUBLIC_URL`, when it differs from the base
    /// URL (a proxy in between).
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,
    /// The deployment's `AUTH_ADMIN_TOKEN` (admin scenarios are skipped
    /// without it).
    #[arg(
        long,
        value_name = "TOKEN",
        env = "AUTH_QA_ADMIN_TOKEN",
        hide_env_values = true
    )]
    pub admin_token: Option<String>,
    /// Only scenarios exercising these contracts (comma-separated:
    /// chat, session, picsel, account, standard).
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub contracts: Vec<String>,
    /// Only scenarios whose `group::name` contains this text.
    #[arg(long, value_name = "TEXT")]
    pub filter: Option<String>,
    /// Write a JUnit XML report here.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<std::path::PathBuf>,
    /// List the scenarios by seed document and endpoint, with coverage,
    /// and exit.
    #[arg(long)]
    pub list: bool,
    /// Start an SMTP sink here; the deployment's `AUTH_SMTP_URL` must be
    /// `smtp://ADDR` (reachable from the deployment).
    #[arg(long, value_name = "ADDR", conflicts_with_all = ["mailpit", "mail_dir"])]
    pub smtp_bind: Option<String>,
    /// Read mail from a Mailpit-compatible HTTP API at this URL.
    #[arg(long, value_name = "URL", conflicts_with = "mail_dir")]
    pub mailpit: Option<String>,
    /// Read mail from this folder of `.eml` files (the deployment's
    /// `AUTH_MAIL_DIR`, mounted here).
    #[arg(long, value_name = "DIR")]
    pub mail_dir: Option<std::path::PathBuf>,
    /// Start the fake Google/Kakao/Naver here; the deployment's provider
    /// URLs must point at it (`--print-profile` shows them). Without it,
    /// social-login scenarios are skipped.
    #[arg(long, value_name = "ADDR")]
    pub oauth_bind: Option<String>,
    /// The address the deployment reaches `--oauth-bind` on, when it
    /// differs (e.g. `http://qa-runner:9090`).
    #[arg(long, value_name = "URL")]
    pub oauth_url: Option<String>,
    /// Print the settings the deployment must run with for these options
    /// (`KEY=value` lines, an env file) and exit.
    #[arg(long)]
    pub print_profile: bool,
    /// Seconds one scenario may take.
    #[arg(long, value_name = "SECONDS", default_value_t = 120)]
    pub timeout_seconds: u64,
}

/// The settings a deployment runs with for the QA suite, as `AUTH_*`
/// variables, for `options`: the staging profile. Everything not listed
/// stays at its default.
pub fn staging_profile(options: &Options) -> Vec<(String, String)> {
    let base = options
        .base_url
        .clone()
        .unwrap_or_else(|| "http://127.0.0.1:8080".into());
    let public = options.public_url.clone().unwrap_or(base);
    let mut out = vec![
        (
            "AUTH_PUBLIC_URL".to_owned(),
            public.trim_end_matches('/').to_owned(),
        ),
        (
            "AUTH_ADMIN_TOKEN".to_owned(),
            options
                .admin_token
                .clone()
                .unwrap_or_else(|| "<the --admin-token value>".into()),
        ),
        (
            "AUTH_RATE_LIMIT_EXEMPT".to_owned(),
            "<the QA runner's address as the deployment sees it, e.g. 10.0.3.7/32>".to_owned(),
        ),
        (
            "AUTH_LOGIN_IP_MAX_FAILURES".to_owned(),
            LOGIN_IP_MAX_FAILURES.to_owned(),
        ),
    ];
    if let Some(bind) = &options.smtp_bind {
        out.push(("AUTH_SMTP_URL".to_owned(), format!("smtp://{bind}")));
    }
    if let Some(oauth) = oauth_base(options) {
        out.extend(FakeProvider::settings_for(&oauth, &public_url(options)));
    }
    out
}

/// The per-IP login failure budget of the staging profile: the suite signs
/// in (and fails to, on purpose) from one address, far more than the
/// production default of 20 a window.
pub const LOGIN_IP_MAX_FAILURES: &str = "1000000";

fn public_url(options: &Options) -> String {
    options
        .public_url
        .clone()
        .or_else(|| options.base_url.clone())
        .unwrap_or_default()
        .trim_end_matches('/')
        .to_owned()
}

fn oauth_base(options: &Options) -> Option<String> {
    options
        .oauth_url
        .clone()
        .or_else(|| options.oauth_bind.as_ref().map(|b| format!("http://{b}")))
        .map(|u| u.trim_end_matches('/').to_owned())
}

/// `KEY=value` for a skip reason: secrets (keys, tokens, passwords, URLs
/// that may carry credentials) are named, never shown; an empty value is
/// shown as `""`.
fn shown(key: &str, value: &str) -> String {
    let secret = ["SECRET", "TOKEN", "KEY", "PASSWORD", "SMTP_URL", "DATABASE_URL"]
        .iter()
        .any(|s| key.contains(s));
    if secret {
        format!("{key}=<a value of its own>")
    } else if value.is_empty() {
        format!("{key}=\"\"")
    } else {
        format!("{key}={value}")
    }
}

/// One deployment, reached over HTTP.
#[derive(Debug)]
struct Remote {
    base: String,
    public_url: String,
    admin_token: Option<String>,
    profile: BTreeMap<String, String>,
    mail: Option<Arc<dyn MailReader>>,
    oauth: Option<Arc<FakeProvider>>,
}

#[async_trait]
impl Deployment for Remote {
    async fn server(&self, config: &Config, address: Address) -> Server {
        let mut unmet = Vec::new();
        for (key, value) in config.vars() {
            if self.profile.get(key).map(String::as_str) != Some(value) {
                unmet.push(shown(key, value));
            }
        }
        for key in config.removed() {
            if self.profile.contains_key(key) {
                unmet.push(format!("{key} unset"));
            }
        }
        if address == Address::PublicUrlIsBase && self.public_url != self.base {
            unmet.push("AUTH_PUBLIC_URL equal to --base-url".to_owned());
        }
        if !unmet.is_empty() {
            skip(format!(
                "needs server settings outside the staging profile: {}",
                unmet.join(", ")
            ));
        }
        Server {
            base: self.base.clone(),
            public_url: self.public_url.clone(),
            inside: None,
            guard: Box::new(()),
        }
    }

    fn mail(&self) -> Arc<dyn MailReader> {
        match &self.mail {
            Some(m) => m.clone(),
            None => skip("needs the deployment's mail: --smtp-bind, --mailpit or --mail-dir"),
        }
    }

    fn admin_token(&self) -> String {
        match &self.admin_token {
            Some(t) => t.clone(),
            None => skip("needs the admin API: --admin-token (the deployment's AUTH_ADMIN_TOKEN)"),
        }
    }

    async fn oauth(&self) -> Arc<FakeProvider> {
        match &self.oauth {
            Some(fake) => {
                fake.reset();
                fake.clone()
            }
            None => skip(
                "needs the fake OAuth provider: --oauth-bind, with the deployment's provider URLs pointing at it",
            ),
        }
    }

    fn name(&self) -> String {
        self.base.clone()
    }
}

/// The scenarios `options` select, with the contracts each exercises.
fn select(options: &Options) -> Result<Vec<(Scenario, Vec<&'static str>)>, String> {
    for c in &options.contracts {
        if !seeds::CONTRACTS.contains(&c.as_str()) {
            return Err(format!(
                "--contracts: unknown contract {c:?} (one of {})",
                seeds::CONTRACTS.join(", ")
            ));
        }
    }
    let coverage = seeds::coverage();
    let mut out = Vec::new();
    for scenario in crate::all() {
        let contracts = coverage
            .get(&scenario.id())
            .map(|e| seeds::contracts_of(e))
            .unwrap_or_default();
        if !options.contracts.is_empty()
            && !contracts.iter().any(|c| options.contracts.iter().any(|o| o == c))
        {
            continue;
        }
        if let Some(f) = &options.filter
            && !scenario.id().contains(f.as_str())
        {
            continue;
        }
        out.push((scenario, contracts));
    }
    Ok(out)
}

/// `--list`: the seed documents' endpoints, the scenarios exercising each,
/// and the scenarios by group.
pub fn list() -> String {
    let coverage = seeds::coverage();
    let scenarios = crate::all();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} scenarios.\n\nCoverage of the seed documents' endpoints:",
        scenarios.len()
    );
    let files = [
        ("chat", "000"),
        ("session", "001"),
        ("picsel", "002"),
        ("account", "003"),
        ("standard", "004"),
    ];
    let mut uncovered = 0;
    for (contract, seed) in files {
        let _ = writeln!(out, "\n{contract} (seed {seed})");
        for endpoint in seeds::ENDPOINTS.iter().filter(|e| e.contract == contract) {
            let covering: Vec<&String> = coverage
                .iter()
                .filter(|(_, e)| e.contains(endpoint.id))
                .map(|(id, _)| id)
                .collect();
            if covering.is_empty() {
                uncovered += 1;
            }
            let mark = if covering.is_empty() {
                "NOT COVERED"
            } else {
                "covered"
            };
            let _ = writeln!(out, "  {:<44} {mark}: {} scenarios", endpoint.id, covering.len());
            for id in covering.iter().take(6) {
                let _ = writeln!(out, "      {id}");
            }
            if covering.len() > 6 {
                let _ = writeln!(out, "      … and {} more", covering.len() - 6);
            }
        }
    }
    let _ = writeln!(
        out,
        "\n{} of {} seed endpoints covered.\n\nScenarios by group:",
        seeds::ENDPOINTS.len() - uncovered,
        seeds::ENDPOINTS.len()
    );
    let mut groups: BTreeMap<&str, Vec<&Scenario>> = BTreeMap::new();
    for s in &scenarios {
        groups.entry(s.group).or_default().push(s);
    }
    for (group, members) in groups {
        let _ = writeln!(out, "\n{group} ({})", members.len());
        for s in members {
            let contracts = coverage
                .get(&s.id())
                .map(|e| seeds::contracts_of(e))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  {:<70} {}",
                s.name,
                if contracts.is_empty() {
                    "(service)".to_owned()
                } else {
                    contracts.join(",")
                }
            );
        }
    }
    out
}

/// Runs `auth-qa` with `args` (the first is the program name); returns the
/// exit status: 0 when nothing failed, 1 when a scenario failed, 2 for a
/// usage or setup error.
pub async fn main(args: impl IntoIterator<Item = String>) -> i32 {
    let options = match Options::try_parse_from(args) {
        Ok(o) => o,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    if options.print_profile {
        for (k, v) in staging_profile(&options) {
            println!("{k}={v}");
        }
        return 0;
    }
    if options.list {
        print!("{}", list());
        return 0;
    }
    match run(&options).await {
        Ok(results) => i32::from(
            results
                .iter()
                .any(|r| matches!(r.outcome, Outcome::Failed { .. })),
        ),
        Err(e) => {
            eprintln!("auth-qa: {e}");
            2
        }
    }
}

/// Runs the selected scenarios one after the other against the
/// deployment; prints each result, a summary per contract and the
/// failures; writes `--junit`.
///
/// # Errors
/// A usage or setup error (bad option, address in use, report not written).
pub async fn run(options: &Options) -> Result<Vec<runner::Result>, String> {
    let base = options
        .base_url
        .clone()
        .ok_or("--base-url is required")?
        .trim_end_matches('/')
        .to_owned();
    let selected = select(options)?;
    let mail: Option<Arc<dyn MailReader>> = if let Some(bind) = &options.smtp_bind {
        let sink = SmtpSink::start(bind)
            .await
            .map_err(|e| format!("--smtp-bind {bind}: {e}"))?;
        Some(Arc::new(sink))
    } else if let Some(url) = &options.mailpit {
        Some(Arc::new(Mailpit::new(url)))
    } else {
        options
            .mail_dir
            .as_ref()
            .map(|dir| Arc::new(MailDir::new(dir.clone())) as Arc<dyn MailReader>)
    };
    let public_url = public_url(options);
    let oauth = match &options.oauth_bind {
        Some(bind) => Some(Arc::new(
            FakeProvider::start_with(bind, oauth_base(options).as_deref(), &public_url)
                .await
                .map_err(|e| format!("--oauth-bind {bind}: {e}"))?,
        )),
        None => None,
    };
    let profile: BTreeMap<String, String> = staging_profile(options).into_iter().collect();
    let remote: Arc<dyn Deployment> = Arc::new(Remote {
        base: base.clone(),
        public_url,
        admin_token: options.admin_token.clone(),
        profile,
        mail,
        oauth,
    });
    // Reachable at all? Better one clear line than 300 failures.
    let probe = reqwest::Client::new()
        .get(format!("{base}/openapi.json"))
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .map_err(|e| format!("{base} is not reachable: {e}"))?;
    if !probe.status().is_success() {
        return Err(format!("{base}/openapi.json answered {}", probe.status()));
    }
    runner::install_panic_hook(false);
    println!("auth-qa: {} scenarios against {base}", selected.len());
    let mut results = Vec::new();
    let mut by_contract: BTreeMap<&str, [usize; 3]> = BTreeMap::new();
    for (scenario, contracts) in &selected {
        let target = Target::new(remote.clone());
        let result = runner::run_one(*scenario, &target, Duration::from_secs(options.timeout_seconds)).await;
        let (label, slot) = match &result.outcome {
            Outcome::Passed => ("PASS", 0),
            Outcome::Failed { .. } => ("FAIL", 1),
            Outcome::Skipped(_) => ("SKIP", 2),
        };
        let groups: Vec<&str> = if contracts.is_empty() {
            vec!["(service)"]
        } else {
            contracts.clone()
        };
        for c in groups {
            by_contract.entry(c).or_default()[slot] += 1;
        }
        match &result.outcome {
            Outcome::Skipped(reason) => println!("{label} {}  — {reason}", scenario.id()),
            Outcome::Failed { message, .. } => println!(
                "{label} {} ({:.1} s)  — {}",
                scenario.id(),
                result.elapsed.as_secs_f64(),
                message.lines().next().unwrap_or_default()
            ),
            Outcome::Passed => println!(
                "{label} {} ({:.1} s)",
                scenario.id(),
                result.elapsed.as_secs_f64()
            ),
        }
        results.push(result);
    }
    print!("{}", summary(&results, &by_contract));
    if let Some(path) = &options.junit {
        std::fs::write(path, runner::junit(&results, "auth-qa"))
            .map_err(|e| format!("--junit {}: {e}", path.display()))?;
        println!("JUnit report: {}", path.display());
    }
    Ok(results)
}

/// The summary: a table per contract (a scenario counts under every
/// contract it exercises), totals, then each failure in full.
fn summary(results: &[runner::Result], by_contract: &BTreeMap<&str, [usize; 3]>) -> String {
    let mut out = String::from("\ncontract     passed  failed  skipped\n");
    let order: Vec<&str> = seeds::CONTRACTS.iter().copied().chain(["(service)"]).collect();
    for c in order {
        if let Some([p, f, s]) = by_contract.get(c) {
            let _ = writeln!(out, "{c:<12} {p:>6}  {f:>6}  {s:>7}");
        }
    }
    let count = |slot: fn(&Outcome) -> bool| results.iter().filter(|r| slot(&r.outcome)).count();
    let _ = writeln!(
        out,
        "{:<12} {:>6}  {:>6}  {:>7}   ({} scenarios)",
        "all",
        count(|o| matches!(o, Outcome::Passed)),
        count(|o| matches!(o, Outcome::Failed { .. })),
        count(|o| matches!(o, Outcome::Skipped(_))),
        results.len()
    );
    let mut reasons: BTreeMap<&str, usize> = BTreeMap::new();
    for r in results {
        if let Outcome::Skipped(reason) = &r.outcome {
            *reasons.entry(reason.as_str()).or_default() += 1;
        }
    }
    if !reasons.is_empty() {
        out.push_str("\nskipped, by reason:\n");
        for (reason, n) in reasons {
            let _ = writeln!(out, "  {n:>4}  {reason}");
        }
    }
    if results
        .iter()
        .any(|r| matches!(r.outcome, Outcome::Failed { .. }))
    {
        out.push_str("\nfailures:\n");
        for r in results {
            if let Outcome::Failed { message, exchanges } = &r.outcome {
                let _ = writeln!(
                    out,
                    "\n--- {}\n{}",
                    r.scenario.id(),
                    runner::failure_text(message, exchanges)
                );
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::shown;

    #[test]
    fn skip_reasons_never_show_secrets() {
        assert_eq!(
            shown("AUTH_JWT_SIGNING_KEY", "-----BEGIN"),
            "AUTH_JWT_SIGNING_KEY=<a value of its own>"
        );
        assert_eq!(
            shown("AUTH_JWT_SECRET", "s3cret"),
            "AUTH_JWT_SECRET=<a value of its own>"
        );
        assert_eq!(
            shown("AUTH_SMTP_URL", "smtp://u:p@h"),
            "AUTH_SMTP_URL=<a value of its own>"
        );
        assert_eq!(shown("AUTH_ACCESS_TTL_SECONDS", "1"), "AUTH_ACCESS_TTL_SECONDS=1");
        assert_eq!(shown("AUTH_TRUSTED_PROXIES", ""), "AUTH_TRUSTED_PROXIES=\"\"");
    }
}
