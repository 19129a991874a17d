//! `GET /metrics` after real actions (issue 14; issue 16's per-scheme
//! counts): each scenario scrapes, acts through the public API, scrapes
//! again and asserts that the counters it caused moved by exactly the
//! right amount.
//!
//! The `metrics` recorder is process-wide (one registry for every server
//! of a process), so this is a test binary of its own and its scenarios
//! run one at a time ([`SERIAL`]): no other request of the process moves a
//! counter between two scrapes. In-process only (not in `auth-qa`): a
//! shared deployment's counters move under other traffic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use auth_contract_tests::oauth::{self, FakeProvider};
use auth_contract_tests::ws;
use auth_contract_tests::{Reply, TestApp, TestBackend, on_both_backends, unique_email, unique_login};
use serde_json::json;

/// One scenario at a time (see the module comment).
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const WAIT: Duration = Duration::from_secs(10);

/// A parsed exposition: `name{k="v",…}` → value.
#[derive(Debug)]
struct Scrape(Vec<(String, BTreeMap<String, String>, f64)>);

impl Scrape {
    fn parse(text: &str) -> Self {
        let mut samples = Vec::new();
        for line in text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        {
            let (series, value) = line.rsplit_once(' ').unwrap();
            let (name, labels) = match series.split_once('{') {
                Some((name, rest)) => (name, rest.trim_end_matches('}')),
                None => (series, ""),
            };
            let labels = labels
                .split("\",")
                .filter(|p| !p.is_empty())
                .map(|pair| {
                    let (k, v) = pair.split_once('=').unwrap();
                    (k.to_owned(), v.trim_matches('"').to_owned())
                })
                .collect();
            samples.push((name.to_owned(), labels, value.parse().unwrap_or(f64::NAN)));
        }
        Self(samples)
    }

    /// The sample with exactly these labels; 0 when absent (a counter not
    /// yet incremented).
    fn get(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let want: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        self.0
            .iter()
            .find(|(n, l, _)| n == name && *l == want)
            .map_or(0.0, |(_, _, v)| *v)
    }

    fn has(&self, name: &str, labels: &[(&str, &str)]) -> bool {
        let want: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        self.0.iter().any(|(n, l, _)| n == name && *l == want)
    }
}

async fn scrape(app: &TestApp) -> Scrape {
    let reply = app.get("/metrics").await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.text);
    Scrape::parse(&reply.text)
}

/// A series (name, labels) and by how much it must have moved.
type Moved<'a> = (&'a str, &'a [(&'a str, &'a str)], f64);

/// Asserts `after - before == delta` for each series.
#[track_caller]
fn assert_moved(before: &Scrape, after: &Scrape, expected: &[Moved<'_>]) {
    for (name, labels, delta) in expected {
        let moved = after.get(name, labels) - before.get(name, labels);
        assert!(
            (moved - delta).abs() < 1e-9,
            "{name}{labels:?} moved by {moved}, expected {delta}"
        );
    }
}

/// An in-process app with `configure`'s settings.
async fn spawn(backend: TestBackend, configure: impl FnOnce(&mut auth_qa::Config)) -> TestApp {
    TestApp::spawn_with(&auth_contract_tests::target(backend), configure).await
}

on_both_backends!(
    logins_by_outcome_throttle_locks_and_hashing,
    rotations_reuse_and_pushes,
    codes_and_mail,
    social_logins_by_provider_and_outcome,
    accounts_by_password_scheme,
    database_errors,
    backchannel_deliveries_by_outcome,
);

/// Wrong passwords count as `wrong_credentials` for their contract; the
/// one that reaches the limit imposes one account lock; the next attempt
/// is `throttled` (and verifies nothing); every verification waited in
/// the hashing queue.
async fn logins_by_outcome_throttle_locks_and_hashing(backend: TestBackend) {
    let _serial = SERIAL.lock().await;
    let app = spawn(backend, |c| {
        c.set("AUTH_LOGIN_MAX_FAILURES", 2);
    })
    .await;
    let user = app.new_user().await;
    let before = scrape(&app).await;
    let wrong = json!({"username": user.login, "password": "Wrong-password-1"});
    for _ in 0..2 {
        assert_eq!(app.post("/api/auth/login", &wrong).await.status.as_u16(), 401);
    }
    let right = json!({"username": user.login, "password": user.password});
    assert_eq!(app.post("/api/auth/login", &right).await.status.as_u16(), 429);
    let other = app.new_user().await;
    let session = app
        .post(
            "/api/login",
            &json!({"userId": other.login, "password": other.password}),
        )
        .await;
    assert_eq!(session.status.as_u16(), 200, "{}", session.text);
    let after = scrape(&app).await;
    let logins = "auth_logins_total";
    assert_moved(
        &before,
        &after,
        &[
            (
                logins,
                &[("contract", "standard"), ("outcome", "wrong_credentials")],
                2.0,
            ),
            (logins, &[("contract", "standard"), ("outcome", "throttled")], 1.0),
            (logins, &[("contract", "standard"), ("outcome", "success")], 0.0),
            (logins, &[("contract", "session"), ("outcome", "success")], 1.0),
            ("auth_throttle_locks_total", &[("scope", "account")], 1.0),
            ("auth_throttle_locks_total", &[("scope", "ip")], 0.0),
            // Two wrong passwords and the session login were verified and
            // `other`'s sign-up hashed one; the throttled attempt spent none.
            ("auth_hash_queue_wait_seconds_count", &[], 4.0),
        ],
    );
    assert!(after.has("auth_hash_queue_depth", &[]), "queue depth gauge");
    assert_eq!(after.get("auth_hash_queue_depth", &[]), 0.0);
    // The pool: open = in use + idle, at least the one kept idle.
    let open = after.get("auth_db_pool_connections", &[]);
    let idle = after.get("auth_db_pool_idle_connections", &[]);
    assert!(open >= 1.0, "{open}");
    assert_eq!(after.get("auth_db_pool_in_use_connections", &[]), open - idle);
}

/// A `standard` reissue is a rotation; presenting the spent refresh token
/// again is a reuse detection, which revokes the session and pushes
/// `LOGOUT` to its socket; an admin notification pushes `NOTIFICATION`.
async fn rotations_reuse_and_pushes(backend: TestBackend) {
    let _serial = SERIAL.lock().await;
    let app = spawn(backend, |_| {}).await;
    let user = app.new_user().await;
    let (access, refresh) = app.standard_login(&user).await;
    let mut socket = ws::connect(&app.ws_url(&format!("token={access}")), &[])
        .await
        .unwrap();
    let before = scrape(&app).await;
    assert_eq!(before.get("auth_ws_sockets", &[("kind", "session")]), 1.0);
    let sent = app
        .post_with(
            "/internal/notifications",
            &json!({"userId": user.login, "message": "hello"}),
            Some(&app.admin_token()),
        )
        .await;
    assert_eq!(sent.status.as_u16(), 200, "{}", sent.text);
    assert_eq!(socket.json(WAIT).await["type"], "NOTIFICATION");
    let pair = json!({"accessToken": access, "refreshToken": refresh});
    assert_eq!(
        app.post("/api/auth/reissue-token", &pair).await.status.as_u16(),
        200
    );
    assert_eq!(
        app.post("/api/auth/reissue-token", &pair).await.status.as_u16(),
        401
    );
    assert_eq!(socket.json(WAIT).await["type"], "LOGOUT");
    let after = scrape(&app).await;
    assert_moved(
        &before,
        &after,
        &[
            ("auth_refresh_rotations_total", &[("contract", "standard")], 1.0),
            (
                "auth_refresh_reuse_detections_total",
                &[("contract", "standard")],
                1.0,
            ),
            (
                "auth_refreshes_total",
                &[("contract", "standard"), ("outcome", "reused")],
                1.0,
            ),
            ("auth_ws_pushes_total", &[("type", "NOTIFICATION")], 1.0),
            ("auth_ws_pushes_total", &[("type", "LOGOUT")], 1.0),
        ],
    );
    // The socket is gone once LOGOUT closed it.
    let deadline = Instant::now() + WAIT;
    while scrape(&app).await.get("auth_ws_sockets", &[("kind", "session")]) != 0.0 {
        assert!(Instant::now() < deadline, "the closed socket is still counted");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A code send counts as sent (and its mail as sent), a wrong code as a
/// failed check, the right one as verified; a mail server that refuses
/// counts a mail failure.
async fn codes_and_mail(backend: TestBackend) {
    let _serial = SERIAL.lock().await;
    let app = spawn(backend, |_| {}).await;
    let (login, email) = (unique_login(), unique_email());
    let before = scrape(&app).await;
    let send = json!({"authId": login, "email": email, "type": "SIGN_UP"});
    let sent = app.post("/api/auth/send/auth-key", &send).await;
    assert_eq!(sent.status.as_u16(), 200, "{}", sent.text);
    let code = app.mail().wait_for(&email, 1).await.code();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for (guess, usable) in [(wrong, false), (code.as_str(), true)] {
        let checked = app
            .get_json(
                "/api/auth/check/auth-code",
                &json!({"authId": login, "email": email, "authCode": guess, "type": "SIGN_UP"}),
            )
            .await;
        assert_eq!(checked.json["data"]["usable"], usable, "{}", checked.text);
    }
    let after = scrape(&app).await;
    let checked = "auth_codes_checked_total";
    assert_moved(
        &before,
        &after,
        &[
            ("auth_codes_sent_total", &[("purpose", "SIGN_UP")], 1.0),
            (checked, &[("purpose", "SIGN_UP"), ("outcome", "failed")], 1.0),
            (checked, &[("purpose", "SIGN_UP"), ("outcome", "verified")], 1.0),
            ("auth_mail_sent_total", &[("transport", "smtp")], 1.0),
            ("auth_mail_failures_total", &[("transport", "smtp")], 0.0),
        ],
    );
    drop(app);

    // A mail server that is not there.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let app = spawn(backend, |c| {
        c.set("AUTH_SMTP_URL", format!("smtp://127.0.0.1:{port}"));
        c.set("AUTH_SMTP_TIMEOUT_SECONDS", 2);
    })
    .await;
    let before = scrape(&app).await;
    let send = json!({"email": unique_email(), "type": "SIGN_UP"});
    let refused = app.post("/api/auth/send/auth-key", &send).await;
    assert_eq!(refused.status.as_u16(), 503, "{}", refused.text);
    let after = scrape(&app).await;
    assert_moved(
        &before,
        &after,
        &[
            ("auth_mail_failures_total", &[("transport", "smtp")], 1.0),
            ("auth_codes_sent_total", &[("purpose", "SIGN_UP")], 0.0),
        ],
    );
}

/// The `auth_oauth_state` cookie a social-login start set (`name=value`).
fn browser_cookie(reply: &Reply) -> String {
    reply
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("auth_oauth_state="))
        .map(|v| v.split(';').next().unwrap_or_default().to_owned())
        .unwrap_or_else(|| panic!("no browser cookie: {:?}", reply.headers))
}

/// One browser flow at `provider`: start, consent at the fake, callback.
async fn social_flow(app: &TestApp, fake: &FakeProvider, provider: &str) -> Reply {
    let start = app.get(&format!("/api/auth/{provider}")).await;
    assert_eq!(start.status.as_u16(), 302, "{}", start.text);
    let cookie = browser_cookie(&start);
    let authorize = start.headers["location"].to_str().unwrap().to_owned();
    let back = fake.consent(&authorize).await;
    let path = back.strip_prefix(app.public_url()).unwrap();
    app.get_headers(path, &[("cookie", &cookie)]).await
}

/// Social logins count by provider and outcome: a Google success, a Kakao
/// consent the user declined, a Naver callback with a forged state.
async fn social_logins_by_provider_and_outcome(backend: TestBackend) {
    let _serial = SERIAL.lock().await;
    let fake = FakeProvider::start().await;
    let app = spawn(backend, |c| fake.configure(c)).await;
    let before = scrape(&app).await;
    let email = unique_email();
    fake.set_user("google", oauth::google_user(&unique_login(), &email, true));
    let ok = social_flow(&app, &fake, "google").await;
    assert_eq!(ok.status.as_u16(), 200, "{}", ok.text);
    fake.deny_consent(true);
    let denied = social_flow(&app, &fake, "kakao").await;
    assert_eq!(denied.status.as_u16(), 401, "{}", denied.text);
    fake.deny_consent(false);
    let forged = app.get("/api/auth/naver/callback?code=abc&state=forged").await;
    assert_eq!(forged.status.as_u16(), 400, "{}", forged.text);
    // A path naming no provider never becomes a label of its own.
    let unknown = app.get("/api/auth/myspace/callback?code=abc&state=x").await;
    assert!(unknown.status.is_client_error(), "{}", unknown.text);
    let after = scrape(&app).await;
    let social = "auth_social_logins_total";
    assert_moved(
        &before,
        &after,
        &[
            (social, &[("provider", "google"), ("outcome", "success")], 1.0),
            (social, &[("provider", "kakao"), ("outcome", "denied")], 1.0),
            (
                social,
                &[("provider", "naver"), ("outcome", "invalid_callback")],
                1.0,
            ),
        ],
    );
    let text = app.get("/metrics").await.text;
    assert!(!text.contains("myspace"), "raw path segments never become labels");
}

/// `POST /internal/users/import` with NDJSON lines.
async fn import(app: &TestApp, lines: &[serde_json::Value]) {
    let body: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let reply = app
        .request(
            "POST",
            "/internal/users/import",
            &[
                ("authorization".into(), format!("Bearer {}", app.admin_token())),
                ("content-type".into(), "application/x-ndjson".into()),
            ],
            body.into_bytes(),
        )
        .await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.text);
    assert_eq!(reply.json["imported"], lines.len(), "{}", reply.text);
}

fn bcrypt_of(password: &str) -> String {
    bcrypt::hash(password, 4).unwrap()
}

fn pbkdf2_sha256_of(password: &str) -> String {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD_NO_PAD as B64;
    let salt = b"0123456789abcdef";
    let mut out = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<pbkdf2::sha2::Sha256>(password.as_bytes(), salt, 2000, &mut out);
    format!(
        "$pbkdf2-sha256$i=2000,l=32${}${}",
        B64.encode(salt),
        B64.encode(out)
    )
}

fn schemes(scrape: &Scrape) -> HashMap<&'static str, f64> {
    auth_domain::identity::password::PasswordScheme::ALL
        .iter()
        .map(|s| {
            (
                s.as_str(),
                scrape.get("auth_accounts_by_password_scheme", &[("scheme", s.as_str())]),
            )
        })
        .collect()
}

/// The remaining accounts per password scheme: imported bcrypt and PBKDF2
/// accounts are counted as such, a bcrypt account that logs in moves to
/// argon2id, and a social-only account counts as `none`. With the default
/// refresh age the counts are cached between scrapes.
async fn accounts_by_password_scheme(backend: TestBackend) {
    let _serial = SERIAL.lock().await;
    let app = spawn(backend, |c| {
        c.set("AUTH_METRICS_PASSWORD_SCHEMES_SECONDS", 0);
    })
    .await;
    let password = "Password123!";
    let login = unique_login();
    import(
        &app,
        &[
            json!({"loginId": login, "email": unique_email(), "passwordHash": bcrypt_of(password)}),
            json!({"loginId": unique_login(), "email": unique_email(), "passwordHash": bcrypt_of(password)}),
            json!({"loginId": unique_login(), "email": unique_email(), "passwordHash": pbkdf2_sha256_of(password)}),
            json!({"email": unique_email(), "providers": [{"provider": "kakao", "subject": "4021337"}]}),
        ],
    )
    .await;
    let counts = schemes(&scrape(&app).await);
    assert_eq!(counts["bcrypt"], 2.0, "{counts:?}");
    assert_eq!(counts["pbkdf2-sha256"], 1.0, "{counts:?}");
    assert_eq!(counts["none"], 1.0, "{counts:?}");
    assert_eq!(counts["argon2id"], 0.0, "{counts:?}");
    assert_eq!(counts.values().sum::<f64>(), 4.0, "{counts:?}");
    // A login upgrades the bcrypt hash (in the background).
    let reply = app
        .post(
            "/api/auth/login",
            &json!({"username": login, "password": password}),
        )
        .await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.text);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let counts = schemes(&scrape(&app).await);
        if counts["bcrypt"] == 1.0 && counts["argon2id"] == 1.0 {
            break;
        }
        assert!(Instant::now() < deadline, "no upgrade counted: {counts:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(app);

    // Cached: counted at the first scrape, not again within the age.
    let app = spawn(backend, |_| {}).await;
    assert_eq!(schemes(&scrape(&app).await)["bcrypt"], 0.0);
    import(
        &app,
        &[json!({"loginId": unique_login(), "email": unique_email(), "passwordHash": bcrypt_of(password)})],
    )
    .await;
    assert_eq!(
        schemes(&scrape(&app).await)["bcrypt"],
        0.0,
        "counted again within AUTH_METRICS_PASSWORD_SCHEMES_SECONDS"
    );
}

/// A failing statement counts as a database query error: with the audit
/// table gone, a failed login still answers 401 (auditing is best effort)
/// and its audit write is one error.
async fn database_errors(backend: TestBackend) {
    let _serial = SERIAL.lock().await;
    let app = spawn(backend, |_| {}).await;
    let user = app.new_user().await;
    let db = auth_infra::Database::connect(&app.inside("the database").database_url(), 1)
        .await
        .unwrap();
    db.execute_raw("DROP TABLE audit_log").await.unwrap();
    let before = scrape(&app).await;
    let wrong = json!({"username": user.login, "password": "Wrong-password-1"});
    assert_eq!(app.post("/api/auth/login", &wrong).await.status.as_u16(), 401);
    let after = scrape(&app).await;
    assert_moved(
        &before,
        &after,
        &[
            ("auth_db_query_errors_total", &[("kind", "query")], 1.0),
            ("auth_db_query_errors_total", &[("kind", "pool")], 0.0),
        ],
    );
}

/// The event listener reports itself up, and a lost `LISTEN` connection
/// is counted and reported until it is back. PostgreSQL only: SQLite has
/// no listener (its events stay in the process).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_listener_postgres() {
    let _serial = SERIAL.lock().await;
    let app = spawn(TestBackend::Postgres, |_| {}).await;
    let deadline = Instant::now() + WAIT;
    while scrape(&app).await.get("auth_event_listener_up", &[]) != 1.0 {
        assert!(Instant::now() < deadline, "the listener never came up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let before = scrape(&app).await;
    let db = auth_infra::Database::connect(&app.inside("the database").database_url(), 1)
        .await
        .unwrap();
    db.execute_raw(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND query LIKE 'LISTEN%'",
    )
    .await
    .unwrap();
    let deadline = Instant::now() + WAIT;
    loop {
        let now = scrape(&app).await;
        let lost = now.get("auth_event_listener_disconnects_total", &[])
            - before.get("auth_event_listener_disconnects_total", &[]);
        if lost == 1.0 && now.get("auth_event_listener_up", &[]) == 1.0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "disconnect not counted or not back up (lost {lost})"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Every metric the sample dashboard queries is one the code records and
/// `docs/operations.md` documents (a renamed metric cannot leave the
/// dashboard or the runbook silently empty).
#[test]
fn the_dashboard_and_the_runbook_use_real_metric_names() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let read = |path: &str| std::fs::read_to_string(format!("{root}/{path}")).unwrap();
    let dashboard: serde_json::Value = serde_json::from_str(&read("docs/grafana-dashboard.json")).unwrap();
    let operations = read("docs/operations.md");
    fn sources(dir: &std::path::Path, out: &mut String) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                sources(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push_str(&std::fs::read_to_string(path).unwrap());
            }
        }
    }
    let mut code = String::new();
    for dir in [
        "crates/auth-http/src",
        "crates/auth-infra/src",
        "crates/auth-ws/src",
    ] {
        sources(std::path::Path::new(&format!("{root}/{dir}")), &mut code);
    }
    let names = |text: &str| -> Vec<String> {
        text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .filter(|w| w.starts_with("auth_") || w.starts_with("http_request"))
            .map(|w| {
                w.trim_end_matches("_bucket")
                    .trim_end_matches("_count")
                    .trim_end_matches("_sum")
                    .to_owned()
            })
            .collect()
    };
    let mut queried = Vec::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().into_iter().flatten() {
            queried.extend(names(target["expr"].as_str().unwrap()));
        }
    }
    assert!(queried.len() > 20, "{queried:?}");
    for name in &queried {
        assert!(code.contains(&format!("\"{name}\"")), "{name}: recorded nowhere");
        assert!(
            operations.contains(&format!("`{name}`")),
            "{name}: not in docs/operations.md"
        );
    }
}

/// Scrapes until `done` holds (the delivery task records after the
/// answer); panics with the last scrape's values of `names` otherwise.
async fn scrape_until(app: &TestApp, names: &[&str], done: impl Fn(&Scrape) -> bool) -> Scrape {
    let start = Instant::now();
    loop {
        let now = scrape(app).await;
        if done(&now) {
            return now;
        }
        assert!(
            start.elapsed() < WAIT,
            "{:?}",
            names.iter().map(|n| (n, now.get(n, &[]))).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Back-channel logout: a delivery counts once; a failing receiver counts
/// retries and shows a pending event and its age until it answers; an event
/// whose client was deleted counts as failed.
async fn backchannel_deliveries_by_outcome(backend: TestBackend) {
    let _serial = SERIAL.lock().await;
    const NAMES: [&str; 5] = [
        "auth_backchannel_delivered_total",
        "auth_backchannel_retried_total",
        "auth_backchannel_failed_total",
        "auth_backchannel_pending",
        "auth_backchannel_oldest_pending_seconds",
    ];
    let app = spawn(backend, |c| {
        c.set("AUTH_BACKCHANNEL_MAX_BACKOFF_SECONDS", 1);
        c.set("AUTH_BACKCHANNEL_TIMEOUT_SECONDS", 1);
    })
    .await;
    let rx = auth_qa::receiver::Receiver::start();
    let body = json!({"name": "metrics", "grantTypes": ["client_credentials"], "allSessions": true,
        "backchannelLogoutUri": rx.url("/bcl")});
    let r = app
        .post_with("/internal/oauth-clients", &body, Some(&app.admin_token()))
        .await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.text);
    let client = r.str("/clientId");
    let user = app.new_user().await;
    let end = || async {
        let (access, _) = app.standard_login(&user).await;
        let out = app
            .post_empty("/api/auth/logout", Some(&format!("Bearer {access}")))
            .await;
        assert_eq!(out.status.as_u16(), 200, "{}", out.text);
    };
    let get = |s: &Scrape, n: &str| s.get(n, &[]);

    let before = scrape(&app).await;
    end().await;
    let after = scrape_until(&app, &NAMES, |s| {
        get(s, NAMES[0]) - get(&before, NAMES[0]) >= 1.0 && get(s, NAMES[3]) == 0.0
    })
    .await;
    assert_moved(
        &before,
        &after,
        &[(NAMES[0], &[], 1.0), (NAMES[1], &[], 0.0), (NAMES[2], &[], 0.0)],
    );

    rx.answer(500);
    end().await;
    let failing = scrape_until(&app, &NAMES, |s| {
        get(s, NAMES[1]) - get(&after, NAMES[1]) >= 2.0 && get(s, NAMES[3]) == 1.0 && get(s, NAMES[4]) > 0.0
    })
    .await;
    assert_moved(&after, &failing, &[(NAMES[0], &[], 0.0), (NAMES[2], &[], 0.0)]);
    rx.answer(200);
    let back = scrape_until(&app, &NAMES, |s| {
        get(s, NAMES[0]) - get(&failing, NAMES[0]) >= 1.0
            && get(s, NAMES[3]) == 0.0
            && get(s, NAMES[4]) == 0.0
    })
    .await;
    assert_moved(&failing, &back, &[(NAMES[0], &[], 1.0), (NAMES[2], &[], 0.0)]);

    rx.answer(500);
    end().await;
    scrape_until(&app, &NAMES, |s| get(s, NAMES[3]) == 1.0).await;
    let gone = app
        .request(
            "DELETE",
            &format!("/internal/oauth-clients/{client}"),
            &[(
                "authorization".to_owned(),
                format!("Bearer {}", app.admin_token()),
            )],
            Vec::new(),
        )
        .await;
    assert_eq!(gone.status.as_u16(), 200, "{}", gone.text);
    let given_up = scrape_until(&app, &NAMES, |s| {
        get(s, NAMES[2]) - get(&back, NAMES[2]) >= 1.0 && get(s, NAMES[3]) == 0.0
    })
    .await;
    assert_moved(&back, &given_up, &[(NAMES[0], &[], 0.0), (NAMES[2], &[], 1.0)]);
}
