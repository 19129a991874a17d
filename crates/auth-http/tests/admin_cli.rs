//! The admin commands of the real `auth-server` binary (issue 14), on each
//! backend: `users list|show|disable|enable|revoke-sessions`, `users
//! grant-admin|revoke-admin` (issue 30), `sessions revoke`, `apps
//! list|create|delete|rotate-secret` and `send-test-email`.
//! A server (the same binary, `serve`) runs on the same database with a
//! socket open: a revocation made by a command reaches that socket as
//! `LOGOUT` (PostgreSQL: through `NOTIFY`, well before the sockets' periodic
//! session check; SQLite: at that check). `send-test-email` goes to a real
//! SMTP server started by the test. Each command builds only what it uses:
//! they work with settings that would stop a server.
// Helpers outside #[test] functions are not "in tests" for clippy.toml's
// allow-*-in-tests, so an integration-test file still allows them itself.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use auth_infra::testdb::{TestBackend, TestDatabase};
use futures_util::StreamExt as _;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

const JWT_SECRET: &str = "admin-cli-jwt-secret-6f1c9a7e2b6d8053a1e4c7b9d2f6e8a0";
const ADMIN_TOKEN: &str = "admin-cli-admin-token-1d3e7b1a5c2f0e4a8b6d";
const PASSWORD: &str = "CliPassword1!";

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("auth-{tag}-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The binary with a clean environment: the database, the JWT secret, the
/// outbox, and `extra`.
fn command(db_url: &str, dir: &Path, extra: &[(&str, &str)]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_auth-server"));
    c.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("AUTH_DATABASE_URL", db_url)
        .env("AUTH_DATABASE_POOL_SIZE", "2")
        .env("AUTH_JWT_SECRET", JWT_SECRET)
        .env("AUTH_MAIL_DIR", dir.join("outbox"))
        .envs(extra.iter().copied())
        .current_dir(dir)
        .stdin(Stdio::null());
    c
}

/// Runs a command to completion.
fn run(db_url: &str, dir: &Path, args: &[&str], extra: &[(&str, &str)]) -> Output {
    command(db_url, dir, extra).args(args).output().unwrap()
}

/// Runs a command that must succeed; its stdout as JSON.
#[track_caller]
fn run_ok(db_url: &str, dir: &Path, args: &[&str]) -> Value {
    let out = run(db_url, dir, args, &[]);
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
        panic!(
            "{args:?} printed no JSON: {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// Runs a command that must fail; its stderr.
#[track_caller]
fn run_err(db_url: &str, dir: &Path, args: &[&str]) -> String {
    let out = run(db_url, dir, args, &[]);
    assert!(
        !out.status.success(),
        "{args:?} succeeded: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(out.stdout.is_empty(), "{args:?} printed on stdout");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `auth-server serve` on a free port, killed on drop.
struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        drop(self.child.kill());
        drop(self.child.wait());
    }
}

async fn serve(db_url: &str, dir: &Path, session_check: &str) -> Server {
    serve_with(db_url, dir, session_check, &[]).await
}

/// [`serve`] with more settings.
async fn serve_with(db_url: &str, dir: &Path, session_check: &str, more: &[(&str, &str)]) -> Server {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let log = std::fs::File::create(dir.join("server.log")).unwrap();
    let bind = format!("127.0.0.1:{port}");
    let mut settings = vec![
        ("AUTH_BIND", bind.as_str()),
        ("AUTH_ADMIN_TOKEN", ADMIN_TOKEN),
        ("AUTH_WORKERS", "2"),
        ("AUTH_RATE_LIMIT_ENABLED", "false"),
        ("AUTH_WS_SESSION_CHECK_SECONDS", session_check),
    ];
    settings.extend_from_slice(more);
    let child = command(db_url, dir, &settings)
        .stdout(Stdio::from(log.try_clone().unwrap()))
        .stderr(Stdio::from(log))
        .spawn()
        .unwrap();
    let mut server = Server {
        child,
        base: format!("http://127.0.0.1:{port}"),
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            let log = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
            panic!("auth-server exited with {status}:\n{log}");
        }
        if reqwest::get(format!("{}/readyz", server.base))
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return server;
        }
        assert!(Instant::now() < deadline, "auth-server not ready within 30 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

impl Server {
    async fn login(&self, login: &str) -> (u16, Value) {
        let r = reqwest::Client::new()
            .post(format!("{}/api/auth/login", self.base))
            .json(&json!({"username": login, "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    async fn access(&self, login: &str) -> String {
        let (status, body) = self.login(login).await;
        assert_eq!(status, 200, "{body}");
        body["accessToken"].as_str().unwrap().to_owned()
    }

    async fn admin_get(&self, path: &str) -> Value {
        reqwest::Client::new()
            .get(format!("{}{path}", self.base))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    async fn socket(&self, access: &str) -> Socket {
        let url = format!("{}/ws?token={access}", self.base.replacen("http", "ws", 1));
        let (stream, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        Socket(stream)
    }
}

struct Socket(tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>);

impl Socket {
    /// The next text frame within `wait`, as JSON.
    async fn next_json(&mut self, wait: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            match tokio::time::timeout_at(deadline, self.0.next()).await {
                Err(_) => return None,
                Ok(Some(Ok(tokio_tungstenite::tungstenite::Message::Text(t)))) => {
                    return serde_json::from_str(&t).ok();
                }
                Ok(Some(Ok(_))) => {}
                Ok(Some(Err(_)) | None) => return None,
            }
        }
    }
}

/// A received message: its recipients and its text.
type Received = (Vec<String>, String);

/// A minimal SMTP server: accepts every message and keeps its recipients.
#[derive(Clone, Default)]
struct SmtpSink {
    received: Arc<Mutex<Vec<Received>>>,
}

impl SmtpSink {
    async fn start() -> (Self, u16) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let sink = Self::default();
        let store = sink.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let store = store.clone();
                tokio::spawn(async move { store.session(stream).await });
            }
        });
        (sink, port)
    }

    async fn session(&self, stream: tokio::net::TcpStream) {
        let (read, mut write) = stream.into_split();
        let mut lines = BufReader::new(read).lines();
        let _ = write.write_all(b"220 sink.test ESMTP\r\n").await;
        let (mut to, mut data, mut in_data) = (Vec::new(), String::new(), false);
        while let Ok(Some(line)) = lines.next_line().await {
            if in_data {
                if line == "." {
                    in_data = false;
                    self.received
                        .lock()
                        .unwrap()
                        .push((std::mem::take(&mut to), std::mem::take(&mut data)));
                    let _ = write.write_all(b"250 OK queued\r\n").await;
                } else {
                    data.push_str(&line);
                    data.push('\n');
                }
                continue;
            }
            let upper = line.to_ascii_uppercase();
            let reply: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                b"250 sink.test\r\n"
            } else if upper.starts_with("RCPT TO:") {
                to.push(line[8..].trim().trim_matches(['<', '>']).to_owned());
                b"250 OK\r\n"
            } else if upper.starts_with("DATA") {
                in_data = true;
                b"354 go on\r\n"
            } else if upper.starts_with("QUIT") {
                let _ = write.write_all(b"221 bye\r\n").await;
                return;
            } else {
                b"250 OK\r\n"
            };
            let _ = write.write_all(reply).await;
        }
    }

    fn to(&self, address: &str) -> Vec<String> {
        self.received
            .lock()
            .unwrap()
            .iter()
            .filter(|(to, _)| to.iter().any(|t| t == address))
            .map(|(_, data)| data.clone())
            .collect()
    }
}

/// Imports users with `{noop}` passwords through `users import`.
fn import(db_url: &str, dir: &Path, logins: &[&str]) {
    let file = dir.join("users.ndjson");
    let lines: String = logins
        .iter()
        .map(|l| {
            format!(
                "{}\n",
                json!({"loginId": l, "email": format!("{l}@example.com"), "name": "홍길동", "passwordHash": format!("{{noop}}{PASSWORD}")})
            )
        })
        .collect();
    std::fs::write(&file, lines).unwrap();
    let report = run_ok(db_url, dir, &["users", "import", file.to_str().unwrap()]);
    assert_eq!(report["imported"], json!(logins.len()), "{report}");
}

async fn admin_commands(backend: TestBackend) {
    let db = TestDatabase::new(backend);
    let url = db.url().to_owned();
    let dir = temp_dir("admin-cli");
    let suffix = &uuid::Uuid::new_v4().simple().to_string()[..8];
    let (alice, bob) = (format!("alice{suffix}"), format!("bob{suffix}"));
    import(&url, &dir, &[&alice, &bob]);
    // PostgreSQL: the command's NOTIFY must beat a 60 s session check.
    // SQLite: no bus between processes, so the check (1 s) carries it.
    let (check, wait) = match backend {
        TestBackend::Postgres => ("60", Duration::from_secs(5)),
        TestBackend::Sqlite => ("1", Duration::from_secs(10)),
    };
    let server = serve(&url, &dir, check).await;

    // users list / show.
    let listed = run_ok(&url, &dir, &["users", "list", "--query", &alice.to_uppercase()]);
    assert_eq!(listed["items"].as_array().unwrap().len(), 1, "{listed}");
    let id = listed["items"][0]["id"].as_i64().unwrap().to_string();
    assert_eq!(
        listed,
        server
            .admin_get(&format!("/internal/users?query={}", alice.to_uppercase()))
            .await
    );
    let page = run_ok(&url, &dir, &["users", "list", "--limit", "1"]);
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    let cursor = page["nextCursor"].as_str().unwrap().to_owned();
    let next = run_ok(
        &url,
        &dir,
        &["users", "list", "--limit", "1", "--cursor", &cursor],
    );
    assert_ne!(next["items"][0]["id"], page["items"][0]["id"]);
    assert!(run_err(&url, &dir, &["users", "list", "--limit", "0"]).contains("--limit"));
    assert!(run_err(&url, &dir, &["users", "list", "--cursor", "nope!"]).contains("--cursor"));

    // users revoke-sessions: LOGOUT on the server's socket.
    let access = server.access(&alice).await;
    let mut sock = server.socket(&access).await;
    let shown = run_ok(&url, &dir, &["users", "show", &id]);
    assert_eq!(shown["user"]["liveSessions"], json!(1), "{shown}");
    let revoked = run_ok(&url, &dir, &["users", "revoke-sessions", &id]);
    assert_eq!(revoked, json!({"success": true, "revoked": 1}));
    let started = Instant::now();
    let frame = sock
        .next_json(wait)
        .await
        .expect("no LOGOUT after users revoke-sessions");
    assert_eq!(frame["type"], "LOGOUT", "{frame}");
    eprintln!("{backend:?}: LOGOUT {:?} after the command", started.elapsed());

    // sessions revoke.
    let access = server.access(&alice).await;
    let mut sock = server.socket(&access).await;
    let sessions = server.admin_get(&format!("/internal/users/{id}/sessions")).await;
    let sid = sessions["sessions"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        run_ok(&url, &dir, &["sessions", "revoke", &sid]),
        json!({"success": true, "revoked": 1})
    );
    let frame = sock
        .next_json(wait)
        .await
        .expect("no LOGOUT after sessions revoke");
    assert_eq!(frame["message"], "관리자에 의해 로그아웃되었습니다.", "{frame}");
    assert_eq!(
        run_ok(&url, &dir, &["sessions", "revoke", &sid]),
        json!({"success": true, "revoked": 0})
    );
    assert!(run_err(&url, &dir, &["sessions", "revoke", "not-a-uuid"]).contains("UUID"));
    assert!(
        run_err(
            &url,
            &dir,
            &["sessions", "revoke", "0192f0c1-7c1e-7a55-9d8e-3f5b2a1c4d6e"]
        )
        .contains("no such session")
    );

    // users disable / enable.
    let access = server.access(&alice).await;
    let mut sock = server.socket(&access).await;
    let disabled = run_ok(&url, &dir, &["users", "disable", &id]);
    assert_eq!(disabled["user"]["disabled"], true, "{disabled}");
    assert_eq!(disabled["revokedSessions"], json!(1), "{disabled}");
    let frame = sock.next_json(wait).await.expect("no LOGOUT after users disable");
    assert_eq!(frame["message"], "계정이 비활성화되어 로그아웃됩니다.", "{frame}");
    assert_eq!(server.login(&alice).await.0, 403);
    assert_eq!(server.login(&bob).await.0, 200, "another user is untouched");
    let again = run_ok(&url, &dir, &["users", "disable", &id]);
    assert_eq!(again["revokedSessions"], json!(0));
    assert_eq!(again["user"]["disabledAt"], disabled["user"]["disabledAt"]);
    let enabled = run_ok(&url, &dir, &["users", "enable", &id]);
    assert_eq!(enabled["user"]["disabled"], false, "{enabled}");
    assert_eq!(server.login(&alice).await.0, 200);
    assert!(run_err(&url, &dir, &["users", "disable", "abc"]).contains("numeric"));
    assert!(run_err(&url, &dir, &["users", "disable", "999999"]).contains("no such user"));
    assert!(run_err(&url, &dir, &["users", "enable", "999999"]).contains("no such user"));
    assert!(run_err(&url, &dir, &["users", "revoke-sessions", "999999"]).contains("no such user"));
    let audit = server.admin_get(&format!("/internal/audit?user={id}")).await;
    let kinds: Vec<&str> = audit["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    let by_cli = audit["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "admin_user_disable")
        .all(|e| e["userAgent"].as_str().is_some_and(|ua| ua.ends_with("(cli)")));
    assert!(by_cli, "the command's actions are not marked: {audit}");
    for kind in [
        "admin_user_sessions_revoke",
        "admin_session_revoke",
        "admin_user_disable",
        "admin_user_enable",
    ] {
        assert!(kinds.contains(&kind), "{kind} not audited: {kinds:?}");
    }

    // apps create / list / rotate-secret / delete.
    assert_eq!(
        run_ok(&url, &dir, &["apps", "list"]),
        json!({"success": true, "apps": []})
    );
    let created = run_ok(&url, &dir, &["apps", "create", "--name", "CLI Chat"]);
    let app_id = created["appId"].as_str().unwrap().to_owned();
    let listed = run_ok(&url, &dir, &["apps", "list"]);
    assert_eq!(listed["apps"][0]["appId"], json!(app_id), "{listed}");
    assert_eq!(listed["apps"][0]["secretVersion"], json!(0));
    assert_eq!(listed, server.admin_get("/internal/apps").await);
    let rotated = run_ok(&url, &dir, &["apps", "rotate-secret", &app_id]);
    assert_eq!(rotated["appId"], json!(app_id));
    assert_eq!(rotated["secret"].as_str().unwrap().len(), 64);
    assert_ne!(rotated["secret"], created["secret"]);
    assert_eq!(
        run_ok(&url, &dir, &["apps", "list"])["apps"][0]["secretVersion"],
        json!(1)
    );
    assert_eq!(run_ok(&url, &dir, &["apps", "delete", &app_id])["success"], true);
    assert!(run_err(&url, &dir, &["apps", "delete", &app_id]).contains("no such application"));
    assert!(run_err(&url, &dir, &["apps", "rotate-secret", &app_id]).contains("no such application"));
    assert!(run_err(&url, &dir, &["apps", "delete", "bad id"]).contains("application id"));
    assert_eq!(run_ok(&url, &dir, &["apps", "list"])["apps"], json!([]));

    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Each command builds only what it uses (issue 17): on a fresh database,
/// with a signing key and an SMTP URL that cannot be loaded — a server
/// would not start — the `apps`, `users` and `sessions` commands still work
/// (before, every one of them loaded the signing keys, the mailer, the OAuth
/// clients and the hashing pool, and failed here); `keys list` and
/// `send-test-email`, which need the broken settings, fail as they must.
async fn commands_build_only_what_they_use(backend: TestBackend) {
    let db = TestDatabase::new(backend);
    let url = db.url().to_owned();
    let dir = temp_dir("cli-narrow");
    let broken = [
        ("AUTH_JWT_ALGORITHM", "ES256"),
        ("AUTH_JWT_SIGNING_KEY", "not a PEM key"),
        ("AUTH_SMTP_URL", "not a URL"),
    ];
    let run_broken = |args: &[&str]| run(&url, &dir, args, &broken);
    let ok = |args: &[&str]| -> Value {
        let out = run_broken(args);
        assert!(
            out.status.success(),
            "{args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let fails = |args: &[&str]| -> String {
        let out = run_broken(args);
        assert!(!out.status.success(), "{args:?} succeeded");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };

    // The settings really are unusable for what needs them.
    let keys = fails(&["keys", "list"]);
    assert!(keys.contains("AUTH_JWT_SIGNING_KEY"), "{keys}");
    let mail = fails(&["send-test-email", "ops@example.com"]);
    assert!(mail.contains("mail"), "{mail}");

    // apps: create (the first thing an operator runs on a new database),
    // list, rotate-secret, delete.
    let created = ok(&["apps", "create", "--name", "Narrow Chat"]);
    let app_id = created["appId"].as_str().unwrap().to_owned();
    assert_eq!(created["secret"].as_str().unwrap().len(), 64);
    assert_eq!(ok(&["apps", "list"])["apps"][0]["appId"], json!(app_id));
    let rotated = ok(&["apps", "rotate-secret", &app_id]);
    assert_ne!(rotated["secret"], created["secret"]);
    assert_eq!(ok(&["apps", "delete", &app_id])["success"], true);

    // users import (the hashing pool, no mailer or key), list, show,
    // disable, enable, grant-admin, revoke-admin; sessions revoke.
    let file = dir.join("users.ndjson");
    let line = json!({"loginId": "narrow", "email": "narrow@example.com", "passwordHash": format!("{{noop}}{PASSWORD}")});
    std::fs::write(&file, format!("{line}\n")).unwrap();
    let report = ok(&["users", "import", file.to_str().unwrap()]);
    assert_eq!(report["imported"], json!(1), "{report}");
    let listed = ok(&["users", "list", "--query", "narrow"]);
    let id = listed["items"][0]["id"].as_i64().unwrap().to_string();
    let shown = ok(&["users", "show", &id]);
    assert_eq!(shown["user"]["loginId"], "narrow", "{shown}");
    assert_eq!(ok(&["users", "revoke-sessions", &id])["revoked"], json!(0));
    assert_eq!(ok(&["users", "disable", &id])["user"]["disabled"], true);
    assert_eq!(ok(&["users", "enable", &id])["user"]["disabled"], false);
    assert_eq!(ok(&["users", "grant-admin", &id])["user"]["admin"], true);
    assert_eq!(ok(&["users", "revoke-admin", &id])["user"]["admin"], false);
    let unknown = fails(&["sessions", "revoke", "0192f0c1-7c1e-7a55-9d8e-3f5b2a1c4d6e"]);
    assert!(unknown.contains("no such session"), "{unknown}");

    let _ = std::fs::remove_dir_all(&dir);
}

/// `send-test-email` needs no database: through a real SMTP server, into
/// the outbox without one, and a non-zero exit when the server is down.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_test_email() {
    let dir = temp_dir("send-test-email");
    // No database is opened: this URL would fail if it were.
    let nowhere = "postgres://nobody@127.0.0.1:1/none";
    let (sink, port) = SmtpSink::start().await;
    let smtp = format!("smtp://127.0.0.1:{port}");
    let out = run(
        nowhere,
        &dir,
        &["send-test-email", "ops@example.com"],
        &[("AUTH_SMTP_URL", &smtp)],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        report,
        json!({"success": true, "to": "ops@example.com", "via": "smtp"})
    );
    let received = sink.to("ops@example.com");
    assert_eq!(received.len(), 1, "the SMTP server got no message");
    assert!(received[0].contains("Subject:"), "{}", received[0]);

    // Without SMTP: an .eml file in the outbox.
    let out = run(nowhere, &dir, &["send-test-email", "ops@example.com"], &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let files: Vec<_> = std::fs::read_dir(dir.join("outbox")).unwrap().collect();
    assert_eq!(files.len(), 1, "no .eml written");

    // A server that is not there, and an address that is not one: exit 1.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let down = format!("smtp://127.0.0.1:{closed}");
    let out = run(
        nowhere,
        &dir,
        &["send-test-email", "ops@example.com"],
        &[("AUTH_SMTP_URL", &down), ("AUTH_SMTP_TIMEOUT_SECONDS", "3")],
    );
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("not sent"), "{stderr}");
    let out = run(nowhere, &dir, &["send-test-email", "not-an-address"], &[]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not an email address"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Issue 33.7: a lost `AUTH_KEY_ENCRYPTION_KEY`. A server with another KEK
/// refuses to start (the keys do not open); `keys reset` under the new KEK
/// deletes every key unread and makes new ones; the server starts, the old
/// access token is refused, and the session continues through its refresh
/// token.
async fn keys_reset_recovers_from_a_lost_kek(backend: TestBackend) {
    let db = TestDatabase::new(backend);
    let url = db.url().to_owned();
    let dir = temp_dir("keys-reset");
    let login = format!("kek{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    import(&url, &dir, &[&login]);
    let old_kek = [
        ("AUTH_JWT_ALGORITHM", "ES256"),
        ("AUTH_KEY_ENCRYPTION_KEY", "the-first-kek-0123456789abcdef-0123"),
    ];
    let new_kek = [
        ("AUTH_JWT_ALGORITHM", "ES256"),
        ("AUTH_KEY_ENCRYPTION_KEY", "the-second-kek-0123456789abcdef-012"),
    ];
    let server = serve_with(&url, &dir, "60", &old_kek).await;
    let http = reqwest::Client::new();
    let session: Value = http
        .post(format!("{}/api/login", server.base))
        .json(&json!({"userId": login, "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (access, refresh) = (
        session["accessToken"].as_str().unwrap().to_owned(),
        session["refreshToken"].as_str().unwrap().to_owned(),
    );
    drop(server);

    let refused = run(&url, &dir, &["keys", "list"], &new_kek);
    assert!(
        !refused.status.success(),
        "the old keys do not open under the new KEK"
    );
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("AUTH_KEY_ENCRYPTION_KEY"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let out = run(&url, &dir, &["keys", "reset"], &new_kek);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let reset: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        reset["removed"],
        json!(4),
        "one access key and three ID-token keys: {reset}"
    );
    assert_eq!(reset["keys"].as_array().unwrap().len(), 4, "{reset}");

    let server = serve_with(&url, &dir, "60", &new_kek).await;
    let me = http
        .get(format!("{}/api/auth/me", server.base))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status().as_u16(), 401, "the old key's token stops");
    let refreshed = http
        .post(format!("{}/api/token/refresh", server.base))
        .json(&json!({"refreshToken": refresh}))
        .send()
        .await
        .unwrap();
    assert_eq!(refreshed.status().as_u16(), 200, "the session survives");
    let body: Value = refreshed.json().await.unwrap();
    let me = http
        .get(format!("{}/api/auth/me", server.base))
        .bearer_auth(body["accessToken"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(me.status().as_u16(), 200);
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Issue 33.8, CLI edges on the real binary: `users show` takes a login id
/// or an email too; an import with refused lines prints its report and
/// exits 3; `--config FILE` reads that file and `config check` says which
/// file it read; an unknown `AUTH_*` variable refuses `serve` as it fails
/// `config check`.
async fn cli_edges(backend: TestBackend) {
    let db = TestDatabase::new(backend);
    let url = db.url().to_owned();
    let dir = temp_dir("cli-edges");
    let login = format!("edge{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    import(&url, &dir, &[&login]);
    let by_id = run_ok(&url, &dir, &["users", "list", "--query", &login]);
    let id = by_id["items"][0]["id"].as_i64().unwrap().to_string();
    for key in [login.clone(), format!("{login}@example.com"), id.clone()] {
        let shown = run_ok(&url, &dir, &["users", "show", &key]);
        assert_eq!(shown["user"]["loginId"], json!(login), "{key}: {shown}");
    }
    assert!(run_err(&url, &dir, &["users", "show", "nobody-here"]).contains("nobody-here"));

    let file = dir.join("mixed.ndjson");
    let good = format!("edge2{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    std::fs::write(
        &file,
        format!(
            "{}\n{}\n",
            json!({"loginId": good, "email": format!("{good}@example.com"), "name": "n", "passwordHash": format!("{{noop}}{PASSWORD}")}),
            json!({"loginId": "x", "email": "not an email", "name": "n", "passwordHash": "{noop}pw"})
        ),
    )
    .unwrap();
    let out = run(&url, &dir, &["users", "import", file.to_str().unwrap()], &[]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (report["imported"].as_u64(), report["rejected"].as_u64()),
        (Some(1), Some(1)),
        "{report}"
    );

    let config = dir.join("edge.toml");
    std::fs::write(&config, "access_ttl_seconds = 123\n").unwrap();
    let out = run(
        &url,
        &dir,
        &["--config", config.to_str().unwrap(), "config", "check"],
        &[],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let effective: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(effective["access_ttl_seconds"], json!(123), "{effective}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("read {}", config.display())), "{stderr}");

    let typo = run(
        &url,
        &dir,
        &[],
        &[("AUTH_BIND", "127.0.0.1:0"), ("AUTH_ACESS_TTL_SECONDS", "5")],
    );
    assert_eq!(typo.status.code(), Some(2), "serve refuses an unknown variable");
    assert!(String::from_utf8_lossy(&typo.stderr).contains("AUTH_ACESS_TTL_SECONDS"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// `auth-server clients create|list|show|delete|rotate-secret` (issue 28)
/// on the real binary: the same views as `/internal/oauth-clients`, the
/// secret printed once and working at the token endpoint of a server on the
/// same database, the old one refused after a rotation, field errors named,
/// every change on the audit trail.
async fn clients_commands(backend: TestBackend) {
    let db = TestDatabase::new(backend);
    let url = db.url().to_owned();
    let dir = temp_dir("clients-cli");
    let created = run_ok(
        &url,
        &dir,
        &[
            "clients",
            "create",
            "--name",
            "Batch",
            "--grant-type",
            "client_credentials",
            "--scope",
            "reports",
            "--auth-method",
            "client_secret_post",
        ],
    );
    let id = created["clientId"].as_str().unwrap().to_owned();
    let secret = created["clientSecret"].as_str().unwrap().to_owned();
    assert!(id.starts_with("oc_"), "{created}");
    assert_eq!(created["client"]["grantTypes"], json!(["client_credentials"]));
    let listed = run_ok(&url, &dir, &["clients", "list"]);
    assert_eq!(listed["clients"].as_array().unwrap().len(), 1, "{listed}");
    assert!(!listed.to_string().contains(&secret), "no secret in a listing");
    assert_eq!(
        run_ok(&url, &dir, &["clients", "show", &id])["client"]["name"],
        json!("Batch")
    );
    assert!(
        run_err(
            &url,
            &dir,
            &["clients", "create", "--name", "Web", "--redirect-uri", "/cb"]
        )
        .contains("redirectUris")
    );
    assert!(run_err(&url, &dir, &["clients", "show", "oc_nobody"]).contains("no such client"));

    let server = serve_with(&url, &dir, "60", &[("AUTH_JWT_ALGORITHM", "ES256")]).await;
    let grant = |secret: String| {
        let (base, id) = (server.base.clone(), id.clone());
        async move {
            reqwest::Client::new()
                .post(format!("{base}/oauth2/token"))
                .form(&[
                    ("grant_type", "client_credentials"),
                    ("client_id", &id),
                    ("client_secret", &secret),
                ])
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(grant(secret.clone()).await, 200);
    let rotated = run_ok(&url, &dir, &["clients", "rotate-secret", &id]);
    let new_secret = rotated["clientSecret"].as_str().unwrap().to_owned();
    assert_ne!(new_secret, secret);
    assert_eq!(grant(secret.clone()).await, 401, "the old secret stops at once");
    assert_eq!(grant(new_secret).await, 200);
    let deleted = run_ok(&url, &dir, &["clients", "delete", &id]);
    assert_eq!(deleted["success"], json!(true));
    assert!(run_err(&url, &dir, &["clients", "delete", &id]).contains("no such client"));
    let audit = server.admin_get("/internal/audit?limit=50").await;
    for kind in [
        "admin_oauth_client_create",
        "admin_oauth_client_secret_rotate",
        "admin_oauth_client_delete",
    ] {
        assert!(audit.to_string().contains(kind), "{kind} audited: {audit}");
    }
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

/// `auth-server users grant-admin|revoke-admin ID` (issue 30) on the real
/// binary: the same JSON as `POST /internal/users/{id}/grant-admin` and
/// `GET /internal/users/{id}` of a server on the same database, idempotent,
/// audited once per change as the command's, and refused like the other
/// `users` commands for an unknown or malformed id (exit 1, nothing on
/// stdout).
async fn admin_role_commands(backend: TestBackend) {
    let db = TestDatabase::new(backend);
    let url = db.url().to_owned();
    let dir = temp_dir("role-cli");
    let login = format!("role{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    import(&url, &dir, &[&login]);
    let listed = run_ok(&url, &dir, &["users", "list", "--query", &login]);
    let id = listed["items"][0]["id"].as_i64().unwrap().to_string();
    assert_eq!(
        run_ok(&url, &dir, &["users", "show", &id])["user"]["admin"],
        false
    );

    let server = serve(&url, &dir, "60").await;
    let granted = run_ok(&url, &dir, &["users", "grant-admin", &id]);
    assert_eq!(granted["success"], true, "{granted}");
    assert_eq!(granted["user"]["admin"], true, "{granted}");
    assert_eq!(granted, run_ok(&url, &dir, &["users", "show", &id]));
    assert_eq!(granted, server.admin_get(&format!("/internal/users/{id}")).await);
    assert_eq!(run_ok(&url, &dir, &["users", "grant-admin", &id]), granted);

    let revoked = run_ok(&url, &dir, &["users", "revoke-admin", &id]);
    assert_eq!(revoked["user"]["admin"], false, "{revoked}");
    assert_eq!(revoked, server.admin_get(&format!("/internal/users/{id}")).await);
    assert_eq!(run_ok(&url, &dir, &["users", "revoke-admin", &id]), revoked);

    for command in ["grant-admin", "revoke-admin"] {
        assert!(run_err(&url, &dir, &["users", command, "999999"]).contains("no such user"));
        assert!(run_err(&url, &dir, &["users", command, "abc"]).contains("numeric"));
        let out = run(&url, &dir, &["users", command, "999999"], &[]);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{command}: the other users commands' exit"
        );
    }

    let audit = server.admin_get(&format!("/internal/audit?user={id}")).await;
    let roles: Vec<(&str, &str, bool)> = audit["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"].as_str().is_some_and(|k| k.starts_with("admin_role_")))
        .map(|e| {
            (
                e["kind"].as_str().unwrap(),
                e["target"].as_str().unwrap(),
                e["userAgent"].as_str().is_some_and(|ua| ua.ends_with("(cli)")),
            )
        })
        .collect();
    let target = format!("user:{id}");
    assert_eq!(
        roles,
        vec![
            ("admin_role_revoke", target.as_str(), true),
            ("admin_role_grant", target.as_str(), true)
        ],
        "{audit}"
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

auth_infra::on_both_backends!(
    admin_role_commands,
    clients_commands,
    cli_edges,
    admin_commands,
    commands_build_only_what_they_use,
    keys_reset_recovers_from_a_lost_kek
);
