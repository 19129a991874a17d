//! Passkeys (issue 29) through the API, with a software authenticator
//! that is not the server's WebAuthn library (1Password's `passkey`
//! crates, [`crate::soft_passkey`]): registration, the login's second
//! step, passwordless sign-in on each contract and on the hosted sign-in
//! page, and what an attacker tries (another origin, another user's
//! credential, a cloned authenticator whose counter went back, a replayed
//! assertion, a forged form).

use serde_json::{Value, json};

use crate::soft_passkey::SoftPasskey;
use crate::{NewUser, Target, TestApp};

use super::oidc::{self, Browser, hidden};
use super::{assert_keys, bearer_json, jwt_claims};

const ORIGIN: &str = "http://localhost:3000";
const FAILED: &str = "추가 인증에 실패했습니다.";

crate::scenarios!(
    a_passkey_answers_the_second_step,
    passwordless_sign_in_on_each_contract,
    refused_assertions_open_no_session,
    the_hosted_sign_in_page_signs_in_with_a_passkey,
    the_hosted_passkey_sign_in_refuses_with_the_sign_in_page,
);

/// Passkeys that belong to `localhost`, as a front end on
/// `http://localhost:3000` uses them.
fn passkeys_on(c: &mut crate::Config) {
    c.set("AUTH_WEBAUTHN_RP_ID", "localhost");
    c.set("AUTH_WEBAUTHN_ORIGINS", ORIGIN);
}

/// A server with [`passkeys_on`].
async fn app(target: &Target) -> TestApp {
    TestApp::spawn_with(target, passkeys_on).await
}

/// Registers a passkey of `device` for `user`; returns its id and the
/// recovery codes (the first factor brings them).
async fn register(app: &TestApp, user: &NewUser, device: &mut SoftPasskey) -> (String, Value) {
    let (access, _) = app.standard_login(user).await;
    let start = bearer_json(
        app,
        "POST",
        "/api/mfa/webauthn/register/start",
        &access,
        &Value::Null,
    )
    .await;
    assert_eq!(start.status.as_u16(), 200, "{}", start.text);
    let options = &start.json["publicKey"];
    assert_eq!(options["rp"]["id"], "localhost", "{}", start.text);
    assert_eq!(
        options["authenticatorSelection"]["residentKey"], "required",
        "{}",
        start.text
    );
    assert_eq!(
        options["authenticatorSelection"]["userVerification"], "required",
        "{}",
        start.text
    );
    let credential = device.register(&start.text, ORIGIN).await.unwrap();
    let credential: Value = serde_json::from_str(&credential).unwrap();
    let finish = bearer_json(
        app,
        "POST",
        "/api/mfa/webauthn/register/finish",
        &access,
        &json!({"name": "테스트 키", "credential": credential}),
    )
    .await;
    assert_eq!(finish.status.as_u16(), 200, "{}", finish.text);
    (finish.str("/id"), finish.json["recoveryCodes"].clone())
}

/// The `mfaToken` of a `standard` login of `user`.
async fn step(app: &TestApp, user: &NewUser) -> String {
    let reply = app
        .post(
            "/api/auth/login",
            &json!({"username": user.login, "password": user.password}),
        )
        .await;
    assert_eq!(reply.status.as_u16(), 401, "{}", reply.text);
    assert_eq!(
        reply.json["mfa"]["methods"],
        json!(["webauthn", "recovery"]),
        "{}",
        reply.text
    );
    reply.json["mfa"]["mfaToken"].as_str().unwrap().to_owned()
}

/// The assertion of `device` for the second step `token`.
async fn assertion(app: &TestApp, device: &mut SoftPasskey, token: &str) -> Value {
    let challenge = app
        .post("/api/mfa/webauthn/challenge", &json!({"mfaToken": token}))
        .await;
    assert_eq!(challenge.status.as_u16(), 200, "{}", challenge.text);
    assert!(
        challenge.json["publicKey"]["allowCredentials"]
            .as_array()
            .is_some_and(|a| !a.is_empty())
    );
    serde_json::from_str(&device.authenticate(&challenge.text, ORIGIN).await.unwrap()).unwrap()
}

async fn a_passkey_answers_the_second_step(target: &Target) {
    let app = app(target).await;
    let user = app.new_user().await;
    let mut device = SoftPasskey::new();
    let (id, codes) = register(&app, &user, &mut device).await;
    assert_eq!(codes.as_array().map(Vec::len), Some(10), "{codes}");
    let token = step(&app, &user).await;
    let credential = assertion(&app, &mut device, &token).await;
    let done = app
        .post(
            "/api/mfa/verify",
            &json!({"mfaToken": token, "credential": credential}),
        )
        .await;
    assert_eq!(done.status.as_u16(), 200, "{}", done.text);
    assert_keys(
        &done.json,
        &["accessToken", "refreshToken", "accessTokenExpiresIn"],
    );
    let amr = jwt_claims(&done.str("/accessToken"))["amr"].clone();
    assert!(
        amr == json!(["pwd", "hwk", "mfa"]) || amr == json!(["pwd", "swk", "mfa"]),
        "{amr}"
    );
    // Listed, with its last use.
    let access = done.str("/accessToken");
    let status = bearer_json(&app, "GET", "/api/mfa", &access, &Value::Null).await;
    assert_eq!(status.json["passkeys"][0]["id"], json!(id), "{}", status.text);
    assert_eq!(status.json["passkeys"][0]["name"], "테스트 키");
    assert!(
        status.json["passkeys"][0]["lastUsedAt"].is_string(),
        "{}",
        status.text
    );
    // Removed: logins take no step any more (it was the only factor).
    let gone = bearer_json(
        &app,
        "DELETE",
        &format!("/api/mfa/webauthn/{id}"),
        &access,
        &Value::Null,
    )
    .await;
    assert_eq!(gone.status.as_u16(), 204, "{}", gone.text);
    let again = bearer_json(
        &app,
        "DELETE",
        &format!("/api/mfa/webauthn/{id}"),
        &access,
        &Value::Null,
    )
    .await;
    assert_eq!(again.status.as_u16(), 404, "{}", again.text);
    let plain = app
        .post(
            "/api/auth/login",
            &json!({"username": user.login, "password": user.password}),
        )
        .await;
    assert_eq!(plain.status.as_u16(), 200, "{}", plain.text);
}

async fn passwordless_sign_in_on_each_contract(target: &Target) {
    let app = app(target).await;
    let user = app.new_user().await;
    let mut device = SoftPasskey::new();
    register(&app, &user, &mut device).await;
    for (contract, pointer) in [
        ("standard", "/accessToken"),
        ("session", "/accessToken"),
        ("picsel", "/data/accessToken"),
        ("account", "/data/token"),
    ] {
        let start = app.post("/api/passkeys/login/start", &Value::Null).await;
        assert_eq!(start.status.as_u16(), 200, "{}", start.text);
        assert!(
            start.json["publicKey"]
                .get("allowCredentials")
                .is_none_or(|a| a.as_array().is_some_and(Vec::is_empty))
        );
        assert_eq!(
            start.json["publicKey"]["userVerification"], "required",
            "{}",
            start.text
        );
        let credential: Value =
            serde_json::from_str(&device.authenticate(&start.text, ORIGIN).await.unwrap()).unwrap();
        let done = app
            .post(
                &format!("/api/passkeys/login/finish?contract={contract}"),
                &json!({"credential": credential}),
            )
            .await;
        assert_eq!(done.status.as_u16(), 200, "{contract}: {}", done.text);
        let claims = jwt_claims(&done.str(pointer));
        assert!(claims["sub"].as_str().is_some());
        assert_eq!(claims["amr"][1], "mfa", "{claims}");
        // The same assertion again: the ceremony is spent.
        let replay = app
            .post(
                &format!("/api/passkeys/login/finish?contract={contract}"),
                &json!({"credential": credential}),
            )
            .await;
        assert_eq!(replay.status.as_u16(), 400, "{contract}: {}", replay.text);
    }
    let bad = app
        .post(
            "/api/passkeys/login/finish?contract=chat",
            &json!({"credential": {}}),
        )
        .await;
    assert_eq!(bad.status.as_u16(), 400, "{}", bad.text);
}

async fn refused_assertions_open_no_session(target: &Target) {
    let app = app(target).await;
    let kim = app.new_user().await;
    let lee = app.new_user().await;
    let mut kims = SoftPasskey::new();
    let mut lees = SoftPasskey::new();
    register(&app, &kim, &mut kims).await;
    register(&app, &lee, &mut lees).await;

    // Another user's passkey (answering lee's own challenge) sent to finish
    // kim's login.
    let token = step(&app, &kim).await;
    let _ = assertion(&app, &mut kims, &token).await;
    let lees_token = step(&app, &lee).await;
    let foreign = assertion(&app, &mut lees, &lees_token).await;
    let r = app
        .post(
            "/api/mfa/verify",
            &json!({"mfaToken": token, "credential": foreign}),
        )
        .await;
    assert_eq!(r.json, json!({"status": 401, "message": FAILED}), "{}", r.text);
    // Lee's own step still finishes with it: only the other login refused it.
    let r = app
        .post(
            "/api/mfa/verify",
            &json!({"mfaToken": lees_token, "credential": foreign}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    // From another origin.
    let token = step(&app, &kim).await;
    let challenge = app
        .post("/api/mfa/webauthn/challenge", &json!({"mfaToken": token}))
        .await;
    let phished: Value = serde_json::from_str(
        &kims
            .authenticate(&challenge.text, "http://localhost:4000")
            .await
            .unwrap(),
    )
    .unwrap();
    let r = app
        .post(
            "/api/mfa/verify",
            &json!({"mfaToken": token, "credential": phished}),
        )
        .await;
    assert_eq!(r.json, json!({"status": 401, "message": FAILED}), "{}", r.text);
    // A clone: the counter went back.
    let good = assertion(&app, &mut kims, &token).await;
    let ok = app
        .post("/api/mfa/verify", &json!({"mfaToken": token, "credential": good}))
        .await;
    assert_eq!(ok.status.as_u16(), 200, "{}", ok.text);
    let id = kims.credential_ids()[0].clone();
    kims.set_counter(&id, 0);
    let token = step(&app, &kim).await;
    let cloned = assertion(&app, &mut kims, &token).await;
    let r = app
        .post(
            "/api/mfa/verify",
            &json!({"mfaToken": token, "credential": cloned}),
        )
        .await;
    assert_eq!(r.json, json!({"status": 401, "message": FAILED}), "{}", r.text);
    let audit = app
        .request(
            "GET",
            &format!("/internal/audit?user={}", kim.id),
            &[(
                "authorization".to_owned(),
                format!("Bearer {}", app.admin_token()),
            )],
            Vec::new(),
        )
        .await;
    assert!(audit.text.contains("passkey_counter_regressed"), "{}", audit.text);
    // Garbage is a clear 400.
    let r = app
        .post(
            "/api/mfa/verify",
            &json!({"mfaToken": token, "credential": {"id": 1}}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 400, "{}", r.text);
    let r = app
        .post(
            "/api/passkeys/login/finish?contract=standard",
            &json!({"credential": "garbage"}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 400, "{}", r.text);
}

/// A passwordless assertion of `device`: the options of
/// `POST /api/passkeys/login/start`, answered.
async fn passwordless(app: &TestApp, device: &mut SoftPasskey) -> String {
    let start = app.post("/api/passkeys/login/start", &Value::Null).await;
    assert_eq!(start.status.as_u16(), 200, "{}", start.text);
    device.authenticate(&start.text, ORIGIN).await.unwrap()
}

/// The sign-in page an authorization request of `rp` leads a fresh
/// `browser` to: its `csrf` and `request` fields, and the page.
async fn sign_in_page(browser: &Browser, url: &str) -> (String, String, String) {
    let first = browser.get(url).await;
    assert_eq!(first.status, 303, "{first:?}");
    let login = first.location.clone().unwrap();
    assert!(login.starts_with("/login?"), "{login}");
    let page = browser.get(&login).await;
    assert_eq!(page.status, 200, "{page:?}");
    let (csrf, request) = (hidden(&page.text, "csrf"), hidden(&page.text, "request"));
    (csrf, request, page.text)
}

/// The hosted sign-in page's passkey button: its form posts the assertion
/// of a discoverable passkey to `/login/passkey`, which opens the browser's
/// single-sign-on session (the cookie carries the authorization on with no
/// password), and the ID token says how: the passkey's `amr`.
async fn the_hosted_sign_in_page_signs_in_with_a_passkey(target: &Target) {
    let p = oidc::provider_with(target, passkeys_on).await;
    let rp = oidc::register(&p, json!({})).await;
    let user = p.app.new_user().await;
    let mut device = SoftPasskey::new();
    register(&p.app, &user, &mut device).await;
    let browser = Browser::new(&p.app);
    let start = oidc::start(&rp.client, &["profile"], None);
    let (csrf, request, page) = sign_in_page(&browser, &start.url).await;
    for shown in [
        "id=\"passkey-login\"",
        "action=\"/login/passkey\"",
        "name=\"credential\"",
        "data-start=\"/api/passkeys/login/start\"",
        "<script src=\"/assets/passkey.js\" defer></script>",
        "패스키로 로그인",
    ] {
        assert!(page.contains(shown), "no {shown} in {page}");
    }
    assert!(!page.contains("onclick"), "no inline handler: {page}");

    let credential = passwordless(&p.app, &mut device).await;
    let done = browser
        .post(
            "/login/passkey",
            &[
                ("credential", &credential),
                ("csrf", &csrf),
                ("request", &request),
            ],
        )
        .await;
    assert_eq!(done.status, 303, "{done:?}");
    let next = done.location.clone().unwrap();
    assert!(next.starts_with("/consent?"), "on to consent: {next}");
    assert!(browser.signed_in(), "the single-sign-on cookie is set");

    // The same request again: signed in, only consent is asked.
    let landing = browser.walk(&start.url, None, oidc::REDIRECT).await;
    assert!(!landing.password_asked && landing.consent_asked, "{landing:?}");
    let code = oidc::code_of(&p, &start, &landing);
    let tokens = oidc::exchange(&p, &rp.client, &code, &start.verifier).await;
    let claims = oidc::verify_id_token(&rp.client, &tokens, &start.nonce);
    assert_eq!(
        claims.preferred_username().map(|u| u.as_str()),
        Some(user.login.as_str()),
        "the passkey's user"
    );
    let amr: Vec<String> = claims
        .auth_method_refs()
        .expect("amr")
        .iter()
        .map(|a| a.to_string())
        .collect();
    assert!(amr == ["hwk", "mfa"] || amr == ["swk", "mfa"], "{amr:?}");
    let audit = oidc::admin(&p.app, "GET", &format!("/internal/audit?user={}", user.id), None).await;
    assert!(audit.text.contains("passkey_login"), "{}", audit.text);
}

/// Every refusal of `/login/passkey` is the sign-in page again with its
/// message and a 4xx: a forged form (CSRF) changes nothing, not even the
/// ceremony, which the real form then finishes; garbage, no credential
/// (cancelled), an unknown passkey, a spent ceremony, a disabled account.
/// Where passkeys are off the page has no button and the endpoint refuses.
async fn the_hosted_passkey_sign_in_refuses_with_the_sign_in_page(target: &Target) {
    let p = oidc::provider_with(target, passkeys_on).await;
    let rp = oidc::register(&p, json!({})).await;
    let (kim, lee) = (p.app.new_user().await, p.app.new_user().await);
    let (mut kims, mut lees) = (SoftPasskey::new(), SoftPasskey::new());
    register(&p.app, &kim, &mut kims).await;
    let (lees_id, lees_codes) = register(&p.app, &lee, &mut lees).await;
    let browser = Browser::new(&p.app);
    let start = oidc::start(&rp.client, &[], None);
    let (csrf, request, _) = sign_in_page(&browser, &start.url).await;
    let post = |credential: String, csrf: String| {
        let (browser, request) = (&browser, request.clone());
        async move {
            let fields = [
                ("credential", credential.as_str()),
                ("csrf", csrf.as_str()),
                ("request", request.as_str()),
            ];
            browser.post("/login/passkey", &fields).await
        }
    };
    let refused = |page: &oidc::Page, status: u16, message: &str| {
        assert_eq!(page.status, status, "{page:?}");
        assert!(page.text.contains(message), "{message} in {page:?}");
        assert!(
            page.text.contains("name=\"password\""),
            "the sign-in page: {page:?}"
        );
    };
    let live = || async { oidc::sessions(&p.app, &kim).await.as_array().map(Vec::len) };
    let sessions_before = live().await;

    let credential = passwordless(&p.app, &mut kims).await;
    let forged = post(credential.clone(), "forged".into()).await;
    refused(&forged, 403, "페이지가 만료되었습니다.");
    assert!(!browser.signed_in());
    assert_eq!(live().await, sessions_before, "no new session");
    let failed = "패스키로 로그인하지 못했습니다.";
    refused(&post("garbage".into(), csrf.clone()).await, 400, failed);
    refused(&post(String::new(), csrf.clone()).await, 400, failed);
    refused(&post("{\"id\": 1}".into(), csrf.clone()).await, 400, failed);
    // A passkey its user removed: nobody's.
    let token = step(&p.app, &lee).await;
    let verify = json!({"mfaToken": token, "recoveryCode": lees_codes[0]});
    let lees_access = p.app.post("/api/mfa/verify", &verify).await.str("/accessToken");
    let path = format!("/api/mfa/webauthn/{lees_id}");
    let gone = bearer_json(&p.app, "DELETE", &path, &lees_access, &Value::Null).await;
    assert_eq!(gone.status.as_u16(), 204, "{}", gone.text);
    let orphan = passwordless(&p.app, &mut lees).await;
    refused(
        &post(orphan, csrf.clone()).await,
        401,
        "이 패스키로는 로그인할 수 없습니다.",
    );
    assert!(!browser.signed_in());

    // The forged form changed nothing: the same assertion signs in.
    let done = post(credential.clone(), csrf.clone()).await;
    assert_eq!(done.status, 303, "{done:?}");
    assert!(browser.signed_in());
    // Spent: the ceremony is over.
    refused(
        &post(credential, csrf.clone()).await,
        400,
        "페이지가 만료되었습니다.",
    );

    // A disabled account is refused as its password is.
    let r = oidc::admin(
        &p.app,
        "POST",
        &format!("/internal/users/{}/disable", kim.id),
        None,
    )
    .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    let other = Browser::new(&p.app);
    let (csrf, request, _) = sign_in_page(&other, &start.url).await;
    let credential = passwordless(&p.app, &mut kims).await;
    let fields = [
        ("credential", credential.as_str()),
        ("csrf", csrf.as_str()),
        ("request", request.as_str()),
    ];
    let disabled = other.post("/login/passkey", &fields).await;
    refused(&disabled, 403, "비활성화된 계정입니다.");
    assert!(!other.signed_in());

    // Passkeys off (the public URL is an IP address): no button, and the
    // endpoint refuses.
    let off = oidc::provider(target).await;
    if off.app.in_process() {
        let rp = oidc::register(&off, json!({})).await;
        let browser = Browser::new(&off.app);
        let start = oidc::start(&rp.client, &[], None);
        let (csrf, request, page) = sign_in_page(&browser, &start.url).await;
        assert!(!page.contains("passkey"), "no passkey button: {page}");
        let fields = [
            ("credential", "{}"),
            ("csrf", csrf.as_str()),
            ("request", request.as_str()),
        ];
        let r = browser.post("/login/passkey", &fields).await;
        refused(&r, 400, failed);
    }
}
