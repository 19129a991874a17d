//! A fake Google, Kakao and Naver over real HTTP, for the social-login
//! scenarios.
//!
//! One actix-web server on `127.0.0.1:0` plays all three providers under
//! `/{provider}/authorize`, `/{provider}/token` and `/{provider}/userinfo`,
//! speaking each provider's real JSON shapes and checking what a real
//! provider checks: the client credentials where that provider wants them
//! (Google: HTTP Basic or the body; Kakao and Naver: the body), the code
//! (single use, issued to this client), the `redirect_uri`, the PKCE
//! verifier against the challenge given at the authorization step (S256),
//! Naver's `state`, and the bearer token at user info. Refusals look like
//! the provider's own (Naver answers token errors with status 200). It
//! records every request, and can be told to deny consent or to fail an
//! endpoint.
//!
//! The authorization endpoint stands in for the user: it answers at once
//! with the redirect a consenting (or refusing) user would produce.

mod users;
pub use users::{google_user, kakao_user, naver_user};

use std::collections::{BTreeMap, HashMap};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use actix_web::dev::ServerHandle;
use actix_web::http::header;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rand::RngExt;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::target::Config;

/// Where an in-process service lives for the fake (`AUTH_PUBLIC_URL`): callback
/// URLs start with it. The suite maps it back to the in-process server.
pub const PUBLIC_URL: &str = "https://auth.example.test";

/// The registered client of each provider: `(client id, client secret)`.
pub fn client(provider: &str) -> (&'static str, &'static str) {
    match provider {
        "google" => ("1234567890-fake.apps.googleusercontent.com", "GOCSPX-fake-secret"),
        "kakao" => ("kakao0rest0api0key0fake", "kakao-client-secret"),
        "naver" => ("naverFakeClientId", "naverFakeSecret"),
        other => panic!("no such provider {other}"),
    }
}

/// `BASE64URL(SHA256(verifier))`, RFC 7636's S256.
pub fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// One token request as received.
#[derive(Debug, Clone)]
pub struct TokenRequest {
    /// `google`, `kakao` or `naver`.
    pub provider: String,
    /// The form fields.
    pub form: BTreeMap<String, String>,
    /// Client id and secret from HTTP Basic authentication, if used.
    pub basic: Option<(String, String)>,
}

/// One user-info request as received.
#[derive(Debug, Clone)]
pub struct UserInfoRequest {
    /// `google`, `kakao` or `naver`.
    pub provider: String,
    /// The `Authorization` header.
    pub authorization: Option<String>,
    /// The query parameters.
    pub query: BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
struct IssuedCode {
    provider: String,
    client_id: String,
    redirect_uri: String,
    state: String,
    challenge: Option<(String, String)>,
    userinfo: Value,
    used: bool,
}

#[derive(Debug, Default)]
struct FakeState {
    users: HashMap<String, Value>,
    token_failure: HashMap<String, (u16, String)>,
    userinfo_failure: HashMap<String, (u16, String)>,
    deny: bool,
    codes: HashMap<String, IssuedCode>,
    tokens: HashMap<String, (String, Value)>,
    authorizations: Vec<(String, BTreeMap<String, String>)>,
    token_requests: Vec<TokenRequest>,
    userinfo_requests: Vec<UserInfoRequest>,
    /// The service's `AUTH_PUBLIC_URL`: redirect URIs must start with it.
    public_url: String,
}

type Shared = web::Data<Arc<Mutex<FakeState>>>;

/// The running fake. Stops when dropped.
#[derive(Debug)]
pub struct FakeProvider {
    base: String,
    public_url: String,
    state: Arc<Mutex<FakeState>>,
    handle: ServerHandle,
    http: reqwest::Client,
}

fn random_token(prefix: &str) -> String {
    let bytes: [u8; 16] = rand::rng().random();
    format!("{prefix}{}", hex::encode(bytes))
}

fn query_map(query: &str) -> BTreeMap<String, String> {
    reqwest::Url::parse(&format!("http://q/?{query}"))
        .map(|u| u.query_pairs().into_owned().collect())
        .unwrap_or_default()
}

/// `url` with `pairs` appended to its query.
fn with_query(url: &str, pairs: &[(&str, &str)]) -> String {
    let mut url = reqwest::Url::parse(url).unwrap();
    url.query_pairs_mut().extend_pairs(pairs);
    url.to_string()
}

fn json_response(status: u16, body: &str) -> HttpResponse {
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap())
        .content_type("application/json;charset=UTF-8")
        .body(body.to_owned())
}

/// The provider's answer to a token request it refuses.
fn token_refusal(provider: &str, error: &str, description: &str) -> HttpResponse {
    let body = json!({"error": error, "error_description": description}).to_string();
    match (provider, error) {
        // Naver reports token errors with status 200.
        ("naver", _) => json_response(200, &body),
        (_, "invalid_client") => json_response(401, &body),
        ("kakao", _) => json_response(
            400,
            &json!({"error": error, "error_description": description, "error_code": "KOE320"}).to_string(),
        ),
        _ => json_response(400, &body),
    }
}

async fn authorize(state: Shared, provider: web::Path<String>, req: HttpRequest) -> HttpResponse {
    let provider = provider.into_inner();
    let query = query_map(req.query_string());
    let mut s = state.lock().unwrap();
    s.authorizations.push((provider.clone(), query.clone()));
    let (Some(client_id), Some(redirect_uri), Some(flow_state)) = (
        query.get("client_id"),
        query.get("redirect_uri"),
        query.get("state"),
    ) else {
        return HttpResponse::BadRequest().body("missing client_id, redirect_uri or state");
    };
    if query.get("response_type").map(String::as_str) != Some("code")
        || client_id != client(&provider).0
        || !redirect_uri.starts_with(&s.public_url)
    {
        return HttpResponse::BadRequest().body("invalid authorization request");
    }
    if s.deny {
        let location = with_query(
            redirect_uri,
            &[
                ("error", "access_denied"),
                ("error_description", "User denied access"),
                ("state", flow_state),
            ],
        );
        return HttpResponse::Found()
            .insert_header((header::LOCATION, location))
            .finish();
    }
    let Some(userinfo) = s.users.get(&provider).cloned() else {
        return HttpResponse::InternalServerError().body("the test set no user for this provider");
    };
    let challenge = match (query.get("code_challenge"), query.get("code_challenge_method")) {
        (Some(c), Some(m)) => Some((c.clone(), m.clone())),
        (Some(c), None) => Some((c.clone(), "plain".to_owned())),
        _ => None,
    };
    let code = random_token("code-");
    s.codes.insert(
        code.clone(),
        IssuedCode {
            provider: provider.clone(),
            client_id: client_id.clone(),
            redirect_uri: redirect_uri.clone(),
            state: flow_state.clone(),
            challenge,
            userinfo,
            used: false,
        },
    );
    let location = with_query(redirect_uri, &[("code", &code), ("state", flow_state)]);
    HttpResponse::Found()
        .insert_header((header::LOCATION, location))
        .finish()
}

fn basic_credentials(req: &HttpRequest) -> Option<(String, String)> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = String::from_utf8(STANDARD.decode(encoded).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    // RFC 6749 §2.3.1: both are form-urlencoded first.
    let pairs = query_map(&format!("id={id}&secret={secret}"));
    Some((pairs.get("id")?.clone(), pairs.get("secret")?.clone()))
}

async fn token(
    state: Shared,
    provider: web::Path<String>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let provider = provider.into_inner();
    let form = query_map(&String::from_utf8_lossy(&body));
    let basic = basic_credentials(&req);
    let mut s = state.lock().unwrap();
    s.token_requests.push(TokenRequest {
        provider: provider.clone(),
        form: form.clone(),
        basic: basic.clone(),
    });
    if let Some((status, body)) = s.token_failure.get(&provider) {
        return json_response(*status, body);
    }
    if form.get("grant_type").map(String::as_str) != Some("authorization_code") {
        return token_refusal(
            &provider,
            "unsupported_grant_type",
            "grant_type must be authorization_code",
        );
    }
    let (id, secret) = client(&provider);
    let form_credentials = (form.get("client_id").cloned(), form.get("client_secret").cloned());
    let authenticated = match provider.as_str() {
        // Google: client_secret_basic or client_secret_post.
        "google" => {
            basic == Some((id.to_owned(), secret.to_owned()))
                || form_credentials == (Some(id.to_owned()), Some(secret.to_owned()))
        }
        // Kakao and Naver: in the body only.
        _ => basic.is_none() && form_credentials == (Some(id.to_owned()), Some(secret.to_owned())),
    };
    if !authenticated {
        return token_refusal(&provider, "invalid_client", "Bad client credentials");
    }
    let code = form.get("code").cloned().unwrap_or_default();
    let Some(issued) = s.codes.get_mut(&code) else {
        return token_refusal(&provider, "invalid_grant", "authorization code not found");
    };
    if issued.used || issued.provider != provider || issued.client_id != id {
        return token_refusal(&provider, "invalid_grant", "authorization code not found");
    }
    issued.used = true;
    let issued = issued.clone();
    let redirect_ok = match form.get("redirect_uri") {
        Some(uri) => *uri == issued.redirect_uri,
        // Naver does not need it.
        None => provider == "naver",
    };
    if !redirect_ok {
        return token_refusal(&provider, "invalid_grant", "redirect_uri mismatch");
    }
    if provider == "naver" && form.get("state") != Some(&issued.state) {
        return token_refusal(&provider, "invalid_request", "no valid data in session");
    }
    if let Some((challenge, method)) = &issued.challenge {
        let verifier = form.get("code_verifier").cloned().unwrap_or_default();
        let derived = if method == "S256" {
            s256(&verifier)
        } else {
            verifier
        };
        if derived != *challenge {
            return token_refusal(&provider, "invalid_grant", "PKCE verification failed");
        }
    }
    let access = random_token("at-");
    s.tokens
        .insert(access.clone(), (provider.clone(), issued.userinfo.clone()));
    let body = match provider.as_str() {
        "google" => json!({
            "access_token": access, "expires_in": 3599, "token_type": "Bearer",
            "scope": "openid https://www.googleapis.com/auth/userinfo.email https://www.googleapis.com/auth/userinfo.profile",
            "id_token": "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln"
        }),
        "kakao" => json!({
            "access_token": access, "token_type": "bearer", "refresh_token": random_token("rt-"),
            "expires_in": 21599, "scope": "account_email profile_image profile_nickname",
            "refresh_token_expires_in": 5_183_999
        }),
        // Naver's expires_in is a string.
        _ => json!({
            "access_token": access, "refresh_token": random_token("rt-"),
            "token_type": "bearer", "expires_in": "3600"
        }),
    };
    json_response(200, &body.to_string())
}

async fn userinfo(state: Shared, provider: web::Path<String>, req: HttpRequest) -> HttpResponse {
    let provider = provider.into_inner();
    let authorization = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut s = state.lock().unwrap();
    s.userinfo_requests.push(UserInfoRequest {
        provider: provider.clone(),
        authorization: authorization.clone(),
        query: query_map(req.query_string()),
    });
    if let Some((status, body)) = s.userinfo_failure.get(&provider) {
        return json_response(*status, body);
    }
    let token = authorization
        .as_deref()
        .and_then(|a| a.strip_prefix("Bearer "))
        .unwrap_or_default();
    match s.tokens.get(token) {
        Some((p, body)) if *p == provider => json_response(200, &body.to_string()),
        _ => match provider.as_str() {
            "kakao" => json_response(401, r#"{"msg":"this access token does not exist","code":-401}"#),
            "naver" => json_response(
                401,
                r#"{"resultcode":"024","message":"Authentication failed / 인증에 실패했습니다."}"#,
            ),
            _ => json_response(
                401,
                r#"{"error":"invalid_request","error_description":"Invalid Credentials"}"#,
            ),
        },
    }
}

impl FakeProvider {
    /// Starts the fake on a free loopback port, for a service at
    /// [`PUBLIC_URL`].
    pub async fn start() -> Self {
        Self::start_on("127.0.0.1:0", PUBLIC_URL)
            .await
            .unwrap_or_else(|e| panic!("fake OAuth provider: {e}"))
    }

    /// Starts the fake on `bind`, reached by the service at `reached_at`
    /// (default `http://{bind}`), for a service whose `AUTH_PUBLIC_URL` is
    /// `public_url`.
    ///
    /// # Errors
    /// When `bind` cannot be bound.
    pub async fn start_with(bind: &str, reached_at: Option<&str>, public_url: &str) -> std::io::Result<Self> {
        let mut fake = Self::start_on(bind, public_url).await?;
        if let Some(url) = reached_at {
            fake.base = url.trim_end_matches('/').to_owned();
        }
        Ok(fake)
    }

    /// Starts the fake on `bind`, for a service whose `AUTH_PUBLIC_URL` is
    /// `public_url`.
    ///
    /// # Errors
    /// When `bind` cannot be bound.
    pub async fn start_on(bind: &str, public_url: &str) -> std::io::Result<Self> {
        let public_url = public_url.trim_end_matches('/').to_owned();
        let state = Arc::new(Mutex::new(FakeState {
            public_url: public_url.clone(),
            ..FakeState::default()
        }));
        let data = web::Data::new(state.clone());
        let listener = TcpListener::bind(bind)?;
        let addr = listener.local_addr()?;
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .route("/{provider}/authorize", web::get().to(authorize))
                .route("/{provider}/token", web::post().to(token))
                .route("/{provider}/userinfo", web::get().to(userinfo))
        })
        .workers(1)
        .shutdown_timeout(1)
        .listen(listener)?
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Ok(Self {
            base: format!("http://{addr}"),
            public_url,
            state,
            handle,
            http,
        })
    }

    /// The service's `AUTH_PUBLIC_URL` this fake expects in redirect URIs.
    pub fn public_url(&self) -> &str {
        &self.public_url
    }

    /// Forgets everything scenarios told it or sent it (a fake shared by
    /// scenarios run one after the other).
    pub fn reset(&self) {
        let mut s = self.state.lock().unwrap();
        let public_url = std::mem::take(&mut s.public_url);
        *s = FakeState {
            public_url,
            ..FakeState::default()
        };
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Registers the service with all three providers: client ids and
    /// secrets, every endpoint at this fake, `AUTH_PUBLIC_URL` = the
    /// service's public URL this fake was started for.
    pub fn configure(&self, c: &mut Config) {
        for (key, value) in self.settings() {
            c.set(&key, value);
        }
    }

    /// The settings [`FakeProvider::configure`] makes, as `AUTH_*` variables.
    pub fn settings(&self) -> Vec<(String, String)> {
        Self::settings_for(&self.base, &self.public_url)
    }

    /// The settings pointing a service at `public_url` to a fake reached at
    /// `base`, as `AUTH_*` variables.
    pub fn settings_for(base: &str, public_url: &str) -> Vec<(String, String)> {
        let mut out = vec![(
            "AUTH_PUBLIC_URL".to_owned(),
            public_url.trim_end_matches('/').to_owned(),
        )];
        for provider in ["google", "kakao", "naver"] {
            let upper = provider.to_uppercase();
            let (id, secret) = client(provider);
            out.push((format!("AUTH_OAUTH_{upper}_CLIENT_ID"), id.to_owned()));
            out.push((format!("AUTH_OAUTH_{upper}_CLIENT_SECRET"), secret.to_owned()));
            for (what, path) in [
                ("AUTHORIZE", "authorize"),
                ("TOKEN", "token"),
                ("USERINFO", "userinfo"),
            ] {
                out.push((
                    format!("AUTH_OAUTH_{upper}_{what}_URL"),
                    format!("{base}/{provider}/{path}"),
                ));
            }
        }
        out
    }

    /// The user-info body the provider answers for the next consents.
    pub fn set_user(&self, provider: &str, userinfo: Value) {
        self.state.lock().unwrap().users.insert(provider.into(), userinfo);
    }

    /// Makes the authorization step answer `error=access_denied`.
    pub fn deny_consent(&self, deny: bool) {
        self.state.lock().unwrap().deny = deny;
    }

    /// Makes the token endpoint answer `status` with `body`.
    pub fn fail_token(&self, provider: &str, status: u16, body: &str) {
        self.state
            .lock()
            .unwrap()
            .token_failure
            .insert(provider.into(), (status, body.into()));
    }

    /// Makes the user-info endpoint answer `status` with `body`.
    pub fn fail_userinfo(&self, provider: &str, status: u16, body: &str) {
        self.state
            .lock()
            .unwrap()
            .userinfo_failure
            .insert(provider.into(), (status, body.into()));
    }

    /// Ends every configured failure.
    pub fn heal(&self) {
        let mut s = self.state.lock().unwrap();
        s.token_failure.clear();
        s.userinfo_failure.clear();
        s.deny = false;
    }

    /// Every authorization request: `(provider, query)`.
    pub fn authorizations(&self) -> Vec<(String, BTreeMap<String, String>)> {
        self.state.lock().unwrap().authorizations.clone()
    }

    /// Every token request.
    pub fn token_requests(&self) -> Vec<TokenRequest> {
        self.state.lock().unwrap().token_requests.clone()
    }

    /// Every user-info request.
    pub fn userinfo_requests(&self) -> Vec<UserInfoRequest> {
        self.state.lock().unwrap().userinfo_requests.clone()
    }

    /// The browser at the provider: opens `authorize_url` and returns where
    /// the provider sends it next (the service's callback, with `code` and
    /// `state`, or `error` and `state`).
    pub async fn consent(&self, authorize_url: &str) -> String {
        let response = self.http.get(authorize_url).send().await.unwrap();
        let status = response.status();
        let location = response
            .headers()
            .get(header::LOCATION.as_str())
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response.text().await.unwrap_or_default();
        assert_eq!(status.as_u16(), 302, "authorize answered {status}: {body}");
        location.unwrap()
    }
}

impl Drop for FakeProvider {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}
