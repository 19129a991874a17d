//! `picsel` (seed 002), social part: Google, Kakao and Naver against a fake
//! provider over real HTTP (`crate::oauth`).
//!
//! The browser is played by hand: `GET /api/auth/{provider}` (302) →
//! the fake's authorize URL (302 with `code` and `state`, as a consenting
//! user gets) → the service's callback. The service believes it lives at
//! its `AUTH_PUBLIC_URL` (`oauth::PUBLIC_URL` in-process, the deployment's
//! public URL for `auth-qa`); callback URLs are mapped back to the server
//! under test. Against a deployment they run when `auth-qa --oauth-bind`
//! serves the fake the deployment is pointed at (`docs/qa.md`).

use std::collections::{BTreeMap, HashMap};
use std::sync::{LazyLock, Mutex};

use crate::oauth::{self, FakeProvider, google_user, kakao_user, naver_user};
use crate::{Config, Reply, Target, TestApp, unique_email};
use serde_json::{Value, json};

use super::{
    assert_issued_now, assert_jwt, assert_keys, assert_picsel_error, email_usable, picsel_login,
    picsel_refresh,
};

/// An app registered with all three fake providers.
async fn spawn(target: &Target, extra: impl FnOnce(&mut Config)) -> (TestApp, std::sync::Arc<FakeProvider>) {
    let fake = target.deployment().oauth().await;
    let app = TestApp::spawn_with(target, |c| {
        fake.configure(c);
        extra(c);
    })
    .await;
    (app, fake)
}

fn query(url: &str) -> BTreeMap<String, String> {
    reqwest::Url::parse(url)
        .unwrap_or_else(|_| panic!("not a URL: {url}"))
        .query_pairs()
        .into_owned()
        .collect()
}

fn location(reply: &Reply) -> String {
    reply
        .headers
        .get("location")
        .unwrap_or_else(|| panic!("no Location; status {}: {}", reply.status, reply.text))
        .to_str()
        .unwrap()
        .to_owned()
}

/// The browser's cookie jar, as far as these scenarios need one: the
/// `auth_oauth_state` cookie each `GET` start set, by the flow's `state`
/// (each flow is its own browser, so flows never see each other's cookie
/// unless a scenario hands it over on purpose).
static BROWSER_COOKIES: LazyLock<Mutex<HashMap<String, String>>> = LazyLock::new(Default::default);

/// `name=value` of the `auth_oauth_state` cookie a start set.
fn browser_cookie(reply: &Reply) -> Option<String> {
    reply
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("auth_oauth_state="))
        .map(|v| v.split(';').next().unwrap_or_default().to_owned())
}

/// `GET {prefix}/api/auth/{provider}`: asserts the 302 and returns the
/// provider's authorization URL; the browser keeps the flow's cookie.
async fn begin_at(app: &TestApp, prefix: &str, provider: &str) -> String {
    let reply = app.get(&format!("{prefix}/api/auth/{provider}")).await;
    assert_eq!(reply.status.as_u16(), 302, "{}", reply.text);
    let url = location(&reply);
    let cookie = browser_cookie(&reply).unwrap_or_else(|| panic!("no browser cookie: {:?}", reply.headers));
    if let Some(state) = query(&url).get("state") {
        BROWSER_COOKIES.lock().unwrap().insert(state.clone(), cookie);
    }
    url
}

async fn begin(app: &TestApp, provider: &str) -> String {
    begin_at(app, "", provider).await
}

/// Follows a provider's redirect back to the service, in the browser that
/// started the flow (with its cookie, if it has one).
async fn callback(app: &TestApp, callback_url: &str) -> Reply {
    let cookie = query(callback_url)
        .get("state")
        .and_then(|state| BROWSER_COOKIES.lock().unwrap().get(state).cloned());
    callback_with(app, callback_url, cookie.as_deref()).await
}

/// `GET path` (a callback built by hand) in the browser of the flow its
/// `state` names.
async fn in_browser(app: &TestApp, path: &str) -> Reply {
    callback(app, &format!("{}{path}", app.public_url())).await
}

/// Follows a provider's redirect back to the service with exactly `cookie`
/// (`name=value`), or none.
async fn callback_with(app: &TestApp, callback_url: &str, cookie: Option<&str>) -> Reply {
    let path = callback_url
        .strip_prefix(app.public_url())
        .unwrap_or_else(|| panic!("callback outside AUTH_PUBLIC_URL: {callback_url}"));
    match cookie {
        Some(cookie) => app.get_headers(path, &[("cookie", cookie)]).await,
        None => app.get(path).await,
    }
}

/// A whole flow for whatever user the fake currently has for `provider`.
async fn social_login(app: &TestApp, fake: &FakeProvider, provider: &str) -> Reply {
    let authorize = begin(app, provider).await;
    let back = fake.consent(&authorize).await;
    callback(app, &back).await
}

/// Asserts the email login's success shape and returns `data`.
#[track_caller]
fn assert_login_shape(reply: &Reply, email: &str) -> Value {
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.text);
    assert_keys(&reply.json, &["message", "data"]);
    assert_eq!(reply.json["message"], json!("로그인 성공"));
    let data = reply.json["data"].clone();
    assert_keys(&data, &["accessToken", "refreshToken", "issuedAt", "user"]);
    assert_jwt(data["accessToken"].as_str().unwrap());
    assert_jwt(data["refreshToken"].as_str().unwrap());
    assert_issued_now(data["issuedAt"].as_str().unwrap());
    assert_keys(&data["user"], &["uuid", "email", "name", "profileImage"]);
    uuid::Uuid::parse_str(data["user"]["uuid"].as_str().unwrap()).unwrap();
    assert_eq!(data["user"]["email"], json!(email));
    data
}

#[track_caller]
fn assert_envelope(reply: &Reply, status: u16, error_type: &str, code: &str) {
    assert_eq!(reply.status.as_u16(), status, "{}", reply.text);
    assert_eq!(reply.json["statusCode"], json!(status), "{}", reply.text);
    assert_eq!(reply.json["errorType"], json!(error_type), "{}", reply.text);
    assert_eq!(reply.json["error"]["code"], json!(code), "{}", reply.text);
    assert_eq!(
        reply.json["error"]["message"], reply.json["message"],
        "{}",
        reply.text
    );
}

#[track_caller]
fn assert_invalid_state(reply: &Reply) {
    assert_picsel_error(
        reply,
        400,
        "BadRequestException",
        "INVALID_OAUTH_STATE",
        "유효하지 않거나 만료된 소셜 로그인 요청입니다. 처음부터 다시 시도해주세요",
        Value::Null,
    );
}

#[track_caller]
fn assert_not_found(reply: &Reply, provider: &str) {
    assert_picsel_error(
        reply,
        404,
        "NotFoundException",
        "SOCIAL_PROVIDER_NOT_FOUND",
        "지원하지 않는 소셜 로그인입니다",
        json!({"provider": provider}),
    );
}

/// The authorization URL's common parameters; returns the query.
#[track_caller]
fn assert_authorize_url(url: &str, fake: &FakeProvider, provider: &str) -> BTreeMap<String, String> {
    assert!(
        url.starts_with(&format!("{}/{provider}/authorize?", fake.base())),
        "{url}"
    );
    let q = query(url);
    assert_eq!(q["client_id"], oauth::client(provider).0);
    assert_eq!(
        q["redirect_uri"],
        format!("{}/api/auth/{provider}/callback", fake.public_url())
    );
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["state"].len(), 64, "{url}");
    assert!(
        !url.contains(oauth::client(provider).1),
        "the secret leaked: {url}"
    );
    q
}

async fn google_round_trip(target: &Target) {
    let (app, fake) = spawn(target, |_| {}).await;
    let email = unique_email();
    fake.set_user("google", google_user("110169484474386276334", &email, true));

    let authorize = begin(&app, "google").await;
    let q = assert_authorize_url(&authorize, &fake, "google");
    assert_eq!(q["scope"], "openid email profile");
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["code_challenge"].len(), 43);

    let back = fake.consent(&authorize).await;
    let cb = query(&back);
    assert_eq!(cb["state"], q["state"]);
    let reply = callback(&app, &back).await;
    let data = assert_login_shape(&reply, &email);
    assert_eq!(data["user"]["name"], json!("홍길동"));
    assert_eq!(
        data["user"]["profileImage"],
        json!("https://lh3.googleusercontent.com/a/110169484474386276334=s96-c")
    );
    assert_eq!(reply.headers["referrer-policy"], "no-referrer");

    // The token request: the code, the redirect URI, the PKCE verifier whose
    // S256 is the challenge, and the client authenticated (Basic).
    let tokens = fake.token_requests();
    assert_eq!(tokens.len(), 1);
    let t = &tokens[0];
    assert_eq!(t.form["grant_type"], "authorization_code");
    assert_eq!(t.form["code"], cb["code"]);
    assert_eq!(t.form["redirect_uri"], q["redirect_uri"]);
    let verifier = &t.form["code_verifier"];
    assert!((43..=128).contains(&verifier.len()), "{verifier}");
    assert_eq!(oauth::s256(verifier), q["code_challenge"]);
    let (id, secret) = oauth::client("google");
    assert_eq!(t.basic, Some((id.to_owned(), secret.to_owned())));
    assert!(!t.form.contains_key("client_secret"));
    let info = fake.userinfo_requests();
    assert_eq!(info.len(), 1);
    assert!(
        info[0]
            .authorization
            .as_deref()
            .unwrap()
            .starts_with("Bearer at-")
    );

    // A second login is the same user, in a new session.
    let again = social_login(&app, &fake, "google").await;
    let again = assert_login_shape(&again, &email);
    assert_eq!(again["user"]["uuid"], data["user"]["uuid"]);
    assert_ne!(again["refreshToken"], data["refreshToken"]);
    // The tokens are ordinary ones: refresh works.
    let refreshed = picsel_refresh(&app, data["refreshToken"].as_str().unwrap()).await;
    assert_eq!(refreshed.status.as_u16(), 200, "{}", refreshed.text);
    assert_jwt(&refreshed.str("/data/accessToken"));
}

async fn kakao_round_trip(target: &Target) {
    let (app, fake) = spawn(target, |_| {}).await;
    let email = unique_email();
    fake.set_user("kakao", kakao_user(3_141_592_653, Some(&email), true));

    let authorize = begin(&app, "kakao").await;
    let q = assert_authorize_url(&authorize, &fake, "kakao");
    // Kakao separates consent items with commas.
    assert_eq!(q["scope"], "account_email,profile_nickname,profile_image");
    assert_eq!(q["code_challenge_method"], "S256");

    let back = fake.consent(&authorize).await;
    let reply = callback(&app, &back).await;
    let data = assert_login_shape(&reply, &email);
    // No name without a business app: the nickname.
    assert_eq!(data["user"]["name"], json!("카카오길동"));
    assert_eq!(
        data["user"]["profileImage"],
        json!("https://k.kakaocdn.net/dn/3141592653/img_640x640.jpg")
    );

    let t = &fake.token_requests()[0];
    assert_eq!(t.form["code"], query(&back)["code"]);
    assert_eq!(t.form["redirect_uri"], q["redirect_uri"]);
    assert_eq!(oauth::s256(&t.form["code_verifier"]), q["code_challenge"]);
    // Kakao wants the secret in the form body.
    let (id, secret) = oauth::client("kakao");
    assert_eq!(t.basic, None);
    assert_eq!(t.form["client_id"], id);
    assert_eq!(t.form["client_secret"], secret);
    let info = &fake.userinfo_requests()[0];
    assert_eq!(
        info.query.get("secure_resource").map(String::as_str),
        Some("true")
    );

    let again = social_login(&app, &fake, "kakao").await;
    assert_eq!(
        assert_login_shape(&again, &email)["user"]["uuid"],
        data["user"]["uuid"]
    );
    let refreshed = picsel_refresh(&app, data["refreshToken"].as_str().unwrap()).await;
    assert_eq!(refreshed.status.as_u16(), 200, "{}", refreshed.text);
}

async fn naver_round_trip(target: &Target) {
    let (app, fake) = spawn(target, |_| {}).await;
    let email = format!("{}@naver.com", crate::unique_login());
    fake.set_user("naver", naver_user("Zk3sT1-naver-id", &email));

    let authorize = begin(&app, "naver").await;
    let q = assert_authorize_url(&authorize, &fake, "naver");
    // Naver takes no scope and no PKCE.
    assert!(!q.contains_key("scope"), "{authorize}");
    assert!(!q.contains_key("code_challenge") && !q.contains_key("code_challenge_method"));

    let back = fake.consent(&authorize).await;
    let reply = callback(&app, &back).await;
    let data = assert_login_shape(&reply, &email);
    assert_eq!(data["user"]["name"], json!("네이버 길동"));

    let t = &fake.token_requests()[0];
    assert_eq!(t.form["code"], query(&back)["code"]);
    // Naver wants the state and the secret in the body; no verifier.
    assert_eq!(t.form["state"], q["state"]);
    let (id, secret) = oauth::client("naver");
    assert_eq!(
        (t.form["client_id"].as_str(), t.form["client_secret"].as_str()),
        (id, secret)
    );
    assert_eq!(t.basic, None);
    assert!(!t.form.contains_key("code_verifier"));

    let again = social_login(&app, &fake, "naver").await;
    assert_eq!(
        assert_login_shape(&again, &email)["user"]["uuid"],
        data["user"]["uuid"]
    );
    let refreshed = picsel_refresh(&app, data["refreshToken"].as_str().unwrap()).await;
    assert_eq!(refreshed.status.as_u16(), 200, "{}", refreshed.text);
}

async fn post_alias_answers_201_with_the_url(target: &Target) {
    let (app, fake) = spawn(target, |_| {}).await;
    fake.set_user("google", google_user("g-post", &unique_email(), true));
    fake.set_user("kakao", kakao_user(77, Some(&unique_email()), true));
    fake.set_user("naver", naver_user("n-post", "post.alias@naver.com"));
    for provider in ["google", "kakao", "naver"] {
        let reply = app.post(&format!("/api/auth/{provider}/login"), &json!({})).await;
        assert_eq!(reply.status.as_u16(), 201, "{}", reply.text);
        assert_keys(&reply.json, &["message", "data"]);
        assert_eq!(reply.json["message"], json!("소셜 로그인 URL 발급 성공"));
        assert_keys(&reply.json["data"], &["url"]);
        let url = reply.str("/data/url");
        assert_eq!(location(&reply), url);
        assert_authorize_url(&url, &fake, provider);
        // It is a live flow.
        let back = fake.consent(&url).await;
        assert_eq!(callback(&app, &back).await.status.as_u16(), 200);
    }
    // Each start is its own flow.
    let a = app
        .post("/api/auth/google/login", &json!({}))
        .await
        .str("/data/url");
    let b = app
        .post("/api/auth/google/login", &json!({}))
        .await
        .str("/data/url");
    assert_ne!(query(&a)["state"], query(&b)["state"]);
    assert_ne!(query(&a)["code_challenge"], query(&b)["code_challenge"]);
}

async fn verified_email_links_the_existing_account(target: &Target) {
    let (app, fake) = spawn(target, |_| {}).await;
    let user = app.new_user().await;
    let before = picsel_login(&app, &user.email, &user.password).await;
    fake.set_user("google", google_user("g-link", &user.email.to_uppercase(), true));
    let reply = social_login(&app, &fake, "google").await;
    let data = assert_login_shape(&reply, &user.email);
    assert_eq!(data["user"]["uuid"], before.json["data"]["user"]["uuid"]);
    // The account is unchanged, and its password still works.
    assert_eq!(data["user"]["name"], json!("홍길동"));
    assert_eq!(data["user"]["profileImage"], Value::Null);
    picsel_login(&app, &user.email, &user.password).await;
    // The link holds even if the provider later reports another email.
    fake.set_user("google", google_user("g-link", &unique_email(), false));
    let again = social_login(&app, &fake, "google").await;
    assert_eq!(
        assert_login_shape(&again, &user.email)["user"]["uuid"],
        data["user"]["uuid"]
    );
}

async fn disabled_accounts_cannot_log_in_socially(target: &Target) {
    let (app, fake) = spawn(target, |_| {}).await;
    let user = app.new_user().await;
    fake.set_user("google", google_user("g-disabled", &user.email, true));
    assert_login_shape(&social_login(&app, &fake, "google").await, &user.email);
    let admin = [(
        "authorization".to_owned(),
        format!("Bearer {}", app.admin_token()),
    )];
    let path = format!("/internal/users/{}/disable", user.id);
    let r = app.request("POST", &path, &admin, Vec::new()).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    let refused = social_login(&app, &fake, "google").await;
    assert_envelope(&refused, 403, "ForbiddenException", "ACCOUNT_DISABLED");
    assert_eq!(
        refused.json["message"],
        json!("비활성화된 계정입니다. 관리자에게 문의하세요."),
        "{}",
        refused.text
    );
    let path = format!("/internal/users/{}/enable", user.id);
    let r = app.request("POST", &path, &admin, Vec::new()).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    assert_login_shape(&social_login(&app, &fake, "google").await, &user.email);
}

async fn unverified_email_is_refused(target: &Target) {
    let (app, fake) = spawn(target, |_| {}).await;
    let refused = |reply: &Reply| {
        assert_picsel_error(
            reply,
            403,
            "ForbiddenException",
            "SOCIAL_EMAIL_NOT_VERIFIED",
            "인증된 이메일이 있는 소셜 계정만 사용할 수 있습니다",
            Value::Null,
        );
    };
    // An existing account is not taken over.
    let user = app.new_user().await;
    fake.set_user("kakao", kakao_user(9001, Some(&user.email), false));
    refused(&social_login(&app, &fake, "kakao").await);
    // Nothing was linked: the same Kakao account is refused again.
    refused(&social_login(&app, &fake, "kakao").await);
    picsel_login(&app, &user.email, &user.password).await;
    // No account is planted on an address nobody proved (Naver vouches
    // only for its own naver.com mailboxes).
    let email = unique_email();
    fake.set_user("naver", naver_user("n-unverified", &email));
    refused(&social_login(&app, &fake, "naver").await);
    assert!(email_usable(&app, &email).await);
    // Google's explicit flag.
    fake.set_user("google", google_user("g-unverified", &email, false));
    refused(&social_login(&app, &fake, "google").await);
    assert!(email_usable(&app, &email).await);
}

async fn no_email_is_refused(target: &Target) {
    let (app, fake) = spawn(target, |_| {}).await;
    fake.set_user("kakao", kakao_user(4242, None, false));
    let reply = social_login(&app, &fake, "kakao").await;
    assert_picsel_error(
        &reply,
        403,
        "ForbiddenException",
        "SOCIAL_EMAIL_REQUIRED",
        "소셜 계정의 이메일 제공에 동의해야 가입할 수 있습니다",
        Value::Null,
    );
}

async fn social_only_user_has_no_password(target: &Target) {
    let (app, fake) = spawn(target, |_| {}).await;
    let email = unique_email();
    fake.set_user("google", google_user("g-solo", &email, true));
    assert_login_shape(&social_login(&app, &fake, "google").await, &email);
    for password in ["", "Password123!"] {
        let reply = app
            .post("/api/auth/login", &json!({"email": email, "password": password}))
            .await;
        assert_eq!(reply.status.as_u16(), if password.is_empty() { 400 } else { 401 });
    }
    let wrong = app
        .post(
            "/api/auth/login",
            &json!({"email": email, "password": "Password123!"}),
        )
        .await;
    let unknown = app
        .post(
            "/api/auth/login",
            &json!({"email": unique_email(), "password": "Password123!"}),
        )
        .await;
    assert_eq!(wrong.text, unknown.text, "like a wrong password");
    // The email is taken for sign-up.
    assert!(!email_usable(&app, &email).await);
}

async fn state_is_single_use_and_checked(target: &Target) {
    let (app, fake) = spawn(target, |_| {}).await;
    fake.set_user("google", google_user("g-state", &unique_email(), true));
    fake.set_user("kakao", kakao_user(5150, Some(&unique_email()), true));

    // Forged, missing, blank.
    for q in [
        "code=x&state=forged",
        "code=x",
        "code=x&state=",
        "state=0000000000000000000000000000000000000000000000000000000000000000&code=x",
    ] {
        assert_invalid_state(&app.get(&format!("/api/auth/google/callback?{q}")).await);
    }
    // Reused: the second callback with the same state is refused and never
    // reaches the provider.
    let back = fake.consent(&begin(&app, "google").await).await;
    assert_eq!(callback(&app, &back).await.status.as_u16(), 200);
    assert_invalid_state(&callback(&app, &back).await);
    assert_eq!(fake.token_requests().len(), 1);
    // Another provider's state: refused at kakao, still good at google.
    let back = fake.consent(&begin(&app, "google").await).await;
    let q = query(&back);
    let crossed = app
        .get(&format!(
            "/api/auth/kakao/callback?code={}&state={}",
            q["code"], q["state"]
        ))
        .await;
    assert_invalid_state(&crossed);
    assert_eq!(callback(&app, &back).await.status.as_u16(), 200);
    // A valid state without a code (and without an error).
    let authorize = begin(&app, "kakao").await;
    let state = query(&authorize)["state"].clone();
    let reply = in_browser(&app, &format!("/api/auth/kakao/callback?state={state}")).await;
    assert_picsel_error(
        &reply,
        400,
        "BadRequestException",
        "VALIDATION_ERROR",
        "code를 입력해주세요",
        json!({"field": "code"}),
    );
}

async fn expired_state_is_refused(target: &Target) {
    let (app, fake) = spawn(target, |c| {
        c.set("AUTH_OAUTH_STATE_TTL_SECONDS", 1);
    })
    .await;
    fake.set_user("naver", naver_user("n-late", "late@naver.com"));
    let back = fake.consent(&begin(&app, "naver").await).await;
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_invalid_state(&callback(&app, &back).await);
    assert!(fake.token_requests().is_empty());
    // In time, it works.
    let back = fake.consent(&begin(&app, "naver").await).await;
    assert_eq!(callback(&app, &back).await.status.as_u16(), 200);
}

async fn consent_denied(target: &Target) {
    let (app, fake) = spawn(target, |_| {}).await;
    fake.set_user("google", google_user("g-deny", &unique_email(), true));
    fake.deny_consent(true);
    let back = fake.consent(&begin(&app, "google").await).await;
    assert_eq!(query(&back)["error"], "access_denied");
    let reply = callback(&app, &back).await;
    assert_picsel_error(
        &reply,
        401,
        "UnauthorizedException",
        "SOCIAL_LOGIN_DENIED",
        "소셜 로그인이 취소되었습니다",
        json!({"error": "access_denied"}),
    );
    // The flow is over.
    assert_invalid_state(&callback(&app, &back).await);
    assert!(fake.token_requests().is_empty());
    // Another provider error code.
    let state = query(&begin(&app, "google").await)["state"].clone();
    let reply = in_browser(
        &app,
        &format!("/api/auth/google/callback?error=server_error&state={state}"),
    )
    .await;
    assert_envelope(&reply, 502, "BadGatewayException", "SOCIAL_PROVIDER_ERROR");
    assert_eq!(reply.json["error"]["details"], json!({"error": "server_error"}));
}

async fn token_endpoint_failures(target: &Target) {
    let (app, fake) = spawn(target, |_| {}).await;
    fake.set_user("google", google_user("g-tok", &unique_email(), true));
    fake.set_user("kakao", kakao_user(31337, Some(&unique_email()), true));
    fake.set_user("naver", naver_user("n-tok", "tok@naver.com"));
    let cases: [(&str, u16, &str, u16, &str, &str); 5] = [
        (
            "google",
            500,
            r#"{"error":"internal_failure"}"#,
            502,
            "BadGatewayException",
            "SOCIAL_TOKEN_EXCHANGE_FAILED",
        ),
        (
            "google",
            503,
            "<html>Service Unavailable</html>",
            502,
            "BadGatewayException",
            "SOCIAL_TOKEN_EXCHANGE_FAILED",
        ),
        (
            "kakao",
            400,
            r#"{"error":"invalid_grant","error_description":"authorization code not found for code=x","error_code":"KOE320"}"#,
            401,
            "UnauthorizedException",
            "SOCIAL_CODE_REJECTED",
        ),
        (
            "kakao",
            401,
            r#"{"error":"invalid_client","error_description":"Bad client credentials"}"#,
            502,
            "BadGatewayException",
            "SOCIAL_TOKEN_EXCHANGE_FAILED",
        ),
        // Naver reports errors with status 200.
        (
            "naver",
            200,
            r#"{"error":"invalid_request","error_description":"no valid data in session"}"#,
            502,
            "BadGatewayException",
            "SOCIAL_TOKEN_EXCHANGE_FAILED",
        ),
    ];
    for (provider, status, body, want, kind, code) in cases {
        fake.heal();
        fake.fail_token(provider, status, body);
        let reply = social_login(&app, &fake, provider).await;
        assert_envelope(&reply, want, kind, code);
        assert_eq!(reply.json["error"]["details"], Value::Null);
        assert!(
            !reply.text.contains("KOE320") && !reply.text.contains("html"),
            "{}",
            reply.text
        );
    }
    // A code the provider does not know (a real invalid_grant).
    fake.heal();
    let back = fake.consent(&begin(&app, "kakao").await).await;
    let q = query(&back);
    let forged = in_browser(
        &app,
        &format!("/api/auth/kakao/callback?code=not-issued&state={}", q["state"]),
    )
    .await;
    assert_envelope(&forged, 401, "UnauthorizedException", "SOCIAL_CODE_REJECTED");
    assert!(fake.userinfo_requests().is_empty());
    // Healed, the providers work again.
    for provider in ["google", "kakao", "naver"] {
        assert_eq!(social_login(&app, &fake, provider).await.status.as_u16(), 200);
    }
}

async fn userinfo_failures(target: &Target) {
    let (app, fake) = spawn(target, |_| {}).await;
    fake.set_user("google", google_user("g-ui", &unique_email(), true));
    fake.set_user("kakao", kakao_user(8080, Some(&unique_email()), true));
    fake.set_user("naver", naver_user("n-ui", "ui@naver.com"));
    let cases = [
        ("google", 500, r#"{"error":"backend_error"}"#),
        ("google", 200, "not json"),
        (
            "google",
            200,
            r#"{"email":"nosub@example.com","email_verified":true}"#,
        ),
        (
            "kakao",
            401,
            r#"{"msg":"this access token does not exist","code":-401}"#,
        ),
        (
            "naver",
            200,
            r#"{"resultcode":"024","message":"Authentication failed / 인증에 실패했습니다."}"#,
        ),
        (
            "naver",
            500,
            r#"{"resultcode":"500","message":"Internal Server Error"}"#,
        ),
    ];
    for (provider, status, body) in cases {
        fake.heal();
        fake.fail_userinfo(provider, status, body);
        let reply = social_login(&app, &fake, provider).await;
        assert_picsel_error(
            &reply,
            502,
            "BadGatewayException",
            "SOCIAL_USERINFO_FAILED",
            "소셜 계정 정보를 가져오지 못했습니다",
            Value::Null,
        );
    }
    fake.heal();
    assert_eq!(social_login(&app, &fake, "naver").await.status.as_u16(), 200);
}

async fn unknown_provider_is_404(target: &Target) {
    let app = TestApp::spawn(target).await;
    for provider in ["github", "Google", "apple"] {
        assert_not_found(&app.get(&format!("/api/auth/{provider}")).await, provider);
        assert_not_found(
            &app.post(&format!("/api/auth/{provider}/login"), &json!({})).await,
            provider,
        );
        assert_not_found(
            &app.get(&format!("/api/auth/{provider}/callback?code=a&state=b"))
                .await,
            provider,
        );
    }
    // Nothing is echoed but a safe excerpt.
    let reply = app.get("/api/auth/%3Cscript%3E").await;
    assert_not_found(&reply, "script");
}

async fn unconfigured_provider_is_404(target: &Target) {
    let fake = target.deployment().oauth().await;
    let app = TestApp::spawn_with(target, |c| {
        fake.configure(c);
        c.unset("AUTH_OAUTH_KAKAO_CLIENT_ID");
        c.set("AUTH_OAUTH_NAVER_CLIENT_ID", "  ");
    })
    .await;
    for provider in ["kakao", "naver"] {
        assert_not_found(&app.get(&format!("/api/auth/{provider}")).await, provider);
        assert_not_found(
            &app.post(&format!("/api/auth/{provider}/login"), &json!({})).await,
            provider,
        );
        assert_not_found(
            &app.get(&format!("/api/auth/{provider}/callback?code=a&state=b"))
                .await,
            provider,
        );
    }
    assert_eq!(app.get("/api/auth/google").await.status.as_u16(), 302);
    assert!(fake.authorizations().is_empty());
}

async fn success_redirect_carries_tokens_in_the_fragment(target: &Target) {
    let done = "https://app.example.test/oauth/done";
    let (app, fake) = spawn(target, |c| {
        c.set("AUTH_OAUTH_SUCCESS_REDIRECT", done);
    })
    .await;
    let email = unique_email();
    fake.set_user("kakao", kakao_user(2718, Some(&email), true));
    let reply = social_login(&app, &fake, "kakao").await;
    assert_eq!(reply.status.as_u16(), 302, "{}", reply.text);
    let to = location(&reply);
    let (base, fragment) = to.split_once('#').unwrap_or_else(|| panic!("no fragment: {to}"));
    assert_eq!(base, done);
    let f = query(&format!("http://x/?{fragment}"));
    assert_eq!(
        f.keys().map(String::as_str).collect::<Vec<_>>(),
        ["accessToken", "issuedAt", "refreshToken", "state", "tokenType"]
    );
    // The flow's state, for an application to match with the URL it opened.
    assert_eq!(f["state"].len(), 64, "{to}");
    assert_jwt(&f["accessToken"]);
    assert_jwt(&f["refreshToken"]);
    assert_issued_now(&f["issuedAt"]);
    assert_eq!(f["tokenType"], "Bearer");
    // Nothing of the tokens in the query: the fragment stays in the browser.
    assert!(!base.contains(&f["accessToken"]));
    // The tokens work.
    let refreshed = picsel_refresh(&app, &f["refreshToken"]).await;
    assert_eq!(refreshed.status.as_u16(), 200, "{}", refreshed.text);
    assert_eq!(
        super::standard_logout(&app, &f["accessToken"])
            .await
            .status
            .as_u16(),
        200
    );
    // Errors are still answered in the envelope.
    assert_invalid_state(&app.get("/api/auth/kakao/callback?code=x&state=y").await);
}

/// Issue 26.7, login CSRF around the cookie: an attacker starts a flow
/// with the `POST` alias (no cookie), consents as themself and sends the
/// victim's browser to the callback. Such a flow is never delivered to the
/// front end's `AUTH_OAUTH_SUCCESS_REDIRECT` as a browser flow is: it is
/// answered as JSON, or, with `AUTH_OAUTH_APP_REDIRECT`, sent to the
/// application's own address with its `state` to compare.
async fn application_flows_never_reach_the_front_ends_redirect(target: &Target) {
    let done = "https://app.example.test/oauth/done";
    let app_done = "com.example.app:/oauth";
    let (app, fake) = spawn(target, |c| {
        c.set("AUTH_OAUTH_SUCCESS_REDIRECT", done);
    })
    .await;
    let email = unique_email();
    fake.set_user("google", google_user("g-login-csrf", &email, true));
    let attackers = app.post("/api/auth/google/login", &json!({})).await;
    assert_eq!(attackers.status.as_u16(), 201, "{}", attackers.text);
    let back = fake.consent(&attackers.str("/data/url")).await;
    // The victim's browser, with no cookie or with a flow of its own.
    let victims = begin(&app, "google").await;
    let victims_cookie = BROWSER_COOKIES.lock().unwrap()[&query(&victims)["state"]].clone();
    let landed = callback_with(&app, &back, Some(&victims_cookie)).await;
    assert_ne!(
        landed.status.as_u16(),
        302,
        "delivered to the front end: {:?}",
        landed.headers
    );
    assert!(landed.headers.get("location").is_none(), "{:?}", landed.headers);
    // The login JSON, which no front end adopts by itself.
    assert_login_shape(&landed, &email);

    // A browser's own flow still goes to the front end.
    let own = social_login(&app, &fake, "google").await;
    assert_eq!(own.status.as_u16(), 302, "{}", own.text);
    assert!(
        location(&own).starts_with(&format!("{done}#")),
        "{}",
        location(&own)
    );

    // With the application's own address, its flows go there, with the
    // state it opened, and still never to the front end.
    let (app, fake) = spawn(target, |c| {
        c.set("AUTH_OAUTH_SUCCESS_REDIRECT", done);
        c.set("AUTH_OAUTH_APP_REDIRECT", app_done);
    })
    .await;
    fake.set_user("google", google_user("g-login-csrf", &email, true));
    let started = app.post("/api/auth/google/login", &json!({})).await;
    let opened = started.str("/data/url");
    let back = fake.consent(&opened).await;
    let landed = callback_with(&app, &back, None).await;
    assert_eq!(landed.status.as_u16(), 302, "{}", landed.text);
    let to = location(&landed);
    let (base, fragment) = to.split_once('#').unwrap_or_else(|| panic!("no fragment: {to}"));
    assert_eq!(base, app_done);
    let f = query(&format!("http://x/?{fragment}"));
    assert_eq!(
        f["state"],
        query(&opened)["state"],
        "the state the application opened"
    );
    assert_jwt(&f["accessToken"]);
    let own = social_login(&app, &fake, "google").await;
    assert!(
        location(&own).starts_with(&format!("{done}#")),
        "{}",
        location(&own)
    );
}

/// Issue 26.6, pre-account takeover through import: an account imported
/// with `emailVerified: false` (someone's password on an address nobody
/// proved) is not joined by a social login with that address: the social
/// user is told the email is in use, and the planted password opens no
/// account they use. Once the address's owner proves it with an emailed
/// code (a password reset), the social login joins it.
async fn an_unverified_imported_address_is_not_joined_by_a_social_login(target: &Target) {
    let (app, fake) = spawn(target, |c| {
        c.set("AUTH_CODE_RESEND_COOLDOWN_SECONDS", 0);
    })
    .await;
    let (login, email) = (crate::unique_login(), unique_email());
    let planted = "Planted123!";
    let hash = bcrypt::hash_with_result(planted, 4)
        .unwrap()
        .format_for_version(bcrypt::Version::TwoB);
    let line = json!({"loginId": login, "email": email, "emailVerified": false, "passwordHash": hash});
    let imported = app
        .request(
            "POST",
            "/internal/users/import",
            &[
                ("authorization".into(), format!("Bearer {}", app.admin_token())),
                ("content-type".into(), "application/x-ndjson".into()),
            ],
            format!("{line}\n").into_bytes(),
        )
        .await;
    assert_eq!(imported.json["imported"], json!(1), "{}", imported.text);
    fake.set_user("google", google_user("g-planted", &email, true));
    let refused = social_login(&app, &fake, "google").await;
    assert_picsel_error(
        &refused,
        409,
        "ConflictException",
        "SOCIAL_EMAIL_IN_USE",
        "이미 가입된 이메일입니다. 가입할 때 사용한 방법으로 로그인해주세요",
        Value::Null,
    );
    // The planted password still opens only the imported account, which
    // no social identity joined.
    let planted_login = picsel_login(&app, &email, planted).await;
    let uuid = planted_login.json["data"]["user"]["uuid"].clone();

    // The owner proves the address: a reset by the mailed code.
    let before = app.mail().count_to(&email).await;
    let sent = app
        .post(
            "/api/auth/send/auth-key",
            &json!({"authId": login, "email": email, "type": "FORGET_PASSWORD"}),
        )
        .await;
    assert_eq!(sent.status.as_u16(), 200, "{}", sent.text);
    let code = app.mail().wait_for(&email, before + 1).await.code();
    let account_id = app
        .post(
            "/api/auth/sign-in",
            &json!({"authId": login, "password": planted}),
        )
        .await
        .json["data"]["id"]
        .as_i64()
        .unwrap();
    let reset = app
        .post(
            "/api/auth/reset/password",
            &json!({"userId": account_id, "authCode": code, "newPassword": "OwnersOwn456!"}),
        )
        .await;
    assert_eq!(reset.status.as_u16(), 200, "{}", reset.text);
    let joined = social_login(&app, &fake, "google").await;
    let data = assert_login_shape(&joined, &email);
    assert_eq!(data["user"]["uuid"], uuid, "the proven account is joined");
    // The planted password is gone with the reset.
    let r = app
        .post("/api/auth/login", &json!({"email": email, "password": planted}))
        .await;
    assert_eq!(r.status.as_u16(), 401, "{}", r.text);
}

async fn picsel_prefix_moves_the_callback(target: &Target) {
    let (app, fake) = spawn(target, |c| {
        c.set("AUTH_CONTRACTS__PICSEL__PREFIX", "/picsel");
    })
    .await;
    let email = unique_email();
    fake.set_user("google", google_user("g-prefix", &email, true));
    let authorize = begin_at(&app, "/picsel", "google").await;
    assert_eq!(
        query(&authorize)["redirect_uri"],
        format!("{}/picsel/api/auth/google/callback", fake.public_url())
    );
    let back = fake.consent(&authorize).await;
    assert_login_shape(&callback(&app, &back).await, &email);
    assert_eq!(
        fake.token_requests()[0].form["redirect_uri"],
        query(&authorize)["redirect_uri"]
    );
}

/// Login CSRF: a callback URL carried to another browser is refused, since
/// the flow started by `GET` is bound to its browser's cookie.
async fn browser_flow_needs_its_cookie(target: &Target) {
    let (app, fake) = spawn(target, |_| {}).await;
    let email = unique_email();
    fake.set_user("google", google_user("g-csrf", &email, true));
    // The cookie: HttpOnly, SameSite=Lax, scoped to the callback, Secure
    // (when AUTH_PUBLIC_URL is https), as long-lived as the state.
    let reply = app.get("/api/auth/google").await;
    assert_eq!(reply.status.as_u16(), 302, "{}", reply.text);
    let set_cookie = reply.headers["set-cookie"].to_str().unwrap().to_owned();
    let (pair, attributes) = set_cookie.split_once(';').unwrap();
    let nonce = pair.strip_prefix("auth_oauth_state=").unwrap();
    assert!(
        nonce.len() == 64 && nonce.bytes().all(|b| b.is_ascii_hexdigit()),
        "{set_cookie}"
    );
    let state = query(&location(&reply))["state"].clone();
    assert_ne!(nonce, state, "the cookie is not the state itself");
    let mut attributes: Vec<String> = attributes.split(';').map(|a| a.trim().to_owned()).collect();
    attributes.sort();
    let mut expected = vec![
        "HttpOnly",
        "Max-Age=600",
        "Path=/api/auth/google/callback",
        "SameSite=Lax",
    ];
    // Secure exactly when the service is served over https.
    if app.public_url().starts_with("https://") {
        expected.push("Secure");
    }
    assert_eq!(attributes, expected, "{set_cookie}");
    // The attacker's flow, finished in the victim's browser: no cookie, or
    // the cookie of the victim's own flow. Refused, nothing logged in.
    let mismatch = |reply: &Reply| {
        assert_picsel_error(
            reply,
            400,
            "BadRequestException",
            "OAUTH_BROWSER_MISMATCH",
            "소셜 로그인을 시작한 브라우저에서 완료해야 합니다. 처음부터 다시 시도해주세요",
            Value::Null,
        );
        assert!(reply.json.get("data").is_none(), "{}", reply.text);
    };
    let attackers = fake.consent(&location(&reply)).await;
    mismatch(&callback_with(&app, &attackers, None).await);
    let victims = begin(&app, "google").await;
    let victims_cookie = BROWSER_COOKIES.lock().unwrap()[&query(&victims)["state"]].clone();
    let attackers = fake.consent(&begin(&app, "google").await).await;
    let refused = callback_with(&app, &attackers, Some(&victims_cookie)).await;
    mismatch(&refused);
    // The refusal clears the cookie it got.
    let cleared = refused.headers["set-cookie"].to_str().unwrap();
    assert!(
        cleared.starts_with("auth_oauth_state=;") && cleared.contains("Max-Age=0"),
        "{cleared}"
    );
    assert!(
        email_usable(&app, &email).await,
        "a refused callback created the account"
    );
    // In its own browser the flow logs in, and the cookie is cleared.
    let back = fake.consent(&victims).await;
    let reply = callback(&app, &back).await;
    assert_login_shape(&reply, &email);
    let cleared = reply.headers["set-cookie"].to_str().unwrap();
    assert!(
        cleared.starts_with("auth_oauth_state=;") && cleared.contains("Path=/api/auth/google/callback"),
        "{cleared}"
    );
    // A flow whose URL went to an application (POST) needs no cookie.
    let url = app
        .post("/api/auth/google/login", &json!({}))
        .await
        .str("/data/url");
    let back = fake.consent(&url).await;
    assert_login_shape(&callback_with(&app, &back, None).await, &email);
}

/// Each start stores a flow, so starts share the per-IP limit of the
/// public endpoints: over it, 429 and nothing stored.
async fn social_starts_are_rate_limited(target: &Target) {
    let (app, _fake) = spawn(target, |c| {
        c.set("AUTH_RATE_LIMIT_ENABLED", true);
        c.set("AUTH_RATE_LIMIT_PER_MINUTE", 3);
    })
    .await;
    let db = app.inside("the database");
    assert_eq!(app.get("/api/auth/google").await.status.as_u16(), 302);
    assert_eq!(
        app.post("/api/auth/kakao/login", &json!({}))
            .await
            .status
            .as_u16(),
        201
    );
    assert_eq!(app.get("/api/auth/naver").await.status.as_u16(), 302);
    assert_eq!(db.count_rows("oauth_states").await, 3);
    for reply in [
        app.post("/api/auth/google/login", &json!({})).await,
        app.get("/api/auth/kakao").await,
    ] {
        let secs: i64 = reply.headers["retry-after"].to_str().unwrap().parse().unwrap();
        assert!(secs >= 1, "{secs}");
        assert_picsel_error(
            &reply,
            429,
            "TooManyRequestsException",
            "TOO_MANY_REQUESTS",
            "요청이 너무 많습니다. 잠시 후 다시 시도해 주세요.",
            json!({"retryAfter": secs}),
        );
        assert!(reply.headers.get("set-cookie").is_none());
    }
    assert_eq!(db.count_rows("oauth_states").await, 3);
}

/// Naver's user info never states that an address is verified: a Naver
/// identity never links to an existing account by email (not even with a
/// `@naver.com` address), while a fresh `@naver.com` address still opens a
/// new account, which other providers then do not join by email. Kakao's
/// `is_email_valid: false` is an unverified address too.
async fn naver_addresses_never_link_by_email(target: &Target) {
    let (app, fake) = spawn(target, |_| {}).await;
    let in_use = |reply: &Reply| {
        assert_picsel_error(
            reply,
            409,
            "ConflictException",
            "SOCIAL_EMAIL_IN_USE",
            "이미 가입된 이메일입니다. 가입할 때 사용한 방법으로 로그인해주세요",
            Value::Null,
        );
    };
    // A password account on a naver.com address is not taken over through a
    // Naver account that reports that address.
    let login = crate::unique_login();
    let email = format!("{login}@naver.com");
    app.verify_email(&email, &login).await;
    let signed_up = app
        .post(
            "/api/auth/sign-up",
            &json!({"authId": login, "password": "Password123!", "name": "홍길동", "email": email}),
        )
        .await;
    assert_eq!(signed_up.status.as_u16(), 200, "{}", signed_up.text);
    let before = picsel_login(&app, &email, "Password123!").await;
    fake.set_user("naver", naver_user("n-takeover", &email));
    in_use(&social_login(&app, &fake, "naver").await);
    in_use(&social_login(&app, &fake, "naver").await);
    // The account is its owner's alone: a verified Google identity of the
    // owner still links to it.
    fake.set_user("google", google_user("g-owner", &email, true));
    let linked = social_login(&app, &fake, "google").await;
    assert_eq!(
        assert_login_shape(&linked, &email)["user"]["uuid"],
        before.json["data"]["user"]["uuid"]
    );
    // A fresh naver.com address opens an account (Naver users keep signing
    // up) ...
    let fresh = format!("{}@naver.com", crate::unique_login());
    fake.set_user("naver", naver_user("n-fresh", &fresh));
    let created = assert_login_shape(&social_login(&app, &fake, "naver").await, &fresh);
    // ... which a Google identity claiming that address does not join.
    fake.set_user("google", google_user("g-fresh", &fresh, true));
    in_use(&social_login(&app, &fake, "google").await);
    let again = social_login(&app, &fake, "naver").await;
    assert_eq!(
        assert_login_shape(&again, &fresh)["user"]["uuid"],
        created["user"]["uuid"]
    );
    // Kakao: verified but no longer valid (the address moved to a newer
    // Kakao account) is unverified.
    let moved = unique_email();
    let mut kakao = kakao_user(5150, Some(&moved), true);
    kakao["kakao_account"]["is_email_valid"] = json!(false);
    fake.set_user("kakao", kakao);
    assert_picsel_error(
        &social_login(&app, &fake, "kakao").await,
        403,
        "ForbiddenException",
        "SOCIAL_EMAIL_NOT_VERIFIED",
        "인증된 이메일이 있는 소셜 계정만 사용할 수 있습니다",
        Value::Null,
    );
    assert!(email_usable(&app, &moved).await);
}

crate::scenarios!(
    naver_addresses_never_link_by_email,
    browser_flow_needs_its_cookie,
    social_starts_are_rate_limited,
    google_round_trip,
    kakao_round_trip,
    naver_round_trip,
    post_alias_answers_201_with_the_url,
    verified_email_links_the_existing_account,
    disabled_accounts_cannot_log_in_socially,
    unverified_email_is_refused,
    no_email_is_refused,
    social_only_user_has_no_password,
    state_is_single_use_and_checked,
    expired_state_is_refused,
    consent_denied,
    token_endpoint_failures,
    userinfo_failures,
    unknown_provider_is_404,
    unconfigured_provider_is_404,
    success_redirect_carries_tokens_in_the_fragment,
    application_flows_never_reach_the_front_ends_redirect,
    an_unverified_imported_address_is_not_joined_by_a_social_login,
    picsel_prefix_moves_the_callback,
);
