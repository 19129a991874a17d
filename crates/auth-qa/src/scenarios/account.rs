//! `account` (seed 003) without the emailed codes: sign-up, sign-in,
//! withdrawal, availability checks. Envelope `{"data", "error"}`.

use crate::{Target, TestApp, unique_email, unique_login};
use serde_json::json;

use super::{
    assert_account_error, assert_jwt, assert_keys, assert_reply, auth_id_usable, email_usable,
    standard_logout,
};

const DUPLICATE: &str = "이미 존재 하는 값";
const UNKNOWN_ID: &str = "존재 하지 않는 아이디";
const WRONG_PASSWORD: &str = "비밀번호 불일치";
const PASSWORD: &str = "Password123!";

fn sign_up_body(auth_id: &str, email: &str) -> serde_json::Value {
    json!({"authId": auth_id, "password": PASSWORD, "name": "parkh", "email": email})
}

async fn sign_up_success_shape(target: &Target) {
    let app = TestApp::spawn(target).await;
    let (login, email) = (unique_login(), unique_email());
    app.verify_email(&email, &login).await;
    let reply = app.post("/api/auth/sign-up", &sign_up_body(&login, &email)).await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.text);
    assert_keys(&reply.json, &["data", "error"]);
    assert_eq!(reply.json["error"], serde_json::Value::Null);
    assert_keys(&reply.json["data"], &["id", "name"]);
    let id = reply.json["data"]["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("id is not an integer: {}", reply.text));
    assert_reply(
        &reply,
        200,
        &json!({"data": {"id": id, "name": "parkh"}, "error": null}),
    );

    // Stored: both are taken now, and sign-in returns the same id.
    assert!(!auth_id_usable(&app, &login).await);
    assert!(!email_usable(&app, &email).await);
    let reply = app
        .post(
            "/api/auth/sign-in",
            &json!({"authId": login, "password": PASSWORD}),
        )
        .await;
    assert_eq!(reply.json["data"]["id"], json!(id), "{}", reply.text);

    // A second user gets another id.
    let other = app.new_user().await;
    assert_ne!(other.id, id);
}

async fn sign_up_duplicates(target: &Target) {
    let app = TestApp::spawn(target).await;
    let user = app.new_user().await;
    let duplicate = json!({"data": null, "error": DUPLICATE});
    // Same authId (also in another case), new (verified) email.
    for login in [user.login.clone(), user.login.to_uppercase()] {
        let email = unique_email();
        app.verify_email(&email, &login).await;
        let reply = app.post("/api/auth/sign-up", &sign_up_body(&login, &email)).await;
        assert_reply(&reply, 400, &duplicate);
    }
    // Same email (also in another case), new authId. (It cannot be verified
    // again for sign-up: it belongs to an account.)
    for email in [user.email.clone(), user.email.to_uppercase()] {
        let reply = app
            .post("/api/auth/sign-up", &sign_up_body(&unique_login(), &email))
            .await;
        assert_reply(&reply, 400, &duplicate);
    }
    // The original account is unchanged.
    let reply = app
        .post(
            "/api/auth/sign-in",
            &json!({"authId": user.login, "password": user.password}),
        )
        .await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.text);
    assert_eq!(reply.json["data"]["id"], json!(user.id));
    assert_eq!(reply.json["data"]["name"], json!("홍길동"));
}

async fn sign_in_success_shape(target: &Target) {
    let app = TestApp::spawn(target).await;
    let user = app.new_user().await;
    let reply = app
        .post(
            "/api/auth/sign-in",
            &json!({"authId": user.login.to_uppercase(), "password": user.password}),
        )
        .await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.text);
    assert_keys(&reply.json, &["data", "error"]);
    assert_eq!(reply.json["error"], serde_json::Value::Null);
    assert_keys(&reply.json["data"], &["id", "name", "authId", "token"]);
    let token = reply.str("/data/token");
    assert_jwt(&token);
    assert_reply(
        &reply,
        200,
        &json!({"data": {"id": user.id, "name": "홍길동", "authId": user.login, "token": token}, "error": null}),
    );
    // The token is a working access token.
    assert_eq!(standard_logout(&app, &token).await.status.as_u16(), 200);
    assert_eq!(
        standard_logout(&app, "not-a-token").await.status.as_u16(),
        401,
        "control: a bad bearer is refused"
    );
}

async fn sign_in_failures(target: &Target) {
    let app = TestApp::spawn(target).await;
    let user = app.new_user().await;
    let reply = app
        .post(
            "/api/auth/sign-in",
            &json!({"authId": unique_login(), "password": user.password}),
        )
        .await;
    assert_account_error(&reply, 400, UNKNOWN_ID);
    let reply = app
        .post(
            "/api/auth/sign-in",
            &json!({"authId": user.login, "password": "Password123?"}),
        )
        .await;
    assert_account_error(&reply, 400, WRONG_PASSWORD);
    let reply = app
        .post("/api/auth/sign-in", &json!({"authId": user.login}))
        .await;
    assert_account_error(&reply, 400, "필수 값 누락: password");
    let reply = app
        .post("/api/auth/sign-in", &json!({"password": user.password}))
        .await;
    assert_account_error(&reply, 400, "필수 값 누락: authId");
}

async fn withdrawal_frees_the_account(target: &Target) {
    let app = TestApp::spawn(target).await;
    let user = app.new_user().await;
    let reply = app
        .post(
            "/api/auth/withdrawal",
            &json!({"authId": user.login, "password": user.password}),
        )
        .await;
    assert_reply(&reply, 200, &json!({"data": {"status": true}, "error": null}));

    let reply = app
        .post(
            "/api/auth/sign-in",
            &json!({"authId": user.login, "password": user.password}),
        )
        .await;
    assert_account_error(&reply, 400, UNKNOWN_ID);
    assert!(auth_id_usable(&app, &user.login).await);
    assert!(email_usable(&app, &user.email).await);
    let reply = app
        .post(
            "/api/auth/login",
            &json!({"email": user.email, "password": user.password}),
        )
        .await;
    assert_eq!(
        reply.status.as_u16(),
        401,
        "picsel login after withdrawal: {}",
        reply.text
    );

    // Withdrawing again: the id no longer exists.
    let reply = app
        .post(
            "/api/auth/withdrawal",
            &json!({"authId": user.login, "password": user.password}),
        )
        .await;
    assert_account_error(&reply, 400, UNKNOWN_ID);

    // The id can be registered again, as a new account.
    let email = unique_email();
    app.verify_email(&email, &user.login).await;
    let reply = app
        .post("/api/auth/sign-up", &sign_up_body(&user.login, &email))
        .await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.text);
    let reply = app
        .post(
            "/api/auth/sign-in",
            &json!({"authId": user.login, "password": PASSWORD}),
        )
        .await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.text);
    assert_eq!(reply.json["data"]["name"], json!("parkh"));
}

async fn withdrawal_wrong_password(target: &Target) {
    let app = TestApp::spawn(target).await;
    let user = app.new_user().await;
    let (_access, refresh) = app.standard_login(&user).await;
    let reply = app
        .post(
            "/api/auth/withdrawal",
            &json!({"authId": user.login, "password": "Password123?"}),
        )
        .await;
    assert_account_error(&reply, 400, WRONG_PASSWORD);
    let reply = app
        .post(
            "/api/auth/withdrawal",
            &json!({"authId": unique_login(), "password": user.password}),
        )
        .await;
    assert_account_error(&reply, 400, UNKNOWN_ID);
    let reply = app
        .post("/api/auth/withdrawal", &json!({"authId": user.login}))
        .await;
    assert_account_error(&reply, 400, "필수 값 누락: password");
    // Still there, sessions intact.
    let reply = app
        .post(
            "/api/auth/sign-in",
            &json!({"authId": user.login, "password": user.password}),
        )
        .await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.text);
    assert!(!auth_id_usable(&app, &user.login).await);
    assert_eq!(super::session_refresh(&app, &refresh).await.status.as_u16(), 200);
}

async fn availability_checks(target: &Target) {
    let app = TestApp::spawn(target).await;
    let user = app.new_user().await;
    assert!(!auth_id_usable(&app, &user.login).await);
    assert!(!auth_id_usable(&app, &user.login.to_uppercase()).await);
    assert!(auth_id_usable(&app, &unique_login()).await);
    // Malformed ids are not usable.
    assert!(!auth_id_usable(&app, "ab").await);
    assert!(!auth_id_usable(&app, &"a".repeat(21)).await);
    assert!(!auth_id_usable(&app, "user_1").await);

    assert!(!email_usable(&app, &user.email).await);
    assert!(!email_usable(&app, &user.email.to_uppercase()).await);
    assert!(email_usable(&app, &unique_email()).await);
    for malformed in ["not-an-email", "a@b", "%40example.com", "a%20b%40example.com"] {
        assert!(!email_usable(&app, malformed).await, "{malformed}");
    }
}

async fn weak_password_stores_nothing(target: &Target) {
    let app = TestApp::spawn(target).await;
    let (login, email) = (unique_login(), unique_email());
    let reply = app
        .post(
            "/api/auth/sign-up",
            &json!({"authId": login, "password": "Passw0!", "name": "parkh", "email": email}),
        )
        .await;
    if app.in_process() {
        assert_account_error(&reply, 400, "비밀번호는 8자 이상 64자 이하");
    } else {
        assert_eq!(reply.status.as_u16(), 400, "{}", reply.text);
        assert_keys(&reply.json, &["data", "error"]);
        assert_eq!(reply.json["data"], serde_json::Value::Null);
        assert!(reply.str("/error").starts_with("비밀번호는"), "{}", reply.text);
    }
    assert!(auth_id_usable(&app, &login).await);
    assert!(email_usable(&app, &email).await);
    let reply = app
        .post(
            "/api/auth/sign-in",
            &json!({"authId": login, "password": "Passw0!"}),
        )
        .await;
    assert_account_error(&reply, 400, UNKNOWN_ID);
}

async fn password_policy_is_configurable(target: &Target) {
    let app = TestApp::spawn_with(target, |c| {
        c.set("AUTH_PASSWORD_MIN_LENGTH", 10);
        c.set("AUTH_PASSWORD_MAX_LENGTH", 12);
    })
    .await;
    for password in ["Passw0rd!", "Password123!x"] {
        let (login, email) = (unique_login(), unique_email());
        let reply = app
            .post(
                "/api/auth/sign-up",
                &json!({"authId": login, "password": password, "name": "parkh", "email": email}),
            )
            .await;
        assert_account_error(&reply, 400, "비밀번호는 10자 이상 12자 이하");
        assert!(auth_id_usable(&app, &login).await);
    }
    let user = app.new_user().await;
    assert_eq!(
        user.password.chars().count(),
        12,
        "the harness password fits 10-12"
    );
}

async fn sign_up_validation(target: &Target) {
    let app = TestApp::spawn(target).await;
    let (login, email) = (unique_login(), unique_email());
    let full = sign_up_body(&login, &email);
    for field in ["authId", "password", "name", "email"] {
        let mut body = full.clone();
        body.as_object_mut().unwrap().remove(field);
        let reply = app.post("/api/auth/sign-up", &body).await;
        assert_account_error(&reply, 400, &format!("필수 값 누락: {field}"));
        let mut body = full.clone();
        body[field] = json!("  ");
        let reply = app.post("/api/auth/sign-up", &body).await;
        assert_account_error(&reply, 400, &format!("필수 값 누락: {field}"));
    }
    let mut body = full.clone();
    body["authId"] = json!("user_1");
    assert_account_error(
        &app.post("/api/auth/sign-up", &body).await,
        400,
        "올바르지 않은 아이디 형식 (영문, 숫자 3~20자)",
    );
    let mut body = full.clone();
    body["email"] = json!("not-an-email");
    assert_account_error(
        &app.post("/api/auth/sign-up", &body).await,
        400,
        "올바르지 않은 이메일 형식",
    );
    let mut body = full.clone();
    body["name"] = json!("a".repeat(51));
    assert_account_error(
        &app.post("/api/auth/sign-up", &body).await,
        400,
        "올바르지 않은 이름 (1~50자)",
    );
    // None of it was stored.
    assert!(auth_id_usable(&app, &login).await);
    assert!(email_usable(&app, &email).await);
}

crate::scenarios!(
    sign_up_success_shape,
    sign_up_duplicates,
    sign_in_success_shape,
    sign_in_failures,
    withdrawal_frees_the_account,
    withdrawal_wrong_password,
    availability_checks,
    weak_password_stores_nothing,
    password_policy_is_configurable,
    sign_up_validation,
);
