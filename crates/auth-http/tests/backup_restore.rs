//! The restore drill of `auth-server backup FILE`, on each backend, with the
//! real binary: a server runs on a fresh database with accounts, a `chat`
//! application and live sessions; while logins and refreshes keep it
//! writing, `backup` copies the database. The copy is restored the way
//! `docs/operations.md` says (SQLite: the file copied into place;
//! PostgreSQL: `pg_restore --no-owner` into a new database), a second
//! server starts on it with the same key-encryption key and public URL, and
//! everything present at the backup works there: every account logs in,
//! the access and refresh tokens issued before the backup are accepted, the
//! published keys and `keys list` are the same and new tokens are signed
//! with the same key, and the application's `App-Id` login works.
//! `backup` onto an existing file is refused and leaves it as it was; on
//! PostgreSQL without `pg_dump` on `PATH` it fails naming `pg_dump`.
// Helpers outside #[test] functions are not "in tests" for clippy.toml's
// allow-*-in-tests, so an integration-test file still allows them itself.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use auth_infra::testdb::{TestBackend, TestDatabase};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

const PASSWORD: &str = "BackupDrill1!";
const KEK: &str = "backup-drill-kek-0123456789abcdef-0123";
/// The issuer both servers share, as a deployment keeps its public URL
/// across a restore (tokens carry it as `iss`).
const PUBLIC_URL: &str = "http://auth.backup-drill.test";

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("auth-{tag}-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The binary with a clean environment: the database, the key-encryption
/// key, the public URL, the outbox, and `extra`. No `AUTH_JWT_SECRET`: the
/// HS256 secret of refresh tokens is generated into the database, so the
/// backup has to carry it.
fn command(db_url: &str, dir: &Path, extra: &[(&str, &str)]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_auth-server"));
    c.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("AUTH_DATABASE_URL", db_url)
        .env("AUTH_DATABASE_POOL_SIZE", "4")
        .env("AUTH_KEY_ENCRYPTION_KEY", KEK)
        .env("AUTH_PUBLIC_URL", PUBLIC_URL)
        .env("AUTH_MAIL_DIR", dir.join("outbox"))
        .envs(extra.iter().copied())
        .current_dir(dir)
        .stdin(Stdio::null());
    c
}

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

/// Imports accounts with `{noop}` passwords (argon2id after their first
/// login) through `users import`.
fn import(db_url: &str, dir: &Path, logins: &[String]) {
    let file = dir.join("users.ndjson");
    let lines: String = logins
        .iter()
        .map(|l| {
            format!(
                "{}\n",
                json!({"loginId": l, "email": format!("{l}@example.com"), "name": "백업", "passwordHash": format!("{{noop}}{PASSWORD}")})
            )
        })
        .collect();
    std::fs::write(&file, lines).unwrap();
    let report = run_ok(db_url, dir, &["users", "import", file.to_str().unwrap()]);
    assert_eq!(report["imported"], json!(logins.len()), "{report}");
}

/// `auth-server serve` on a free port, killed on drop.
struct Server {
    child: Child,
    base: String,
    http: reqwest::Client,
}

impl Drop for Server {
    fn drop(&mut self) {
        drop(self.child.kill());
        drop(self.child.wait());
    }
}

async fn serve(db_url: &str, dir: &Path, log_name: &str) -> Server {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let log_path = dir.join(log_name);
    let log = std::fs::File::create(&log_path).unwrap();
    let bind = format!("127.0.0.1:{port}");
    let settings = [
        ("AUTH_BIND", bind.as_str()),
        ("AUTH_WORKERS", "2"),
        ("AUTH_RATE_LIMIT_ENABLED", "false"),
    ];
    let child = command(db_url, dir, &settings)
        .stdout(Stdio::from(log.try_clone().unwrap()))
        .stderr(Stdio::from(log))
        .spawn()
        .unwrap();
    let mut server = Server {
        child,
        base: format!("http://127.0.0.1:{port}"),
        http: reqwest::Client::new(),
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
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
    async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .json(body)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str, bearer: Option<&str>) -> (u16, Value) {
        let mut request = self.http.get(format!("{}{path}", self.base));
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        let r = request.send().await.unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    /// A `session` contract login: `(accessToken, refreshToken)`.
    async fn session(&self, login: &str) -> (String, String) {
        let (status, body) = self
            .post("/api/login", &json!({"userId": login, "password": PASSWORD}))
            .await;
        assert_eq!(status, 200, "{login}: {body}");
        (
            body["accessToken"].as_str().unwrap().to_owned(),
            body["refreshToken"].as_str().unwrap().to_owned(),
        )
    }

    /// `POST /auth/login` of the `chat` contract with a token the
    /// application's backend signed with its secret.
    async fn chat_login(&self, app_id: &str, secret: &str, user: &str) -> (u16, Value) {
        let token = app_token(secret, user);
        let r = self
            .http
            .post(format!("{}/auth/login", self.base))
            .header("App-Id", app_id)
            .header("Authorization", format!("Bearer {token}"))
            .json(&json!({"userId": user}))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }
}

/// HMAC-SHA256 (RFC 2104); the key is at most one block here (the 64
/// characters of an application secret).
fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    assert!(key.len() <= 64);
    let mut block = [0u8; 64];
    block[..key.len()].copy_from_slice(key);
    let pad = |byte: u8| block.iter().map(|b| b ^ byte).collect::<Vec<u8>>();
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .to_vec()
}

/// An HS256 token for `user`, signed as an application's backend does
/// (`docs/contracts/chat.md`).
fn app_token(secret: &str, user: &str) -> String {
    let exp = chrono::Utc::now().timestamp() + 600;
    let header = URL_SAFE_NO_PAD.encode(json!({"alg": "HS256", "typ": "JWT"}).to_string());
    let claims = URL_SAFE_NO_PAD.encode(json!({"sub": user, "exp": exp}).to_string());
    let signing_input = format!("{header}.{claims}");
    let signature = URL_SAFE_NO_PAD.encode(hmac_sha256(secret.as_bytes(), signing_input.as_bytes()));
    format!("{signing_input}.{signature}")
}

/// The `kid` in a JWT's header.
fn kid_of(token: &str) -> String {
    let header = token.split('.').next().unwrap();
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
    header["kid"].as_str().unwrap().to_owned()
}

/// The files in `dir` a backup left under its temporary name.
fn partial_files(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains(".partial-"))
        .collect()
}

/// Logins and refreshes (`standard` contract: several sessions per user,
/// so the sessions opened before the backup stay live) on `server`'s
/// accounts until stopped: the database is being written while the backup
/// runs.
struct Load {
    stop: Arc<AtomicBool>,
    done: Arc<AtomicU64>,
    tasks: Vec<tokio::task::JoinHandle<Vec<String>>>,
}

impl Load {
    fn start(server: &Arc<Server>, logins: &[String]) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let done = Arc::new(AtomicU64::new(0));
        let tasks = logins
            .iter()
            .take(3)
            .map(|login| {
                let (server, login) = (Arc::clone(server), login.clone());
                let (stop, done) = (Arc::clone(&stop), Arc::clone(&done));
                tokio::spawn(async move {
                    let mut failures = Vec::new();
                    while !stop.load(Ordering::Relaxed) {
                        let (status, pair) = server
                            .post(
                                "/api/auth/login",
                                &json!({"username": login, "password": PASSWORD}),
                            )
                            .await;
                        if status != 200 {
                            failures.push(format!("login {status}: {pair}"));
                            continue;
                        }
                        let tokens =
                            json!({"accessToken": pair["accessToken"], "refreshToken": pair["refreshToken"]});
                        let (status, body) = server.post("/api/auth/reissue-token", &tokens).await;
                        if status == 200 {
                            done.fetch_add(1, Ordering::Relaxed);
                        } else {
                            failures.push(format!("reissue {status}: {body}"));
                        }
                    }
                    failures
                })
            })
            .collect();
        Self { stop, done, tasks }
    }

    fn done(&self) -> u64 {
        self.done.load(Ordering::Relaxed)
    }

    /// Waits until `n` more rounds than `from` have succeeded.
    async fn wait_past(&self, from: u64, n: u64) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.done() < from + n {
            assert!(Instant::now() < deadline, "the load made no progress in 60 s");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stops the load; every failed request.
    async fn stop(self) -> Vec<String> {
        self.stop.store(true, Ordering::Relaxed);
        let mut failures = Vec::new();
        for task in self.tasks {
            failures.extend(task.await.unwrap());
        }
        failures
    }
}

/// Puts the backup `file` into the empty database `target` as
/// `docs/operations.md` says.
fn restore(backend: TestBackend, file: &Path, target: &TestDatabase) {
    match backend {
        TestBackend::Sqlite => {
            let path = target.url().strip_prefix("sqlite://").unwrap();
            std::fs::copy(file, path).unwrap();
        }
        TestBackend::Postgres => {
            let out = Command::new("pg_restore")
                .args(["--no-owner", "--dbname", target.url()])
                .arg(file)
                .stdin(Stdio::null())
                .output()
                .expect("pg_restore (PostgreSQL's client tools) must be installed for this test");
            assert!(
                out.status.success(),
                "pg_restore failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

async fn backup_restore_drill(backend: TestBackend) {
    let source = TestDatabase::new(backend);
    let url = source.url().to_owned();
    let dir = temp_dir("backup-drill");
    let suffix = &uuid::Uuid::new_v4().simple().to_string()[..8];
    let logins: Vec<String> = (0..5).map(|i| format!("drill{i}{suffix}")).collect();
    import(&url, &dir, &logins);
    let app = run_ok(&url, &dir, &["apps", "create", "--name", "chat"]);
    let (app_id, secret) = (
        app["appId"].as_str().unwrap().to_owned(),
        app["secret"].as_str().unwrap().to_owned(),
    );
    let server = Arc::new(serve(&url, &dir, "original.log").await);
    let (status, body) = server.chat_login(&app_id, &secret, "chat-user-1").await;
    assert_eq!(
        status, 200,
        "the application's login works before the backup: {body}"
    );

    // What exists at the backup: a session per account, the keys.
    let mut sessions = Vec::new();
    for login in &logins {
        sessions.push((login.clone(), server.session(login).await));
    }
    let mut me_before = Vec::new();
    for (_, (access, _)) in &sessions {
        let (status, me) = server.get("/api/auth/me", Some(access)).await;
        assert_eq!(status, 200, "{me}");
        me_before.push(me);
    }
    let (status, jwks_before) = server.get("/.well-known/jwks.json", None).await;
    assert_eq!(status, 200, "{jwks_before}");
    let keys_before = run_ok(&url, &dir, &["keys", "list"]);
    assert_eq!(keys_before["source"], "database", "{keys_before}");
    let signing_kid = kid_of(&sessions[0].1.0);
    let published = |jwks: &Value, kid: &str| {
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["kid"] == kid)
            .cloned()
    };
    let signing_jwk = published(&jwks_before, &signing_kid).expect("the signing key is published");

    // The backup, while logins and refreshes write.
    let load = Load::start(&server, &logins);
    load.wait_past(0, 5).await;
    let file = dir.join("auth.backup");
    let out = {
        let (url, dir, file) = (url.clone(), dir.clone(), file.clone());
        tokio::task::spawn_blocking(move || run(&url, &dir, &["backup", file.to_str().unwrap()], &[]))
            .await
            .unwrap()
    };
    assert!(
        out.status.success(),
        "backup failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let at_backup = load.done();
    load.wait_past(at_backup, 5).await;
    let failures = load.stop().await;
    assert!(
        failures.is_empty(),
        "requests failed while the backup ran: {failures:?}"
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let bytes = std::fs::metadata(&file).unwrap().len();
    let backend_name = match backend {
        TestBackend::Sqlite => "sqlite",
        TestBackend::Postgres => "postgresql",
    };
    assert_eq!(report["backend"], backend_name, "{report}");
    assert_eq!(report["file"], file.to_str().unwrap(), "{report}");
    assert_eq!(report["bytes"], json!(bytes), "{report}");
    assert!(bytes > 0);
    if backend == TestBackend::Postgres {
        assert!(
            report["pgDumpVersion"]
                .as_str()
                .is_some_and(|v| v.starts_with("pg_dump")),
            "{report}"
        );
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("pg_restore --no-owner --dbname"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "a backup holds the keys: only its owner reads it");
    }

    // An existing file is refused and left as it was; nothing half-written.
    let kept = std::fs::read(&file).unwrap();
    let again = run(&url, &dir, &["backup", file.to_str().unwrap()], &[]);
    assert!(!again.status.success(), "backup overwrote {}", file.display());
    assert!(again.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(stderr.contains("already exists"), "{stderr}");
    assert_eq!(std::fs::read(&file).unwrap(), kept, "the existing file changed");
    assert!(partial_files(&dir).is_empty(), "{:?}", partial_files(&dir));

    if backend == TestBackend::Postgres {
        // Without pg_dump on PATH: refused, naming it, no file.
        let empty = dir.join("empty-path");
        std::fs::create_dir_all(&empty).unwrap();
        let missing = dir.join("no-pg-dump.backup");
        let out = run(
            &url,
            &dir,
            &["backup", missing.to_str().unwrap()],
            &[("PATH", empty.to_str().unwrap())],
        );
        assert!(!out.status.success(), "a backup without pg_dump succeeded");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("pg_dump"), "{stderr}");
        assert!(!missing.exists());
        assert!(partial_files(&dir).is_empty(), "{:?}", partial_files(&dir));
    }

    // Restore into a new database; the original server is gone.
    drop(Arc::into_inner(server).expect("the load released the server"));
    let restored = TestDatabase::new(backend);
    restore(backend, &file, &restored);
    let server = serve(restored.url(), &dir, "restored.log").await;

    for login in &logins {
        let (status, body) = server
            .post(
                "/api/auth/login",
                &json!({"username": login, "password": PASSWORD}),
            )
            .await;
        assert_eq!(status, 200, "{login} logs in after the restore: {body}");
        assert_eq!(
            kid_of(body["accessToken"].as_str().unwrap()),
            signing_kid,
            "new tokens are signed with the same key"
        );
    }
    for ((login, (access, refresh)), before) in sessions.iter().zip(&me_before) {
        let (status, me) = server.get("/api/auth/me", Some(access)).await;
        assert_eq!(status, 200, "{login}'s access token from before the backup: {me}");
        assert_eq!(&me, before);
        let (status, body) = server
            .post("/api/token/refresh", &json!({"refreshToken": refresh}))
            .await;
        assert_eq!(
            status, 200,
            "{login}'s refresh token from before the backup: {body}"
        );
    }
    let (status, jwks_after) = server.get("/.well-known/jwks.json", None).await;
    assert_eq!(status, 200, "{jwks_after}");
    assert_eq!(jwks_after, jwks_before, "the published keys are the same");
    assert_eq!(published(&jwks_after, &signing_kid), Some(signing_jwk));
    assert_eq!(
        run_ok(restored.url(), &dir, &["keys", "list"]),
        keys_before,
        "keys list is the same"
    );
    let (status, body) = server.chat_login(&app_id, &secret, "chat-user-2").await;
    assert_eq!(
        status, 200,
        "the application's App-Id login after the restore: {body}"
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

auth_infra::on_both_backends!(backup_restore_drill);
