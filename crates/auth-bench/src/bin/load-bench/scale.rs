//! `--scale` (issue 18): the same measurements on an empty database and on
//! one filled like a deployment of some years (`auth_bench::scale`),
//! two servers taking turns within every round, each figure quoted as
//! full ÷ empty (median of the rounds' ratios).

use super::*;

/// Throughput figures are better high, latencies and memory better low.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Better {
    Higher,
    Lower,
}

/// One figure of both servers, round by round.
pub(crate) struct Series {
    pub(crate) label: &'static str,
    pub(crate) unit: &'static str,
    pub(crate) better: Better,
    pub(crate) empty: Vec<f64>,
    pub(crate) full: Vec<f64>,
}

impl Series {
    pub(crate) fn new(label: &'static str, unit: &'static str, better: Better) -> Self {
        Series {
            label,
            unit,
            better,
            empty: vec![],
            full: vec![],
        }
    }

    /// Median of the per-round ratios full ÷ empty.
    pub(crate) fn ratio(&self) -> f64 {
        let mut r: Vec<f64> = self.full.iter().zip(&self.empty).map(|(f, e)| f / e).collect();
        median(&mut r)
    }

    pub(crate) fn met(&self) -> bool {
        match self.better {
            Better::Higher => self.ratio() >= 0.9,
            Better::Lower => self.ratio() <= 1.1,
        }
    }
}

/// Answers 2xx per second for `clients` concurrent loops, each POSTing the
/// body `make(k)` for a fresh `k` (unique sign-ups, code sends).
pub(crate) async fn unique_posts(
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

pub(crate) fn signup_body(id: &str) -> Value {
    json!({"authId": id, "password": PASSWORD, "name": "벤치", "email": format!("{id}@bench.test")})
}

pub(crate) fn send_code_body(id: &str) -> Value {
    json!({"authId": id, "email": format!("{id}@bench.test"), "type": "SIGN_UP"})
}

/// One server of the scale comparison.
pub(crate) struct ScaleSide {
    pub(crate) server: Server,
    pub(crate) addr: SocketAddr,
    pub(crate) users: Arc<Vec<String>>,
    pub(crate) pair: (String, String),
}

impl ScaleSide {
    pub(crate) async fn new(server: Server, users: Arc<Vec<String>>) -> Self {
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
pub(crate) async fn scale_round(side: &mut ScaleSide, seconds: f64, round: usize, tag: &str) -> Vec<f64> {
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
    // An administrator looking up one account by its email: on the full
    // database one match among `accounts`, on the empty one none.
    let search = hammer(
        side.addr,
        get_request(
            &format!(
                "/internal/users?query=scale{}%40scale.test&limit=20",
                77_777 + round
            ),
            Some(ADMIN_TOKEN),
        ),
        2 * cores(),
        seconds,
    )
    .await;
    let handshakes = socket_handshakes(&side.server, &side.pair.0, seconds).await;
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
        search,
        handshakes,
    ]
}

/// The admin bearer of the scale servers (`AUTH_ADMIN_TOKEN`).
pub(crate) const ADMIN_TOKEN: &str = "load-bench-admin-token-0123456789abcdef";

/// WebSocket handshakes per second on one client, each authenticated with
/// `access` (the token and its session row are checked) and closed again.
pub(crate) async fn socket_handshakes(server: &Server, access: &str, seconds: f64) -> f64 {
    let url = server.ws_url(Some(access));
    let until = Instant::now() + Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let mut done = 0u64;
    while Instant::now() < until {
        let socket = auth_contract_tests::ws::connect(&url, &[])
            .await
            .unwrap_or_else(|(status, body)| panic!("socket refused: {status} {body}"));
        drop(socket);
        done += 1;
    }
    done as f64 / started.elapsed().as_secs_f64()
}

pub(crate) fn ms_f(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

pub(crate) fn scale_series() -> Vec<Series> {
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
        Series::new(
            "admin user search for one account by email (`GET /internal/users?query=…`), req/s",
            "/s",
            Better::Higher,
        ),
        Series::new(
            "socket handshake (`GET /ws` with an access token, then closed), per second on one client",
            "/s",
            Better::Higher,
        ),
        Series::new("steady-state RSS 12 s after the rounds", " MB", Better::Lower),
    ]
}

/// `--scale`: one backend, empty against full. Returns its Markdown table.
pub(crate) async fn scale(params: &Params, backend: TestBackend, accounts: u64) -> String {
    let name = match backend {
        TestBackend::Sqlite => "SQLite",
        TestBackend::Postgres => "PostgreSQL",
    };
    let mail = mail_dir();
    let empty_db = TestDatabase::new(backend);
    let full_db = TestDatabase::new(backend);
    let phc = stored_hash(PASSWORD);
    let fill_started = Instant::now();
    let filled = {
        let db = auth_infra::Database::connect(full_db.url(), 1).await.unwrap();
        db.migrate().await.unwrap();
        auth_bench::scale::fill(&db, accounts, &phc).await.unwrap()
    };
    let fill_time = fill_started.elapsed();
    let size = db_size(backend, full_db.url()).await;
    let client = reqwest::Client::new();
    let admin = [("AUTH_ADMIN_TOKEN".to_owned(), ADMIN_TOKEN.to_owned())];
    let empty_server = start_with(params, empty_db.url(), &mail, &admin).await;
    let full_server = start_with(params, full_db.url(), &mail, &admin).await;
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
    let parts = |pid| {
        let (anon, file, shmem) = auth_bench::rss_parts_kib(pid);
        let mb = |kib: u64| kib as f64 * 1024.0 / 1e6;
        format!("{:.1} / {:.1} / {:.1} MB", mb(anon), mb(file), mb(shmem))
    };
    let rss_split = format!(
        "RSS 12 s after the rounds, anonymous / file-backed / shared: empty {}, full {}.\n",
        parts(sides[0].server.pid()),
        parts(sides[1].server.pid())
    );
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
    table.push('\n');
    table.push_str(&rss_split);
    table
}

pub(crate) fn thousands(n: u64) -> String {
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

/// The bytes of the SQLite database at `url` on disk: its file and its WAL.
pub(crate) fn sqlite_bytes(url: &str) -> u64 {
    let path = url.trim_start_matches("sqlite://");
    ["", "-wal"]
        .iter()
        .filter_map(|s| std::fs::metadata(format!("{path}{s}")).ok())
        .map(|m| m.len())
        .sum()
}

/// The database's size on disk, as text.
pub(crate) async fn db_size(backend: TestBackend, url: &str) -> String {
    match backend {
        TestBackend::Sqlite => {
            format!("{:.0} MB on disk (file + WAL)", sqlite_bytes(url) as f64 / 1e6)
        }
        TestBackend::Postgres => {
            let db = auth_infra::Database::connect(url, 1).await.unwrap();
            let bytes = db.database_bytes().await.unwrap();
            format!("{:.0} MB on disk (`pg_database_size`)", bytes as f64 / 1e6)
        }
    }
}

pub(crate) async fn run_scale(params: &Params, out: &str, backends: &str) {
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
    let churn_seconds: u64 = arg("--churn-seconds", "300").parse().unwrap();
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
    let socket_sizes = auth_bench::sockets::socket_counts(&arg("--socket-sizes", "1000,10000,19500"));
    if !socket_sizes.is_empty() {
        body.push_str(&format!("\n{}", socket_memory(params, &socket_sizes).await));
        eprintln!("{body}");
    }
    write_section(out, "load-bench-scale", &body);
    eprintln!("figures written to {out}");
}

/// `--scale` part 3: memory per idle socket, the actix-ws floor
/// (`--floor`, the `ws-floor` binary) and ours above it, `--socket-rounds`
/// times (default 3) at each size; `auth-server` runs on a fresh SQLite
/// database with the bench's settings.
pub(crate) async fn socket_memory(params: &Params, sizes: &[usize]) -> String {
    let floor = arg("--floor", "target/release/ws-floor");
    let rounds: usize = arg("--socket-rounds", "3").parse().unwrap();
    let client = reqwest::Client::new();
    let rows = auth_bench::sockets::socket_memory(&floor, sizes, rounds, async || {
        let db = TestDatabase::new(TestBackend::Sqlite);
        let mail = mail_dir();
        let server = start_with(params, db.url(), &mail, &[]).await;
        let users = seed_users(&client, &server.base).await;
        let (access, _) = login(&client, &server.base, &users[0]).await;
        let url = server.ws_url(Some(&access));
        (server, url, (db, MailDir(mail)))
    })
    .await;
    format!(
        "#### Memory per idle socket\n\n{}",
        auth_bench::sockets::socket_memory_table(&rows, rounds)
    )
}

/// Removes a mail folder when dropped.
pub(crate) struct MailDir(String);

impl Drop for MailDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
