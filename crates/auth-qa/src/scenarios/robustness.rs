//! Hostile and broken requests: always a 4xx in the contract's own envelope,
//! never a 5xx; concurrency on unique fields; probes and common headers.

use std::sync::Arc;

use crate::{Reply, Target, TestApp, unique_email, unique_login};
use serde_json::{Value, json};

use super::{assert_account_error, assert_reply};

/// Which envelope an answer must be in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Envelope {
    /// `{"status", "reason"}`.
    Standard,
    /// `{"success": false, "message"}`.
    Session,
    /// `{statusCode, message, errorType, error:{code, message, details}}`.
    Picsel,
    /// `{"data": null, "error": "…"}`.
    Account,
    /// The shared `picsel`/`standard` paths, when the body cannot tell.
    StandardOrPicsel,
    /// `chat`: exactly `{"error": "Invalid request"}`.
    Chat,
}

/// A non-empty JSON string.
fn text(value: &Value) -> bool {
    value.as_str().is_some_and(|s| !s.is_empty())
}

fn envelope_problem(envelope: Envelope, reply: &Reply) -> Option<String> {
    let status = reply.status.as_u16();
    let j = &reply.json;
    let Some(obj) = j.as_object() else {
        return Some("body is not a JSON object".into());
    };
    let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    keys.sort_unstable();
    match envelope {
        Envelope::Standard => {
            (keys != ["reason", "status"] || j["status"] != json!(status) || !text(&j["reason"]))
                .then(|| "not {status: <http status>, reason: <text>}".into())
        }
        Envelope::Session => {
            (keys != ["message", "success"] || j["success"] != json!(false) || !text(&j["message"]))
                .then(|| "not {success: false, message: <text>}".into())
        }
        Envelope::Picsel => {
            let error = &j["error"];
            let error_keys = error.as_object().map(|o| {
                let mut k: Vec<&str> = o.keys().map(String::as_str).collect();
                k.sort_unstable();
                k
            });
            (keys != ["error", "errorType", "message", "statusCode"]
                || j["statusCode"] != json!(status)
                || !text(&j["message"])
                || !text(&j["errorType"])
                || error_keys.as_deref() != Some(&["code", "details", "message"][..])
                || !text(&error["code"])
                || !error["message"].is_string())
            .then(|| "not the picsel common error envelope".into())
        }
        Envelope::Account => (keys != ["data", "error"] || j["data"] != Value::Null || !text(&j["error"]))
            .then(|| "not {data: null, error: <text>}".into()),
        Envelope::Chat => {
            (j != &json!({"error": "Invalid request"})).then(|| "not {error: \"Invalid request\"}".into())
        }
        Envelope::StandardOrPicsel => envelope_problem(Envelope::Standard, reply)
            .and(envelope_problem(Envelope::Picsel, reply))
            .map(|_| "neither the standard nor the picsel envelope".into()),
    }
}

/// What is wrong with an error reply, if anything.
fn check_envelope(label: &str, envelope: Envelope, reply: &Reply, status: Option<u16>) -> Option<String> {
    let code = reply.status.as_u16();
    if !(400..500).contains(&code) {
        return Some(format!("{label}: expected a 4xx, got {code}: {}", reply.text));
    }
    if let Some(status) = status.filter(|s| *s != code) {
        return Some(format!("{label}: expected {status}, got {code}: {}", reply.text));
    }
    envelope_problem(envelope, reply).map(|problem| {
        format!(
            "{label}: {problem} ({envelope:?}); status {code}, body: {}",
            reply.text
        )
    })
}

#[track_caller]
fn assert_envelope(label: &str, envelope: Envelope, reply: &Reply, status: Option<u16>) {
    if let Some(problem) = check_envelope(label, envelope, reply, status) {
        panic!("{problem}");
    }
}

struct Endpoint {
    path: &'static str,
    /// Envelope and status for bodies that are not a usable JSON object.
    malformed: (Envelope, u16),
    /// A string field of this contract, for the wrong-type and oversize cases.
    field: &'static str,
    /// Envelope for bodies that are objects naming `field`.
    own: Envelope,
    /// Envelope for a 413 (the shared paths cannot tell whose it is).
    oversize: Envelope,
    /// An object body whose strings contain NUL.
    nul: Value,
    /// Envelope for `nul`.
    nul_envelope: Envelope,
}

fn endpoints() -> Vec<Endpoint> {
    use Envelope::*;
    vec![
        Endpoint {
            path: "/api/auth/login",
            malformed: (Standard, 400),
            field: "username",
            own: Standard,
            oversize: StandardOrPicsel,
            nul: json!({"username": "us\u{0}er", "password": "pass\u{0}word"}),
            nul_envelope: Standard,
        },
        Endpoint {
            path: "/api/auth/reissue-token",
            malformed: (Standard, 400),
            field: "accessToken",
            own: Standard,
            oversize: Standard,
            nul: json!({"accessToken": "a\u{0}b.c.d", "refreshToken": "\u{0}"}),
            nul_envelope: Standard,
        },
        Endpoint {
            path: "/api/auth/logout",
            // Not a picsel body: the standard logout, without a bearer.
            malformed: (Standard, 401),
            field: "refresh_token",
            own: Picsel,
            oversize: StandardOrPicsel,
            nul: json!({"refresh_token": "eyJ\u{0}.x.y"}),
            nul_envelope: Picsel,
        },
        Endpoint {
            path: "/api/login",
            malformed: (Session, 400),
            field: "userId",
            own: Session,
            oversize: Session,
            nul: json!({"userId": "user\u{0}1", "password": "pass\u{0}word"}),
            nul_envelope: Session,
        },
        Endpoint {
            path: "/api/token/refresh",
            malformed: (Session, 400),
            field: "refreshToken",
            own: Session,
            oversize: Session,
            nul: json!({"refreshToken": "\u{0}\u{0}"}),
            nul_envelope: Session,
        },
        Endpoint {
            path: "/api/auth/refresh",
            malformed: (Picsel, 400),
            field: "refresh_token",
            own: Picsel,
            oversize: Picsel,
            nul: json!({"refresh_token": "a\u{0}"}),
            nul_envelope: Picsel,
        },
        Endpoint {
            path: "/api/auth/sign-up",
            malformed: (Account, 400),
            field: "authId",
            own: Account,
            oversize: Account,
            nul: json!({"authId": unique_login(), "password": "Password123!", "name": "홍\u{0}길동", "email": unique_email()}),
            nul_envelope: Account,
        },
        Endpoint {
            path: "/api/auth/sign-in",
            malformed: (Account, 400),
            field: "authId",
            own: Account,
            oversize: Account,
            nul: json!({"authId": "ab\u{0}cd", "password": "Password\u{0}123!"}),
            nul_envelope: Account,
        },
        Endpoint {
            path: "/api/auth/withdrawal",
            malformed: (Account, 400),
            field: "authId",
            own: Account,
            oversize: Account,
            nul: json!({"authId": "ab\u{0}cd", "password": "Password\u{0}123!"}),
            nul_envelope: Account,
        },
    ]
}

async fn broken_bodies(target: &Target) {
    let app = TestApp::spawn(target).await;
    let mut problems: Vec<String> = vec![];
    for e in endpoints() {
        let p = e.path;
        let (menv, mstatus) = e.malformed;
        // Empty: `{}`, so the first missing field (or the missing bearer).
        let reply = app.post_raw(p, "", "application/json").await;
        problems.extend(check_envelope(
            &format!("{p} empty body"),
            menv,
            &reply,
            Some(mstatus),
        ));
        let reply = app.post_empty(p, None).await;
        problems.extend(check_envelope(
            &format!("{p} no body at all"),
            menv,
            &reply,
            Some(mstatus),
        ));
        for (name, body) in [
            ("truncated", &b"{"[..]),
            ("truncated object", &br#"{"a":"#[..]),
            ("array", &b"[]"[..]),
            ("string", &br#""str""#[..]),
            ("number", &b"42"[..]),
            ("null", &b"null"[..]),
            ("non-UTF-8 in a string", &b"{\"x\":\"\xff\xfe\"}"[..]),
            ("non-UTF-8 bytes", &b"\xff\xfe\xfd"[..]),
        ] {
            let reply = app.post_raw(p, body.to_vec(), "application/json").await;
            problems.extend(check_envelope(
                &format!("{p} {name}"),
                menv,
                &reply,
                Some(mstatus),
            ));
        }
        // Not JSON at all, with a non-JSON content type.
        let reply = app
            .post_raw(p, "username=a&password=b", "application/x-www-form-urlencoded")
            .await;
        problems.extend(check_envelope(
            &format!("{p} form body"),
            menv,
            &reply,
            Some(mstatus),
        ));

        // The contract's own field with the wrong JSON type.
        for value in [json!(123), json!(true), json!({"a": 1}), json!(["x"])] {
            let reply = app.post(p, &json!({ e.field: value })).await;
            problems.extend(check_envelope(
                &format!("{p} {}={value}", e.field),
                e.own,
                &reply,
                Some(400),
            ));
        }
        // NUL characters inside strings.
        let reply = app.post(p, &e.nul).await;
        problems.extend(check_envelope(
            &format!("{p} NUL in strings"),
            e.nul_envelope,
            &reply,
            None,
        ));
        // Non-UTF-8 bytes inside the contract's own field.
        let mut raw = format!("{{\"{}\":\"", e.field).into_bytes();
        raw.extend_from_slice(b"\xc3\x28\xff");
        raw.extend_from_slice(b"\"}");
        let reply = app.post_raw(p, raw, "application/json").await;
        let expected = if p == "/api/auth/logout" { menv } else { e.own };
        problems.extend(check_envelope(
            &format!("{p} non-UTF-8 in {}", e.field),
            expected,
            &reply,
            Some(mstatus),
        ));

        // 100 KiB.
        let big = json!({ e.field: "a".repeat(100 * 1024) }).to_string();
        let reply = app.post_raw(p, big, "application/json").await;
        problems.extend(check_envelope(
            &format!("{p} 100 KiB body"),
            e.oversize,
            &reply,
            Some(413),
        ));
    }
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// A JSON endpoint added after the table above: how to reach it.
struct Newer {
    method: reqwest::Method,
    path: &'static str,
    headers: Vec<(&'static str, String)>,
    envelope: Envelope,
    /// A string field, for the wrong-type, NUL and oversize cases.
    field: &'static str,
}

/// Sends `body` with `content-type: application/json` (a GET too).
async fn send_raw(app: &TestApp, e: &Newer, body: Vec<u8>) -> Reply {
    let mut request = reqwest::Client::new()
        .request(e.method.clone(), format!("{}{}", app.base, e.path))
        .header("content-type", "application/json")
        .body(body);
    for (name, value) in &e.headers {
        request = request.header(*name, value.as_str());
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

/// The same hostile bodies on the endpoints added since `endpoints()`:
/// `account` code sends, checks (GET with a body) and password reset,
/// `chat` login (with a registered `App-Id` and a valid app token, so the
/// body is what is judged, and without any header), and the internal API
/// with the admin token. Every answer a 4xx in the endpoint's envelope; 413
/// for 100 KiB.
async fn broken_bodies_newer_endpoints(target: &Target) {
    use Envelope::*;
    let app = TestApp::spawn(target).await;
    let admin = format!("Bearer {}", app.admin_token());
    let registered = app
        .post_with(
            "/internal/apps",
            &json!({"name": "robustness"}),
            Some(&app.admin_token()),
        )
        .await;
    assert_eq!(registered.status.as_u16(), 201, "{}", registered.text);
    let (app_id, secret) = (registered.str("/appId"), registered.str("/secret"));
    let exp = chrono::Utc::now().timestamp() + 600;
    let token = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &json!({"sub": "chat-user-1", "app_id": app_id, "iat": exp - 600, "exp": exp}),
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap();
    let post = reqwest::Method::POST;
    let newer = vec![
        Newer {
            method: post.clone(),
            path: "/api/auth/send/auth-key",
            headers: vec![],
            envelope: Account,
            field: "email",
        },
        Newer {
            method: post.clone(),
            path: "/api/auth/reset/password",
            headers: vec![],
            envelope: Account,
            field: "authCode",
        },
        Newer {
            method: reqwest::Method::GET,
            path: "/api/auth/check/auth-code",
            headers: vec![],
            envelope: Account,
            field: "email",
        },
        Newer {
            method: post.clone(),
            path: "/auth/login",
            headers: vec![
                ("app-id", app_id.clone()),
                ("authorization", format!("Bearer {token}")),
            ],
            envelope: Chat,
            field: "userId",
        },
        Newer {
            method: post.clone(),
            path: "/auth/login",
            headers: vec![],
            envelope: Chat,
            field: "userId",
        },
        Newer {
            method: post.clone(),
            path: "/internal/notifications",
            headers: vec![("authorization", admin.clone())],
            envelope: Session,
            field: "userId",
        },
        Newer {
            method: post,
            path: "/internal/apps",
            headers: vec![("authorization", admin)],
            envelope: Session,
            field: "name",
        },
    ];
    let mut problems: Vec<String> = vec![];
    for e in &newer {
        let label = format!(
            "{} {}{}",
            e.method,
            e.path,
            if e.headers.is_empty() { " (no headers)" } else { "" }
        );
        let mut nul = serde_json::Map::new();
        nul.insert(e.field.into(), json!("a\u{0}b"));
        let mut bodies: Vec<(String, Vec<u8>)> = vec![
            ("empty".into(), vec![]),
            ("truncated".into(), b"{".to_vec()),
            ("array".into(), b"[]".to_vec()),
            ("string".into(), br#""str""#.to_vec()),
            (
                "NUL in strings".into(),
                Value::Object(nul).to_string().into_bytes(),
            ),
            ("non-UTF-8 bytes".into(), b"\xff\xfe\xfd".to_vec()),
            ("non-UTF-8 in a string".into(), {
                let mut raw = format!("{{\"{}\":\"", e.field).into_bytes();
                raw.extend_from_slice(b"\xc3\x28\xff\"}");
                raw
            }),
        ];
        for value in [json!(123), json!(true), json!({"a": 1}), json!(["x"])] {
            bodies.push((
                format!("{}={value}", e.field),
                json!({ e.field: value }).to_string().into_bytes(),
            ));
        }
        for (name, body) in bodies {
            let reply = send_raw(&app, e, body).await;
            problems.extend(check_envelope(
                &format!("{label} {name}"),
                e.envelope,
                &reply,
                None,
            ));
        }
        let big = json!({ e.field: "a".repeat(100 * 1024) })
            .to_string()
            .into_bytes();
        let reply = send_raw(&app, e, big).await;
        problems.extend(check_envelope(
            &format!("{label} 100 KiB body"),
            e.envelope,
            &reply,
            Some(413),
        ));
    }
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

async fn oversize_in_each_envelope(target: &Target) {
    // Exact 413 bodies where the contract is certain.
    let app = TestApp::spawn(target).await;
    let pad = "a".repeat(100 * 1024);
    let reply = app
        .post_raw(
            "/api/auth/reissue-token",
            json!({"accessToken": pad}).to_string(),
            "application/json",
        )
        .await;
    super::assert_standard_error(&reply, 413, "요청 본문이 너무 큽니다.");
    let reply = app
        .post_raw(
            "/api/login",
            json!({"userId": pad}).to_string(),
            "application/json",
        )
        .await;
    super::assert_session_error(&reply, 413, "요청 본문이 너무 큽니다.");
    let reply = app
        .post_raw(
            "/api/auth/refresh",
            json!({"refresh_token": pad}).to_string(),
            "application/json",
        )
        .await;
    super::assert_picsel_error(
        &reply,
        413,
        "PayloadTooLargeException",
        "PAYLOAD_TOO_LARGE",
        "요청 본문이 너무 큽니다",
        Value::Null,
    );
    let reply = app
        .post_raw(
            "/api/auth/sign-up",
            json!({"authId": pad}).to_string(),
            "application/json",
        )
        .await;
    assert_account_error(&reply, 413, "요청 본문이 너무 큼");
    // Just under the limit is read normally.
    let reply = app
        .post_raw(
            "/api/login",
            json!({"userId": "a".repeat(60 * 1024), "password": "x"}).to_string(),
            "application/json",
        )
        .await;
    super::assert_session_error(&reply, 400, "아이디는 영문 소문자와 숫자 3~20자여야 합니다.");
    // The shared paths: a picsel body that is too large is still a 413.
    let reply = app
        .post_raw(
            "/api/auth/login",
            json!({"email": "a@example.com", "password": pad}).to_string(),
            "application/json",
        )
        .await;
    let login = check_envelope(
        "/api/auth/login oversize picsel body",
        Envelope::StandardOrPicsel,
        &reply,
        Some(413),
    );
    let reply = app
        .post_raw(
            "/api/auth/logout",
            json!({"refresh_token": pad}).to_string(),
            "application/json",
        )
        .await;
    let logout = check_envelope(
        "/api/auth/logout oversize picsel body",
        Envelope::StandardOrPicsel,
        &reply,
        Some(413),
    );
    let problems: Vec<String> = login.into_iter().chain(logout).collect();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

async fn parallel_sign_ups_same_email(target: &Target) {
    let app = Arc::new(TestApp::spawn(target).await);
    let (login, email) = (unique_login(), unique_email());
    app.verify_email(&email, &login).await;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..20 {
        let app = app.clone();
        let email = email.clone();
        // The verification admits its own authId only (in any case): the
        // same sign-up sent twenty times, as by a client that retries.
        let login = if i % 2 == 0 {
            login.clone()
        } else {
            login.to_uppercase()
        };
        tasks.spawn(async move {
            app.post(
                "/api/auth/sign-up",
                &json!({"authId": login, "password": "Password123!", "name": "동시", "email": email}),
            )
            .await
        });
    }
    let mut ok = 0;
    let mut winner = None;
    while let Some(reply) = tasks.join_next().await {
        let reply = reply.unwrap();
        match reply.status.as_u16() {
            200 => {
                ok += 1;
                winner = reply.json["data"]["id"].as_i64();
            }
            _ => assert_account_error(&reply, 400, "이미 존재 하는 값"),
        }
    }
    assert_eq!(ok, 1, "exactly one sign-up with one email may succeed");
    assert!(winner.is_some());
    assert!(!super::email_usable(&app, &email).await);
}

async fn parallel_sign_ups_same_auth_id(target: &Target) {
    let app = Arc::new(TestApp::spawn(target).await);
    let login = unique_login();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..10 {
        let app = app.clone();
        let login = if i % 2 == 0 {
            login.clone()
        } else {
            login.to_uppercase()
        };
        let email = unique_email();
        app.verify_email(&email, &login).await;
        tasks.spawn(async move {
            app.post(
                "/api/auth/sign-up",
                &json!({"authId": login, "password": "Password123!", "name": "동시", "email": email}),
            )
            .await
        });
    }
    let mut ok = 0;
    while let Some(reply) = tasks.join_next().await {
        let reply = reply.unwrap();
        match reply.status.as_u16() {
            200 => ok += 1,
            _ => assert_account_error(&reply, 400, "이미 존재 하는 값"),
        }
    }
    assert_eq!(ok, 1, "exactly one sign-up with one authId may succeed");
}

async fn parallel_reissue_of_one_token(target: &Target) {
    // Racing rotations of one refresh token: at most one wins, none is a 5xx.
    let app = Arc::new(TestApp::spawn(target).await);
    let user = app.new_user().await;
    let (access, refresh) = app.standard_login(&user).await;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..30 {
        let (app, access, refresh) = (app.clone(), access.clone(), refresh.clone());
        tasks.spawn(async move { super::reissue(&app, &access, &refresh).await });
    }
    let mut ok = 0;
    while let Some(reply) = tasks.join_next().await {
        let reply = reply.unwrap();
        match reply.status.as_u16() {
            200 => ok += 1,
            _ => assert_envelope("racing reissue", Envelope::Standard, &reply, Some(401)),
        }
    }
    assert!(ok <= 1, "{ok} rotations of one refresh token succeeded");
}

async fn probes_and_headers(target: &Target) {
    let app = TestApp::spawn(target).await;
    let reply = app.get("/healthz").await;
    assert_reply(&reply, 200, &json!({"status": "ok"}));
    let reply = app.get("/readyz").await;
    assert_reply(&reply, 200, &json!({"status": "ready"}));

    let user = app.new_user().await;
    let replies = vec![
        ("healthz", app.get("/healthz").await),
        ("readyz", app.get("/readyz").await),
        (
            "standard login",
            app.post(
                "/api/auth/login",
                &json!({"username": user.login, "password": user.password}),
            )
            .await,
        ),
        (
            "standard login failure",
            app.post(
                "/api/auth/login",
                &json!({"username": user.login, "password": "x"}),
            )
            .await,
        ),
        (
            "session login",
            app.post(
                "/api/login",
                &json!({"userId": user.login, "password": user.password}),
            )
            .await,
        ),
        (
            "picsel login",
            app.post(
                "/api/auth/login",
                &json!({"email": user.email, "password": user.password}),
            )
            .await,
        ),
        (
            "sign-in",
            app.post(
                "/api/auth/sign-in",
                &json!({"authId": user.login, "password": user.password}),
            )
            .await,
        ),
        (
            "check",
            app.get(&format!("/api/auth/check/auth-id/{}", user.login)).await,
        ),
        (
            "malformed",
            app.post_raw("/api/login", "{", "application/json").await,
        ),
        (
            "oversize",
            app.post_raw("/api/login", "a".repeat(100 * 1024), "application/json")
                .await,
        ),
    ];
    for (label, reply) in replies {
        let value = reply
            .headers
            .get("cache-control")
            .map(|v| v.to_str().unwrap_or("").to_owned());
        assert_eq!(value.as_deref(), Some("no-store"), "{label}: cache-control");
        let ct = reply
            .headers
            .get("content-type")
            .map(|v| v.to_str().unwrap_or("").to_owned());
        assert!(
            ct.as_deref().is_some_and(|c| c.starts_with("application/json")),
            "{label}: content-type {ct:?}"
        );
    }
}

crate::scenarios!(
    metrics_are_exposed,
    metrics_can_be_switched_off,
    the_api_description_is_served_offline,
    broken_bodies,
    broken_bodies_newer_endpoints,
    oversize_in_each_envelope,
    parallel_sign_ups_same_email,
    parallel_sign_ups_same_auth_id,
    parallel_reissue_of_one_token,
    probes_and_headers,
);

/// `GET /openapi.json` describes every route the server mounts, and `GET
/// /docs/` browses it from assets in the binary (no other origin in the page).
async fn the_api_description_is_served_offline(target: &Target) {
    let app = TestApp::spawn(target).await;
    let doc = app.openapi().await;
    assert_eq!(doc["openapi"], "3.1.0");
    for path in [
        "/api/auth/login",
        "/api/login",
        "/api/auth/sign-up",
        "/auth/login",
        "/api/auth/me",
        "/internal/apps",
        "/healthz",
        "/readyz",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} is not documented");
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["adminToken"]["scheme"],
        "bearer"
    );
    let redirect = app.get("/docs").await;
    assert_eq!(redirect.status.as_u16(), 302);
    assert_eq!(redirect.headers["location"], "/docs/");
    let page = app.get("/docs/").await;
    assert_eq!(page.status.as_u16(), 200, "{}", page.text);
    assert!(
        page.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(page.text.contains("swagger-ui"), "{}", page.text);
    assert!(
        !page.text.contains("https://"),
        "the page loads nothing from another origin"
    );
    let config = app.get("/docs/swagger-initializer.js").await;
    assert_eq!(config.status.as_u16(), 200);
    assert!(config.text.contains("/openapi.json"), "{}", config.text);
    for asset in ["swagger-ui.css", "swagger-ui-bundle.js"] {
        let reply = app.get(&format!("/docs/{asset}")).await;
        assert_eq!(reply.status.as_u16(), 200, "{asset}");
    }
    assert_eq!(app.get("/docs/no-such-asset.js").await.status.as_u16(), 404);
}

/// `GET /metrics` exposes request, login and pool metrics in Prometheus
/// text; `AUTH_METRICS_ENABLED=false` answers 404.
async fn metrics_are_exposed(target: &Target) {
    let app = TestApp::spawn(target).await;
    let user = app.new_user().await;
    app.standard_login(&user).await;
    let wrong = app
        .post(
            "/api/auth/login",
            &json!({"username": user.login, "password": "Wrong-password-1"}),
        )
        .await;
    assert_eq!(wrong.status.as_u16(), 401);
    let metrics = app.get("/metrics").await;
    assert_eq!(metrics.status.as_u16(), 200, "{}", metrics.text);
    assert!(
        metrics.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    for needle in [
        r#"auth_logins_total{contract="standard",outcome="success"}"#,
        r#"auth_logins_total{contract="standard",outcome="wrong_credentials"}"#,
        r#"http_requests_total{method="POST",route="/api/auth/login",status="401"}"#,
        "http_request_duration_seconds_bucket",
        "auth_db_pool_connections",
        r#"auth_ws_sockets{kind="session"}"#,
    ] {
        assert!(
            metrics.text.contains(needle),
            "{needle} missing from:\n{}",
            metrics.text
        );
    }
    // Raw paths never become labels (no user data in metric names).
    assert!(
        !metrics.text.contains(&user.login),
        "a login id leaked into the metrics"
    );
}

/// `AUTH_METRICS_ENABLED=false` takes `/metrics` away.
async fn metrics_can_be_switched_off(target: &Target) {
    let off = TestApp::spawn_with(target, |c| {
        c.set("AUTH_METRICS_ENABLED", false);
    })
    .await;
    assert_eq!(off.get("/metrics").await.status.as_u16(), 404);
}
