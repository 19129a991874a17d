//! `account` (seed 003) emailed codes: `send/auth-key`, `check/auth-code`,
//! the sign-up gate and `reset/password`, with mail delivered over real SMTP
//! to the suite's sink (or, for the default set-up, to `.eml` files).

use std::time::Duration;

use crate::{Target, TestApp, unique_email, unique_login};
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{assert_account_error, assert_reply, session_refresh};

const NOT_VERIFIED: &str = "인증 되지 않은 이메일";
const DENIED: &str = "올바르지 않은 접근 권한";

async fn send(app: &TestApp, body: Value) -> crate::Reply {
    app.post("/api/auth/send/auth-key", &body).await
}

async fn check(app: &TestApp, body: Value) -> crate::Reply {
    app.get_json("/api/auth/check/auth-code", &body).await
}

fn sign_up_body(login: &str, email: &str) -> Value {
    json!({"authId": login, "password": "Password123!", "name": "박현", "email": email})
}

/// Sends a code of `kind` to `email` and returns it as read from the mail.
async fn mailed_code(app: &TestApp, login: Option<&str>, email: &str, kind: &str) -> String {
    let before = app.mail().count_to(email).await;
    let reply = send(app, json!({"authId": login, "email": email, "type": kind})).await;
    assert_reply(&reply, 200, &json!({"data": {"state": true}, "error": null}));
    app.mail().wait_for(email, before + 1).await.code()
}

/// A server with the sign-up gate on (`AUTH_SIGNUP_REQUIRE_EMAIL_CODE`,
/// the default, as production runs it) and `configure`'s changes.
async fn gated(target: &Target, configure: impl FnOnce(&mut crate::Config)) -> TestApp {
    TestApp::spawn_with(target, configure).await
}

async fn send_check_sign_up(target: &Target) {
    let app = gated(target, |_| {}).await;
    let (login, email) = (unique_login(), unique_email());
    let before = app.mail().count_to(&email).await;
    assert_reply(
        &send(&app, json!({"authId": login, "email": email, "type": "SIGN_UP"})).await,
        200,
        &json!({"data": {"state": true}, "error": null}),
    );
    let mail = app.mail().wait_for(&email, before + 1).await;
    let code = mail.code();
    assert_eq!(code.len(), 6);
    assert!(
        mail.subject().contains("회원 가입"),
        "subject: {}",
        mail.subject()
    );
    for body in [mail.text(), mail.html()] {
        assert!(body.contains(&code) && body.contains("10분"), "mail body: {body}");
    }
    // The document's GET with a JSON body.
    assert_reply(
        &check(
            &app,
            json!({"authId": login, "email": email, "authCode": code, "type": "SIGN_UP"}),
        )
        .await,
        200,
        &json!({"data": {"usable": true}, "error": null}),
    );
    let reply = app.post("/api/auth/sign-up", &sign_up_body(&login, &email)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.json["data"]["name"], "박현");
    // The email is taken now: the document's duplicate answer, not the gate's.
    let other = app
        .post("/api/auth/sign-up", &sign_up_body(&unique_login(), &email))
        .await;
    assert_account_error(&other, 400, "이미 존재 하는 값");
}

async fn check_accepts_query_parameters(target: &Target) {
    let app = gated(target, |_| {}).await;
    let (login, email) = (unique_login(), unique_email());
    let code = mailed_code(&app, None, &email, "SIGN_UP").await;
    let wrong = if code == "000000" { "000001" } else { "000000" };
    let reply = app
        .get(&format!(
            "/api/auth/check/auth-code?authId={login}&email={email}&authCode={wrong}&type=SIGN_UP"
        ))
        .await;
    assert_reply(&reply, 200, &json!({"data": {"usable": false}, "error": null}));
    let reply = app
        .get(&format!(
            "/api/auth/check/auth-code?authId={login}&email={email}&authCode={code}&type=SIGN_UP"
        ))
        .await;
    assert_reply(&reply, 200, &json!({"data": {"usable": true}, "error": null}));
    let reply = app.post("/api/auth/sign-up", &sign_up_body(&login, &email)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
}

/// Issue defect 3: a checked `SIGN_UP` code proves the email for the
/// `authId` it was sent and checked with, once; it is not a pass for anyone
/// who signs up with that email in the next ten minutes.
async fn a_sign_up_check_admits_only_its_own_auth_id(target: &Target) {
    let app = gated(target, |_| {}).await;
    let (owner, email) = (unique_login(), unique_email());
    let code = mailed_code(&app, Some(&owner), &email, "SIGN_UP").await;
    // The right code, checked under another authId, proves nothing.
    let stranger = unique_login();
    let reply = check(
        &app,
        json!({"authId": stranger, "email": email, "authCode": code, "type": "SIGN_UP"}),
    )
    .await;
    assert_reply(&reply, 200, &json!({"data": {"usable": false}, "error": null}));
    let reply = check(
        &app,
        json!({"authId": owner, "email": email, "authCode": code, "type": "SIGN_UP"}),
    )
    .await;
    assert_reply(&reply, 200, &json!({"data": {"usable": true}, "error": null}));
    // Someone else signing up with the checked email gets the answer an
    // unverified email gets, and no account.
    assert_account_error(
        &app.post("/api/auth/sign-up", &sign_up_body(&stranger, &email))
            .await,
        400,
        NOT_VERIFIED,
    );
    assert_reply(
        &app.get(&format!("/api/auth/check/auth-id/{stranger}")).await,
        200,
        &json!({"data": {"usable": true}, "error": null}),
    );
    // The owner (authId compared case-insensitively) signs up.
    let reply = app
        .post("/api/auth/sign-up", &sign_up_body(&owner.to_uppercase(), &email))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    // Single use: after withdrawing, the same check does not open a second
    // sign-up.
    let reply = app
        .post(
            "/api/auth/withdrawal",
            &json!({"authId": owner, "password": "Password123!"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_account_error(
        &app.post("/api/auth/sign-up", &sign_up_body(&owner, &email)).await,
        400,
        NOT_VERIFIED,
    );
}

/// A `SIGN_UP` code sent without `authId` is bound by the first successful
/// check that carries one; a check with no `authId` at all opens nothing.
async fn a_sign_up_code_sent_without_auth_id_is_bound_by_its_check(target: &Target) {
    let app = gated(target, |_| {}).await;
    let (owner, other, email) = (unique_login(), unique_login(), unique_email());
    let code = mailed_code(&app, None, &email, "SIGN_UP").await;
    let bare = check(&app, json!({"email": email, "authCode": code, "type": "SIGN_UP"})).await;
    assert_reply(&bare, 200, &json!({"data": {"usable": true}, "error": null}));
    // Checked by nobody in particular: no sign-up may use it.
    assert_account_error(
        &app.post("/api/auth/sign-up", &sign_up_body(&other, &email)).await,
        400,
        NOT_VERIFIED,
    );
    let reply = check(
        &app,
        json!({"authId": owner, "email": email, "authCode": code, "type": "SIGN_UP"}),
    )
    .await;
    assert_reply(&reply, 200, &json!({"data": {"usable": true}, "error": null}));
    // Bound now: another authId's check and sign-up are refused.
    let reply = check(
        &app,
        json!({"authId": other, "email": email, "authCode": code, "type": "SIGN_UP"}),
    )
    .await;
    assert_reply(&reply, 200, &json!({"data": {"usable": false}, "error": null}));
    assert_account_error(
        &app.post("/api/auth/sign-up", &sign_up_body(&other, &email)).await,
        400,
        NOT_VERIFIED,
    );
    let reply = app.post("/api/auth/sign-up", &sign_up_body(&owner, &email)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
}

/// Issue defect 4: a burst of wrong checks sent at once counts every one of
/// them against the cap, and the right code is refused afterwards.
async fn a_burst_of_wrong_checks_kills_the_code(target: &Target) {
    let app = gated(target, |_| {}).await;
    let app = std::sync::Arc::new(app);
    let (login, email) = (unique_login(), unique_email());
    let code = mailed_code(&app, Some(&login), &email, "SIGN_UP").await;
    let wrong = if code == "abcdef" { "abcde0" } else { "abcdef" };
    let burst = (0..40).map(|_| {
        let (app, login, email) = (app.clone(), login.clone(), email.clone());
        tokio::spawn(async move {
            check(
                &app,
                json!({"authId": login, "email": email, "authCode": wrong, "type": "SIGN_UP"}),
            )
            .await
        })
    });
    for reply in futures_util::future::join_all(burst).await {
        let reply = reply.unwrap();
        assert_reply(&reply, 200, &json!({"data": {"usable": false}, "error": null}));
    }
    let reply = check(
        &app,
        json!({"authId": login, "email": email, "authCode": code, "type": "SIGN_UP"}),
    )
    .await;
    assert_reply(&reply, 200, &json!({"data": {"usable": false}, "error": null}));
    assert_account_error(
        &app.post("/api/auth/sign-up", &sign_up_body(&login, &email)).await,
        400,
        NOT_VERIFIED,
    );
}

/// A right check is not a wrong try: after four typos the code still checks
/// and then resets the password (the document's check-then-reset flow).
async fn four_typos_leave_the_code_good_for_check_and_reset(target: &Target) {
    let app = gated(target, |c| {
        c.set("AUTH_CODE_RESEND_COOLDOWN_SECONDS", 0);
    })
    .await;
    let user = app.new_user().await;
    let code = mailed_code(&app, Some(&user.login), &user.email, "FORGET_PASSWORD").await;
    let wrong = if code == "abcdef" { "abcde0" } else { "abcdef" };
    let body = |c: &str| json!({"authId": user.login, "email": user.email, "authCode": c, "type": "FORGET_PASSWORD"});
    for _ in 0..4 {
        assert_eq!(check(&app, body(wrong)).await.json["data"]["usable"], false);
    }
    for _ in 0..2 {
        assert_eq!(check(&app, body(&code)).await.json["data"]["usable"], true);
    }
    let reply = app
        .post(
            "/api/auth/reset/password",
            &json!({"userId": user.id, "authCode": code, "newPassword": "NewPassword1!"}),
        )
        .await;
    assert_reply(&reply, 200, &json!({"data": {"userId": user.id}, "error": null}));
}

async fn sign_up_without_a_checked_code_is_refused(target: &Target) {
    let app = gated(target, |_| {}).await;
    let (login, email) = (unique_login(), unique_email());
    assert_account_error(
        &app.post("/api/auth/sign-up", &sign_up_body(&login, &email)).await,
        400,
        NOT_VERIFIED,
    );
    // Sent but never checked: still refused, and nothing was stored.
    mailed_code(&app, None, &email, "SIGN_UP").await;
    assert_account_error(
        &app.post("/api/auth/sign-up", &sign_up_body(&login, &email)).await,
        400,
        NOT_VERIFIED,
    );
    assert_reply(
        &app.get(&format!("/api/auth/check/auth-id/{login}")).await,
        200,
        &json!({"data": {"usable": true}, "error": null}),
    );
}

async fn codes_are_typed(target: &Target) {
    let app = gated(target, |_| {}).await;
    let user = app.new_user().await;
    let email = unique_email();
    let code = mailed_code(&app, None, &email, "SIGN_UP").await;
    let reply = check(
        &app,
        json!({"authId": user.login, "email": email, "authCode": code, "type": "FORGET_PASSWORD"}),
    )
    .await;
    assert_reply(&reply, 200, &json!({"data": {"usable": false}, "error": null}));
}

async fn codes_expire(target: &Target) {
    let app = gated(target, |c| {
        c.set("AUTH_CODE_TTL_SECONDS", 1);
    })
    .await;
    let email = unique_email();
    let code = mailed_code(&app, None, &email, "SIGN_UP").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let reply = check(&app, json!({"email": email, "authCode": code, "type": "SIGN_UP"})).await;
    assert_reply(&reply, 200, &json!({"data": {"usable": false}, "error": null}));
}

async fn five_wrong_tries_kill_a_code(target: &Target) {
    let app = gated(target, |_| {}).await;
    let email = unique_email();
    let code = mailed_code(&app, None, &email, "SIGN_UP").await;
    let wrong = if code == "abcdef" { "abcde0" } else { "abcdef" };
    for _ in 0..5 {
        let reply = check(
            &app,
            json!({"email": email, "authCode": wrong, "type": "SIGN_UP"}),
        )
        .await;
        assert_reply(&reply, 200, &json!({"data": {"usable": false}, "error": null}));
    }
    let reply = check(&app, json!({"email": email, "authCode": code, "type": "SIGN_UP"})).await;
    assert_reply(&reply, 200, &json!({"data": {"usable": false}, "error": null}));
}

async fn resend_cooldown(target: &Target) {
    let app = gated(target, |_| {}).await;
    let email = unique_email();
    mailed_code(&app, None, &email, "SIGN_UP").await;
    let reply = send(&app, json!({"email": email, "type": "SIGN_UP"})).await;
    assert_eq!(reply.status.as_u16(), 429, "{}", reply.text);
    assert_eq!(reply.json["data"], Value::Null);
    assert!(
        reply.json["error"]
            .as_str()
            .is_some_and(|e| e.contains("초 후에 가능")),
        "{}",
        reply.text
    );
    let retry: u64 = reply.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "Retry-After {retry}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        app.mail().count_to(&email).await,
        1,
        "the refused send mailed nothing"
    );
}

async fn a_new_send_replaces_the_code(target: &Target) {
    let app = gated(target, |c| {
        c.set("AUTH_CODE_RESEND_COOLDOWN_SECONDS", 0);
    })
    .await;
    let email = unique_email();
    let first = mailed_code(&app, None, &email, "SIGN_UP").await;
    let second = mailed_code(&app, None, &email, "SIGN_UP").await;
    if first != second {
        let reply = check(
            &app,
            json!({"email": email, "authCode": first, "type": "SIGN_UP"}),
        )
        .await;
        assert_eq!(reply.json["data"]["usable"], false);
    }
    let reply = check(
        &app,
        json!({"email": email, "authCode": second, "type": "SIGN_UP"}),
    )
    .await;
    assert_eq!(reply.json["data"]["usable"], true);
}

async fn sign_up_code_for_a_registered_email(target: &Target) {
    let app = gated(target, |_| {}).await;
    let user = app.new_user().await;
    let before = app.mail().count_to(&user.email).await;
    let reply = send(
        &app,
        json!({"email": user.email.to_uppercase(), "type": "SIGN_UP"}),
    )
    .await;
    assert_account_error(&reply, 400, "이미 존재 하는 이메일");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(app.mail().count_to(&user.email).await, before);
}

async fn reset_password_flow(target: &Target) {
    let app = gated(target, |c| {
        c.set("AUTH_CODE_RESEND_COOLDOWN_SECONDS", 0);
    })
    .await;
    let user = app.new_user().await;
    let (_access, refresh) = app.standard_login(&user).await;
    let code = mailed_code(&app, Some(&user.login), &user.email, "FORGET_PASSWORD").await;
    let mail = app
        .mail()
        .wait_for(&user.email, app.mail().count_to(&user.email).await)
        .await;
    assert!(
        mail.subject().contains("비밀번호 재설정"),
        "subject: {}",
        mail.subject()
    );
    let reply = check(
        &app,
        json!({"authId": user.login, "email": user.email, "authCode": code, "type": "FORGET_PASSWORD"}),
    )
    .await;
    assert_eq!(reply.json["data"]["usable"], true, "{}", reply.text);

    // A weak password is refused first and does not spend the code.
    let weak = app
        .post(
            "/api/auth/reset/password",
            &json!({"userId": user.id, "authCode": code, "newPassword": "hi"}),
        )
        .await;
    assert_account_error(&weak, 400, "비밀번호는 8자 이상 64자 이하");
    let reply = app
        .post(
            "/api/auth/reset/password",
            &json!({"userId": user.id, "authCode": code, "newPassword": "NewPassword1!"}),
        )
        .await;
    assert_reply(&reply, 200, &json!({"data": {"userId": user.id}, "error": null}));

    let old = app
        .post(
            "/api/auth/login",
            &json!({"username": user.login, "password": user.password}),
        )
        .await;
    assert_eq!(old.status.as_u16(), 401, "{}", old.text);
    let new = app
        .post(
            "/api/auth/login",
            &json!({"username": user.login, "password": "NewPassword1!"}),
        )
        .await;
    assert_eq!(new.status.as_u16(), 200, "{}", new.text);
    // Every earlier session is gone.
    assert_eq!(session_refresh(&app, &refresh).await.status.as_u16(), 401);
    // Single use.
    let again = app
        .post(
            "/api/auth/reset/password",
            &json!({"userId": user.id, "authCode": code, "newPassword": "Another1!x"}),
        )
        .await;
    assert_account_error(&again, 400, DENIED);

    // By authId, for a user who does not know the number.
    let code = mailed_code(&app, Some(&user.login), &user.email, "FORGET_PASSWORD").await;
    let reply = app
        .post(
            "/api/auth/reset/password",
            &json!({"authId": user.login, "authCode": code, "newPassword": "ThirdPass1!"}),
        )
        .await;
    assert_reply(&reply, 200, &json!({"data": {"userId": user.id}, "error": null}));
}

async fn reset_with_a_wrong_or_foreign_code_is_denied(target: &Target) {
    // `new_user` just mailed each account a SIGN_UP code; no cooldown here.
    let app = gated(target, |c| {
        c.set("AUTH_CODE_RESEND_COOLDOWN_SECONDS", 0);
    })
    .await;
    let user = app.new_user().await;
    let other = app.new_user().await;
    let code = mailed_code(&app, Some(&other.login), &other.email, "FORGET_PASSWORD").await;
    // Another account's code.
    let reply = app
        .post(
            "/api/auth/reset/password",
            &json!({"userId": user.id, "authCode": code, "newPassword": "NewPassword1!"}),
        )
        .await;
    assert_account_error(&reply, 400, DENIED);
    // Unknown user.
    let reply = app
        .post(
            "/api/auth/reset/password",
            &json!({"userId": 987_654_321, "authCode": code, "newPassword": "NewPassword1!"}),
        )
        .await;
    assert_account_error(&reply, 400, DENIED);
    // A SIGN_UP code is not a reset code.
    let email = unique_email();
    let signup_code = mailed_code(&app, None, &email, "SIGN_UP").await;
    let reply = app
        .post(
            "/api/auth/reset/password",
            &json!({"userId": user.id, "authCode": signup_code, "newPassword": "NewPassword1!"}),
        )
        .await;
    assert_account_error(&reply, 400, DENIED);
    // The other user's password still works: nothing changed.
    let login = app
        .post(
            "/api/auth/login",
            &json!({"username": other.login, "password": other.password}),
        )
        .await;
    assert_eq!(login.status.as_u16(), 200);
}

async fn forget_password_mismatch_sends_nothing(target: &Target) {
    let app = gated(target, |_| {}).await;
    let user = app.new_user().await;
    // The right authId with a stranger's email, and an unknown authId.
    let (stranger, other) = (unique_email(), unique_email());
    for (auth_id, email) in [(user.login.clone(), &stranger), (unique_login(), &other)] {
        let reply = send(
            &app,
            json!({"authId": auth_id, "email": email, "type": "FORGET_PASSWORD"}),
        )
        .await;
        assert_reply(&reply, 200, &json!({"data": {"state": true}, "error": null}));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(app.mail().count_to(&stranger).await, 0);
    assert_eq!(app.mail().count_to(&other).await, 0);
    // The mismatch is under the same cooldown as a match would be.
    let reply = send(
        &app,
        json!({"authId": user.login, "email": stranger, "type": "FORGET_PASSWORD"}),
    )
    .await;
    assert_eq!(reply.status.as_u16(), 429, "{}", reply.text);
    // And the user's own mailbox got nothing beyond the sign-up code.
    assert_eq!(app.mail().count_to(&user.email).await, 1);
}

/// Issue defect 5: a `FORGET_PASSWORD` send that matches no account changes
/// nothing stored for the email: the owner's pending code keeps working and
/// the owner's own sends are not held up by a stranger's.
async fn a_strangers_reset_request_leaves_the_owners_code_alone(target: &Target) {
    let app = gated(target, |c| {
        c.set("AUTH_CODE_RESEND_COOLDOWN_SECONDS", 2);
    })
    .await;
    let cooldown = Duration::from_millis(2200);
    let (a, b) = (app.new_user().await, app.new_user().await);
    tokio::time::sleep(cooldown).await;
    let stranger = |email: &str| json!({"authId": unique_login(), "email": email, "type": "FORGET_PASSWORD"});

    // B: a stranger's request does not start a cooldown for the owner.
    assert_reply(
        &send(&app, stranger(&b.email)).await,
        200,
        &json!({"data": {"state": true}, "error": null}),
    );
    let code_b = mailed_code(&app, Some(&b.login), &b.email, "FORGET_PASSWORD").await;

    // A: the owner's code survives a stranger's request made after the
    // cooldown, and no mail goes out for the stranger's.
    let code_a = mailed_code(&app, Some(&a.login), &a.email, "FORGET_PASSWORD").await;
    tokio::time::sleep(cooldown).await;
    let pair = stranger(&a.email);
    let mails = app.mail().count_to(&a.email).await;
    assert_reply(
        &send(&app, pair.clone()).await,
        200,
        &json!({"data": {"state": true}, "error": null}),
    );
    // The same stranger again: the cooldown a match would get.
    assert_eq!(send(&app, pair).await.status.as_u16(), 429);
    for (user, code) in [(&a, &code_a), (&b, &code_b)] {
        let reply = app
            .post(
                "/api/auth/reset/password",
                &json!({"userId": user.id, "authCode": code, "newPassword": "NewPassword1!"}),
            )
            .await;
        assert_reply(&reply, 200, &json!({"data": {"userId": user.id}, "error": null}));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(app.mail().count_to(&a.email).await, mails);
}

async fn send_validation(target: &Target) {
    let app = TestApp::spawn(target).await;
    let email = unique_email();
    assert_account_error(
        &send(&app, json!({"email": email, "type": "NOPE"})).await,
        400,
        "올바르지 않은 인증 타입 (SIGN_UP, FORGET_PASSWORD)",
    );
    assert_account_error(
        &send(&app, json!({"email": email})).await,
        400,
        "올바르지 않은 인증 타입 (SIGN_UP, FORGET_PASSWORD)",
    );
    assert_account_error(
        &send(&app, json!({"type": "SIGN_UP"})).await,
        400,
        "필수 값 누락: email",
    );
    assert_account_error(
        &send(&app, json!({"email": email, "type": "FORGET_PASSWORD"})).await,
        400,
        "필수 값 누락: authId",
    );
    assert_account_error(
        &send(&app, json!({"email": "not-an-email", "type": "SIGN_UP"})).await,
        400,
        "올바르지 않은 이메일 형식",
    );
    assert_account_error(
        &check(&app, json!({"email": email, "type": "SIGN_UP"})).await,
        400,
        "필수 값 누락: authCode",
    );
    assert_account_error(
        &app.post(
            "/api/auth/reset/password",
            &json!({"authCode": "abcdef", "newPassword": "NewPassword1!"}),
        )
        .await,
        400,
        "필수 값 누락: userId",
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(app.mail().count_to(&email).await, 0);
}

async fn smtp_down_is_a_503_and_leaves_no_code(target: &Target) {
    // A port with nothing listening.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let app = gated(target, |c| {
        c.set("AUTH_SMTP_URL", format!("smtp://127.0.0.1:{port}"));
        c.set("AUTH_SMTP_TIMEOUT_SECONDS", 2);
    })
    .await;
    let email = unique_email();
    for _ in 0..2 {
        // Twice: the failed send left no cooldown (no code row) behind.
        let reply = send(&app, json!({"email": email, "type": "SIGN_UP"})).await;
        assert_account_error(&reply, 503, "인증 번호 전송 실패, 잠시 후 다시 시도");
    }
    let reply = check(
        &app,
        json!({"email": email, "authCode": "abcdef", "type": "SIGN_UP"}),
    )
    .await;
    assert_eq!(reply.json["data"]["usable"], false);
}

async fn smtp_refusal_is_a_503(target: &Target) {
    let app = gated(target, |_| {}).await;
    // The sink answers 550 for recipients starting with `refuse`.
    let email = format!("refuse{}@example.com", unique_login());
    for _ in 0..2 {
        let reply = send(&app, json!({"email": email, "type": "SIGN_UP"})).await;
        assert_account_error(&reply, 503, "인증 번호 전송 실패, 잠시 후 다시 시도");
    }
}

async fn default_outbox_writes_eml_files(target: &Target) {
    let dir = std::env::temp_dir().join(format!("auth-outbox-{}", unique_login()));
    let dir_text = dir.display().to_string();
    let app = gated(target, move |c| {
        c.unset("AUTH_SMTP_URL");
        c.set("AUTH_MAIL_DIR", dir_text);
    })
    .await;
    let email = unique_email();
    let reply = send(&app, json!({"email": email, "type": "SIGN_UP"})).await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.text);
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(files[0].extension().and_then(|e| e.to_str()), Some("eml"));
    let raw = std::fs::read(&files[0]).unwrap();
    let mail = crate::mail::Received {
        to: vec![email.clone()],
        raw,
    };
    let code = mail.code();
    let reply = check(&app, json!({"email": email, "authCode": code, "type": "SIGN_UP"})).await;
    assert_eq!(reply.json["data"]["usable"], true);
    std::fs::remove_dir_all(&dir).ok();
}

crate::scenarios!(
    send_check_sign_up,
    check_accepts_query_parameters,
    a_sign_up_check_admits_only_its_own_auth_id,
    a_sign_up_code_sent_without_auth_id_is_bound_by_its_check,
    a_burst_of_wrong_checks_kills_the_code,
    four_typos_leave_the_code_good_for_check_and_reset,
    a_strangers_reset_request_leaves_the_owners_code_alone,
    sign_up_without_a_checked_code_is_refused,
    codes_are_typed,
    codes_expire,
    five_wrong_tries_kill_a_code,
    resend_cooldown,
    a_new_send_replaces_the_code,
    sign_up_code_for_a_registered_email,
    reset_password_flow,
    reset_with_a_wrong_or_foreign_code_is_denied,
    forget_password_mismatch_sends_nothing,
    send_validation,
    smtp_down_is_a_503_and_leaves_no_code,
    smtp_refusal_is_a_503,
    default_outbox_writes_eml_files,
);
