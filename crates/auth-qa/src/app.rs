//! The HTTP client scenarios use: one server of a [`Target`], every reply
//! read whole and checked against the server's own OpenAPI document.

use std::sync::Arc;
use std::time::Duration;

use rand::RngExt;
use reqwest::StatusCode;
use serde_json::Value;

use crate::mail::MailReader;
use crate::schema;
use crate::target::{Address, Config, Exchange, Inside, Server, Target, skip};

/// A server of the target and a client for it.
#[derive(Debug)]
pub struct TestApp {
    /// `http://HOST:PORT`.
    pub base: String,
    target: Target,
    client: reqwest::Client,
    server: Server,
    /// The service's OpenAPI document, compiled: every reply is checked
    /// against it.
    contract: Option<Arc<schema::Contract>>,
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

/// A fresh login id, unique across runs (fits every contract's rules).
pub fn unique_login() -> String {
    let n: u64 = rand::rng().random();
    format!("u{}", &hex::encode(n.to_le_bytes())[..12])
}

/// A fresh email.
pub fn unique_email() -> String {
    format!("{}@example.com", unique_login())
}

fn cut(text: &str) -> String {
    match text.char_indices().nth(2000) {
        Some((at, _)) => format!("{}… ({} bytes in all)", &text[..at], text.len()),
        None => text.to_owned(),
    }
}

impl TestApp {
    /// A server with the target's profile.
    pub async fn spawn(target: &Target) -> Self {
        Self::spawn_with(target, |_| {}).await
    }

    /// A server whose settings differ from the target's profile as
    /// `configure` says; skips the scenario when the target cannot run one.
    pub async fn spawn_with(target: &Target, configure: impl FnOnce(&mut Config)) -> Self {
        let mut config = Config::default();
        configure(&mut config);
        let server = target.deployment().server(&config, Address::Any).await;
        Self::over(target, server).await
    }

    /// As [`TestApp::spawn_with`], on a server whose `AUTH_PUBLIC_URL`
    /// (the tokens' issuer) is the address the suite reaches it on, so that
    /// discovery from the issuer URL works.
    pub async fn spawn_issuer(target: &Target, configure: impl FnOnce(&mut Config)) -> Self {
        let mut config = Config::default();
        configure(&mut config);
        let server = target
            .deployment()
            .server(&config, Address::PublicUrlIsBase)
            .await;
        Self::over(target, server).await
    }

    /// The app over a server already started (an instance started again on
    /// the same database: [`crate::target::Inside::sibling`]).
    pub async fn over_server(target: &Target, server: Server) -> Self {
        Self::over(target, server).await
    }

    async fn over(target: &Target, server: Server) -> Self {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap_or_else(|e| panic!("HTTP client: {e}"));
        let mut app = Self {
            base: server.base.trim_end_matches('/').to_owned(),
            target: target.clone(),
            client,
            server,
            contract: None,
        };
        let doc = app.openapi().await;
        app.contract = Some(schema::Contract::compile(&doc));
        app
    }

    /// A second instance on the same database and settings (a
    /// multi-instance deployment); skips against a deployment.
    pub async fn spawn_sibling(&self) -> TestApp {
        let server = self
            .inside("a second instance on the same database")
            .sibling()
            .await;
        let mut app = Self {
            base: server.base.clone(),
            target: self.target.clone(),
            client: self.client.clone(),
            server,
            contract: self.contract.clone(),
        };
        app.base = app.base.trim_end_matches('/').to_owned();
        app
    }

    /// What only an in-process server exposes; skips the scenario against a
    /// deployment, saying it needs `what`.
    pub fn inside(&self, what: &str) -> Arc<dyn Inside> {
        match &self.server.inside {
            Some(inside) => inside.clone(),
            None => skip(format!("needs {what} (in-process only)")),
        }
    }

    /// The server's `AUTH_PUBLIC_URL`.
    pub fn public_url(&self) -> &str {
        &self.server.public_url
    }

    /// Whether this app runs in-process (its database is reachable).
    pub fn in_process(&self) -> bool {
        self.server.inside.is_some()
    }

    /// The target this app belongs to.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// The admin API token.
    pub fn admin_token(&self) -> String {
        self.target.deployment().admin_token()
    }

    /// `ws://…/ws`, with an optional query string.
    pub fn ws_url(&self, query: &str) -> String {
        self.target.touch("WS", "/ws", "");
        let base = self.base.replacen("http", "ws", 1);
        if query.is_empty() {
            format!("{base}/ws")
        } else {
            format!("{base}/ws?{query}")
        }
    }

    /// Sends `request` (whose body, for reports, is `body`), reads the
    /// response whole and checks it against the OpenAPI document.
    async fn send(&self, method: &str, path: &str, body: String, request: reqwest::RequestBuilder) -> Reply {
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) => panic!("{method} {path}: no response: {e}"),
        };
        let status = response.status();
        let headers = response.headers().clone();
        let url_path = response.url().path().to_owned();
        let text = response
            .text()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: body not read: {e}"));
        self.target.record(Exchange {
            request: format!("{method} {path}"),
            request_body: cut(&body),
            status: status.as_u16(),
            response_body: cut(&text),
        });
        if let Some(contract) = &self.contract {
            let content_type = headers.get("content-type").and_then(|v| v.to_str().ok());
            contract.check(method, &url_path, status.as_u16(), content_type, &text);
        }
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            json,
            text,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// POST a JSON body.
    pub async fn post(&self, path: &str, body: &Value) -> Reply {
        self.post_with(path, body, None).await
    }

    /// POST a JSON body with an optional bearer token.
    pub async fn post_with(&self, path: &str, body: &Value, bearer: Option<&str>) -> Reply {
        let mut request = self.client.post(self.url(path)).json(body);
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        self.send("POST", path, body.to_string(), request).await
    }

    /// POST a JSON body with extra headers (e.g. `X-Forwarded-For`).
    pub async fn post_headers(&self, path: &str, body: &Value, headers: &[(&str, &str)]) -> Reply {
        let mut request = self.client.post(self.url(path)).json(body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.send("POST", path, body.to_string(), request).await
    }

    /// POST a raw JSON body with extra headers.
    pub async fn post_raw_headers(&self, path: &str, body: String, headers: &[(&str, &str)]) -> Reply {
        let mut request = self
            .client
            .post(self.url(path))
            .header("content-type", "application/json")
            .body(body.clone());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.send("POST", path, body, request).await
    }

    /// POST raw bytes with a content type.
    pub async fn post_raw(&self, path: &str, body: impl Into<Vec<u8>>, content_type: &str) -> Reply {
        let body: Vec<u8> = body.into();
        let shown = String::from_utf8_lossy(&body).into_owned();
        let request = self
            .client
            .post(self.url(path))
            .header("content-type", content_type)
            .body(body);
        self.send("POST", path, shown, request).await
    }

    /// POST with no body, optionally with a raw `Authorization` header.
    pub async fn post_empty(&self, path: &str, authorization: Option<&str>) -> Reply {
        let mut request = self.client.post(self.url(path));
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        self.send("POST", path, String::new(), request).await
    }

    /// GET.
    pub async fn get(&self, path: &str) -> Reply {
        self.send("GET", path, String::new(), self.client.get(self.url(path)))
            .await
    }

    /// GET with extra headers.
    pub async fn get_headers(&self, path: &str, headers: &[(&str, &str)]) -> Reply {
        let mut request = self.client.get(self.url(path));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.send("GET", path, String::new(), request).await
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
        let method =
            reqwest::Method::from_bytes(method.as_bytes()).unwrap_or_else(|e| panic!("method {method}: {e}"));
        let shown = String::from_utf8_lossy(&body).into_owned();
        let mut request = self.client.request(method.clone(), self.url(path)).body(body);
        for (name, value) in headers {
            request = request.header(name.as_str(), value.as_str());
        }
        self.send(method.as_str(), path, shown, request).await
    }

    /// The service's OpenAPI document (`GET /openapi.json`).
    pub async fn openapi(&self) -> Value {
        let reply = self
            .send(
                "GET",
                "/openapi.json",
                String::new(),
                self.client.get(self.url("/openapi.json")),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "GET /openapi.json: {}", reply.text);
        reply.json
    }

    /// GET with a JSON body (the `account` document's `check/auth-code`).
    pub async fn get_json(&self, path: &str, body: &Value) -> Reply {
        let request = self.client.get(self.url(path)).json(body);
        self.send("GET", path, body.to_string(), request).await
    }

    /// Where this app's mail arrives.
    pub fn mail(&self) -> Arc<dyn MailReader> {
        self.target.deployment().mail()
    }

    /// Proves `email` for the sign-up of `login` the way the document's
    /// client does: requests a `SIGN_UP` code with that `authId`, reads it
    /// from the delivered mail, checks it with the same `authId`. The check
    /// opens sign-up for that `authId` only. Returns the code.
    pub async fn verify_email(&self, email: &str, login: &str) -> String {
        let mail = self.mail();
        let before = mail.count_to(email).await;
        let sent = self
            .post(
                "/api/auth/send/auth-key",
                &serde_json::json!({"authId": login, "email": email, "type": "SIGN_UP"}),
            )
            .await;
        assert_eq!(sent.status, StatusCode::OK, "send/auth-key failed: {}", sent.text);
        let code = mail.wait_for(email, before + 1).await.code();
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

    /// Registers a user through the `account` contract.
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
        let id = reply.json["data"]["id"]
            .as_i64()
            .unwrap_or_else(|| panic!("sign-up: no numeric id in {}", reply.text));
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
