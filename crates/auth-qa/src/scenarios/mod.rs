//! The scenarios: each talks HTTP (and WebSocket) to a server of its
//! [`Target`](crate::Target) and asserts what a client of that contract
//! would notice. Written once; run in-process on SQLite and PostgreSQL by
//! `cargo test`, and against a deployment by `auth-qa`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod abuse;
pub mod account;
pub mod admin;
pub mod admin_roles;
pub mod backchannel;
pub mod chat;
pub mod codes;
pub mod console;
pub mod cross;
pub mod forged;
pub mod fuzz;
pub mod import;
pub mod me;
pub mod mfa;
pub mod oidc;
pub mod oidc_bad;
pub mod oidc_social;
pub mod passkeys;
pub mod picsel;
pub mod realtime;
pub mod revocation_list;
pub mod robustness;
pub mod session;
pub mod social;
pub mod standard;
pub mod tokens;

/// Every scenario, grouped by the file it is written in.
pub fn all() -> Vec<crate::Scenario> {
    let mut all = Vec::new();
    all.extend(abuse::all());
    all.extend(account::all());
    all.extend(admin::all());
    all.extend(admin_roles::all());
    all.extend(backchannel::all());
    all.extend(chat::all());
    all.extend(codes::all());
    all.extend(console::all());
    all.extend(cross::all());
    all.extend(forged::all());
    all.extend(fuzz::all());
    all.extend(import::all());
    all.extend(me::all());
    all.extend(mfa::all());
    all.extend(oidc::all());
    all.extend(oidc_bad::all());
    all.extend(oidc_social::all());
    all.extend(passkeys::all());
    all.extend(picsel::all());
    all.extend(realtime::all());
    all.extend(revocation_list::all());
    all.extend(robustness::all());
    all.extend(session::all());
    all.extend(social::all());
    all.extend(standard::all());
    all.extend(tokens::all());
    all
}

use std::time::{SystemTime, UNIX_EPOCH};

use crate::{NewUser, Reply, TestApp};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Seconds since the epoch (JWT times).
pub fn now_s() -> i64 {
    chrono::Utc::now().timestamp()
}

/// An HS256 JWT of `claims` under `key` (forged or re-signed tokens).
pub fn sign_hs256(key: &[u8], claims: &Value) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(key),
    )
    .unwrap()
}

/// Milliseconds since the epoch, now.
pub fn now_ms() -> i64 {
    i64::try_from(SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis()).unwrap()
}

/// A request with `Authorization: Bearer token` and, unless `body` is
/// null, a JSON body.
pub async fn bearer_json(app: &TestApp, method: &str, path: &str, token: &str, body: &Value) -> Reply {
    let headers = [
        ("authorization".to_owned(), format!("Bearer {token}")),
        ("content-type".to_owned(), "application/json".to_owned()),
    ];
    let bytes = if body.is_null() {
        Vec::new()
    } else {
        body.to_string().into_bytes()
    };
    app.request(method, path, &headers, bytes).await
}

/// The sorted keys of a JSON object (panics with the body when not one).
pub fn keys(value: &Value) -> Vec<String> {
    let mut keys: Vec<String> = value
        .as_object()
        .unwrap_or_else(|| panic!("not a JSON object: {value}"))
        .keys()
        .cloned()
        .collect();
    keys.sort();
    keys
}

/// Asserts that `value` is an object with exactly `expected` keys.
#[track_caller]
pub fn assert_keys(value: &Value, expected: &[&str]) {
    let mut expected: Vec<String> = expected.iter().map(|k| (*k).to_owned()).collect();
    expected.sort();
    assert_eq!(keys(value), expected, "keys of {value}");
}

/// Asserts the status and that the body is exactly `body`.
#[track_caller]
pub fn assert_reply(reply: &Reply, status: u16, body: &Value) {
    assert_eq!(reply.status.as_u16(), status, "status; body: {}", reply.text);
    assert_eq!(&reply.json, body, "body (status {})", reply.status);
}

/// `standard` error: exactly `{"status": <status>, "reason": <reason>}`.
#[track_caller]
pub fn assert_standard_error(reply: &Reply, status: u16, reason: &str) {
    assert_reply(reply, status, &json!({"status": status, "reason": reason}));
}

/// `session` error: exactly `{"success": false, "message": <message>}`.
#[track_caller]
pub fn assert_session_error(reply: &Reply, status: u16, message: &str) {
    assert_reply(reply, status, &json!({"success": false, "message": message}));
}

/// `account` error: exactly `{"data": null, "error": <message>}`.
#[track_caller]
pub fn assert_account_error(reply: &Reply, status: u16, message: &str) {
    assert_reply(reply, status, &json!({"data": null, "error": message}));
}

/// `picsel` common error envelope, exactly.
#[track_caller]
pub fn assert_picsel_error(
    reply: &Reply,
    status: u16,
    error_type: &str,
    code: &str,
    message: &str,
    details: Value,
) {
    assert_reply(
        reply,
        status,
        &json!({
            "statusCode": status,
            "message": message,
            "errorType": error_type,
            "error": {"code": code, "message": message, "details": details},
        }),
    );
}

/// `picsel`'s answer to a refresh token it does not accept.
#[track_caller]
pub fn assert_picsel_invalid_refresh(reply: &Reply) {
    assert_picsel_error(
        reply,
        401,
        "UnauthorizedException",
        "INVALID_REFRESH_TOKEN",
        "유효하지 않은 리프레시 토큰입니다",
        Value::Null,
    );
}

/// `session`'s answer to a refresh token it does not accept.
#[track_caller]
pub fn assert_session_invalid_refresh(reply: &Reply) {
    assert_session_error(reply, 401, "유효하지 않은 갱신 토큰입니다.");
}

/// A JWT: three non-empty base64url segments.
#[track_caller]
pub fn assert_jwt(token: &str) {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "not a JWT: {token}");
    for part in parts {
        assert!(
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
            "not a JWT: {token}"
        );
    }
}

/// Parses `YYYY-MM-DDTHH:MM:SS.mmmZ` (exactly that shape) into epoch ms.
pub fn parse_iso_millis(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 24 {
        return None;
    }
    let shape = "dddd-dd-ddTdd:dd:dd.dddZ".as_bytes();
    for (c, p) in b.iter().zip(shape) {
        let ok = if *p == b'd' { c.is_ascii_digit() } else { c == p };
        if !ok {
            return None;
        }
    }
    let num = |r: std::ops::Range<usize>| s[r].parse::<i64>().ok();
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec, ms) = (num(11..13)?, num(14..16)?, num(17..19)?, num(20..23)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    // Days from civil (Howard Hinnant's algorithm).
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some((((days * 24 + h) * 60 + mi) * 60 + sec) * 1000 + ms)
}

/// Asserts `issuedAt` has the document's shape and is about now.
#[track_caller]
pub fn assert_issued_now(issued_at: &str) {
    let at = parse_iso_millis(issued_at)
        .unwrap_or_else(|| panic!("issuedAt is not YYYY-MM-DDTHH:MM:SS.mmmZ: {issued_at}"));
    let drift = (at - now_ms()).abs();
    assert!(drift < 60_000, "issuedAt {issued_at} is {drift} ms away from now");
}

/// `session` login; returns `(accessToken, refreshToken)`.
pub async fn session_login(app: &TestApp, user: &NewUser) -> (String, String) {
    let reply = app
        .post(
            "/api/login",
            &json!({"userId": user.login, "password": user.password}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "session login: {}", reply.text);
    (reply.str("/accessToken"), reply.str("/refreshToken"))
}

/// `picsel` email login; returns the whole reply after checking it is a 200.
pub async fn picsel_login(app: &TestApp, email: &str, password: &str) -> Reply {
    let reply = app
        .post("/api/auth/login", &json!({"email": email, "password": password}))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "picsel login: {}", reply.text);
    reply
}

/// `picsel` login; returns `(accessToken, refreshToken)`.
pub async fn picsel_tokens(app: &TestApp, user: &NewUser) -> (String, String) {
    let reply = picsel_login(app, &user.email, &user.password).await;
    (reply.str("/data/accessToken"), reply.str("/data/refreshToken"))
}

/// `account` sign-in; returns the `token`.
pub async fn account_sign_in(app: &TestApp, user: &NewUser) -> String {
    let reply = app
        .post(
            "/api/auth/sign-in",
            &json!({"authId": user.login, "password": user.password}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "sign-in: {}", reply.text);
    reply.str("/data/token")
}

/// `standard` reissue.
pub async fn reissue(app: &TestApp, access: &str, refresh: &str) -> Reply {
    app.post(
        "/api/auth/reissue-token",
        &json!({"accessToken": access, "refreshToken": refresh}),
    )
    .await
}

/// A password reset as a user does it (`account`): a `FORGET_PASSWORD`
/// code sent (200) and read from the mail, then `POST
/// /api/auth/reset/password` with it and `password`, with `headers`; the
/// reset's reply.
pub async fn reset_password(
    app: &TestApp,
    user: &NewUser,
    password: &str,
    headers: &[(&str, &str)],
) -> Reply {
    let before = app.mail().count_to(&user.email).await;
    let sent = app
        .post(
            "/api/auth/send/auth-key",
            &json!({"authId": user.login, "email": user.email, "type": "FORGET_PASSWORD"}),
        )
        .await;
    assert_eq!(sent.status.as_u16(), 200, "{}", sent.text);
    let code = app.mail().wait_for(&user.email, before + 1).await.code();
    app.post_headers(
        "/api/auth/reset/password",
        &json!({"userId": user.id, "authCode": code, "newPassword": password}),
        headers,
    )
    .await
}

/// `session` refresh.
pub async fn session_refresh(app: &TestApp, refresh: &str) -> Reply {
    app.post("/api/token/refresh", &json!({"refreshToken": refresh}))
        .await
}

/// `picsel` refresh.
pub async fn picsel_refresh(app: &TestApp, refresh: &str) -> Reply {
    app.post("/api/auth/refresh", &json!({"refresh_token": refresh}))
        .await
}

/// `standard` logout with a bearer token.
pub async fn standard_logout(app: &TestApp, access: &str) -> Reply {
    app.post_empty("/api/auth/logout", Some(&format!("Bearer {access}")))
        .await
}

/// `account` availability check of a login id.
pub async fn auth_id_usable(app: &TestApp, auth_id: &str) -> bool {
    let reply = app.get(&format!("/api/auth/check/auth-id/{auth_id}")).await;
    assert_eq!(reply.status, StatusCode::OK, "check/auth-id: {}", reply.text);
    assert_keys(&reply.json, &["data", "error"]);
    assert_eq!(reply.json["error"], Value::Null, "{}", reply.text);
    assert_keys(&reply.json["data"], &["usable"]);
    reply.json["data"]["usable"]
        .as_bool()
        .unwrap_or_else(|| panic!("usable is not a boolean: {}", reply.text))
}

/// `account` availability check of an email.
pub async fn email_usable(app: &TestApp, email: &str) -> bool {
    let reply = app.get(&format!("/api/auth/check/email/{email}")).await;
    assert_eq!(reply.status, StatusCode::OK, "check/email: {}", reply.text);
    assert_keys(&reply.json, &["data", "error"]);
    assert_eq!(reply.json["error"], Value::Null, "{}", reply.text);
    assert_keys(&reply.json["data"], &["usable"]);
    reply.json["data"]["usable"]
        .as_bool()
        .unwrap_or_else(|| panic!("usable is not a boolean: {}", reply.text))
}

/// The token with one character of its signature changed (not the last
/// one, whose low bits may be padding).
pub fn tamper(token: &str) -> String {
    let at = token.rfind('.').unwrap() + 2;
    let mut bytes = token.as_bytes().to_vec();
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).unwrap()
}

/// Base64url without padding (a JWT's parts).
pub fn b64url(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The decoded payload (claims) of a JWT, without verifying it.
pub fn jwt_claims(token: &str) -> Value {
    let payload = token
        .split('.')
        .nth(1)
        .unwrap_or_else(|| panic!("not a JWT: {token}"));
    let mut bits: u32 = 0;
    let mut count = 0;
    let mut out = vec![];
    for c in payload.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            _ => panic!("not base64url: {token}"),
        };
        bits = (bits << 6) | u32::from(v);
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push(u8::try_from((bits >> count) & 0xff).unwrap());
        }
    }
    serde_json::from_slice(&out).unwrap_or_else(|_| panic!("JWT payload is not JSON: {token}"))
}
