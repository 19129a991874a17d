//! `cost-bench`: what one operation costs each side (docs/capacity.md). A
//! benchmark, not a test: it writes its figures into `docs/capacity.md`
//! between the `cost-bench` markers; nothing in it asserts on time.
//!
//! For each backend (PostgreSQL on a throwaway database, then SQLite on a
//! throwaway file) it starts the release `auth-server` (loopback; server
//! defaults, argon2 included, except: per-IP rate limits and the sign-up
//! email gate off, `AUTH_WS_SESSION_CHECK_SECONDS=1` so that held sockets
//! re-check often enough to be measured, `RUST_LOG=info` with stdout
//! discarded), signs up 8 users, and per round runs each operation as a
//! batch of N, `--concurrency` at a time: idle (nothing, `--idle-seconds`:
//! the background work every other figure is netted of), password login
//! (`standard`), refresh rotation (chains of `reissue-token`), token check
//! (`GET /api/auth/me`, keep-alive), code send (`send/auth-key`, `SIGN_UP`,
//! a fresh email each, to the file outbox), socket (connect and
//! authenticate `/ws`, then drop), held sockets (`--held-sockets` for
//! `--held-seconds`, per socket-second: one session re-check each), logout
//! (`standard`, no client hears), and logout with one back-channel event (a
//! fresh `allSessions` client posting to a receiver in this process; the
//! batch ends when it has every session). The sessions ended are opened by
//! logins before the batch.
//!
//! Before each batch and 1.5 s after it: CPU time of the server's threads
//! and its PostgreSQL backends (`/proc/…/schedstat`), calls and rows of the
//! bench database's statements (`pg_stat_statements`; rows of writes by
//! table) and the WAL position (kept by a temporary replication slot, as
//! other databases' checkpoints recycle it); then the WAL records between
//! that are the bench database's (`pg_walinspect`: bytes, full-page images,
//! commit records). Not `pg_stat_database`/`pg_stat_user_tables`: a pooled
//! connection reports to them only at its next commit a second later or at
//! exit (an idle one had not after 75 s here), so a batch's figures would
//! land in a later one. Medians of `--rounds` rounds.
//!
//! Needs `pg_stat_statements` preloaded (it says how when it is not). Usage
//! (`just bench-costs`): `cost-bench [--rounds N] [--logins N] [--refreshes N]
//! [--checks N] [--codes N] [--sockets N] [--held-sockets N] [--held-seconds
//! S] [--logouts N] [--concurrency N] [--idle-seconds S] [--backends
//! postgres,sqlite] [--server PATH] [--out FILE]`
// A benchmark harness: failing loudly on any unexpected state is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use auth_bench::costs::{
    Delta, PgProbe, Row, Snapshot, cost_table, cpu_now, medians, rows_by_table, send, spread, top_statements,
};
use auth_bench::http::{each_once, get_request};
use auth_bench::receiver::Receiver;
use auth_bench::sockets::open_sockets;
use auth_bench::{Server, arg, machine, write_section};
use auth_contract_tests::{TestBackend, TestDatabase};
use serde_json::json;

const ADMIN: &str = "cost-bench-admin-token-0123456789abcdef";
const SECRET: &str = "cost-bench-secret-cost-bench-secret";
const PASSWORD: &str = "BenchPassword1!";
/// Users signed up once; logins take turns over them.
const USERS: usize = 8;
/// From a batch's end to the reading: its work ends (sockets closing).
const TAIL: Duration = Duration::from_millis(1500);

/// What is measured, in the order of a round.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Op {
    Idle,
    Login,
    Refresh,
    Check,
    Code,
    Socket,
    Held,
    Logout,
    Event,
    /// Derived: `Event` − `Logout`.
    EventOnly,
}

/// The sizes and pacing of a run.
struct Options {
    binary: String,
    rounds: usize,
    concurrency: usize,
    idle: Duration,
    logins: usize,
    refreshes: usize,
    checks: usize,
    codes: usize,
    sockets: usize,
    held_sockets: usize,
    held_seconds: f64,
    logouts: usize,
    out: String,
    backends: String,
}

impl Options {
    fn from_args() -> Options {
        let n = |name: &str, default: &str| -> usize { arg(name, default).parse().unwrap() };
        let s = |name: &str, default: &str| -> f64 { arg(name, default).parse().unwrap() };
        Options {
            binary: arg("--server", "target/release/auth-server"),
            rounds: n("--rounds", "3"),
            concurrency: n("--concurrency", "4"),
            idle: Duration::from_secs_f64(s("--idle-seconds", "12")),
            logins: n("--logins", "200"),
            refreshes: n("--refreshes", "2000"),
            checks: n("--checks", "20000"),
            codes: n("--codes", "1000"),
            sockets: n("--sockets", "1000"),
            held_sockets: n("--held-sockets", "200"),
            held_seconds: s("--held-seconds", "10"),
            logouts: n("--logouts", "400"),
            out: arg("--out", "docs/capacity.md"),
            backends: arg("--backends", "postgres,sqlite"),
        }
    }
}

/// One backend's server and what the operations need.
struct Bench {
    server: Server,
    probe: Option<PgProbe>,
    client: reqwest::Client,
    rx: Receiver,
    /// Every window's raw figures added up (evictions, the cluster's WAL).
    totals: std::sync::Mutex<BTreeMap<String, f64>>,
}

impl Bench {
    async fn backends(&self) -> Vec<u32> {
        match &self.probe {
            Some(p) => p.backend_pids().await.unwrap(),
            None => vec![],
        }
    }

    /// CPU and, on PostgreSQL, the statements and WAL position now.
    async fn reading(&self) -> Snapshot {
        let mut snapshot = cpu_now(self.server.pid(), &self.backends().await);
        if let Some(p) = &self.probe {
            p.read(&mut snapshot).await.unwrap();
        }
        snapshot
    }

    /// `work`'s output and what it cost, read before it and [`TAIL`] after.
    async fn measure<T>(&self, work: impl Future<Output = T>) -> (Delta, T) {
        if let Some(p) = &self.probe {
            p.keep_wal().await.unwrap();
        }
        let a = self.reading().await;
        let out = work.await;
        tokio::time::sleep(TAIL).await;
        let b = self.reading().await;
        let mut delta = Delta::between(&a, &b);
        if let Some(p) = &self.probe {
            delta.values.extend(p.wal(&a.lsn, &b.lsn).await.unwrap());
        }
        let mut totals = self.totals.lock().unwrap();
        *totals.entry("seconds".into()).or_insert(0.0) += delta.seconds;
        for (k, v) in &delta.values {
            *totals.entry(k.clone()).or_insert(0.0) += v;
        }
        (delta, out)
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.base)
    }

    /// `n` `standard` logins over the users: `(access, refresh)` each.
    async fn logins(&self, n: usize, concurrency: usize) -> Vec<(String, String)> {
        let (client, url) = (self.client.clone(), self.url("/api/auth/login"));
        spread(n, concurrency, move |i| {
            let (client, url) = (client.clone(), url.clone());
            async move {
                let body = json!({"username": format!("costbench{}", i % USERS), "password": PASSWORD});
                let (status, body) = send(client.post(url).json(&body)).await;
                assert_eq!(status, 200, "login: {body}");
                let field = |k: &str| body[k].as_str().unwrap().to_owned();
                (field("accessToken"), field("refreshToken"))
            }
        })
        .await
    }

    /// `per_chain` rotations of each of `pairs`' sessions, the chains at once.
    async fn rotations(&self, pairs: Vec<(String, String)>, per_chain: usize) {
        let chains = pairs.into_iter().map(|mut pair| {
            let (client, url) = (self.client.clone(), self.url("/api/auth/reissue-token"));
            tokio::spawn(async move {
                for _ in 0..per_chain {
                    let body = json!({"accessToken": pair.0, "refreshToken": pair.1});
                    let (status, body) = send(client.post(&url).json(&body)).await;
                    assert_eq!(status, 200, "reissue: {body}");
                    let field = |k: &str| body[k].as_str().unwrap().to_owned();
                    pair = (field("accessToken"), field("refreshToken"));
                }
            })
        });
        for chain in chains.collect::<Vec<_>>() {
            chain.await.unwrap();
        }
    }

    /// `n` `send/auth-key` (`SIGN_UP`) to fresh addresses tagged `tag`.
    async fn code_sends(&self, n: usize, concurrency: usize, tag: String) {
        let (client, url) = (self.client.clone(), self.url("/api/auth/send/auth-key"));
        spread(n, concurrency, move |i| {
            let (client, url, tag) = (client.clone(), url.clone(), tag.clone());
            async move {
                let login = format!("cb{tag}x{i}");
                let body =
                    json!({"authId": login, "email": format!("{login}@bench.test"), "type": "SIGN_UP"});
                let (status, body) = send(client.post(url).json(&body)).await;
                assert!(
                    status == 200 && body["data"]["state"] == true,
                    "send: {status} {body}"
                );
            }
        })
        .await;
    }

    /// `n` sockets opened with `tokens` in turn, each dropped once open.
    async fn sockets(&self, n: usize, concurrency: usize, tokens: Arc<Vec<String>>) {
        let urls: Arc<Vec<String>> = Arc::new(tokens.iter().map(|t| self.server.ws_url(Some(t))).collect());
        spread(n, concurrency, move |i| {
            let urls = urls.clone();
            async move {
                let socket = auth_contract_tests::ws::connect(&urls[i % urls.len()], &[]).await;
                drop(socket.unwrap_or_else(|e| panic!("socket refused: {e:?}")));
            }
        })
        .await;
    }

    /// A `standard` logout of each of `tokens`' sessions.
    async fn logouts(&self, tokens: Vec<String>, concurrency: usize) {
        let tokens = Arc::new(tokens);
        let (client, url) = (self.client.clone(), self.url("/api/auth/logout"));
        spread(tokens.len(), concurrency, move |i| {
            let (client, url, tokens) = (client.clone(), url.clone(), tokens.clone());
            async move {
                let (status, body) = send(client.post(url).bearer_auth(&tokens[i])).await;
                assert_eq!(status, 200, "logout: {body}");
            }
        })
        .await;
    }

    /// Registers an `allSessions` client posting to the receiver; its id.
    async fn register(&self, round: usize) -> String {
        let body = json!({"name": "cost-bench", "grantTypes": ["client_credentials"], "allSessions": true,
            "backchannelLogoutUri": format!("{}/r{round}", self.rx.base), "idTokenSignedResponseAlg": "ES256"});
        let (status, answer) = send(
            self.client
                .post(self.url("/internal/oauth-clients"))
                .bearer_auth(ADMIN)
                .json(&body),
        )
        .await;
        assert_eq!(status, 201, "register: {answer}");
        answer["clientId"].as_str().unwrap().to_owned()
    }

    async fn unregister(&self, id: &str) {
        let url = self.url(&format!("/internal/oauth-clients/{id}"));
        let (status, body) = send(self.client.delete(url).bearer_auth(ADMIN)).await;
        assert!(status < 300, "delete the client: {status} {body}");
    }

    /// One round: every operation's cost per operation (`Held` per
    /// socket-second), netted of this round's idle rates.
    async fn round(&self, o: &Options, round: usize, tag: &str) -> BTreeMap<Op, BTreeMap<String, f64>> {
        let c = o.concurrency;
        let mut per = BTreeMap::new();
        let mut note = |op: Op, per_op: BTreeMap<String, f64>| {
            eprintln!(
                "[{tag}] round {round} {op:?}: {:.3} ms server CPU, {:.2} statements",
                per_op.get("cpu.server").copied().unwrap_or(0.0),
                per_op.get("stmts").copied().unwrap_or(0.0)
            );
            per.insert(op, per_op);
        };

        let (idle, ()) = self.measure(tokio::time::sleep(o.idle)).await;
        let rates = idle.rates();
        note(Op::Idle, rates.clone());
        let per_op = |d: &Delta, n: usize| d.per_op(&rates, n as f64);

        let (d, pairs) = self.measure(self.logins(o.logins, c)).await;
        note(Op::Login, per_op(&d, o.logins));
        assert!(pairs.len() >= c, "--logins must be at least --concurrency");

        let chains = pairs[..c].to_vec();
        let (d, ()) = self.measure(self.rotations(chains, o.refreshes / c)).await;
        note(Op::Refresh, per_op(&d, o.refreshes / c * c));

        let addr: SocketAddr = self.server.base.trim_start_matches("http://").parse().unwrap();
        let requests: Vec<Vec<u8>> = (0..o.checks)
            .map(|i| get_request("/api/auth/me", Some(&pairs[i % pairs.len()].0)))
            .collect();
        let (d, _) = self.measure(each_once(addr, requests, c, 200)).await;
        note(Op::Check, per_op(&d, o.checks));

        let (d, ()) = self
            .measure(self.code_sends(o.codes, c, format!("{round}")))
            .await;
        note(Op::Code, per_op(&d, o.codes));

        // Sessions the refresh chains did not rotate: their access tokens
        // are current.
        let live: Arc<Vec<String>> = Arc::new(pairs[c..].iter().map(|p| p.0.clone()).collect());
        let (d, ()) = self.measure(self.sockets(o.sockets, c, live.clone())).await;
        note(Op::Socket, per_op(&d, o.sockets));

        let held = open_sockets(&self.server.ws_url(Some(&live[0])), o.held_sockets).await;
        tokio::time::sleep(Duration::from_secs(1)).await;
        let (d, ()) = self
            .measure(tokio::time::sleep(Duration::from_secs_f64(o.held_seconds)))
            .await;
        let k = o.held_sockets as f64;
        note(Op::Held, d.per_op(&rates, k * d.seconds));
        drop(held);

        let tokens = self.logins(o.logouts, c).await.into_iter().map(|p| p.0).collect();
        tokio::time::sleep(TAIL).await;
        let (d, ()) = self.measure(self.logouts(tokens, c)).await;
        note(Op::Logout, per_op(&d, o.logouts));

        let client = self.register(round).await;
        self.rx.reset();
        let tokens = self.logins(o.logouts, c).await.into_iter().map(|p| p.0).collect();
        tokio::time::sleep(TAIL).await;
        let work = async {
            self.logouts(tokens, c).await;
            let deadline = Instant::now() + Duration::from_secs(120);
            while self.rx.sessions() < o.logouts {
                assert!(
                    Instant::now() < deadline,
                    "{} of {} events after 120 s",
                    self.rx.sessions(),
                    o.logouts
                );
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        };
        let (d, ()) = self.measure(work).await;
        note(Op::Event, per_op(&d, o.logouts));
        self.unregister(&client).await;
        per
    }
}

/// One backend's medians per operation.
struct Figures {
    name: &'static str,
    per_op: BTreeMap<Op, BTreeMap<String, f64>>,
    /// Statement texts by queryid.
    texts: BTreeMap<String, String>,
    version: Option<String>,
    /// Every window's raw figures added up.
    totals: BTreeMap<String, f64>,
}

async fn measure(o: &Options, backend: TestBackend) -> Figures {
    let name = match backend {
        TestBackend::Sqlite => "SQLite",
        TestBackend::Postgres => "PostgreSQL",
    };
    let db = TestDatabase::new(backend);
    let probe = match backend {
        TestBackend::Sqlite => None,
        TestBackend::Postgres => {
            let admin = auth_infra::testdb::postgres_admin_url().unwrap_or_else(|e| panic!("{e}"));
            match PgProbe::connect(db.url(), &admin).await {
                Ok(p) => Some(p),
                Err(e) => {
                    eprintln!("cost-bench: {e}");
                    drop(db);
                    std::process::exit(2);
                }
            }
        }
    };
    let version = match &probe {
        Some(p) => Some(p.version().await.unwrap()),
        None => None,
    };
    let mail = std::env::temp_dir().join(format!("cost-bench-mail-{}", std::process::id()));
    let mail = mail.display().to_string();
    let env = [
        ("AUTH_DATABASE_URL", db.url()),
        ("AUTH_JWT_SECRET", SECRET),
        ("AUTH_JWT_ALGORITHM", "ES256"),
        ("AUTH_ADMIN_TOKEN", ADMIN),
        ("AUTH_MAIL_DIR", &mail),
        ("AUTH_SIGNUP_REQUIRE_EMAIL_CODE", "false"),
        ("AUTH_RATE_LIMIT_ENABLED", "false"),
        ("AUTH_WS_SESSION_CHECK_SECONDS", "1"),
        ("RUST_LOG", "info"),
    ];
    let server = Server::start(&o.binary, &env).await;
    let bench = Bench {
        server,
        probe,
        client: reqwest::Client::new(),
        rx: Receiver::start(),
        totals: std::sync::Mutex::default(),
    };
    for u in 0..USERS {
        let login = format!("costbench{u}");
        let body = json!({"authId": login, "password": PASSWORD, "name": "벤치", "email": format!("{login}@bench.test")});
        let (status, answer) = send(bench.client.post(bench.url("/api/auth/sign-up")).json(&body)).await;
        assert!(status < 300, "sign-up: {status} {answer}");
    }
    // Warm-up: connections, prepared statements, the token cache's keys.
    let pairs = bench.logins(2 * o.concurrency, o.concurrency).await;
    bench.rotations(pairs, 10).await;

    let mut rounds: BTreeMap<Op, Vec<BTreeMap<String, f64>>> = BTreeMap::new();
    for r in 0..o.rounds {
        for (op, v) in bench.round(o, r, name).await {
            rounds.entry(op).or_default().push(v);
        }
    }
    let mut per_op: BTreeMap<Op, BTreeMap<String, f64>> =
        rounds.iter().map(|(op, v)| (*op, medians(v))).collect();
    // The event alone: per round, logout with the event minus without.
    let only: Vec<BTreeMap<String, f64>> = rounds[&Op::Event]
        .iter()
        .zip(&rounds[&Op::Logout])
        .map(|(with, without)| {
            with.iter()
                .map(|(k, v)| (k.clone(), v - without.get(k).copied().unwrap_or(0.0)))
                .collect()
        })
        .collect();
    per_op.insert(Op::EventOnly, medians(&only));
    let mut last = Snapshot::default();
    if let Some(p) = &bench.probe {
        p.read(&mut last).await.unwrap();
    }
    let totals = bench.totals.lock().unwrap().clone();
    drop(bench);
    let _ = std::fs::remove_dir_all(&mail);
    Figures {
        name,
        per_op,
        texts: last.texts,
        version,
        totals,
    }
}

impl Op {
    const ALL: [Op; 10] = [
        Op::Login,
        Op::Refresh,
        Op::Check,
        Op::Code,
        Op::Socket,
        Op::Held,
        Op::Logout,
        Op::Event,
        Op::EventOnly,
        Op::Idle,
    ];

    fn label(self) -> &'static str {
        match self {
            Op::Idle => "idle instance, **per second** (its background work)",
            Op::Login => "password login (`standard` `POST /api/auth/login`, argon2id)",
            Op::Refresh => "refresh rotation (`POST /api/auth/reissue-token`)",
            Op::Check => "token check (`GET /api/auth/me`, bearer)",
            Op::Code => "code send (`POST /api/auth/send/auth-key`, `SIGN_UP`, mail to the file outbox)",
            Op::Socket => "socket: connect and authenticate `/ws`, then drop",
            Op::Held => "socket held, **per socket-second** (one session re-check)",
            Op::Logout => "logout (`POST /api/auth/logout`), no client hears of it",
            Op::Event => "logout and one back-channel event (an `allSessions` push client)",
            Op::EventOnly => "**the back-channel event alone** (the two rows above, difference per round)",
        }
    }

    fn n(self, o: &Options) -> String {
        match self {
            Op::Idle => format!("{:.0} s", o.idle.as_secs_f64()),
            Op::Held => format!("{} sockets × {:.0} s", o.held_sockets, o.held_seconds),
            Op::EventOnly => "–".into(),
            Op::Login => o.logins.to_string(),
            Op::Refresh => (o.refreshes / o.concurrency * o.concurrency).to_string(),
            Op::Check => o.checks.to_string(),
            Op::Code => o.codes.to_string(),
            Op::Socket => o.sockets.to_string(),
            Op::Logout | Op::Event => o.logouts.to_string(),
        }
    }
}

fn report(o: &Options, figures: &[Figures]) -> String {
    let of = |name: &str, op: Op| {
        figures
            .iter()
            .find(|f| f.name == name)
            .and_then(|f| f.per_op.get(&op).cloned())
    };
    let rows: Vec<Row> = Op::ALL
        .iter()
        .map(|&op| Row {
            label: op.label().into(),
            n: op.n(o),
            pg: of("PostgreSQL", op),
            sqlite: of("SQLite", op),
        })
        .collect();
    let version = figures.iter().find_map(|f| f.version.clone()).unwrap_or_default();
    let version = version.split(" on ").next().unwrap_or("").to_owned();
    let texts = figures
        .iter()
        .find(|f| f.name == "PostgreSQL")
        .map(|f| f.texts.clone())
        .unwrap_or_default();
    let totals = figures
        .iter()
        .find(|f| f.name == "PostgreSQL")
        .map(|f| f.totals.clone())
        .unwrap_or_default();
    let total = |k: &str| totals.get(k).copied().unwrap_or(0.0);
    let others = 100.0 * (1.0 - total("wal") / total("wal.cluster").max(1.0));
    format!(
        "Measured {date} on {machine}, release build, loopback, {version} on the same machine \
         (`cost-bench --rounds {r} --logins {l} --refreshes {rf} --checks {ch} --codes {co} --sockets {so} \
         --held-sockets {hs} --held-seconds {hsec} --logouts {lo} --concurrency {c} --idle-seconds {idle:.0} \
         --backends {b}`): medians of {r} rounds, each figure **per operation**, net of the idle instance's \
         background work over the same window (the last row, per second). Server defaults (argon2id m=19456 KiB, \
         t=2, p=1 on the hashing pool; login throttling on; access tokens ES256; pool of 8 connections) except: \
         per-IP rate limits and the sign-up email gate off, `AUTH_WS_SESSION_CHECK_SECONDS=1` (a held socket \
         re-checks its session every second instead of every 60), `RUST_LOG=info` (stdout discarded). CPU: on-CPU \
         time of the server's threads and of its PostgreSQL backends (`/proc/…/schedstat`), the batch and 1.5 s \
         after it. Statements: `pg_stat_statements` calls in the bench database (`BEGIN` and `COMMIT` included: \
         each is a round trip). Commits that wrote: commit records of the bench database's transactions in the \
         WAL (`pg_walinspect`), each a WAL flush its client waited for; read-only statements commit without one. \
         Rows written: rows of its `INSERT`, `UPDATE` and `DELETE` statements (`pg_stat_statements`). WAL bytes: \
         the WAL records that touch its relations or belong to its transactions, commit records included, split \
         into full-page images (a page's first change after a checkpoint) and the rest; this shared server \
         checkpointed {cpm:.0} times a minute meanwhile (other databases' `DROP DATABASE`), far more often than a \
         deployment's `checkpoint_timeout` of minutes, so read the images as an upper bound. Other databases of this shared PostgreSQL wrote {others:.0} % of the cluster's WAL \
         meanwhile (left out); `pg_stat_statements` evicted {dealloc:.0} entries meanwhile (an evicted statement's \
         calls are undercounted). SQLite: the server's CPU only (the database works inside it).\n\n\
         {table}\n\
         Rows written per operation, by table (PostgreSQL):\n\n{by_table}\n\
         The statements behind each operation, most calls first (PostgreSQL; `$n` are parameters):\n\n{top}",
        date = chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        machine = machine(),
        r = o.rounds,
        l = o.logins,
        rf = o.refreshes,
        ch = o.checks,
        co = o.codes,
        so = o.sockets,
        hs = o.held_sockets,
        hsec = o.held_seconds,
        lo = o.logouts,
        c = o.concurrency,
        idle = o.idle.as_secs_f64(),
        b = o.backends,
        dealloc = total("dealloc"),
        cpm = 60.0 * total("checkpoints") / total("seconds").max(1.0),
        table = cost_table(&rows),
        by_table = rows_by_table(&rows),
        top = top_statements(&rows[..rows.len() - 1], &texts, 6),
    )
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let o = Options::from_args();
    let mut figures = vec![];
    for backend in o.backends.split(',').map(str::trim) {
        let backend = match backend {
            "sqlite" => TestBackend::Sqlite,
            "postgres" => TestBackend::Postgres,
            other => panic!("--backends: unknown {other}"),
        };
        figures.push(measure(&o, backend).await);
    }
    let body = report(&o, &figures);
    eprintln!("{body}");
    write_section(&o.out, "cost-bench", &body);
    eprintln!("figures written to {}", o.out);
}
