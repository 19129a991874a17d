//! The admin API (issue 14): find users, disable and enable accounts (no
//! login on any contract, sessions revoked with `LOGOUT` on a real socket),
//! list and revoke sessions (also concurrently: nothing lost, nothing
//! counted twice), list, delete and re-key chat applications; every action
//! in the audit trail; bad input 400/404, never 5xx.

use std::time::Duration;

use crate::ws::{Client, Frame, connect};
use crate::{NewUser, Reply, Target, TestApp};
use serde_json::{Value, json};

use super::{
    assert_account_error, assert_keys, assert_picsel_error, assert_session_error, assert_standard_error,
    now_s, picsel_refresh, picsel_tokens, reissue, session_refresh, sign_hs256,
};

const DISABLED: &str = "비활성화된 계정입니다. 관리자에게 문의하세요.";
const LOGOUT_DISABLED: &str = "계정이 비활성화되어 로그아웃됩니다.";
const LOGOUT_ADMIN: &str = "관리자에 의해 로그아웃되었습니다.";
const WAIT: Duration = Duration::from_secs(5);

async fn admin(app: &TestApp, method: &str, path: &str) -> Reply {
    let headers = [(
        "authorization".to_owned(),
        format!("Bearer {}", app.admin_token()),
    )];
    app.request(method, path, &headers, Vec::new()).await
}

#[track_caller]
fn ok(r: &Reply) -> &Value {
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    &r.json
}

async fn socket(app: &TestApp, access: &str) -> Client {
    connect(&app.ws_url(&format!("token={access}")), &[])
        .await
        .unwrap_or_else(|e| panic!("socket refused: {e:?}"))
}

#[track_caller]
fn assert_logout(frame: &Value, message: &str) {
    assert_eq!(frame["type"], "LOGOUT", "{frame}");
    assert_eq!(frame["message"], message, "{frame}");
}

async fn expect_logout(client: &mut Client, message: &str) {
    let frame = client.json(WAIT).await;
    assert_logout(&frame, message);
    assert!(
        matches!(client.next(WAIT).await, Frame::Closed(_)),
        "socket not closed after LOGOUT"
    );
}

/// The audit events of a user, newest first, as `(kind, target)`.
async fn audit_of(app: &TestApp, user: i64) -> Vec<(String, Value)> {
    let r = admin(app, "GET", &format!("/internal/audit?user={user}")).await;
    ok(&r)["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["kind"].as_str().unwrap().to_owned(), e["target"].clone()))
        .collect()
}

async fn bad_input_is_400_or_404_never_5xx(target: &Target) {
    let app = TestApp::spawn(target).await;
    let user = app.new_user().await;
    let unknown_sid = "0192f0c1-7c1e-7a55-9d8e-3f5b2a1c4d6e";
    let cases: Vec<(&str, String, u16)> = vec![
        ("GET", "/internal/users?limit=0".into(), 400),
        ("GET", "/internal/users?limit=101".into(), 400),
        ("GET", "/internal/users?limit=abc".into(), 400),
        ("GET", "/internal/users?cursor=%21%21".into(), 400),
        ("GET", "/internal/users?cursor=eDo3".into(), 400),
        ("GET", format!("/internal/users?query={}", "x".repeat(201)), 400),
        ("GET", "/internal/users?query=%00".into(), 400),
        ("POST", "/internal/users/abc/disable".into(), 400),
        ("POST", "/internal/users/999999/disable".into(), 404),
        ("POST", "/internal/users/abc/enable".into(), 400),
        ("POST", "/internal/users/999999/enable".into(), 404),
        ("GET", "/internal/users/abc/sessions".into(), 400),
        ("GET", "/internal/users/999999/sessions".into(), 404),
        ("DELETE", "/internal/users/abc/sessions".into(), 400),
        ("DELETE", "/internal/users/999999/sessions".into(), 404),
        ("DELETE", "/internal/sessions/not-a-uuid".into(), 400),
        ("DELETE", format!("/internal/sessions/{unknown_sid}"), 404),
        ("DELETE", "/internal/apps/a%20b".into(), 400),
        (
            "DELETE",
            "/internal/apps/app_000000000000000000000000".into(),
            404,
        ),
        ("POST", "/internal/apps/a%20b/secret".into(), 400),
        (
            "POST",
            "/internal/apps/app_000000000000000000000000/secret".into(),
            404,
        ),
        ("GET", "/internal/users/99999999999999999999999".into(), 400),
    ];
    for (method, path, status) in cases {
        let r = admin(&app, method, &path).await;
        assert_eq!(r.status.as_u16(), status, "{method} {path}: {}", r.text);
        assert_eq!(r.json["success"], false, "{method} {path}: {}", r.text);
        assert_keys(&r.json, &["success", "message"]);
    }
    // Without the admin token: 401 on every admin route.
    for (method, path) in [
        ("GET", "/internal/users".to_owned()),
        ("POST", format!("/internal/users/{}/disable", user.id)),
        ("POST", format!("/internal/users/{}/enable", user.id)),
        ("GET", format!("/internal/users/{}/sessions", user.id)),
        ("DELETE", format!("/internal/users/{}/sessions", user.id)),
        ("DELETE", format!("/internal/sessions/{unknown_sid}")),
        ("GET", "/internal/apps".to_owned()),
        ("DELETE", "/internal/apps/app_x".to_owned()),
        ("POST", "/internal/apps/app_x/secret".to_owned()),
    ] {
        let r = app.request(method, &path, &[], Vec::new()).await;
        assert_eq!(r.status.as_u16(), 401, "{method} {path}: {}", r.text);
    }
    // Nothing happened to the user.
    let shown = ok(&admin(&app, "GET", &format!("/internal/users/{}", user.id)).await).clone();
    assert_eq!(shown["user"]["disabled"], false, "{shown}");
}

async fn three_users(app: &TestApp) -> (Vec<NewUser>, Vec<i64>) {
    let mut users: Vec<NewUser> = Vec::new();
    for _ in 0..3 {
        users.push(app.new_user().await);
    }
    let ids = users.iter().map(|u| u.id).collect();
    (users, ids)
}

fn found(r: &Reply) -> Vec<i64> {
    ok(r)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect()
}

/// By login id (any case) and by email, exactly that account.
async fn users_are_found_by_login_and_email(target: &Target) {
    let app = TestApp::spawn(target).await;
    let (users, ids) = three_users(&app).await;
    let upper = users[1].login.to_uppercase();
    let r = admin(&app, "GET", &format!("/internal/users?query={upper}")).await;
    assert_eq!(found(&r), vec![ids[1]], "{}", r.text);
    assert_keys(&r.json, &["success", "items", "nextCursor"]);
    assert_keys(
        &r.json["items"][0],
        &["id", "uuid", "loginId", "email", "name", "disabled", "createdAt"],
    );
    assert_eq!(r.json["items"][0]["loginId"], json!(users[1].login));
    assert_eq!(r.json["nextCursor"], Value::Null);
    let r = admin(&app, "GET", &format!("/internal/users?query={}", users[2].email)).await;
    assert_eq!(found(&r), vec![ids[2]]);
}

/// By name, wildcards as themselves, and page by page: every account once,
/// in id order (the whole list: an empty database of its own).
async fn users_are_listed_by_name_page_by_page(target: &Target) {
    let app = TestApp::spawn(target).await;
    app.inside("an empty database of its own (it lists every account)");
    let (_, ids) = three_users(&app).await;
    let r = admin(&app, "GET", "/internal/users?query=%ED%99%8D%EA%B8%B8").await; // "홍길"
    assert_eq!(found(&r), ids);
    // Wildcards match themselves: nothing has a `%` or `_`.
    let r = admin(&app, "GET", "/internal/users?query=%25").await;
    assert_eq!(found(&r), Vec::<i64>::new());
    let r = admin(&app, "GET", "/internal/users?query=_").await;
    assert_eq!(found(&r), Vec::<i64>::new());
    // Pages of 2: every user once, in id order, then no cursor.
    let first = admin(&app, "GET", "/internal/users?limit=2").await;
    assert_eq!(found(&first), ids[..2].to_vec());
    let cursor = first.str("/nextCursor");
    let second = admin(&app, "GET", &format!("/internal/users?limit=2&cursor={cursor}")).await;
    assert_eq!(found(&second), ids[2..].to_vec());
    assert_eq!(second.json["nextCursor"], Value::Null, "{}", second.text);
    // Default page: all three.
    assert_eq!(found(&admin(&app, "GET", "/internal/users").await), ids);
}

/// Logs in on every password contract and opens a socket on the
/// `standard` session; returns the socket and the refresh tokens.
struct Logged {
    socket: Client,
    standard: (String, String),
    session_refresh: String,
    picsel_refresh: String,
}

async fn log_in_everywhere(app: &TestApp, user: &NewUser) -> Logged {
    // `session` logins end older sessions (single-session): it goes first.
    let (_, session_refresh) = super::session_login(app, user).await;
    let standard = app.standard_login(user).await;
    let socket = socket(app, &standard.0).await;
    let (_, picsel_refresh) = picsel_tokens(app, user).await;
    super::account_sign_in(app, user).await;
    Logged {
        socket,
        standard,
        session_refresh,
        picsel_refresh,
    }
}

async fn disabled_accounts_cannot_log_in_anywhere(target: &Target) {
    let app = TestApp::spawn(target).await;
    let user = app.new_user().await;
    let bystander = app.new_user().await;
    let mut logged = log_in_everywhere(&app, &user).await;
    let (other_access, _) = app.standard_login(&bystander).await;
    let mut other = socket(&app, &other_access).await;
    let shown = admin(&app, "GET", &format!("/internal/users/{}", user.id)).await;
    assert_eq!(ok(&shown)["user"]["liveSessions"], json!(4), "{}", shown.text);

    let r = admin(&app, "POST", &format!("/internal/users/{}/disable", user.id)).await;
    let body = ok(&r).clone();
    assert_keys(&body, &["success", "user", "revokedSessions"]);
    assert_eq!(body["revokedSessions"], json!(4), "{body}");
    assert_eq!(body["user"]["disabled"], true, "{body}");
    assert_eq!(body["user"]["liveSessions"], json!(0), "{body}");
    let disabled_at = body["user"]["disabledAt"].as_str().unwrap().to_owned();
    expect_logout(&mut logged.socket, LOGOUT_DISABLED).await;
    assert_eq!(
        other.next(Duration::from_millis(300)).await,
        Frame::Silent,
        "a bystander is untouched"
    );

    // The right password: each contract's 403.
    let (login, email, password) = (&user.login, &user.email, &user.password);
    let r = app
        .post(
            "/api/auth/login",
            &json!({"username": login, "password": password}),
        )
        .await;
    assert_standard_error(&r, 403, DISABLED);
    let r = app
        .post("/api/login", &json!({"userId": login, "password": password}))
        .await;
    assert_session_error(&r, 403, DISABLED);
    let r = app
        .post("/api/auth/login", &json!({"email": email, "password": password}))
        .await;
    assert_picsel_error(
        &r,
        403,
        "ForbiddenException",
        "ACCOUNT_DISABLED",
        DISABLED,
        Value::Null,
    );
    let r = app
        .post(
            "/api/auth/sign-in",
            &json!({"authId": login, "password": password}),
        )
        .await;
    assert_account_error(&r, 403, DISABLED);
    // A wrong password: the ordinary answer (disabling is no oracle).
    let r = app
        .post(
            "/api/auth/login",
            &json!({"username": login, "password": "Wrong12345!"}),
        )
        .await;
    assert_standard_error(&r, 401, "잘못된 자격증명입니다.");
    let r = app
        .post("/api/login", &json!({"userId": login, "password": "Wrong12345!"}))
        .await;
    assert_eq!(r.status.as_u16(), 401, "{}", r.text);
    let r = app
        .post(
            "/api/auth/sign-in",
            &json!({"authId": login, "password": "Wrong12345!"}),
        )
        .await;
    assert_account_error(&r, 400, "비밀번호 불일치");
    // Refreshes of the revoked sessions fail on every contract.
    let r = reissue(&app, &logged.standard.0, &logged.standard.1).await;
    assert_eq!(r.status.as_u16(), 401, "{}", r.text);
    assert_eq!(
        session_refresh(&app, &logged.session_refresh)
            .await
            .status
            .as_u16(),
        401
    );
    assert_eq!(
        picsel_refresh(&app, &logged.picsel_refresh).await.status.as_u16(),
        401
    );
    // Our own token opens no chat, and no socket.
    let r = app
        .post_with(
            "/internal/apps",
            &json!({"name": "Chat"}),
            Some(&app.admin_token()),
        )
        .await;
    let app_id = r.str("/appId");
    let chat = app
        .post_raw_headers(
            "/auth/login",
            json!({"userId": user.login}).to_string(),
            &[
                ("App-Id", &app_id),
                ("Authorization", &format!("Bearer {}", logged.standard.0)),
            ],
        )
        .await;
    assert_eq!(chat.status.as_u16(), 400, "{}", chat.text);
    assert!(
        connect(&app.ws_url(&format!("token={}", logged.standard.0)), &[])
            .await
            .is_err()
    );

    // Idempotent: same answer, first disabledAt kept, nothing more revoked.
    let again = admin(&app, "POST", &format!("/internal/users/{}/disable", user.id)).await;
    assert_eq!(ok(&again)["revokedSessions"], json!(0));
    assert_eq!(again.json["user"]["disabledAt"], json!(disabled_at));

    // Enabled: logins work again (the old sessions stay revoked).
    let r = admin(&app, "POST", &format!("/internal/users/{}/enable", user.id)).await;
    assert_eq!(ok(&r)["user"]["disabled"], false);
    assert_eq!(r.json["user"]["disabledAt"], Value::Null);
    assert_eq!(
        ok(&admin(&app, "POST", &format!("/internal/users/{}/enable", user.id)).await)["user"]["disabled"],
        false
    );
    app.standard_login(&user).await;
    assert_eq!(
        session_refresh(&app, &logged.session_refresh)
            .await
            .status
            .as_u16(),
        401
    );

    // The audit trail names each action and its target.
    let events = audit_of(&app, user.id).await;
    let target = json!(format!("user:{}", user.id));
    for kind in ["admin_user_disable", "admin_user_enable"] {
        assert!(
            events.iter().any(|(k, t)| k == kind && *t == target),
            "{kind} not audited: {events:?}"
        );
    }
    assert_eq!(
        events.iter().filter(|(k, _)| k == "admin_user_disable").count(),
        2,
        "{events:?}"
    );
}

async fn sessions_are_listed_and_revoked_with_logout(target: &Target) {
    let app = TestApp::spawn(target).await;
    let user = app.new_user().await;
    let r = app
        .post_headers(
            "/api/auth/login",
            &json!({"username": user.login, "password": user.password}),
            &[("user-agent", "AdminTest/1.0")],
        )
        .await;
    let (access, refresh) = (r.str("/accessToken"), r.str("/refreshToken"));
    let mut sock = socket(&app, &access).await;
    let listed = admin(&app, "GET", &format!("/internal/users/{}/sessions", user.id)).await;
    let sessions = ok(&listed)["sessions"].as_array().unwrap().clone();
    assert_eq!(sessions.len(), 1, "{}", listed.text);
    let s = &sessions[0];
    assert_keys(
        s,
        &[
            "id",
            "contract",
            "ip",
            "userAgent",
            "createdAt",
            "lastRefreshedAt",
        ],
    );
    assert_eq!(s["contract"], "standard");
    assert_eq!(s["ip"], "127.0.0.1");
    assert_eq!(s["userAgent"], "AdminTest/1.0");
    assert_eq!(s["lastRefreshedAt"], Value::Null);
    let sid = s["id"].as_str().unwrap().to_owned();
    // A refresh is recorded.
    let r = reissue(&app, &access, &refresh).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    let listed = admin(&app, "GET", &format!("/internal/users/{}/sessions", user.id)).await;
    assert!(
        ok(&listed)["sessions"][0]["lastRefreshedAt"].is_string(),
        "{}",
        listed.text
    );

    let r = admin(&app, "DELETE", &format!("/internal/sessions/{sid}")).await;
    assert_eq!(ok(&r), &json!({"success": true, "revoked": 1}));
    expect_logout(&mut sock, LOGOUT_ADMIN).await;
    let r = admin(&app, "DELETE", &format!("/internal/sessions/{sid}")).await;
    assert_eq!(ok(&r), &json!({"success": true, "revoked": 0}));
    let listed = admin(&app, "GET", &format!("/internal/users/{}/sessions", user.id)).await;
    assert_eq!(ok(&listed)["sessions"], json!([]));
    let events = audit_of(&app, user.id).await;
    assert!(
        events
            .iter()
            .any(|(k, t)| k == "admin_session_revoke" && *t == json!(format!("session:{sid}"))),
        "{events:?}"
    );
}

async fn concurrent_revokes_lose_nothing(target: &Target) {
    let app = TestApp::spawn(target).await;
    let user = app.new_user().await;
    let mut sockets = Vec::new();
    for _ in 0..6 {
        let (access, _) = app.standard_login(&user).await;
        sockets.push(socket(&app, &access).await);
    }
    let listed = admin(&app, "GET", &format!("/internal/users/{}/sessions", user.id)).await;
    let sids: Vec<String> = ok(&listed)["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(sids.len(), 6);
    // Each session revoked twice on its own, and the whole user twice, at once.
    let mut paths: Vec<String> = sids
        .iter()
        .flat_map(|sid| {
            [
                format!("/internal/sessions/{sid}"),
                format!("/internal/sessions/{sid}"),
            ]
        })
        .collect();
    paths.push(format!("/internal/users/{}/sessions", user.id));
    paths.push(format!("/internal/users/{}/sessions", user.id));
    let replies = futures_util::future::join_all(paths.iter().map(|p| admin(&app, "DELETE", p))).await;
    let mut total = 0;
    for r in &replies {
        total += ok(r)["revoked"].as_u64().unwrap();
    }
    assert_eq!(total, 6, "each session counted exactly once");
    for s in &mut sockets {
        expect_logout(s, LOGOUT_ADMIN).await;
    }
    let listed = admin(&app, "GET", &format!("/internal/users/{}/sessions", user.id)).await;
    assert_eq!(ok(&listed)["sessions"], json!([]));
    let shown = admin(&app, "GET", &format!("/internal/users/{}", user.id)).await;
    assert_eq!(ok(&shown)["user"]["liveSessions"], json!(0));
    // And a disable racing with logins leaves no session alive.
    let body = json!({"username": user.login, "password": user.password});
    let logins = (0..4).map(|_| app.post("/api/auth/login", &body));
    let disable_path = format!("/internal/users/{}/disable", user.id);
    let disable = admin(&app, "POST", &disable_path);
    let (logins, disabled) = tokio::join!(futures_util::future::join_all(logins), disable);
    ok(&disabled);
    for r in &logins {
        assert!(matches!(r.status.as_u16(), 200 | 403), "{}", r.text);
    }
    let listed = admin(&app, "GET", &format!("/internal/users/{}/sessions", user.id)).await;
    assert_eq!(
        ok(&listed)["sessions"],
        json!([]),
        "a login racing with the disable survived"
    );
}

async fn apps_are_listed_deleted_and_rekeyed(target: &Target) {
    let app = TestApp::spawn(target).await;
    let token = app.admin_token();
    let created = app
        .post_with("/internal/apps", &json!({"name": "Chat"}), Some(&token))
        .await;
    let (app_id, old_secret) = (created.str("/appId"), created.str("/secret"));
    let listed = admin(&app, "GET", "/internal/apps").await;
    let apps = ok(&listed)["apps"].as_array().unwrap().clone();
    // Ours, once (a shared deployment lists other scenarios' apps too).
    let ours: Vec<&Value> = apps.iter().filter(|a| a["appId"] == json!(app_id)).collect();
    assert_eq!(ours.len(), 1, "{}", listed.text);
    assert_keys(ours[0], &["appId", "name", "createdAt", "secretVersion"]);
    assert_eq!(ours[0]["secretVersion"], json!(0));
    assert!(!listed.text.contains(&old_secret), "a secret was listed");

    let chat_login = |secret: String| {
        let app_id = app_id.clone();
        let app = &app;
        async move {
            let t = sign_hs256(
                secret.as_bytes(),
                &json!({"sub": "user-1", "app_id": app_id, "exp": now_s() + 600}),
            );
            app.post_raw_headers(
                "/auth/login",
                json!({"userId": "user-1"}).to_string(),
                &[("App-Id", &app_id), ("Authorization", &format!("Bearer {t}"))],
            )
            .await
            .status
            .as_u16()
        }
    };
    assert_eq!(chat_login(old_secret.clone()).await, 200);
    let rotated = admin(&app, "POST", &format!("/internal/apps/{app_id}/secret")).await;
    assert_keys(ok(&rotated), &["appId", "name", "secret"]);
    let new_secret = rotated.str("/secret");
    assert_ne!(new_secret, old_secret);
    assert_eq!(
        chat_login(old_secret.clone()).await,
        400,
        "the old secret still verifies"
    );
    assert_eq!(chat_login(new_secret.clone()).await, 200);
    // The app's secret is also its introspection credential: only the
    // current one authenticates.
    let introspect_as = |secret: String| {
        let app_id = app_id.clone();
        let app = &app;
        async move {
            use base64::Engine as _;
            let basic = base64::engine::general_purpose::STANDARD.encode(format!("{app_id}:{secret}"));
            app.request(
                "POST",
                "/oauth2/introspect",
                &[
                    ("authorization".to_owned(), format!("Basic {basic}")),
                    (
                        "content-type".to_owned(),
                        "application/x-www-form-urlencoded".to_owned(),
                    ),
                ],
                b"token=not-a-token".to_vec(),
            )
            .await
            .status
            .as_u16()
        }
    };
    assert_eq!(
        introspect_as(old_secret.clone()).await,
        401,
        "the old secret still authenticates"
    );
    assert_eq!(introspect_as(new_secret.clone()).await, 200);
    let listed = admin(&app, "GET", "/internal/apps").await;
    let version = ok(&listed)["apps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["appId"] == json!(app_id))
        .map(|a| a["secretVersion"].clone());
    assert_eq!(version, Some(json!(1)), "{}", listed.text);

    let r = admin(&app, "DELETE", &format!("/internal/apps/{app_id}")).await;
    assert_eq!(ok(&r)["success"], true);
    assert_eq!(chat_login(new_secret).await, 400);
    let listed = admin(&app, "GET", "/internal/apps").await;
    assert!(
        !ok(&listed)["apps"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["appId"] == json!(app_id)),
        "a deleted app is listed: {}",
        listed.text
    );
    let r = admin(&app, "DELETE", &format!("/internal/apps/{app_id}")).await;
    assert_eq!(r.status.as_u16(), 404, "{}", r.text);

    let events = audit_of_all(&app).await;
    let target = json!(format!("app:{app_id}"));
    for kind in ["admin_app_create", "admin_app_secret_rotate", "admin_app_delete"] {
        assert!(
            events.iter().any(|e| e["kind"] == kind && e["target"] == target),
            "{kind} not audited"
        );
    }
    assert!(!serde_json::to_string(&events).unwrap().contains(&old_secret));
}

/// Issue 26.2: a disabled account cannot withdraw itself (which would free
/// its login id and email for a fresh sign-up): the right password gets
/// the 403 every login gets, a wrong one the usual answer, and the account
/// stays, still holding its login id and email. Enabled again, it can.
async fn a_disabled_account_cannot_withdraw_itself(target: &Target) {
    let app = TestApp::spawn(target).await;
    let user = app.new_user().await;
    let r = admin(&app, "POST", &format!("/internal/users/{}/disable", user.id)).await;
    assert_eq!(ok(&r)["user"]["disabled"], true);
    let withdraw = |password: &str| {
        let body = json!({"authId": user.login, "password": password});
        let app = &app;
        async move { app.post("/api/auth/withdrawal", &body).await }
    };
    assert_account_error(&withdraw(&user.password).await, 403, DISABLED);
    assert_account_error(&withdraw("Wrong12345!").await, 400, "비밀번호 불일치");
    let shown = admin(&app, "GET", &format!("/internal/users/{}", user.id)).await;
    assert_eq!(ok(&shown)["user"]["disabled"], true, "{}", shown.text);
    assert!(
        !super::auth_id_usable(&app, &user.login).await,
        "the login id was freed"
    );
    assert!(
        !super::email_usable(&app, &user.email).await,
        "the email was freed"
    );
    // A sign-up with the same login id and email is refused as before.
    let again = app
        .post(
            "/api/auth/sign-up",
            &json!({"authId": user.login, "password": "Password123!", "name": "홍길동", "email": user.email}),
        )
        .await;
    assert_ne!(again.status.as_u16(), 200, "{}", again.text);

    let r = admin(&app, "POST", &format!("/internal/users/{}/enable", user.id)).await;
    assert_eq!(ok(&r)["user"]["disabled"], false);
    let r = withdraw(&user.password).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    let gone = admin(&app, "GET", &format!("/internal/users/{}", user.id)).await;
    assert_eq!(gone.status.as_u16(), 404, "{}", gone.text);
}

async fn audit_of_all(app: &TestApp) -> Vec<Value> {
    ok(&admin(app, "GET", "/internal/audit?limit=1000").await)["events"]
        .as_array()
        .unwrap()
        .clone()
}

crate::scenarios!(
    bad_input_is_400_or_404_never_5xx,
    users_are_found_by_login_and_email,
    users_are_listed_by_name_page_by_page,
    disabled_accounts_cannot_log_in_anywhere,
    a_disabled_account_cannot_withdraw_itself,
    sessions_are_listed_and_revoked_with_logout,
    concurrent_revokes_lose_nothing,
    apps_are_listed_deleted_and_rekeyed,
);
