//! `timing-bench`: does a failed login reveal whether the account exists?
//! A benchmark, not a test (the machines are shared and noisy): it measures
//! and writes the figures into `docs/security.md` between its markers.
//!
//! One `auth-server` on a throwaway SQLite file (login throttling and rate
//! limits off, or the lock would be measured instead). `--rounds` times, in
//! alternating order, one wrong-password login for an existing account and
//! one for an account that does not exist, through `standard` (whose answers
//! must be identical) and `account` (whose document distinguishes them by
//! message, but not by time). Reports medians and their ratio.
//!
//! `cargo run --release -p auth-bench --bin timing-bench -- [--rounds N] [--server PATH] [--out FILE]`
// A benchmark harness: failing loudly on any unexpected state is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use auth_bench::{Server, arg, machine, ms, percentile, write_section};
use serde_json::{Value, json};

async fn timed(client: &reqwest::Client, url: &str, body: &Value) -> (Duration, u16, String) {
    let started = Instant::now();
    let response = client.post(url).json(body).send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (started.elapsed(), status, text)
}

struct Pair {
    known: Vec<Duration>,
    unknown: Vec<Duration>,
}

impl Pair {
    fn medians(&mut self) -> (Duration, Duration, f64) {
        self.known.sort();
        self.unknown.sort();
        let (k, u) = (percentile(&self.known, 50.0), percentile(&self.unknown, 50.0));
        (k, u, u.as_secs_f64() / k.as_secs_f64())
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let rounds: usize = arg("--rounds", "200").parse().unwrap();
    let binary = arg("--server", "target/release/auth-server");
    let out = arg("--out", "docs/security.md");
    let dir = std::env::temp_dir().join(format!("timing-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = format!("sqlite://{}/auth.db", dir.display());
    let mail = dir.join("outbox").display().to_string();
    let server = Server::start(
        &binary,
        &[
            ("AUTH_DATABASE_URL", &db),
            ("AUTH_MAIL_DIR", &mail),
            ("AUTH_SIGNUP_REQUIRE_EMAIL_CODE", "false"),
            ("AUTH_LOGIN_THROTTLE_ENABLED", "false"),
            ("AUTH_RATE_LIMIT_ENABLED", "false"),
        ],
    )
    .await;
    let client = reqwest::Client::new();
    let signed = client
        .post(format!("{}/api/auth/sign-up", server.base))
        .json(&json!({"authId": "timinguser", "password": "RightPassword1!", "name": "타이밍", "email": "timing@bench.test"}))
        .send()
        .await
        .unwrap();
    assert!(signed.status().is_success());

    let standard = format!("{}/api/auth/login", server.base);
    let account = format!("{}/api/auth/sign-in", server.base);
    let mut s = Pair {
        known: vec![],
        unknown: vec![],
    };
    let mut a = Pair {
        known: vec![],
        unknown: vec![],
    };
    let mut standard_bodies = std::collections::BTreeSet::new();
    // Warm-up: connections, caches, the hashing pool.
    for _ in 0..10 {
        timed(
            &client,
            &standard,
            &json!({"username": "timinguser", "password": "wrong"}),
        )
        .await;
    }
    let deadline = Instant::now() + Duration::from_secs(600);
    for round in 0..rounds {
        assert!(Instant::now() < deadline, "timing rounds exceeded 600 s");
        let ghost = format!("ghost{round}");
        let known_std = json!({"username": "timinguser", "password": "wrong-password"});
        let unknown_std = json!({"username": ghost, "password": "wrong-password"});
        let known_acc = json!({"authId": "timinguser", "password": "wrong-password"});
        let unknown_acc = json!({"authId": ghost, "password": "wrong-password"});
        // Alternate which goes first, so drift on the machine hits both.
        let order = if round % 2 == 0 {
            [true, false]
        } else {
            [false, true]
        };
        for known in order {
            let (d, status, body) =
                timed(&client, &standard, if known { &known_std } else { &unknown_std }).await;
            assert_eq!(status, 401);
            standard_bodies.insert(body);
            if known {
                s.known.push(d)
            } else {
                s.unknown.push(d)
            }
            let (d, status, _) =
                timed(&client, &account, if known { &known_acc } else { &unknown_acc }).await;
            assert_eq!(status, 400);
            if known { a.known.push(d) } else { a.unknown.push(d) }
        }
    }
    let (sk, su, sr) = s.medians();
    let (ak, au, ar) = a.medians();
    let verdict = |r: f64| {
        if (r - 1.0).abs() <= 0.10 {
            "within 10 %"
        } else {
            "NOT within 10 %"
        }
    };
    eprintln!(
        "standard: known {sk:?} unknown {su:?} ratio {sr:.3}; account: known {ak:?} unknown {au:?} ratio {ar:.3}"
    );
    let body = format!(
        "Measured {date} on {machine}, `{binary}` on SQLite, {rounds} interleaved rounds \
         (`cargo run --release -p auth-bench --bin timing-bench -- --rounds {rounds}`).\n\n\
         | failed login | existing account (median) | no such account (median) | ratio | verdict |\n\
         |---|---|---|---|---|\n\
         | `standard` `POST /api/auth/login` | {sk} | {su} | {sr:.3} | {sv} |\n\
         | `account` `POST /api/auth/sign-in` | {ak} | {au} | {ar:.3} | {av} |\n\n\
         `standard` answered {n} distinct bod{ies} to the {total} failed logins.",
        date = chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        machine = machine(),
        sk = ms(sk),
        su = ms(su),
        ak = ms(ak),
        au = ms(au),
        sv = verdict(sr),
        av = verdict(ar),
        n = standard_bodies.len(),
        ies = if standard_bodies.len() == 1 { "y" } else { "ies" },
        total = rounds * 2,
    );
    write_section(&out, "timing-bench", &body);
    eprintln!("figures written to {out}");
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
