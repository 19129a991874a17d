//! `picsel` (seed 002), email part: login, refresh, logout, and the common
//! error envelope `{statusCode, message, errorType, error:{code, message, details}}`.

use crate::{Target, TestApp, unique_email};
use serde_json::{Value, json};

use super::{
    assert_issued_now, assert_jwt, assert_keys, assert_picsel_error, assert_picsel_invalid_refresh,
    assert_reply, picsel_login, picsel_refresh, picsel_tokens, session_refresh, standard_logout,
};

const INVALID_CREDENTIALS: &str = "이메일 또는 비밀번호가 올바르지 않습니다";

#[track_caller]
fn assert_invalid_credentials(reply: &crate::Reply) {
    assert_picsel_error(
        reply,
        401,
        "UnauthorizedException",
        "INVALID_CREDENTIALS",
        INVALID_CREDENTIALS,
        Value::Null,
    );
}

#[track_caller]
fn assert_validation(reply: &crate::Reply, field: &str, message: &str) {
    assert_picsel_error(
        reply,
        400,
        "BadRequestException",
        "VALIDATION_ERROR",
        message,
        json!({"field": field}),
    );
}

async fn login_success_shape(target: &Target) {
    let app = TestApp::spawn(target).await;
    let user = app.new_user().await;
    let reply = picsel_login(&app, &user.email, &user.password).await;
    assert_keys(&reply.json, &["message", "data"]);
    assert_eq!(reply.json["message"], json!("로그인 성공"));
    let data = &reply.json["data"];
    assert_keys(data, &["accessToken", "refreshToken", "issuedAt", "user"]);
    assert_jwt(&reply.str("/data/accessToken"));
    assert_jwt(&reply.str("/data/refreshToken"));
    assert_issued_now(&reply.str("/data/issuedAt"));
    let u = &data["user"];
    assert_keys(u, &["uuid", "email", "name", "profileImage"]);
    let uuid = uuid::Uuid::parse_str(&reply.str("/data/user/uuid"))
        .unwrap_or_else(|_| panic!("user.uuid is not a UUID: {}", reply.text));
    assert_eq!(u["email"], json!(user.email));
    assert_eq!(u["name"], json!("홍길동"));
    assert_eq!(u["profileImage"], Value::Null);

    // The uuid is the user's stable identifier.
    let again = picsel_login(&app, &user.email, &user.password).await;
    assert_eq!(again.str("/data/user/uuid"), uuid.to_string());
    assert_ne!(again.str("/data/refreshToken"), reply.str("/data/refreshToken"));
    let other = app.new_user().await;
    let other = picsel_login(&app, &other.email, &other.password).await;
    assert_ne!(other.str("/data/user/uuid"), uuid.to_string());
}

async fn login_is_case_insensitive(target: &Target) {
    let app = TestApp::spawn(target).await;
    let user = app.new_user().await;
    let reply = picsel_login(&app, &user.email.to_uppercase(), &user.password).await;
    assert_eq!(reply.json["data"]["user"]["email"], json!(user.email));
    // The password is not.
    let reply = app
        .post(
            "/api/auth/login",
            &json!({"email": user.email, "password": user.password.to_uppercase()}),
        )
        .await;
    assert_invalid_credentials(&reply);
}

async fn login_wrong_credentials(target: &Target) {
    let app = TestApp::spawn(target).await;
    let user = app.new_user().await;
    let wrong = app
        .post(
            "/api/auth/login",
            &json!({"email": user.email, "password": "Wrong-password1"}),
        )
        .await;
    assert_invalid_credentials(&wrong);
    assert_eq!(wrong.json["statusCode"], json!(wrong.status.as_u16()));
    let unknown = app
        .post(
            "/api/auth/login",
            &json!({"email": unique_email(), "password": user.password}),
        )
        .await;
    assert_invalid_credentials(&unknown);
    assert_eq!(wrong.text, unknown.text);
}

async fn login_validation(target: &Target) {
    let app = TestApp::spawn(target).await;
    let user = app.new_user().await;
    for email in [
        "not-an-email",
        "a@b",
        "@example.com",
        "a b@example.com",
        "a@@example.com",
    ] {
        let reply = app
            .post(
                "/api/auth/login",
                &json!({"email": email, "password": user.password}),
            )
            .await;
        assert_validation(&reply, "email", "올바른 이메일 형식이 아닙니다");
    }
    for email in ["", "   "] {
        let reply = app
            .post(
                "/api/auth/login",
                &json!({"email": email, "password": user.password}),
            )
            .await;
        assert_validation(&reply, "email", "이메일을 입력해주세요");
    }
    for body in [
        json!({"email": user.email}),
        json!({"email": user.email, "password": ""}),
    ] {
        let reply = app.post("/api/auth/login", &body).await;
        assert_validation(&reply, "password", "비밀번호를 입력해주세요");
    }
    let reply = app
        .post(
            "/api/auth/login",
            &json!({"email": 42, "password": user.password}),
        )
        .await;
    assert_validation(&reply, "email", "email은(는) 문자열이어야 합니다");
}

async fn refresh_success_shape(target: &Target) {
    let app = TestApp::spawn(target).await;
    let user = app.new_user().await;
    let (_access, refresh) = picsel_tokens(&app, &user).await;
    let mut last = String::new();
    for _ in 0..2 {
        let reply = picsel_refresh(&app, &refresh).await;
        assert_eq!(reply.status.as_u16(), 200, "{}", reply.text);
        assert_keys(&reply.json, &["message", "data"]);
        assert_eq!(reply.json["message"], json!("토큰 재발급 성공"));
        assert_keys(&reply.json["data"], &["accessToken", "issuedAt"]);
        last = reply.str("/data/accessToken");
        assert_jwt(&last);
        assert_issued_now(&reply.str("/data/issuedAt"));
    }
    // The new access token is a bearer of the same session.
    assert_eq!(standard_logout(&app, &last).await.status.as_u16(), 200);
    assert_picsel_invalid_refresh(&picsel_refresh(&app, &refresh).await);
}

async fn logout_then_refresh_is_refused(target: &Target) {
    let app = TestApp::spawn(target).await;
    let user = app.new_user().await;
    let (_access, refresh) = picsel_tokens(&app, &user).await;
    let (_other_access, other_refresh) = picsel_tokens(&app, &user).await;
    let reply = app
        .post("/api/auth/logout", &json!({"refresh_token": refresh}))
        .await;
    assert_reply(&reply, 200, &json!({"message": "로그아웃 성공"}));
    assert_picsel_invalid_refresh(&picsel_refresh(&app, &refresh).await);
    super::assert_session_invalid_refresh(&session_refresh(&app, &refresh).await);
    // Idempotent.
    let reply = app
        .post("/api/auth/logout", &json!({"refresh_token": refresh}))
        .await;
    assert_reply(&reply, 200, &json!({"message": "로그아웃 성공"}));
    // Only that session was logged out.
    assert_eq!(picsel_refresh(&app, &other_refresh).await.status.as_u16(), 200);
}

async fn garbage_refresh_tokens(target: &Target) {
    let app = TestApp::spawn(target).await;
    let user = app.new_user().await;
    let (access, refresh) = picsel_tokens(&app, &user).await;
    for token in [
        "garbage",
        "a.b.c",
        access.as_str(),
        super::tamper(&refresh).as_str(),
    ] {
        assert_picsel_invalid_refresh(&picsel_refresh(&app, token).await);
        let reply = app
            .post("/api/auth/logout", &json!({"refresh_token": token}))
            .await;
        assert_picsel_invalid_refresh(&reply);
    }
    for body in [json!({}), json!({"refresh_token": ""})] {
        let reply = app.post("/api/auth/refresh", &body).await;
        assert_validation(&reply, "refresh_token", "refresh_token을 입력해주세요");
    }
    let reply = app
        .post("/api/auth/logout", &json!({"refresh_token": "  "}))
        .await;
    assert_validation(&reply, "refresh_token", "refresh_token을 입력해주세요");
    // Nothing was revoked by the refusals.
    assert_eq!(picsel_refresh(&app, &refresh).await.status.as_u16(), 200);
}

crate::scenarios!(
    login_success_shape,
    login_is_case_insensitive,
    login_wrong_credentials,
    login_validation,
    refresh_success_shape,
    logout_then_refresh_is_refused,
    garbage_refresh_tokens,
);
