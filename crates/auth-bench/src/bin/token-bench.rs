//! `token-bench`: the cost of signing and verifying an access token with
//! each algorithm on this machine, and `auth-client`'s verify throughput.
//! A benchmark, not a test: it prints figures and writes them into
//! `docs/performance.md` between its markers.
//!
//! Per algorithm (ES256, EdDSA, RS256, HS256), through the service's own
//! `JwtCodec`, medians of `--rounds` rounds (algorithms interleaved inside
//! each round, so drift on a shared machine hits all of them):
//! - sign: one access token;
//! - verify: a token never seen before (the full signature check);
//! - verify, cached: the same token again (the verified-token cache: one
//!   SHA-256 and a map lookup).
//!
//! Then `auth-client` against an in-process server (SQLite, ES256): tokens
//! verified per second by one task, and by one task per core, on one
//! `AuthClient` (keys cached; each verify is a full signature check: the
//! client does not cache verdicts).
//!
//! Usage: `cargo run --release -p auth-bench --bin token-bench --
//! [--n N] [--rounds R] [--out FILE]`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use auth_bench::{arg, machine, median, write_section};
use auth_contract_tests::{TestApp, TestBackend};
use auth_domain::ports::TokenCodec;
use auth_domain::sessions::session::SessionId;
use auth_domain::sessions::token::AccessClaims;
use auth_infra::{JwtCodec, KeyRing, SigningAlgorithm, SigningKey};
use chrono::{TimeDelta, Utc};
use uuid::Uuid;

fn codec(alg: SigningAlgorithm) -> JwtCodec {
    let now = Utc::now();
    let key = if alg.is_asymmetric() {
        let pem = auth_infra::signing::generate_pem(alg).unwrap();
        SigningKey::from_pem(alg, &pem, 1, now, now).unwrap()
    } else {
        SigningKey::hs256(b"token-bench secret, at least 32 bytes long", now)
    };
    JwtCodec::new(
        KeyRing::new(vec![key], TimeDelta::minutes(31)),
        b"token-bench refresh secret, 32 bytes+",
        "https://auth.example.com",
        "https://auth.example.com",
    )
}

fn claims(i: u128) -> AccessClaims {
    let now = Utc::now().timestamp();
    AccessClaims {
        sub: Uuid::from_u128(i),
        sid: SessionId::from_uuid(Uuid::from_u128(i + 1)),
        iat: now,
        exp: now + 1800,
        sign_in: Default::default(),
    }
}

/// Microseconds per operation over `n` operations.
fn per_op(n: usize, elapsed: Duration) -> f64 {
    elapsed.as_secs_f64() * 1e6 / n as f64
}

#[derive(Default)]
struct Costs {
    sign: Vec<f64>,
    verify: Vec<f64>,
    cached: Vec<f64>,
}

#[tokio::main]
async fn main() {
    let n: usize = arg("--n", "2000").parse().unwrap();
    let rounds: usize = arg("--rounds", "5").parse().unwrap();
    let out = arg("--out", "docs/performance.md");
    let algs = [
        SigningAlgorithm::Es256,
        SigningAlgorithm::EdDsa,
        SigningAlgorithm::Rs256,
        SigningAlgorithm::Hs256,
    ];
    let codecs: Vec<JwtCodec> = algs.iter().map(|a| codec(*a)).collect();
    let mut costs: Vec<Costs> = algs.iter().map(|_| Costs::default()).collect();
    let now = Utc::now();
    for round in 0..rounds {
        for (i, c) in codecs.iter().enumerate() {
            // RSA signing is slow: fewer tokens keep rounds short.
            let n = if algs[i] == SigningAlgorithm::Rs256 {
                n / 10
            } else {
                n
            };
            let base = (round * n) as u128 * 2;
            let started = Instant::now();
            let tokens: Vec<String> = (0..n)
                .map(|k| c.sign_access(&claims(base + 2 * k as u128)).unwrap())
                .collect();
            costs[i].sign.push(per_op(n, started.elapsed()));
            let started = Instant::now();
            for t in &tokens {
                c.verify_access(t, now, false).unwrap();
            }
            costs[i].verify.push(per_op(n, started.elapsed()));
            let started = Instant::now();
            for _ in 0..n {
                c.verify_access(&tokens[0], now, false).unwrap();
            }
            costs[i].cached.push(per_op(n, started.elapsed()));
        }
        eprintln!("round {round} done");
    }
    let mut table = String::from(
        "| algorithm | sign, µs | verify (first time), µs | verify (cached), µs |\n|---|---|---|---|\n",
    );
    for (alg, c) in algs.iter().zip(costs.iter_mut()) {
        table.push_str(&format!(
            "| {} | {:.1} | {:.1} | {:.2} |\n",
            alg.as_str(),
            median(&mut c.sign),
            median(&mut c.verify),
            median(&mut c.cached)
        ));
    }

    // auth-client against a real server (in-process, SQLite, ES256).
    let app = TestApp::spawn_issuer(&auth_contract_tests::target(TestBackend::Sqlite), |_| {}).await;
    let user = app.new_user().await;
    let (token, _) = app.standard_login(&user).await;
    let client = auth_client::AuthClient::discover(&app.base).await.unwrap();
    client.verify(&token).await.unwrap();
    let mut single = Vec::new();
    let mut parallel = Vec::new();
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    for _ in 0..rounds {
        let started = Instant::now();
        for _ in 0..n {
            client.verify(&token).await.unwrap();
        }
        single.push(n as f64 / started.elapsed().as_secs_f64());
        let started = Instant::now();
        let tasks: Vec<_> = (0..cores)
            .map(|_| {
                let (client, token) = (client.clone(), token.clone());
                tokio::spawn(async move {
                    for _ in 0..n {
                        client.verify(&token).await.unwrap();
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        parallel.push((n * cores) as f64 / started.elapsed().as_secs_f64());
    }
    let body = format!(
        "Measured by `token-bench` ({}; {rounds} rounds, medians; `cargo run --release -p auth-bench --bin token-bench`).\n\n\
         {table}\n\
         `auth-client` (ES256, keys cached, a full signature check per call): **{:.0} verifications/s** on one task, \
         **{:.0}/s** with {cores} tasks on one client.",
        machine(),
        median(&mut single),
        median(&mut parallel),
    );
    println!("{body}");
    write_section(&out, "token-bench", &body);
}
