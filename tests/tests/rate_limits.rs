//! The per-IP request rate limit holds across instances: on PostgreSQL two
//! instances on one database, asked in turn by one client, allow exactly
//! the configured number of requests between them, and refuse the rest
//! with the contract's 429; on SQLite (one instance, limits in memory) the
//! one instance allows exactly that number too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use auth_contract_tests::{TestApp, TestBackend, on_both_backends, target, unique_login};
use auth_qa::scenarios::assert_account_error;

/// `AUTH_RATE_LIMIT_PER_MINUTE`: one request every 10 s after the burst,
/// far longer than the test takes.
const PER_MINUTE: u32 = 6;
const TOO_MANY_REQUESTS: &str = "요청이 너무 많습니다. 잠시 후 다시 시도해 주세요.";

on_both_backends!(the_configured_allowance_holds_across_instances);

async fn the_configured_allowance_holds_across_instances(backend: TestBackend) {
    let first = TestApp::spawn_with(&target(backend), |c| {
        c.set("AUTH_RATE_LIMIT_ENABLED", true);
        c.set("AUTH_RATE_LIMIT_PER_MINUTE", PER_MINUTE);
    })
    .await;
    let mut instances = vec![first];
    if backend == TestBackend::Postgres {
        let second = instances[0].spawn_sibling().await;
        instances.push(second);
    }
    // One client (127.0.0.1), alternating between the instances, on a
    // rate-limited endpoint (the availability check of `account`).
    let mut allowed = 0;
    for i in 0..PER_MINUTE * 2 {
        let app = &instances[i as usize % instances.len()];
        let reply = app
            .get(&format!("/api/auth/check/auth-id/{}", unique_login()))
            .await;
        match reply.status.as_u16() {
            200 => allowed += 1,
            _ => {
                assert_account_error(&reply, 429, TOO_MANY_REQUESTS);
                let retry: u64 = reply.headers["retry-after"].to_str().unwrap().parse().unwrap();
                assert!((1..=10).contains(&retry), "Retry-After {retry}");
            }
        }
    }
    assert_eq!(
        allowed,
        PER_MINUTE,
        "{} instance(s) together allow the configured number",
        instances.len()
    );
}
