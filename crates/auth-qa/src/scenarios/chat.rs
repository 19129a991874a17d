//! `chat` (seed 000): applications registered through the internal API,
//! `POST /auth/login` with `App-Id` and an app-signed (or our own) token,
//! and the `/ws` event frames `connect`/`disconnect`. Application tokens
//! are signed here with jsonwebtoken, as an application's backend does.

use std::time::Duration;

use crate::ws::{Client, Frame, connect};
use crate::{ChatProfile, ChatUser};
use crate::{Reply, Target, TestApp};
use chrono::{DateTime, NaiveDateTime, Utc};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use super::{assert_keys, assert_reply, jwt_claims, standard_logout};

const WAIT: Duration = Duration::from_secs(5);

fn invalid() -> Value {
    json!({"error": "Invalid request"})
}

/// Registers an application; returns `(appId, secret)`.
async fn register(app: &TestApp, name: &str) -> (String, String) {
    let reply = app
        .post_with("/internal/apps", &json!({"name": name}), Some(&app.admin_token()))
        .await;
    assert_eq!(reply.status.as_u16(), 201, "{}", reply.text);
    (reply.str("/appId"), reply.str("/secret"))
}

fn now_s() -> i64 {
    Utc::now().timestamp()
}

/// An HS256 token signed with `secret`.
fn sign(secret: &str, claims: &Value) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

/// The claims an app backend puts in: `sub`, `app_id`, `iat`, `exp`.
fn app_token(secret: &str, app_id: &str, sub: &str, exp: i64) -> String {
    sign(
        secret,
        &json!({"sub": sub, "app_id": app_id, "iat": now_s(), "exp": exp}),
    )
}

/// `POST /auth/login` with raw header pairs and a raw body.
async fn chat_login(app: &TestApp, headers: &[(&str, &str)], body: &str) -> Reply {
    app.target().touch("POST", "/auth/login", body);
    let mut request = reqwest::Client::new()
        .post(format!("{}/auth/login", app.base))
        .header("content-type", "application/json")
        .body(body.to_owned());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    Reply {
        status,
        headers,
        json: serde_json::from_str(&text).unwrap_or(Value::Null),
        text,
    }
}

fn iso(exp: i64) -> String {
    DateTime::from_timestamp(exp, 0)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

fn profile(user: &str) -> String {
    json!({
        "userId": user,
        "nickname": "채팅왕",
        "profileImageUrl": "https://bucket.s3.ap-northeast-2.amazonaws.com/p.png",
        "friends": ["user-2", "user-3"],
    })
    .to_string()
}

/// A timestamp of exactly the document's shape (`2025-01-18T12:00:00Z`), now.
#[track_caller]
fn assert_iso_now(ts: &Value) {
    let s = ts
        .as_str()
        .unwrap_or_else(|| panic!("timestamp not a string: {ts}"));
    let at = NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%SZ")
        .unwrap_or_else(|_| panic!("timestamp is not YYYY-MM-DDTHH:MM:SSZ: {s}"));
    assert_eq!(s.len(), 20, "{s}");
    assert!((at.and_utc().timestamp() - now_s()).abs() < 60, "{s} is not now");
}

async fn internal_apps_registers_applications(target: &Target) {
    let app = TestApp::spawn(target).await;
    let admin = app.admin_token();
    // Without, or with a wrong, admin token.
    let r = app.post("/internal/apps", &json!({"name": "x"})).await;
    assert_reply(
        &r,
        401,
        &json!({"success": false, "message": "관리자 인증이 필요합니다."}),
    );
    let r = app
        .post_with("/internal/apps", &json!({"name": "x"}), Some("wrong"))
        .await;
    assert_eq!(r.status.as_u16(), 401, "{}", r.text);
    // Missing, blank, too long, wrong type, not JSON.
    for body in [json!({}), json!({"name": "  "}), json!({"name": 3})] {
        let r = app.post_with("/internal/apps", &body, Some(&admin)).await;
        assert_eq!(r.status.as_u16(), 400, "{body}: {}", r.text);
        assert_eq!(r.json["success"], false, "{}", r.text);
        assert_keys(&r.json, &["success", "message"]);
    }
    let r = app
        .post_with("/internal/apps", &json!({"name": "x".repeat(101)}), Some(&admin))
        .await;
    assert_eq!(r.status.as_u16(), 400, "{}", r.text);
    // Created: exactly appId, name, secret; ids and secrets differ.
    let r = app
        .post_with("/internal/apps", &json!({"name": " My Chat "}), Some(&admin))
        .await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.text);
    assert_keys(&r.json, &["appId", "name", "secret"]);
    assert_eq!(r.json["name"], "My Chat");
    assert!(r.str("/appId").starts_with("app_"), "{}", r.text);
    assert!(r.str("/secret").len() >= 43, "secret too short: {}", r.text);
    let (other_id, other_secret) = register(&app, "Other").await;
    assert_ne!(other_id, r.str("/appId"));
    assert_ne!(other_secret, r.str("/secret"));
}

/// Disabled when no admin token is configured.
async fn internal_apps_closed_without_admin_token(target: &Target) {
    let admin = target.deployment().admin_token();
    let closed = TestApp::spawn_with(target, |c| {
        c.unset("AUTH_ADMIN_TOKEN");
    })
    .await;
    let r = closed
        .post_with("/internal/apps", &json!({"name": "x"}), Some(&admin))
        .await;
    assert_eq!(r.status.as_u16(), 403, "{}", r.text);
}

async fn login_registers_then_updates(target: &Target) {
    let app = TestApp::spawn(target).await;
    let (app_id, secret) = register(&app, "Chat").await;
    let exp = now_s() + 600;
    let token = app_token(&secret, &app_id, "user-12345", exp);
    // Raw token.
    let r = chat_login(
        &app,
        &[("App-Id", &app_id), ("Authorization", &token)],
        &profile("user-12345"),
    )
    .await;
    assert_reply(
        &r,
        200,
        &json!({"status": "success", "userId": "user-12345", "expiresAt": iso(exp)}),
    );
    // A later login (Bearer form) updates nickname, image and friends.
    let bearer = format!("Bearer {token}");
    let changed = json!({"userId": "user-12345", "nickname": "새이름", "friends": []}).to_string();
    let r = chat_login(&app, &[("App-Id", &app_id), ("Authorization", &bearer)], &changed).await;
    assert_reply(
        &r,
        200,
        &json!({"status": "success", "userId": "user-12345", "expiresAt": iso(exp)}),
    );
    // Only userId is required; app_id may be left out of the token.
    let bare = sign(&secret, &json!({"sub": "user-2", "exp": exp}));
    let r = chat_login(
        &app,
        &[("App-Id", &app_id), ("Authorization", &bare)],
        &json!({"userId": "user-2"}).to_string(),
    )
    .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
}

async fn login_accepts_our_own_access_tokens(target: &Target) {
    let app = TestApp::spawn(target).await;
    let (app_id, _) = register(&app, "Chat").await;
    let user = app.new_user().await;
    let (access, _) = app.standard_login(&user).await;
    let claims = jwt_claims(&access);
    let uuid = claims["sub"].as_str().unwrap().to_owned();
    let exp = claims["exp"].as_i64().unwrap();
    let bearer = format!("Bearer {access}");
    let headers = [("App-Id", app_id.as_str()), ("Authorization", bearer.as_str())];
    let r = chat_login(&app, &headers, &profile(&uuid)).await;
    assert_reply(
        &r,
        200,
        &json!({"status": "success", "userId": uuid, "expiresAt": iso(exp)}),
    );
    // The login id names the same user.
    let r = chat_login(&app, &headers, &profile(&user.login)).await;
    assert_reply(
        &r,
        200,
        &json!({"status": "success", "userId": user.login, "expiresAt": iso(exp)}),
    );
    let r = chat_login(&app, &headers, &profile("someone-else")).await;
    assert_reply(&r, 400, &invalid());
    // After a logout the access token no longer logs in to chat, nor opens
    // a chat socket.
    assert_eq!(standard_logout(&app, &access).await.status.as_u16(), 200);
    let r = chat_login(&app, &headers, &profile(&uuid)).await;
    assert_reply(&r, 400, &invalid());
    let refused = connect(
        &app.ws_url(""),
        &[("app-id", app_id.as_str()), ("authorization", bearer.as_str())],
    )
    .await
    .unwrap_err();
    assert_eq!(refused.0, 400);
}

/// A refused login: name, headers, body.
type Case = (&'static str, Vec<(&'static str, String)>, String);

async fn login_refusals(target: &Target) {
    let app = TestApp::spawn(target).await;
    let (app_id, secret) = register(&app, "Chat").await;
    let (other_id, other_secret) = register(&app, "Other").await;
    let exp = now_s() + 600;
    let good = app_token(&secret, &app_id, "u1", exp);
    let body = profile("u1");
    let cases: Vec<Case> = vec![
        ("no App-Id", vec![("Authorization", good.clone())], body.clone()),
        (
            "unknown App-Id",
            vec![
                ("App-Id", "app_000000000000000000000000".into()),
                ("Authorization", good.clone()),
            ],
            body.clone(),
        ),
        ("no Authorization", vec![("App-Id", app_id.clone())], body.clone()),
        (
            "garbage token",
            vec![
                ("App-Id", app_id.clone()),
                ("Authorization", "Bearer nope".into()),
            ],
            body.clone(),
        ),
        (
            "another app's token",
            vec![
                ("App-Id", app_id.clone()),
                ("Authorization", app_token(&other_secret, &app_id, "u1", exp)),
            ],
            body.clone(),
        ),
        (
            "app_id claim names another app",
            vec![
                ("App-Id", app_id.clone()),
                ("Authorization", app_token(&secret, &other_id, "u1", exp)),
            ],
            body.clone(),
        ),
        (
            "expired",
            vec![
                ("App-Id", app_id.clone()),
                ("Authorization", app_token(&secret, &app_id, "u1", now_s() - 10)),
            ],
            body.clone(),
        ),
        (
            "no exp",
            vec![
                ("App-Id", app_id.clone()),
                (
                    "Authorization",
                    sign(&secret, &json!({"sub": "u1", "app_id": app_id})),
                ),
            ],
            body.clone(),
        ),
        (
            "sub is not userId",
            vec![("App-Id", app_id.clone()), ("Authorization", good.clone())],
            profile("u2"),
        ),
        (
            "malformed body",
            vec![("App-Id", app_id.clone()), ("Authorization", good.clone())],
            "{\"userId\":".into(),
        ),
        (
            "missing userId",
            vec![("App-Id", app_id.clone()), ("Authorization", good.clone())],
            json!({"nickname": "n"}).to_string(),
        ),
        (
            "friends not strings",
            vec![("App-Id", app_id.clone()), ("Authorization", good.clone())],
            json!({"userId": "u1", "friends": [1, 2]}).to_string(),
        ),
        (
            "too many friends",
            vec![("App-Id", app_id.clone()), ("Authorization", good.clone())],
            json!({"userId": "u1", "friends": vec!["f"; 1001]}).to_string(),
        ),
    ];
    for (name, headers, body) in cases {
        let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let r = chat_login(&app, &headers, &body).await;
        assert_eq!(r.status.as_u16(), 400, "{name}: {}", r.text);
        assert_eq!(r.json, invalid(), "{name}: {}", r.text);
    }
}

async fn chat_socket(app: &TestApp, app_id: &str, token: &str) -> Client {
    app.target().touch("WS-CHAT", "/ws", "");
    connect(
        &app.ws_url(""),
        &[("app-id", app_id), ("authorization", &format!("Bearer {token}"))],
    )
    .await
    .unwrap_or_else(|e| panic!("chat socket refused: {e:?}"))
}

fn event(name: &str, user: &str) -> String {
    json!({"event": name, "data": {"userId": user}}).to_string()
}

#[track_caller]
fn assert_event(frame: &Value, name: &str, status: &str, user: &str) {
    assert_keys(frame, &["event", "data"]);
    assert_eq!(frame["event"], name, "{frame}");
    assert_keys(&frame["data"], &["status", "userId", "timestamp"]);
    assert_eq!(frame["data"]["status"], status, "{frame}");
    assert_eq!(frame["data"]["userId"], user, "{frame}");
    assert_iso_now(&frame["data"]["timestamp"]);
}

async fn expect_error_then_close(client: &mut Client) {
    assert_eq!(client.json(WAIT).await, invalid());
    assert!(
        matches!(client.next(WAIT).await, Frame::Closed(_)),
        "socket not closed after the error"
    );
}

async fn socket_connect_then_disconnect(target: &Target) {
    let app = TestApp::spawn(target).await;
    let (app_id, secret) = register(&app, "Chat").await;
    let token = app_token(&secret, &app_id, "user-12345", now_s() + 600);
    let mut client = chat_socket(&app, &app_id, &token).await;
    client.send_text(&event("connect", "user-12345")).await;
    assert_event(&client.json(WAIT).await, "connected", "success", "user-12345");
    // Connecting again is harmless.
    client.send_text(&event("connect", "user-12345")).await;
    assert_event(&client.json(WAIT).await, "connected", "success", "user-12345");
    client.send_text(&event("disconnect", "user-12345")).await;
    assert_event(
        &client.json(WAIT).await,
        "disconnected",
        "disconnected",
        "user-12345",
    );
    assert_eq!(client.next(WAIT).await, Frame::Closed(Some(1000)));
    // A new connection with the same token works after a disconnect.
    let mut again = chat_socket(&app, &app_id, &token).await;
    again.send_text(&event("connect", "user-12345")).await;
    assert_event(&again.json(WAIT).await, "connected", "success", "user-12345");
}

async fn socket_handshake_by_query_and_own_tokens(target: &Target) {
    let app = TestApp::spawn(target).await;
    let (app_id, secret) = register(&app, "Chat").await;
    let token = app_token(&secret, &app_id, "u1", now_s() + 600);
    for query in [
        format!("app_id={app_id}&token={token}"),
        format!("appId={app_id}&access_token={token}"),
    ] {
        let mut client = connect(&app.ws_url(&query), &[]).await.unwrap();
        client.send_text(&event("connect", "u1")).await;
        assert_event(&client.json(WAIT).await, "connected", "success", "u1");
    }
    // A raw (non-Bearer) Authorization header.
    let mut raw = connect(&app.ws_url(""), &[("app-id", &app_id), ("authorization", &token)])
        .await
        .unwrap();
    raw.send_text(&event("connect", "u1")).await;
    assert_event(&raw.json(WAIT).await, "connected", "success", "u1");
    // This service's own access token, user named by UUID or login id.
    let user = app.new_user().await;
    let (access, _) = app.standard_login(&user).await;
    let uuid = jwt_claims(&access)["sub"].as_str().unwrap().to_owned();
    for name in [uuid.as_str(), user.login.as_str()] {
        let mut own = chat_socket(&app, &app_id, &access).await;
        own.send_text(&event("connect", name)).await;
        assert_event(&own.json(WAIT).await, "connected", "success", name);
    }
}

async fn socket_refusals(target: &Target) {
    let app = TestApp::spawn(target).await;
    let (app_id, secret) = register(&app, "Chat").await;
    let (_, other_secret) = register(&app, "Other").await;
    let token = app_token(&secret, &app_id, "u1", now_s() + 600);
    // Invalid handshakes: 400 with the contract's body, no upgrade.
    let expired = app_token(&secret, &app_id, "u1", now_s() - 5);
    let foreign = app_token(&other_secret, &app_id, "u1", now_s() + 600);
    for (query, headers) in [
        (format!("app_id={app_id}"), vec![]),
        (format!("app_id=app_nope&token={token}"), vec![]),
        (format!("app_id={app_id}&token=garbage"), vec![]),
        (format!("app_id={app_id}&token={expired}"), vec![]),
        (
            String::new(),
            vec![("app-id", app_id.as_str()), ("authorization", foreign.as_str())],
        ),
        (
            String::new(),
            vec![("app-id", ""), ("authorization", token.as_str())],
        ),
    ] {
        let refused = connect(&app.ws_url(&query), &headers).await.unwrap_err();
        assert_eq!(refused.0, 400, "{query} {headers:?}");
        let body: Value = serde_json::from_str(&refused.1).unwrap();
        assert_eq!(body, invalid(), "{query} {headers:?}");
    }
    // After the upgrade: wrong userId, unknown event, garbage, binary, a
    // disconnect naming someone else — each answered with the error, then
    // the socket is closed.
    for frame in [
        event("connect", "u2"),
        event("join", "u1"),
        "not json".to_owned(),
        json!({"event": "connect"}).to_string(),
        event("disconnect", "u2"),
    ] {
        let mut client = chat_socket(&app, &app_id, &token).await;
        client.send_text(&frame).await;
        expect_error_then_close(&mut client).await;
    }
    let mut client = chat_socket(&app, &app_id, &token).await;
    client.send_binary(b"\x00\x01").await;
    expect_error_then_close(&mut client).await;
    // Without App-Id the same socket is a `session` socket: the app token is
    // not an access token of ours, so that contract refuses it with 401.
    let refused = connect(&app.ws_url(&format!("token={token}")), &[])
        .await
        .unwrap_err();
    assert_eq!(refused.0, 401);
}

/// The stored profile of `user` in `app_id`, read from the in-process
/// server's database (`None` in QA mode, where the store is out of reach).
async fn stored(app: &TestApp, app_id: &str, user: &ChatUser) -> Option<Option<ChatProfile>> {
    if !app.in_process() {
        return None;
    }
    Some(app.inside("the database").chat_profile(app_id, user).await)
}

#[track_caller]
fn assert_nickname(profile: Option<Option<ChatProfile>>, nickname: Option<&str>) {
    if let Some(profile) = profile {
        assert_eq!(profile.and_then(|p| p.nickname).as_deref(), nickname);
    }
}

/// Whether the in-process server has `user` of `app_id` present (`true` in
/// QA mode, where presence is out of reach and the check is skipped).
fn present(app: &TestApp, app_id: &str, user: &ChatUser) -> Option<bool> {
    app.in_process()
        .then(|| app.inside("socket presence").chat_present(app_id, user))
}

/// Defect 6: our user whose login id equals an application's user id, and
/// an application token that mints one of our users' UUIDs. The two
/// namespaces stay apart in stored profiles and in socket presence.
async fn our_users_and_app_users_never_share_an_identity(target: &Target) {
    let app = TestApp::spawn(target).await;
    let (app_id, secret) = register(&app, "Chat").await;
    let ours = app.new_user().await;
    let (access, _) = app.standard_login(&ours).await;
    let claims = jwt_claims(&access);
    let uuid_text = claims["sub"].as_str().unwrap().to_owned();
    let uuid = uuid::Uuid::parse_str(&uuid_text).unwrap();
    let own_exp = claims["exp"].as_i64().unwrap();
    let exp = now_s() + 600;
    // The application has its own user whose id is our user's login id.
    let name = ours.login.clone();
    let theirs = ChatUser::App(name.clone());
    let app_token_for_name = app_token(&secret, &app_id, &name, exp);
    let r = chat_login(
        &app,
        &[("App-Id", &app_id), ("Authorization", &app_token_for_name)],
        &json!({"userId": name, "nickname": "theirs", "friends": ["f1"]}).to_string(),
    )
    .await;
    assert_reply(
        &r,
        200,
        &json!({"status": "success", "userId": name, "expiresAt": iso(exp)}),
    );
    // Our user logs in by login id (as clients do): accepted, and stored as
    // our user, not over the application's user of that name.
    let bearer = format!("Bearer {access}");
    let own_headers = [("App-Id", app_id.as_str()), ("Authorization", bearer.as_str())];
    let r = chat_login(
        &app,
        &own_headers,
        &json!({"userId": name, "nickname": "ours", "friends": []}).to_string(),
    )
    .await;
    assert_reply(
        &r,
        200,
        &json!({"status": "success", "userId": name, "expiresAt": iso(own_exp)}),
    );
    let app_profile = stored(&app, &app_id, &theirs).await;
    if let Some(profile) = &app_profile {
        let profile = profile.as_ref().expect("the application's user is stored");
        assert_eq!(profile.nickname.as_deref(), Some("theirs"));
        assert_eq!(profile.friends, vec!["f1".to_owned()]);
    }
    assert_nickname(stored(&app, &app_id, &ChatUser::Own(uuid)).await, Some("ours"));

    // An application token that mints our user's UUID is that application's
    // user of that name: it does not overwrite our user's profile.
    let minted = app_token(&secret, &app_id, &uuid_text, exp);
    let r = chat_login(
        &app,
        &[("App-Id", &app_id), ("Authorization", &minted)],
        &json!({"userId": uuid_text, "nickname": "hijacked", "friends": ["evil"]}).to_string(),
    )
    .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    assert_nickname(stored(&app, &app_id, &ChatUser::Own(uuid)).await, Some("ours"));
    assert_nickname(
        stored(&app, &app_id, &ChatUser::App(uuid_text.clone())).await,
        Some("hijacked"),
    );
    // Neither token names the other's user by the other's other name.
    let r = chat_login(
        &app,
        &[("App-Id", &app_id), ("Authorization", &app_token_for_name)],
        &profile(&uuid_text),
    )
    .await;
    assert_reply(&r, 400, &invalid());

    // Sockets: the application's user and ours, both saying `userId` = the
    // shared name, are two presences; each disconnect clears only its own.
    let mut app_socket = chat_socket(&app, &app_id, &app_token_for_name).await;
    app_socket.send_text(&event("connect", &name)).await;
    assert_event(&app_socket.json(WAIT).await, "connected", "success", &name);
    assert_ne!(present(&app, &app_id, &ChatUser::Own(uuid)), Some(true));
    let mut own_socket = chat_socket(&app, &app_id, &access).await;
    own_socket.send_text(&event("connect", &name)).await;
    assert_event(&own_socket.json(WAIT).await, "connected", "success", &name);
    assert_ne!(present(&app, &app_id, &ChatUser::Own(uuid)), Some(false));
    app_socket.send_text(&event("disconnect", &name)).await;
    assert_event(
        &app_socket.json(WAIT).await,
        "disconnected",
        "disconnected",
        &name,
    );
    assert_eq!(app_socket.next(WAIT).await, Frame::Closed(Some(1000)));
    assert_ne!(
        present(&app, &app_id, &theirs),
        Some(true),
        "our socket kept the app's user present"
    );
    assert_ne!(present(&app, &app_id, &ChatUser::Own(uuid)), Some(false));
    // The socket of a minted-UUID token is not our user's presence.
    let mut minted_socket = chat_socket(&app, &app_id, &minted).await;
    minted_socket.send_text(&event("connect", &uuid_text)).await;
    assert_event(
        &minted_socket.json(WAIT).await,
        "connected",
        "success",
        &uuid_text,
    );
    own_socket.send_text(&event("disconnect", &uuid_text)).await;
    assert_event(
        &own_socket.json(WAIT).await,
        "disconnected",
        "disconnected",
        &uuid_text,
    );
    assert_eq!(own_socket.next(WAIT).await, Frame::Closed(Some(1000)));
    assert_ne!(
        present(&app, &app_id, &ChatUser::Own(uuid)),
        Some(true),
        "the minted token kept our user present"
    );
    assert_ne!(
        present(&app, &app_id, &ChatUser::App(uuid_text.clone())),
        Some(false)
    );
    // The application's token for the shared name cannot connect as our
    // user by UUID.
    let mut wrong = chat_socket(&app, &app_id, &app_token_for_name).await;
    wrong.send_text(&event("connect", &uuid_text)).await;
    expect_error_then_close(&mut wrong).await;
}

/// Closed with 1008 and `reason` within [`WAIT`].
async fn expect_closed(client: &mut Client, what: &str) {
    match client.next(WAIT).await {
        Frame::Closed(Some(1008)) => {}
        other => panic!("{what}: the chat socket is still open or closed otherwise: {other:?}"),
    }
}

/// A connected chat socket of our own user, by UUID.
async fn own_chat_socket(app: &TestApp, app_id: &str, access: &str) -> Client {
    let uuid = jwt_claims(access)["sub"].as_str().unwrap().to_owned();
    let mut client = chat_socket(app, app_id, access).await;
    client.send_text(&event("connect", &uuid)).await;
    assert_event(&client.json(WAIT).await, "connected", "success", &uuid);
    client
}

/// Issue 26.3: a chat socket opened with one of our access tokens belongs
/// to its session: logout, an admin's revocation and a disable close it at
/// once (as they send `LOGOUT` to the session's `/ws` socket), not at the
/// token's expiry.
async fn chat_sockets_of_our_users_end_with_their_session(target: &Target) {
    let app = TestApp::spawn(target).await;
    let (app_id, _) = register(&app, "Chat").await;
    let admin = format!("Bearer {}", app.admin_token());
    let (a, b, c, bystander) = (
        app.new_user().await,
        app.new_user().await,
        app.new_user().await,
        app.new_user().await,
    );
    let (a_access, _) = app.standard_login(&a).await;
    let (b_access, _) = app.standard_login(&b).await;
    let (c_access, _) = app.standard_login(&c).await;
    let (d_access, _) = app.standard_login(&bystander).await;
    let mut on_a = own_chat_socket(&app, &app_id, &a_access).await;
    let mut on_b = own_chat_socket(&app, &app_id, &b_access).await;
    let mut on_c = own_chat_socket(&app, &app_id, &c_access).await;
    let mut on_d = own_chat_socket(&app, &app_id, &d_access).await;

    assert_eq!(standard_logout(&app, &a_access).await.status.as_u16(), 200);
    expect_closed(&mut on_a, "logout").await;
    let r = app
        .request(
            "DELETE",
            &format!("/internal/users/{}/sessions", b.id),
            &[("authorization".into(), admin.clone())],
            Vec::new(),
        )
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    expect_closed(&mut on_b, "admin revocation").await;
    let r = app
        .request(
            "POST",
            &format!("/internal/users/{}/disable", c.id),
            &[("authorization".into(), admin)],
            Vec::new(),
        )
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    expect_closed(&mut on_c, "disable").await;
    // Another user's chat socket is untouched and still answers.
    let uuid = jwt_claims(&d_access)["sub"].as_str().unwrap().to_owned();
    on_d.send_text(&event("connect", &uuid)).await;
    assert_event(&on_d.json(WAIT).await, "connected", "success", &uuid);
    // The ended session opens no new chat socket either.
    let refused = connect(
        &app.ws_url(""),
        &[
            ("app-id", &app_id),
            ("authorization", &format!("Bearer {a_access}")),
        ],
    )
    .await;
    assert!(refused.is_err(), "a logged-out token opened a chat socket");
}

/// Issue 26.8: deleting or re-keying an application closes the sockets
/// opened before (their tokens may live for years), also when another
/// instance does it; another application's sockets stay.
async fn deleting_or_rekeying_an_app_closes_its_sockets(target: &Target) {
    // On PostgreSQL only LISTEN/NOTIFY can carry it to the other instance;
    // SQLite has no bus between processes: its periodic check (1 s) does.
    let check = if target.deployment().name() == "postgres" {
        0
    } else {
        1
    };
    let app = TestApp::spawn_with(target, |c| {
        c.set("AUTH_WS_SESSION_CHECK_SECONDS", check);
    })
    .await;
    let admin = format!("Bearer {}", app.admin_token());
    let (deleted, deleted_secret) = register(&app, "Deleted").await;
    let (rekeyed, rekeyed_secret) = register(&app, "Rekeyed").await;
    let (kept, kept_secret) = register(&app, "Kept").await;
    let long = now_s() + 10 * 365 * 86_400;
    let open = |app_id: &str, secret: &str, user: &str| {
        let token = app_token(secret, app_id, user, long);
        let (app, app_id, user) = (&app, app_id.to_owned(), user.to_owned());
        async move {
            let mut client = chat_socket(app, &app_id, &token).await;
            client.send_text(&event("connect", &user)).await;
            assert_event(&client.json(WAIT).await, "connected", "success", &user);
            client
        }
    };
    let mut on_deleted = open(&deleted, &deleted_secret, "u-del").await;
    let mut on_rekeyed = open(&rekeyed, &rekeyed_secret, "u-rekey").await;
    let mut on_kept = open(&kept, &kept_secret, "u-kept").await;
    let user = app.new_user().await;
    let (access, _) = app.standard_login(&user).await;
    let mut own_on_deleted = own_chat_socket(&app, &deleted, &access).await;

    let r = app
        .request(
            "POST",
            &format!("/internal/apps/{rekeyed}/secret"),
            &[("authorization".into(), admin.clone())],
            Vec::new(),
        )
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    let new_secret = r.str("/secret");
    expect_closed(&mut on_rekeyed, "re-key").await;
    // The other instance deletes the first application.
    let sibling = app.spawn_sibling().await;
    let r = sibling
        .request(
            "DELETE",
            &format!("/internal/apps/{deleted}"),
            &[("authorization".into(), admin)],
            Vec::new(),
        )
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    expect_closed(&mut on_deleted, "delete on another instance").await;
    expect_closed(&mut own_on_deleted, "delete, our own user's socket").await;
    // The other application's socket is untouched and still answers.
    on_kept.send_text(&event("connect", "u-kept")).await;
    assert_event(&on_kept.json(WAIT).await, "connected", "success", "u-kept");
    // The re-keyed application's new secret opens sockets again.
    let _ = open(&rekeyed, &new_secret, "u-rekey").await;
}

crate::scenarios!(
    chat_sockets_of_our_users_end_with_their_session,
    deleting_or_rekeying_an_app_closes_its_sockets,
    our_users_and_app_users_never_share_an_identity,
    internal_apps_registers_applications,
    internal_apps_closed_without_admin_token,
    login_registers_then_updates,
    login_accepts_our_own_access_tokens,
    login_refusals,
    socket_connect_then_disconnect,
    socket_handshake_by_query_and_own_tokens,
    socket_refusals,
);
