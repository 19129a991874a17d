//! The hosted pages in a real browser: Debian's chromium, driven by
//! Playwright (`tests/browser/hosted-pages.mjs`), against an in-process
//! server on SQLite and on PostgreSQL. This file starts the server, creates
//! the user, registers two clients that are not first-party (one to allow,
//! one to deny) and listens on their redirect URIs; the script walks the
//! pages as a user would and checks what they show (see its steps).
//!
//! `signals_verify_with_jose` checks logout tokens and feed SETs with
//! `jose` in node (`tests/browser/signals.mjs`), no browser involved.
//!
//! Needs `/usr/bin/chromium` (or `BT_CHROMIUM`), `node`, and
//! `npm ci --prefix tests/browser`: without them the test fails and says
//! how to install them; it never skips. `.ci/run` installs all three.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use auth_contract_tests::{TestApp, TestBackend, on_both_backends, target};
use serde_json::json;

/// One browser at a time: the two backends' runs would otherwise share two
/// cores between two chromiums and two servers.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The script's own limit is 90 s; this one catches a hung `node`.
const SCRIPT_LIMIT: Duration = Duration::from_secs(150);

fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("browser")
}

fn chromium() -> String {
    std::env::var("BT_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned())
}

/// Fails (never skips) when the browser, node or the script's package is
/// missing, saying how to install them.
fn check_prerequisites() {
    let mut missing = Vec::new();
    let chromium = chromium();
    if !Path::new(&chromium).is_file() {
        missing.push(format!(
            "{chromium} (Debian: `apt-get install -y chromium chromium-driver`; or set BT_CHROMIUM)"
        ));
    }
    let node = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !node {
        missing.push("node 20 or later on PATH (Debian: `apt-get install -y nodejs npm`)".to_owned());
    }
    if !browser_dir()
        .join("node_modules/playwright-core/package.json")
        .is_file()
    {
        missing.push("tests/browser/node_modules (run `npm ci --prefix tests/browser`)".to_owned());
    }
    assert!(
        missing.is_empty(),
        "the browser test needs what is missing here (`.ci/run` installs all of it):\n  {}",
        missing.join("\n  ")
    );
}

/// The clients' side of the redirects: answers every request with a small
/// page and records its path and query.
struct RedirectListener {
    port: u16,
    seen: Arc<Mutex<Vec<(String, String)>>>,
}

impl RedirectListener {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
        let record = seen.clone();
        // Ends with the test process (a blocked accept holds nothing else).
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() {
                    continue;
                }
                // The headers, up to the blank line (a GET has no body).
                let mut header = String::new();
                while reader.read_line(&mut header).is_ok_and(|n| n > 2) {
                    header.clear();
                }
                let target = line.split_whitespace().nth(1).unwrap_or("").to_owned();
                let (path, query) = target.split_once('?').unwrap_or((&target, ""));
                let (status, body) = if path == "/favicon.ico" {
                    ("204 No Content", String::new())
                } else {
                    record.lock().unwrap().push((path.to_owned(), query.to_owned()));
                    (
                        "200 OK",
                        "<!doctype html><html lang=\"en\"><title>client</title><p>the client's page</p></html>"
                            .to_owned(),
                    )
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\ncontent-type: text/html; charset=utf-8\r\n\
                     content-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.flush();
            }
        });
        Self { port, seen }
    }

    fn uri(&self, path: &str) -> String {
        // `localhost`, not the issuer's 127.0.0.1: the client is another
        // site, so the SSO cookie's SameSite=Lax is really exercised.
        format!("http://localhost:{}{path}", self.port)
    }

    /// The queries received on `path`, each as its pairs.
    fn queries(&self, path: &str) -> Vec<Vec<(String, String)>> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|(p, _)| p == path)
            .map(|(_, q)| {
                q.split('&')
                    .filter(|kv| !kv.is_empty())
                    .map(|kv| {
                        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                        (k.to_owned(), v.to_owned())
                    })
                    .collect()
            })
            .collect()
    }
}

/// Registers a client that is not first-party; returns `(id, secret)`.
async fn register(app: &TestApp, name: &str, rp: &RedirectListener) -> (String, String) {
    let reply = app
        .post_with(
            "/internal/oauth-clients",
            &json!({
                "name": name,
                "redirectUris": [rp.uri("/cb")],
                "postLogoutRedirectUris": [rp.uri("/logged-out")],
                "scopes": ["openid", "profile", "email", "offline_access"],
                "firstParty": false,
            }),
            Some(&app.admin_token()),
        )
        .await;
    assert_eq!(reply.status, 201, "client registration: {}", reply.text);
    (reply.str("/clientId"), reply.str("/clientSecret"))
}

/// Runs the script with `vars`; its exit status and output (stdout then
/// stderr), killing it past [`SCRIPT_LIMIT`].
fn run_script(script: &str, vars: &[(&str, String)]) -> (bool, String) {
    let mut child = Command::new("node")
        .arg(script)
        .current_dir(browser_dir())
        .envs(vars.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("node did not start: {e}"));
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    let started = Instant::now();
    let (ok, note) = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break (status.success(), format!("node exited with {status}"));
        }
        if started.elapsed() > SCRIPT_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            break (false, format!("node killed after {SCRIPT_LIMIT:?}"));
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let out = format!(
        "{}{}\n({note}, {:.1} s)",
        stdout.join().unwrap(),
        stderr.join().unwrap(),
        started.elapsed().as_secs_f64()
    );
    (ok, out)
}

async fn hosted_pages_in_chromium(backend: TestBackend) {
    let _one = SERIAL.lock().await;
    check_prerequisites();
    let started = Instant::now();
    let target = target(backend);
    let app = TestApp::spawn_issuer(&target, |_| {}).await;
    let user = app.new_user().await;
    let mfa_user = app.new_user().await;
    let (mfa_secret, _) = auth_qa::scenarios::mfa::enrol_totp(&app, &mfa_user).await;
    let rp = RedirectListener::start();
    let name = "브라우저 테스트 앱";
    let (client_id, client_secret) = register(&app, name, &rp).await;
    let (deny_client_id, _) = register(&app, "Other app", &rp).await;
    // Passkeys need a domain: a second server whose public URL is
    // `http://localhost:PORT` (WebAuthn has no IP-address relying party).
    let port = auth_contract_tests::free_port();
    let pk_app = TestApp::spawn_with(&target, |c| {
        c.set("AUTH_BIND", format!("127.0.0.1:{port}"));
        c.set("AUTH_PUBLIC_URL", format!("http://localhost:{port}"));
    })
    .await;
    let pk_user = pk_app.new_user().await;
    let (pk_access, _) = pk_app.standard_login(&pk_user).await;
    let (pk_client_id, pk_client_secret) = register(&pk_app, "Passkey app", &rp).await;
    let vars = [
        ("BT_ISSUER", app.public_url().to_owned()),
        ("BT_USERNAME", user.login.clone()),
        ("BT_PASSWORD", user.password.clone()),
        ("BT_EMAIL", user.email.clone()),
        ("BT_CLIENT_ID", client_id),
        ("BT_CLIENT_SECRET", client_secret),
        ("BT_CLIENT_NAME", name.to_owned()),
        ("BT_DENY_CLIENT_ID", deny_client_id),
        ("BT_REDIRECT_URI", rp.uri("/cb")),
        ("BT_POST_LOGOUT_URI", rp.uri("/logged-out")),
        ("BT_CHROMIUM", chromium()),
        ("BT_MFA_USERNAME", mfa_user.login.clone()),
        ("BT_MFA_PASSWORD", mfa_user.password.clone()),
        ("BT_MFA_SECRET", mfa_secret),
        ("BT_PK_ISSUER", format!("http://localhost:{port}")),
        ("BT_PK_USERNAME", pk_user.login.clone()),
        ("BT_PK_PASSWORD", pk_user.password.clone()),
        ("BT_PK_ACCESS", pk_access),
        ("BT_PK_CLIENT_ID", pk_client_id),
        ("BT_PK_CLIENT_SECRET", pk_client_secret),
    ];
    let (ok, output) = tokio::task::spawn_blocking(move || run_script("hosted-pages.mjs", &vars))
        .await
        .unwrap();
    assert!(ok, "the browser test failed:\n{output}");
    println!("{output}");

    // What the client's side received agrees with what the browser showed.
    let has = |q: &[(String, String)], k: &str| q.iter().any(|(name, v)| name == k && !v.is_empty());
    let callbacks = rp.queries("/cb");
    let codes = callbacks
        .iter()
        .filter(|q| has(q, "code") && has(q, "state") && has(q, "iss"))
        .count();
    assert_eq!(codes, 6, "redirects with code, state and iss: {callbacks:?}");
    let denied = callbacks
        .iter()
        .filter(|q| q.iter().any(|(k, v)| k == "error" && v == "access_denied") && has(q, "state"))
        .count();
    assert_eq!(denied, 1, "redirects with error=access_denied: {callbacks:?}");
    let logouts = rp.queries("/logged-out");
    assert!(
        logouts.len() == 2 && logouts.iter().all(|q| has(q, "state")),
        "post-logout redirects with state: {logouts:?}"
    );
    println!("{backend:?}: {:.1} s in all", started.elapsed().as_secs_f64());
}

on_both_backends!(hosted_pages_in_chromium);

/// `GET` of an admin route.
async fn admin_get(app: &TestApp, path: &str) -> auth_qa::Reply {
    let bearer = format!("Bearer {}", app.admin_token());
    app.get_headers(path, &[("authorization", bearer.as_str())]).await
}

/// The live sessions of a user through the admin API, by contract.
async fn live_contracts(app: &TestApp, user: i64) -> Vec<String> {
    let reply = admin_get(app, &format!("/internal/users/{user}/sessions")).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.json["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["contract"].as_str().unwrap().to_owned())
        .collect()
}

/// The console and the account page (`tests/browser/console.mjs`): an
/// admin with password + TOTP revokes a user's session while its socket is
/// connected; a user enrols TOTP and a passkey, signs back in with the
/// passkey and ends another of their sessions; axe-core on every page.
async fn console_in_chromium(backend: TestBackend) {
    let _one = SERIAL.lock().await;
    check_prerequisites();
    let started = Instant::now();
    let target = target(backend);
    // Passkeys need a domain: the public URL is `http://localhost:PORT`.
    let port = auth_contract_tests::free_port();
    let app = TestApp::spawn_with(&target, |c| {
        c.set("AUTH_BIND", format!("127.0.0.1:{port}"));
        c.set("AUTH_PUBLIC_URL", format!("http://localhost:{port}"));
    })
    .await;
    let admin = app.new_user().await;
    let granted = app
        .post_with(
            &format!("/internal/users/{}/grant-admin", admin.id),
            &json!({}),
            Some(&app.admin_token()),
        )
        .await;
    assert_eq!(granted.status, 200, "grant-admin: {}", granted.text);
    let (admin_secret, _) = auth_qa::scenarios::mfa::enrol_totp(&app, &admin).await;
    let target_user = app.new_user().await;
    let (target_access, _) = app.standard_login(&target_user).await;
    let user = app.new_user().await;
    app.standard_login(&user).await;
    let shots = std::env::var("BT_SHOTS").unwrap_or_default();
    let vars = [
        ("BT_ISSUER", format!("http://localhost:{port}")),
        ("BT_ADMIN_USERNAME", admin.login.clone()),
        ("BT_ADMIN_PASSWORD", admin.password.clone()),
        ("BT_ADMIN_SECRET", admin_secret),
        ("BT_TARGET_LOGIN", target_user.login.clone()),
        ("BT_TARGET_ACCESS", target_access),
        ("BT_USER_USERNAME", user.login.clone()),
        ("BT_USER_PASSWORD", user.password.clone()),
        ("BT_CHROMIUM", chromium()),
        ("BT_SHOTS", shots),
    ];
    let (ok, output) = tokio::task::spawn_blocking(move || run_script("console.mjs", &vars))
        .await
        .unwrap();
    assert!(ok, "the console browser test failed:\n{output}");
    println!("{output}");

    // What the pages did is what is stored.
    assert!(
        !live_contracts(&app, target_user.id)
            .await
            .iter()
            .any(|c| c == "standard"),
        "the target's standard session was revoked"
    );
    let left = live_contracts(&app, user.id).await;
    assert!(
        !left.iter().any(|c| c == "standard"),
        "the user's other session ended: {left:?}"
    );
    let status = admin_get(&app, &format!("/internal/users/{}", user.id)).await;
    assert_eq!(status.json["user"]["mfa"]["totp"], true, "{}", status.text);
    assert_eq!(status.json["user"]["mfa"]["passkeys"], 1, "{}", status.text);
    let audit = admin_get(&app, &format!("/internal/audit?user={}", target_user.id)).await;
    assert!(
        audit.json["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "admin_session_revoke"),
        "the console's revoke is the API's audit event: {}",
        audit.text
    );
    println!("{backend:?}: {:.1} s in all", started.elapsed().as_secs_f64());
}

on_both_backends!(console_in_chromium);

/// Logout tokens and feed SETs of every ID-token algorithm, checked by
/// `jose` in node (`tests/browser/signals.mjs`): an implementation of JOSE
/// that is not the server's, reading the same JWKS a service reads.
async fn signals_verify_with_jose(backend: TestBackend) {
    check_prerequisites();
    let target = target(backend);
    let app = TestApp::spawn_issuer(&target, |_| {}).await;
    let rx = auth_qa::receiver::Receiver::start();
    let mut clients = Vec::new();
    for alg in ["ES256", "RS256", "EdDSA"] {
        let body = json!({"name": alg, "grantTypes": ["client_credentials"], "allSessions": true,
            "backchannelLogoutUri": rx.url(&format!("/{alg}")), "idTokenSignedResponseAlg": alg});
        let r = app
            .post_with("/internal/oauth-clients", &body, Some(&app.admin_token()))
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        clients.push((alg, r.str("/clientId"), r.str("/clientSecret")));
    }
    let user = app.new_user().await;
    let (access, _) = app.standard_login(&user).await;
    let claims = auth_qa::scenarios::jwt_claims(&access);
    let (sid, sub) = (
        claims["sid"].as_str().unwrap().to_owned(),
        claims["sub"].as_str().unwrap().to_owned(),
    );
    let out = app
        .post_empty("/api/auth/logout", Some(&format!("Bearer {access}")))
        .await;
    assert_eq!(out.status, 200, "{}", out.text);
    let mut tokens = Vec::new();
    for (alg, id, secret) in &clients {
        let token = rx
            .wait_for(&format!("/{alg}"), Duration::from_secs(20), |t| {
                auth_qa::scenarios::jwt_claims(t)["sid"] == sid.as_str()
            })
            .await;
        tokens.push(json!({"kind": "logout", "token": token, "audience": id, "sid": sid, "sub": sub}));
        use base64::Engine as _;
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
        let polled = app
            .post_headers(
                "/ssf/poll",
                &json!({"returnImmediately": true}),
                &[("authorization", &format!("Basic {basic}"))],
            )
            .await;
        assert_eq!(polled.status, 200, "{}", polled.text);
        let sets = polled.json["sets"].as_object().unwrap();
        assert_eq!(sets.len(), 1, "{}", polled.text);
        for set in sets.values() {
            tokens.push(json!({"kind": "set", "token": set, "audience": id, "sid": sid, "sub": sub}));
        }
    }
    let vars = [
        ("BT_ISSUER", app.public_url().to_owned()),
        ("BT_TOKENS", serde_json::Value::Array(tokens).to_string()),
    ];
    let (ok, output) = tokio::task::spawn_blocking(move || run_script("signals.mjs", &vars))
        .await
        .unwrap();
    assert!(ok, "jose refused a token:\n{output}");
    assert_eq!(output.matches("ok ").count(), 6, "{output}");
}

on_both_backends!(signals_verify_with_jose);
