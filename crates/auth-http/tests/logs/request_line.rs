//! Issue 33.9: one `request completed` event per request, the same on
//! every contract and outcome: top-level fields (no `span` object, no
//! span-close `time.busy=…` lines), the route pattern, the user agent, the
//! user when an access token was verified; a failure's error by its
//! message, not a `Debug` dump.

use std::collections::{BTreeSet, HashSet};
use std::time::Duration;

use auth_infra::testdb::{TestBackend, TestDatabase};
use serde_json::{Value, json};

use super::{ADMIN_TOKEN, PASSWORD, next_code, start_with, strip_ansi};

/// The fields every request line has (`user_id` only when known).
const FIELDS: [&str; 9] = [
    "message",
    "method",
    "route",
    "path",
    "status",
    "latency_ms",
    "client_ip",
    "request_id",
    "user_agent",
];

/// A user agent with a tab (a control character) and over 256 characters.
fn long_agent() -> String {
    format!("log-test/1.0\t{}", "x".repeat(300))
}

struct Sent {
    status: u16,
    request_id: String,
    body: Value,
}

async fn send(request: reqwest::RequestBuilder) -> Sent {
    let reply = request.header("user-agent", long_agent()).send().await.unwrap();
    let status = reply.status().as_u16();
    let request_id = reply.headers()["x-request-id"].to_str().unwrap().to_owned();
    let body = reply.json().await.unwrap_or(Value::Null);
    Sent {
        status,
        request_id,
        body,
    }
}

/// The JSON lines of the log whose `request_id` (own or of their span) is `id`.
fn lines_of<'a>(log: &'a [Value], id: &str) -> Vec<&'a Value> {
    log.iter()
        .filter(|l| l["fields"]["request_id"] == json!(id) || l["span"]["request_id"] == json!(id))
        .collect()
}

/// The one `request completed` line of `sent`, checked for its shape.
fn request_line<'a>(log: &'a [Value], sent: &Sent, route: &str, path: &str) -> &'a Value {
    let lines = lines_of(log, &sent.request_id);
    let completed: Vec<&&Value> = lines
        .iter()
        .filter(|l| l["fields"]["message"] == "request completed")
        .collect();
    assert_eq!(completed.len(), 1, "one request line for {path}: {lines:#?}");
    let line = completed[0];
    assert!(
        line.get("span").is_none() && line.get("spans").is_none(),
        "{line}"
    );
    let fields = line["fields"].as_object().unwrap();
    let keys: BTreeSet<&str> = fields
        .keys()
        .map(String::as_str)
        .filter(|k| *k != "user_id")
        .collect();
    assert_eq!(keys, FIELDS.into_iter().collect(), "{line}");
    assert_eq!(fields["route"], json!(route), "{line}");
    assert_eq!(fields["path"], json!(path), "{line}");
    assert_eq!(fields["status"], json!(sent.status), "{line}");
    assert!(
        fields["latency_ms"].as_f64().is_some_and(|ms| ms >= 0.0),
        "{line}"
    );
    assert_eq!(fields["client_ip"], "127.0.0.1", "{line}");
    let agent = fields["user_agent"].as_str().unwrap();
    assert_eq!(agent.chars().count(), 256, "{line}");
    assert!(
        agent.starts_with("log-test/1.0x") && !agent.contains('\t'),
        "{line}"
    );
    line
}

/// A signed-up user's id and standard-contract access token.
async fn signed_up(base: &str, outbox: &std::path::Path) -> (i64, String) {
    let client = reqwest::Client::new();
    let post = |path: &str, body: Value| client.post(format!("{base}{path}")).json(&body).send();
    let login = format!("line{}", std::process::id());
    let email = format!("{login}@example.com");
    let sent = post(
        "/api/auth/send/auth-key",
        json!({"email": email, "type": "SIGN_UP"}),
    )
    .await
    .unwrap();
    assert_eq!(sent.status().as_u16(), 200);
    let code = next_code(outbox, &mut HashSet::new()).await;
    let check = json!({"authId": login, "email": email, "authCode": code, "type": "SIGN_UP"});
    let checked = client
        .get(format!("{base}/api/auth/check/auth-code"))
        .json(&check)
        .send()
        .await
        .unwrap();
    assert_eq!(checked.status().as_u16(), 200);
    let body = json!({"authId": login, "password": PASSWORD, "name": "줄", "email": email});
    let reply: Value = post("/api/auth/sign-up", body)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = reply["data"]["id"].as_i64().unwrap_or_else(|| panic!("{reply}"));
    let tokens: Value = post(
        "/api/auth/login",
        json!({"username": login, "password": PASSWORD}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    (id, tokens["accessToken"].as_str().unwrap().to_owned())
}

async fn one_request_line_per_request(backend: TestBackend) {
    let db = TestDatabase::new(backend);
    let mut server = start_with(
        &db,
        "info,auth_http::telemetry=debug",
        &[("AUTH_LOG_FORMAT", "json")],
    )
    .await;
    let (user, access) = signed_up(&server.base, &server.outbox()).await;
    let client = reqwest::Client::new();
    let url = |path: &str| format!("{}{path}", server.base);
    let admin = send(
        client
            .get(url(&format!("/internal/users/{user}")))
            .bearer_auth(ADMIN_TOKEN),
    )
    .await;
    assert_eq!(admin.status, 200, "{}", admin.body);
    let anonymous = send(client.get(url("/api/auth/me"))).await;
    assert_eq!(anonymous.status, 401);
    let me = send(client.get(url("/api/auth/me")).bearer_auth(&access)).await;
    assert_eq!(me.status, 200, "{}", me.body);
    let unreadable = send(
        client
            .post(url("/api/auth/login"))
            .header("content-type", "application/json")
            .body("{"),
    )
    .await;
    assert_eq!(unreadable.status, 400);
    let logout = send(client.post(url("/api/auth/logout"))).await;
    assert_eq!(logout.status, 401);
    let mfa_anonymous = send(client.get(url("/api/mfa"))).await;
    assert_eq!(mfa_anonymous.status, 401);
    let mfa = send(client.get(url("/api/mfa")).bearer_auth(&access)).await;
    assert_eq!(mfa.status, 200, "{}", mfa.body);
    let queried = send(client.get(url("/api/auth/check/auth-id/someone?secret=hidden"))).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.stop();
    let raw = strip_ansi(&std::fs::read_to_string(server.log_path()).unwrap());
    assert!(!raw.contains("time.busy"), "span-close lines:\n{raw}");
    let log: Vec<Value> = raw
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(!log.iter().any(|l| l["fields"]["message"] == "close"), "{raw}");

    let line = request_line(
        &log,
        &admin,
        "/internal/users/{id}",
        &format!("/internal/users/{user}"),
    );
    assert_eq!(line["level"], "INFO", "{line}");
    assert_eq!(line["fields"]["method"], "GET", "{line}");
    assert!(line["fields"].get("user_id").is_none(), "{line}");
    let line = request_line(&log, &anonymous, "/api/auth/me", "/api/auth/me");
    assert_eq!(line["level"], "INFO", "a quiet path's failure is at info: {line}");
    let line = request_line(&log, &me, "/api/auth/me", "/api/auth/me");
    assert_eq!(line["level"], "DEBUG", "{line}");
    assert_eq!(line["fields"]["user_id"], me.body["userId"], "{line}");
    assert!(me.body["userId"].is_string(), "{}", me.body);
    let line = request_line(&log, &unreadable, "/api/auth/login", "/api/auth/login");
    assert_eq!(line["fields"]["method"], "POST", "{line}");
    request_line(&log, &logout, "/api/auth/logout", "/api/auth/logout");
    request_line(
        &log,
        &queried,
        "/api/auth/check/auth-id/{authId}",
        "/api/auth/check/auth-id/someone",
    );
    assert!(!raw.contains("hidden"), "the query string is never logged");

    let line = request_line(&log, &mfa, "/api/mfa", "/api/mfa");
    assert_eq!(line["level"], "INFO", "{line}");
    assert_eq!(line["fields"]["user_id"], me.body["userId"], "{line}");
    request_line(&log, &mfa_anonymous, "/api/mfa", "/api/mfa");

    // A failure's error: by its message, under the request's span.
    assert!(!raw.contains("Error encountered"), "{raw}");
    let refused: Vec<&Value> = lines_of(&log, &mfa_anonymous.request_id)
        .into_iter()
        .filter(|l| l["fields"]["message"] == "request refused")
        .collect();
    assert_eq!(refused.len(), 1, "{raw}");
    assert_eq!(refused[0]["fields"]["status"], 401, "{}", refused[0]);
    assert!(refused[0]["fields"]["error"].is_string(), "{}", refused[0]);

    // The text format: the same line, `key=value`.
    let server = start_with(&db, "info", &[]).await;
    let sent = send(
        client
            .get(format!("{}/internal/users/{user}", server.base))
            .bearer_auth(ADMIN_TOKEN),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let raw = strip_ansi(&std::fs::read_to_string(server.log_path()).unwrap());
    let line = raw
        .lines()
        .find(|l| l.contains(&sent.request_id))
        .unwrap_or_else(|| panic!("{raw}"));
    for field in [
        " INFO request completed method=GET route=/internal/users/{id} ".to_owned(),
        format!(" path=/internal/users/{user} status=200 latency_ms="),
        format!(
            " client_ip=127.0.0.1 request_id={} user_agent=log-test/1.0x",
            sent.request_id
        ),
    ] {
        assert!(line.contains(&field), "{field} in {line}");
    }
    assert!(!raw.contains("time.busy") && !raw.contains(" close "), "{raw}");
}

auth_infra::on_both_backends!(one_request_line_per_request);
