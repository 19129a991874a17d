//! Log scan (issue 6): runs the real `auth-server` binary with
//! `RUST_LOG=trace` and `AUTH_LOG_FORMAT=text` on each backend, drives a
//! full run through the public API (codes, sign-up, a login on every
//! contract, refreshes, a wrong password, a socket, the internal API, a
//! password reset, a withdrawal), then checks that the captured
//! stdout+stderr holds none of the secrets that went over the wire:
//! passwords, access/refresh tokens (and their signatures alone), emailed
//! codes, the JWT secret and the admin token.
// Helpers outside #[test] functions are not "in tests" for clippy.toml's
// allow-*-in-tests, so an integration-test file still allows them itself.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashSet;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use auth_infra::testdb::{TestBackend, TestDatabase};
use serde_json::{Value, json};

#[path = "logs/request_line.rs"]
mod request_line;

const JWT_SECRET: &str = "log-scan-jwt-secret-4f1c9a7e2b6d8053a1e4c7b9d2f6e8a0";
const ADMIN_TOKEN: &str = "log-scan-admin-token-9d3e7b1a5c2f0e4a8b6d";
const PASSWORD: &str = "LogScanPass1!";
const WRONG_PASSWORD: &str = "WrongGuess77?";
const NEW_PASSWORD: &str = "ResetPass2@x";

/// A running `auth-server` child process, killed on drop.
struct Server {
    child: Child,
    base: String,
    dir: PathBuf,
}

impl Server {
    fn log_path(&self) -> PathBuf {
        self.dir.join("server.log")
    }

    fn outbox(&self) -> PathBuf {
        self.dir.join("outbox")
    }

    fn stop(&mut self) {
        drop(self.child.kill());
        drop(self.child.wait());
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
        drop(std::fs::remove_dir_all(&self.dir));
    }
}

async fn start(db: &TestDatabase, level: &str) -> Server {
    start_with(db, level, &[]).await
}

async fn start_with(db: &TestDatabase, level: &str, extra: &[(&str, &str)]) -> Server {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
    let dir = std::env::temp_dir().join(format!("auth-log-scan-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(dir.join("outbox")).unwrap();
    let log = File::create(dir.join("server.log")).unwrap();
    // The binary only takes an address: find a free port, then release it
    // just before spawning. Another process could take it in between; that
    // is acceptable for this test (the start-up would then fail loudly).
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let child = Command::new(env!("CARGO_BIN_EXE_auth-server"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("RUST_LOG", level)
        .env("AUTH_LOG_FORMAT", "text")
        .env("AUTH_BIND", format!("127.0.0.1:{port}"))
        .env("AUTH_DATABASE_URL", db.url())
        .env("AUTH_DATABASE_POOL_SIZE", "4")
        .env("AUTH_WORKERS", "2")
        .env("AUTH_JWT_SECRET", JWT_SECRET)
        .env("AUTH_ADMIN_TOKEN", ADMIN_TOKEN)
        .env("AUTH_MAIL_DIR", dir.join("outbox"))
        .env("AUTH_RATE_LIMIT_ENABLED", "false")
        // The SIGN_UP and FORGET_PASSWORD codes go to one email in a row.
        .env("AUTH_CODE_RESEND_COOLDOWN_SECONDS", "0")
        .envs(extra.iter().copied())
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::from(log.try_clone().unwrap()))
        .stderr(Stdio::from(log))
        .spawn()
        .unwrap();
    let mut server = Server {
        child,
        base: format!("http://127.0.0.1:{port}"),
        dir,
    };
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            let log = std::fs::read_to_string(server.log_path()).unwrap_or_default();
            panic!("auth-server exited with {status} before it was ready:\n{log}");
        }
        let ready = client.get(format!("{}/readyz", server.base)).send().await;
        if ready.is_ok_and(|r| r.status().is_success()) {
            return server;
        }
        if Instant::now() > deadline {
            server.stop();
            let log = std::fs::read_to_string(server.log_path()).unwrap_or_default();
            panic!("auth-server not ready within 30 s:\n{log}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Every secret that crossed the wire, with what it is.
#[derive(Default)]
struct Secrets(Vec<(String, String)>);

impl Secrets {
    fn add(&mut self, what: &str, value: &str) {
        assert!(!value.is_empty(), "{what} is empty");
        self.0.push((what.to_owned(), value.to_owned()));
    }

    /// A token, and its signature alone when it is a JWT.
    fn token(&mut self, what: &str, value: &str) {
        self.add(what, value);
        let parts: Vec<&str> = value.split('.').collect();
        if parts.len() == 3 {
            self.add(&format!("{what} (signature)"), parts[2]);
        }
    }
}

struct Api {
    client: reqwest::Client,
    base: String,
}

impl Api {
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
        bearer: Option<&str>,
    ) -> (u16, Value) {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request.json(body);
        }
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        self.call(reqwest::Method::POST, path, Some(body), None).await
    }

    /// A 200 with a string at `pointer`.
    async fn ok_str(&self, path: &str, body: &Value, pointer: &str) -> String {
        let (status, reply) = self.post(path, body).await;
        assert_eq!(status, 200, "{path}: {reply}");
        reply
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("{path}: no {pointer} in {reply}"))
            .to_owned()
    }
}

/// The code of the next `.eml` file to appear in `outbox`.
async fn next_code(outbox: &Path, seen: &mut HashSet<PathBuf>) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let fresh: Vec<PathBuf> = std::fs::read_dir(outbox)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "eml") && !seen.contains(p))
            .collect();
        if let Some(path) = fresh.into_iter().next() {
            seen.insert(path.clone());
            let raw = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
            // The readable 8bit text part: the first 6-hex word in it.
            let start = raw
                .find("text/plain")
                .unwrap_or_else(|| panic!("no text part: {raw}"));
            return raw[start..]
                .split(|c: char| !c.is_ascii_alphanumeric())
                .find(|w| {
                    w.len() == 6
                        && w.bytes()
                            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
                })
                .unwrap_or_else(|| panic!("no code in {raw}"))
                .to_owned();
        }
        assert!(Instant::now() < deadline, "no new mail in {}", outbox.display());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The log without ANSI colour sequences (`ESC [ … letter`), so that
/// `path=/…` and secrets are matched whatever the terminal detection did.
fn strip_ansi(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

async fn no_secrets_in_the_log(backend: TestBackend) {
    let db = TestDatabase::new(backend);
    let mut server = start(&db, "trace").await;
    let api = Api {
        client: reqwest::Client::new(),
        base: server.base.clone(),
    };
    let outbox = server.outbox();
    let mut seen = HashSet::new();
    let mut secrets = Secrets::default();
    for (what, value) in [
        ("password", PASSWORD),
        ("wrong password", WRONG_PASSWORD),
        ("new password", NEW_PASSWORD),
        ("JWT secret", JWT_SECRET),
        ("admin token", ADMIN_TOKEN),
    ] {
        secrets.add(what, value);
    }
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
    let login = format!("log{}", nanos % 1_000_000_000);
    let email = format!("{login}@example.com");

    // A SIGN_UP code, checked through the JSON body and through the query,
    // each naming the authId the sign-up uses (the check binds it).
    let (status, reply) = api
        .post(
            "/api/auth/send/auth-key",
            &json!({"email": email, "type": "SIGN_UP"}),
        )
        .await;
    assert_eq!(status, 200, "send SIGN_UP: {reply}");
    let code = next_code(&outbox, &mut seen).await;
    secrets.add("SIGN_UP code", &code);
    let check = json!({"authId": login, "email": email, "authCode": code, "type": "SIGN_UP"});
    let (status, reply) = api
        .call(
            reqwest::Method::GET,
            "/api/auth/check/auth-code",
            Some(&check),
            None,
        )
        .await;
    assert_eq!(
        (status, &reply["data"]["usable"]),
        (200, &json!(true)),
        "check (body): {reply}"
    );
    let query =
        format!("/api/auth/check/auth-code?authId={login}&email={email}&authCode={code}&type=SIGN_UP");
    let (status, reply) = api.call(reqwest::Method::GET, &query, None, None).await;
    assert_eq!(status, 200, "check (query): {reply}");

    // Sign-up, then a login on every contract, each with its refresh.
    let (status, reply) = api
        .post(
            "/api/auth/sign-up",
            &json!({"authId": login, "password": PASSWORD, "name": "로그", "email": email}),
        )
        .await;
    assert_eq!(status, 200, "sign-up: {reply}");
    let user_id = reply["data"]["id"].as_i64().unwrap();

    let (status, standard) = api
        .post(
            "/api/auth/login",
            &json!({"username": login, "password": PASSWORD}),
        )
        .await;
    assert_eq!(status, 200, "standard login: {standard}");
    let access = standard["accessToken"].as_str().unwrap().to_owned();
    let refresh = standard["refreshToken"].as_str().unwrap().to_owned();
    secrets.token("standard access", &access);
    secrets.token("standard refresh", &refresh);
    let (status, reissued) = api
        .post(
            "/api/auth/reissue-token",
            &json!({"accessToken": access, "refreshToken": refresh}),
        )
        .await;
    assert_eq!(status, 200, "reissue: {reissued}");
    secrets.token("reissued access", reissued["accessToken"].as_str().unwrap());
    secrets.token("reissued refresh", reissued["refreshToken"].as_str().unwrap());
    // The spent refresh token again: refused (and logged as reuse).
    let (status, reply) = api
        .post(
            "/api/auth/reissue-token",
            &json!({"accessToken": access, "refreshToken": refresh}),
        )
        .await;
    assert_eq!(status, 401, "reused refresh token: {reply}");

    let (status, session) = api
        .post("/api/login", &json!({"userId": login, "password": PASSWORD}))
        .await;
    assert_eq!(status, 200, "session login: {session}");
    let session_access = session["accessToken"].as_str().unwrap().to_owned();
    secrets.token("session access", &session_access);
    secrets.token("session refresh", session["refreshToken"].as_str().unwrap());
    let refreshed = api
        .ok_str(
            "/api/token/refresh",
            &json!({"refreshToken": session["refreshToken"]}),
            "/accessToken",
        )
        .await;
    secrets.token("session refreshed access", &refreshed);

    let (status, picsel) = api
        .post("/api/auth/login", &json!({"email": email, "password": PASSWORD}))
        .await;
    assert_eq!(status, 200, "picsel login: {picsel}");
    secrets.token("picsel access", picsel["data"]["accessToken"].as_str().unwrap());
    let picsel_refresh = picsel["data"]["refreshToken"].as_str().unwrap().to_owned();
    secrets.token("picsel refresh", &picsel_refresh);
    let refreshed = api
        .ok_str(
            "/api/auth/refresh",
            &json!({"refresh_token": picsel_refresh}),
            "/data/accessToken",
        )
        .await;
    secrets.token("picsel refreshed access", &refreshed);

    let account = api
        .ok_str(
            "/api/auth/sign-in",
            &json!({"authId": login, "password": PASSWORD}),
            "/data/token",
        )
        .await;
    secrets.token("account token", &account);

    // A wrong password.
    let (status, reply) = api
        .post(
            "/api/auth/login",
            &json!({"username": login, "password": WRONG_PASSWORD}),
        )
        .await;
    assert_eq!(status, 401, "wrong password: {reply}");

    // A socket with the token in the query string, and an internal push.
    let ws = format!(
        "{}/ws?token={session_access}",
        server.base.replacen("http", "ws", 1)
    );
    let (mut socket, response) = tokio_tungstenite::connect_async(ws.as_str()).await.unwrap();
    assert_eq!(response.status().as_u16(), 101);
    let (status, reply) = api
        .call(
            reqwest::Method::POST,
            "/internal/notifications",
            Some(&json!({"userId": login, "message": "log scan"})),
            Some(ADMIN_TOKEN),
        )
        .await;
    assert_eq!(status, 200, "notification: {reply}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    drop(socket.close(None).await);

    // A FORGET_PASSWORD code and the reset.
    let (status, reply) = api
        .post(
            "/api/auth/send/auth-key",
            &json!({"authId": login, "email": email, "type": "FORGET_PASSWORD"}),
        )
        .await;
    assert_eq!(status, 200, "send FORGET_PASSWORD: {reply}");
    let code = next_code(&outbox, &mut seen).await;
    secrets.add("FORGET_PASSWORD code", &code);
    let (status, reply) = api
        .post(
            "/api/auth/reset/password",
            &json!({"userId": user_id, "authCode": code, "newPassword": NEW_PASSWORD}),
        )
        .await;
    assert_eq!(status, 200, "reset: {reply}");

    // Withdrawal with the new password.
    let (status, reply) = api
        .post(
            "/api/auth/withdrawal",
            &json!({"authId": login, "password": NEW_PASSWORD}),
        )
        .await;
    assert_eq!(status, 200, "withdrawal: {reply}");

    // Let the last lines reach the file (the log thread writes each batch
    // as it arrives), stop.
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.stop();
    let raw = String::from_utf8_lossy(&std::fs::read(server.log_path()).unwrap()).into_owned();
    let log = strip_ansi(&raw);
    assert!(!log.trim().is_empty(), "the server logged nothing");
    // The filter really is `trace` (the dependencies' chatter included).
    assert!(
        log.contains(" TRACE ") && log.contains(" DEBUG "),
        "no TRACE/DEBUG lines: RUST_LOG=trace was not applied"
    );
    for path in [
        "path=/api/auth/login",
        "path=/api/auth/check/auth-code",
        "path=/api/auth/reset/password",
        "path=/ws",
    ] {
        assert!(
            log.contains(path),
            "no request line with {path} in the log:\n{log}"
        );
    }
    let leaks: Vec<String> = secrets
        .0
        .iter()
        .filter(|(_, value)| log.contains(value.as_str()))
        .map(|(what, value)| {
            let line = log
                .lines()
                .find(|l| l.contains(value.as_str()))
                .unwrap_or_default();
            format!("{what} ({value}) in: {line}")
        })
        .collect();
    assert!(
        leaks.is_empty(),
        "{} secrets in the log ({} lines, {} secrets checked):\n{}",
        leaks.len(),
        log.lines().count(),
        secrets.0.len(),
        leaks.join("\n")
    );
    eprintln!(
        "{backend:?}: {} log lines, {} secrets checked, none found",
        log.lines().count(),
        secrets.0.len()
    );
}

/// At the default `info`, every request is logged except the successful
/// ones on the quiet paths (probes and `GET /api/auth/me`); their failures
/// are logged too.
async fn quiet_paths(backend: TestBackend) {
    let db = TestDatabase::new(backend);
    let mut server = start(&db, "info").await;
    let client = reqwest::Client::new();
    let get = |path: &str| client.get(format!("{}{path}", server.base)).send();
    assert_eq!(get("/healthz").await.unwrap().status(), 200);
    assert_eq!(get("/api/auth/me").await.unwrap().status(), 401);
    let login = client
        .post(format!("{}/api/auth/login", server.base))
        .json(&json!({"username": "nobody", "password": WRONG_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 401);
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.stop();
    let log = strip_ansi(&String::from_utf8_lossy(
        &std::fs::read(server.log_path()).unwrap(),
    ));
    let lines = |needle: &str| log.lines().filter(|l| l.contains(needle)).count();
    assert_eq!(
        lines("path=/readyz"),
        0,
        "successful probes logged at info:\n{log}"
    );
    assert_eq!(
        lines("path=/healthz"),
        0,
        "successful probes logged at info:\n{log}"
    );
    assert_eq!(
        lines("path=/api/auth/me"),
        1,
        "a failed /me must be logged once:\n{log}"
    );
    assert!(
        log.lines()
            .any(|l| l.contains("path=/api/auth/me") && l.contains("status=401")),
        "{log}"
    );
    assert!(
        log.lines()
            .any(|l| l.contains("path=/api/auth/login") && l.contains("status=401")),
        "{log}"
    );
    assert!(!log.contains(" DEBUG "), "RUST_LOG=info was not applied:\n{log}");
}

/// Issue #11, defect 2: the real binary refuses to start when a secret is
/// set but blank (a templated variable that was never filled in) or too
/// short, and says which setting; the value itself is never printed.
fn refuses_weak_secrets(backend: TestBackend) {
    let db = TestDatabase::new(backend);
    let short = "short-secret-0123456789";
    for (env, value) in [
        ("AUTH_ADMIN_TOKEN", ""),
        ("AUTH_ADMIN_TOKEN", "   "),
        ("AUTH_ADMIN_TOKEN", short),
        ("AUTH_JWT_SECRET", ""),
        ("AUTH_JWT_SECRET", " \t"),
        ("AUTH_JWT_SECRET", "x"),
        ("AUTH_JWT_SECRET", short),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_auth-server"))
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("AUTH_BIND", "127.0.0.1:0")
            .env("AUTH_DATABASE_URL", db.url())
            .env("AUTH_JWT_SECRET", JWT_SECRET)
            .env("AUTH_ADMIN_TOKEN", ADMIN_TOKEN)
            .env(env, value)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{env}={value:?} must not start: {stderr}"
        );
        assert!(stderr.contains(env), "{env}={value:?}: {stderr}");
        assert!(!stderr.contains(short), "the value is not printed: {stderr}");
    }
}

/// `auth-server purge` runs the purge once on the configured database and
/// prints what it deleted as one JSON object on stdout.
fn purge_command(backend: TestBackend) {
    let db = TestDatabase::new(backend);
    let out = Command::new(env!("CARGO_BIN_EXE_auth-server"))
        .arg("purge")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("AUTH_DATABASE_URL", db.url())
        .env("AUTH_AUDIT_RETENTION_DAYS", "30")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    for key in [
        "refreshRecords",
        "sessions",
        "codes",
        "oauthStates",
        "authorizationCodes",
        "secondFactorSteps",
        "throttleCounters",
        "auditEvents",
    ] {
        assert_eq!(report[key], 0, "{key} in {report}");
    }
}

/// The binary with a clean environment plus `vars`, run with `args`.
fn run_binary(args: &[&str], vars: &[(&str, &str)]) -> std::process::Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_auth-server"));
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .current_dir(std::env::temp_dir())
        .stdin(Stdio::null());
    for (k, v) in vars {
        command.env(k, v);
    }
    command.output().unwrap()
}

/// Strict configuration on the real binary: a misspelt key in the TOML
/// file or a missing `AUTH_CONFIG` refuses to start, naming the key and the
/// nearest valid one; `config check` prints the effective settings with
/// secrets redacted and fails on an unknown `AUTH_*` variable.
fn strict_configuration(backend: TestBackend) {
    let db = TestDatabase::new(backend);
    let dir = std::env::temp_dir().join(format!("auth-config-{}", uuid_like()));
    std::fs::create_dir_all(&dir).unwrap();
    let toml = dir.join("auth.toml");
    std::fs::write(
        &toml,
        "acess_ttl_seconds = 60\n[contracts.standrad]\nenabled = false\n",
    )
    .unwrap();
    let out = run_binary(
        &[],
        &[
            ("AUTH_CONFIG", toml.to_str().unwrap()),
            ("AUTH_DATABASE_URL", db.url()),
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("`acess_ttl_seconds` (did you mean `access_ttl_seconds`?)"),
        "{stderr}"
    );
    assert!(stderr.contains("contracts.standrad"), "{stderr}");

    let out = run_binary(
        &[],
        &[
            ("AUTH_CONFIG", "/nonexistent/auth.toml"),
            ("AUTH_DATABASE_URL", db.url()),
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/auth.toml"));

    std::fs::write(&toml, "access_ttl_seconds = 60\n").unwrap();
    let vars = [
        ("AUTH_CONFIG", toml.to_str().unwrap()),
        ("AUTH_DATABASE_URL", db.url()),
        ("AUTH_ADMIN_TOKEN", ADMIN_TOKEN),
    ];
    let out = run_binary(&["config", "check"], &vars);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let effective: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(effective["access_ttl_seconds"], 60);
    assert_eq!(effective["admin_token"], "<redacted>");
    assert!(!stdout.contains(ADMIN_TOKEN));
    let mut with_typo = vars.to_vec();
    with_typo.push(("AUTH_REFRESH_TTL_SECOND", "60"));
    let out = run_binary(&["config", "check"], &with_typo);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("AUTH_REFRESH_TTL_SECOND") && stderr.contains("refresh_ttl_seconds"),
        "{stderr}"
    );
    drop(std::fs::remove_dir_all(&dir));
}

fn uuid_like() -> String {
    format!(
        "{}-{}",
        std::process::id(),
        SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos()
    )
}

/// `auth-server healthcheck` (and `healthcheck --live`, the container's
/// liveness probe) exits 0 against a ready server and 1 when nothing
/// answers. That `--live` asks `/healthz`, not `/readyz`, is checked by
/// `deploy/check/dockerfile.sh` (the image's HEALTHCHECK against a stand-in
/// whose `/readyz` answers 503, as during a database outage).
async fn healthcheck(backend: TestBackend) {
    let db = TestDatabase::new(backend);
    let server = start(&db, "info").await;
    let bind = server.base.trim_start_matches("http://").to_owned();
    for args in [&["healthcheck"][..], &["healthcheck", "--live"][..]] {
        let out = run_binary(args, &[("AUTH_BIND", &bind), ("AUTH_DATABASE_URL", db.url())]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    drop(server);
    for args in [&["healthcheck"][..], &["healthcheck", "--live"][..]] {
        let out = run_binary(args, &[("AUTH_BIND", &bind), ("AUTH_DATABASE_URL", db.url())]);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
    }
}

/// CORS on the real binary: with `AUTH_CORS_ALLOWED_ORIGINS` the public
/// routes answer a browser's preflight from that origin (and only that
/// one); `/internal` never does; without the setting nothing carries CORS
/// headers.
async fn cors(backend: TestBackend) {
    let db = TestDatabase::new(backend);
    let origin = "https://app.example.com";
    let server = start_with(&db, "info", &[("AUTH_CORS_ALLOWED_ORIGINS", origin)]).await;
    let client = reqwest::Client::new();
    let preflight = |path: &str, from: &str| {
        client
            .request(reqwest::Method::OPTIONS, format!("{}{path}", server.base))
            .header("origin", from)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type,authorization")
            .send()
    };
    let allow = |r: &reqwest::Response| {
        r.headers()
            .get("access-control-allow-origin")
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let ok = preflight("/api/auth/login", origin).await.unwrap();
    assert!(ok.status().is_success(), "{}", ok.status());
    assert_eq!(allow(&ok).as_deref(), Some(origin));
    let other = preflight("/api/auth/login", "https://evil.example")
        .await
        .unwrap();
    assert_eq!(allow(&other), None);
    let internal = preflight("/internal/apps", origin).await.unwrap();
    assert_eq!(allow(&internal), None, "no CORS for the admin API");
    // Issue 26.9: nor when the path is percent-encoded (the router decodes
    // `%69` to `i` and serves the admin API there).
    for spelt in ["/%69nternal/apps", "/%69%6E%74ernal/users"] {
        let encoded = preflight(spelt, origin).await.unwrap();
        assert_eq!(allow(&encoded), None, "no CORS for {spelt}");
        let admin = client
            .get(format!("{}{spelt}", server.base))
            .header("origin", origin)
            .header("authorization", format!("Bearer {ADMIN_TOKEN}"))
            .send()
            .await
            .unwrap();
        assert_eq!(admin.status().as_u16(), 200, "{spelt} reaches the admin API");
        assert_eq!(allow(&admin), None, "no CORS on the answer of {spelt}");
    }
    let login = client
        .post(format!("{}/api/auth/login", server.base))
        .header("origin", origin)
        .json(&json!({"username": "nobody", "password": "whatever1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status().as_u16(), 401);
    assert_eq!(allow(&login).as_deref(), Some(origin));
    drop(server);

    let plain = start(&db, "info").await;
    let reply = client
        .request(reqwest::Method::OPTIONS, format!("{}/api/auth/login", plain.base))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(allow(&reply), None, "no CORS unless configured");
}

/// Every response carries `X-Request-Id`; an incoming one is kept only from
/// a trusted proxy; the request line has the id, the client IP and a
/// numeric latency.
async fn request_ids(backend: TestBackend) {
    let db = TestDatabase::new(backend);
    let client = reqwest::Client::new();
    let id_of = |r: &reqwest::Response| r.headers()["x-request-id"].to_str().unwrap().to_owned();
    let server = start(&db, "info").await;
    let reply = client
        .get(format!("{}/api/auth/check/auth-id/someone", server.base))
        .header("x-request-id", "from-an-untrusted-client")
        .send()
        .await
        .unwrap();
    let generated = id_of(&reply);
    assert_ne!(generated, "from-an-untrusted-client");
    assert_eq!(generated.len(), 36, "a UUID: {generated}");
    drop(reply);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let log = strip_ansi(&std::fs::read_to_string(server.log_path()).unwrap());
    let line = log
        .lines()
        .find(|l| l.contains(&generated))
        .unwrap_or_else(|| panic!("no request line with {generated}:\n{log}"));
    assert!(line.contains("client_ip=127.0.0.1"), "{line}");
    assert!(line.contains("latency_ms="), "{line}");
    drop(server);
    let proxied = start_with(&db, "info", &[("AUTH_TRUSTED_PROXIES", "127.0.0.1")]).await;
    let reply = client
        .get(format!("{}/healthz", proxied.base))
        .header("x-request-id", "edge-4f1c9a")
        .send()
        .await
        .unwrap();
    assert_eq!(id_of(&reply), "edge-4f1c9a");
    let reply = client
        .get(format!("{}/healthz", proxied.base))
        .header("x-request-id", "bad id with spaces")
        .send()
        .await
        .unwrap();
    assert_ne!(id_of(&reply), "bad id with spaces");
}

/// A free loopback port (released before use; see [`start_with`]).
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// `AUTH_METRICS_BIND` on the real binary: `/metrics` is served on that
/// listener (with what the main one saw: a wrong password counted for its
/// contract) and the main listener answers 404 there; a blank value keeps
/// it on the main listener.
async fn metrics_on_their_own_listener(backend: TestBackend) {
    let db = TestDatabase::new(backend);
    let metrics_port = free_port();
    let metrics_bind = format!("127.0.0.1:{metrics_port}");
    let server = start_with(&db, "info", &[("AUTH_METRICS_BIND", &metrics_bind)]).await;
    let client = reqwest::Client::new();
    let main = client
        .get(format!("{}/metrics", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(main.status().as_u16(), 404, "not on the main listener");
    let wrong = client
        .post(format!("{}/api/auth/login", server.base))
        .json(&json!({"username": "nobody", "password": WRONG_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status().as_u16(), 401);
    let metrics = client
        .get(format!("http://{metrics_bind}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(metrics.status().as_u16(), 200);
    let text = metrics.text().await.unwrap();
    assert!(
        text.contains(r#"auth_logins_total{contract="standard",outcome="wrong_credentials"} 1"#),
        "{text}"
    );
    // Issue 33.9: every family is described (promtool wants a HELP), and
    // the process and build series are there.
    let helped: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# HELP ")?.split(' ').next())
        .collect();
    for family in text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE ")?.split(' ').next())
    {
        assert!(helped.contains(&family), "{family} has no # HELP:\n{text}");
    }
    for series in [
        "process_resident_memory_bytes ",
        "process_cpu_seconds_total ",
        "process_open_fds ",
        "process_start_time_seconds ",
        &format!("auth_build_info{{version=\"{}\"}} 1", env!("CARGO_PKG_VERSION")),
    ] {
        assert!(text.contains(series), "{series} missing:\n{text}");
    }
    let other = client
        .get(format!("http://{metrics_bind}/api/auth/login"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        other.status().as_u16(),
        404,
        "the metrics listener serves nothing else"
    );
    drop(server);

    let blank = start_with(&db, "info", &[("AUTH_METRICS_BIND", "")]).await;
    let main = client
        .get(format!("{}/metrics", blank.base))
        .send()
        .await
        .unwrap();
    assert_eq!(main.status().as_u16(), 200, "blank: on the main listener");
}

/// Issue 26.1: a client's made-up HTTP methods add no metric series. Every
/// label value comes from a closed set: 300 requests with 300 methods of
/// their own are counted under `method="other"`, `/metrics` names none of
/// them, and its size does not grow with them.
async fn made_up_methods_add_no_metric_series(backend: TestBackend) {
    let db = TestDatabase::new(backend);
    let server = start(&db, "info").await;
    let client = reqwest::Client::new();
    let scrape = || async {
        client
            .get(format!("{}/metrics", server.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    let send = |i: usize, path: &'static str| {
        let method = reqwest::Method::from_bytes(format!("M{i:08}Q").as_bytes()).unwrap();
        client.request(method, format!("{}{path}", server.base)).send()
    };
    for i in 0..10 {
        send(i, "/").await.unwrap();
    }
    let before = scrape().await.len();
    for i in 10..310 {
        let path = if i % 2 == 0 { "/" } else { "/api/auth/login" };
        let reply = send(i, path).await.unwrap();
        assert!(reply.status().is_client_error(), "{}", reply.status());
    }
    let text = scrape().await;
    assert!(!text.contains("M000"), "a client's method became a label");
    let other: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("http_requests_total{") && l.contains(r#"method="other""#))
        .collect();
    let counted: f64 = other
        .iter()
        .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
        .sum();
    assert_eq!(counted, 310.0, "{other:?}");
    assert!(other.len() <= 4, "one series per route and status: {other:?}");
    // Two routes' series may appear for the first time (a few KB); 300
    // new label values would have added far more.
    assert!(
        text.len() < before + 8 * 1024,
        "/metrics grew from {before} to {} bytes",
        text.len()
    );
}

/// Issue 33.6: what the server creates is its own, whatever the umask it is
/// started with: the SQLite database and the mail outbox's folder and
/// files (sign-up codes) are 0600 / 0700, not readable by every user.
async fn created_files_are_the_servers_own(backend: TestBackend) {
    use std::os::unix::fs::PermissionsExt as _;
    let db = TestDatabase::new(backend);
    let own = std::env::temp_dir().join(format!("auth-files-{}", uuid_like()));
    std::fs::create_dir_all(&own).unwrap();
    let outbox = own.join("outbox");
    let sqlite = own.join("fresh.db");
    let sqlite_url = format!("sqlite://{}", sqlite.display());
    let outbox_dir = outbox.display().to_string();
    let mut extra = vec![("AUTH_MAIL_DIR", outbox_dir.as_str())];
    if backend == TestBackend::Sqlite {
        extra.push(("AUTH_DATABASE_URL", sqlite_url.as_str()));
    }
    let server = start_with(&db, "info", &extra).await;
    let sent = reqwest::Client::new()
        .post(format!("{}/api/auth/send/auth-key", server.base))
        .json(&json!({"authId": "perms1", "email": "perms1@example.com", "type": "SIGN_UP"}))
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status().as_u16(), 200);
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&outbox), 0o700, "the outbox folder");
    let mails: Vec<PathBuf> = std::fs::read_dir(&outbox)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(mode(&mails[0]), 0o600, "a mail with a code");
    if backend == TestBackend::Sqlite {
        assert_eq!(mode(&sqlite), 0o600, "the SQLite database");
    }
    drop(server);
    drop(std::fs::remove_dir_all(&own));
}

/// Issue 33.3: without `AUTH_PUBLIC_URL` the issuer is the address the
/// server listens on, port included (it was `http://127.0.0.1:8080`
/// whatever `AUTH_BIND` said, so `auth-client` refused the discovery
/// document); `config check` says the same, a wildcard address read as
/// loopback; a set `AUTH_PUBLIC_URL` still wins.
async fn the_issuer_names_the_port_it_serves_on(backend: TestBackend) {
    let db = TestDatabase::new(backend);
    let server = start(&db, "info").await;
    let discovery: Value = reqwest::get(format!("{}/.well-known/openid-configuration", server.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(discovery["issuer"], json!(server.base), "{discovery}");
    assert_eq!(
        discovery["jwks_uri"],
        json!(format!("{}/.well-known/jwks.json", server.base)),
        "{discovery}"
    );
    drop(server);
    let effective = |vars: &[(&str, &str)]| -> Value {
        let mut all = vec![("AUTH_DATABASE_URL", db.url())];
        all.extend_from_slice(vars);
        let out = run_binary(&["config", "check"], &all);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let wildcard = effective(&[("AUTH_BIND", "0.0.0.0:18089")]);
    assert_eq!(wildcard["public_url"], "http://127.0.0.1:18089", "{wildcard}");
    let v6 = effective(&[("AUTH_BIND", "[::1]:18090")]);
    assert_eq!(v6["public_url"], "http://[::1]:18090", "{v6}");
    let set = effective(&[
        ("AUTH_BIND", "0.0.0.0:18089"),
        ("AUTH_PUBLIC_URL", "https://auth.example.com"),
    ]);
    assert_eq!(set["public_url"], "https://auth.example.com", "{set}");
}

/// Issue 33.2: a deployment (`AUTH_PUBLIC_URL` set) whose `AUTH_JWT_SECRET`
/// would silently switch tokens to legacy HS256 refuses to start, naming
/// `AUTH_JWT_ALGORITHM`; said explicitly (HS256 or ES256), or without a
/// public URL (a developer's machine), it starts.
fn implicit_hs256_is_refused_in_a_deployment(backend: TestBackend) {
    let db = TestDatabase::new(backend);
    let base = [
        ("AUTH_DATABASE_URL", db.url()),
        ("AUTH_BIND", "127.0.0.1:0"),
        ("AUTH_JWT_SECRET", JWT_SECRET),
    ];
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut vars: Vec<(&str, &str)> = base.to_vec();
        vars.extend_from_slice(extra);
        run_binary(&["config", "check"], &vars)
    };
    let refused = with(&[("AUTH_PUBLIC_URL", "https://auth.example.com")]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_ne!(refused.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("AUTH_JWT_ALGORITHM"), "{stderr}");
    assert!(
        !stderr.contains(JWT_SECRET),
        "the secret is not printed: {stderr}"
    );
    // `serve` refuses too (bounded: a regression must fail, not hang).
    let mut serve = Command::new(env!("CARGO_BIN_EXE_auth-server"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs([
            ("AUTH_DATABASE_URL", db.url()),
            ("AUTH_BIND", "127.0.0.1:0"),
            ("AUTH_JWT_SECRET", JWT_SECRET),
            ("AUTH_PUBLIC_URL", "https://auth.example.com"),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = serve.try_wait().unwrap() {
            break Some(status);
        }
        if std::time::Instant::now() > deadline {
            let _ = serve.kill();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(
        status.and_then(|s| s.code()),
        Some(2),
        "serve must refuse to start"
    );
    for extra in [
        &[
            ("AUTH_PUBLIC_URL", "https://auth.example.com"),
            ("AUTH_JWT_ALGORITHM", "HS256"),
        ][..],
        &[
            ("AUTH_PUBLIC_URL", "https://auth.example.com"),
            ("AUTH_JWT_ALGORITHM", "ES256"),
        ][..],
        &[][..],
    ] {
        let out = with(extra);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{extra:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Issue 33.8: a reader that closes stdout early (`auth-server openapi |
/// head -1`) ends the output, not the process: exit 0, no panic.
fn a_closed_stdout_ends_the_output_not_the_process(_backend: TestBackend) {
    use std::io::Read as _;
    let mut child = Command::new(env!("CARGO_BIN_EXE_auth-server"))
        .arg("openapi")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .current_dir(std::env::temp_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 16];
    stdout.read_exact(&mut first).unwrap();
    assert_eq!(first[0], b'{');
    // The document is far larger than a pipe's buffer: the rest of the
    // write meets the closed pipe.
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// Typed settings on the real binary: each invalid value refuses to start
/// (exit 2) and fails `config check`, with a message naming the key, its
/// variable and what would be valid; from the TOML file too.
fn typed_settings_refuse_invalid_values(backend: TestBackend) {
    let db = TestDatabase::new(backend);
    let cases: &[(&str, &str, &[&str])] = &[
        ("AUTH_LOG_FORMAT", "jsn", &["`log_format`", "`text`", "`json`"]),
        (
            "AUTH_EVENT_BUS",
            "redis",
            &["`event_bus`", "`auto`", "`local`", "`postgres`"],
        ),
        (
            "AUTH_BIND",
            "localhost",
            &["`bind`", "`localhost`", "0.0.0.0:8080"],
        ),
        ("AUTH_BIND", "8080", &["`bind`", "IP address and port"]),
        (
            "AUTH_METRICS_BIND",
            "127.0.0.1",
            &["`metrics_bind`", "IP address and port", "empty"],
        ),
        (
            "AUTH_TRUSTED_PROXIES",
            "10.0.0.0/8, 10.0.0.0/33",
            &["`trusted_proxies`", "`10.0.0.0/33`", "CIDR"],
        ),
        (
            "AUTH_SINGLE_SESSION_CONTRACTS",
            "sesion",
            &["`single_session_contracts`", "`sesion`", "`session`", "`picsel`"],
        ),
        (
            "AUTH_CORS_ALLOWED_ORIGINS",
            "app.example.com",
            &["`cors_allowed_origins`", "scheme://host"],
        ),
        (
            "AUTH_ACCESS_TTL_SECONDS",
            "-5",
            &["`access_ttl_seconds`", "between 1 and"],
        ),
        (
            "AUTH_ACCESS_TTL_SECONDS",
            "abc",
            &["`access_ttl_seconds`", "expected an integer"],
        ),
        (
            "AUTH_METRICS_ENABLED",
            "yes please",
            &["`metrics_enabled`", "`true` or `false`"],
        ),
        (
            "AUTH_WS_HEARTBEAT_SECONDS",
            "99999999999",
            &["`ws_heartbeat_seconds`", "between 1 and"],
        ),
        (
            "AUTH_LOGIN_LOCK_SECONDS",
            "0",
            &["`login_lock_seconds`", "between 1 and"],
        ),
    ];
    for (var, value, needles) in cases {
        for args in [&[][..], &["config", "check"][..]] {
            let out = run_binary(args, &[("AUTH_DATABASE_URL", db.url()), (var, value)]);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{var}={value:?} {args:?}: {stderr}");
            assert!(
                stderr.contains(var),
                "{var}={value:?} {args:?}: names the variable: {stderr}"
            );
            for needle in *needles {
                assert!(
                    stderr.contains(needle),
                    "{var}={value:?} {args:?}: {needle} in {stderr}"
                );
            }
        }
    }
    // The same check from the TOML file.
    let dir = std::env::temp_dir().join(format!("auth-typed-{}", uuid_like()));
    std::fs::create_dir_all(&dir).unwrap();
    let toml = dir.join("auth.toml");
    std::fs::write(&toml, "log_format = \"xml\"\n").unwrap();
    let out = run_binary(
        &["config", "check"],
        &[
            ("AUTH_CONFIG", toml.to_str().unwrap()),
            ("AUTH_DATABASE_URL", db.url()),
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("`log_format`") && stderr.contains("`json`"),
        "{stderr}"
    );
    drop(std::fs::remove_dir_all(&dir));
    // Valid values of every typed setting are accepted and shown.
    let out = run_binary(
        &["config", "check"],
        &[
            ("AUTH_DATABASE_URL", db.url()),
            ("AUTH_LOG_FORMAT", "json"),
            ("AUTH_EVENT_BUS", "local"),
            ("AUTH_BIND", "[::1]:8080"),
            ("AUTH_METRICS_BIND", "127.0.0.1:9100"),
            ("AUTH_TRUSTED_PROXIES", "10.0.0.0/8, ::1, 192.168.1.1"),
            ("AUTH_SINGLE_SESSION_CONTRACTS", "session, picsel"),
            ("AUTH_CORS_ALLOWED_ORIGINS", "https://app.example.com"),
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let effective: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(effective["log_format"], "json");
    assert_eq!(effective["event_bus"], "local");
    assert_eq!(effective["metrics_bind"], "127.0.0.1:9100");
    assert_eq!(effective["bind"], "[::1]:8080");
}

auth_infra::on_both_backends!(
    no_secrets_in_the_log,
    quiet_paths,
    healthcheck,
    cors,
    request_ids,
    metrics_on_their_own_listener,
    made_up_methods_add_no_metric_series,
    created_files_are_the_servers_own,
    the_issuer_names_the_port_it_serves_on
);

auth_infra::on_both_backends!(sync: refuses_weak_secrets, implicit_hs256_is_refused_in_a_deployment, purge_command, strict_configuration, typed_settings_refuse_invalid_values, a_closed_stdout_ends_the_output_not_the_process);
