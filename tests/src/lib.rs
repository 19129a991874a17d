//! Harness for the contract test suite.
//!
//! By default every scenario starts the real application in-process on a
//! fresh database: a temporary SQLite file, or a PostgreSQL database created
//! for the test and dropped after it (on `AUTH_TEST_POSTGRES_URL`, else a
//! server on 127.0.0.1:5432, else a throwaway cluster started for this test
//! process from the installed server binaries and removed when it ends; no
//! PostgreSQL at all means the test fails, never that it is skipped). With `AUTH_BASE_URL` set, the
//! same scenarios run against that deployment instead (QA mode); scenarios
//! that need a special server configuration say so and return early there.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod bench;
pub mod mail;
pub mod oauth;
pub mod scale;
pub mod schema;
pub mod ws;

use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::ServerHandle;
use rand::RngExt;
use reqwest::StatusCode;
use serde_json::Value;

pub use auth_http::Settings;
pub use auth_infra::testdb::{TestBackend, TestDatabase};
pub use mail::{MailSink, Received};

/// The admin API token of in-process servers.
pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789abcdef";

/// A running service and a client for it.
#[derive(Debug)]
pub struct TestApp {
    /// `http://127.0.0.1:PORT` (or `AUTH_BASE_URL`).
    pub base: String,
    /// The database behind an in-process server (`None` in QA mode).
    pub db: Option<TestDatabase>,
    client: reqwest::Client,
    handle: Option<ServerHandle>,
    /// The settings an in-process server runs with (for siblings).
    settings: Option<Settings>,
    /// The service's OpenAPI document, compiled: every reply is checked
    /// against it.
    contract: Option<std::sync::Arc<schema::Contract>>,
    /// The in-process server's chat presence (`None` in QA mode).
    chat: Option<Arc<auth_ws::ChatPresence>>,
}

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    /// Status code.
    pub status: StatusCode,
    /// Headers.
    pub headers: reqwest::header::HeaderMap,
    /// Body as JSON (`Value::Null` when empty or not JSON).
    pub json: Value,
    /// Body as text.
    pub text: String,
}

impl Reply {
    /// `json[key]` as a string, panicking with the whole body if absent.
    pub fn str(&self, pointer: &str) -> String {
        self.json
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("no string at {pointer} in {}", self.text))
            .to_owned()
    }
}

/// Whether the suite targets an external deployment.
pub fn external_base_url() -> Option<String> {
    std::env::var("AUTH_BASE_URL")
        .ok()
        .filter(|s| !s.trim().is_empty())
}

/// The settings of the suite's in-process servers, before a scenario's own
/// changes: production defaults, plus port 0, small pools, mail to the
/// suite's SMTP sink and a known admin token.
fn test_settings(database_url: &str) -> Settings {
    Settings {
        bind: "127.0.0.1:0".into(),
        database_url: database_url.to_owned(),
        database_pool_size: 4,
        workers: Some(2),
        shutdown_timeout_seconds: 1,
        smtp_url: Some(MailSink::global().url().into()),
        admin_token: Some(ADMIN_TOKEN.into()),
        rate_limit_enabled: false,
        ..Settings::default()
    }
}

/// A fresh login id, unique across runs (fits every contract's rules).
pub fn unique_login() -> String {
    let n: u64 = rand::rng().random();
    format!("u{}", &hex::encode(n.to_le_bytes())[..12])
}

/// A fresh email.
pub fn unique_email() -> String {
    format!("{}@example.com", unique_login())
}

impl TestApp {
    /// Starts the service with default test settings on `backend`.
    pub async fn spawn(backend: TestBackend) -> Self {
        Self::spawn_with(backend, |_| {})
            .await
            .expect("default settings work in QA mode too")
    }

    /// Starts the service with adjusted settings. In QA mode the settings
    /// cannot be applied: returns `None` unless `configure` is a no-op caller.
    pub async fn spawn_with(backend: TestBackend, configure: impl FnOnce(&mut Settings)) -> Option<Self> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        if let Some(base) = external_base_url() {
            // Compare with the suite's own defaults: a scenario that changes
            // them needs a server of its own.
            let mut probe = test_settings("probe");
            let before = format!("{probe:?}");
            configure(&mut probe);
            if format!("{probe:?}") != before {
                eprintln!(
                    "QA mode: this scenario needs its own server configuration; not run against {base}"
                );
                return None;
            }
            return Some(
                Self {
                    base: base.trim_end_matches('/').to_owned(),
                    db: None,
                    client,
                    handle: None,
                    settings: None,
                    contract: None,
                    chat: None,
                }
                .with_contract()
                .await,
            );
        }
        let db = TestDatabase::new(backend);
        let mut settings = test_settings(db.url());
        configure(&mut settings);
        let (base, handle, chat) = Self::start(settings.clone()).await;
        Some(
            Self {
                base,
                db: Some(db),
                client,
                handle: Some(handle),
                settings: Some(settings),
                contract: None,
                chat: Some(chat),
            }
            .with_contract()
            .await,
        )
    }

    /// Starts the service with adjusted settings on a port chosen first,
    /// so that its `AUTH_PUBLIC_URL` (the tokens' issuer) is its real
    /// address: discovery from the issuer URL works. In QA mode, as
    /// [`TestApp::spawn_with`].
    pub async fn spawn_issuer(backend: TestBackend, configure: impl FnOnce(&mut Settings)) -> Option<Self> {
        if external_base_url().is_some() {
            return Self::spawn_with(backend, configure).await;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        Self::spawn_with(backend, |s| {
            s.bind = format!("127.0.0.1:{port}");
            s.oauth.public_url = format!("http://127.0.0.1:{port}");
            configure(s);
        })
        .await
    }

    /// Loads and compiles the service's `GET /openapi.json`.
    async fn with_contract(mut self) -> Self {
        let doc = self.openapi().await;
        self.contract = Some(schema::Contract::compile(&doc));
        self
    }

    async fn start(settings: Settings) -> (String, ServerHandle, Arc<auth_ws::ChatPresence>) {
        let app = auth_http::Application::build(settings)
            .await
            .expect("the application starts");
        let port = app.port();
        let handle = app.handle();
        let chat = app.chat_presence();
        tokio::spawn(app.run_until_stopped());
        (format!("http://127.0.0.1:{port}"), handle, chat)
    }

    /// A second in-process instance on the same database and settings (a
    /// multi-instance deployment); `None` in QA mode.
    pub async fn spawn_sibling(&self) -> Option<TestApp> {
        let mut settings = self.settings.clone()?;
        // Its own port (the first may have been given a fixed one).
        settings.bind = "127.0.0.1:0".into();
        let (base, handle, chat) = Self::start(settings.clone()).await;
        Some(Self {
            base,
            db: None,
            client: self.client.clone(),
            handle: Some(handle),
            settings: Some(settings),
            contract: self.contract.clone(),
            chat: Some(chat),
        })
    }

    /// The admin API token: the in-process one, or `AUTH_TEST_ADMIN_TOKEN`
    /// in QA mode.
    pub fn admin_token(&self) -> String {
        if self.in_process() || self.settings.is_some() {
            ADMIN_TOKEN.to_owned()
        } else {
            std::env::var("AUTH_TEST_ADMIN_TOKEN").unwrap_or_default()
        }
    }

    /// `ws://…/ws`, with an optional query string.
    pub fn ws_url(&self, query: &str) -> String {
        let base = self.base.replacen("http", "ws", 1);
        if query.is_empty() {
            format!("{base}/ws")
        } else {
            format!("{base}/ws?{query}")
        }
    }

    /// Who is connected to a `chat` socket of this in-process server
    /// (`None` in QA mode).
    pub fn chat_presence(&self) -> Option<Arc<auth_ws::ChatPresence>> {
        self.chat.clone()
    }

    /// Whether this app runs in-process (its database is reachable).
    pub fn in_process(&self) -> bool {
        self.db.is_some()
    }

    /// Reads a response whole and checks it against the OpenAPI document.
    async fn read(&self, method: &str, response: reqwest::Response) -> Reply {
        let status = response.status();
        let headers = response.headers().clone();
        let path = response.url().path().to_owned();
        let text = response.text().await.unwrap();
        if let Some(contract) = &self.contract {
            let content_type = headers.get("content-type").and_then(|v| v.to_str().ok());
            contract.check(method, &path, status.as_u16(), content_type, &text);
        }
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            json,
            text,
        }
    }

    /// POST a JSON body.
    pub async fn post(&self, path: &str, body: &Value) -> Reply {
        self.post_with(path, body, None).await
    }

    /// POST a JSON body with an optional bearer token.
    pub async fn post_with(&self, path: &str, body: &Value, bearer: Option<&str>) -> Reply {
        let mut request = self.client.post(format!("{}{path}", self.base)).json(body);
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        self.read("POST", request.send().await.unwrap()).await
    }

    /// POST a JSON body with extra headers (e.g. `X-Forwarded-For`).
    pub async fn post_headers(&self, path: &str, body: &Value, headers: &[(&str, &str)]) -> Reply {
        let mut request = self.client.post(format!("{}{path}", self.base)).json(body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.read("POST", request.send().await.unwrap()).await
    }

    /// POST a raw JSON body with extra headers.
    pub async fn post_raw_headers(&self, path: &str, body: String, headers: &[(&str, &str)]) -> Reply {
        let mut request = self
            .client
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .body(body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.read("POST", request.send().await.unwrap()).await
    }

    /// POST raw bytes with a content type.
    pub async fn post_raw(&self, path: &str, body: impl Into<reqwest::Body>, content_type: &str) -> Reply {
        let request = self
            .client
            .post(format!("{}{path}", self.base))
            .header("content-type", content_type)
            .body(body);
        self.read("POST", request.send().await.unwrap()).await
    }

    /// POST with no body, optionally with a raw `Authorization` header.
    pub async fn post_empty(&self, path: &str, authorization: Option<&str>) -> Reply {
        let mut request = self.client.post(format!("{}{path}", self.base));
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        self.read("POST", request.send().await.unwrap()).await
    }

    /// GET.
    pub async fn get(&self, path: &str) -> Reply {
        self.read(
            "GET",
            self.client
                .get(format!("{}{path}", self.base))
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// GET with extra headers.
    pub async fn get_headers(&self, path: &str, headers: &[(&str, &str)]) -> Reply {
        let mut request = self.client.get(format!("{}{path}", self.base));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.read("GET", request.send().await.unwrap()).await
    }

    /// Any method, path, headers and raw body (the fuzz run). The reply is
    /// checked against the OpenAPI document like every other.
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(String, String)],
        body: Vec<u8>,
    ) -> Reply {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self
            .client
            .request(method.clone(), format!("{}{path}", self.base))
            .body(body);
        for (name, value) in headers {
            request = request.header(name.as_str(), value.as_str());
        }
        self.read(method.as_str(), request.send().await.unwrap()).await
    }

    /// The service's OpenAPI document (`GET /openapi.json`).
    pub async fn openapi(&self) -> Value {
        self.client
            .get(format!("{}/openapi.json", self.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// GET with a JSON body (the `account` document's `check/auth-code`).
    pub async fn get_json(&self, path: &str, body: &Value) -> Reply {
        let request = self.client.get(format!("{}{path}", self.base)).json(body);
        self.read("GET", request.send().await.unwrap()).await
    }

    /// The SMTP sink this app's mail goes to.
    pub fn mail(&self) -> &'static MailSink {
        MailSink::global()
    }

    /// Proves `email` for the sign-up of `login` the way the document's
    /// client does: requests a `SIGN_UP` code with that `authId`, reads it
    /// from the delivered mail, checks it with the same `authId`. The check
    /// opens sign-up for that `authId` only. Returns the code.
    pub async fn verify_email(&self, email: &str, login: &str) -> String {
        let before = self.mail().count_to(email);
        let sent = self
            .post(
                "/api/auth/send/auth-key",
                &serde_json::json!({"authId": login, "email": email, "type": "SIGN_UP"}),
            )
            .await;
        assert_eq!(sent.status, StatusCode::OK, "send/auth-key failed: {}", sent.text);
        let code = self.mail().wait_for(email, before + 1).await.code();
        let checked = self
            .get_json(
                "/api/auth/check/auth-code",
                &serde_json::json!({"authId": login, "email": email, "authCode": code, "type": "SIGN_UP"}),
            )
            .await;
        assert_eq!(
            checked.json["data"]["usable"], true,
            "check/auth-code failed: {}",
            checked.text
        );
        code
    }

    /// Registers a user through the `account` contract and returns
    /// `(authId, email, password, numeric id)`.
    pub async fn new_user(&self) -> NewUser {
        let login = unique_login();
        let email = unique_email();
        let password = "Password123!".to_owned();
        self.verify_email(&email, &login).await;
        let reply = self
            .post(
                "/api/auth/sign-up",
                &serde_json::json!({"authId": login, "password": password, "name": "홍길동", "email": email}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "sign-up failed: {}", reply.text);
        let id = reply.json["data"]["id"].as_i64().expect("numeric id");
        NewUser {
            login,
            email,
            password,
            id,
        }
    }

    /// `standard` login; returns `(accessToken, refreshToken)`.
    pub async fn standard_login(&self, user: &NewUser) -> (String, String) {
        let reply = self
            .post(
                "/api/auth/login",
                &serde_json::json!({"username": user.login, "password": user.password}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "login failed: {}", reply.text);
        (reply.str("/accessToken"), reply.str("/refreshToken"))
    }
}

/// A user created by [`TestApp::new_user`].
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Login id.
    pub login: String,
    /// Email.
    pub email: String,
    /// Password.
    pub password: String,
    /// Numeric id.
    pub id: i64,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(handle) = self.handle.take() {
            // The stop command is sent when `stop` is called; the returned
            // future only waits for completion, which a destructor cannot.
            drop(handle.stop(false));
        }
    }
}

/// Runs a scenario `async fn NAME(app: TestApp)` on SQLite and on
/// PostgreSQL, as tests `NAME::sqlite` and `NAME::postgres`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::TestBackend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name($crate::TestBackend::Postgres).await
            }
        }
    )*};
}
