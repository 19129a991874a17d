//! `logout-bench`: how fast a session's end reaches services (issue 31). A
//! benchmark, not a test: it writes its figures into `docs/performance.md`
//! between its markers.
//!
//! 1. Latency (PostgreSQL): release `auth-server`s A and B on one fresh
//!    database, A given B's address as its public URL (one issuer). Two
//!    copies of `examples/protected-service` run in this process, each with
//!    an `AuthClient` built from B's issuer with a client id, a
//!    `RevocationList` and no introspection credentials: "push" mounts the
//!    back-channel logout route, its `allSessions` client registered with
//!    that URI; "pull" runs `auth_client::Poller` on B's `/ssf/poll` with its
//!    own `allSessions` client's secret. Per round: a `standard` login on A,
//!    `/hello` answers 200 on both, `POST /api/auth/logout` on A, then from
//!    the logout's response both `/hello` are tried with the old token every
//!    2 ms until 401 (at most 10 s). `--rounds` rounds, then `--hung-rounds`
//!    with a third `allSessions` client whose receiver never answers.
//!    Introspection requests are read off A's and B's `/metrics`.
//! 2. Throughput (one instance; `--backends`): a receiver in this process
//!    answers 200 to every POST and counts the sessions named. Per round: a
//!    fresh `allSessions` client at the receiver, `--sessions` sessions
//!    inserted with SQL over `--users` users (argon2 is not measured), one
//!    `DELETE /internal/users/{id}/sessions` per user, all at once, timed
//!    from the first revoke request to the last new session received. ES256
//!    and RS256 clients take turns, `--throughput-rounds` each.
//!
//! Usage (see `just bench-logout`): `logout-bench [--rounds N]
//! [--hung-rounds N] [--sessions N] [--users N] [--throughput-rounds N]
//! [--backends sqlite,postgres] [--concurrency N] [--server PATH] [--out FILE]`
//!
//! Every wait is bounded; the child servers are killed on exit.
// A benchmark harness: failing loudly on any unexpected state is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashSet;
use std::net::TcpListener;
use std::time::{Duration, Instant};

use auth_bench::receiver::{Receiver, hung};
use auth_bench::{Server, arg, machine, median, metric_sum, ms, percentile, write_section};
use auth_client::{AuthClient, Poller, RevocationList};
use auth_contract_tests::{TestBackend, TestDatabase};
use serde_json::{Value, json};

const ADMIN: &str = "logout-bench-admin-token-0123456789abcdef";
const SECRET: &str = "logout-bench-secret-logout-bench-secret";
const PASSWORD: &str = "BenchPassword1!";
/// How often a service is asked whether it still takes the old token.
const POLL_EVERY: Duration = Duration::from_millis(2);
/// A latency round stops waiting for the 401 after this (and counts it).
const GIVE_UP: Duration = Duration::from_secs(10);
/// Latency rounds run and not recorded (connections, key sets, caches).
const WARM_UP: usize = 3;
/// Users signed up for the latency rounds (taking turns).
const LOGIN_USERS: usize = 20;
/// Ids of the throughput rounds' users (inserted with SQL).
const USER_BASE: u64 = 1_000_000;
const LATENCY_AIM: Duration = Duration::from_secs(1);
const RATE_AIM: f64 = 1000.0;
const ALGS: [&str; 2] = ["ES256", "RS256"];

struct Options {
    binary: String,
    mail: String,
    concurrency: Option<String>,
}

async fn start(o: &Options, db_url: &str, public_url: Option<&str>) -> Server {
    let mut env = vec![
        ("AUTH_DATABASE_URL", db_url),
        ("AUTH_JWT_SECRET", SECRET),
        ("AUTH_JWT_ALGORITHM", "ES256"),
        ("AUTH_ADMIN_TOKEN", ADMIN),
        ("AUTH_SIGNUP_REQUIRE_EMAIL_CODE", "false"),
        ("AUTH_RATE_LIMIT_ENABLED", "false"),
        ("AUTH_LOGIN_THROTTLE_ENABLED", "false"),
        ("AUTH_MAIL_DIR", &o.mail),
    ];
    if let Some(url) = public_url {
        env.push(("AUTH_PUBLIC_URL", url));
    }
    if let Some(c) = &o.concurrency {
        env.push(("AUTH_BACKCHANNEL_CONCURRENCY", c));
    }
    Server::start(&o.binary, &env).await
}

/// The status and JSON body (`Null` when there is none) of `request`.
async fn send(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Registers an `allSessions` client with `spec`'s fields; its id and secret.
async fn register(client: &reqwest::Client, base: &str, spec: Value) -> (String, String) {
    let mut body = json!({"name": "logout-bench", "grantTypes": ["client_credentials"], "allSessions": true});
    for (k, v) in spec.as_object().unwrap() {
        body[k] = v.clone();
    }
    let url = format!("{base}/internal/oauth-clients");
    let (status, answer) = send(client.post(url).bearer_auth(ADMIN).json(&body)).await;
    assert_eq!(status, 201, "register {body}: {answer}");
    let field = |name: &str| answer[name].as_str().unwrap().to_owned();
    (field("clientId"), field("clientSecret"))
}

const INTROSPECT: (&str, &str) = ("http_requests_total", "route=\"/oauth2/introspect\"");
const POLLS: (&str, &str) = ("http_requests_total", "route=\"/ssf/poll\"");
const DELIVERED: (&str, &str) = ("auth_backchannel_delivered_total", "");
const RETRIED: (&str, &str) = ("auth_backchannel_retried_total", "");
const FAILED: (&str, &str) = ("auth_backchannel_failed_total", "");

/// Metric `which` (name, label) off `server`'s `GET /metrics`.
async fn read(client: &reqwest::Client, server: &Server, which: (&str, &str)) -> f64 {
    let url = format!("{}/metrics", server.base);
    let response = client.get(url).send().await.unwrap();
    assert!(response.status().is_success(), "/metrics: {}", response.status());
    metric_sum(&response.text().await.unwrap(), which.0, which.1)
}

// ---------------------------------------------------------------------------
// 1. Latency.

/// One service's delays over some rounds.
#[derive(Default)]
struct Samples {
    /// Sorted once the rounds are over.
    refused: Vec<Duration>,
    /// Rounds where it still took the token after [`GIVE_UP`].
    late: usize,
}

/// What the latency rounds gave: push and pull, without and with a hung
/// receiver.
struct Latency {
    normal: [Samples; 2],
    hung: [Samples; 2],
    introspections: f64,
    polls: f64,
    delivered: (f64, f64),
}

/// An `AuthClient` for `issuer` as `client_id`, with a revocation list and
/// no introspection credentials.
async fn auth_client(issuer: &str, client_id: &str) -> AuthClient {
    let list = RevocationList::new();
    let builder = AuthClient::builder(issuer).client_id(client_id);
    builder.revocations(list).build().await.unwrap()
}

/// Asks `url` with `token` every [`POLL_EVERY`] until it answers 401: the
/// time from `since`, or `None` after [`GIVE_UP`].
async fn until_refused(client: &reqwest::Client, url: &str, token: &str, since: Instant) -> Option<Duration> {
    let mut tick = tokio::time::interval(POLL_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let status = client.get(url).bearer_auth(token).send().await.unwrap().status();
        let waited = since.elapsed();
        match status.as_u16() {
            401 => return Some(waited),
            200 if waited < GIVE_UP => {}
            200 => return None,
            other => panic!("{url}: unexpected {other}"),
        }
    }
}

/// `n` rounds: a login on A, both services take the token, a logout on A,
/// then how long each service kept taking it.
async fn rounds(client: &reqwest::Client, a: &Server, hello: &[String; 2], n: usize) -> [Samples; 2] {
    let mut samples = [Samples::default(), Samples::default()];
    for r in 0..n {
        let login = json!({"username": format!("benchlogout{}", r % LOGIN_USERS), "password": PASSWORD});
        let (status, body) = send(client.post(format!("{}/api/auth/login", a.base)).json(&login)).await;
        assert_eq!(status, 200, "login: {body}");
        let token = body["accessToken"].as_str().unwrap().to_owned();
        for url in hello {
            let status = client.get(url).bearer_auth(&token).send().await.unwrap().status();
            assert_eq!(status.as_u16(), 200, "{url} before the logout");
        }
        let url = format!("{}/api/auth/logout", a.base);
        let (status, body) = send(client.post(url).bearer_auth(&token)).await;
        assert_eq!(status, 200, "logout: {body}");
        let since = Instant::now();
        let waits = tokio::join!(
            until_refused(client, &hello[0], &token, since),
            until_refused(client, &hello[1], &token, since)
        );
        for (s, wait) in samples.iter_mut().zip([waits.0, waits.1]) {
            match wait {
                Some(d) => s.refused.push(d),
                None => s.late += 1,
            }
        }
        if (r + 1) % 50 == 0 {
            eprintln!("[latency] {} rounds", r + 1);
        }
    }
    for s in &mut samples {
        s.refused.sort();
    }
    samples
}

async fn latency(o: &Options, n: usize, hung_n: usize) -> Latency {
    let db = TestDatabase::postgres();
    let b = start(o, db.url(), None).await;
    let a = start(o, db.url(), Some(&b.base)).await;
    eprintln!("[latency] A ready in {:?}, B in {:?}", a.ready_in, b.ready_in);
    let client = reqwest::Client::new();

    // The two services, registered with B.
    let listeners = [(); 2].map(|()| TcpListener::bind("127.0.0.1:0").unwrap());
    let bases = listeners
        .each_ref()
        .map(|l| format!("http://{}", l.local_addr().unwrap()));
    let push = json!({"backchannelLogoutUri": format!("{}/backchannel-logout", bases[0]), "idTokenSignedResponseAlg": "ES256"});
    let (push_id, _) = register(&client, &b.base, push).await;
    let pull = json!({"idTokenSignedResponseAlg": "ES256"});
    let (pull_id, pull_secret) = register(&client, &b.base, pull).await;
    let push_auth = auth_client(&b.base, &push_id).await;
    let pull_auth = auth_client(&b.base, &pull_id).await;
    let [push_listener, pull_listener] = listeners;
    let servers = [
        protected_service::serve_with(push_listener, push_auth, true).unwrap(),
        protected_service::serve_with(pull_listener, pull_auth.clone(), false).unwrap(),
    ];
    let handles = servers.each_ref().map(actix_web::dev::Server::handle);
    for s in servers {
        tokio::spawn(s);
    }
    let poller = Poller::new(pull_auth, pull_secret).unwrap().spawn();
    let hello = bases.map(|b| format!("{b}/hello"));

    for u in 0..LOGIN_USERS {
        let login = format!("benchlogout{u}");
        let body = json!({"authId": login, "password": PASSWORD, "name": "벤치", "email": format!("{login}@bench.test")});
        let (status, answer) = send(client.post(format!("{}/api/auth/sign-up", a.base)).json(&body)).await;
        assert!(status < 300, "sign-up: {status} {answer}");
    }
    rounds(&client, &a, &hello, WARM_UP).await;

    let introspected = read(&client, &a, INTROSPECT).await + read(&client, &b, INTROSPECT).await;
    let polled = read(&client, &b, POLLS).await;
    let delivered = (
        read(&client, &a, DELIVERED).await,
        read(&client, &b, DELIVERED).await,
    );
    let normal = rounds(&client, &a, &hello, n).await;
    // Another service that never answers hears of the same ends.
    let (hung_base, holder) = hung();
    let spec = json!({"backchannelLogoutUri": format!("{hung_base}/backchannel-logout"), "idTokenSignedResponseAlg": "ES256"});
    register(&client, &b.base, spec).await;
    let with_hung = rounds(&client, &a, &hello, hung_n).await;
    let figures = Latency {
        normal,
        hung: with_hung,
        introspections: read(&client, &a, INTROSPECT).await + read(&client, &b, INTROSPECT).await
            - introspected,
        polls: read(&client, &b, POLLS).await - polled,
        delivered: (
            read(&client, &a, DELIVERED).await - delivered.0,
            read(&client, &b, DELIVERED).await - delivered.1,
        ),
    };
    poller.abort();
    holder.abort();
    for h in handles {
        h.stop(false).await;
    }
    figures
}

// ---------------------------------------------------------------------------
// 2. Throughput.

/// The parts of an `INSERT … SELECT` over `g` in `1..=n` on `backend`:
/// the rows, a UUID made of `a` and `g` (`tag` telling kinds apart), now.
fn sql_parts(backend: TestBackend, n: usize, a: &str, tag: &str) -> (String, String, &'static str) {
    match backend {
        TestBackend::Postgres => (
            format!("SELECT g FROM generate_series(1, {n}) g"),
            format!("lpad(to_hex({a}), 8, '0') || '-0000-4000-{tag}-' || lpad(to_hex(g), 12, '0')"),
            "(now() AT TIME ZONE 'utc')",
        ),
        TestBackend::Sqlite => (
            format!(
                "WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < {n}) SELECT g FROM s"
            ),
            format!("printf('%08x-0000-4000-{tag}-%012x', {a}, g)"),
            "strftime('%Y-%m-%d %H:%M:%f', 'now')",
        ),
    }
}

/// The users of the throughput rounds: ids `USER_BASE + 1 ..= USER_BASE + n`.
fn users_sql(backend: TestBackend, n: usize) -> String {
    let (rows, uuid, now) = sql_parts(backend, n, "g", "8000");
    format!(
        "INSERT INTO users (id, uuid, login_id, email, name, password_hash, created_at) \
         SELECT {USER_BASE} + g, {uuid}, 'benchbcl' || g, 'benchbcl' || g || '@bench.test', '벤치', NULL, {now} \
         FROM ({rows}) AS t"
    )
}

/// `sessions` live sessions for round `round`, spread over the `users`.
fn sessions_sql(backend: TestBackend, round: usize, sessions: usize, users: usize) -> String {
    let (rows, sid, now) = sql_parts(backend, sessions, &round.to_string(), "9000");
    format!(
        "INSERT INTO sessions (id, user_id, client, created_at, amr) \
         SELECT {sid}, {USER_BASE} + g % {users} + 1, 'standard', {now}, 'pwd' FROM ({rows}) AS t"
    )
}

/// One backend's throughput rounds.
struct Throughput {
    backend: &'static str,
    /// Tokens/s from the first revoke request to the last new session, by
    /// algorithm ([`ALGS`]).
    rates: [Vec<f64>; 2],
    /// Tokens/s from the receiver's first post to its last new session.
    windows: [Vec<f64>; 2],
    /// Seconds.
    revokes: Vec<f64>,
    extra_posts: usize,
    retried: f64,
    failed: f64,
}

struct Round<'a> {
    client: &'a reqwest::Client,
    server: &'a Server,
    sql: &'a auth_infra::Database,
    backend: TestBackend,
    rx: &'a Receiver,
    sessions: usize,
    users: usize,
}

impl Round<'_> {
    /// Round `n` with a client of `alg`: (tokens/s, window tokens/s, the
    /// revokes' duration, posts beyond one per session).
    async fn run(&self, n: usize, alg: &str) -> (f64, f64, Duration, usize) {
        self.rx.reset();
        let spec = json!({"backchannelLogoutUri": format!("{}/r{n}", self.rx.base), "idTokenSignedResponseAlg": alg});
        let (id, _) = register(self.client, &self.server.base, spec).await;
        let sql = sessions_sql(self.backend, n, self.sessions, self.users);
        self.sql.execute_raw(&sql).await.unwrap();
        let started = Instant::now();
        let revokes = (1..=self.users as u64).map(|u| {
            let url = format!("{}/internal/users/{}/sessions", self.server.base, USER_BASE + u);
            send(self.client.delete(url).bearer_auth(ADMIN))
        });
        let answers = futures_util::future::join_all(revokes).await;
        let revoked_in = started.elapsed();
        let mut revoked = 0;
        for (status, body) in answers {
            assert_eq!(status, 200, "revoke: {body}");
            revoked += body["revoked"].as_u64().unwrap();
        }
        assert_eq!(revoked, self.sessions as u64, "sessions revoked");
        let deadline = Instant::now() + Duration::from_secs(600);
        while self.rx.sessions() < self.sessions {
            let seen = self.rx.sessions();
            assert!(
                Instant::now() < deadline,
                "round {n}: {seen} of {} after 600 s",
                self.sessions
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // Late duplicates (a retried or twice-claimed post) would show here.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let t = self.rx.tally();
        assert_eq!(t.algs, HashSet::from([alg.to_owned()]), "round {n}: algorithms");
        let url = format!("{}/internal/oauth-clients/{id}", self.server.base);
        let (status, body) = send(self.client.delete(url).bearer_auth(ADMIN)).await;
        assert!(status < 300, "delete the client: {status} {body}");
        let (first, last) = (t.first.unwrap(), t.last.unwrap());
        let k = self.sessions as f64;
        let rate = k / (last - started).as_secs_f64();
        let window = (k - 1.0) / (last - first).as_secs_f64().max(1e-6);
        (rate, window, revoked_in, t.posts - self.sessions)
    }
}

async fn throughput(
    o: &Options,
    backend: TestBackend,
    size: (usize, usize, usize),
    rx: &Receiver,
) -> Throughput {
    let (sessions, users, rounds) = size;
    let name = match backend {
        TestBackend::Sqlite => "SQLite",
        TestBackend::Postgres => "PostgreSQL",
    };
    let db = TestDatabase::new(backend);
    let server = start(o, db.url(), None).await;
    let sql = auth_infra::Database::connect(db.url(), 1).await.unwrap();
    sql.execute_raw(&users_sql(backend, users)).await.unwrap();
    let client = reqwest::Client::new();
    let round = Round {
        client: &client,
        server: &server,
        sql: &sql,
        backend,
        rx,
        sessions,
        users,
    };
    let (mut rates, mut windows) = ([vec![], vec![]], [vec![], vec![]]);
    let (mut revokes, mut extra_posts) = (vec![], 0);
    let mut n = 0;
    for r in 0..rounds {
        for k in 0..2 {
            let which = (k + r) % 2;
            n += 1;
            let (rate, window, revoked_in, extra) = round.run(n, ALGS[which]).await;
            eprintln!(
                "[{name}] round {r} {}: {rate:.0} tokens/s (window {window:.0}/s), revokes {revoked_in:?}",
                ALGS[which]
            );
            rates[which].push(rate);
            windows[which].push(window);
            revokes.push(revoked_in.as_secs_f64());
            extra_posts += extra;
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
    Throughput {
        backend: name,
        rates,
        windows,
        revokes,
        extra_posts,
        retried: read(&client, &server, RETRIED).await,
        failed: read(&client, &server, FAILED).await,
    }
}

// ---------------------------------------------------------------------------
// Report.

fn latency_rows(l: &Latency) -> String {
    let row = |label: &str, s: &Samples| {
        let v = &s.refused;
        let Some(max) = v.last() else {
            return format!("| {label} | – | – | – | – | {} | **not met** |\n", s.late);
        };
        let p99 = percentile(v, 99.0);
        let verdict = if s.late == 0 && p99 <= LATENCY_AIM {
            "met"
        } else {
            "**not met**"
        };
        format!(
            "| {label} | {} | {} | **{}** | {} | {} | {verdict} |\n",
            ms(percentile(v, 50.0)),
            ms(percentile(v, 90.0)),
            ms(p99),
            ms(*max),
            s.late,
        )
    };
    let mut s = String::from(
        "| logout response on A → the service refuses the old token | p50 | p90 | p99 | max | still taken after 10 s | p99 ≤ 1 s |\n|---|---|---|---|---|---|---|\n",
    );
    s += &row(
        "push: logout token posted to the service's `/backchannel-logout`",
        &l.normal[0],
    );
    s += &row(
        "pull: `auth_client::Poller` long-polling B's `/ssf/poll`",
        &l.normal[1],
    );
    if !l.hung[0].refused.is_empty() || l.hung[0].late > 0 {
        s += &row("push, while a third client's receiver hangs", &l.hung[0]);
        s += &row("pull, the same rounds", &l.hung[1]);
    }
    s
}

fn med(values: &[f64]) -> f64 {
    median(&mut values.to_vec())
}

/// `median/s (met|not met); rounds lo–hi`.
fn rate_cell(values: &[f64]) -> String {
    let m = med(values);
    let verdict = if m >= RATE_AIM { "met" } else { "**not met**" };
    let (lo, hi) = values
        .iter()
        .fold((f64::MAX, 0.0_f64), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
    format!("**{m:.0}/s** ({verdict}); rounds {lo:.0}–{hi:.0}/s")
}

fn throughput_rows(figures: &[Throughput], sessions: usize, users: usize) -> String {
    let names: Vec<&str> = figures.iter().map(|f| f.backend).collect();
    let mut s = format!(
        "| figure | {} | aim |\n|---|{}\n",
        names.join(" | "),
        "---|".repeat(names.len() + 1)
    );
    let mut row = |label: &str, cell: fn(&Throughput) -> String, aim: &str| {
        let cells: Vec<String> = figures.iter().map(cell).collect();
        s += &format!("| {label} | {} | {aim} |\n", cells.join(" | "));
    };
    let label = "ES256 client: logout tokens/s, first revoke request → last session at the receiver";
    row(label, |f| rate_cell(&f.rates[0]), "≥ 1000/s");
    row("RS256 client: the same", |f| rate_cell(&f.rates[1]), "≥ 1000/s");
    row(
        "ES256 ÷ RS256 (medians)",
        |f| format!("{:.2}×", med(&f.rates[0]) / med(&f.rates[1])),
        "",
    );
    let label = "first → last post at the receiver, tokens/s, ES256 / RS256 (medians)";
    row(
        label,
        |f| format!("{:.0}/s / {:.0}/s", med(&f.windows[0]), med(&f.windows[1])),
        "diagnosis",
    );
    let label = format!("the {users} revokes ({sessions} sessions), first request → last response, median");
    row(&label, |f| format!("{:.1} ms", med(&f.revokes) * 1000.0), "");
    let label = "posts beyond one per session; retried / given up (server counters)";
    row(
        label,
        |f| format!("{}; {} / {}", f.extra_posts, f.retried, f.failed),
        "0",
    );
    s
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let number = |name: &str, default: &str| -> usize { arg(name, default).parse().unwrap() };
    let (rounds, hung_rounds) = (number("--rounds", "200"), number("--hung-rounds", "20"));
    let (sessions, users) = (number("--sessions", "5000"), number("--users", "50"));
    let t_rounds = number("--throughput-rounds", "3");
    let backends = arg("--backends", "sqlite,postgres");
    let concurrency = arg("--concurrency", "");
    let out = arg("--out", "docs/performance.md");
    let mail = std::env::temp_dir().join(format!("logout-bench-mail-{}", std::process::id()));
    let o = Options {
        binary: arg("--server", "target/release/auth-server"),
        mail: mail.display().to_string(),
        concurrency: (!concurrency.is_empty()).then(|| concurrency.clone()),
    };
    assert!(
        users > 0 && sessions >= users,
        "--sessions must be at least --users"
    );

    let l = latency(&o, rounds, hung_rounds).await;
    let rx = Receiver::start();
    let mut figures = vec![];
    for backend in backends.split(',').map(str::trim) {
        let backend = match backend {
            "sqlite" => TestBackend::Sqlite,
            "postgres" => TestBackend::Postgres,
            other => panic!("--backends: unknown {other}"),
        };
        figures.push(throughput(&o, backend, (sessions, users, t_rounds), &rx).await);
    }
    drop(rx);

    let concurrency = o.concurrency.as_deref().unwrap_or("64 (the default)");
    let section = format!(
        "Measured {date} on {machine}, release build, loopback (`logout-bench --rounds {rounds} --hung-rounds \
         {hung_rounds} --sessions {sessions} --users {users} --throughput-rounds {t_rounds} --backends {backends}`); \
         `AUTH_BACKCHANNEL_CONCURRENCY` {concurrency}; server defaults otherwise (delivery batch 256, tick 1 s, \
         post timeout 5 s), access tokens ES256, rate limits, login throttling and the sign-up email gate off; \
         `RUST_LOG=warn`.\n\n\
         Latency: PostgreSQL, instances A and B on one database; {rounds} rounds after {WARM_UP} warm-up rounds, \
         then {hung_rounds} rounds with a third `allSessions` client whose receiver accepts connections and never \
         answers; both services measured on the same logouts, the old token tried every 2 ms.\n\n\
         {lat}\n\
         Introspection requests answered by A and B during all these rounds: **{intro}** (aim: 0; the services' \
         `AuthClient`s have no introspection credentials). Logout tokens delivered by A / B: {da} / {db}. \
         `/ssf/poll` requests answered by B: {polls}.\n\n\
         Throughput: one instance per backend; per round a fresh `allSessions` client, {sessions} sessions inserted \
         with SQL over {users} users, then {users} concurrent `DELETE /internal/users/{{id}}/sessions`; medians of \
         {t_rounds} rounds per algorithm, the algorithms taking turns.\n\n\
         {tput}",
        date = chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        machine = machine(),
        lat = latency_rows(&l),
        intro = l.introspections,
        da = l.delivered.0,
        db = l.delivered.1,
        polls = l.polls,
        tput = throughput_rows(&figures, sessions, users),
    );
    eprintln!("{section}");
    write_section(&out, "logout-bench", &section);
    eprintln!("figures written to {out}");
    let _ = std::fs::remove_dir_all(&mail);
}
