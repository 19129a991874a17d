//! `session` (seed 001) WebSocket: `/ws` authenticated at the handshake,
//! `LOGOUT` pushed to a device when its session is revoked (a newer login,
//! any logout, withdrawal, password reset, refresh-token reuse) — also from
//! another instance — and `NOTIFICATION` from the internal API. A real
//! tokio-tungstenite client over a real socket.

use std::time::{Duration, Instant};

use crate::ws::{Frame, connect};
use crate::{NewUser, Target, TestApp, unique_login};
use serde_json::{Value, json};

use super::{now_ms, reissue, session_login, standard_logout};

const NEW_LOGIN: &str = "새로운 로그인이 확인되었습니다. 자동으로 로그아웃됩니다!";
const WAIT: Duration = Duration::from_secs(5);
const QUIET: Duration = Duration::from_millis(400);

/// Asserts a `{"type","message","timestamp"}` frame sent just now.
#[track_caller]
fn assert_push(frame: &Value, kind: &str, message: &str) {
    assert_eq!(frame["type"], kind, "{frame}");
    assert_eq!(frame["message"], message, "{frame}");
    let ts = frame["timestamp"]
        .as_i64()
        .unwrap_or_else(|| panic!("timestamp is not epoch ms: {frame}"));
    assert!(
        (ts - now_ms()).abs() < 10_000,
        "timestamp {ts} is not now in epoch ms"
    );
    assert_eq!(frame.as_object().unwrap().len(), 3, "{frame}");
}

async fn socket(app: &TestApp, access: &str) -> crate::ws::Client {
    connect(&app.ws_url(&format!("token={access}")), &[])
        .await
        .unwrap_or_else(|e| panic!("refused: {e:?}"))
}

async fn expect_logout(client: &mut crate::ws::Client, message: &str) {
    let frame = client.json(WAIT).await;
    assert_push(&frame, "LOGOUT", message);
    assert!(
        matches!(client.next(WAIT).await, Frame::Closed(_)),
        "socket not closed after LOGOUT"
    );
}

async fn handshake_authenticates(target: &Target) {
    let app = TestApp::spawn(target).await;
    let user = app.new_user().await;
    let (access, refresh) = app.standard_login(&user).await;
    // Header, and both query parameters browsers can use.
    let mut a = connect(&app.ws_url(""), &[("authorization", &format!("Bearer {access}"))])
        .await
        .unwrap();
    let mut b = connect(&app.ws_url(&format!("token={access}")), &[])
        .await
        .unwrap();
    let mut c = connect(&app.ws_url(&format!("access_token={access}")), &[])
        .await
        .unwrap();
    for s in [&mut a, &mut b, &mut c] {
        assert_eq!(s.next(QUIET).await, Frame::Silent, "an open socket stays quiet");
    }
    // Refused before the upgrade: no token, garbage, a refresh token.
    for (query, headers) in [
        (String::new(), vec![]),
        ("token=garbage".to_owned(), vec![]),
        (format!("token={refresh}"), vec![]),
        (String::new(), vec![("authorization", "Bearer nope")]),
    ] {
        let refused = connect(&app.ws_url(&query), &headers).await.unwrap_err();
        assert_eq!(refused.0, 401, "{query} {headers:?}");
        let body: Value = serde_json::from_str(&refused.1).unwrap();
        assert_eq!(body["success"], false, "{body}");
    }
    // A revoked session's still-unexpired access token is refused too.
    assert_eq!(standard_logout(&app, &access).await.status.as_u16(), 200);
    let refused = connect(&app.ws_url(&format!("token={access}")), &[])
        .await
        .unwrap_err();
    assert_eq!(refused.0, 401);
}

async fn a_second_session_login_logs_out_the_first_device(target: &Target) {
    let app = TestApp::spawn(target).await;
    let user = app.new_user().await;
    let (first_access, first_refresh) = session_login(&app, &user).await;
    let mut first = socket(&app, &first_access).await;
    let (second_access, second_refresh) = session_login(&app, &user).await;
    expect_logout(&mut first, NEW_LOGIN).await;
    // The evicted session's refresh token stopped working; the new one works.
    let r = app
        .post("/api/token/refresh", &json!({"refreshToken": first_refresh}))
        .await;
    assert_eq!(r.status.as_u16(), 401, "{}", r.text);
    let r = app
        .post("/api/token/refresh", &json!({"refreshToken": second_refresh}))
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    let mut second = socket(&app, &second_access).await;
    assert_eq!(second.next(QUIET).await, Frame::Silent);
}

async fn other_contracts_keep_several_devices(target: &Target) {
    let app = TestApp::spawn(target).await;
    let user = app.new_user().await;
    let (a, _) = app.standard_login(&user).await;
    let mut first = socket(&app, &a).await;
    app.standard_login(&user).await;
    assert_eq!(
        first.next(QUIET).await,
        Frame::Silent,
        "a standard login evicts nobody by default"
    );
}

async fn every_revocation_pushes_logout(target: &Target) {
    let app = TestApp::spawn_with(target, |c| {
        c.set("AUTH_CODE_RESEND_COOLDOWN_SECONDS", 0);
    })
    .await;
    let user = app.new_user().await;

    // Logout (standard).
    let (access, _) = app.standard_login(&user).await;
    let mut s = socket(&app, &access).await;
    standard_logout(&app, &access).await;
    expect_logout(&mut s, "로그아웃되었습니다.").await;

    // Logout (picsel, by refresh token).
    let login = app
        .post(
            "/api/auth/login",
            &json!({"email": user.email, "password": user.password}),
        )
        .await;
    let (access, refresh) = (login.str("/data/accessToken"), login.str("/data/refreshToken"));
    let mut s = socket(&app, &access).await;
    app.post("/api/auth/logout", &json!({"refresh_token": refresh}))
        .await;
    expect_logout(&mut s, "로그아웃되었습니다.").await;

    // Refresh-token reuse.
    let (access, refresh) = app.standard_login(&user).await;
    let mut s = socket(&app, &access).await;
    assert_eq!(reissue(&app, &access, &refresh).await.status.as_u16(), 200);
    assert_eq!(reissue(&app, &access, &refresh).await.status.as_u16(), 401);
    expect_logout(
        &mut s,
        "보안 위험이 감지되어 로그아웃됩니다. 다시 로그인해 주세요.",
    )
    .await;

    // Password reset: every device.
    let (a1, _) = app.standard_login(&user).await;
    let (a2, _) = app.standard_login(&user).await;
    let (mut s1, mut s2) = (socket(&app, &a1).await, socket(&app, &a2).await);
    let reset = super::reset_password(&app, &user, "Another123!", &[]).await;
    assert_eq!(reset.status.as_u16(), 200, "{}", reset.text);
    let message = "비밀번호가 변경되어 로그아웃됩니다. 다시 로그인해 주세요.";
    expect_logout(&mut s1, message).await;
    expect_logout(&mut s2, message).await;

    // Withdrawal.
    let user = NewUser {
        password: "Another123!".into(),
        ..user
    };
    let (access, _) = app.standard_login(&user).await;
    let mut s = socket(&app, &access).await;
    let w = app
        .post(
            "/api/auth/withdrawal",
            &json!({"authId": user.login, "password": user.password}),
        )
        .await;
    assert_eq!(w.status.as_u16(), 200, "{}", w.text);
    expect_logout(&mut s, "회원 탈퇴로 로그아웃됩니다.").await;
}

async fn notifications_reach_every_socket_of_the_user(target: &Target) {
    let app = TestApp::spawn(target).await;
    let user = app.new_user().await;
    let other = app.new_user().await;
    let (a1, _) = app.standard_login(&user).await;
    let (a2, _) = app.standard_login(&user).await;
    let (b, _) = app.standard_login(&other).await;
    let (mut s1, mut s2, mut so) = (
        socket(&app, &a1).await,
        socket(&app, &a2).await,
        socket(&app, &b).await,
    );
    let token = app.admin_token();
    let sent = app
        .post_with(
            "/internal/notifications",
            &json!({"userId": user.login, "message": "새 메시지가 있습니다"}),
            Some(&token),
        )
        .await;
    assert_eq!(
        sent.json,
        json!({"success": true, "message": "알림을 전송했습니다."}),
        "{}",
        sent.text
    );
    for s in [&mut s1, &mut s2] {
        assert_push(&s.json(WAIT).await, "NOTIFICATION", "새 메시지가 있습니다");
    }
    let audit = app
        .get_headers(
            "/internal/audit?limit=1000",
            &[("authorization", &format!("Bearer {token}"))],
        )
        .await;
    let sent_to = audit.json["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "admin_notification" && e["userId"] == json!(user.id))
        .map(|e| e["target"].clone())
        .collect::<Vec<_>>();
    assert_eq!(
        sent_to,
        vec![json!(format!("user:{}", user.id))],
        "{}",
        audit.text
    );
    assert!(
        !audit.text.contains("새 메시지가 있습니다"),
        "the text is not recorded"
    );
    assert_eq!(
        so.next(QUIET).await,
        Frame::Silent,
        "another user's socket hears nothing"
    );
    // By UUID too; the socket stays open after a notification.
    let uuid = super::jwt_claims(&a1)["sub"].as_str().unwrap().to_owned();
    app.post_with(
        "/internal/notifications",
        &json!({"userId": uuid, "message": "둘"}),
        Some(&token),
    )
    .await;
    assert_push(&s1.json(WAIT).await, "NOTIFICATION", "둘");

    // The admin API refuses strangers.
    let body = json!({"userId": user.login, "message": "x"});
    let r = app.post("/internal/notifications", &body).await;
    assert_eq!(
        (r.status.as_u16(), r.json["success"].clone()),
        (401, json!(false)),
        "{}",
        r.text
    );
    let r = app.post_with("/internal/notifications", &body, Some(&a1)).await;
    assert_eq!(r.status.as_u16(), 401, "a user's token is not the admin token");
    let r = app
        .post_with(
            "/internal/notifications",
            &json!({"userId": unique_login(), "message": "x"}),
            Some(&token),
        )
        .await;
    assert_eq!(r.status.as_u16(), 404, "{}", r.text);
    let r = app
        .post_with(
            "/internal/notifications",
            &json!({"userId": user.login, "message": ""}),
            Some(&token),
        )
        .await;
    assert_eq!(r.status.as_u16(), 400, "{}", r.text);
    assert_eq!(s1.next(QUIET).await, Frame::Silent);
}

async fn admin_api_is_off_without_a_token(target: &Target) {
    let app = TestApp::spawn_with(target, |c| {
        c.unset("AUTH_ADMIN_TOKEN");
    })
    .await;
    let r = app
        .post_with(
            "/internal/notifications",
            &json!({"userId": "x", "message": "x"}),
            Some("anything"),
        )
        .await;
    assert_eq!(r.status.as_u16(), 403, "{}", r.text);
}

async fn heartbeat_and_idle_timeout(target: &Target) {
    let app = TestApp::spawn_with(target, |c| {
        c.set("AUTH_WS_HEARTBEAT_SECONDS", 1);
        c.set("AUTH_WS_IDLE_TIMEOUT_SECONDS", 2);
    })
    .await;
    let user = app.new_user().await;
    let (access, _) = app.standard_login(&user).await;
    // A client that answers pings (reads) stays connected past the timeout.
    let mut live = socket(&app, &access).await;
    assert_eq!(live.next(Duration::from_millis(3500)).await, Frame::Silent);
    // A client that never reads (never pongs) is closed as idle.
    let mut idle = socket(&app, &access).await;
    let frame = idle
        .stay_silent_then_next(Duration::from_millis(3500), WAIT)
        .await;
    assert_eq!(
        frame,
        Frame::Closed(Some(1001)),
        "idle socket closed with 1001 (going away)"
    );
}

/// Two instances on one database: a login on A evicts a device on B.
/// On PostgreSQL the periodic session check is off, so only LISTEN/NOTIFY can
/// carry the `LOGOUT`. SQLite has no bus between processes; B's periodic
/// session check (1 s here) finds the revocation and its stored reason.
async fn a_login_on_one_instance_logs_out_a_device_on_another(target: &Target) {
    let check = if target.deployment().name() == "postgres" {
        0
    } else {
        1
    };
    let a = TestApp::spawn_with(target, |c| {
        c.set("AUTH_WS_SESSION_CHECK_SECONDS", check);
    })
    .await;
    let b = a.spawn_sibling().await;
    let user = a.new_user().await;
    let (access, _) = session_login(&b, &user).await;
    let mut on_b = socket(&b, &access).await;
    let started = Instant::now();
    session_login(&a, &user).await;
    let frame = on_b.json(WAIT).await;
    let latency = started.elapsed();
    // Either path tells the true reason: the session check reads it from
    // the stored revocation.
    assert_push(&frame, "LOGOUT", NEW_LOGIN);
    assert!(matches!(on_b.next(WAIT).await, Frame::Closed(_)));
    eprintln!("cross-instance LOGOUT on {target:?}: {latency:?} (figures: docs/performance.md)");
}

crate::scenarios!(
    handshake_authenticates,
    a_second_session_login_logs_out_the_first_device,
    other_contracts_keep_several_devices,
    every_revocation_pushes_logout,
    notifications_reach_every_socket_of_the_user,
    admin_api_is_off_without_a_token,
    heartbeat_and_idle_timeout,
    a_login_on_one_instance_logs_out_a_device_on_another,
);
