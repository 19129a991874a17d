//! Social sign-in on the hosted page (issue 28): the sign-in page offers a
//! button per configured provider; the flow goes through the provider and
//! the `picsel` callback back to `/oauth2/authorize`, signed in, and the
//! client gets a code for the social account. A callback without the
//! hosted flow's cookie stays the `picsel` contract's.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde_json::{Value, json};
use sha2::Digest;

use crate::oauth::{FakeProvider, google_user};
use crate::{Reply, Target, TestApp, unique_email};

const REDIRECT: &str = "http://127.0.0.1:9/cb";

fn query(url: &str) -> BTreeMap<String, String> {
    let full = if url.starts_with('/') {
        format!("http://x{url}")
    } else {
        url.to_owned()
    };
    reqwest::Url::parse(&full)
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

/// `name=value` of every cookie the reply sets (removals included).
fn set_cookies(reply: &Reply) -> BTreeMap<String, String> {
    reply
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next()?.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

fn path_of(app: &TestApp, url: &str) -> String {
    url.strip_prefix(app.public_url()).unwrap_or(url).to_owned()
}

async fn spawn(target: &Target) -> (TestApp, std::sync::Arc<FakeProvider>) {
    let fake = target.deployment().oauth().await;
    let app = TestApp::spawn_with(target, |c| fake.configure(c)).await;
    (app, fake)
}

/// A first-party client (no consent page); its id and secret.
async fn register(app: &TestApp) -> (String, String) {
    let reply = app
        .post_with(
            "/internal/oauth-clients",
            &json!({"name": "Dashboard", "redirectUris": [REDIRECT], "firstParty": true}),
            Some(&app.admin_token()),
        )
        .await;
    assert_eq!(reply.status.as_u16(), 201, "{}", reply.text);
    (reply.str("/clientId"), reply.str("/clientSecret"))
}

fn pkce() -> (String, String) {
    let verifier = format!("v{}", uuid::Uuid::new_v4().simple()).repeat(2);
    let challenge =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

fn authorize_query(client: &str, challenge: &str) -> String {
    let params = [
        ("response_type", "code"),
        ("client_id", client),
        ("redirect_uri", REDIRECT),
        ("scope", "openid email profile"),
        ("state", "s-123"),
        ("nonce", "n-456"),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
        ("prompt", "login"),
    ];
    reqwest::Url::parse_with_params("http://x/", params)
        .unwrap()
        .query()
        .unwrap()
        .to_owned()
}

fn claims(jwt: &str) -> Value {
    let part = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .unwrap(),
    )
    .unwrap()
}

/// The whole hosted social flow with Google: button, provider, callback,
/// back to authorize signed in (`prompt=login` satisfied by the new
/// sign-in), code, tokens for the social account.
async fn hosted_page_signs_in_with_a_social_provider(target: &Target) {
    let (app, fake) = spawn(target).await;
    let (client, secret) = register(&app).await;
    let email = unique_email();
    fake.set_user("google", google_user("118000000000000000001", &email, true));
    let (verifier, challenge) = pkce();
    let raw = authorize_query(&client, &challenge);

    let to_login = app.get(&format!("/oauth2/authorize?{raw}")).await;
    assert_eq!(to_login.status.as_u16(), 303, "{}", to_login.text);
    let page = app.get(&path_of(&app, &location(&to_login))).await;
    assert_eq!(page.status.as_u16(), 200);
    for provider in ["google", "kakao", "naver"] {
        assert!(
            page.text.contains(&format!("id=\"social-{provider}\"")),
            "{provider} button: {}",
            page.text
        );
    }
    let start = app.get(&format!("/login/social/google?{raw}")).await;
    assert_eq!(start.status.as_u16(), 302, "{}", start.text);
    let cookies = set_cookies(&start);
    let jar = format!(
        "auth_oauth_state={}; auth_hosted_flow={}",
        cookies["auth_oauth_state"], cookies["auth_hosted_flow"]
    );
    let back = fake.consent(&location(&start)).await;
    let finished = app.get_headers(&path_of(&app, &back), &[("cookie", &jar)]).await;
    assert_eq!(finished.status.as_u16(), 302, "{}", finished.text);
    let next = location(&finished);
    assert!(next.contains("/oauth2/authorize?"), "{next}");
    assert!(
        !query(&next).contains_key("prompt"),
        "prompt=login is satisfied: {next}"
    );
    let set = set_cookies(&finished);
    // `__Host-auth_sso` when the public URL is https (a deployment), else
    // `auth_sso`.
    let (sso_name, sso) = set
        .iter()
        .find(|(k, v)| k.ends_with("auth_sso") && !v.is_empty())
        .map(|(k, v)| (k.clone(), v.clone()))
        .expect("the sign-in sets the SSO cookie");
    assert_eq!(
        sso_name.starts_with("__Host-"),
        app.public_url().starts_with("https://"),
        "{sso_name}"
    );
    assert_eq!(
        set.get("auth_hosted_flow").map(String::as_str),
        Some(""),
        "the flow cookie is removed"
    );

    let code_reply = app
        .get_headers(&path_of(&app, &next), &[("cookie", &format!("{sso_name}={sso}"))])
        .await;
    assert_eq!(code_reply.status.as_u16(), 303, "{}", code_reply.text);
    let back_to_client = location(&code_reply);
    assert!(back_to_client.starts_with(REDIRECT), "{back_to_client}");
    let q = query(&back_to_client);
    assert_eq!(q["state"], "s-123");
    let form = format!(
        "grant_type=authorization_code&code={}&redirect_uri={}&code_verifier={verifier}",
        q["code"],
        urlencode(REDIRECT)
    );
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{client}:{secret}"))
    );
    let tokens = app
        .request(
            "POST",
            "/oauth2/token",
            &[
                ("content-type".into(), "application/x-www-form-urlencoded".into()),
                ("authorization".into(), basic),
            ],
            form.into_bytes(),
        )
        .await;
    assert_eq!(tokens.status.as_u16(), 200, "{}", tokens.text);
    let id = claims(tokens.json["id_token"].as_str().unwrap());
    assert_eq!(id["email"], json!(email));
    assert_eq!(id["email_verified"], json!(true));
    assert_eq!(id["nonce"], json!("n-456"));
    assert!(
        id.get("amr").is_none(),
        "no RFC 8176 value for a federated sign-in is claimed: {id}"
    );
}

/// A callback whose hosted-flow cookie names another flow, or that has
/// none, is the `picsel` contract's (JSON tokens, no SSO cookie).
async fn a_foreign_hosted_cookie_leaves_the_contract_callback_alone(target: &Target) {
    let (app, fake) = spawn(target).await;
    let (client, _) = register(&app).await;
    fake.set_user(
        "google",
        google_user("118000000000000000002", &unique_email(), true),
    );
    let (_, challenge) = pkce();
    let raw = authorize_query(&client, &challenge);
    let hosted = app.get(&format!("/login/social/google?{raw}")).await;
    let stale = set_cookies(&hosted)["auth_hosted_flow"].clone();
    let start = app.get("/api/auth/google").await;
    assert_eq!(start.status.as_u16(), 302);
    let nonce = set_cookies(&start)["auth_oauth_state"].clone();
    let back = fake.consent(&location(&start)).await;
    let reply = app
        .get_headers(
            &path_of(&app, &back),
            &[(
                "cookie",
                &format!("auth_oauth_state={nonce}; auth_hosted_flow={stale}"),
            )],
        )
        .await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.text);
    assert!(reply.json["data"]["accessToken"].is_string(), "{}", reply.text);
    assert!(!set_cookies(&reply).keys().any(|k| k.ends_with("auth_sso")));
}

/// An unknown provider is a 404 page, never a redirect; a
/// request for an unknown client is refused before any provider is asked.
async fn hosted_social_refuses_what_it_cannot_serve(target: &Target) {
    let (app, _fake) = spawn(target).await;
    let (client, _) = register(&app).await;
    let (_, challenge) = pkce();
    let raw = authorize_query(&client, &challenge);
    let unknown = app.get(&format!("/login/social/github?{raw}")).await;
    assert_eq!(unknown.status.as_u16(), 404, "{}", unknown.text);
    assert!(unknown.headers.get("location").is_none());
    let bad_client = app
        .get(&format!(
            "/login/social/google?{}",
            raw.replace(&client, "oc_nobody")
        ))
        .await;
    assert_eq!(bad_client.status.as_u16(), 400, "{}", bad_client.text);
    assert!(bad_client.headers.get("location").is_none());
}

/// Without a configured provider the sign-in page has no social button.
async fn without_providers_the_page_has_no_buttons(target: &Target) {
    let plain = TestApp::spawn_with(target, |c| {
        for provider in ["GOOGLE", "KAKAO", "NAVER"] {
            c.unset(&format!("AUTH_OAUTH_{provider}_CLIENT_ID"));
        }
    })
    .await;
    let (client, _) = register(&plain).await;
    let (_, challenge) = pkce();
    let page = plain
        .get(&format!("/login?{}", authorize_query(&client, &challenge)))
        .await;
    assert_eq!(page.status.as_u16(), 200, "{}", page.text);
    assert!(
        page.text.contains("name=\"password\""),
        "the sign-in form: {}",
        page.text
    );
    assert!(
        !page.text.contains("id=\"social-"),
        "no provider configured, no button"
    );
}

fn urlencode(s: &str) -> String {
    reqwest::Url::parse_with_params("http://x/", [("v", s)])
        .unwrap()
        .query()
        .unwrap()
        .trim_start_matches("v=")
        .to_owned()
}

crate::scenarios!(
    hosted_page_signs_in_with_a_social_provider,
    a_foreign_hosted_cookie_leaves_the_contract_callback_alone,
    hosted_social_refuses_what_it_cannot_serve,
    without_providers_the_page_has_no_buttons,
    a_social_sign_in_of_a_user_with_a_second_factor_takes_the_code_step,
    the_contract_social_login_of_a_user_with_a_second_factor_takes_the_step,
);

/// `picsel`'s own social login (not the hosted page) of a user with TOTP
/// on: the callback answers the 401 with `mfa` instead of tokens, and
/// `POST /api/mfa/verify` answers the `picsel` login.
async fn the_contract_social_login_of_a_user_with_a_second_factor_takes_the_step(target: &Target) {
    let (app, fake) = spawn(target).await;
    let user = app.new_user().await;
    let (_, codes) = super::mfa::enrol_totp(&app, &user).await;
    fake.set_user("google", google_user("118000000000000000078", &user.email, true));
    let start = app.get("/api/auth/google").await;
    assert_eq!(start.status.as_u16(), 302, "{}", start.text);
    let nonce = set_cookies(&start)["auth_oauth_state"].clone();
    let back = fake.consent(&location(&start)).await;
    let reply = app
        .get_headers(
            &path_of(&app, &back),
            &[("cookie", &format!("auth_oauth_state={nonce}"))],
        )
        .await;
    assert_eq!(reply.status.as_u16(), 401, "{}", reply.text);
    assert_eq!(reply.json["message"], "추가 인증이 필요합니다.", "{}", reply.text);
    assert!(reply.json["data"].is_null(), "no tokens: {}", reply.text);
    let token = reply.json["mfa"]["mfaToken"].as_str().unwrap().to_owned();
    let done = app
        .post(
            "/api/mfa/verify",
            &json!({"mfaToken": token, "recoveryCode": codes[0]}),
        )
        .await;
    assert_eq!(done.status.as_u16(), 200, "{}", done.text);
    assert_eq!(
        done.json["data"]["user"]["email"],
        json!(user.email),
        "{}",
        done.text
    );
    let amr = claims(done.json["data"]["accessToken"].as_str().unwrap())["amr"].clone();
    assert_eq!(
        amr,
        json!(["otp", "mfa"]),
        "no value for the federated step: {amr}"
    );
}

/// The value of the hidden field `name` of an HTML page.
fn hidden_field(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no hidden {name} in {html}"))
        + marker.len();
    let end = start + html[start..].find('"').unwrap();
    html[start..end]
        .replace("&amp;", "&")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
}

/// A user with TOTP on signs in on the hosted page with a provider: the
/// callback sends the browser back to `/login` with the pending step in an
/// `HttpOnly` cookie (never in the URL), the page asks for the code, and
/// the code finishes the sign-in; the ID token says `["otp","mfa"]`.
async fn a_social_sign_in_of_a_user_with_a_second_factor_takes_the_code_step(target: &Target) {
    let (app, fake) = spawn(target).await;
    let (client, _) = register(&app).await;
    let user = app.new_user().await;
    let (secret, codes) = super::mfa::enrol_totp(&app, &user).await;
    assert!(!secret.is_empty());
    fake.set_user("google", google_user("118000000000000000077", &user.email, true));
    let (_, challenge) = pkce();
    let raw = authorize_query(&client, &challenge);
    let start = app.get(&format!("/login/social/google?{raw}")).await;
    assert_eq!(start.status.as_u16(), 302, "{}", start.text);
    let cookies = set_cookies(&start);
    let jar = format!(
        "auth_oauth_state={}; auth_hosted_flow={}",
        cookies["auth_oauth_state"], cookies["auth_hosted_flow"]
    );
    let back = fake.consent(&location(&start)).await;
    let finished = app.get_headers(&path_of(&app, &back), &[("cookie", &jar)]).await;
    assert_eq!(finished.status.as_u16(), 302, "{}", finished.text);
    let next = location(&finished);
    assert!(next.contains("/login?"), "back to the sign-in page: {next}");
    let set = set_cookies(&finished);
    assert!(
        !set.iter().any(|(k, v)| k.ends_with("auth_sso") && !v.is_empty()),
        "no SSO cookie before the second step: {set:?}"
    );
    let (step_name, step) = set
        .iter()
        .find(|(k, v)| k.ends_with("auth_mfa_step") && !v.is_empty())
        .map(|(k, v)| (k.clone(), v.clone()))
        .expect("the pending step's cookie");
    assert!(
        !next.contains(&step),
        "the step's token is not in the URL: {next}"
    );

    let page = app
        .get_headers(
            &path_of(&app, &next),
            &[("cookie", &format!("{step_name}={step}"))],
        )
        .await;
    assert_eq!(page.status.as_u16(), 200, "{}", page.text);
    assert!(page.text.contains("name=\"code\""), "{}", page.text);
    assert!(!page.text.contains("name=\"password\""), "{}", page.text);
    let csrf_cookie = set_cookies(&page)
        .into_iter()
        .find(|(k, v)| k.ends_with("auth_csrf") && !v.is_empty())
        .expect("a CSRF cookie");
    let form = format!(
        "csrf={}&request={}&mfa_token={}&code={}",
        urlencode(&hidden_field(&page.text, "csrf")),
        urlencode(&hidden_field(&page.text, "request")),
        urlencode(&hidden_field(&page.text, "mfa_token")),
        urlencode(&codes[0]),
    );
    let jar = format!("{step_name}={step}; {}={}", csrf_cookie.0, csrf_cookie.1);
    let done = app
        .request(
            "POST",
            "/login",
            &[
                ("content-type".into(), "application/x-www-form-urlencoded".into()),
                ("cookie".into(), jar),
            ],
            form.into_bytes(),
        )
        .await;
    assert!(matches!(done.status.as_u16(), 200 | 303), "{}", done.text);
    let set = set_cookies(&done);
    assert!(
        set.iter().any(|(k, v)| k.ends_with("auth_sso") && !v.is_empty()),
        "signed in after the code: {set:?}"
    );
    assert_eq!(
        set.iter()
            .find(|(k, _)| k.ends_with("auth_mfa_step"))
            .map(|(_, v)| v.as_str()),
        Some(""),
        "the step's cookie is removed"
    );
}
