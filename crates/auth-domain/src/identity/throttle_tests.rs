use std::net::IpAddr;
use std::sync::atomic::Ordering;

use chrono::TimeDelta;

use crate::caller::Caller;
use crate::identity::account::{SignUp, WithdrawError};
use crate::identity::login::{Identifier, Login, LoginError};
use crate::testing::{InMemoryAuth, caller, in_memory_auth, open_policy};

async fn with_user() -> InMemoryAuth {
    let w = in_memory_auth(open_policy());
    w.service
        .accounts()
        .sign_up(SignUp {
            login_id: "parkh".into(),
            email: "park@example.com".into(),
            name: "홍길동".into(),
            password: "correct horse".into(),
        })
        .await
        .unwrap();
    w
}

fn meta(ip: &str) -> Caller {
    Caller {
        contract: "standard",
        ip: Some(ip.parse::<IpAddr>().unwrap()),
        user_agent: None,
    }
}

async fn try_login(w: &InMemoryAuth, id: &str, password: &str, ip: &str) -> Result<Login, LoginError> {
    w.service
        .accounts()
        .login(Identifier::LoginId(id.into()), password, &meta(ip))
        .await
}

#[tokio::test]
async fn five_failures_lock_the_account_key_without_verifying() {
    let w = with_user().await;
    for _ in 0..5 {
        assert!(matches!(
            try_login(&w, "parkh", "wrong", "10.0.0.1").await,
            Err(LoginError::WrongPassword)
        ));
    }
    let spent = w.hasher.verifications.load(Ordering::SeqCst);
    match try_login(&w, "ParkH", "correct horse", "10.0.0.2").await {
        Err(LoginError::Throttled { retry_after }) => assert_eq!(retry_after, TimeDelta::minutes(1)),
        other => panic!("expected throttled, got {other:?}"),
    }
    assert_eq!(
        w.hasher.verifications.load(Ordering::SeqCst),
        spent,
        "no verification while locked"
    );
    // The lock ends; the right password then works and resets the counter.
    w.clock.advance(TimeDelta::seconds(61));
    try_login(&w, "parkh", "correct horse", "10.0.0.2").await.unwrap();
    for _ in 0..4 {
        assert!(try_login(&w, "parkh", "wrong", "10.0.0.3").await.is_err());
    }
    try_login(&w, "parkh", "correct horse", "10.0.0.3").await.unwrap();
    // Only IP counters remain, and no key holds what was typed.
    let keys: Vec<String> = w.throttle.0.lock().unwrap().keys().cloned().collect();
    assert!(keys.iter().all(|k| k.starts_with("ip:")), "{keys:?}");
}

#[tokio::test]
async fn a_parallel_burst_verifies_at_most_the_limit() {
    // 60 wrong guesses and then the right password, all at once: the gate
    // reserves before verifying, so only the first 5 are ever checked and
    // the right password, arriving after them, is refused too.
    let w = with_user().await;
    let mut burst: Vec<_> = (0..60)
        .map(|i| {
            let w = &w;
            Box::pin(async move { try_login(w, "parkh", &format!("guess{i}"), "10.0.0.1").await })
                as std::pin::Pin<Box<dyn std::future::Future<Output = _>>>
        })
        .collect();
    burst.push(Box::pin(try_login(&w, "parkh", "correct horse", "10.0.0.1")));
    let results = futures_join_all(burst).await;
    assert_eq!(w.hasher.verifications.load(Ordering::SeqCst), 5, "verified");
    let throttled = results
        .iter()
        .filter(|r| matches!(r, Err(LoginError::Throttled { .. })))
        .count();
    assert_eq!(throttled, 56, "refused without a verification");
    assert!(matches!(results.last(), Some(Err(LoginError::Throttled { .. }))));
}

/// Polls every future concurrently until all are done (no extra crate).
async fn futures_join_all<T>(
    futures: Vec<std::pin::Pin<Box<dyn std::future::Future<Output = T> + '_>>>,
) -> Vec<T> {
    let mut slots: Vec<Option<T>> = futures.iter().map(|_| None).collect();
    let mut futures: Vec<_> = futures.into_iter().map(Some).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (slot, fut) in slots.iter_mut().zip(futures.iter_mut()) {
            if let Some(f) = fut {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => {
                        *slot = Some(v);
                        *fut = None;
                    }
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    slots.into_iter().map(Option::unwrap).collect()
}

#[tokio::test]
async fn a_success_costs_the_ip_nothing() {
    let w = with_user().await;
    for i in 0..19 {
        let _ = try_login(&w, &format!("user{i}"), "wrong", "10.0.0.7").await;
    }
    // 19 of 20 spent: successes neither count nor lock, however many.
    for _ in 0..5 {
        try_login(&w, "parkh", "correct horse", "10.0.0.7").await.unwrap();
    }
    // The 20th failure still locks the IP.
    let _ = try_login(&w, "someone", "wrong", "10.0.0.7").await;
    assert!(matches!(
        try_login(&w, "parkh", "correct horse", "10.0.0.7").await,
        Err(LoginError::Throttled { .. })
    ));
}

#[tokio::test]
async fn the_success_that_reaches_the_ip_limit_does_not_lock_it() {
    let w = with_user().await;
    for i in 0..19 {
        let _ = try_login(&w, &format!("user{i}"), "wrong", "10.0.0.7").await;
    }
    // This reservation is the IP's 20th: it locks while the password is
    // checked, and the success takes the lock back.
    try_login(&w, "parkh", "correct horse", "10.0.0.7").await.unwrap();
    try_login(&w, "parkh", "correct horse", "10.0.0.7").await.unwrap();
}

#[tokio::test]
async fn an_outage_counts_no_attempt() {
    let w = with_user().await;
    w.hasher.down.store(true, Ordering::SeqCst);
    for _ in 0..10 {
        assert!(matches!(
            try_login(&w, "parkh", "correct horse", "10.0.0.1").await,
            Err(LoginError::Internal(_))
        ));
    }
    w.hasher.down.store(false, Ordering::SeqCst);
    try_login(&w, "parkh", "correct horse", "10.0.0.1").await.unwrap();
    let stored = w.throttle.0.lock().unwrap().clone();
    assert!(
        stored
            .values()
            .all(|s| s.failures == 0 && s.locked_until.is_none()),
        "{stored:?}"
    );
}

#[tokio::test]
async fn one_ipv6_prefix_is_one_client() {
    let w = with_user().await;
    for i in 0..20 {
        let ip = format!("2001:db8:7:7::{:x}", i + 1);
        let _ = try_login(&w, &format!("user{i}"), "wrong", &ip).await;
    }
    assert!(matches!(
        try_login(&w, "parkh", "correct horse", "2001:db8:7:7:ffff::1").await,
        Err(LoginError::Throttled { .. })
    ));
    // The neighbouring /64 is another client.
    try_login(&w, "parkh", "correct horse", "2001:db8:7:8::1")
        .await
        .unwrap();
}

#[tokio::test]
async fn unknown_accounts_are_throttled_identically() {
    let w = with_user().await;
    for _ in 0..5 {
        assert!(matches!(
            try_login(&w, "ghost", "wrong", "10.0.0.1").await,
            Err(LoginError::UnknownUser)
        ));
    }
    assert!(matches!(
        try_login(&w, "ghost", "wrong", "10.0.0.1").await,
        Err(LoginError::Throttled { retry_after }) if retry_after == TimeDelta::minutes(1)
    ));
    // Other accounts from other IPs are unaffected.
    try_login(&w, "parkh", "correct horse", "10.0.0.9").await.unwrap();
}

#[tokio::test]
async fn repeated_locks_grow() {
    let w = with_user().await;
    for _ in 0..5 {
        let _ = try_login(&w, "parkh", "wrong", "10.0.0.1").await;
    }
    w.clock.advance(TimeDelta::seconds(61));
    let _ = try_login(&w, "parkh", "wrong", "10.0.0.1").await;
    assert!(matches!(
        try_login(&w, "parkh", "correct horse", "10.0.0.1").await,
        Err(LoginError::Throttled { retry_after }) if retry_after == TimeDelta::minutes(2)
    ));
}

#[tokio::test]
async fn one_ip_guessing_many_accounts_is_locked() {
    let w = with_user().await;
    for i in 0..20 {
        let _ = try_login(&w, &format!("user{i}"), "wrong", "10.0.0.7").await;
    }
    assert!(matches!(
        try_login(&w, "parkh", "correct horse", "10.0.0.7").await,
        Err(LoginError::Throttled { .. })
    ));
    try_login(&w, "parkh", "correct horse", "10.0.0.8").await.unwrap();
}

#[tokio::test]
async fn withdrawal_shares_the_login_counter() {
    let w = with_user().await;
    for _ in 0..5 {
        let _ = try_login(&w, "parkh", "wrong", "10.0.0.1").await;
    }
    assert!(matches!(
        w.service
            .accounts()
            .withdraw("parkh", "correct horse", &Caller::new("account").with_ip(None))
            .await,
        Err(WithdrawError::Throttled { .. })
    ));
}

#[tokio::test]
async fn disabled_throttling_never_refuses() {
    let mut policy = open_policy();
    policy.throttle.enabled = false;
    let w = in_memory_auth(policy);
    for _ in 0..10 {
        assert!(matches!(
            try_login(&w, "ghost", "wrong", "10.0.0.1").await,
            Err(LoginError::UnknownUser)
        ));
    }
}

#[tokio::test]
async fn the_audit_trail_records_without_secrets() {
    use crate::audit::AuditKind;
    let w = with_user().await;
    let _ = try_login(&w, "parkh", "wrong", "10.0.0.1").await;
    let _ = try_login(&w, "ghost", "wrong", "10.0.0.1").await;
    let login = try_login(&w, "parkh", "correct horse", "10.0.0.1").await.unwrap();
    w.service
        .sessions()
        .logout_with_access(&login.tokens.access.token, &caller())
        .await
        .unwrap();
    w.service
        .accounts()
        .withdraw("parkh", "correct horse", &Caller::new("account").with_ip(None))
        .await
        .unwrap();
    assert_eq!(
        w.audit.kinds(),
        vec![
            AuditKind::LoginFailure,
            AuditKind::LoginFailure,
            AuditKind::LoginSuccess,
            AuditKind::Logout,
            AuditKind::Withdrawal,
        ]
    );
    let events = w.audit.0.lock().unwrap().clone();
    assert_eq!(events[0].user_id, Some(login.user.id));
    assert_eq!(events[1].user_id, None);
    assert_eq!(events[2].session_id, Some(login.tokens.access.claims.sid));
    assert_eq!(events[3].user_id, Some(login.user.id));
    assert_eq!(events[2].ip, Some("10.0.0.1".parse().unwrap()));
    let debug = format!("{events:?}");
    assert!(!debug.contains("correct horse") && !debug.contains(&login.tokens.access.token));
    let recent = w
        .service
        .audit_trail()
        .recent(Some(login.user.id), 2)
        .await
        .unwrap();
    assert_eq!(recent.len(), 2);
    assert_eq!(recent[0].kind, AuditKind::Withdrawal);
}
