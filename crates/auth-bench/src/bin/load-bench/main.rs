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
//! each. Usage (see `just bench`):
//! `cargo run --release -p auth-contract-tests --bin load-bench -- [--seconds S] [--rounds N] [--restarts N] [--backends sqlite,postgres] [--server PATH] [--out FILE]`
//!
//! PostgreSQL is found as in the test suite (`AUTH_TEST_POSTGRES_URL`, a
//! server on 127.0.0.1:5432, or a throwaway cluster the harness starts and
//! removes itself; `auth_infra::testdb::postgres_admin_url`).
// A benchmark harness: failing loudly on any unexpected state is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use argon2::password_hash::phc::PasswordHash as PhcHash;
use argon2::{Argon2, PasswordHasher as _};
use auth_contract_tests::bench::{Server, arg, machine, ms, percentile, rss_kib, write_section};
use auth_contract_tests::{TestBackend, TestDatabase, free_port};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

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
// The bare baseline: actix-web, default workers, one JSON handler.

fn bare_server(port: u16) {
    use actix_web::{App, HttpResponse, HttpServer, web};
    async fn bare() -> HttpResponse {
        HttpResponse::Ok().json(json!({
            "userId": "1",
            "sessionId": "0190b3c4-0000-7000-8000-000000000000",
            "issuedAt": 1_700_000_000,
            "expiresAt": 1_700_001_800,
        }))
    }
    actix_web::rt::System::new().block_on(async move {
        HttpServer::new(|| App::new().route("/bare", web::get().to(bare)))
            .bind(("127.0.0.1", port))
            .unwrap()
            .run()
            .await
            .unwrap();
    });
}

/// The bare server as a child process, killed on drop.
struct Bare {
    child: Child,
    addr: SocketAddr,
}

impl Bare {
    async fn start() -> Bare {
        let port = free_port();
        let child = Command::new(std::env::current_exe().unwrap())
            .args(["--bare-server", "--port", &port.to_string()])
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !client
            .get(format!("http://{addr}/bare"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            assert!(Instant::now() < deadline, "bare server not ready in 10 s");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        Bare { child, addr }
    }
}

impl Drop for Bare {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------
// A minimal keep-alive HTTP/1.1 load client (what wrk does): one request
// written, one response read, per connection, until the deadline.

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// `(status, content-length)` of a response head.
fn parse_head(head: &[u8]) -> (u16, usize) {
    let text = std::str::from_utf8(head).unwrap();
    let status = text[9..12].parse().unwrap();
    let length = text
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().unwrap())
        })
        .unwrap_or(0);
    (status, length)
}

/// Requests answered 200 and otherwise, over one connection.
async fn hammer_one(addr: SocketAddr, request: Arc<Vec<u8>>, until: Instant) -> (u64, u64) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.set_nodelay(true).unwrap();
    let mut buf = vec![0u8; 16 * 1024];
    let (mut ok, mut other) = (0, 0);
    while Instant::now() < until {
        stream.write_all(&request).await.unwrap();
        let mut filled = 0;
        let (status, total) = loop {
            let n = stream.read(&mut buf[filled..]).await.unwrap();
            assert!(n > 0, "server closed the connection");
            filled += n;
            if let Some(end) = find(&buf[..filled], b"\r\n\r\n") {
                let (status, length) = parse_head(&buf[..end]);
                break (status, end + 4 + length);
            }
        };
        while filled < total {
            let n = stream.read(&mut buf[filled..]).await.unwrap();
            assert!(n > 0, "server closed the connection");
            filled += n;
        }
        if status == 200 { ok += 1 } else { other += 1 }
    }
    (ok, other)
}

/// Requests per second answered 200 by `connections` keep-alive clients.
async fn hammer(addr: SocketAddr, request: Vec<u8>, connections: usize, seconds: f64) -> f64 {
    let request = Arc::new(request);
    let until = Instant::now() + Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let tasks: Vec<_> = (0..connections)
        .map(|_| tokio::spawn(hammer_one(addr, request.clone(), until)))
        .collect();
    let (mut ok, mut other) = (0, 0);
    for t in tasks {
        let (o, x) = t.await.unwrap();
        ok += o;
        other += x;
    }
    assert_eq!(other, 0, "{other} requests were not answered 200");
    ok as f64 / started.elapsed().as_secs_f64()
}

fn get_request(path: &str, bearer: Option<&str>) -> Vec<u8> {
    let auth = bearer.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}\r\n").into_bytes()
}

// ---------------------------------------------------------------------------
// The service's own flows, through reqwest.

async fn post(client: &reqwest::Client, url: &str, body: &Value) -> (u16, Value) {
    let response = client.post(url).json(body).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// `(access, refresh)` of a `standard` login.
async fn login(client: &reqwest::Client, base: &str, user: &str) -> (String, String) {
    let (status, body) = post(
        client,
        &format!("{base}/api/auth/login"),
        &json!({"username": user, "password": PASSWORD}),
    )
    .await;
    assert_eq!(status, 200, "login: {body}");
    tokens(&body)
}

fn tokens(body: &Value) -> (String, String) {
    (
        body["accessToken"].as_str().unwrap().to_owned(),
        body["refreshToken"].as_str().unwrap().to_owned(),
    )
}

/// One rotation; returns the new pair.
async fn reissue(client: &reqwest::Client, base: &str, pair: &(String, String)) -> (String, String) {
    let (status, body) = post(
        client,
        &format!("{base}/api/auth/reissue-token"),
        &json!({"accessToken": pair.0, "refreshToken": pair.1}),
    )
    .await;
    assert_eq!(status, 200, "reissue: {body}");
    tokens(&body)
}

/// The sum of what `tasks` counted, per second since `started`.
async fn per_second(tasks: Vec<tokio::task::JoinHandle<u64>>, started: Instant) -> f64 {
    let mut done = 0;
    for t in tasks {
        done += t.await.unwrap();
    }
    done as f64 / started.elapsed().as_secs_f64()
}

/// Successful logins per second, `clients` at a time, cycling over `users`.
async fn login_flood(base: String, users: Arc<Vec<String>>, clients: usize, seconds: f64) -> f64 {
    let until = Instant::now() + Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let client = reqwest::Client::new();
    let tasks: Vec<_> = (0..clients)
        .map(|i| {
            let (client, base, users) = (client.clone(), base.clone(), users.clone());
            tokio::spawn(async move {
                let mut done = 0u64;
                let mut k = i;
                while Instant::now() < until {
                    login(&client, &base, &users[k % users.len()]).await;
                    done += 1;
                    k += clients;
                }
                done
            })
        })
        .collect();
    per_second(tasks, started).await
}

/// Latencies of rotations of one session, one every `pace`, until `seconds`
/// pass: a steady trickle, so that the probe itself is no load.
async fn refresh_latencies(
    client: &reqwest::Client,
    base: &str,
    pair: &mut (String, String),
    seconds: f64,
) -> Vec<Duration> {
    let pace = Duration::from_millis(5);
    let until = Instant::now() + Duration::from_secs_f64(seconds);
    let mut samples = Vec::new();
    let mut next = Instant::now();
    while Instant::now() < until {
        let started = Instant::now();
        *pair = reissue(client, base, pair).await;
        samples.push(started.elapsed());
        next += pace;
        tokio::time::sleep_until(next.max(Instant::now()).into()).await;
    }
    samples
}

/// One round of refresh latencies: alone, then during a login flood.
async fn refresh_round(
    client: &reqwest::Client,
    base: &str,
    users: &Arc<Vec<String>>,
    pair: &mut (String, String),
    seconds: f64,
) -> (Vec<Duration>, Vec<Duration>) {
    let idle = refresh_latencies(client, base, pair, seconds).await;
    let flood_task = tokio::spawn(login_flood(base.to_owned(), users.clone(), 4 * cores(), seconds));
    // Let the flood reach saturation before sampling.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let flood = refresh_latencies(client, base, pair, seconds - 0.6).await;
    flood_task.await.unwrap();
    (idle, flood)
}

/// Logins at saturation and refresh latencies of one server, round by round.
#[derive(Default)]
struct Rounds {
    /// Logins per second, one figure per round.
    logins: Vec<f64>,
    /// Refresh latencies alone, every round (sorted by [`Rounds::finish`]).
    idle: Vec<Duration>,
    /// Refresh latencies during a login flood, every round (sorted too).
    flood: Vec<Duration>,
    /// p99 during the flood ÷ p99 alone, one figure per round.
    ratios: Vec<f64>,
}

impl Rounds {
    /// One round: logins at saturation, then refresh latencies alone and
    /// during a login flood.
    async fn run(
        &mut self,
        client: &reqwest::Client,
        base: &str,
        users: &Arc<Vec<String>>,
        pair: &mut (String, String),
        seconds: f64,
    ) {
        self.logins
            .push(login_flood(base.to_owned(), users.clone(), 4 * cores(), seconds).await);
        let (mut idle, mut flood) = refresh_round(client, base, users, pair, seconds).await;
        idle.sort();
        flood.sort();
        self.ratios
            .push(percentile(&flood, 99.0).as_secs_f64() / percentile(&idle, 99.0).as_secs_f64());
        self.idle.extend(idle);
        self.flood.extend(flood);
    }

    fn finish(&mut self) {
        self.idle.sort();
        self.flood.sort();
    }
}

/// Rotations per second, one client per session in `pairs`.
async fn refresh_throughput(base: &str, pairs: Vec<(String, String)>, seconds: f64) -> f64 {
    let until = Instant::now() + Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let client = reqwest::Client::new();
    let tasks: Vec<_> = pairs
        .into_iter()
        .map(|mut pair| {
            let (client, base) = (client.clone(), base.to_owned());
            tokio::spawn(async move {
                let mut done = 0u64;
                while Instant::now() < until {
                    pair = reissue(&client, &base, &pair).await;
                    done += 1;
                }
                done
            })
        })
        .collect();
    per_second(tasks, started).await
}

// ---------------------------------------------------------------------------
// The argon2 ceiling, in this process.

/// Verifications per second with one thread per core: the fastest way to
/// run argon2 with these parameters, each thread reusing one work area (no
/// 19 MiB allocation and page faults per run). The result is compared with
/// the stored hash, as a verification does.
fn argon2_ceiling(phc: &str, seconds: f64) -> f64 {
    let threads = cores();
    let until = Instant::now() + Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let parsed = PhcHash::new(phc).unwrap();
    let salt = parsed.salt.unwrap();
    let expected = parsed.hash.unwrap();
    let done: u64 = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let argon2 = Argon2::default();
                    let mut blocks = vec![argon2::Block::default(); argon2.params().block_count()];
                    let mut out = vec![0u8; expected.as_bytes().len()];
                    let mut n = 0u64;
                    while Instant::now() < until {
                        argon2
                            .hash_password_into_with_memory(
                                PASSWORD.as_bytes(),
                                salt.as_ref(),
                                &mut out,
                                &mut blocks,
                            )
                            .unwrap();
                        assert_eq!(out, expected.as_bytes(), "the ceiling must compute the real hash");
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    done as f64 / started.elapsed().as_secs_f64()
}

/// A stored hash of the bench password with the service's parameters.
fn stored_hash() -> String {
    Argon2::default()
        .hash_password(PASSWORD.as_bytes())
        .unwrap()
        .to_string()
}

/// Where the servers' mail goes (nothing is sent: the email gate is off).
fn mail_dir() -> String {
    std::env::temp_dir()
        .join(format!("load-bench-mail-{}", std::process::id()))
        .display()
        .to_string()
}

/// [`argon2_ceiling`] off the async workers.
async fn ceiling(phc: &str, seconds: f64) -> f64 {
    let phc = phc.to_owned();
    tokio::task::spawn_blocking(move || argon2_ceiling(&phc, seconds))
        .await
        .unwrap()
}

/// Resident KiB of a process by kind of mapping (`/proc/PID/smaps`): the
/// executable, shared libraries, the main heap, and anonymous mappings
/// (thread arenas, stacks, large allocations), largest first.
fn memory_map(pid: u32) -> String {
    let smaps = std::fs::read_to_string(format!("/proc/{pid}/smaps")).unwrap();
    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).unwrap_or_default();
    let mut kinds: std::collections::BTreeMap<String, u64> = Default::default();
    let mut kind = String::new();
    for line in smaps.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields
            .first()
            .is_some_and(|f| f.contains('-') && !f.ends_with(':'))
        {
            let path = fields.get(5).copied().unwrap_or("");
            kind = if path.is_empty() {
                "anonymous".into()
            } else if std::path::Path::new(path) == exe {
                "executable".into()
            } else if path.starts_with('[') {
                path.into()
            } else {
                "libraries and files".into()
            };
        } else if let Some(kib) = line.strip_prefix("Rss:") {
            *kinds.entry(kind.clone()).or_default() +=
                kib.trim().trim_end_matches("kB").trim().parse::<u64>().unwrap();
        }
    }
    let mut kinds: Vec<_> = kinds.into_iter().filter(|(_, kib)| *kib > 0).collect();
    kinds.sort_by_key(|(_, kib)| std::cmp::Reverse(*kib));
    kinds
        .iter()
        .map(|(k, kib)| format!("{k} {kib} KiB"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Threads of a process.
fn threads(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap()
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, usize::from)
}

// ---------------------------------------------------------------------------

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
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
    let phc = stored_hash();
    let n = variants.len();
    let mut ceilings = vec![];
    let mut rounds: Vec<Rounds> = (0..n).map(|_| Rounds::default()).collect();
    for round in 0..params.rounds {
        ceilings.push(ceiling(&phc, params.seconds).await);
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
    let phc = stored_hash();

    // 2–4. Ceiling, login flood, refreshes alone and during a flood;
    // interleaved.
    let mut ceilings = vec![];
    let mut rounds = Rounds::default();
    for round in 0..params.rounds {
        ceilings.push(ceiling(&phc, params.seconds).await);
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
    if backend == TestBackend::Postgres {
        let url = format!("{}?options=-c%20synchronous_commit%3Doff", db.url());
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
    let mut pairs = vec![];
    for i in 0..4 * cores() {
        pairs.push(login(&client, &base, &users[i % users.len()]).await);
    }
    let mut refreshes = vec![];
    for _ in 0..params.rounds {
        refreshes.push(refresh_throughput(&base, pairs.clone(), params.seconds).await);
        // The pairs were rotated: log in afresh for the next round.
        pairs.clear();
        for i in 0..4 * cores() {
            pairs.push(login(&client, &base, &users[i % users.len()]).await);
        }
    }
    eprintln!("[{name}] refresh throughput {refreshes:?}");

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
    }
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "**not met**" }
}

fn report(params: &Params, figures: &[Figures]) -> String {
    let mut rows: Vec<[String; 3]> = Vec::new();
    let mut row = |label: &str, cell: &dyn Fn(&Figures) -> String, target: &str| {
        let cells: Vec<String> = figures.iter().map(cell).collect();
        rows.push([label.to_owned(), cells.join(" | "), target.to_owned()]);
    };
    row(
        "argon2 ceiling: verifications/s, one thread per core, in-process",
        &|f| format!("{:.1}/s", f.ceiling),
        "",
    );
    row(
        "password logins/s at saturation (`standard`, 4 clients per core)",
        &|f| {
            let r = f.logins / f.ceiling;
            format!(
                "{:.1}/s = **{:.0} %** of the ceiling ({})",
                f.logins,
                r * 100.0,
                verdict(r >= 0.9)
            )
        },
        "≥ 90 % of the ceiling",
    );
    row(
        "refresh latency alone (one every 5 ms): p50 / p99",
        &|f| {
            format!(
                "{} / {} ({} samples)",
                ms(percentile(&f.idle, 50.0)),
                ms(percentile(&f.idle, 99.0)),
                f.idle.len()
            )
        },
        "",
    );
    row(
        "refresh latency during the login flood: p50 / p99",
        &|f| {
            let r = f.lat_ratio;
            format!(
                "{} / {}; p99 ÷ p99 alone, median of rounds: **{:.2}×** ({}; {} samples)",
                ms(percentile(&f.flood, 50.0)),
                ms(percentile(&f.flood, 99.0)),
                r,
                verdict(r <= 2.0),
                f.flood.len()
            )
        },
        "p99 ≤ 2× alone",
    );
    row(
        "control: the same with `synchronous_commit=off`, p50 / p99 alone → during the flood",
        &|f| match &f.control {
            Some((i, fl)) => {
                let (a, b) = (percentile(i, 99.0), percentile(fl, 99.0));
                format!(
                    "{} / {} → {} / {} (p99 {:.2}×)",
                    ms(percentile(i, 50.0)),
                    ms(a),
                    ms(percentile(fl, 50.0)),
                    ms(b),
                    b.as_secs_f64() / a.as_secs_f64()
                )
            }
            None => "–".into(),
        },
        "diagnosis only",
    );
    row(
        "token-only `GET /api/auth/me`, req/s",
        &|f| {
            let r = f.me_ratio;
            format!(
                "{:.0}/s; median of rounds: **{:.0} %** of bare ({})",
                f.me,
                r * 100.0,
                verdict(r >= 0.7)
            )
        },
        "≥ 70 % of bare",
    );
    row(
        "bare actix-web JSON handler (same run), req/s",
        &|f| format!("{:.0}/s", f.bare),
        "",
    );
    row(
        "refresh (rotation, a database write) throughput, 4 sessions per core",
        &|f| format!("{:.0}/s", f.refreshes),
        "",
    );
    row(
        "idle RSS: after start / 12 s after the load above",
        &|f| {
            format!(
                "{} / {} ({})",
                mb(f.rss_fresh_kib),
                mb(f.rss_after_kib),
                verdict(f.rss_fresh_kib.max(f.rss_after_kib) * 1024 <= 25_000_000)
            )
        },
        "≤ 25 MB",
    );
    row(
        "start → ready (`/readyz`): first start (migrations) / restart, median",
        &|f| {
            let target = if f.backend == "SQLite" {
                format!(" ({})", verdict(f.ready <= Duration::from_millis(150)))
            } else {
                String::new()
            };
            format!("{} / {}{}", ms(f.first_ready), ms(f.ready), target)
        },
        "≤ 150 ms on SQLite",
    );
    let header = figures.iter().map(|f| f.backend).collect::<Vec<_>>().join(" | ");
    let dashes = figures.iter().map(|_| "---").collect::<Vec<_>>().join("|");
    let mut table = format!("| figure | {header} | target |\n|---|{dashes}|---|\n");
    for [label, cells, target] in rows {
        table.push_str(&format!("| {label} | {cells} | {target} |\n"));
    }
    format!(
        "Measured {date} on {machine}, release build, loopback (`cargo run --release -p auth-contract-tests \
         --bin load-bench -- --seconds {s} --rounds {r} --restarts {n}`): medians of {r} interleaved rounds \
         of {s} s; argon2id m=19456 KiB, t=2, p=1; server defaults except rate limits, login throttling and \
         the sign-up email gate off; `RUST_LOG=info`.\n\n{table}",
        date = chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        machine = machine(),
        s = params.seconds,
        r = params.rounds,
        n = params.restarts,
    )
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
    let body = report(&params, &figures);
    eprintln!("{body}");
    write_section(&out, "load-bench", &body);
    eprintln!("figures written to {out}");
}

// ---------------------------------------------------------------------------
// `--scale` (issue 18): the same measurements on an empty database and on
// one filled like a deployment of some years (`auth_contract_tests::scale`),
// two servers taking turns within every round, each figure quoted as
// full ÷ empty (median of the rounds' ratios).

/// Throughput figures are better high, latencies and memory better low.
#[derive(Clone, Copy, PartialEq)]
enum Better {
    Higher,
    Lower,
}

/// One figure of both servers, round by round.
struct Series {
    label: &'static str,
    unit: &'static str,
    better: Better,
    empty: Vec<f64>,
    full: Vec<f64>,
}

impl Series {
    fn new(label: &'static str, unit: &'static str, better: Better) -> Self {
        Series {
            label,
            unit,
            better,
            empty: vec![],
            full: vec![],
        }
    }

    /// Median of the per-round ratios full ÷ empty.
    fn ratio(&self) -> f64 {
        let mut r: Vec<f64> = self.full.iter().zip(&self.empty).map(|(f, e)| f / e).collect();
        median(&mut r)
    }

    fn met(&self) -> bool {
        match self.better {
            Better::Higher => self.ratio() >= 0.9,
            Better::Lower => self.ratio() <= 1.1,
        }
    }
}

/// Answers 2xx per second for `clients` concurrent loops, each POSTing the
/// body `make(k)` for a fresh `k` (unique sign-ups, code sends).
async fn unique_posts(
    base: &str,
    path: &'static str,
    clients: usize,
    seconds: f64,
    tag: &str,
    make: fn(&str) -> Value,
) -> f64 {
    let until = Instant::now() + Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let client = reqwest::Client::new();
    let tasks: Vec<_> = (0..clients)
        .map(|i| {
            let (client, url, tag) = (client.clone(), format!("{base}{path}"), tag.to_owned());
            tokio::spawn(async move {
                let mut done = 0u64;
                let mut k = 0u64;
                while Instant::now() < until {
                    let (status, body) = post(&client, &url, &make(&format!("{tag}c{i}n{k}"))).await;
                    assert!(status < 300, "{url}: {status} {body}");
                    done += 1;
                    k += 1;
                }
                done
            })
        })
        .collect();
    per_second(tasks, started).await
}

fn signup_body(id: &str) -> Value {
    json!({"authId": id, "password": PASSWORD, "name": "벤치", "email": format!("{id}@bench.test")})
}

fn send_code_body(id: &str) -> Value {
    json!({"authId": id, "email": format!("{id}@bench.test"), "type": "SIGN_UP"})
}

/// One server of the scale comparison.
struct ScaleSide {
    server: Server,
    addr: SocketAddr,
    users: Arc<Vec<String>>,
    pair: (String, String),
}

impl ScaleSide {
    async fn new(server: Server, users: Arc<Vec<String>>) -> Self {
        let client = reqwest::Client::new();
        let pair = login(&client, &server.base, &users[0]).await;
        let addr = server.base.trim_start_matches("http://").parse().unwrap();
        ScaleSide {
            server,
            addr,
            users,
            pair,
        }
    }
}

/// The figures of one round on one side, in the order of [`scale_series`].
async fn scale_round(side: &mut ScaleSide, seconds: f64, round: usize, tag: &str) -> Vec<f64> {
    let client = reqwest::Client::new();
    let base = side.server.base.clone();
    let logins = login_flood(base.clone(), side.users.clone(), 4 * cores(), seconds).await;
    let mut lat = refresh_latencies(&client, &base, &mut side.pair, seconds).await;
    lat.sort();
    let mut pairs = vec![];
    for i in 0..8 {
        pairs.push(login(&client, &base, &side.users[(i * 7 + round) % side.users.len()]).await);
    }
    let rotations = refresh_throughput(&base, pairs, seconds).await;
    let connections = 8 * cores();
    let me = hammer(
        side.addr,
        get_request("/api/auth/me", Some(&side.pair.0)),
        connections,
        seconds,
    )
    .await;
    let id_check = hammer(
        side.addr,
        get_request(&format!("/api/auth/check/auth-id/free{tag}r{round}"), None),
        connections,
        seconds,
    )
    .await;
    let email_check = hammer(
        side.addr,
        get_request("/api/auth/check/email/scale77777%40scale.test", None),
        connections,
        seconds,
    )
    .await;
    let signups = unique_posts(
        &base,
        "/api/auth/sign-up",
        4 * cores(),
        seconds,
        &format!("su{tag}r{round}"),
        signup_body,
    )
    .await;
    let sends = unique_posts(
        &base,
        "/api/auth/send/auth-key",
        2 * cores(),
        seconds,
        &format!("cs{tag}r{round}"),
        send_code_body,
    )
    .await;
    let code_check = hammer(
        side.addr,
        get_request(
            &format!(
                "/api/auth/check/auth-code?authId=cs{tag}r{round}c0n0&email=cs{tag}r{round}c0n0%40bench.test&authCode=000000&type=SIGN_UP"
            ),
            None,
        ),
        connections,
        seconds,
    )
    .await;
    vec![
        logins,
        ms_f(percentile(&lat, 50.0)),
        ms_f(percentile(&lat, 99.0)),
        rotations,
        me,
        id_check,
        email_check,
        signups,
        sends,
        code_check,
    ]
}

fn ms_f(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn scale_series() -> Vec<Series> {
    vec![
        Series::new(
            "password logins/s at saturation (`standard`, 4 clients per core)",
            "/s",
            Better::Higher,
        ),
        Series::new(
            "refresh latency alone (one every 5 ms), p50",
            " ms",
            Better::Lower,
        ),
        Series::new(
            "refresh latency alone (one every 5 ms), p99",
            " ms",
            Better::Lower,
        ),
        Series::new(
            "rotating refresh/s, 8 clients chaining their own sessions",
            "/s",
            Better::Higher,
        ),
        Series::new("token-only `GET /api/auth/me`, req/s", "/s", Better::Higher),
        Series::new(
            "availability `GET /api/auth/check/auth-id/{id}` (free id), req/s",
            "/s",
            Better::Higher,
        ),
        Series::new(
            "availability `GET /api/auth/check/email/{email}` (taken), req/s",
            "/s",
            Better::Higher,
        ),
        Series::new(
            "sign-up/s (`POST /api/auth/sign-up`, 4 clients per core; argon2-bound)",
            "/s",
            Better::Higher,
        ),
        Series::new(
            "code send/s (`POST /api/auth/send/auth-key`, 2 clients per core)",
            "/s",
            Better::Higher,
        ),
        Series::new(
            "code check (wrong code) `GET /api/auth/check/auth-code`, req/s",
            "/s",
            Better::Higher,
        ),
        Series::new("steady-state RSS 12 s after the rounds", " MB", Better::Lower),
    ]
}

/// `--scale`: one backend, empty against full. Returns its Markdown table.
async fn scale(params: &Params, backend: TestBackend, accounts: u64) -> String {
    let name = match backend {
        TestBackend::Sqlite => "SQLite",
        TestBackend::Postgres => "PostgreSQL",
    };
    let mail = mail_dir();
    let empty_db = TestDatabase::new(backend);
    let full_db = TestDatabase::new(backend);
    let phc = stored_hash();
    let fill_started = Instant::now();
    let filled = {
        let db = auth_infra::Database::connect(full_db.url(), 1).await.unwrap();
        db.migrate().await.unwrap();
        auth_contract_tests::scale::fill(&db, accounts, &phc)
            .await
            .unwrap()
    };
    let fill_time = fill_started.elapsed();
    let size = db_size(backend, full_db.url()).await;
    let client = reqwest::Client::new();
    let empty_server = start(params, empty_db.url(), &mail).await;
    let full_server = start(params, full_db.url(), &mail).await;
    let empty_users = seed_users(&client, &empty_server.base).await;
    // Logins on the full database spread over the filled accounts.
    let n = 4 * cores() * 8;
    let full_users: Arc<Vec<String>> = Arc::new(
        (0..n as u64)
            .map(|i| format!("scale{}", 1 + i * (accounts / n as u64).max(1)))
            .collect(),
    );
    let mut sides = [
        ScaleSide::new(empty_server, empty_users).await,
        ScaleSide::new(full_server, full_users).await,
    ];
    let mut series = scale_series();
    for round in 0..params.rounds {
        for k in 0..2 {
            let which = (k + round) % 2;
            let figures = scale_round(&mut sides[which], params.seconds, round, ["e", "f"][which]).await;
            for (s, v) in series.iter_mut().zip(figures) {
                if which == 0 {
                    s.empty.push(v)
                } else {
                    s.full.push(v)
                }
            }
        }
        eprintln!("[scale {name}] round {round} done");
    }
    tokio::time::sleep(Duration::from_secs(12)).await;
    let rss = series.last_mut().unwrap();
    rss.empty
        .push(rss_kib(sides[0].server.pid()) as f64 * 1024.0 / 1e6);
    rss.full
        .push(rss_kib(sides[1].server.pid()) as f64 * 1024.0 / 1e6);
    drop(sides);
    let _ = std::fs::remove_dir_all(&mail);
    let mut table = format!(
        "{name}: full database = {} accounts (each with one live session, 3 refresh records, every 10th a Google link, \
         every 10th a chat profile), {} audit rows; filled in {:.0} s, {}.\n\n\
         | figure | empty | full | full ÷ empty | within 10 % |\n|---|---|---|---|---|\n",
        thousands(filled.accounts),
        thousands(filled.audit_rows),
        fill_time.as_secs_f64(),
        size,
    );
    for s in &mut series {
        let ratio = s.ratio();
        let met = s.met();
        let (mut e, mut f) = (s.empty.clone(), s.full.clone());
        table.push_str(&format!(
            "| {} | {:.1}{} | {:.1}{} | **{:.2}** | {} |\n",
            s.label,
            median(&mut e),
            s.unit,
            median(&mut f),
            s.unit,
            ratio,
            if met { "yes" } else { "**no**" }
        ));
    }
    table.push_str("| admin user search | – | – | – | not measured: no search endpoint on this branch |\n");
    table.push_str("| socket handshake | – | – | – | not measured (see the socket section) |\n");
    table
}

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The database's size on disk, as text.
async fn db_size(backend: TestBackend, url: &str) -> String {
    match backend {
        TestBackend::Sqlite => {
            let path = url.trim_start_matches("sqlite://");
            let bytes: u64 = ["", "-wal"]
                .iter()
                .filter_map(|s| std::fs::metadata(format!("{path}{s}")).ok())
                .map(|m| m.len())
                .sum();
            format!("{:.0} MB on disk (file + WAL)", bytes as f64 / 1e6)
        }
        TestBackend::Postgres => {
            let db = auth_infra::Database::connect(url, 1).await.unwrap();
            let bytes = db.database_bytes().await.unwrap();
            format!("{:.0} MB on disk (`pg_database_size`)", bytes as f64 / 1e6)
        }
    }
}

async fn run_scale(params: &Params, out: &str, backends: &str) {
    let accounts: u64 = arg("--scale-accounts", "1000000").parse().unwrap();
    let mut body = format!(
        "Measured {date} on {machine}, release build, loopback (`load-bench --scale --scale-accounts {accounts} \
         --backends {backends} --seconds {s} --rounds {r}`): per backend, two servers, one on an empty database and \
         one on a filled one, take turns within each of {r} rounds of {s} s per figure (the order alternating \
         between rounds); each ratio is the median of the rounds' full ÷ empty ratios, so drift of the shared \
         machine hits both sides. Throughputs are met at ≥ 0.90, latencies and RSS at ≤ 1.10. Server defaults \
         except rate limits, login throttling and the sign-up email gate off; `RUST_LOG=info`.\n",
        date = chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        machine = machine(),
        s = params.seconds,
        r = params.rounds,
    );
    for backend in backends.split(',') {
        let backend = match backend.trim() {
            "sqlite" => TestBackend::Sqlite,
            "postgres" => TestBackend::Postgres,
            other => panic!("unknown backend {other:?}: sqlite or postgres"),
        };
        if accounts > 0 {
            body.push_str(&format!("\n{}", scale(params, backend, accounts).await));
            eprintln!("{body}");
        }
    }
    let churn_seconds: u64 = arg("--churn-seconds", "120").parse().unwrap();
    if churn_seconds > 0 {
        body.push_str("\n#### Bounded growth: database size under a sustained churn\n");
        for backend in backends.split(',') {
            let backend = match backend.trim() {
                "sqlite" => TestBackend::Sqlite,
                _ => TestBackend::Postgres,
            };
            body.push_str(&format!("\n{}", churn(params, backend, churn_seconds).await));
            eprintln!("{body}");
        }
    }
    write_section(out, "load-bench-scale", &body);
    eprintln!("figures written to {out}");
}

// ---------------------------------------------------------------------------
// `--scale` part 2: bounded growth. A sustained churn of logins and
// refreshes against a server whose rows expire within the run (short
// access and refresh lifetimes) and whose scheduled purge runs every few
// seconds; the database size is sampled over time.

/// Rows and bytes at one moment of the churn.
struct Sample {
    at: u64,
    bytes: i64,
    sessions: i64,
    refresh: i64,
    audit: i64,
    logins: u64,
    refreshes: u64,
}

async fn churn(params: &Params, backend: TestBackend, seconds: u64) -> String {
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
    let mut at = 0;
    while at <= seconds {
        tokio::time::sleep_until((started + Duration::from_secs(at)).into()).await;
        let bytes = match backend {
            TestBackend::Sqlite => {
                let path = db.url().trim_start_matches("sqlite://").to_owned();
                ["", "-wal"]
                    .iter()
                    .filter_map(|s| std::fs::metadata(format!("{path}{s}")).ok())
                    .map(|m| m.len() as i64)
                    .sum()
            }
            TestBackend::Postgres => stats.database_bytes().await.unwrap(),
        };
        samples.push(Sample {
            at,
            bytes,
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
    let mut table = format!(
        "{name}, churn of {seconds} s (`AUTH_ACCESS_TTL_SECONDS=10`, `AUTH_REFRESH_TTL_SECONDS=20`, \
         `AUTH_PURGE_INTERVAL_SECONDS=5`; {} clients each logging in and rotating its pair 5 times, over and over):\n\n\
         | time | database size | sessions | refresh records | audit rows | logins so far | refreshes so far |\n\
         |---|---|---|---|---|---|---|\n",
        4 * cores()
    );
    for s in &samples {
        table.push_str(&format!(
            "| {} s | {:.1} MB | {} | {} | {} | {} | {} |\n",
            s.at,
            s.bytes as f64 / 1e6,
            s.sessions,
            s.refresh,
            s.audit,
            s.logins,
            s.refreshes
        ));
    }
    table
}
