//! Passkeys (issue 29) through the API, with a software authenticator
//! that is not the server's WebAuthn library (1Password's `passkey`
//! crates, [`crate::soft_passkey`]): registration, the login's second
//! step, passwordless sign-in on each contract, and what an attacker
//! tries (another origin, another user's credential, a cloned
//! authenticator whose counter went back, a replayed assertion).

use serde_json::{Value, json};

use crate::soft_passkey::SoftPasskey;
use crate::{NewUser, Target, TestApp};

use super::{assert_keys, bearer_json, jwt_claims};

const ORIGIN: &str = "http://localhost:3000";
const FAILED: &str = "추가 인증에 실패했습니다.";

crate::scenarios!(
    a_passkey_answers_the_second_step,
    passwordless_sign_in_on_each_contract,
    refused_assertions_open_no_session,
);

/// A server whose passkeys belong to `localhost`, as a front end on
/// `http://localhost:3000` uses them.
async fn app(target: &Target) -> TestApp {
    TestApp::spawn_with(target, |c| {
        c.set("AUTH_WEBAUTHN_RP_ID", "localhost");
        c.set("AUTH_WEBAUTHN_ORIGINS", ORIGIN);
    })
    .await
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
