//! Second factors (issue 29) as a client sees them: TOTP enrolment with
//! codes computed by an independent RFC 6238 implementation (`totp-rs`),
//! the second step of the login on each password contract (401 in the
//! contract's envelope with `mfa`, then `POST /api/mfa/verify` answering
//! that contract's success), recovery codes, replay and burst refusals,
//! the administrator's reset. See `docs/mfa.md`.

use futures_util::future::join_all;
use serde_json::{Value, json};
use totp_rs::{Algorithm, Secret, TOTP};

use crate::{NewUser, Reply, Target, TestApp};

use super::{assert_keys, bearer_json, jwt_claims};

const REQUIRED: &str = "추가 인증이 필요합니다.";
const FAILED: &str = "추가 인증에 실패했습니다.";
const INVALID_TOKEN: &str = "추가 인증 토큰이 유효하지 않거나 만료되었습니다.";

crate::scenarios!(
    totp_enrolment_gives_recovery_codes_once,
    every_contract_takes_the_second_step,
    a_code_is_accepted_once_even_in_parallel,
    a_burst_of_guesses_gets_five_checks,
    bad_second_steps_are_clear_4xx,
    factors_are_managed_with_a_current_factor,
    an_administrator_resets_the_factors,
    tokens_say_how_the_user_signed_in,
);

/// The RFC 6238 authenticator of a base32 secret, as an app computes it.
pub(super) fn authenticator(secret: &str) -> TOTP {
    let bytes = Secret::Encoded(secret.to_owned()).to_bytes().unwrap();
    TOTP::new_unchecked(Algorithm::SHA1, 6, 1, 30, bytes)
}

/// The code of the time step `offset` steps from now.
pub(super) fn code(totp: &TOTP, offset: i64) -> String {
    let now = chrono::Utc::now().timestamp() + offset * 30;
    totp.generate(u64::try_from(now).unwrap())
}

/// A user with TOTP on: the authenticator and the recovery codes.
async fn enrolled(app: &TestApp) -> (NewUser, TOTP, Vec<String>) {
    let user = app.new_user().await;
    let (secret, codes) = enrol_totp(app, &user).await;
    (user, authenticator(&secret), codes)
}

/// Turns TOTP on for `user` (checking each answer on the way): the secret
/// (base32) and the recovery codes. Also used by the browser test.
pub async fn enrol_totp(app: &TestApp, user: &NewUser) -> (String, Vec<String>) {
    let (access, _) = app.standard_login(user).await;
    let start = bearer_json(app, "POST", "/api/mfa/totp/enroll", &access, &Value::Null).await;
    assert_eq!(start.status.as_u16(), 200, "{}", start.text);
    assert_keys(&start.json, &["secret", "otpauthUri", "qrSvg"]);
    let secret = start.str("/secret");
    assert!(
        secret.len() >= 32,
        "a 160-bit secret is 32 base32 characters: {secret}"
    );
    let uri = start.str("/otpauthUri");
    assert!(
        uri.starts_with("otpauth://totp/") && uri.contains(&format!("secret={secret}")),
        "{uri}"
    );
    assert!(
        uri.contains("algorithm=SHA1") && uri.contains("digits=6") && uri.contains("period=30"),
        "{uri}"
    );
    assert!(start.str("/qrSvg").starts_with("<?xml") || start.str("/qrSvg").starts_with("<svg"));
    let totp = authenticator(&secret);
    let confirm = bearer_json(
        app,
        "POST",
        "/api/mfa/totp/confirm",
        &access,
        &json!({"code": code(&totp, 0)}),
    )
    .await;
    assert_eq!(confirm.status.as_u16(), 200, "{}", confirm.text);
    let codes: Vec<String> = confirm.json["recoveryCodes"]
        .as_array()
        .unwrap_or_else(|| panic!("no recovery codes: {}", confirm.text))
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(codes.len(), 10);
    (secret, codes)
}

/// Asserts the second-step answer of a login and returns its `mfaToken`.
#[track_caller]
fn mfa_token(reply: &Reply, envelope: &Value) -> String {
    assert_eq!(reply.status.as_u16(), 401, "{}", reply.text);
    let mut expected = envelope.clone();
    let mfa = reply.json["mfa"].clone();
    expected["mfa"] = mfa.clone();
    assert_eq!(reply.json, expected, "the contract's envelope plus `mfa`");
    assert_keys(&mfa, &["mfaToken", "methods", "expiresIn"]);
    assert_eq!(mfa["expiresIn"], 300);
    mfa["mfaToken"].as_str().unwrap().to_owned()
}

async fn verify(app: &TestApp, body: &Value) -> Reply {
    app.post("/api/mfa/verify", body).await
}

async fn verify_owned(app: &TestApp, body: Value) -> Reply {
    app.post("/api/mfa/verify", &body).await
}

async fn standard_step(app: &TestApp, user: &NewUser) -> String {
    let reply = app
        .post(
            "/api/auth/login",
            &json!({"username": user.login, "password": user.password}),
        )
        .await;
    mfa_token(&reply, &json!({"status": 401, "reason": REQUIRED}))
}

async fn totp_enrolment_gives_recovery_codes_once(target: &Target) {
    let app = TestApp::spawn(target).await;
    let (user, _, codes) = enrolled(&app).await;
    for code in &codes {
        assert!(code.len() >= 16, "{code}");
    }
    let token = standard_step(&app, &user).await;
    let done = verify(&app, &json!({"mfaToken": token, "recoveryCode": codes[0]})).await;
    assert_eq!(done.status.as_u16(), 200, "{}", done.text);
    let access = done.str("/accessToken");
    let status = bearer_json(&app, "GET", "/api/mfa", &access, &Value::Null).await;
    assert_eq!(
        status.json,
        json!({"totp": true, "passkeys": [], "recoveryCodesLeft": 9}),
        "{}",
        status.text
    );
    // A second enrolment is refused while one is on.
    let again = bearer_json(&app, "POST", "/api/mfa/totp/enroll", &access, &Value::Null).await;
    assert_eq!(again.status.as_u16(), 409, "{}", again.text);
}

async fn every_contract_takes_the_second_step(target: &Target) {
    let app = TestApp::spawn(target).await;
    let (user, totp, codes) = enrolled(&app).await;
    // standard: a TOTP code of the next step (the confirmation spent this one).
    let token = standard_step(&app, &user).await;
    let done = verify(&app, &json!({"mfaToken": token, "totpCode": code(&totp, 1)})).await;
    assert_eq!(done.status.as_u16(), 200, "{}", done.text);
    assert_keys(
        &done.json,
        &["accessToken", "refreshToken", "accessTokenExpiresIn"],
    );
    let claims = jwt_claims(&done.str("/accessToken"));
    assert_eq!(claims["amr"], json!(["pwd", "otp", "mfa"]), "{claims}");
    assert!(claims["auth_time"].as_i64().is_some(), "{claims}");

    // session
    let reply = app
        .post(
            "/api/login",
            &json!({"userId": user.login, "password": user.password}),
        )
        .await;
    let token = mfa_token(&reply, &json!({"success": false, "message": REQUIRED}));
    let done = verify(&app, &json!({"mfaToken": token, "recoveryCode": codes[1]})).await;
    assert_eq!(done.status.as_u16(), 200, "{}", done.text);
    assert_eq!(done.json["success"], true);
    assert_eq!(done.json["message"], "로그인 성공");
    assert_keys(&done.json, &["success", "message", "accessToken", "refreshToken"]);

    // picsel
    let reply = app
        .post(
            "/api/auth/login",
            &json!({"email": user.email, "password": user.password}),
        )
        .await;
    assert_eq!(reply.status.as_u16(), 401, "{}", reply.text);
    assert_eq!(reply.json["statusCode"], 401);
    assert_eq!(reply.json["message"], REQUIRED);
    let token = reply.json["mfa"]["mfaToken"].as_str().unwrap().to_owned();
    let done = verify(&app, &json!({"mfaToken": token, "recoveryCode": codes[2]})).await;
    assert_eq!(done.status.as_u16(), 200, "{}", done.text);
    assert_eq!(done.json["message"], "로그인 성공");
    assert_eq!(done.json["data"]["user"]["email"], json!(user.email));

    // account
    let reply = app
        .post(
            "/api/auth/sign-in",
            &json!({"authId": user.login, "password": user.password}),
        )
        .await;
    let token = mfa_token(&reply, &json!({"data": null, "error": REQUIRED}));
    let done = verify(&app, &json!({"mfaToken": token, "recoveryCode": codes[3]})).await;
    assert_eq!(done.status.as_u16(), 200, "{}", done.text);
    assert_eq!(done.json["data"]["id"], user.id);
    assert_eq!(done.json["data"]["authId"], json!(user.login));
    assert!(done.json["data"]["token"].is_string());

    // A wrong password is the ordinary answer, with no `mfa`.
    let wrong = app
        .post(
            "/api/auth/login",
            &json!({"username": user.login, "password": "Wrong-password-1"}),
        )
        .await;
    assert_eq!(
        wrong.json,
        json!({"status": 401, "reason": "잘못된 자격증명입니다."})
    );
}

async fn a_code_is_accepted_once_even_in_parallel(target: &Target) {
    let app = TestApp::spawn(target).await;
    let (user, totp, _) = enrolled(&app).await;
    let code = code(&totp, 1);
    let mut tokens = Vec::new();
    for _ in 0..4 {
        tokens.push(standard_step(&app, &user).await);
    }
    let replies = join_all(
        tokens
            .iter()
            .map(|t| verify_owned(&app, json!({"mfaToken": t, "totpCode": code}))),
    )
    .await;
    let ok = replies.iter().filter(|r| r.status.as_u16() == 200).count();
    assert_eq!(
        ok,
        1,
        "one time step, one login: {:?}",
        replies.iter().map(|r| &r.text).collect::<Vec<_>>()
    );
    for r in replies.iter().filter(|r| r.status.as_u16() != 200) {
        assert_eq!(r.json, json!({"status": 401, "message": FAILED}), "{}", r.text);
    }
}

async fn a_burst_of_guesses_gets_five_checks(target: &Target) {
    let app = TestApp::spawn(target).await;
    let (user, totp, codes) = enrolled(&app).await;
    let token = standard_step(&app, &user).await;
    let right = code(&totp, 0);
    let wrong = if right == "000000" { "111111" } else { "000000" };
    let replies =
        join_all((0..30).map(|_| verify_owned(&app, json!({"mfaToken": token, "totpCode": wrong})))).await;
    let checked = replies
        .iter()
        .filter(|r| r.json == json!({"status": 401, "message": FAILED}))
        .count();
    assert!(checked <= 5, "{checked} guesses were checked");
    for r in &replies {
        assert!(matches!(r.status.as_u16(), 401 | 429), "{}", r.text);
    }
    // The token is dead: even a right recovery code is refused now.
    let after = verify(&app, &json!({"mfaToken": token, "recoveryCode": codes[0]})).await;
    assert!(
        after.json == json!({"status": 401, "message": INVALID_TOKEN}) || after.status.as_u16() == 429,
        "{}",
        after.text
    );
}

async fn bad_second_steps_are_clear_4xx(target: &Target) {
    let app = TestApp::spawn(target).await;
    let (user, _, codes) = enrolled(&app).await;
    let token = standard_step(&app, &user).await;
    for (body, status) in [
        (json!({"mfaToken": "nope", "recoveryCode": codes[0]}), 401),
        (json!({"mfaToken": token, "totpCode": "12345"}), 400),
        (json!({"mfaToken": token, "totpCode": "abcdef"}), 400),
        (json!({"mfaToken": token, "recoveryCode": "short"}), 400),
        (
            json!({"mfaToken": token, "totpCode": "123456", "recoveryCode": codes[0]}),
            400,
        ),
        (json!({"mfaToken": token}), 400),
        (json!({"totpCode": "123456"}), 400),
        (json!({"mfaToken": token, "totpCode": 123_456}), 400),
        (json!({"mfaToken": token, "credential": {"id": "x"}}), 400),
        (json!([]), 400),
    ] {
        let reply = verify(&app, &body).await;
        assert_eq!(reply.status.as_u16(), status, "{body}: {}", reply.text);
        assert_keys(&reply.json, &["status", "message"]);
    }
    // An `mfaToken` is no access token anywhere.
    let me = app
        .get_headers("/api/auth/me", &[("authorization", &format!("Bearer {token}"))])
        .await;
    assert_eq!(me.status.as_u16(), 401);
    let mfa = bearer_json(&app, "GET", "/api/mfa", &token, &Value::Null).await;
    assert_eq!(mfa.json, json!({"status": 401, "message": "인증이 필요합니다."}));
    // None of it cost the token its life or a code: it still finishes.
    let done = verify(&app, &json!({"mfaToken": token, "recoveryCode": codes[0]})).await;
    assert_eq!(done.status.as_u16(), 200, "{}", done.text);
    // Enrolment without a session.
    let anonymous = app.post("/api/mfa/totp/enroll", &Value::Null).await;
    assert_eq!(
        anonymous.json,
        json!({"status": 401, "message": "인증이 필요합니다."})
    );
}

async fn factors_are_managed_with_a_current_factor(target: &Target) {
    let app = TestApp::spawn(target).await;
    let (user, totp, codes) = enrolled(&app).await;
    let token = standard_step(&app, &user).await;
    let done = verify(&app, &json!({"mfaToken": token, "recoveryCode": codes[0]})).await;
    let access = done.str("/accessToken");
    // New recovery codes need a current factor; the old set stops working.
    let refused = bearer_json(
        &app,
        "POST",
        "/api/mfa/recovery-codes",
        &access,
        &json!({"code": codes[0]}),
    )
    .await;
    assert_eq!(refused.status.as_u16(), 400, "a spent code: {}", refused.text);
    let fresh = bearer_json(
        &app,
        "POST",
        "/api/mfa/recovery-codes",
        &access,
        &json!({"code": codes[1]}),
    )
    .await;
    assert_eq!(fresh.status.as_u16(), 200, "{}", fresh.text);
    let fresh: Vec<String> = fresh.json["recoveryCodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(fresh.len(), 10);
    let token = standard_step(&app, &user).await;
    let old = verify(&app, &json!({"mfaToken": token, "recoveryCode": codes[2]})).await;
    assert_eq!(old.json, json!({"status": 401, "message": FAILED}));
    // Turning TOTP off takes a current code; then logins take no step.
    let wrong = bearer_json(
        &app,
        "DELETE",
        "/api/mfa/totp",
        &access,
        &json!({"code": "000000"}),
    )
    .await;
    assert_eq!(wrong.status.as_u16(), 400, "{}", wrong.text);
    let off = bearer_json(
        &app,
        "DELETE",
        "/api/mfa/totp",
        &access,
        &json!({"code": code(&totp, 1)}),
    )
    .await;
    assert_eq!(off.status.as_u16(), 200, "{}", off.text);
    let status = bearer_json(&app, "GET", "/api/mfa", &access, &Value::Null).await;
    assert_eq!(
        status.json,
        json!({"totp": false, "passkeys": [], "recoveryCodesLeft": 0})
    );
    let plain = app
        .post(
            "/api/auth/login",
            &json!({"username": user.login, "password": user.password}),
        )
        .await;
    assert_eq!(plain.status.as_u16(), 200, "{}", plain.text);
    let _ = fresh;
}

async fn an_administrator_resets_the_factors(target: &Target) {
    let app = TestApp::spawn(target).await;
    let (user, _, _) = enrolled(&app).await;
    let admin = |method: &'static str, path: String| {
        let headers = [(
            "authorization".to_owned(),
            format!("Bearer {}", app.admin_token()),
        )];
        let app = &app;
        async move { app.request(method, &path, &headers, Vec::new()).await }
    };
    let shown = admin("GET", format!("/internal/users/{}", user.id)).await;
    assert_eq!(
        shown.json["user"]["mfa"],
        json!({"totp": true, "passkeys": 0, "recoveryCodesLeft": 10}),
        "{}",
        shown.text
    );
    let reset = admin("DELETE", format!("/internal/users/{}/mfa", user.id)).await;
    assert_eq!(
        reset.json,
        json!({"success": true, "removed": true}),
        "{}",
        reset.text
    );
    let plain = app
        .post(
            "/api/auth/login",
            &json!({"username": user.login, "password": user.password}),
        )
        .await;
    assert_eq!(plain.status.as_u16(), 200, "{}", plain.text);
    let claims = jwt_claims(&plain.str("/accessToken"));
    assert_eq!(claims["amr"], json!(["pwd"]));
    let unknown = admin("DELETE", "/internal/users/999999999/mfa".to_owned()).await;
    assert_eq!(unknown.status.as_u16(), 404, "{}", unknown.text);
    let audit = admin("GET", format!("/internal/audit?user={}", user.id)).await;
    assert!(
        audit.text.contains("admin_mfa_reset") && audit.text.contains("mfa_enroll"),
        "{}",
        audit.text
    );
}

/// `amr` and `auth_time` in the tokens, kept by refresh and reissue, and
/// read by `auth-client`: `require_mfa()` refuses a password-only token,
/// a maximum authentication age refuses an old sign-in.
async fn tokens_say_how_the_user_signed_in(target: &Target) {
    let app = TestApp::spawn(target).await;
    let plain_user = app.new_user().await;
    let (plain, _) = app.standard_login(&plain_user).await;
    let (user, totp, _) = enrolled(&app).await;
    let token = standard_step(&app, &user).await;
    let done = verify(&app, &json!({"mfaToken": token, "totpCode": code(&totp, 1)})).await;
    assert_eq!(done.status.as_u16(), 200, "{}", done.text);
    let (access, refresh) = (done.str("/accessToken"), done.str("/refreshToken"));
    let signed_in = jwt_claims(&access)["auth_time"].as_i64().unwrap();
    // A reissue keeps both claims.
    let next = app
        .post(
            "/api/auth/reissue-token",
            &json!({"accessToken": access, "refreshToken": refresh}),
        )
        .await;
    assert_eq!(next.status.as_u16(), 200, "{}", next.text);
    let reissued = jwt_claims(&next.str("/accessToken"));
    assert_eq!(reissued["amr"], json!(["pwd", "otp", "mfa"]), "{reissued}");
    assert_eq!(reissued["auth_time"].as_i64(), Some(signed_in));

    let strict = auth_client::AuthClient::builder(&app.base)
        .require_mfa()
        .build()
        .await
        .unwrap();
    let claims = strict.verify(&access).await.unwrap();
    assert_eq!(claims.amr, vec!["pwd", "otp", "mfa"]);
    assert!(claims.is_multi_factor());
    assert_eq!(
        strict.verify(&plain).await,
        Err(auth_client::Error::InsufficientAuthentication { max_age: None })
    );
    let lax = auth_client::AuthClient::discover(&app.base).await.unwrap();
    let plain_claims = lax.verify(&plain).await.unwrap();
    assert_eq!(plain_claims.amr, vec!["pwd"]);
    assert!(plain_claims.require_mfa().is_err());
    assert!(
        plain_claims
            .require_auth_within(std::time::Duration::from_secs(3600))
            .is_ok()
    );
    // Step-up by age: a sign-in older than the maximum is refused.
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let recent = auth_client::AuthClient::builder(&app.base)
        .max_auth_age(std::time::Duration::from_secs(1))
        .build()
        .await
        .unwrap();
    assert_eq!(
        recent.verify(&plain).await,
        Err(auth_client::Error::InsufficientAuthentication { max_age: Some(1) })
    );
    assert!(
        plain_claims
            .require_auth_within(std::time::Duration::from_secs(1))
            .is_err()
    );
}
