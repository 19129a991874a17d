//! `ws-bench`: what one instance's sockets cost, and how fast a forced
//! logout crosses instances. A benchmark, not a test: it prints figures and
//! writes them into `docs/performance.md` between its markers.
//!
//! It starts two release `auth-server` processes on one fresh PostgreSQL
//! database (loopback only), then:
//! 1. capacity: opens `--sockets` idle authenticated sockets to instance A,
//!    reads A's RSS before and after, and proves every socket is live by
//!    pushing one `NOTIFICATION` that all of them must receive;
//! 2. memory breakdown: for each of `--sizes` (default 1000,10000,19500),
//!    `--mem-rounds` times (default 3, the order alternating), a fresh
//!    `ws-floor` (actix-web and actix-ws with a bare socket task: the floor)
//!    and a fresh `auth-server` each take that many idle sockets; the RSS
//!    growth per socket of each from N/2 to N sockets, and ours
//!    (auth-server minus floor, per round), are reported as medians
//!    (`auth_bench::sockets`). 19,500 rather than 20,000: this
//!    machine's hard limit on open files per process is 20,000, and a
//!    server holding 20,000 sockets needs a few more descriptors than that;
//! 3. latency: `--rounds` times, a user logs in through the `session`
//!    contract on B and opens a socket on B; the same user logs in on A; the
//!    time from A's login response to B's socket receiving `LOGOUT` is
//!    recorded (p50/p99).
//!
//! Usage (see `just bench-ws`):
//! `cargo run --release -p auth-bench --bin ws-bench -- [--sockets N] [--rounds N] [--sizes N,N,…]
//! [--mem-rounds N] [--server PATH] [--floor PATH] [--out FILE]`
//!
//! Every wait is bounded; the child servers are killed on exit.
// A benchmark harness: failing loudly on any unexpected state is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use auth_bench::sockets::{open_sockets, settled_rss, socket_counts, socket_memory, socket_memory_table};
use auth_bench::{Server, arg, machine, ms, percentile, rss_kib, write_section};
use auth_contract_tests::TestDatabase;
use auth_contract_tests::ws::{Frame, connect};
use serde_json::{Value, json};

const ADMIN: &str = "bench-admin-token-0123456789abcdef";

async fn start(binary: &str, db_url: &str, mail_dir: &str) -> Server {
    Server::start(
        binary,
        &[
            ("AUTH_DATABASE_URL", db_url),
            ("AUTH_JWT_SECRET", "bench-secret-bench-secret-bench-secret"),
            ("AUTH_ADMIN_TOKEN", ADMIN),
            ("AUTH_SIGNUP_REQUIRE_EMAIL_CODE", "false"),
            ("AUTH_RATE_LIMIT_ENABLED", "false"),
            ("AUTH_LOGIN_THROTTLE_ENABLED", "false"),
            ("AUTH_MAIL_DIR", mail_dir),
            ("AUTH_WS_HEARTBEAT_SECONDS", "300"),
            ("AUTH_WS_IDLE_TIMEOUT_SECONDS", "600"),
            ("AUTH_WS_SESSION_CHECK_SECONDS", "0"),
        ],
    )
    .await
}

async fn post(client: &reqwest::Client, url: String, body: Value) -> Value {
    let response = client.post(url).json(&body).send().await.unwrap();
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "{status}: {body}");
    body
}

async fn sign_up(client: &reqwest::Client, server: &Server, login: &str) {
    post(
        client,
        format!("{}/api/auth/sign-up", server.base),
        json!({"authId": login, "password": "BenchPassword1!", "name": "벤치", "email": format!("{login}@bench.test")}),
    )
    .await;
}

async fn session_login(client: &reqwest::Client, server: &Server, login: &str) -> String {
    let body = post(
        client,
        format!("{}/api/login", server.base),
        json!({"userId": login, "password": "BenchPassword1!"}),
    )
    .await;
    body["accessToken"].as_str().unwrap().to_owned()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let sockets: usize = arg("--sockets", "10000").parse().unwrap();
    let rounds: usize = arg("--rounds", "200").parse().unwrap();
    let binary = arg("--server", "target/release/auth-server");
    let floor_binary = arg("--floor", "target/release/ws-floor");
    let sizes = socket_counts(&arg("--sizes", "1000,10000,19500"));
    let mem_rounds: usize = arg("--mem-rounds", "3").parse().unwrap();
    let out = arg("--out", "docs/performance.md");
    let db = TestDatabase::postgres();
    let mail_dir = std::env::temp_dir().join(format!("ws-bench-mail-{}", std::process::id()));
    let mail_dir = mail_dir.display().to_string();
    let a = start(&binary, db.url(), &mail_dir).await;
    let b = start(&binary, db.url(), &mail_dir).await;
    let client = reqwest::Client::new();
    eprintln!("servers ready in {:?} and {:?}", a.ready_in, b.ready_in);

    // 1. Capacity and memory.
    sign_up(&client, &a, "benchcap").await;
    let token = session_login(&client, &a, "benchcap").await;
    let rss_idle = settled_rss(&a).await;
    let opened = Instant::now();
    let clients = open_sockets(&a.ws_url(Some(&token)), sockets).await;
    let open_time = opened.elapsed();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_full = rss_kib(a.pid());
    let received = Arc::new(AtomicUsize::new(0));
    let mut readers = Vec::with_capacity(sockets);
    for mut c in clients {
        let received = received.clone();
        readers.push(tokio::spawn(async move {
            if let Frame::Json(v) = c.next(Duration::from_secs(30)).await
                && v["type"] == "NOTIFICATION"
            {
                received.fetch_add(1, Ordering::Relaxed);
            }
            c
        }));
    }
    let pushed = Instant::now();
    let reply = client
        .post(format!("{}/internal/notifications", a.base))
        .bearer_auth(ADMIN)
        .json(&json!({"userId": "benchcap", "message": "bench"}))
        .send()
        .await
        .unwrap();
    assert!(reply.status().is_success());
    let mut kept = Vec::with_capacity(sockets);
    for r in readers {
        kept.push(r.await.unwrap());
    }
    let fan_out = pushed.elapsed();
    let live = received.load(Ordering::Relaxed);
    drop(kept);
    let per_socket = (rss_full.saturating_sub(rss_idle) as f64) / sockets as f64;
    eprintln!(
        "{sockets} sockets: RSS {rss_idle} KiB idle -> {rss_full} KiB ({per_socket:.1} KiB/socket); {live} received the push in {fan_out:?}"
    );

    // 2. Memory per socket: the floor, ours above it.
    sign_up(&client, &a, "benchmem").await;
    let breakdown = socket_memory(&floor_binary, &sizes, mem_rounds, async || {
        let server = start(&binary, db.url(), &mail_dir).await;
        let token = session_login(&client, &server, "benchmem").await;
        let url = server.ws_url(Some(&token));
        (server, url, ())
    })
    .await;
    let breakdown_table = socket_memory_table(&breakdown, mem_rounds);

    // 3. Cross-instance LOGOUT latency.
    let users = 20;
    for u in 0..users {
        sign_up(&client, &a, &format!("benchlat{u}")).await;
    }
    let mut from_response = Vec::with_capacity(rounds);
    let mut from_request = Vec::with_capacity(rounds);
    let mut beat_response = 0;
    let deadline = Instant::now() + Duration::from_secs(300);
    for r in 0..rounds {
        assert!(Instant::now() < deadline, "latency rounds exceeded 300 s");
        let login = format!("benchlat{}", r % users);
        let token = session_login(&client, &b, &login).await;
        let mut socket = connect(&b.ws_url(Some(&token)), &[]).await.unwrap();
        let reader = tokio::spawn(async move {
            let frame = socket.next(Duration::from_secs(10)).await;
            (Instant::now(), frame)
        });
        let sent = Instant::now();
        session_login(&client, &a, &login).await;
        let responded = Instant::now();
        let (arrived, frame) = reader.await.unwrap();
        match frame {
            Frame::Json(v) if v["type"] == "LOGOUT" => {}
            other => panic!("round {r}: expected LOGOUT, got {other:?}"),
        }
        if arrived < responded {
            beat_response += 1;
        }
        from_response.push(arrived.saturating_duration_since(responded));
        from_request.push(arrived - sent);
    }
    from_response.sort();
    from_request.sort();
    let (p50, p99) = (percentile(&from_response, 50.0), percentile(&from_response, 99.0));
    let (q50, q99) = (percentile(&from_request, 50.0), percentile(&from_request, 99.0));
    eprintln!(
        "LOGOUT across instances: after login response p50 {p50:?} p99 {p99:?}; after login request p50 {q50:?} p99 {q99:?}; {beat_response}/{rounds} arrived before the response"
    );

    let section = format!(
        "\
         Measured {date} on {machine}, release build, PostgreSQL 127.0.0.1, two `auth-server` processes on one database \
         (`cargo run --release -p auth-bench --bin ws-bench -- --sockets {sockets} --rounds {rounds} --sizes {sizes} --mem-rounds {mem_rounds}`).\n\n\
         | figure | value | aim |\n|---|---|---|\n\
         | idle authenticated sockets held by one instance | {sockets} (all {live} received a push) | 10,000 |\n\
         | instance RSS, idle → with the sockets | {idle:.1} MiB → {full:.1} MiB | under 150 MB with 10,000 |\n\
         | memory per socket | {per_socket:.1} KiB | |\n\
         | time to open the sockets (250 at a time) | {open} | |\n\
         | one `NOTIFICATION` to all of them (request → last socket) | {fan} | |\n\
         | `LOGOUT` across instances, after the login response: p50 / p99 | {p50} / {p99} | p99 under 50 ms |\n\
         | same, counted from the login request: p50 / p99 | {q50} / {q99} | |\n\
         | `LOGOUT` arrived before the login response | {beat}/{rounds} rounds | |\n\
         | start → ready (`/readyz`), PostgreSQL, both instances | {ra} / {rb} | |\n\n\
         {breakdown_table}",
        date = chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        machine = machine(),
        idle = rss_idle as f64 / 1024.0,
        full = rss_full as f64 / 1024.0,
        open = ms(open_time),
        fan = ms(fan_out),
        p50 = ms(p50),
        p99 = ms(p99),
        q50 = ms(q50),
        q99 = ms(q99),
        beat = beat_response,
        ra = ms(a.ready_in),
        rb = ms(b.ready_in),
        sizes = sizes
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(","),
    );
    write_section(&out, "ws-bench", &section);
    eprintln!("figures written to {out}");
    drop(a);
    drop(b);
    let _ = std::fs::remove_dir_all(&mail_dir);
}
