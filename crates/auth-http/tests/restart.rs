//! Restarts without a failed request, with the real `auth-server` binary.
//!
//! - `shutdown_sequence` (each backend, one instance, no proxy): with an
//!   idle keep-alive connection, a socket and a request in flight (its body
//!   half sent), SIGTERM: the socket is closed with 1001; during the drain
//!   (`AUTH_SHUTDOWN_DRAIN_SECONDS`) `/readyz` answers 503 `draining` on
//!   the kept-alive connection and on a new one, and other requests are
//!   still served, each with `Connection: close`; after it new connections
//!   are refused; the request in flight still gets its 200 (with
//!   `Connection: close`), the process exits 0 within the drain and
//!   `AUTH_SHUTDOWN_TIMEOUT_SECONDS`, and what the request wrote (its
//!   session, the password upgrade its login started) is there when the
//!   server starts again.
//! - `rolling_restart_behind_nginx` (PostgreSQL): two instances behind
//!   nginx running `deploy/nginx.conf` (rendered as `deploy/check/nginx.sh`
//!   renders it, both instances as the upstream servers), steady logins,
//!   refreshes, `GET /api/auth/me` and sockets through the proxy, each
//!   instance restarted in turn: no failed request, every socket closed
//!   with 1001 and reconnected, every acknowledged write present.
// Helpers outside #[test] functions are not "in tests" for clippy.toml's
// allow-*-in-tests, so an integration-test file still allows them itself.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{HashMap, HashSet};
use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use auth_infra::testdb::{TestBackend, TestDatabase};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

const PASSWORD: &str = "RestartDrill1!";
const KEK: &str = "restart-drill-kek-0123456789abcdef-01234";
const ADMIN_TOKEN: &str = "restart-drill-admin-token-0123456789abcdef";
/// `AUTH_SHUTDOWN_TIMEOUT_SECONDS` of every instance.
const SHUTDOWN_TIMEOUT_SECONDS: u64 = 10;
/// `AUTH_SHUTDOWN_DRAIN_SECONDS` of every instance: the default, above
/// `deploy/nginx.conf`'s upstream keep-alive (4 s), so that nginx has
/// closed every idle connection to an instance before it stops accepting.
const SHUTDOWN_DRAIN_SECONDS: u64 = 5;
/// Spring Security's documented bcrypt hash of `password`: an imported
/// account whose first login re-hashes it with argon2id after the answer
/// (background work the shutdown has to flush).
const BCRYPT_OF_PASSWORD: &str = "$2a$10$dXJ3SW6G7P50lGmMkkmwe.20cQQubK3.HZWzG3YB1tlRy.fqvM/BG";

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("auth-{tag}-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(dir.join("outbox")).unwrap();
    dir
}

/// A free port: bound, then released just before a server takes it.
/// Another process could take it in between; the start-up would then fail
/// loudly.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// The last `n` lines of a file (for failure messages).
fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// One `auth-server serve` on a fixed port, started again on the same port
/// after a restart; killed on drop.
struct Instance {
    name: String,
    port: u16,
    db_url: String,
    public_url: String,
    dir: PathBuf,
    child: Option<Child>,
    /// One log per start.
    logs: Vec<PathBuf>,
}

impl Instance {
    fn new(name: &str, db_url: &str, public_url: &str, dir: &Path) -> Self {
        Self {
            name: name.to_owned(),
            port: free_port(),
            db_url: db_url.to_owned(),
            public_url: public_url.to_owned(),
            dir: dir.to_owned(),
            child: None,
            logs: Vec::new(),
        }
    }

    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn log(&self) -> &Path {
        self.logs.last().unwrap()
    }

    /// Starts the binary with what a multi-instance deployment needs
    /// (`docs/operations.md`, "Several instances"): one public URL (the
    /// issuer every instance accepts), one key-encryption key, the signing
    /// keys kept in the shared database (no `AUTH_JWT_SECRET`), the proxy
    /// trusted for `X-Forwarded-For`. The rate limit is off: every request
    /// comes from one client address.
    fn spawn(&mut self) {
        assert!(self.child.is_none(), "{} is already running", self.name);
        let log_path = self
            .dir
            .join(format!("{}-{}.log", self.name, self.logs.len() + 1));
        let log = std::fs::File::create(&log_path).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_auth-server"))
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("RUST_LOG", "info")
            .env("AUTH_LOG_FORMAT", "text")
            .env("AUTH_BIND", format!("127.0.0.1:{}", self.port))
            .env("AUTH_DATABASE_URL", &self.db_url)
            .env("AUTH_DATABASE_POOL_SIZE", "4")
            .env("AUTH_WORKERS", "2")
            .env("AUTH_PUBLIC_URL", &self.public_url)
            .env("AUTH_KEY_ENCRYPTION_KEY", KEK)
            .env("AUTH_ADMIN_TOKEN", ADMIN_TOKEN)
            .env("AUTH_TRUSTED_PROXIES", "127.0.0.1")
            .env("AUTH_SIGNUP_REQUIRE_EMAIL_CODE", "false")
            .env("AUTH_MAIL_DIR", self.dir.join("outbox"))
            .env("AUTH_RATE_LIMIT_ENABLED", "false")
            .env(
                "AUTH_SHUTDOWN_TIMEOUT_SECONDS",
                SHUTDOWN_TIMEOUT_SECONDS.to_string(),
            )
            .env("AUTH_SHUTDOWN_DRAIN_SECONDS", SHUTDOWN_DRAIN_SECONDS.to_string())
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap();
        self.child = Some(child);
        self.logs.push(log_path);
    }

    /// Waits until `GET /readyz` answers 200 on the instance itself.
    async fn ready(&mut self) {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!(
                    "{} exited with {status} before it was ready:\n{}",
                    self.name,
                    tail(self.log(), 40)
                );
            }
            let ready = client.get(format!("{}/readyz", self.base())).send().await;
            if ready.is_ok_and(|r| r.status().is_success()) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{} not ready within 30 s:\n{}",
                self.name,
                tail(self.log(), 40)
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn signal(&self, signal: rustix::process::Signal) {
        let child = self.child.as_ref().unwrap();
        rustix::process::kill_process(rustix::process::Pid::from_child(child), signal).unwrap();
    }

    /// SIGTERM, as a supervisor stops an instance.
    fn terminate(&self) {
        self.signal(rustix::process::Signal::TERM);
    }

    /// Waits for the process to exit, at most `within`.
    async fn exited(&mut self, within: Duration) -> ExitStatus {
        let deadline = Instant::now() + within;
        let child = self.child.as_mut().unwrap();
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                self.child = None;
                return status;
            }
            if Instant::now() > deadline {
                drop(child.kill());
                drop(child.wait());
                self.child = None;
                panic!(
                    "{} still running {} s after SIGTERM:\n{}",
                    self.name,
                    within.as_secs(),
                    tail(self.log(), 40)
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// SIGTERM, then the exit status, which must be 0 within
    /// `AUTH_SHUTDOWN_TIMEOUT_SECONDS` and a few seconds.
    async fn stop_gracefully(&mut self) {
        self.terminate();
        let status = self
            .exited(Duration::from_secs(
                SHUTDOWN_DRAIN_SECONDS + SHUTDOWN_TIMEOUT_SECONDS + 5,
            ))
            .await;
        assert_eq!(
            status.code(),
            Some(0),
            "{} exited with {status} after SIGTERM:\n{}",
            self.name,
            tail(self.log(), 40)
        );
    }

    /// Lines of every log of this instance that report a panic.
    fn panics(&self) -> Vec<String> {
        self.logs
            .iter()
            .flat_map(|log| {
                std::fs::read_to_string(log)
                    .unwrap_or_default()
                    .lines()
                    .filter(|l| l.contains("panicked"))
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            })
            .collect()
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            drop(child.kill());
            drop(child.wait());
        }
    }
}

/// An HTTP/1.1 response read off a raw connection.
#[derive(Debug)]
struct RawResponse {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl RawResponse {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {self:?}"))
    }
}

/// Reads one response (a `Content-Length` body) from `stream`.
fn read_response(stream: &mut TcpStream, what: &str) -> RawResponse {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = stream.read(&mut chunk).unwrap();
        assert!(
            n > 0,
            "{what}: the connection closed before a response: {:?}",
            String::from_utf8_lossy(&buf)
        );
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let status: u16 = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .map(|(_, v)| v.parse().unwrap())
        .unwrap_or_else(|| panic!("no Content-Length in {head}"));
    let mut body = buf[head_end..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut chunk).unwrap();
        assert!(n > 0, "{what}: the connection closed in the body of {head}");
        body.extend_from_slice(&chunk[..n]);
    }
    RawResponse {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

fn raw_connection(port: u16) -> TcpStream {
    let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    stream
}

/// A claim of a JWT (not verified: the server did that).
fn claim(token: &str, name: &str) -> String {
    let payload = token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    claims[name].as_str().unwrap().to_owned()
}

async fn post(client: &reqwest::Client, url: String, body: &Value, bearer: Option<&str>) -> (u16, Value) {
    let mut request = client.post(url).json(body);
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    let r = request.send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

async fn get(client: &reqwest::Client, url: String, bearer: &str) -> (u16, Value) {
    let r = client.get(url).bearer_auth(bearer).send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

/// A `standard` login: `(accessToken, refreshToken)`.
async fn login(client: &reqwest::Client, base: &str, login: &str, password: &str) -> (String, String) {
    let (status, body) = post(
        client,
        format!("{base}/api/auth/login"),
        &json!({"username": login, "password": password}),
        None,
    )
    .await;
    assert_eq!(status, 200, "login {login}: {body}");
    (
        body["accessToken"].as_str().unwrap().to_owned(),
        body["refreshToken"].as_str().unwrap().to_owned(),
    )
}

/// The next message of a socket that is not a ping or pong, within 5 s.
async fn next_message<S>(ws: &mut S) -> Option<Result<Message, tokio_tungstenite::tungstenite::Error>>
where
    S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    loop {
        let next = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("no message within 5 s");
        if !matches!(next, Some(Ok(Message::Ping(_) | Message::Pong(_)))) {
            return next;
        }
    }
}

/// The shutdown sequence on one instance, observed from outside: a socket,
/// a kept-alive connection, a request in flight, then SIGTERM.
async fn shutdown_sequence(backend: TestBackend) {
    let db = TestDatabase::new(backend);
    let dir = temp_dir("shutdown");
    let mut server = Instance::new("server", db.url(), "http://auth.restart-drill.test", &dir);
    server.spawn();
    server.ready().await;
    let base = server.base();
    let client = reqwest::Client::new();

    // Two imported accounts with a bcrypt hash: a login re-hashes it with
    // argon2id after answering (background work).
    let accounts: String = [("walker", 4241), ("inflight", 4242)]
        .iter()
        .map(|(login, id)| {
            format!(
                "{}\n",
                json!({"loginId": login, "accountId": id, "email": format!("{login}@example.com"), "passwordHash": BCRYPT_OF_PASSWORD})
            )
        })
        .collect();
    let imported = client
        .post(format!("{base}/internal/users/import"))
        .bearer_auth(ADMIN_TOKEN)
        .header("Content-Type", "application/x-ndjson")
        .body(accounts)
        .send()
        .await
        .unwrap();
    assert_eq!(imported.status().as_u16(), 200);
    let scheme = |client: reqwest::Client, base: String| async move {
        let (status, body) = get(&client, format!("{base}/internal/users/4242"), ADMIN_TOKEN).await;
        assert_eq!(status, 200, "{body}");
        body["user"]["passwordScheme"].as_str().unwrap().to_owned()
    };
    assert_eq!(scheme(client.clone(), base.clone()).await, "bcrypt");

    // W: a socket of a live session.
    let (access, _) = login(&client, &base, "walker", "password").await;
    let ws_url = format!("ws://127.0.0.1:{}/ws?token={access}", server.port);
    let (mut socket, response) = tokio_tungstenite::connect_async(ws_url.as_str()).await.unwrap();
    assert_eq!(response.status().as_u16(), 101);

    // A: a kept-alive connection that has served one request.
    let mut kept = raw_connection(server.port);
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .unwrap();
    let first = read_response(&mut kept, "GET /healthz");
    assert_eq!(first.status, 200, "{first:?}");
    assert_ne!(first.header("connection"), Some("close"), "{first:?}");

    // B: a login whose body is half sent.
    let body = json!({"username": "inflight", "password": "password"}).to_string();
    let (first_half, second_half) = body.as_bytes().split_at(body.len() / 2);
    let mut in_flight = raw_connection(server.port);
    write!(
        in_flight,
        "POST /api/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .unwrap();
    in_flight.write_all(first_half).unwrap();
    in_flight.flush().unwrap();
    // The server has the request's head before the signal.
    tokio::time::sleep(Duration::from_millis(300)).await;

    server.terminate();

    // 1. The socket is told to go away.
    match next_message(&mut socket).await {
        Some(Ok(Message::Close(Some(frame)))) => {
            assert_eq!(frame.code, CloseCode::Away, "close frame {frame:?}");
        }
        other => panic!("the socket got {other:?}, want a close frame with 1001"),
    }

    // 2. Draining: `/readyz` answers 503 at once, on the kept-alive
    // connection and on a new one (a balancer's probe), and closes the
    // connection; what else arrives is still served, its connection closed.
    let readyz = b"GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    kept.write_all(readyz).unwrap();
    let probe = read_response(&mut kept, "GET /readyz on the kept-alive connection");
    assert_eq!(probe.status, 503, "{probe:?}");
    assert_eq!(probe.json()["status"], "draining", "{probe:?}");
    assert_eq!(
        probe.header("connection").map(str::to_ascii_lowercase).as_deref(),
        Some("close"),
        "{probe:?}"
    );
    let mut fresh = raw_connection(server.port);
    fresh.write_all(readyz).unwrap();
    let probe = read_response(&mut fresh, "GET /readyz on a new connection");
    assert_eq!(probe.status, 503, "{probe:?}");
    assert_eq!(probe.json()["status"], "draining", "{probe:?}");
    let (status, me) = get(&client, format!("{base}/api/auth/me"), &access).await;
    assert_eq!(status, 200, "a request during the drain: {me}");
    // A socket opened now is told to go away at once.
    let (mut late, _) = tokio_tungstenite::connect_async(ws_url.as_str()).await.unwrap();
    match next_message(&mut late).await {
        Some(Ok(Message::Close(Some(frame)))) => assert_eq!(frame.code, CloseCode::Away, "{frame:?}"),
        other => panic!("a socket opened while draining got {other:?}, want a close frame with 1001"),
    }

    // 3. After the drain, new connections are refused (the listener is
    // closed).
    let addr = SocketAddr::from(([127, 0, 0, 1], server.port));
    let deadline = Instant::now() + Duration::from_secs(SHUTDOWN_DRAIN_SECONDS + 3);
    loop {
        match TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => break,
            outcome => assert!(
                Instant::now() < deadline,
                "a new connection {} s after SIGTERM: {outcome:?}, want it refused",
                SHUTDOWN_DRAIN_SECONDS + 3
            ),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // 4. The request in flight finishes: its login succeeds.
    in_flight.write_all(second_half).unwrap();
    let answer = read_response(&mut in_flight, "the request in flight");
    assert_eq!(answer.status, 200, "the request in flight: {answer:?}");
    // Answered while draining: the connection is not kept.
    assert_eq!(
        answer
            .header("connection")
            .map(str::to_ascii_lowercase)
            .as_deref(),
        Some("close"),
        "{answer:?}"
    );
    let tokens = answer.json();
    let access = tokens["accessToken"].as_str().unwrap().to_owned();
    let refresh = tokens["refreshToken"].as_str().unwrap().to_owned();

    // 5. Exit 0, within the configured bound (and a few seconds).
    let status = server
        .exited(Duration::from_secs(
            SHUTDOWN_DRAIN_SECONDS + SHUTDOWN_TIMEOUT_SECONDS + 5,
        ))
        .await;
    assert_eq!(status.code(), Some(0), "{status}:\n{}", tail(server.log(), 40));

    // What the request in flight wrote is there: its session refreshes on
    // a new start, and its login's password upgrade was flushed.
    server.spawn();
    server.ready().await;
    let (status, reissued) = post(
        &client,
        format!("{}/api/auth/reissue-token", server.base()),
        &json!({"accessToken": access, "refreshToken": refresh}),
        None,
    )
    .await;
    assert_eq!(status, 200, "the in-flight login's session: {reissued}");
    assert_eq!(scheme(client.clone(), server.base()).await, "argon2id");
    server.stop_gracefully().await;
    assert_eq!(server.panics(), Vec::<String>::new(), "panics in the log");
    drop(server);
    drop(std::fs::remove_dir_all(&dir));
}

auth_infra::on_both_backends!(shutdown_sequence);

/// nginx running the shipped `deploy/nginx.conf`, rendered for the test;
/// stopped on drop.
struct Nginx {
    dir: PathBuf,
    port: u16,
    child: Child,
}

impl Nginx {
    /// Debian's nginx (`/usr/sbin/nginx`) or one on `PATH`.
    fn binary() -> PathBuf {
        let on_path = std::env::var_os("PATH")
            .map(|paths| {
                std::env::split_paths(&paths)
                    .map(|p| p.join("nginx"))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        on_path
            .into_iter()
            .chain([PathBuf::from("/usr/sbin/nginx")])
            .find(|p| p.is_file())
            .unwrap_or_else(|| {
                panic!(
                    "this test needs nginx (Debian's package): `apt-get install nginx` \
                     (it runs deploy/nginx.conf in front of two instances)"
                )
            })
    }

    /// `deploy/nginx.conf` with the substitutions of `deploy/check/nginx.sh`
    /// (one for each of its `sed` expressions), the upstream servers being
    /// `upstreams` in order.
    fn render(shipped: &str, upstreams: &[u16], port: u16, dir: &Path) -> String {
        let conf = dir.join("conf");
        let logs = dir.join("logs");
        let mut next_upstream = upstreams.iter();
        let mut out = String::new();
        for line in shipped.lines() {
            let indent = &line[..line.len() - line.trim_start().len()];
            let trimmed = line.trim_start();
            if let Some(rest) = trimmed.strip_prefix("server 10.0.0.")
                && rest
                    .strip_suffix(":8080;")
                    .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            {
                let upstream = next_upstream
                    .next()
                    .expect("rendering: more upstream servers in deploy/nginx.conf than instances");
                out.push_str(&format!(
                    "{indent}server 127.0.0.1:{upstream};   # test: an instance\n"
                ));
            } else if trimmed == "listen 443 ssl http2;" {
                out.push_str(&format!(
                    "{indent}listen 127.0.0.1:{port};   # test: plain HTTP on loopback\n"
                ));
            } else if trimmed.starts_with("ssl_certificate ") || trimmed.starts_with("ssl_certificate_key ") {
                // test: no certificate
            } else if trimmed == "allow 10.0.0.0/8;" {
                out.push_str(&format!(
                    "{line}\n{indent}allow 127.0.0.1;   # test: the test client\n"
                ));
            } else if let Some(rest) = trimmed.strip_prefix("include /etc/nginx/") {
                out.push_str(&format!("{indent}include {}/{rest}\n", conf.display()));
            } else if let Some(rest) = trimmed.strip_prefix("access_log /var/log/nginx/") {
                out.push_str(&format!("{indent}access_log {}/{rest}\n", logs.display()));
            } else {
                out.push_str(line);
                out.push('\n');
            }
        }
        assert!(
            next_upstream.next().is_none(),
            "rendering: deploy/nginx.conf has fewer `server 10.0.0.N:8080;` upstream lines than {upstreams:?}"
        );
        assert!(
            out.contains(&format!("listen 127.0.0.1:{port};")),
            "rendering: no `listen 443 ssl http2;` line in deploy/nginx.conf"
        );
        let left = out
            .lines()
            .map(str::trim_start)
            .find(|l| (l.starts_with("listen ") && l.contains("ssl")) || l.starts_with("server 10."));
        assert!(
            left.is_none(),
            "rendering: {left:?} is left in deploy/nginx.conf (the rendering no longer matches the file)"
        );
        out
    }

    /// Renders the configuration, checks it with `nginx -t` and starts
    /// nginx on `port` in front of `upstreams`; returns once `/readyz` answers 200
    /// through it.
    async fn start(upstreams: &[u16], port: u16, dir: &Path) -> Self {
        let nginx = Self::binary();
        let deploy = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy");
        let shipped = std::fs::read_to_string(deploy.join("nginx.conf")).unwrap();
        for sub in ["conf", "logs", "temp"] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        std::fs::write(
            dir.join("conf/auth.conf"),
            Self::render(&shipped, upstreams, port, dir),
        )
        .unwrap();
        std::fs::copy(
            deploy.join("nginx-proxy-params.conf"),
            dir.join("conf/auth_proxy_params"),
        )
        .unwrap();
        // nginx's main context, as deploy/check/nginx.sh writes it: as root
        // the workers run as nobody.
        let mut user_line = "";
        if rustix::process::geteuid().is_root() {
            user_line = "user nobody nogroup;";
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o711)).unwrap();
            let chown = Command::new("chown")
                .arg("nobody")
                .arg(dir.join("temp"))
                .status()
                .unwrap();
            assert!(chown.success(), "chown nobody {}", dir.join("temp").display());
        }
        let d = dir.display();
        std::fs::write(
            dir.join("conf/nginx.conf"),
            format!(
                "{user_line}
worker_processes 1;
pid {d}/nginx.pid;
lock_file {d}/nginx.lock;
error_log {d}/logs/error.log error;
events {{ worker_connections 256; }}
http {{
    access_log {d}/logs/access.log;
    client_body_temp_path {d}/temp/body;
    proxy_temp_path {d}/temp/proxy;
    fastcgi_temp_path {d}/temp/fastcgi;
    uwsgi_temp_path {d}/temp/uwsgi;
    scgi_temp_path {d}/temp/scgi;
    include {d}/conf/auth.conf;
}}
"
            ),
        )
        .unwrap();
        let args = |cmd: &mut Command| {
            cmd.arg("-p")
                .arg(format!("{d}/"))
                .arg("-c")
                .arg(dir.join("conf/nginx.conf"))
                .arg("-e")
                .arg(dir.join("logs/error.log"));
        };
        let mut test = Command::new(&nginx);
        args(&mut test);
        let tested = test.args(["-t", "-q"]).output().unwrap();
        assert!(
            tested.status.success(),
            "nginx -t refused the rendering of deploy/nginx.conf: {}",
            String::from_utf8_lossy(&tested.stderr)
        );
        let out = std::fs::File::create(dir.join("nginx.out")).unwrap();
        let mut run = Command::new(&nginx);
        args(&mut run);
        let child = run
            .args(["-g", "daemon off;"])
            .stdin(Stdio::null())
            .stdout(Stdio::from(out.try_clone().unwrap()))
            .stderr(Stdio::from(out))
            .spawn()
            .unwrap();
        let mut nginx = Self {
            dir: dir.to_owned(),
            port,
            child,
        };
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = nginx.child.try_wait().unwrap() {
                panic!("nginx exited with {status}: {}", tail(&dir.join("nginx.out"), 20));
            }
            let ready = client.get(format!("{}/readyz", nginx.base())).send().await;
            if ready.is_ok_and(|r| r.status().is_success()) {
                return nginx;
            }
            assert!(
                Instant::now() < deadline,
                "GET /readyz through nginx not 200 within 10 s: {}",
                tail(&nginx.error_log(), 20)
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn error_log(&self) -> PathBuf {
        self.dir.join("logs/error.log")
    }

    fn access_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("logs/auth.access.log")).unwrap_or_default()
    }

    /// Whether a request answered after byte `from` of the access log was
    /// served by the instance on `port` (the last upstream address tried,
    /// `upstream=… 127.0.0.1:PORT `, with a status below 500).
    fn served_by_since(&self, from: usize, port: u16) -> bool {
        let log = self.access_log();
        let needle = format!("127.0.0.1:{port} ");
        log.get(from..).unwrap_or_default().lines().any(|line| {
            let status_ok = line
                .split('"')
                .nth(2)
                .and_then(|after| after.split_whitespace().next())
                .is_some_and(|s| s.starts_with(['1', '2', '3', '4']));
            status_ok
                && line
                    .split_once("upstream=")
                    .is_some_and(|(_, u)| u.starts_with(&needle) || u.contains(&format!(", {needle}")))
        })
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = rustix::process::kill_process(
            rustix::process::Pid::from_child(&self.child),
            rustix::process::Signal::TERM,
        );
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        drop(self.child.kill());
        drop(self.child.wait());
    }
}

/// Lines, each with the time since the load started: what went wrong
/// through the proxy, or what the test did.
#[derive(Clone)]
struct Timeline {
    list: Arc<Mutex<Vec<String>>>,
    t0: Instant,
}

impl Timeline {
    fn push(&self, what: String) {
        let at = self.t0.elapsed().as_secs_f64();
        self.list.lock().unwrap().push(format!("{at:7.3}s {what}"));
    }
}

/// What one load loop did and acknowledged.
#[derive(Default)]
struct LoadReport {
    requests: u64,
    logins: u64,
    /// `(user id, session id)` of every login answered 200.
    sessions: Vec<(i64, String)>,
    /// The pair of the last reissue answered 200.
    last_pair: Option<(String, String)>,
}

/// One request of a load loop: the body when it got `want`, else a
/// failure recorded.
async fn expect(
    report: &mut LoadReport,
    failures: &Timeline,
    what: &str,
    request: reqwest::RequestBuilder,
    want: u16,
) -> Option<Value> {
    report.requests += 1;
    match request.send().await {
        Err(e) => {
            failures.push(format!("{what}: {e}"));
            None
        }
        Ok(r) => {
            let status = r.status().as_u16();
            let body = r.text().await.unwrap_or_default();
            if status == want {
                Some(serde_json::from_str(&body).unwrap_or(Value::Null))
            } else {
                failures.push(format!(
                    "{what}: {status} {}",
                    body.chars().take(200).collect::<String>()
                ));
                None
            }
        }
    }
}

/// Reissues (rotation) after each login of a load loop.
const REISSUES: usize = 4;

/// Logins, each followed by [`REISSUES`] reissues (rotation) and a `GET
/// /api/auth/me` after each, through the proxy, until `stop`.
async fn load_loop(
    proxy: String,
    users: Arc<Vec<(i64, String)>>,
    first: usize,
    step: usize,
    stop: tokio::sync::watch::Receiver<bool>,
    failures: Timeline,
) -> LoadReport {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let mut report = LoadReport::default();
    let mut n = first;
    while !*stop.borrow() {
        let (user_id, login_id) = &users[n % users.len()];
        n += step;
        let Some(tokens) = expect(
            &mut report,
            &failures,
            "POST /api/auth/login",
            client
                .post(format!("{proxy}/api/auth/login"))
                .json(&json!({"username": login_id, "password": PASSWORD})),
            200,
        )
        .await
        else {
            continue;
        };
        report.logins += 1;
        let mut access = tokens["accessToken"].as_str().unwrap().to_owned();
        let mut refresh = tokens["refreshToken"].as_str().unwrap().to_owned();
        let sid = claim(&access, "sid");
        report.sessions.push((*user_id, sid.clone()));
        for _ in 0..REISSUES {
            let Some(pair) = expect(
                &mut report,
                &failures,
                "POST /api/auth/reissue-token",
                client
                    .post(format!("{proxy}/api/auth/reissue-token"))
                    .json(&json!({"accessToken": access, "refreshToken": refresh})),
                200,
            )
            .await
            else {
                break;
            };
            access = pair["accessToken"].as_str().unwrap().to_owned();
            refresh = pair["refreshToken"].as_str().unwrap().to_owned();
            report.last_pair = Some((access.clone(), refresh.clone()));
            if let Some(me) = expect(
                &mut report,
                &failures,
                "GET /api/auth/me",
                client.get(format!("{proxy}/api/auth/me")).bearer_auth(&access),
                200,
            )
            .await
                && me["sessionId"] != json!(sid)
            {
                failures.push(format!("GET /api/auth/me: session {} for {sid}", me["sessionId"]));
            }
        }
    }
    report
}

/// What one socket saw.
#[derive(Default, Debug)]
struct SocketReport {
    connects: u64,
    going_away: u64,
    /// Close frames other than 1001, and connections lost without one.
    other_ends: Vec<String>,
    /// Still connected when the load stopped (a ping came back).
    ended_connected: bool,
}

/// A socket through the proxy that reconnects whenever it is closed, until
/// `stop`; then checks that it is still connected.
async fn socket_loop(
    index: usize,
    url: String,
    mut stop: tokio::sync::watch::Receiver<bool>,
    failures: Timeline,
) -> SocketReport {
    let mut report = SocketReport::default();
    loop {
        if *stop.borrow() {
            return report;
        }
        let connected = tokio::time::timeout(
            Duration::from_secs(10),
            tokio_tungstenite::connect_async(url.as_str()),
        )
        .await;
        let mut ws = match connected {
            Ok(Ok((ws, _))) => ws,
            Ok(Err(e)) => {
                failures.push(format!("socket {index}: handshake: {e}"));
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
            Err(_) => {
                failures.push(format!("socket {index}: handshake: no answer within 10 s"));
                continue;
            }
        };
        report.connects += 1;
        loop {
            tokio::select! {
                message = ws.next() => match message {
                    Some(Ok(Message::Close(Some(frame)))) if frame.code == CloseCode::Away => {
                        report.going_away += 1;
                        break;
                    }
                    Some(Ok(Message::Close(frame))) => {
                        report.other_ends.push(format!("close frame {frame:?}"));
                        break;
                    }
                    Some(Ok(_)) => {}
                    Some(Err(e)) => {
                        report.other_ends.push(format!("lost without a close frame: {e}"));
                        break;
                    }
                    None => {
                        report.other_ends.push("ended without a close frame".to_owned());
                        break;
                    }
                },
                _ = stop.changed() => {
                    drop(ws.send(Message::Ping(b"still there?".to_vec().into())).await);
                    let pong = tokio::time::timeout(Duration::from_secs(5), async {
                        while let Some(Ok(message)) = ws.next().await {
                            if matches!(message, Message::Pong(_)) {
                                return true;
                            }
                        }
                        false
                    })
                    .await;
                    report.ended_connected = pong == Ok(true);
                    drop(ws.close(None).await);
                    return report;
                }
            }
        }
    }
}

/// Restarts one instance as an operator would: SIGTERM, exit 0, start
/// again on the same port, ready, and back in the proxy's rotation (a
/// request answered by it through nginx, which retries an instance it
/// found down only after `fail_timeout`, 10 s by default).
async fn restart(instance: &mut Instance, nginx: &Nginx, events: &Timeline) {
    events.push(format!("SIGTERM {}", instance.name));
    instance.stop_gracefully().await;
    events.push(format!("{} exited 0", instance.name));
    instance.spawn();
    instance.ready().await;
    events.push(format!("{} ready again", instance.name));
    let mark = nginx.access_log().len();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !nginx.served_by_since(mark, instance.port) {
        assert!(
            Instant::now() < deadline,
            "nginx sent nothing to the restarted {} within 20 s",
            instance.name
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    events.push(format!("{} serves through nginx again", instance.name));
}

/// Two instances share one database only on PostgreSQL (SQLite is for one
/// instance: `docs/operations.md`, "Several instances"), so this runs on
/// PostgreSQL alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rolling_restart_behind_nginx() {
    const ACCOUNTS: usize = 20;
    const LOAD_LOOPS: usize = 8;
    const SOCKETS: usize = 10;
    let db = TestDatabase::new(TestBackend::Postgres);
    let dir = temp_dir("rolling");
    let proxy_port = free_port();
    // The issuer both instances share: the proxy's address.
    let proxy = format!("http://127.0.0.1:{proxy_port}");
    let mut one = Instance::new("instance-1", db.url(), &proxy, &dir);
    let mut two = Instance::new("instance-2", db.url(), &proxy, &dir);
    // One after the other: the first generates the signing keys.
    one.spawn();
    one.ready().await;
    two.spawn();
    two.ready().await;
    let nginx = Nginx::start(&[one.port, two.port], proxy_port, &dir.join("nginx")).await;

    let client = reqwest::Client::new();
    let mut users = Vec::new();
    for i in 0..ACCOUNTS {
        let login = format!("rolling{i:02}");
        let (status, body) = post(
            &client,
            format!("{proxy}/api/auth/sign-up"),
            &json!({"authId": login, "password": PASSWORD, "name": "재시작", "email": format!("{login}@example.com")}),
            None,
        )
        .await;
        assert_eq!(status, 200, "sign-up {login}: {body}");
        users.push((body["data"]["id"].as_i64().unwrap(), login));
    }
    let users = Arc::new(users);

    let t0 = Instant::now();
    let failures = Timeline {
        list: Arc::default(),
        t0,
    };
    let events = Timeline {
        list: Arc::default(),
        t0,
    };
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    let mut sockets = Vec::new();
    for i in 0..SOCKETS {
        let (access, _) = login(&client, &proxy, &users[i % ACCOUNTS].1, PASSWORD).await;
        let url = format!("ws://127.0.0.1:{}/ws?token={access}", nginx.port);
        sockets.push(tokio::spawn(socket_loop(i, url, stop.clone(), failures.clone())));
    }
    let loops: Vec<_> = (0..LOAD_LOOPS)
        .map(|k| {
            tokio::spawn(load_loop(
                proxy.clone(),
                users.clone(),
                k,
                LOAD_LOOPS,
                stop.clone(),
                failures.clone(),
            ))
        })
        .collect();

    tokio::time::sleep(Duration::from_secs(2)).await;
    restart(&mut one, &nginx, &events).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    restart(&mut two, &nginx, &events).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    events.push("load stopped".to_owned());
    stop_tx.send(true).unwrap();

    let mut reports = Vec::new();
    for task in loops {
        reports.push(task.await.unwrap());
    }
    let mut socket_reports = Vec::new();
    for task in sockets {
        socket_reports.push(task.await.unwrap());
    }

    let requests: u64 = reports.iter().map(|r| r.requests).sum();
    let logins: u64 = reports.iter().map(|r| r.logins).sum();
    let reconnections: u64 = socket_reports.iter().map(|r| r.connects.saturating_sub(1)).sum();
    println!(
        "load: {requests} requests ({logins} logins) in {:.1} s; sockets: {reconnections} reconnections, \
         1001 closes per socket {:?}",
        t0.elapsed().as_secs_f64(),
        socket_reports.iter().map(|r| r.going_away).collect::<Vec<_>>()
    );
    println!("timeline:\n  {}", events.list.lock().unwrap().join("\n  "));
    // Requests nginx sent to one instance and then resent to the other
    // (`upstream=A, B` in its access log).
    let log = nginx.access_log();
    let resent: Vec<&str> = log
        .lines()
        .filter(|l| {
            l.split_once("upstream=").is_some_and(|(_, u)| {
                u.starts_with(|c: char| c.is_ascii_digit())
                    && u.split(' ').next().is_some_and(|a| a.ends_with(','))
            })
        })
        .collect();
    let resent_posts = resent.iter().filter(|l| l.contains("\"POST ")).count();
    println!(
        "nginx resent {} requests to the other instance ({resent_posts} POSTs)",
        resent.len()
    );

    let failed = failures.list.lock().unwrap().clone();
    assert!(
        failed.is_empty(),
        "{} of {requests} requests (and socket handshakes) failed through nginx (the first 40):\n  {}\n\
         timeline:\n  {}\nnginx error log:\n{}",
        failed.len(),
        failed.iter().take(40).cloned().collect::<Vec<_>>().join("\n  "),
        events.list.lock().unwrap().join("\n  "),
        tail(&nginx.error_log(), 30)
    );
    assert!(
        logins > 0 && requests > 3 * logins,
        "no load ran: {requests} requests"
    );
    for (i, report) in socket_reports.iter().enumerate() {
        assert!(
            report.going_away >= 1 && report.connects >= 2,
            "socket {i} was not closed with 1001 and reconnected: {report:?}"
        );
        assert!(
            report.other_ends.is_empty(),
            "socket {i} ended otherwise than with 1001: {report:?}"
        );
        assert!(
            report.ended_connected,
            "socket {i} is not connected at the end: {report:?}"
        );
    }

    // Every acknowledged write is there: the last refreshed pair of each
    // loop refreshes again, and every session an answered login opened is
    // live.
    for (k, report) in reports.iter().enumerate() {
        let (access, refresh) = report.last_pair.clone().expect("a loop reissued nothing");
        let (status, body) = post(
            &client,
            format!("{proxy}/api/auth/reissue-token"),
            &json!({"accessToken": access, "refreshToken": refresh}),
            None,
        )
        .await;
        assert_eq!(status, 200, "loop {k}'s last refresh token: {body}");
    }
    let mut acknowledged: HashMap<i64, Vec<String>> = HashMap::new();
    for (user, sid) in reports.iter().flat_map(|r| r.sessions.iter()) {
        acknowledged.entry(*user).or_default().push(sid.clone());
    }
    let mut missing = Vec::new();
    for (user, sids) in &acknowledged {
        let (status, body) = get(
            &client,
            format!("{}/internal/users/{user}/sessions", one.base()),
            ADMIN_TOKEN,
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let live: HashSet<&str> = body["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap())
            .collect();
        missing.extend(
            sids.iter()
                .filter(|sid| !live.contains(sid.as_str()))
                .map(|sid| (*user, sid.clone())),
        );
    }
    assert!(
        missing.is_empty(),
        "{} of {logins} acknowledged logins have no live session: {missing:?}",
        missing.len()
    );
    for instance in [&one, &two] {
        assert_eq!(instance.panics(), Vec::<String>::new(), "{}", instance.name);
    }
    drop(nginx);
    drop((one, two));
    drop(std::fs::remove_dir_all(&dir));
}
