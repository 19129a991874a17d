//! `load-bench`: how close the service runs to the machine's limits. A
//! benchmark, not a test: it prints figures and writes them into
//! `docs/performance.md` between its markers; nothing in it is a pass/fail
//! assertion on time.
//!
//! For each backend (SQLite on a throwaway file, PostgreSQL on a throwaway
//! database) it starts the release `auth-server` (loopback only; rate limits,
//! login throttling and the sign-up email gate off, production log level
//! `info` with stdout discarded), and measures in one run:
//! 1. start → ready: the first start (migrations applied) and the median of
//!    `--restarts` restarts on the same database; idle RSS after each;
//! 2. the argon2 ceiling of this machine, in this process: one thread per
//!    core verifying a password with the service's parameters
//!    (`argon2::Argon2::default()`, m=19456 KiB, t=2, p=1), each reusing one
//!    work area (the fastest way to run it);
//! 3. password-login throughput at saturation (`standard`
//!    `POST /api/auth/login`, 4 clients per core), in rounds interleaved with
//!    (2), so drift on the shared machine hits both;
//! 4. refresh latency (`standard` `POST /api/auth/reissue-token`, one
//!    client, one rotation every 5 ms), alone and while a login flood as in
//!    (3) runs, interleaved;
//!    on PostgreSQL also against a second server whose connections commit
//!    with `synchronous_commit=off`, as a control that shows how much of the
//!    difference is the WAL flush the logins' own commits queue up;
//! 5. a token-only request (`GET /api/auth/me`: verify the access token,
//!    answer from its claims) against a bare actix-web JSON handler that this
//!    binary serves itself (`--bare-server`, a separate process with the same
//!    worker count), interleaved, both driven by the same minimal keep-alive
//!    HTTP/1.1 client;
//! 6. refresh throughput (each refresh is a database write: rotation), with
//!    4 sessions per core refreshing concurrently;
//! 7. idle RSS again after all of the above has settled.
//!
//! Ratios are of medians over `--rounds` interleaved rounds of `--seconds`
//! each. `--oidc` measures the OpenID provider's token endpoint instead
//! (`client_credentials` grants/s and authorization-code exchanges/s; see
//! `oidc.rs`), `--scale` the cost of a filled database (`scale.rs`).
//! Usage (see `just bench`):
//! `cargo run --release -p auth-bench --bin load-bench -- [--seconds S] [--rounds N] [--restarts N] [--backends sqlite,postgres] [--server PATH] [--out FILE]`
//!
//! PostgreSQL is found as in the test suite (`AUTH_TEST_POSTGRES_URL`, a
//! server on 127.0.0.1:5432, or a throwaway cluster the harness starts and
//! removes itself; `auth_infra::testdb::postgres_admin_url`).
// A benchmark harness: failing loudly on any unexpected state is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use auth_bench::bare::{Bare, bare_server};
use auth_bench::ceiling::{ceiling, cores, memory_map, stored_hash, threads};
use auth_bench::http::{get_request, hammer};
use auth_bench::{Server, arg, machine, median, ms, percentile, rss_kib, write_section};
use auth_contract_tests::{TestBackend, TestDatabase};
use serde_json::{Value, json};

mod churn;
mod flows;
mod oidc;
mod report;
mod scale;

use churn::*;
use flows::*;
use oidc::*;
use scale::*;

const PASSWORD: &str = "BenchPassword1!";
const SECRET: &str = "load-bench-secret-load-bench-secret";

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--bare-server") {
        bare_server(arg("--port", "0").parse().unwrap());
        return;
    }
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(run());
}

// ---------------------------------------------------------------------------

/// Where the servers' mail goes (nothing is sent: the email gate is off).
fn mail_dir() -> String {
    std::env::temp_dir()
        .join(format!("load-bench-mail-{}", std::process::id()))
        .display()
        .to_string()
}

fn mb(kib: u64) -> String {
    format!("{:.1} MB", kib as f64 * 1024.0 / 1e6)
}

/// Everything measured on one backend.
struct Figures {
    backend: &'static str,
    first_ready: Duration,
    ready: Duration,
    rss_fresh_kib: u64,
    rss_after_kib: u64,
    ceiling: f64,
    logins: f64,
    idle: Vec<Duration>,
    flood: Vec<Duration>,
    /// PostgreSQL with `synchronous_commit=off`: `(idle, flood)`.
    control: Option<(Vec<Duration>, Vec<Duration>)>,
    /// Median over rounds of (p99 during the flood ÷ p99 alone).
    lat_ratio: f64,
    /// Median over rounds of (`/api/auth/me` ÷ bare).
    me_ratio: f64,
    me: f64,
    bare: f64,
    refreshes: f64,
    /// PostgreSQL with `synchronous_commit=off`: rotations per second.
    control_refreshes: Option<f64>,
}

struct Params {
    binary: String,
    seconds: f64,
    rounds: usize,
    restarts: usize,
}

async fn start(params: &Params, url: &str, mail: &str) -> Server {
    start_with(params, url, mail, &[]).await
}

/// [`start`] with extra environment (later entries win).
async fn start_with(params: &Params, url: &str, mail: &str, extra: &[(String, String)]) -> Server {
    let mut env = vec![
        ("AUTH_DATABASE_URL", url),
        ("AUTH_JWT_SECRET", SECRET),
        ("AUTH_JWT_ALGORITHM", "ES256"),
        ("AUTH_MAIL_DIR", mail),
        ("AUTH_SIGNUP_REQUIRE_EMAIL_CODE", "false"),
        ("AUTH_LOGIN_THROTTLE_ENABLED", "false"),
        ("AUTH_RATE_LIMIT_ENABLED", "false"),
        ("RUST_LOG", "info"),
    ];
    env.extend(extra.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    Server::start(&params.binary, &env).await
}

/// Signs up `4 × cores` bench users through `base`.
async fn seed_users(client: &reqwest::Client, base: &str) -> Arc<Vec<String>> {
    let users: Vec<String> = (0..4 * cores()).map(|i| format!("benchuser{i}")).collect();
    let signups: Vec<_> = users
        .iter()
        .map(|u| {
            let (client, base, u) = (client.clone(), base.to_owned(), u.clone());
            tokio::spawn(async move {
                let (status, body) = post(
                    &client,
                    &format!("{base}/api/auth/sign-up"),
                    &json!({"authId": u, "password": PASSWORD, "name": "벤치", "email": format!("{u}@bench.test")}),
                )
                .await;
                assert!(status < 300, "sign-up: {status} {body}");
            })
        })
        .collect();
    for s in signups {
        s.await.unwrap();
    }
    Arc::new(users)
}

/// `--compare 'K=V,K=V|K=V|…'`: the login and refresh-latency rounds of
/// [`measure`], with one server per variant (environment overrides) on one
/// database, the variants taking turns within every round so that drift
/// on the machine hits them all. Returns a Markdown table.
async fn compare(params: &Params, backend: TestBackend, spec: &str) -> String {
    let variants: Vec<(String, Vec<(String, String)>)> = spec
        .split('|')
        .map(|v| {
            let env = v
                .split(',')
                .filter(|kv| !kv.trim().is_empty())
                .map(|kv| {
                    let (k, v) = kv.split_once('=').expect("KEY=VALUE");
                    (k.trim().to_owned(), v.trim().to_owned())
                })
                .collect();
            (
                if v.trim().is_empty() {
                    "defaults".to_owned()
                } else {
                    v.trim().to_owned()
                },
                env,
            )
        })
        .collect();
    let db = TestDatabase::new(backend);
    let mail = mail_dir();
    let mut servers = vec![];
    for (_, env) in &variants {
        servers.push(start_with(params, db.url(), &mail, env).await);
    }
    let client = reqwest::Client::new();
    let users = seed_users(&client, &servers[0].base).await;
    let mut pairs = vec![];
    for s in &servers {
        pairs.push(login(&client, &s.base, &users[0]).await);
    }
    let phc = stored_hash(PASSWORD);
    let n = variants.len();
    let mut ceilings = vec![];
    let mut rounds: Vec<Rounds> = (0..n).map(|_| Rounds::default()).collect();
    for round in 0..params.rounds {
        ceilings.push(ceiling(&phc, PASSWORD, params.seconds).await);
        for k in 0..n {
            let v = (k + round) % n;
            rounds[v]
                .run(&client, &servers[v].base, &users, &mut pairs[v], params.seconds)
                .await;
        }
        eprintln!("[compare] round {round} done");
    }
    let ceiling = median(&mut ceilings);
    let mut table = String::from(
        "| variant | logins / argon2 ceiling | refresh alone p50 / p99 | during the flood p50 / p99 | p99 flood ÷ alone, median of rounds |\n|---|---|---|---|---|\n",
    );
    for ((label, _), mut r) in variants.iter().zip(rounds) {
        r.finish();
        table.push_str(&format!(
            "| {} | {:.0} % | {} / {} | {} / {} | {:.2}× |\n",
            label,
            median(&mut r.logins) / ceiling * 100.0,
            ms(percentile(&r.idle, 50.0)),
            ms(percentile(&r.idle, 99.0)),
            ms(percentile(&r.flood, 50.0)),
            ms(percentile(&r.flood, 99.0)),
            median(&mut r.ratios),
        ));
    }
    drop(servers);
    let _ = std::fs::remove_dir_all(&mail);
    table
}

async fn measure(params: &Params, backend: TestBackend, bare: &Bare) -> Figures {
    let name = match backend {
        TestBackend::Sqlite => "SQLite",
        TestBackend::Postgres => "PostgreSQL",
    };
    let db = TestDatabase::new(backend);
    let mail = mail_dir();
    let settle = Duration::from_millis(1500);

    // 1. Start → ready, idle RSS.
    let url = db.url();
    let first = start(params, url, &mail).await;
    let first_ready = first.ready_in;
    drop(first);
    let (mut readies, mut fresh) = (vec![], vec![]);
    let mut server = None;
    for _ in 0..params.restarts.max(1) {
        drop(server.take());
        let s = start(params, url, &mail).await;
        readies.push(s.ready_in.as_secs_f64());
        tokio::time::sleep(settle).await;
        fresh.push(rss_kib(s.pid()) as f64);
        server = Some(s);
    }
    let server = server.unwrap();
    let base = server.base.clone();
    eprintln!("[{name}] ready in {first_ready:?} (first), restarts {readies:?}");

    // Users and sessions.
    let client = reqwest::Client::new();
    let users = seed_users(&client, &base).await;
    let mut pair = login(&client, &base, &users[0]).await;
    let phc = stored_hash(PASSWORD);

    // 2–4. Ceiling, login flood, refreshes alone and during a flood;
    // interleaved.
    let mut ceilings = vec![];
    let mut rounds = Rounds::default();
    for round in 0..params.rounds {
        ceilings.push(ceiling(&phc, PASSWORD, params.seconds).await);
        rounds
            .run(&client, &base, &users, &mut pair, params.seconds)
            .await;
        eprintln!(
            "[{name}] round {round}: ceiling {:.1}/s, logins {:.1}/s",
            ceilings[round], rounds.logins[round]
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    // 4b. PostgreSQL control: the same latency rounds on a second server
    // whose connections do not wait for the WAL flush at commit
    // (`synchronous_commit=off`; a diagnosis, not a recommendation).
    let mut control = None;
    let mut control_server = None;
    if backend == TestBackend::Postgres {
        let separator = if db.url().contains('?') { '&' } else { '?' };
        let url = format!("{}{separator}options=-c%20synchronous_commit%3Doff", db.url());
        let other = start(params, &url, &mail).await;
        let mut pair = login(&client, &other.base, &users[0]).await;
        let (mut i, mut f) = (vec![], vec![]);
        for _ in 0..params.rounds.min(3) {
            let (a, b) = refresh_round(&client, &other.base, &users, &mut pair, params.seconds).await;
            i.extend(a);
            f.extend(b);
        }
        i.sort();
        f.sort();
        control = Some((i, f));
        control_server = Some(other);
    }

    // 5. Token-only vs bare, interleaved.
    let me_request = get_request("/api/auth/me", Some(&pair.0));
    let bare_request = get_request("/bare", None);
    let addr: SocketAddr = base.trim_start_matches("http://").parse().unwrap();
    let connections = 8 * cores();
    let (mut mes, mut bares, mut me_ratios) = (vec![], vec![], vec![]);
    // Warm-up of both.
    hammer(addr, me_request.clone(), connections, 0.5).await;
    hammer(bare.addr, bare_request.clone(), connections, 0.5).await;
    for round in 0..params.rounds {
        let (first_me, second_me) = (round % 2 == 0, round % 2 == 1);
        if first_me {
            mes.push(hammer(addr, me_request.clone(), connections, params.seconds).await);
        }
        bares.push(hammer(bare.addr, bare_request.clone(), connections, params.seconds).await);
        if second_me {
            mes.push(hammer(addr, me_request.clone(), connections, params.seconds).await);
        }
        eprintln!(
            "[{name}] round {round}: /api/auth/me {:.0}/s, bare {:.0}/s",
            mes[round], bares[round]
        );
        me_ratios.push(mes[round] / bares[round]);
    }

    // 6. Refresh throughput.
    let mut pairs = fresh_pairs(&client, &base, &users).await;
    let mut refreshes = vec![];
    // On PostgreSQL, the same rotations on the control server (no WAL
    // flush at commit), taking turns with the real one: how much of the
    // write path's limit is the flush itself.
    let mut control_refreshes = vec![];
    for round in 0..params.rounds {
        let control_first = round % 2 == 1;
        if let (Some(other), true) = (&control_server, control_first) {
            control_refreshes.push(control_rotations(&client, &other.base, &users, params.seconds).await);
        }
        refreshes.push(refresh_throughput(&base, pairs.clone(), params.seconds).await);
        if let (Some(other), false) = (&control_server, control_first) {
            control_refreshes.push(control_rotations(&client, &other.base, &users, params.seconds).await);
        }
        // The pairs were rotated: log in afresh for the next round.
        pairs = fresh_pairs(&client, &base, &users).await;
    }
    drop(control_server);
    eprintln!("[{name}] refresh throughput {refreshes:?}, control (no WAL flush) {control_refreshes:?}");

    // 7. Idle again: after the idle threads of the runtimes' blocking pools
    // have exited (tokio keeps them 10 s) and the hashing threads have
    // handed their work areas back (1 s).
    let mut rss_trace = vec![];
    let quiet = Instant::now();
    for at in [1u64, 5, 12] {
        tokio::time::sleep_until((quiet + Duration::from_secs(at)).into()).await;
        rss_trace.push((at, rss_kib(server.pid()), threads(server.pid())));
    }
    eprintln!("[{name}] after the load: (s, RSS KiB, threads) {rss_trace:?}");
    eprintln!("[{name}] where the RSS is: {}", memory_map(server.pid()));
    let rss_after_kib = rss_trace.last().unwrap().1;
    drop(server);
    let _ = std::fs::remove_dir_all(&mail);
    rounds.finish();
    Figures {
        backend: name,
        first_ready,
        ready: Duration::from_secs_f64(median(&mut readies)),
        rss_fresh_kib: median(&mut fresh) as u64,
        rss_after_kib,
        ceiling: median(&mut ceilings),
        logins: median(&mut rounds.logins),
        lat_ratio: median(&mut rounds.ratios),
        idle: rounds.idle,
        flood: rounds.flood,
        control,
        me_ratio: median(&mut me_ratios),
        me: median(&mut mes),
        bare: median(&mut bares),
        refreshes: median(&mut refreshes),
        control_refreshes: (!control_refreshes.is_empty()).then(|| median(&mut control_refreshes)),
    }
}

/// Rotation throughput on `base` with fresh logins, 4 sessions per core.
async fn control_rotations(client: &reqwest::Client, base: &str, users: &[String], seconds: f64) -> f64 {
    refresh_throughput(base, fresh_pairs(client, base, users).await, seconds).await
}

/// A fresh login on `base` for 4 sessions per core, cycling over `users`.
async fn fresh_pairs(client: &reqwest::Client, base: &str, users: &[String]) -> Vec<(String, String)> {
    let mut pairs = vec![];
    for i in 0..4 * cores() {
        pairs.push(login(client, base, &users[i % users.len()]).await);
    }
    pairs
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "**not met**" }
}

async fn run() {
    let params = Params {
        binary: arg("--server", "target/release/auth-server"),
        seconds: arg("--seconds", "3").parse().unwrap(),
        rounds: arg("--rounds", "5").parse().unwrap(),
        restarts: arg("--restarts", "5").parse().unwrap(),
    };
    let out = arg("--out", "docs/performance.md");
    let backends = arg("--backends", "sqlite,postgres");
    let compared = arg("--compare", "");
    if std::env::args().any(|a| a == "--scale") {
        run_scale(&params, &out, &backends).await;
        return;
    }
    if std::env::args().any(|a| a == "--oidc") {
        let codes: usize = arg("--codes", "3000").parse().unwrap();
        let mut figures = vec![];
        for backend in backends.split(',') {
            let backend = match backend.trim() {
                "sqlite" => TestBackend::Sqlite,
                "postgres" => TestBackend::Postgres,
                other => panic!("unknown backend {other:?}: sqlite or postgres"),
            };
            figures.push(measure_oidc(&params, backend, codes).await);
        }
        let body = oidc_report(&params, &mut figures);
        eprintln!("{body}");
        write_section(&out, "load-bench-oidc", &body);
        eprintln!("figures written to {out}");
        return;
    }
    if !compared.is_empty() {
        let mut body = format!(
            "Measured {date} on {machine}, release build, loopback (`load-bench --compare '{compared}' \
             --backends {backends} --seconds {s} --rounds {r}`): {r} rounds of {s} s, the variants taking turns \
             within each round.\n",
            date = chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
            machine = machine(),
            s = params.seconds,
            r = params.rounds,
        );
        for backend in backends.split(',') {
            let (name, backend) = match backend.trim() {
                "sqlite" => ("SQLite", TestBackend::Sqlite),
                "postgres" => ("PostgreSQL", TestBackend::Postgres),
                other => panic!("unknown backend {other:?}: sqlite or postgres"),
            };
            body.push_str(&format!(
                "\n{name}:\n\n{}",
                compare(&params, backend, &compared).await
            ));
        }
        eprintln!("{body}");
        write_section(&out, "load-bench-compare", &body);
        eprintln!("figures written to {out}");
        return;
    }
    let bare = Bare::start().await;
    let mut figures = vec![];
    for backend in backends.split(',') {
        let backend = match backend.trim() {
            "sqlite" => TestBackend::Sqlite,
            "postgres" => TestBackend::Postgres,
            other => panic!("unknown backend {other:?}: sqlite or postgres"),
        };
        figures.push(measure(&params, backend, &bare).await);
    }
    let body = report::report(&params, &figures);
    eprintln!("{body}");
    write_section(&out, "load-bench", &body);
    eprintln!("figures written to {out}");
}
